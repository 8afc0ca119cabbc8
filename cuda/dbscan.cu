// DBSCAN on the GPU, all pairs in O(n) memory: a count kernel marks core points, an atomic
// union-find (CAS hooking the larger root under the smaller) joins core points within eps, a
// one-block scan numbers the roots in index order, and a last kernel gives each border point
// the smallest label among its core neighbours (scikit-learn's labels; see cpp/dbscan.cpp).
#include "cuda_compat.cuh"
#include "dbscan.cuh"
#include "gpu_blas.cuh"

#include <cstdint>

namespace tl::cuda::dbscan {
namespace {

constexpr int kBlock = 128;  // threads per block: one point each
constexpr int kScan = 256;   // threads of the numbering scan

using Index = unsigned long long;  // the union-find's parents (CUDA's 64-bit atomics)

int blocks_for(int64_t n) { return static_cast<int>((n + kBlock - 1) / kBlock); }

__device__ __forceinline__ int64_t point() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}

// Distance test in double, as the CPU kernel and scikit-learn's trees compute it.
template <class T>
__device__ bool within(const T* a, const T* b, int64_t d, double eps, Metric metric) {
  double s = 0;
  for (int64_t f = 0; f < d; ++f) {
    const double diff = double(a[f]) - double(b[f]);
    s += metric == Metric::euclidean ? diff * diff : fabs(diff);
  }
  return metric == Metric::euclidean ? s <= eps * eps : s <= eps;
}

template <class T>
__global__ void core_kernel(const T* X, int64_t n, int64_t d, double eps, Metric metric,
                            const double* weight, double min_samples, uint8_t* core) {
  const int64_t i = point();
  if (i >= n) return;
  double mass = weight ? weight[i] : 1.0;
  for (int64_t j = 0; j < n; ++j)
    if (j != i && within(X + i * d, X + j * d, d, eps, metric)) mass += weight ? weight[j] : 1.0;
  core[i] = mass >= min_samples;
}

// Parents change under other threads: every read is atomic (an OR with 0).
__device__ __forceinline__ Index parent_of(Index* parent, Index x) { return atomicOr(parent + x, 0ull); }

__device__ Index find(Index* parent, Index x) {
  for (Index p = parent_of(parent, x); p != x; p = parent_of(parent, x)) x = p;
  return x;
}

__device__ void unite(Index* parent, Index a, Index b) {
  for (;;) {
    a = find(parent, a);
    b = find(parent, b);
    if (a == b) return;
    if (a < b) {
      const Index t = a;
      a = b;
      b = t;
    }
    if (atomicCAS(parent + a, a, b) == a) return;  // else another thread hooked a: retry
  }
}

__global__ void init_kernel(int64_t n, Index* parent) {
  const int64_t i = point();
  if (i < n) parent[i] = static_cast<Index>(i);
}

template <class T>
__global__ void union_kernel(const T* X, int64_t n, int64_t d, double eps, Metric metric,
                             const uint8_t* core, Index* parent) {
  const int64_t i = point();
  if (i >= n || !core[i]) return;
  for (int64_t j = i + 1; j < n; ++j)
    if (core[j] && within(X + i * d, X + j * d, d, eps, metric))
      unite(parent, static_cast<Index>(i), static_cast<Index>(j));
}

// Points every core point straight at its root (the smallest index of its cluster); other
// threads' finds read these parents meanwhile, so the write is atomic too.
__global__ void flatten_kernel(int64_t n, const uint8_t* core, Index* parent) {
  const int64_t i = point();
  if (i < n && core[i]) atomicExch(parent + i, find(parent, static_cast<Index>(i)));
}

// rank[r] = the number of roots before r, for every root r: one block scans chunk by chunk.
__global__ void rank_kernel(int64_t n, const uint8_t* core, const Index* parent, int64_t* rank) {
  __shared__ int64_t sums[kScan];
  __shared__ int64_t carry;
  const int t = threadIdx.x;
  if (t == 0) carry = 0;
  for (int64_t base = 0; base < n; base += kScan) {
    const int64_t i = base + t;
    const bool root = i < n && core[i] && parent[i] == static_cast<Index>(i);
    sums[t] = root;
    __syncthreads();
    for (int offset = 1; offset < kScan; offset *= 2) {  // inclusive Hillis-Steele scan
      const int64_t add = t >= offset ? sums[t - offset] : 0;
      __syncthreads();
      sums[t] += add;
      __syncthreads();
    }
    if (root) rank[i] = carry + sums[t] - 1;
    __syncthreads();
    if (t == 0) carry += sums[kScan - 1];
    __syncthreads();
  }
}

__global__ void core_label_kernel(int64_t n, const uint8_t* core, const Index* parent,
                                  const int64_t* rank, int64_t* labels) {
  const int64_t i = point();
  if (i < n) labels[i] = core[i] ? rank[parent[i]] : -1;
}

template <class T>
__global__ void border_kernel(const T* X, int64_t n, int64_t d, double eps, Metric metric,
                              const uint8_t* core, int64_t* labels) {
  const int64_t i = point();
  if (i >= n || core[i]) return;
  int64_t best = -1;
  for (int64_t j = 0; j < n; ++j)
    if (core[j] && (best < 0 || labels[j] < best) && within(X + i * d, X + j * d, d, eps, metric))
      best = labels[j];
  labels[i] = best;
}

}  // namespace

template <class T>
void dbscan(const T* X, int64_t n, int64_t d, double eps, double min_samples, const double* weight,
            Metric metric, int64_t* labels, uint8_t* core, int) {
  if (n == 0) return;
  const cudaStream_t s = blas::stream();
  blas::Buffer<Index> parent(n);
  blas::Buffer<int64_t> rank(n);
  TL_LAUNCH(core_kernel<T>, blocks_for(n), kBlock, 0, s, X, n, d, eps, metric, weight, min_samples, core);
  check_launch("core_kernel");
  TL_LAUNCH(init_kernel, blocks_for(n), kBlock, 0, s, n, parent.get());
  check_launch("init_kernel");
  TL_LAUNCH(union_kernel<T>, blocks_for(n), kBlock, 0, s, X, n, d, eps, metric, core, parent.get());
  check_launch("union_kernel");
  TL_LAUNCH(flatten_kernel, blocks_for(n), kBlock, 0, s, n, core, parent.get());
  check_launch("flatten_kernel");
  TL_LAUNCH(rank_kernel, 1, kScan, 0, s, n, core, parent.get(), rank.get());
  check_launch("rank_kernel");
  TL_LAUNCH(core_label_kernel, blocks_for(n), kBlock, 0, s, n, core, parent.get(), rank.get(), labels);
  check_launch("core_label_kernel");
  TL_LAUNCH(border_kernel<T>, blocks_for(n), kBlock, 0, s, X, n, d, eps, metric, core, labels);
  check_launch("border_kernel");
}

template void dbscan<float>(const float*, int64_t, int64_t, double, double, const double*, Metric,
                            int64_t*, uint8_t*, int);
template void dbscan<double>(const double*, int64_t, int64_t, double, double, const double*,
                             Metric, int64_t*, uint8_t*, int);

}  // namespace tl::cuda::dbscan
