#include "cuda_compat.cuh"
#include "distance.cuh"
#include "gpu_blas.cuh"

#include <cmath>
#include <cstdint>

namespace tl::cuda::distance {
namespace {

constexpr int kBlock = 128;       // threads per block of the 1-D kernels
constexpr int kTile = 16;         // manhattan tile edge
constexpr int64_t kRowChunk = 2048, kColChunk = 8192;  // GEMM tile of argkmin (64 MiB float)
constexpr int64_t kNone = INT64_MAX;                    // an empty top-k slot

int blocks_for(int64_t n, int per_block) { return static_cast<int>((n + per_block - 1) / per_block); }

int grid_for_elements(int64_t count) {
  const int64_t blocks = (count + kBlock - 1) / kBlock;
  return static_cast<int>(blocks < 65536 ? blocks : 65536);  // grid-stride loop covers the rest
}

__host__ __device__ inline bool uses_gemm(Metric metric) { return metric != Metric::manhattan; }

// Clamps that keep NaN (fmin/fmax would turn NaN input into a bound).
template <class T>
__device__ __forceinline__ T at_least(T lo, T x) { return lo > x ? lo : x; }
template <class T>
__device__ __forceinline__ T at_most(T hi, T x) { return hi < x ? hi : x; }

// The epilogue of a GEMM-based metric on a dot product g (same formulas as the CPU kernels).
template <class T>
__device__ __forceinline__ T from_dot(T g, T xa, T ya, Metric metric) {
  if (metric == Metric::cosine) return at_most(T(2), at_least(T(0), T(1) - g * xa * ya));
  const T sq = at_least(T(0), (xa + ya) - (g + g));
  return metric == Metric::euclidean ? sqrt(sq) : sq;
}

// Squared norms (or inverse norms for cosine) of the rows of X: one warp per row.
template <class T>
__global__ void row_aux_kernel(const T* X, int64_t m, int64_t d, Metric metric, T* aux) {
  const int lane = threadIdx.x % warpSize;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / warpSize) + threadIdx.x / warpSize;
  T s = 0;
  if (row < m)
    for (int64_t f = lane; f < d; f += warpSize) s += X[row * d + f] * X[row * d + f];
  for (int offset = warpSize / 2; offset > 0; offset /= 2) s += __shfl_down_sync(0xffffffffu, s, offset);
  if (row < m && lane == 0)
    aux[row] = metric == Metric::cosine ? (s > T(0) ? T(1) / sqrt(s) : T(0)) : s;
}

// Dot products -> distances in place over a rows x cols block whose global row 0 is i0;
// with `same`, the diagonal (global row == column) is set to exactly 0.
template <class T>
__global__ void finish_kernel(T* D, int64_t rows, int64_t cols, int64_t ld, const T* xaux,
                              const T* yaux, Metric metric, bool same, int64_t i0) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < rows * cols; e += stride) {
    const int64_t r = e / cols, c = e % cols;
    T* p = D + r * ld + c;
    *p = (same && i0 + r == c) ? T(0) : from_dot(*p, xaux[r], yaux[c], metric);
  }
}

// Manhattan distances of X rows [i0, i0 + rows) against all of Y, through shared-memory tiles
// of 16 features; features are summed in order, as on the CPU.
template <class T>
__global__ void manhattan_kernel(const T* X, int64_t rows, const T* Y, int64_t n, int64_t d,
                                 T* out, int64_t ld) {
  __shared__ T xs[kTile][kTile + 1];
  __shared__ T ys[kTile][kTile + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int64_t row = static_cast<int64_t>(blockIdx.y) * kTile + ty;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kTile + tx;
  const int64_t yrow = static_cast<int64_t>(blockIdx.x) * kTile + ty;
  T acc = 0;
  for (int64_t f0 = 0; f0 < d; f0 += kTile) {
    const bool in_f = f0 + tx < d;
    xs[ty][tx] = row < rows && in_f ? X[row * d + f0 + tx] : T(0);
    ys[ty][tx] = yrow < n && in_f ? Y[yrow * d + f0 + tx] : T(0);
    __syncthreads();
    for (int f = 0; f < kTile; ++f) acc += fabs(xs[ty][f] - ys[tx][f]);
    __syncthreads();
  }
  if (row < rows && col < n) out[row * ld + col] = acc;
}

// Column means of Y (one block per feature, accumulated in double): the shift that keeps
// euclidean GEMMs accurate for data far from the origin (see cpp/distance.cpp).
template <class T>
__global__ void column_mean_kernel(const T* Y, int64_t n, int64_t d, double* mean) {
  __shared__ double partial[kBlock];
  const int64_t f = blockIdx.x;
  double s = 0;
  for (int64_t j = threadIdx.x; j < n; j += blockDim.x) s += Y[j * d + f];
  partial[threadIdx.x] = s;
  __syncthreads();
  for (int width = blockDim.x / 2; width > 0; width /= 2) {
    if (static_cast<int>(threadIdx.x) < width) partial[threadIdx.x] += partial[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) mean[f] = partial[0] / static_cast<double>(n);
}

template <class T>
__global__ void shift_kernel(const T* A, int64_t count, int64_t d, const double* mean, T* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < count; e += stride)
    out[e] = static_cast<T>(static_cast<double>(A[e]) - mean[e % d]);
}

template <class T>
__global__ void fill_topk_kernel(T* dist, int64_t* idx, int64_t count) {
  const int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (e < count) {
    dist[e] = static_cast<T>(INFINITY);
    idx[e] = kNone;
  }
}

template <class T>
__device__ __forceinline__ bool before(T da, int64_t ia, T db, int64_t ib) {
  return da < db || (da == db && ia < ib);
}

// Merges one tile row into that query's k smallest: one block per row. Threads test columns
// against the current k-th distance and append the few that pass to a shared candidate list;
// thread 0 inserts them in order. Columns are visited in ascending order, so the strict
// compare breaks ties by the lower index, exactly as the CPU kernel does.
template <class T>
__global__ void topk_merge_kernel(const T* tile, int64_t cols, int64_t ld, const T* xaux,
                                  const T* yaux, Metric metric, int64_t j0, int64_t i0, bool same,
                                  int k, T* best_d, int64_t* best_i) {
  TL_DYNAMIC_SHARED(unsigned char, smem);
  int64_t* li = reinterpret_cast<int64_t*>(smem);  // the list, then the candidates
  int64_t* ci = li + k;
  T* lv = reinterpret_cast<T*>(ci + blockDim.x);
  T* cv = lv + k;
  __shared__ int n_cand;
  __shared__ T thr;

  const int64_t r = blockIdx.x;
  T* bd = best_d + (i0 + r) * k;
  int64_t* bi = best_i + (i0 + r) * k;
  for (int q = threadIdx.x; q < k; q += blockDim.x) {
    lv[q] = bd[q];
    li[q] = bi[q];
  }
  if (threadIdx.x == 0) n_cand = 0;
  __syncthreads();
  if (threadIdx.x == 0) thr = lv[k - 1];
  __syncthreads();

  const T* g = tile + r * ld;
  const T xa = uses_gemm(metric) ? xaux[r] : T(0);
  for (int64_t base = 0; base < cols; base += blockDim.x) {
    const int64_t c = base + threadIdx.x;
    if (c < cols) {
      const int64_t j = j0 + c;
      T v = uses_gemm(metric) ? from_dot(g[c], xa, yaux[c], metric == Metric::euclidean ? Metric::sqeuclidean : metric) : g[c];
      if (same && j == i0 + r) v = 0;
      if (v < thr) {
        const int p = atomicAdd(&n_cand, 1);
        cv[p] = v;
        ci[p] = j;
      }
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int p = 0; p < n_cand; ++p) {
        if (!before(cv[p], ci[p], lv[k - 1], li[k - 1])) continue;
        int q = k - 1;
        for (; q > 0 && before(cv[p], ci[p], lv[q - 1], li[q - 1]); --q) {
          lv[q] = lv[q - 1];
          li[q] = li[q - 1];
        }
        lv[q] = cv[p];
        li[q] = ci[p];
      }
      n_cand = 0;
      thr = lv[k - 1];
    }
    __syncthreads();
  }
  for (int q = threadIdx.x; q < k; q += blockDim.x) {
    bd[q] = lv[q];
    bi[q] = li[q];
  }
}

// One thread per query: the squared-euclidean winners get their distance recomputed from
// differences (the GEMM trick loses accuracy for close points far from the origin) and are
// re-sorted; euclidean takes the root; slots left empty by NaN input become (NaN, -1).
template <class T>
__global__ void finalize_topk_kernel(const T* X, const T* Y, int64_t m, int64_t d, int k,
                                     Metric metric, T* best_d, int64_t* best_i) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= m) return;
  T* bd = best_d + r * k;
  int64_t* bi = best_i + r * k;
  const bool squared = metric == Metric::sqeuclidean || metric == Metric::euclidean;
  for (int q = 0; q < k; ++q) {
    if (bi[q] == kNone) {
      bd[q] = static_cast<T>(NAN);
      bi[q] = -1;
    } else if (squared) {
      T s = 0;
      for (int64_t f = 0; f < d; ++f) {
        const T diff = X[r * d + f] - Y[bi[q] * d + f];
        s += diff * diff;
      }
      bd[q] = s;
    }
  }
  if (!squared) return;
  for (int q = 1; q < k && bi[q] >= 0; ++q) {
    const T v = bd[q];
    const int64_t j = bi[q];
    int p = q;
    for (; p > 0 && before(v, j, bd[p - 1], bi[p - 1]); --p) {
      bd[p] = bd[p - 1];
      bi[p] = bi[p - 1];
    }
    bd[p] = v;
    bi[p] = j;
  }
  if (metric == Metric::euclidean)
    for (int q = 0; q < k && bi[q] >= 0; ++q) bd[q] = sqrt(bd[q]);
}

template <class T>
void row_aux(const T* X, int64_t m, int64_t d, Metric metric, T* aux) {
  const int rows_per_block = kBlock / 32;
  TL_LAUNCH(row_aux_kernel<T>, blocks_for(m, rows_per_block), kBlock, 0, blas::stream(), X, m, d,
            metric, aux);
  check_launch("row_aux_kernel");
}

template <class T>
void manhattan(const T* X, int64_t rows, const T* Y, int64_t n, int64_t d, T* out, int64_t ld) {
  const dim3 grid(blocks_for(n, kTile), blocks_for(rows, kTile));
  TL_LAUNCH(manhattan_kernel<T>, grid, dim3(kTile, kTile), 0, blas::stream(), X, rows, Y, n, d,
            out, ld);
  check_launch("manhattan_kernel");
}

// X and Y shifted by Y's mean for the squared metrics (X, Y themselves otherwise).
template <class T>
class Centered {
 public:
  Centered(const T* X, int64_t m, const T* Y, int64_t n, int64_t d, Metric metric, bool same)
      : shifted_(metric == Metric::sqeuclidean || metric == Metric::euclidean),
        mean_(shifted_ ? d : 0), x_(shifted_ ? m * d : 0), y_(shifted_ && !same ? n * d : 0) {
    X_ = X;
    Y_ = Y;
    if (!shifted_) return;
    TL_LAUNCH(column_mean_kernel<T>, static_cast<int>(d), kBlock, 0, blas::stream(), Y, n, d, mean_.get());
    check_launch("column_mean_kernel");
    X_ = shift(X, m, d, x_.get());
    Y_ = same ? X_ : shift(Y, n, d, y_.get());
  }
  const T* X() const { return X_; }
  const T* Y() const { return Y_; }

 private:
  const T* shift(const T* A, int64_t rows, int64_t d, T* out) {
    TL_LAUNCH(shift_kernel<T>, grid_for_elements(rows * d), kBlock, 0, blas::stream(), A, rows * d, d,
              mean_.get(), out);
    check_launch("shift_kernel");
    return out;
  }
  bool shifted_;
  blas::Buffer<double> mean_;
  blas::Buffer<T> x_, y_;
  const T* X_;
  const T* Y_;
};

}  // namespace

template <class T>
void pairwise_distances(const T* X, int64_t m, const T* Y, int64_t n, int64_t d, Metric metric,
                        bool same, T* out, int) {
  if (m == 0 || n == 0) return;
  if (!uses_gemm(metric)) {
    for (int64_t i0 = 0; i0 < m; i0 += kRowChunk)  // bounds grid.y
      manhattan(X + i0 * d, m - i0 < kRowChunk ? m - i0 : kRowChunk, Y, n, d, out + i0 * n, n);
    return;
  }
  const Centered<T> c(X, m, Y, n, d, metric, same);
  blas::Buffer<T> xaux(m), yaux(same ? 0 : n);
  row_aux(c.X(), m, d, metric, xaux.get());
  if (!same) row_aux(c.Y(), n, d, metric, yaux.get());
  blas::gemm_abt<T>(m, n, d, c.X(), d, c.Y(), d, out, n);
  TL_LAUNCH(finish_kernel<T>, grid_for_elements(m * n), kBlock, 0, blas::stream(), out, m, n, n,
            xaux.get(), same ? xaux.get() : yaux.get(), metric, same, int64_t(0));
  check_launch("finish_kernel");
}

template <class T>
void argkmin(const T* X, int64_t m, const T* Y, int64_t n, int64_t d, int64_t k, Metric metric,
             bool same, T* dist, int64_t* idx, int) {
  if (k < 1 || k > n) throw std::invalid_argument("argkmin: k must be in [1, n]");
  if (k > kMaxK)
    throw std::invalid_argument("argkmin on the GPU supports k <= " + std::to_string(kMaxK));
  if (m == 0) return;
  const int64_t rc = m < kRowChunk ? m : kRowChunk, cc = n < kColChunk ? n : kColChunk;
  blas::Buffer<T> xaux(uses_gemm(metric) ? m : 0), yaux(uses_gemm(metric) && !same ? n : 0), tile(rc * cc);
  const T* ya = same ? xaux.get() : yaux.get();
  const Centered<T> c(X, m, Y, n, d, metric, same);
  if (uses_gemm(metric)) {
    row_aux(c.X(), m, d, metric, xaux.get());
    if (!same) row_aux(c.Y(), n, d, metric, yaux.get());
  }
  TL_LAUNCH(fill_topk_kernel<T>, blocks_for(m * k, kBlock), kBlock, 0, blas::stream(), dist, idx, m * k);
  check_launch("fill_topk_kernel");
  const size_t smem = (k + kBlock) * (sizeof(int64_t) + sizeof(T));
  for (int64_t i0 = 0; i0 < m; i0 += rc) {
    const int64_t rows = m - i0 < rc ? m - i0 : rc;
    for (int64_t j0 = 0; j0 < n; j0 += cc) {
      const int64_t cols = n - j0 < cc ? n - j0 : cc;
      if (uses_gemm(metric))
        blas::gemm_abt<T>(rows, cols, d, c.X() + i0 * d, d, c.Y() + j0 * d, d, tile.get(), cols);
      else
        manhattan(X + i0 * d, rows, Y + j0 * d, cols, d, tile.get(), cols);
      TL_LAUNCH(topk_merge_kernel<T>, static_cast<int>(rows), kBlock, smem, blas::stream(), tile.get(),
                cols, cols, uses_gemm(metric) ? xaux.get() + i0 : nullptr,
                uses_gemm(metric) ? ya + j0 : nullptr, metric, j0, i0, same, static_cast<int>(k), dist,
                idx);
      check_launch("topk_merge_kernel");
    }
  }
  TL_LAUNCH(finalize_topk_kernel<T>, blocks_for(m, kBlock), kBlock, 0, blas::stream(), X, Y, m, d,
            static_cast<int>(k), metric, dist, idx);
  check_launch("finalize_topk_kernel");
}

TL_INSTANTIATE_DISTANCE(float)
TL_INSTANTIATE_DISTANCE(double)

}  // namespace tl::cuda::distance
