#include "dbscan.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>
#include <tuple>
#include <utility>
#include <vector>

#include "isa.hpp"
#include "threads.hpp"

namespace tl::dbscan {

#define TL_DECLARE_ISA(ns) \
  namespace ns {           \
  ScanFn scan_kernel();    \
  }
TL_DECLARE_ISA(baseline)
TL_DECLARE_ISA(avx2)
TL_DECLARE_ISA(avx512)
#undef TL_DECLARE_ISA

ScanFn scan_kernel() {
  switch (isa::active()) {
    case isa::Level::avx512: return avx512::scan_kernel();
    case isa::Level::avx2: return avx2::scan_kernel();
    default: return baseline::scan_kernel();
  }
}

Metric parse_metric(const std::string& name) {
  if (name == "euclidean") return Metric::euclidean;
  if (name == "manhattan") return Metric::manhattan;
  throw std::invalid_argument("unknown metric '" + name + "' (expected euclidean or manhattan)");
}

namespace {

constexpr int kMaxGridDims = 3;  // 3^3 = 27 neighbour cells; more dimensions prune little more

// The cells every grid of one call shares: up to three features (those with the widest range)
// cut into cells of edge just above eps, so two points within eps (in either metric, each
// coordinate differs by at most the distance) are never more than one cell apart, whatever
// the rounding of the division. Other features are only checked by the distance itself.
struct Frame {
  int dims = 0;  // 0: a single cell, i.e. a plain all-pairs scan
  int64_t feature[kMaxGridDims] = {};
  int64_t extent[kMaxGridDims] = {};
  double lo[kMaxGridDims] = {};
  double edge = 0;

  template <class T>
  int64_t key(const T* x) const {
    int64_t k = 0;
    for (int g = 0; g < dims; ++g)
      k = k * extent[g] + static_cast<int64_t>((double(x[feature[g]]) - lo[g]) / edge);
    return k;
  }
  void coords(int64_t key, int64_t* c) const {
    for (int g = dims - 1; g >= 0; --g) {
      c[g] = key % extent[g];
      key /= extent[g];
    }
  }
};

template <class T>
Frame make_frame(const T* X, int64_t n, int64_t d, double eps) {
  std::vector<double> lo(d, std::numeric_limits<double>::infinity()), hi(d, -lo[0]);
  bool finite = true;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t f = 0; f < d; ++f) {
      const double v = X[i * d + f];
      finite = finite && std::isfinite(v);
      lo[f] = std::min(lo[f], v);
      hi[f] = std::max(hi[f], v);
    }
  // Cell keys of NaN or infinity would be undefined: refuse them (the estimator checks first).
  if (!finite) throw std::invalid_argument("X contains NaN or infinity");
  std::vector<int64_t> order(d);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return hi[a] - lo[a] > hi[b] - lo[b]; });
  Frame fr;
  fr.edge = eps * (1 + 1e-9);
  double cells = 1;
  for (int64_t f : order) {
    const double extent = std::floor((hi[f] - lo[f]) / fr.edge) + 1;
    if (fr.dims == kMaxGridDims || cells * extent > 0x1p62) break;  // keys must fit in int64
    fr.feature[fr.dims] = f;
    fr.extent[fr.dims] = static_cast<int64_t>(extent);
    fr.lo[fr.dims++] = lo[f];
    cells *= extent;
  }
  return fr;
}

// A set of points sorted by cell (ascending index within a cell), with its distinct cells.
// Coordinates are feature-major doubles, so the scan vectorises across candidates.
struct Grid {
  int64_t rows = 0;
  std::vector<double> coords;  // feature f of row r at coords[f * rows + r]
  std::vector<int64_t> ids;    // each row's index in X
  std::vector<int64_t> keys;   // distinct cell keys, ascending
  std::vector<int64_t> start;  // rows of cell c: [start[c], start[c + 1])
  int64_t largest_cell = 0;
};

// A grid of the rows `ids` (coordinates source(r, f)) in cells `row_keys`, both in order.
template <class Source>
Grid make_grid(std::vector<int64_t> ids, const std::vector<int64_t>& row_keys, int64_t d, int nt,
               Source source) {
  Grid g;
  g.rows = static_cast<int64_t>(ids.size());
  g.ids = std::move(ids);
  g.coords.resize(g.rows * d + kScanPadding);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t r = 0; r < g.rows; ++r)
    for (int64_t f = 0; f < d; ++f) g.coords[f * g.rows + r] = source(r, f);
  for (int64_t r = 0; r < g.rows; ++r)
    if (r == 0 || row_keys[r] != row_keys[r - 1]) {
      g.keys.push_back(row_keys[r]);
      g.start.push_back(r);
    }
  g.start.push_back(g.rows);
  for (size_t c = 0; c + 1 < g.start.size(); ++c)
    g.largest_cell = std::max(g.largest_cell, g.start[c + 1] - g.start[c]);
  return g;
}

// Sorts (key, index) pairs by key, stably, with an LSD radix sort of 11-bit digits: only as
// many passes as the largest key needs (two for most 2-D grids), O(n) each; 5x faster than
// a comparison sort on 100k points.
void radix_sort(std::vector<std::pair<int64_t, int64_t>>& items) {
  constexpr int kBits = 11;
  int64_t largest = 0;
  for (const auto& item : items) largest = std::max(largest, item.first);
  std::vector<std::pair<int64_t, int64_t>> buffer(items.size());
  for (int shift = 0; shift < 63 && (largest >> shift) > 0; shift += kBits) {
    std::vector<int64_t> offset((1 << kBits) + 1, 0);
    for (const auto& item : items) ++offset[((item.first >> shift) & ((1 << kBits) - 1)) + 1];
    std::partial_sum(offset.begin(), offset.end(), offset.begin());
    for (const auto& item : items) buffer[offset[(item.first >> shift) & ((1 << kBits) - 1)]++] = item;
    items.swap(buffer);
  }
}

template <class T>
Grid grid_of(const Frame& fr, const T* X, int64_t n, int64_t d, int nt) {
  std::vector<std::pair<int64_t, int64_t>> order(n);  // (cell key, index), in index order
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < n; ++i) order[i] = {fr.key(X + i * d), i};
  radix_sort(order);
  std::vector<int64_t> ids(n), row_keys(n);
  for (int64_t r = 0; r < n; ++r) std::tie(row_keys[r], ids[r]) = order[r];
  return make_grid(std::move(ids), row_keys, d, nt,
                   [&](int64_t r, int64_t f) { return double(X[order[r].second * d + f]); });
}

// The rows of `g` whose index passes `keep`, in the same order (no new sort).
template <class Keep>
Grid subset(const Grid& g, int64_t d, int nt, Keep keep) {
  std::vector<int64_t> rows, ids, row_keys;
  for (size_t c = 0; c < g.keys.size(); ++c)
    for (int64_t r = g.start[c]; r < g.start[c + 1]; ++r)
      if (keep(g.ids[r])) {
        rows.push_back(r);
        ids.push_back(g.ids[r]);
        row_keys.push_back(g.keys[c]);
      }
  return make_grid(std::move(ids), row_keys, d, nt,
                   [&](int64_t r, int64_t f) { return g.coords[f * g.rows + rows[r]]; });
}

// Row ranges of `data` in the cells next to (and including) query cell `key`. Along the last
// grid feature the three neighbours have consecutive keys, so their rows are contiguous: one
// range per 3^(dims-1) rows of cells, long enough to keep the vector scan busy. With `half`,
// only ranges from the query's own cell on, so each unordered pair of cells is visited once.
int neighbour_runs(const Frame& fr, const Grid& data, int64_t key, bool half,
                   std::pair<int64_t, int64_t>* ranges) {
  if (fr.dims == 0) {  // a single cell
    ranges[0] = {0, data.rows};
    return 1;
  }
  int64_t c[kMaxGridDims];
  fr.coords(key, c);
  const int last = fr.dims - 1;
  int count = 0, combos = 1;
  for (int g = 0; g < last; ++g) combos *= 3;
  for (int o = 0; o < combos; ++o) {
    bool inside = true;
    int64_t base = 0;  // the key of the run's middle cell
    for (int g = 0, rest = o; g < fr.dims; ++g, rest /= 3) {
      const int64_t nb = g == last ? c[g] : c[g] + rest % 3 - 1;
      inside = inside && nb >= 0 && nb < fr.extent[g];
      base = base * fr.extent[g] + nb;
    }
    if (!inside || (half && base < key)) continue;
    const int64_t lo = half && base == key ? key : base - (c[last] > 0);
    const int64_t hi = base + (c[last] + 1 < fr.extent[last]);
    const auto first = std::lower_bound(data.keys.begin(), data.keys.end(), lo);
    const auto end = std::upper_bound(first, data.keys.end(), hi);
    if (first != end)
      ranges[count++] = {data.start[first - data.keys.begin()], data.start[end - data.keys.begin()]};
  }
  return count;
}

// Calls visit(q, rows, count) for every query row q with the data rows within eps of it, one
// run of cells at a time; with `list` false, rows is null (only counts). Rows are positions
// in the grids (grid.ids maps them to X). Query cells are spread over the threads, and all
// calls for one q come from one thread. With `half` (queries == data), each unordered pair
// {q, r}, q != r, is reported once.
template <class Visit>
void join(const Frame& fr, const Grid& queries, const Grid& data, int64_t d, bool half,
          bool list, double eps, Metric metric, int nt, Visit visit) {
  const ScanFn scan = scan_kernel();
  const int64_t ncells = static_cast<int64_t>(queries.keys.size());
#pragma omp parallel num_threads(nt)
  {
    std::vector<double> x(d);
    std::vector<int64_t> hits(std::min(data.rows, 3 * data.largest_cell));  // a run spans <= 3 cells
#pragma omp for schedule(dynamic, 16)
    for (int64_t c = 0; c < ncells; ++c) {
      std::pair<int64_t, int64_t> ranges[9];
      const int nr = neighbour_runs(fr, data, queries.keys[c], half, ranges);
      for (int64_t q = queries.start[c]; q < queries.start[c + 1]; ++q) {
        for (int64_t f = 0; f < d; ++f) x[f] = queries.coords[f * queries.rows + q];
        for (int k = 0; k < nr; ++k) {
          const bool own = half && ranges[k].first == queries.start[c];
          const int64_t found = scan(data.coords.data(), data.rows, own ? q + 1 : ranges[k].first,
                                     ranges[k].second, x.data(), d, eps, metric,
                                     list ? hits.data() : nullptr);
          if (found) visit(q, list ? hits.data() : nullptr, found);
        }
      }
    }
  }
}

// Lock-free union-find whose root is always the smallest index of its set: a union hooks the
// larger root under the smaller with a CAS, and finds halve paths as they go.
class Forest {
 public:
  explicit Forest(int64_t n, int nt) : parent_(n) {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < n; ++i) parent_[i].store(i, std::memory_order_relaxed);
  }
  int64_t find(int64_t x) {
    for (;;) {
      int64_t p = parent_[x].load(std::memory_order_acquire);
      if (p == x) return x;
      const int64_t gp = parent_[p].load(std::memory_order_acquire);
      if (gp != p) parent_[x].compare_exchange_weak(p, gp, std::memory_order_acq_rel);
      x = gp;
    }
  }
  // Joins the sets of a and b; returns the root of the union (as of the return).
  int64_t unite(int64_t a, int64_t b) {
    for (;;) {
      a = find(a);
      b = find(b);
      if (a == b) return a;
      if (a < b) std::swap(a, b);
      int64_t expected = a;  // fails if another thread hooked root a meanwhile: retry
      if (parent_[a].compare_exchange_strong(expected, b, std::memory_order_acq_rel)) return b;
    }
  }

 private:
  std::vector<std::atomic<int64_t>> parent_;
};

// core[i] = whether the weight of i's eps-neighbourhood, i included, reaches min_samples.
// In up to 3 dimensions the grid is exact and about a third of the candidates are
// neighbours: each point counts its own (both ends of a pair test it; no atomics). In more,
// candidates are many, neighbours few and distances dearer: each pair is tested once and
// credits both ends atomically (the other end's cell may be another thread's). M is int64_t
// without weights (a locked add instead of a compare-exchange loop). 2x either way, measured.
template <class M>
void mark_cores(const Frame& fr, const Grid& all, int64_t d, double eps, Metric metric,
                const double* weight, double min_samples, int nt, uint8_t* core) {
  const int64_t n = all.rows;
  auto mass_of = [&](int64_t row) { return weight ? M(weight[all.ids[row]]) : M(1); };
  std::vector<M> mass(n, M(0));  // by grid row
  if (d <= kMaxGridDims) {
    join(fr, all, all, d, false, weight != nullptr, eps, metric, nt,
         [&](int64_t q, const int64_t* rows, int64_t count) {
           if (!weight) mass[q] += M(count);
           for (int64_t h = 0; weight && h < count; ++h) mass[q] += mass_of(rows[h]);
         });
  } else {
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t r = 0; r < n; ++r) mass[r] = mass_of(r);
    join(fr, all, all, d, true, true, eps, metric, nt, [&](int64_t q, const int64_t* rows, int64_t count) {
      M sum = 0;
      for (int64_t h = 0; h < count; ++h) {
        sum += mass_of(rows[h]);
        std::atomic_ref<M>(mass[rows[h]]).fetch_add(mass_of(q), std::memory_order_relaxed);
      }
      std::atomic_ref<M>(mass[q]).fetch_add(sum, std::memory_order_relaxed);
    });
  }
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t r = 0; r < n; ++r) core[all.ids[r]] = double(mass[r]) >= min_samples;
}

// labels[i] for every core point i: the connected components of the core points within eps
// of each other, numbered in order of their smallest index. The union-find runs on grid rows,
// where neighbours are close in memory (X's order scatters them); -1 for the others.
void label_cores(const Frame& fr, const Grid& cores, int64_t n, int64_t d, double eps,
                 Metric metric, int nt, int64_t* labels) {
  const int64_t m = cores.rows;
  Forest forest(m, nt);
  join(fr, cores, cores, d, true, true, eps, metric, nt, [&](int64_t q, const int64_t* rows, int64_t count) {
    // q's root, carried along: each neighbour then costs one find, not two.
    int64_t root = forest.find(q);
    for (int64_t h = 0; h < count; ++h) root = forest.unite(root, rows[h]);
  });
  std::vector<int64_t> root(m), first(m, n), row_of(n, -1);  // first: smallest X index of a set
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t r = 0; r < m; ++r) {
    root[r] = forest.find(r);
    row_of[cores.ids[r]] = r;
  }
  for (int64_t r = 0; r < m; ++r) first[root[r]] = std::min(first[root[r]], cores.ids[r]);
  std::vector<int64_t> cluster(m, -1);  // by root
  int64_t clusters = 0;
  for (int64_t i = 0; i < n; ++i) {  // ascending: a set's smallest index comes first
    if (row_of[i] < 0) {
      labels[i] = -1;
      continue;
    }
    const int64_t rt = root[row_of[i]];
    if (first[rt] == i) cluster[rt] = clusters++;
    labels[i] = cluster[rt];
  }
}

}  // namespace

template <class T>
void dbscan(const T* X, int64_t n, int64_t d, double eps, double min_samples, const double* weight,
            Metric metric, int64_t* labels, uint8_t* core, int n_threads) {
  if (n == 0) return;
  const int nt = threads::resolve(n_threads, double(n) * d * 64);
  const Frame fr = make_frame(X, n, d, eps);
  const Grid all = grid_of(fr, X, n, d, nt);

  // 1. Core points.
  if (weight)
    mark_cores<double>(fr, all, d, eps, metric, weight, min_samples, nt, core);
  else
    mark_cores<int64_t>(fr, all, d, eps, metric, weight, min_samples, nt, core);

  // 2. Clusters.
  const Grid cores = subset(all, d, nt, [&](int64_t i) { return core[i] != 0; });
  label_cores(fr, cores, n, d, eps, metric, nt, labels);

  // 3. Border points: scikit-learn expands clusters in label order and a point keeps the
  // first label it gets, so it ends in the smallest label among its core neighbours.
  const Grid others = subset(all, d, nt, [&](int64_t i) { return core[i] == 0; });
  join(fr, others, cores, d, false, true, eps, metric, nt, [&](int64_t q, const int64_t* rows, int64_t count) {
    int64_t& label = labels[others.ids[q]];
    for (int64_t h = 0; h < count; ++h) {
      const int64_t candidate = labels[cores.ids[rows[h]]];
      if (label < 0 || candidate < label) label = candidate;
    }
  });
}

template void dbscan<float>(const float*, int64_t, int64_t, double, double, const double*, Metric,
                            int64_t*, uint8_t*, int);
template void dbscan<double>(const double*, int64_t, int64_t, double, double, const double*,
                             Metric, int64_t*, uint8_t*, int);

}  // namespace tl::dbscan
