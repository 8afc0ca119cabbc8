#include "cuda_compat.cuh"
#include "gpu_blas.cuh"
#include "softmax_xent.cuh"

#include <cstdint>
#include <stdexcept>
#include <string>

namespace tl::cuda::softmax_xent {
namespace {

constexpr int kBlock = 256;  // threads per block: 8 warps, one row each
constexpr int kWarps = kBlock / 32;

template <class V>
__device__ V warp_sum(V v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <class V>
__device__ V warp_max(V v) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const V u = __shfl_xor_sync(0xffffffffu, v, offset);
    v = u > v ? u : v;
  }
  return v;
}

// One warp per row: max, sum of exponentials, probabilities, then the loss. A sparse label
// out of range leaves NaN and records the lowest such row in *bad.
template <class T>
__global__ void forward_kernel(const T* logits, int64_t n, int64_t k, const int64_t* sparse,
                               const T* dense, T* loss, T* probs, long long* bad) {
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (row >= n) return;  // the whole warp leaves together
  const T* z = logits + row * k;
  T* p = probs + row * k;
  T m = static_cast<T>(-INFINITY);
  for (int64_t j = lane; j < k; j += 32) m = z[j] > m ? z[j] : m;
  m = warp_max(m);
  T s = 0;
  for (int64_t j = lane; j < k; j += 32) {
    const T e = exp(z[j] - m);
    p[j] = e;
    s += e;
  }
  s = warp_sum(s);
  const T inv = T(1) / s;
  for (int64_t j = lane; j < k; j += 32) p[j] *= inv;
  const T lse = m + log(s);
  if (sparse) {
    if (lane == 0) {
      const int64_t c = sparse[row];
      if (c < 0 || c >= k) {
        atomicMin(bad, static_cast<long long>(row));
        loss[row] = static_cast<T>(NAN);
      } else {
        loss[row] = lse - z[c];
      }
    }
  } else {
    const T* y = dense + row * k;
    T l = 0;
    for (int64_t j = lane; j < k; j += 32) l += y[j] * (lse - z[j]);
    l = warp_sum(l);
    if (lane == 0) loss[row] = l;
  }
}

// One warp per row: dlogits = (probs * sum(y) - y) * grad_loss.
template <class T>
__global__ void backward_kernel(const T* probs, int64_t n, int64_t k, const int64_t* sparse,
                                const T* dense, const T* grad_loss, T* dlogits, long long* bad) {
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (row >= n) return;
  const T* p = probs + row * k;
  T* d = dlogits + row * k;
  const T g = grad_loss[row];
  if (sparse) {
    const int64_t c = sparse[row];
    const bool ok = c >= 0 && c < k;
    if (!ok && lane == 0) atomicMin(bad, static_cast<long long>(row));
    for (int64_t j = lane; j < k; j += 32) d[j] = (j == c ? p[j] - T(1) : p[j]) * g;
  } else {
    const T* y = dense + row * k;
    T total = 0;
    for (int64_t j = lane; j < k; j += 32) total += y[j];
    total = warp_sum(total);
    for (int64_t j = lane; j < k; j += 32) d[j] = (p[j] * total - y[j]) * g;
  }
}

void check_args(int64_t n, int64_t k, const int64_t* sparse, const void* dense) {
  if (n < 0) throw std::invalid_argument("softmax_xent: negative number of samples");
  if (k < 1) throw std::invalid_argument("softmax_xent: the number of classes must be >= 1");
  if ((sparse == nullptr) == (dense == nullptr))
    throw std::invalid_argument("softmax_xent: give either sparse or categorical labels");
}

// The flag the kernels lower to the first bad row: starts at LLONG_MAX-ish (0x7f bytes).
// Only sparse labels need it (flag.get() is null otherwise).
struct BadRow {
  blas::Buffer<long long> flag;
  explicit BadRow(bool sparse) : flag(sparse ? 1 : 0) {
    if (sparse)
      check(cudaMemsetAsync(flag.get(), 0x7f, sizeof(long long), blas::stream()), "cudaMemsetAsync");
  }
  // Throws std::invalid_argument naming the first bad label, if any (synchronises).
  void raise_if_set(const int64_t* sparse, int64_t n, int64_t k) const {
    long long row = 0;
    check(cudaMemcpyAsync(&row, flag.get(), sizeof(row), cudaMemcpyDeviceToHost, blas::stream()), "cudaMemcpyAsync");
    check(cudaStreamSynchronize(blas::stream()), "cudaStreamSynchronize");
    if (row >= n) return;
    int64_t label = 0;
    check(cudaMemcpyAsync(&label, sparse + row, sizeof(label), cudaMemcpyDeviceToHost, blas::stream()),
          "cudaMemcpyAsync");
    check(cudaStreamSynchronize(blas::stream()), "cudaStreamSynchronize");
    throw std::invalid_argument("label " + std::to_string(label) + " of sample " + std::to_string(row) +
                                " is out of range [0, " + std::to_string(k) + ")");
  }
};

int rows_grid(int64_t n) { return static_cast<int>((n + kWarps - 1) / kWarps); }

}  // namespace

template <class T>
void forward(const T* logits, int64_t n, int64_t k, const int64_t* sparse, const T* dense,
             T* loss, T* probs, int) {
  check_args(n, k, sparse, dense);
  if (n == 0) return;
  BadRow bad(sparse != nullptr);
  TL_LAUNCH(forward_kernel<T>, rows_grid(n), kBlock, 0, blas::stream(), logits, n, k, sparse, dense,
            loss, probs, bad.flag.get());
  check_launch("forward_kernel");
  if (sparse) bad.raise_if_set(sparse, n, k);
}

template <class T>
void backward(const T* probs, int64_t n, int64_t k, const int64_t* sparse, const T* dense,
              const T* grad_loss, T* dlogits, int) {
  check_args(n, k, sparse, dense);
  if (n == 0) return;
  BadRow bad(sparse != nullptr);
  TL_LAUNCH(backward_kernel<T>, rows_grid(n), kBlock, 0, blas::stream(), probs, n, k, sparse, dense,
            grad_loss, dlogits, bad.flag.get());
  check_launch("backward_kernel");
  if (sparse) bad.raise_if_set(sparse, n, k);
}

TL_INSTANTIATE_SOFTMAX_XENT(float)
TL_INSTANTIATE_SOFTMAX_XENT(double)

}  // namespace tl::cuda::softmax_xent
