#include "distance.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <vector>

#include "blas.hpp"
#include "isa.hpp"
#include "threads.hpp"

namespace tl::distance {

// The inner loops of each SIMD level (distance_isa.cpp, compiled once per level).
namespace baseline { template <class T> const Kernels<T>& isa_kernels(); }
namespace avx2 { template <class T> const Kernels<T>& isa_kernels(); }
namespace avx512 { template <class T> const Kernels<T>& isa_kernels(); }

template <class T>
const Kernels<T>& kernels() {
  switch (isa::active()) {
    case isa::Level::avx512: return avx512::isa_kernels<T>();
    case isa::Level::avx2: return avx2::isa_kernels<T>();
    default: return baseline::isa_kernels<T>();
  }
}
template const Kernels<float>& kernels<float>();
template const Kernels<double>& kernels<double>();

Metric parse_metric(const std::string& name) {
  if (name == "sqeuclidean") return Metric::sqeuclidean;
  if (name == "euclidean") return Metric::euclidean;
  if (name == "cosine") return Metric::cosine;
  if (name == "manhattan") return Metric::manhattan;
  throw std::invalid_argument("unknown metric '" + name +
                              "' (expected sqeuclidean, euclidean, cosine or manhattan)");
}

namespace {

// Tile sizes: up to 256 queries against enough data rows for a 1 MiB tile of dot products,
// which stays in a core's L2 (2 MiB here) between the GEMM and the scan. Measured best among
// 64-256 queries and 0.5-4 MiB tiles on the 20k x 200k x 32 workload. Fewer queries than
// 256 per thread get smaller blocks, so every thread has work.
template <class T>
struct Tiling {
  int64_t queries, data;
  Tiling(int64_t m, int nt) {
    queries = std::clamp<int64_t>((m + nt - 1) / nt, 8, 256);
    data = std::clamp<int64_t>((int64_t(1) << 20) / (queries * int64_t(sizeof(T))), 512, 16384);
  }
};

bool uses_gemm(Metric metric) { return metric != Metric::manhattan; }

// Per-row terms of the GEMM-based metrics: squared norms, or inverse norms for cosine.
template <class T>
std::vector<T> row_aux(const T* X, int64_t m, int64_t d, Metric metric, int nt) {
  std::vector<T> aux(uses_gemm(metric) ? m : 0);
  if (aux.empty()) return aux;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t i = 0; i < m; ++i) {
    T s = 0;
    for (int64_t f = 0; f < d; ++f) s += X[i * d + f] * X[i * d + f];
    aux[i] = metric == Metric::cosine ? (s > 0 ? T(1) / std::sqrt(s) : T(0)) : s;
  }
  return aux;
}

template <class T>
std::vector<T> transposed(const T* Y, int64_t n, int64_t d) {
  std::vector<T> yt(n * d);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t f = 0; f < d; ++f) yt[f * n + j] = Y[j * d + f];
  return yt;
}

// Euclidean distances are translation invariant, while the GEMM trick loses digits in
// proportion to the squared norms: both sets shifted by Y's mean keep the norms small, so
// data far from the origin (coordinates, prices, pixel intensities) stays accurate.
template <class T>
struct Centered {
  std::vector<T> x, y;  // empty when the metric needs no shift
  const T* X;
  const T* Y;
};

template <class T>
Centered<T> centered(const T* X, int64_t m, const T* Y, int64_t n, int64_t d, Metric metric,
                     bool same, int nt) {
  if (metric != Metric::sqeuclidean && metric != Metric::euclidean) return {{}, {}, X, Y};
  std::vector<double> mean(d, 0.0);
  for (int64_t j = 0; j < n; ++j)
    for (int64_t f = 0; f < d; ++f) mean[f] += Y[j * d + f];
  for (double& v : mean) v /= double(n);
  auto shift = [&](const T* A, int64_t rows) {
    std::vector<T> out(rows * d);
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t i = 0; i < rows; ++i)
      for (int64_t f = 0; f < d; ++f) out[i * d + f] = T(double(A[i * d + f]) - mean[f]);
    return out;
  };
  Centered<T> c{shift(X, m), same ? std::vector<T>() : shift(Y, n), nullptr, nullptr};
  c.X = c.x.data();
  c.Y = same ? c.X : c.y.data();
  return c;
}

void check_blas(Metric metric) {
  if (uses_gemm(metric) && !blas::ready())
    throw std::runtime_error("turbolearn: BLAS function pointers were not set");
}

// The GEMM trick loses relative accuracy for close points far from the origin; the k winners
// get their squared distance recomputed from differences, then re-sorted.
template <class T>
void refine_sqeuclidean(const T* x, const T* Y, int64_t d, int64_t k, T* bd, int64_t* bi) {
  for (int64_t q = 0; q < k; ++q) {
    const T* y = Y + bi[q] * d;
    T s = 0;
    for (int64_t f = 0; f < d; ++f) s += (x[f] - y[f]) * (x[f] - y[f]);
    bd[q] = s;
  }
  for (int64_t q = 1; q < k; ++q) {  // insertion sort: the list is already nearly sorted
    const T v = bd[q];
    const int64_t j = bi[q];
    int64_t p = q;
    for (; p > 0 && (v < bd[p - 1] || (v == bd[p - 1] && j < bi[p - 1])); --p) {
      bd[p] = bd[p - 1];
      bi[p] = bi[p - 1];
    }
    bd[p] = v;
    bi[p] = j;
  }
}

}  // namespace

template <class T>
void pairwise_distances(const T* X, int64_t m, const T* Y, int64_t n, int64_t d, Metric metric,
                        bool same, T* out, int n_threads) {
  if (m == 0 || n == 0) return;
  check_blas(metric);
  const int nt = threads::resolve(n_threads, double(m) * n * d);
  const Kernels<T>& kern = kernels<T>();
  const Centered<T> c = centered(X, m, Y, n, d, metric, same, nt);
  const std::vector<T> xaux = row_aux(c.X, m, d, metric, nt);
  const std::vector<T> yaux = same ? xaux : row_aux(c.Y, n, d, metric, nt);
  const std::vector<T> yt = uses_gemm(metric) ? std::vector<T>() : transposed(Y, n, d);
  const Tiling<T> tiling(m, nt);
  const int64_t QB = tiling.queries, NB = tiling.data, nblocks = (m + QB - 1) / QB;
  blas::SingleThreaded one_blas_thread;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int64_t b = 0; b < nblocks; ++b) {
    const int64_t i0 = b * QB, rows = std::min(QB, m - i0);
    // Tile by tile, so the epilogue reads the GEMM's output while it is still in L2.
    for (int64_t j0 = 0; j0 < n; j0 += NB) {
      const int64_t cols = std::min(NB, n - j0);
      T* o = out + i0 * n + j0;
      if (uses_gemm(metric)) {
        blas::gemm_abt<T>(rows, cols, d, T(1), c.X + i0 * d, d, c.Y + j0 * d, d, T(0), o, n);
        kern.finish_tile(o, rows, cols, n, xaux.data() + i0, yaux.data() + j0, metric);
      } else {
        kern.manhattan_tile(X + i0 * d, rows, yt.data() + j0, n, cols, d, o, n);
      }
    }
    if (same)
      for (int64_t r = 0; r < rows; ++r) out[(i0 + r) * n + i0 + r] = 0;
  }
}

template <class T>
void argkmin(const T* X, int64_t m, const T* Y, int64_t n, int64_t d, int64_t k, Metric metric,
             bool same, T* dist, int64_t* idx, int n_threads) {
  if (k < 1 || k > n) throw std::invalid_argument("argkmin: k must be in [1, n]");
  if (m == 0) return;
  check_blas(metric);
  const int nt = threads::resolve(n_threads, double(m) * n * d);
  const Kernels<T>& kern = kernels<T>();
  const Centered<T> c = centered(X, m, Y, n, d, metric, same, nt);
  const std::vector<T> xaux = row_aux(c.X, m, d, metric, nt);
  const std::vector<T> yaux = same ? xaux : row_aux(c.Y, n, d, metric, nt);
  const std::vector<T> yt = uses_gemm(metric) ? std::vector<T>() : transposed(Y, n, d);
  std::vector<int64_t> count(m, 0);
  const Tiling<T> tiling(m, nt);
  const int64_t QB = tiling.queries, NB = tiling.data, nblocks = (m + QB - 1) / QB;
  const bool squared = metric == Metric::sqeuclidean || metric == Metric::euclidean;
  blas::SingleThreaded one_blas_thread;
#pragma omp parallel num_threads(nt)
  {
    std::vector<T> tile(QB * std::min(NB, n));
#pragma omp for schedule(dynamic, 1)
    for (int64_t b = 0; b < nblocks; ++b) {
      const int64_t i0 = b * QB, rows = std::min(QB, m - i0);
      for (int64_t j0 = 0; j0 < n; j0 += NB) {
        const int64_t cols = std::min(NB, n - j0);
        if (uses_gemm(metric))
          blas::gemm_abt<T>(rows, cols, d, T(1), c.X + i0 * d, d, c.Y + j0 * d, d, T(0),
                            tile.data(), cols);
        else
          kern.manhattan_tile(X + i0 * d, rows, yt.data() + j0, n, cols, d, tile.data(), cols);
        kern.scan_topk(tile.data(), rows, cols, cols, uses_gemm(metric) ? xaux.data() + i0 : nullptr,
                       uses_gemm(metric) ? yaux.data() + j0 : nullptr, metric, j0,
                       same ? i0 : -1, k, dist + i0 * k, idx + i0 * k, count.data() + i0);
      }
      for (int64_t r = i0; r < i0 + rows; ++r) {
        const int64_t c = count[r];  // < k only when NaN input compared false everywhere
        if (squared) refine_sqeuclidean(X + r * d, Y, d, c, dist + r * k, idx + r * k);
        if (metric == Metric::euclidean)
          for (int64_t q = 0; q < c; ++q) dist[r * k + q] = std::sqrt(dist[r * k + q]);
        std::fill(dist + r * k + c, dist + (r + 1) * k, std::numeric_limits<T>::quiet_NaN());
        std::fill(idx + r * k + c, idx + (r + 1) * k, int64_t(-1));
      }
    }
  }
}

TL_INSTANTIATE_DISTANCE(float)
TL_INSTANTIATE_DISTANCE(double)

}  // namespace tl::distance
