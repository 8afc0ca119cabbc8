#include "kmeans.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <type_traits>
#include <stdexcept>
#include <vector>

#include "blas.hpp"
#include "isa.hpp"
#include "threads.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace tl::kmeans {

TL_ISA_KERNELS_DISPATCH()

namespace {

// Samples per block: the samples x centres tile is at most kTileBytes (1 MiB, a core's L2
// here; faster than 256 or 512 KiB on 200k x 32 x 64), so it stays in L2 between the GEMM
// and the scan, and each thread gets at least one block. Tile
// rows start on 64-byte boundaries, and their stride is kept off multiples of 4 KiB, which
// would alias in the L1.
constexpr int64_t kTileBytes = int64_t(1) << 20;
struct Blocking {
  int64_t rows, ld, count;
  Blocking(int64_t n, int64_t k, int64_t elem, int nt) {
    const int64_t per_line = 64 / elem;
    ld = (k + per_line - 1) / per_line * per_line;
    if ((ld * elem) % 4096 == 0) ld += per_line;
    const int64_t b = std::clamp<int64_t>(kTileBytes / (ld * elem), 16, 8192);
    const int64_t per_thread = (n + nt - 1) / nt;
    rows = std::min(b, per_thread);
    count = (n + rows - 1) / rows;
  }
};

// A thread's scratch buffer `slot`, grown as needed and kept for the thread's next call: a
// Lloyd fit calls the kernel once per iteration, and fresh 1 MiB tiles would come back as
// zeroed pages every time. Left uninitialised (every element is written before it is read).
template <class T>
T* scratch_space(int slot, int64_t count) {
  thread_local std::vector<T> buffers[3];
  std::vector<T>& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < count) {
    b.clear();
    b.shrink_to_fit();
    b.resize(count);
  }
  return b.data();
}

// What each thread accumulates over its blocks; reduced in thread order afterwards, so the
// sums are the same from run to run for a given thread count (no atomics).
struct Partial {
  std::vector<double> sums, wsum;
  double inertia = 0;
  int64_t changed = 0;
};

template <class T>
std::vector<T> center_sqnorms(const T* C, int64_t k, int64_t d) {
  std::vector<T> cn(k);
  kernels<T>().sq_norms(C, k, d, cn.data());
  return cn;
}

// The fused pass over all samples: per block, GEMM (samples x centres) into the thread's
// tile, the argmin scan, labels (counting changes), the inertia contribution, and with
// `sums` the weighted per-cluster sums. Returns the per-thread partials.
template <class T>
std::vector<Partial> scan(const T* X, const T* xn, const T* w, int64_t n, int64_t d,
                          const T* C, int64_t k, int32_t* labels, bool exact, bool sums,
                          int n_threads) {
  const int nt = threads::resolve(n_threads, double(n) * k * d);
  const Kernels<T>& kern = kernels<T>();
  const std::vector<T> cn = center_sqnorms(C, k, d);
  const Blocking blk(n, k, sizeof(T), nt);
  std::vector<Partial> parts(nt);
  blas::SingleThreaded one_blas_thread;
#pragma omp parallel num_threads(nt)
  {
#ifdef _OPENMP
    Partial& p = parts[omp_get_thread_num()];
#else
    Partial& p = parts[0];
#endif
    if (sums) {
      p.sums.assign(k * d, 0.0);
      p.wsum.assign(k, 0.0);
    }
    const bool scratch_sums = sums && std::is_same_v<T, float> && 4 * k <= blk.rows;
    T* tile = scratch_space<T>(0, blk.rows * blk.ld);
    T* dist = scratch_space<T>(1, exact ? blk.rows : 1);
    T* scratch = scratch_space<T>(2, scratch_sums ? k * d : 1);
#pragma omp for schedule(static)
    for (int64_t b = 0; b < blk.count; ++b) {
      const int64_t i0 = b * blk.rows, rows = std::min(blk.rows, n - i0);
      int32_t* lab = labels + i0;
      // tile = ||c||^2 - 2 X C^T: rows filled with the centre norms, then the GEMM with
      // alpha = -2, beta = 1 (one rounding of an exact -2 x.c: scikit-learn's values).
      kern.fill_rows(tile, rows, k, blk.ld, cn.data());
      blas::gemm_abt<T>(rows, k, d, T(-2), X + i0 * d, d, C, d, T(1), tile, blk.ld);
      double inertia = 0;
      int64_t changed = 0;
      kern.argmin_rows(tile, rows, k, blk.ld, exact ? nullptr : xn + i0, w + i0, lab,
                       &inertia, &changed);
      if (exact) {
        kern.sq_dist_assigned(X + i0 * d, rows, d, C, lab, dist);
        for (int64_t r = 0; r < rows; ++r) inertia += double(w[i0 + r]) * double(dist[r]);
      }
      p.inertia += inertia;
      p.changed += changed;
      if (sums)
        kern.accumulate(X + i0 * d, rows, d, w + i0, lab, p.sums.data(), p.wsum.data(),
                        scratch_sums ? scratch : nullptr, k);
    }
  }
  return parts;
}

Assignment total(const std::vector<Partial>& parts, std::vector<double>* sums,
                 std::vector<double>* wsum) {
  Assignment a;
  for (const Partial& p : parts) {
    a.inertia += p.inertia;
    a.n_changed += p.changed;
    if (sums && !p.sums.empty()) {
      for (size_t e = 0; e < sums->size(); ++e) (*sums)[e] += p.sums[e];
      for (size_t e = 0; e < wsum->size(); ++e) (*wsum)[e] += p.wsum[e];
    }
  }
  return a;
}

void check_args(int64_t n, int64_t d, int64_t k) {
  if (k < 1) throw std::invalid_argument("kmeans: the number of centres must be >= 1");
  if (d < 1) throw std::invalid_argument("kmeans: the number of features must be >= 1");
  if (k >= (int64_t(1) << 24)) throw std::invalid_argument("kmeans: at most 2^24 - 1 centres");
  if (n < 0) throw std::invalid_argument("kmeans: negative number of samples");
  if (!blas::ready()) throw std::runtime_error("turbolearn: BLAS function pointers were not set");
}

// scikit-learn's _relocate_empty_clusters_dense on the double sums: each empty cluster takes
// one of the points farthest from their (old) centres, farthest first (ties: lower index),
// and that point's weighted contribution moves with it. Nothing moves when every point sits
// on its centre (more clusters than distinct points).
template <class T>
void relocate_empty(const T* X, const T* w, int64_t n, int64_t d, const T* centers_old, int64_t k,
                    const int32_t* labels, std::vector<double>& sums, std::vector<double>& wsum,
                    int nt) {
  std::vector<int64_t> empty;
  for (int64_t j = 0; j < k; ++j)
    if (wsum[j] == 0) empty.push_back(j);
  if (empty.empty() || n == 0) return;
  const Kernels<T>& kern = kernels<T>();
  std::vector<T> dist(n);
  constexpr int64_t kChunk = 4096;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i0 = 0; i0 < n; i0 += kChunk)
    kern.sq_dist_assigned(X + i0 * d, std::min(kChunk, n - i0), d, centers_old, labels + i0,
                          dist.data() + i0);
  if (*std::max_element(dist.begin(), dist.end()) == 0) return;
  const int64_t m = std::min<int64_t>(static_cast<int64_t>(empty.size()), n);
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), int64_t(0));
  std::partial_sort(order.begin(), order.begin() + m, order.end(), [&](int64_t a, int64_t b) {
    return dist[a] > dist[b] || (dist[a] == dist[b] && a < b);
  });
  for (int64_t q = 0; q < m; ++q) {
    const int64_t to = empty[q], far = order[q], from = labels[far];
    const double wf = w[far];
    const T* x = X + far * d;
    for (int64_t f = 0; f < d; ++f) {
      sums[from * d + f] -= double(x[f]) * wf;
      sums[to * d + f] = double(x[f]) * wf;
    }
    wsum[to] = wf;
    wsum[from] -= wf;
  }
}

}  // namespace

template <class T>
void row_sqnorms(const T* X, int64_t n, int64_t d, T* out, int n_threads) {
  if (n <= 0) return;
  const int nt = threads::resolve(n_threads, double(n) * d);
  const Kernels<T>& kern = kernels<T>();
  constexpr int64_t kChunk = 4096;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i0 = 0; i0 < n; i0 += kChunk) kern.sq_norms(X + i0 * d, std::min(kChunk, n - i0), d, out + i0);
}

template <class T>
Assignment assign(const T* X, const T* x_sqnorms, const T* sample_weight, int64_t n, int64_t d,
                  const T* centers, int64_t k, int32_t* labels, bool exact, int n_threads) {
  check_args(n, d, k);
  if (!exact && x_sqnorms == nullptr)
    throw std::invalid_argument("kmeans assign: x_sqnorms is needed unless exact");
  if (n == 0) return {};
  return total(scan(X, x_sqnorms, sample_weight, n, d, centers, k, labels, exact, false, n_threads),
               nullptr, nullptr);
}

template <class T>
Assignment lloyd_iter(const T* X, const T* x_sqnorms, const T* sample_weight, int64_t n,
                      int64_t d, const T* centers_old, int64_t k, T* centers_new,
                      T* weight_in_clusters, int32_t* labels, T* center_shift, int n_threads) {
  check_args(n, d, k);
  std::vector<double> sums(k * d, 0.0), wsum(k, 0.0);
  Assignment a;
  if (n > 0)
    a = total(scan(X, x_sqnorms, sample_weight, n, d, centers_old, k, labels, false, true, n_threads),
              &sums, &wsum);
  const int nt = threads::resolve(n_threads, double(n) * d);
  relocate_empty(X, sample_weight, n, d, centers_old, k, labels, sums, wsum, nt);
  // _average_centers: an empty cluster (nothing could be relocated) takes the position of
  // the heaviest one (its mean; the first heaviest on ties).
  const int64_t heaviest = std::max_element(wsum.begin(), wsum.end()) - wsum.begin();
  for (int64_t j = 0; j < k; ++j) {
    const int64_t src = wsum[j] > 0 ? j : heaviest;
    const double inv = wsum[src] > 0 ? 1.0 / wsum[src] : 0.0;
    for (int64_t f = 0; f < d; ++f) centers_new[j * d + f] = static_cast<T>(sums[src * d + f] * inv);
    weight_in_clusters[j] = static_cast<T>(wsum[j]);
  }
  for (int64_t j = 0; j < k; ++j) {
    T s = 0;
    for (int64_t f = 0; f < d; ++f) {
      const T diff = centers_new[j * d + f] - centers_old[j * d + f];
      s += diff * diff;
    }
    center_shift[j] = std::sqrt(s);
  }
  return a;
}

template <class T>
Assignment minibatch_step(const T* X, const T* sample_weight, int64_t n, int64_t d,
                          const T* centers_old, int64_t k, T* centers_new, T* weight_sums,
                          int32_t* labels, int n_threads) {
  check_args(n, d, k);
  std::vector<double> sums(k * d, 0.0), wsum(k, 0.0);
  Assignment a;
  if (n > 0)
    a = total(scan(X, static_cast<const T*>(nullptr), sample_weight, n, d, centers_old, k, labels,
                   true, true, n_threads),
              &sums, &wsum);
  for (int64_t j = 0; j < k; ++j) {
    const T* old = centers_old + j * d;
    T* out = centers_new + j * d;
    if (wsum[j] > 0) {
      // The old centre stands for weight_sums[j] samples; the new mean of all of them.
      const double prior = weight_sums[j], denom = prior + wsum[j];
      for (int64_t f = 0; f < d; ++f)
        out[f] = static_cast<T>((double(old[f]) * prior + sums[j * d + f]) / denom);
      weight_sums[j] = static_cast<T>(denom);
    } else if (out != old) {
      std::copy(old, old + d, out);
    }
  }
  return a;
}

template <class T>
void plusplus_distances(const double* G, int64_t m, int64_t n, const double* xx,
                        const double* yy, const T* closest, T* out, int n_threads) {
  if (m <= 0 || n <= 0) return;
  const int nt = threads::resolve(n_threads, double(m) * n);
#pragma omp parallel for collapse(2) num_threads(nt) schedule(static)
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j0 = 0; j0 < n; j0 += 4096) {
      const int64_t j1 = std::min(n, j0 + 4096);
      const double* g = G + i * n;
      T* o = out + i * n;
      for (int64_t j = j0; j < j1; ++j) {
        T v = static_cast<T>((-2.0 * g[j] + xx[i]) + yy[j]);
        v = (v >= T(0) || v != v) ? v : T(0);  // np.maximum(v, 0)
        if (closest) v = (closest[j] <= v || closest[j] != closest[j]) ? closest[j] : v;  // np.minimum
        o[j] = v;
      }
    }
}

TL_INSTANTIATE_KMEANS(float)
TL_INSTANTIATE_KMEANS(double)

}  // namespace tl::kmeans
