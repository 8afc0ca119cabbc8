#include "cuda_compat.cuh"
#include "gpu_blas.cuh"
#include "kmeans.cuh"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tl::cuda::kmeans {
namespace {

constexpr int kBlock = 256;                         // threads per block (a power of two)
constexpr int64_t kTileElements = int64_t(1) << 24;  // GEMM tile: 64 MiB of float
constexpr size_t kSharedSums = 40 * 1024;            // per-block sums in shared memory up to this

int blocks_for(int64_t n, int per_block) { return static_cast<int>((n + per_block - 1) / per_block); }
int grid_for(int64_t work) {
  const int64_t b = (work + kBlock - 1) / kBlock;
  return static_cast<int>(b < 1024 ? (b > 0 ? b : 1) : 1024);  // grid-stride loops cover the rest
}

using blas::Buffer;

template <class T>
void zero(Buffer<T>& buffer, int64_t n) {
  if (n > 0) check(cudaMemsetAsync(buffer.get(), 0, n * sizeof(T), blas::stream()), "cudaMemsetAsync");
}

template <class T>
void to_host(T* host, const T* device, int64_t n) {
  check(cudaMemcpyAsync(host, device, n * sizeof(T), cudaMemcpyDeviceToHost, blas::stream()),
        "cudaMemcpyAsync");
  check(cudaStreamSynchronize(blas::stream()), "cudaStreamSynchronize");
}

template <class T>
void to_device(T* device, const T* host, int64_t n) {
  check(cudaMemcpyAsync(device, host, n * sizeof(T), cudaMemcpyHostToDevice, blas::stream()),
        "cudaMemcpyAsync");
  check(cudaStreamSynchronize(blas::stream()), "cudaStreamSynchronize");  // host buffer may go
}

// Sum over the block (blockDim.x a power of two); every thread gets the total.
template <class V>
__device__ V block_sum(V v, V* shared) {
  shared[threadIdx.x] = v;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) shared[threadIdx.x] += shared[threadIdx.x + s];
    __syncthreads();
  }
  const V total = shared[0];
  __syncthreads();  // the buffer may be reused right after
  return total;
}

template <class T>
__device__ T sq_dist(const T* x, const T* c, int64_t d) {
  T s = 0;
  for (int64_t f = 0; f < d; ++f) {
    const T diff = x[f] - c[f];
    s += diff * diff;
  }
  return s;
}

// Squared norms of the rows of X: one warp per row.
template <class T>
__global__ void sqnorm_kernel(const T* X, int64_t n, int64_t d, T* out) {
  const int lane = threadIdx.x % warpSize;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / warpSize) + threadIdx.x / warpSize;
  T s = 0;
  if (row < n)
    for (int64_t f = lane; f < d; f += warpSize) s += X[row * d + f] * X[row * d + f];
  for (int offset = warpSize / 2; offset > 0; offset /= 2) s += __shfl_down_sync(0xffffffffu, s, offset);
  if (row < n && lane == 0) out[row] = s;
}

// One thread per sample of a chunk: the argmin down its column of the centres x samples tile
// (ascending centres, strict compare: ties keep the lower index), the label (counting
// changes), and the weighted inertia, block-reduced then added atomically.
template <class T>
__global__ void argmin_kernel(const T* tile, int64_t k, int64_t cols, const T* cn, const T* X,
                              const T* xn, const T* w, const T* C, int64_t d, int64_t i0,
                              bool exact, int32_t* labels, double* inertia,
                              unsigned long long* changed) {
  __shared__ double red_d[kBlock];
  __shared__ unsigned long long red_u[kBlock];
  const int64_t s = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  double contrib = 0;
  unsigned long long moved = 0;
  if (s < cols) {
    T best = static_cast<T>(INFINITY);
    int32_t lab = 0;
    for (int64_t j = 0; j < k; ++j) {
      const T g = tile[j * cols + s];
      const T v = cn[j] - (g + g);
      if (v < best) {
        best = v;
        lab = static_cast<int32_t>(j);
      }
    }
    const int64_t i = i0 + s;
    moved = labels[i] != lab ? 1ull : 0ull;
    labels[i] = lab;
    T sq;
    if (exact) {
      sq = sq_dist(X + i * d, C + static_cast<int64_t>(lab) * d, d);
    } else {
      sq = best + xn[i];
      sq = sq > T(0) ? sq : T(0);
    }
    contrib = static_cast<double>(w[i]) * static_cast<double>(sq);
  }
  contrib = block_sum(contrib, red_d);
  moved = block_sum(moved, red_u);
  if (threadIdx.x == 0) {
    atomicAdd(inertia, contrib);
    atomicAdd(changed, moved);
  }
}

// Weighted per-cluster sums: each block accumulates its grid-stride share of the elements in
// shared memory (atomics there), then adds its partial sums to the global ones.
template <class T>
__global__ void accumulate_shared_kernel(const T* X, const T* w, const int32_t* labels, int64_t n,
                                         int64_t d, int64_t k, double* sums, double* wsum) {
  TL_DYNAMIC_SHARED(double, part);  // k * d sums, then k weights
  double* pw = part + k * d;
  for (int64_t e = threadIdx.x; e < k * d + k; e += blockDim.x) part[e] = 0;
  __syncthreads();
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n * d; e += stride) {
    const int64_t i = e / d, f = e % d;
    const int64_t lab = labels[i];
    atomicAdd(&part[lab * d + f], static_cast<double>(w[i]) * static_cast<double>(X[e]));
    if (f == 0) atomicAdd(&pw[lab], static_cast<double>(w[i]));
  }
  __syncthreads();
  for (int64_t e = threadIdx.x; e < k * d; e += blockDim.x)
    if (part[e] != 0) atomicAdd(&sums[e], part[e]);
  for (int64_t j = threadIdx.x; j < k; j += blockDim.x)
    if (pw[j] != 0) atomicAdd(&wsum[j], pw[j]);
}

// The same with global atomics, for more centres x features than fit in shared memory.
template <class T>
__global__ void accumulate_global_kernel(const T* X, const T* w, const int32_t* labels, int64_t n,
                                         int64_t d, double* sums, double* wsum) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n * d; e += stride) {
    const int64_t i = e / d, f = e % d;
    const int64_t lab = labels[i];
    atomicAdd(&sums[lab * d + f], static_cast<double>(w[i]) * static_cast<double>(X[e]));
    if (f == 0) atomicAdd(&wsum[lab], static_cast<double>(w[i]));
  }
}

// dist[i] = ||X[i] - C[labels[i]]||^2 (for the relocation of empty clusters).
template <class T>
__global__ void sq_dist_kernel(const T* X, int64_t n, int64_t d, const T* C, const int32_t* labels,
                               T* dist) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i < n) dist[i] = sq_dist(X + i * d, C + static_cast<int64_t>(labels[i]) * d, d);
}

// One block: the largest dist and its index (the lowest index on ties). Taken points hold -1.
template <class T>
__global__ void argmax_kernel(const T* dist, int64_t n, T* out_val, int64_t* out_idx) {
  __shared__ T val[kBlock];
  __shared__ int64_t idx[kBlock];
  T bv = -1;
  int64_t bi = n;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
    if (dist[i] > bv) {  // ascending i per thread: the first maximum stays
      bv = dist[i];
      bi = i;
    }
  val[threadIdx.x] = bv;
  idx[threadIdx.x] = bi;
  __syncthreads();
  for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s) {
      const T ov = val[threadIdx.x + s];
      const int64_t oi = idx[threadIdx.x + s];
      if (ov > val[threadIdx.x] || (ov == val[threadIdx.x] && oi < idx[threadIdx.x])) {
        val[threadIdx.x] = ov;
        idx[threadIdx.x] = oi;
      }
    }
    __syncthreads();
  }
  if (threadIdx.x == 0) {
    *out_val = val[0];
    *out_idx = idx[0];
  }
}

// Moves point `far` (and its weighted contribution) into empty cluster `to`.
template <class T>
__global__ void relocate_kernel(const T* X, const T* w, const int32_t* labels, int64_t d,
                                int64_t far, int64_t to, double* sums, double* wsum, T* dist) {
  const int64_t from = labels[far];
  const double wf = w[far];
  for (int64_t f = threadIdx.x; f < d; f += blockDim.x) {
    const double x = X[far * d + f];
    sums[from * d + f] -= x * wf;
    sums[to * d + f] = x * wf;
  }
  if (threadIdx.x == 0) {
    wsum[to] = wf;
    wsum[from] -= wf;
    dist[far] = -1;
  }
}

// One block per centre: the mean of its samples (an empty one takes the heaviest one's), its
// weight, and how far it moved.
template <class T>
__global__ void average_kernel(const double* sums, const double* wsum, int64_t d, int64_t heaviest,
                               const T* centers_old, T* centers_new, T* weight_in_clusters,
                               T* center_shift) {
  __shared__ T red[kBlock];
  const int64_t j = blockIdx.x;
  const int64_t src = wsum[j] > 0 ? j : heaviest;
  const double inv = wsum[src] > 0 ? 1.0 / wsum[src] : 0.0;
  T s = 0;
  for (int64_t f = threadIdx.x; f < d; f += blockDim.x) {
    const T v = static_cast<T>(sums[src * d + f] * inv);
    centers_new[j * d + f] = v;
    const T diff = v - centers_old[j * d + f];
    s += diff * diff;
  }
  s = block_sum(s, red);
  if (threadIdx.x == 0) {
    center_shift[j] = sqrt(s);
    weight_in_clusters[j] = static_cast<T>(wsum[j]);
  }
}

// One block per centre: scikit-learn's count-based mini-batch update (in place allowed).
template <class T>
__global__ void minibatch_update_kernel(const double* sums, const double* wsum, int64_t d,
                                        const T* centers_old, T* centers_new, T* weight_sums) {
  const int64_t j = blockIdx.x;
  const double prior = weight_sums[j], denom = prior + wsum[j];
  __syncthreads();  // everyone has read weight_sums[j] before thread 0 updates it
  const T* old = centers_old + j * d;
  T* out = centers_new + j * d;
  if (wsum[j] > 0) {
    for (int64_t f = threadIdx.x; f < d; f += blockDim.x)
      out[f] = static_cast<T>((static_cast<double>(old[f]) * prior + sums[j * d + f]) / denom);
    if (threadIdx.x == 0) weight_sums[j] = static_cast<T>(denom);
  } else if (out != old) {
    for (int64_t f = threadIdx.x; f < d; f += blockDim.x) out[f] = old[f];
  }
}

// k-means++ candidate distances from their float64 dot products (see cpp/kmeans.hpp).
template <class T>
__global__ void plusplus_kernel(const double* G, int64_t m, int64_t n, const double* xx,
                                const double* yy, const T* closest, T* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < m * n; e += stride) {
    const int64_t i = e / n, j = e % n;
    T v = static_cast<T>((-2.0 * G[e] + xx[i]) + yy[j]);
    v = (v >= T(0) || v != v) ? v : T(0);
    if (closest) v = (closest[j] <= v || closest[j] != closest[j]) ? closest[j] : v;
    out[e] = v;
  }
}

template <class T>
void sqnorms(const T* X, int64_t n, int64_t d, T* out) {
  const int rows_per_block = kBlock / 32;
  TL_LAUNCH(sqnorm_kernel<T>, blocks_for(n, rows_per_block), kBlock, 0, blas::stream(), X, n, d, out);
  check_launch("sqnorm_kernel");
}

void check_args(int64_t n, int64_t d, int64_t k) {
  if (k < 1) throw std::invalid_argument("kmeans: the number of centres must be >= 1");
  if (d < 1) throw std::invalid_argument("kmeans: the number of features must be >= 1");
  if (n < 0) throw std::invalid_argument("kmeans: negative number of samples");
}

// The whole assignment pass (chunks of samples: cuBLAS GEMM into the tile, then the argmin
// kernel), and with `sums` the per-cluster weighted sums. Returns the Assignment.
template <class T>
Assignment scan(const T* X, const T* xn, const T* w, int64_t n, int64_t d, const T* C, int64_t k,
                int32_t* labels, bool exact, double* sums, double* wsum) {
  Buffer<T> cn(k);
  sqnorms(C, k, d, cn.get());
  const int64_t chunk = std::min<int64_t>(n, std::max<int64_t>(1024, kTileElements / k));
  Buffer<T> tile(k * chunk);
  Buffer<double> inertia(1);
  Buffer<unsigned long long> changed(1);
  zero(inertia, 1);
  zero(changed, 1);
  for (int64_t i0 = 0; i0 < n; i0 += chunk) {
    const int64_t cols = std::min(chunk, n - i0);
    blas::gemm_abt<T>(k, cols, d, C, d, X + i0 * d, d, tile.get(), cols);
    TL_LAUNCH(argmin_kernel<T>, blocks_for(cols, kBlock), kBlock, 0, blas::stream(), tile.get(), k,
              cols, cn.get(), X, xn, w, C, d, i0, exact, labels, inertia.get(), changed.get());
    check_launch("argmin_kernel");
  }
  if (sums != nullptr) {
    const size_t shmem = static_cast<size_t>(k * d + k) * sizeof(double);
    if (shmem <= kSharedSums) {
      TL_LAUNCH(accumulate_shared_kernel<T>, grid_for(n * d), kBlock, shmem, blas::stream(), X, w,
                labels, n, d, k, sums, wsum);
      check_launch("accumulate_shared_kernel");
    } else {
      TL_LAUNCH(accumulate_global_kernel<T>, grid_for(n * d), kBlock, 0, blas::stream(), X, w,
                labels, n, d, sums, wsum);
      check_launch("accumulate_global_kernel");
    }
  }
  Assignment a;
  unsigned long long moved = 0;
  to_host(&a.inertia, inertia.get(), 1);
  to_host(&moved, changed.get(), 1);
  a.n_changed = static_cast<int64_t>(moved);
  return a;
}

// scikit-learn's _relocate_empty_clusters_dense: farthest points first (ties: lower index),
// nothing moves when every point sits on its centre. wsum_host mirrors wsum on return.
template <class T>
void relocate_empty(const T* X, const T* w, int64_t n, int64_t d, const T* centers_old, int64_t k,
                    const int32_t* labels, double* sums, double* wsum, std::vector<double>& wsum_host) {
  std::vector<int64_t> empty;
  for (int64_t j = 0; j < k; ++j)
    if (wsum_host[j] == 0) empty.push_back(j);
  if (empty.empty() || n == 0) return;
  Buffer<T> dist(n), val(1);
  Buffer<int64_t> idx(1);
  TL_LAUNCH(sq_dist_kernel<T>, blocks_for(n, kBlock), kBlock, 0, blas::stream(), X, n, d,
            centers_old, labels, dist.get());
  check_launch("sq_dist_kernel");
  for (size_t q = 0; q < empty.size() && static_cast<int64_t>(q) < n; ++q) {
    TL_LAUNCH(argmax_kernel<T>, 1, kBlock, 0, blas::stream(), dist.get(), n, val.get(), idx.get());
    check_launch("argmax_kernel");
    T v;
    int64_t far;
    to_host(&v, val.get(), 1);
    to_host(&far, idx.get(), 1);
    if (q == 0 && v == 0) return;  // more clusters than distinct points
    TL_LAUNCH(relocate_kernel<T>, 1, 32, 0, blas::stream(), X, w, labels, d, far, empty[q], sums,
              wsum, dist.get());
    check_launch("relocate_kernel");
  }
  to_host(wsum_host.data(), wsum, k);
}

}  // namespace

template <class T>
void row_sqnorms(const T* X, int64_t n, int64_t d, T* out, int) {
  if (n > 0) sqnorms(X, n, d, out);
}

template <class T>
void plusplus_distances(const double* G, int64_t m, int64_t n, const double* xx,
                        const double* yy, const T* closest, T* out, int) {
  if (m <= 0 || n <= 0) return;
  TL_LAUNCH(plusplus_kernel<T>, grid_for(m * n), kBlock, 0, blas::stream(), G, m, n, xx, yy,
            closest, out);
  check_launch("plusplus_kernel");
}

template <class T>
Assignment assign(const T* X, const T* x_sqnorms, const T* sample_weight, int64_t n, int64_t d,
                  const T* centers, int64_t k, int32_t* labels, bool exact, int) {
  check_args(n, d, k);
  if (!exact && x_sqnorms == nullptr)
    throw std::invalid_argument("kmeans assign: x_sqnorms is needed unless exact");
  if (n == 0) return {};
  return scan(X, x_sqnorms, sample_weight, n, d, centers, k, labels, exact, nullptr, nullptr);
}

template <class T>
Assignment lloyd_iter(const T* X, const T* x_sqnorms, const T* sample_weight, int64_t n,
                      int64_t d, const T* centers_old, int64_t k, T* centers_new,
                      T* weight_in_clusters, int32_t* labels, T* center_shift, int) {
  check_args(n, d, k);
  Buffer<double> sums(k * d), wsum(k);
  zero(sums, k * d);
  zero(wsum, k);
  Assignment a;
  if (n > 0)
    a = scan(X, x_sqnorms, sample_weight, n, d, centers_old, k, labels, false, sums.get(), wsum.get());
  std::vector<double> wsum_host(k);
  to_host(wsum_host.data(), wsum.get(), k);
  relocate_empty(X, sample_weight, n, d, centers_old, k, labels, sums.get(), wsum.get(), wsum_host);
  int64_t heaviest = 0;
  for (int64_t j = 1; j < k; ++j)
    if (wsum_host[j] > wsum_host[heaviest]) heaviest = j;
  TL_LAUNCH(average_kernel<T>, static_cast<int>(k), kBlock, 0, blas::stream(), sums.get(), wsum.get(),
            d, heaviest, centers_old, centers_new, weight_in_clusters, center_shift);
  check_launch("average_kernel");
  return a;
}

template <class T>
Assignment minibatch_step(const T* X, const T* sample_weight, int64_t n, int64_t d,
                          const T* centers_old, int64_t k, T* centers_new, T* weight_sums,
                          int32_t* labels, int) {
  check_args(n, d, k);
  Buffer<double> sums(k * d), wsum(k);
  zero(sums, k * d);
  zero(wsum, k);
  Assignment a;
  if (n > 0)
    a = scan(X, static_cast<const T*>(nullptr), sample_weight, n, d, centers_old, k, labels, true,
             sums.get(), wsum.get());
  TL_LAUNCH(minibatch_update_kernel<T>, static_cast<int>(k), 32, 0, blas::stream(), sums.get(),
            wsum.get(), d, centers_old, centers_new, weight_sums);
  check_launch("minibatch_update_kernel");
  return a;
}

TL_INSTANTIATE_KMEANS(float)
TL_INSTANTIATE_KMEANS(double)

}  // namespace tl::cuda::kmeans
