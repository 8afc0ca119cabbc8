#include "cuda_compat.cuh"
#include "dense.cuh"
#include "gpu_blas.cuh"

#include <cstdint>
#include <stdexcept>

namespace tl::cuda::dense {
namespace {

constexpr int kBlock = 256;      // threads per block
constexpr int kWarps = kBlock / 32;
constexpr int kColumns = 32;     // columns of a column-sum block (one per lane)

int grid_for(int64_t work) {
  const int64_t b = (work + kBlock - 1) / kBlock;
  return static_cast<int>(b < 4096 ? (b > 0 ? b : 1) : 4096);  // grid-stride loops cover the rest
}

// act(z) for the element-wise activations (softmax has its own kernel). relu keeps NaN.
template <class T>
__device__ T activate(T z, Activation act) {
  const T alpha = static_cast<T>(::tl::dense::kSeluAlpha);
  const T scale = static_cast<T>(::tl::dense::kSeluScale);
  switch (act) {
    case Activation::relu: return !(z <= T(0)) ? z : T(0);
    case Activation::sigmoid: return T(1) / (T(1) + exp(-z));
    case Activation::tanh: return tanh(z);
    case Activation::elu: return z > T(0) ? z : expm1(z);
    case Activation::selu: return scale * (z > T(0) ? z : alpha * expm1(z));
    case Activation::softplus: return z > T(0) ? z + log1p(exp(-z)) : log1p(exp(z));
    default: return z;
  }
}

// grad * act'(out) for the element-wise activations, the derivative taken from the output.
template <class T>
__device__ T derivative(T o, T g, Activation act) {
  const T alpha = static_cast<T>(::tl::dense::kSeluAlpha);
  const T scale = static_cast<T>(::tl::dense::kSeluScale);
  switch (act) {
    case Activation::relu: return o > T(0) ? g : T(0);
    case Activation::sigmoid: return g * (o * (T(1) - o));
    case Activation::tanh: return g * (T(1) - o * o);
    case Activation::elu: return o > T(0) ? g : g * (o + T(1));
    case Activation::selu: return o > T(0) ? g * scale : g * (o + scale * alpha);
    case Activation::softplus: return g * -expm1(-o);
    default: return g;
  }
}

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

// y = act(y + bias) element-wise, grid-stride (bias may be null).
template <class T>
__global__ void epilogue_kernel(T* y, int64_t n, int64_t cols, const T* bias, Activation act) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n * cols; e += stride) {
    const T z = bias ? y[e] + bias[e % cols] : y[e];
    y[e] = activate(z, act);
  }
}

// Row-wise softmax of y + bias, max-subtracted: one warp per row.
template <class T>
__global__ void softmax_kernel(T* y, int64_t n, int64_t cols, const T* bias) {
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (row >= n) return;  // the whole warp leaves together
  T* r = y + row * cols;
  T m = static_cast<T>(-INFINITY);
  for (int64_t j = lane; j < cols; j += 32) {
    const T z = bias ? r[j] + bias[j] : r[j];
    r[j] = z;
    m = z > m ? z : m;
  }
  m = warp_max(m);
  T s = 0;
  for (int64_t j = lane; j < cols; j += 32) {
    const T e = exp(r[j] - m);
    r[j] = e;
    s += e;
  }
  s = warp_sum(s);
  for (int64_t j = lane; j < cols; j += 32) r[j] /= s;
}

// delta = grad * act'(out) (written unless delta is grad: linear) and, with colsum, its column
// sums: blocks of 32 columns (one per lane) x 8 row groups; each thread walks its rows, the
// block adds its 8 partial sums in shared memory, and blocks along y add theirs atomically.
template <class T>
__global__ void delta_kernel(const T* out, const T* grad, int64_t n, int64_t cols, Activation act,
                             T* delta, T* colsum) {
  __shared__ T red[kBlock];
  const int lane = threadIdx.x % kColumns, group = threadIdx.x / kColumns;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kColumns + lane;
  T s = 0;
  if (col < cols)
    for (int64_t r = static_cast<int64_t>(blockIdx.y) * kWarps + group; r < n; r += static_cast<int64_t>(gridDim.y) * kWarps) {
      const int64_t e = r * cols + col;
      const T d = derivative(out[e], grad[e], act);
      if (delta != grad) delta[e] = d;
      s += d;
    }
  red[threadIdx.x] = s;
  __syncthreads();
  if (group == 0 && col < cols && colsum) {
    T total = 0;
    for (int g = 0; g < kWarps; ++g) total += red[g * kColumns + lane];
    atomicAdd(&colsum[col], total);
  }
}

// delta = out * (grad - sum(grad * out)) for softmax rows: one warp per row.
template <class T>
__global__ void softmax_delta_kernel(const T* out, const T* grad, int64_t n, int64_t cols, T* delta) {
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarps + threadIdx.x / 32;
  if (row >= n) return;
  const T* o = out + row * cols;
  const T* g = grad + row * cols;
  T s = 0;
  for (int64_t j = lane; j < cols; j += 32) s += g[j] * o[j];
  s = warp_sum(s);
  for (int64_t j = lane; j < cols; j += 32) delta[row * cols + j] = o[j] * (g[j] - s);
}

void check_args(int64_t n, int64_t d_in, int64_t d_out) {
  if (n < 0) throw std::invalid_argument("dense: negative number of samples");
  if (d_in < 1) throw std::invalid_argument("dense: the number of input features must be >= 1");
  if (d_out < 1) throw std::invalid_argument("dense: the number of units must be >= 1");
}

int rows_grid(int64_t n) { return static_cast<int>((n + kWarps - 1) / kWarps); }

// Column-sum launch: 32 columns per block along x; along y enough blocks for ~64 rows each.
dim3 colsum_grid(int64_t n, int64_t cols) {
  const int64_t gy = (n + 63) / 64;
  return dim3(static_cast<unsigned>((cols + kColumns - 1) / kColumns),
              static_cast<unsigned>(gy < 1024 ? (gy > 0 ? gy : 1) : 1024));
}

}  // namespace

template <class T>
void epilogue(T* y, int64_t rows, int64_t cols, const T* bias, Activation act) {
  if (rows == 0) return;
  if (act == Activation::softmax) {
    TL_LAUNCH(softmax_kernel<T>, rows_grid(rows), kBlock, 0, blas::stream(), y, rows, cols, bias);
    check_launch("softmax_kernel");
  } else if (act != Activation::linear || bias != nullptr) {
    TL_LAUNCH(epilogue_kernel<T>, grid_for(rows * cols), kBlock, 0, blas::stream(), y, rows, cols,
              bias, act);
    check_launch("epilogue_kernel");
  }
}

template <class T>
void delta(const T* out, const T* grad, int64_t rows, int64_t cols, Activation act, T* delta,
           T* colsum) {
  if (rows == 0) return;
  if (act == Activation::softmax) {
    TL_LAUNCH(softmax_delta_kernel<T>, rows_grid(rows), kBlock, 0, blas::stream(), out, grad,
              rows, cols, delta);
    check_launch("softmax_delta_kernel");
  }
  if (colsum != nullptr || !(act == Activation::linear || act == Activation::softmax)) {
    // softmax: delta is ready, only its column sums are taken (act linear, in place).
    const bool ready = act == Activation::softmax;
    TL_LAUNCH(delta_kernel<T>, colsum_grid(rows, cols), kBlock, 0, blas::stream(), out,
              ready ? delta : grad, rows, cols, ready ? Activation::linear : act, delta, colsum);
    check_launch("delta_kernel");
  }
}

template <class T>
void forward(const T* x, int64_t n, int64_t d_in, const T* kernel, int64_t d_out, const T* bias,
             Activation act, T* out, int) {
  check_args(n, d_in, d_out);
  if (n == 0) return;
  blas::gemm<T>(false, false, n, d_out, d_in, T(1), x, d_in, kernel, d_out, T(0), out, d_out);
  epilogue(out, n, d_out, bias, act);
}

template <class T>
void backward(const T* x, int64_t n, int64_t d_in, const T* kernel, int64_t d_out, const T* out,
              const T* grad_out, Activation act, T* dx, T* dkernel, T* dbias, int) {
  check_args(n, d_in, d_out);
  if (dbias) check(cudaMemsetAsync(dbias, 0, d_out * sizeof(T), blas::stream()), "cudaMemsetAsync");
  if (n == 0) {
    check(cudaMemsetAsync(dkernel, 0, d_in * d_out * sizeof(T), blas::stream()), "cudaMemsetAsync");
    return;
  }
  // linear: delta is grad_out itself (only the bias sums are taken).
  const bool identity = act == Activation::linear;
  blas::Buffer<T> buffer(identity ? 0 : n * d_out);
  T* d = identity ? const_cast<T*>(grad_out) : buffer.get();
  delta(out, grad_out, n, d_out, act, d, dbias);
  blas::gemm<T>(true, false, d_in, d_out, n, T(1), x, d_in, d, d_out, T(0), dkernel, d_out);
  if (dx) blas::gemm<T>(false, true, n, d_in, d_out, T(1), d, d_out, kernel, d_out, T(0), dx, d_in);
}

#define TL_INSTANTIATE_DENSE_PASSES(T)                                                     \
  template void epilogue<T>(T*, int64_t, int64_t, const T*, Activation);                   \
  template void delta<T>(const T*, const T*, int64_t, int64_t, Activation, T*, T*);
TL_INSTANTIATE_DENSE(float)
TL_INSTANTIATE_DENSE(double)
TL_INSTANTIATE_DENSE_PASSES(float)
TL_INSTANTIATE_DENSE_PASSES(double)

}  // namespace tl::cuda::dense
