#include "cuda_compat.cuh"
#include "gpu_blas.cuh"
#include "rnn.cuh"

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <vector>

namespace tl::cuda::rnn {
namespace {

using ::tl::rnn::Activation;
using ::tl::rnn::Cell;
using ::tl::rnn::Slope;

constexpr int kBlock = 128;  // threads per block of the element-wise kernels
constexpr int kColumns = 32;  // columns of a column-sum block (one per lane)
constexpr int kGroups = kBlock / kColumns;

int grid_for(int64_t work) {
  const int64_t b = (work + kBlock - 1) / kBlock;
  return static_cast<int>(b < 4096 ? (b > 0 ? b : 1) : 4096);  // grid-stride loops cover the rest
}

// One step's arguments, passed by value to every kernel of the step.
template <class T>
struct Args {
  int64_t n = 0, t = 0, h = 0, W = 0, DW = 0;
  int64_t time = 0, k = 0;          // the time index and the processing step
  int64_t prev_h = 0, prev_c = 0;   // workspace columns
  int64_t rec_ld = 0;               // G h: row stride of rec
  Activation act = Activation::tanh, rec_act = Activation::sigmoid;
  Slope<T> slope_act{}, slope_rec{};  // act' and recurrent_act' from the outputs
  bool return_sequences = true, zero_output_for_mask = false;
  T* ws = nullptr;
  const T* bias_in = nullptr;   // (gh), zeros without bias
  const T* bias_rec = nullptr;  // GRU reset_after (gh)
  const T* rec = nullptr;       // n x G h recurrent products
  T* state = nullptr;           // n x h: h forward, dL/dh backward
  T* carry = nullptr;           // n x h: LSTM c forward, dc backward
  T* aux = nullptr;             // n x h: GRU reset_before q forward, dq backward
  const T* rmask_h = nullptr;   // GRU reset_before: the h gate's recurrent dropout mask
  const bool* mask = nullptr;
  T* outputs = nullptr;
  const T* d_outputs = nullptr;
  T* pending = nullptr;         // n x h: output gradient carried over masked steps
  T* delta = nullptr;           // n t x DW
};

template <class T>
__device__ T activate(T z, Activation act) {
  switch (act) {
    case Activation::relu: return z < T(0) ? T(0) : z;  // keeps NaN
    case Activation::sigmoid: return T(1) / (T(1) + exp(-z));
    case Activation::tanh: return tanh(z);
    case Activation::hard_sigmoid: {
      T v = z + T(3);
      v = v < T(0) ? T(0) : v;
      v = v > T(6) ? T(6) : v;
      return v / T(6);
    }
    default: return z;
  }
}

template <class T>
__device__ bool used(const Args<T>& a, int64_t i) {
  return a.mask == nullptr || a.mask[i * a.t + a.time];
}

// The output of step k (Keras' rnn(): a masked step repeats the previous output, zeros before
// the first used step, or gives zeros with zero_output_for_mask). The previous output of
// this (row, unit) was written by this same thread index in the previous step's launch.
template <class T>
__device__ void write_output(const Args<T>& a, int64_t i, int64_t j, bool use, T value) {
  T* dst = a.return_sequences ? a.outputs + (i * a.t + a.k) * a.h + j : a.outputs + i * a.h + j;
  if (use) *dst = value;
  else if (a.zero_output_for_mask || (a.return_sequences && a.k == 0)) *dst = T(0);
  else if (a.return_sequences) *dst = *(dst - a.h);
}

// The output gradient of step k for (row, unit), following write_output backwards: masked
// steps hand it on to the previous output (`pending`), or drop it with zero_output_for_mask.
template <class T>
__device__ T output_gradient(const Args<T>& a, int64_t i, int64_t j, int64_t e, bool use) {
  T g = T(0);
  if (a.d_outputs) {
    if (a.return_sequences) g = a.d_outputs[(i * a.t + a.k) * a.h + j];
    else if (a.k == a.t - 1) g = a.d_outputs[i * a.h + j];
  }
  if (a.mask == nullptr) return g;
  const T total = a.pending[e] + g;
  a.pending[e] = use || a.zero_output_for_mask ? T(0) : total;
  return use ? total : T(0);
}

#define TL_RNN_FOR_EACH(a)                                                         \
  const int64_t tl_stride = static_cast<int64_t>(gridDim.x) * blockDim.x;          \
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;    \
       e < (a).n * (a).h; e += tl_stride)

// --- forward ------------------------------------------------------------------------------

template <class T>
__global__ void simple_forward_kernel(Args<T> a) {
  TL_RNN_FOR_EACH(a) {
    const int64_t i = e / a.h, j = e % a.h;
    T* w = a.ws + (i * a.t + a.time) * a.W;
    w[a.prev_h + j] = a.state[e];
    const bool use = used(a, i);
    if (use) {
      const T o = activate(w[j] + a.bias_in[j] + a.rec[i * a.rec_ld + j], a.act);
      w[j] = o;
      a.state[e] = o;
    }
    write_output(a, i, j, use, a.state[e]);
  }
}

template <class T>
__global__ void lstm_forward_kernel(Args<T> a) {
  TL_RNN_FOR_EACH(a) {
    const int64_t i = e / a.h, j = e % a.h, h = a.h;
    T* w = a.ws + (i * a.t + a.time) * a.W;
    const T* rec = a.rec + i * a.rec_ld;
    const T cp = a.carry[e];
    w[a.prev_h + j] = a.state[e];
    w[a.prev_c + j] = cp;
    const bool use = used(a, i);
    if (use) {
      const T ig = activate(w[j] + a.bias_in[j] + rec[j], a.rec_act);
      const T fg = activate(w[h + j] + a.bias_in[h + j] + rec[h + j], a.rec_act);
      const T gg = activate(w[2 * h + j] + a.bias_in[2 * h + j] + rec[2 * h + j], a.act);
      const T og = activate(w[3 * h + j] + a.bias_in[3 * h + j] + rec[3 * h + j], a.rec_act);
      w[j] = ig;
      w[h + j] = fg;
      w[2 * h + j] = gg;
      w[3 * h + j] = og;
      const T c = fg * cp + ig * gg;
      a.carry[e] = c;
      a.state[e] = og * activate(c, a.act);
    }
    write_output(a, i, j, use, a.state[e]);
  }
}

template <class T>
__global__ void gru_forward_kernel(Args<T> a) {  // reset_after
  TL_RNN_FOR_EACH(a) {
    const int64_t i = e / a.h, j = e % a.h, h = a.h;
    T* w = a.ws + (i * a.t + a.time) * a.W;
    const T* rec = a.rec + i * a.rec_ld;
    const T hp = a.state[e];
    w[a.prev_h + j] = hp;
    const bool use = used(a, i);
    if (use) {
      const T z = activate(w[j] + (a.bias_in[j] + a.bias_rec[j]) + rec[j], a.rec_act);
      const T r = activate(w[h + j] + (a.bias_in[h + j] + a.bias_rec[h + j]) + rec[h + j], a.rec_act);
      const T rech = rec[2 * h + j] + a.bias_rec[2 * h + j];
      const T hh = activate(w[2 * h + j] + a.bias_in[2 * h + j] + r * rech, a.act);
      w[j] = z;
      w[h + j] = r;
      w[2 * h + j] = hh;
      w[3 * h + j] = rech;
      a.state[e] = z * hp + (T(1) - z) * hh;
    }
    write_output(a, i, j, use, a.state[e]);
  }
}

template <class T>
__global__ void gru_gates_forward_kernel(Args<T> a) {  // reset_before, part 1: z, r, q
  TL_RNN_FOR_EACH(a) {
    const int64_t i = e / a.h, j = e % a.h, h = a.h;
    T* w = a.ws + (i * a.t + a.time) * a.W;
    const T* rec = a.rec + i * a.rec_ld;
    const T hp = a.state[e];
    w[a.prev_h + j] = hp;
    if (!used(a, i)) {
      a.aux[e] = T(0);
      continue;
    }
    const T z = activate(w[j] + a.bias_in[j] + rec[j], a.rec_act);
    const T r = activate(w[h + j] + a.bias_in[h + j] + rec[h + j], a.rec_act);
    w[j] = z;
    w[h + j] = r;
    a.aux[e] = r * (a.rmask_h ? hp * a.rmask_h[e] : hp);
  }
}

template <class T>
__global__ void gru_state_forward_kernel(Args<T> a) {  // reset_before, part 2: hh = act(x_h + q U_h)
  TL_RNN_FOR_EACH(a) {
    const int64_t i = e / a.h, j = e % a.h, h = a.h;
    T* w = a.ws + (i * a.t + a.time) * a.W;
    const bool use = used(a, i);
    if (use) {
      const T* rec = a.rec + i * a.rec_ld;
      const T hh = activate(w[2 * h + j] + a.bias_in[2 * h + j] + rec[2 * h + j], a.act);
      w[2 * h + j] = hh;
      a.state[e] = w[j] * a.state[e] + (T(1) - w[j]) * hh;
    }
    write_output(a, i, j, use, a.state[e]);
  }
}

// --- backward -----------------------------------------------------------------------------

// The delta row of (row, time) and the total dL/dh after the step (output gradient added);
// a masked row gets zeros in its delta entries of unit j.
template <class T>
__device__ T* delta_row(const Args<T>& a, int64_t i) {
  return a.delta + (i * a.t + a.time) * a.DW;
}

template <class T>
__device__ void zero_entries(T* d, int64_t j, int64_t h, int count) {
  for (int g = 0; g < count; ++g) d[g * h + j] = T(0);
}

template <class T>
__global__ void simple_backward_kernel(Args<T> a) {
  TL_RNN_FOR_EACH(a) {
    const int64_t i = e / a.h, j = e % a.h;
    const bool use = used(a, i);
    const T g = output_gradient(a, i, j, e, use);
    T* d = delta_row(a, i);
    if (!use) {
      d[j] = T(0);
      continue;
    }
    const T* w = a.ws + (i * a.t + a.time) * a.W;
    d[j] = (a.state[e] + g) * a.slope_act(w[j]);
    a.state[e] = T(0);
  }
}

template <class T>
__global__ void lstm_backward_kernel(Args<T> a) {
  TL_RNN_FOR_EACH(a) {
    const int64_t i = e / a.h, j = e % a.h, h = a.h;
    const bool use = used(a, i);
    const T g = output_gradient(a, i, j, e, use);
    T* d = delta_row(a, i);
    if (!use) {
      zero_entries(d, j, h, 4);
      continue;
    }
    const T* w = a.ws + (i * a.t + a.time) * a.W;
    const T ig = w[j], fg = w[h + j], gg = w[2 * h + j], og = w[3 * h + j], cp = w[a.prev_c + j];
    const T ac = activate(fg * cp + ig * gg, a.act);
    const T dh = a.state[e] + g;
    const T dc = a.carry[e] + dh * og * a.slope_act(ac);
    d[j] = dc * gg * a.slope_rec(ig);
    d[h + j] = dc * cp * a.slope_rec(fg);
    d[2 * h + j] = dc * ig * a.slope_act(gg);
    d[3 * h + j] = dh * ac * a.slope_rec(og);
    a.carry[e] = dc * fg;
    a.state[e] = T(0);
  }
}

template <class T>
__global__ void gru_backward_kernel(Args<T> a) {  // reset_after
  TL_RNN_FOR_EACH(a) {
    const int64_t i = e / a.h, j = e % a.h, h = a.h;
    const bool use = used(a, i);
    const T g = output_gradient(a, i, j, e, use);
    T* d = delta_row(a, i);
    if (!use) {
      zero_entries(d, j, h, 4);
      continue;
    }
    const T* w = a.ws + (i * a.t + a.time) * a.W;
    const T z = w[j], r = w[h + j], hh = w[2 * h + j], rech = w[3 * h + j], hp = w[a.prev_h + j];
    const T dh = a.state[e] + g;
    const T dah = dh * (T(1) - z) * a.slope_act(hh);
    d[j] = dh * (hp - hh) * a.slope_rec(z);
    d[h + j] = dah * rech * a.slope_rec(r);
    d[2 * h + j] = dah;
    d[3 * h + j] = dah * r;
    a.state[e] = dh * z;
  }
}

template <class T>
__global__ void gru_state_backward_kernel(Args<T> a) {  // reset_before, part 1
  TL_RNN_FOR_EACH(a) {
    const int64_t i = e / a.h, j = e % a.h, h = a.h;
    const bool use = used(a, i);
    const T g = output_gradient(a, i, j, e, use);
    T* d = delta_row(a, i);
    if (!use) {
      zero_entries(d, j, h, 4);
      continue;
    }
    const T* w = a.ws + (i * a.t + a.time) * a.W;
    const T z = w[j], hh = w[2 * h + j], hp = w[a.prev_h + j];
    const T dh = a.state[e] + g;
    d[j] = dh * (hp - hh) * a.slope_rec(z);
    d[2 * h + j] = dh * (T(1) - z) * a.slope_act(hh);
    a.state[e] = dh * z;
  }
}

template <class T>
__global__ void gru_gates_backward_kernel(Args<T> a) {  // reset_before, part 2, aux = dq
  TL_RNN_FOR_EACH(a) {
    const int64_t i = e / a.h, j = e % a.h, h = a.h;
    if (!used(a, i)) continue;
    T* d = delta_row(a, i);
    const T* w = a.ws + (i * a.t + a.time) * a.W;
    const T r = w[h + j], hp = w[a.prev_h + j];
    const T m = a.rmask_h ? a.rmask_h[e] : T(1);
    const T hm = hp * m, dq = a.aux[e];
    d[h + j] = dq * hm * a.slope_rec(r);
    d[3 * h + j] = r * hm;
    a.state[e] += dq * r * m;
  }
}

// --- small helpers ------------------------------------------------------------------------

template <class T>
__global__ void mask_rows_kernel(const T* x, const T* m, int64_t n, int64_t t, int64_t width,
                                 int64_t ld, T* out) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < n * t * width;
       e += stride) {
    const int64_t row = e / width, j = e % width, i = row / t;
    out[e] = x[row * ld + j] * m[i * width + j];
  }
}

// y += x * m (m null: y += x), element-wise.
template <class T>
__global__ void add_kernel(T* y, const T* x, const T* m, int64_t count) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < count; e += stride)
    y[e] += m ? x[e] * m[e] : x[e];
}

// colsum[j] += sum of the rows of x (rows x cols): blocks of 32 columns (one per lane) x
// kGroups row groups; the block adds its partial sums in shared memory, blocks along y add
// theirs atomically.
template <class T>
__global__ void colsum_kernel(const T* x, int64_t rows, int64_t cols, T* colsum) {
  __shared__ T red[kBlock];
  const int lane = threadIdx.x % kColumns, group = threadIdx.x / kColumns;
  const int64_t col = static_cast<int64_t>(blockIdx.x) * kColumns + lane;
  T s = 0;
  if (col < cols)
    for (int64_t r = static_cast<int64_t>(blockIdx.y) * kGroups + group; r < rows;
         r += static_cast<int64_t>(gridDim.y) * kGroups)
      s += x[r * cols + col];
  red[threadIdx.x] = s;
  __syncthreads();
  if (group == 0 && col < cols) {
    T total = 0;
    for (int g = 0; g < kGroups; ++g) total += red[g * kColumns + lane];
    atomicAdd(&colsum[col], total);
  }
}

// The bias gradients from the delta column sums: the input bias d(gh); reset_after's
// recurrent bias d_z, d_r, d_rec_h.
template <class T>
__global__ void bias_kernel(const T* colsum, int64_t gh, int64_t h, bool gru_after, T* dbias) {
  const int64_t j = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (j >= gh) return;
  dbias[j] = colsum[j];
  if (gru_after) dbias[gh + j] = colsum[j < 2 * h ? j : j + h];
}

// The GEMM stages' device (rnn.hpp): cuBLAS and the helper kernels; scratch lives until the
// call returns (stream-ordered frees).
struct Gpu {
  std::vector<std::unique_ptr<blas::Buffer<unsigned char>>> buffers;

  template <class T>
  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda,
            const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
    blas::gemm<T>(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  template <class T>
  void mask_rows(const T* x, const T* m, int64_t n, int64_t t, int64_t width, int64_t ld, T* out) {
    TL_LAUNCH(mask_rows_kernel<T>, grid_for(n * t * width), kBlock, 0, blas::stream(), x, m, n, t,
              width, ld, out);
    check_launch("mask_rows_kernel");
  }
  template <class T>
  void add(T* y, const T* x, int64_t count) {
    TL_LAUNCH(add_kernel<T>, grid_for(count), kBlock, 0, blas::stream(), y, x,
              static_cast<const T*>(nullptr), count);
    check_launch("add_kernel");
  }
  template <class T>
  T* scratch(int64_t count) {
    buffers.push_back(std::make_unique<blas::Buffer<unsigned char>>(count * sizeof(T)));
    return reinterpret_cast<T*>(buffers.back()->get());
  }
};

void copy(void* dst, const void* src, int64_t bytes) {
  check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, blas::stream()), "cudaMemcpyAsync");
}

void zero(void* dst, int64_t bytes) {
  check(cudaMemsetAsync(dst, 0, bytes, blas::stream()), "cudaMemsetAsync");
}

template <class T>
Args<T> step_args(const Spec& s) {
  Args<T> a;
  a.n = s.n;
  a.t = s.t;
  a.h = s.h;
  a.W = s.workspace_width();
  a.DW = s.delta_width();
  a.prev_h = s.prev_h();
  a.prev_c = s.prev_c();
  a.rec_ld = s.gh();
  a.act = s.activation;
  a.rec_act = s.recurrent_activation;
  a.slope_act = ::tl::rnn::slope<T>(s.activation);
  a.slope_rec = ::tl::rnn::slope<T>(s.recurrent_activation);
  a.return_sequences = s.return_sequences;
  a.zero_output_for_mask = s.zero_output_for_mask;
  return a;
}

template <class T>
void launch(void (*kernel)(Args<T>), const Args<T>& a, const char* name) {
  TL_LAUNCH(kernel, grid_for(a.n * a.h), kBlock, 0, blas::stream(), a);
  check_launch(name);
}

// rec[:, g0 h : g1 h] = (a * m_g) @ U_g, over the batch.
template <class T>
void recurrent_forward(const Spec& s, Gpu& gpu, const T* U, const T* a, const T* rmasks, int g0,
                       int g1, T* rec, T* tmp) {
  const int64_t n = s.n, h = s.h, gh = s.gh();
  auto product = [&](const T* A, int ga, int gb) {
    blas::gemm<T>(false, false, n, (gb - ga) * h, h, T(1), A, h, U + ga * h, gh, T(0),
                  rec + ga * h, gh);
  };
  if (!rmasks) return product(a, g0, g1);
  const int groups = s.recurrent_dropout_groups;
  for (int g = g0; g < g1; ++g) {
    if (groups == 1 && g > g0) break;
    gpu.mask_rows(a, ::tl::rnn::gate_mask(rmasks, groups, g, n, h), n, 1, h, h, tmp);
    product(tmp, g, groups == 1 ? g1 : g + 1);
  }
}

// dh += sum over gates [g0, g1) of (delta_g @ U_g^T) * m_g at one step.
template <class T>
void recurrent_backward(const Spec& s, const T* U, const T* delta, const T* rmasks, int g0, int g1,
                        T* dh, T* tmp) {
  const int64_t n = s.n, h = s.h, gh = s.gh(), lda = s.t * s.delta_width();
  ::tl::rnn::for_each_gate_run(s, g0, g1, [&](int g, int end) {
    const T* d = delta + ::tl::rnn::rec_delta_col(s, g);
    const int64_t k = (end - g) * h;
    if (!rmasks) {
      blas::gemm<T>(false, true, n, h, k, T(1), d, lda, U + g * h, gh, T(1), dh, h);
      return;
    }
    blas::gemm<T>(false, true, n, h, k, T(1), d, lda, U + g * h, gh, T(0), tmp, h);
    const T* m = ::tl::rnn::gate_mask(rmasks, s.recurrent_dropout_groups, g, n, h);
    TL_LAUNCH(add_kernel<T>, grid_for(n * h), kBlock, 0, blas::stream(), dh,
              static_cast<const T*>(tmp), m, n * h);
    check_launch("add_kernel");
  });
}

}  // namespace

template <class T>
void forward(const Spec& s, const Inputs<T>& in_arg, const Outputs<T>& out, int) {
  s.check();
  if (s.n == 0) return;
  const int64_t n = s.n, h = s.h, t = s.t, gh = s.gh();
  Gpu gpu;
  Inputs<T> in = in_arg;
  if (!s.has_bias) {
    T* zeros = gpu.scratch<T>(s.bias_size());
    zero(zeros, s.bias_size() * sizeof(T));
    in.bias = zeros;
  }
  ::tl::rnn::project_inputs(s, in, out.workspace, gpu);
  T* state = gpu.scratch<T>(n * h);
  T* carry = gpu.scratch<T>(n * h);
  T* aux = gpu.scratch<T>(n * h);
  T* tmp = gpu.scratch<T>(n * h);
  T* rec = gpu.scratch<T>(n * gh);
  if (in.h0) copy(state, in.h0, n * h * sizeof(T));
  else zero(state, n * h * sizeof(T));
  if (in.c0) copy(carry, in.c0, n * h * sizeof(T));
  else zero(carry, n * h * sizeof(T));
  if (!s.return_sequences) zero(out.outputs, n * h * sizeof(T));

  Args<T> a = step_args<T>(s);
  a.bias_in = in.bias;
  a.bias_rec = s.gru_after() ? in.bias + gh : nullptr;
  a.rec = rec;
  a.state = state;
  a.carry = carry;
  a.aux = aux;
  a.rmask_h = s.gru_before() ? ::tl::rnn::gate_mask(in.recurrent_dropout, s.recurrent_dropout_groups,
                                                    2, n, h)
                             : nullptr;
  a.mask = in.mask;
  a.outputs = out.outputs;
  a.ws = out.workspace;
  const T* rm = in.recurrent_dropout;
  const T* U = in.recurrent_kernel;
  for (int64_t k = 0; k < t; ++k) {
    a.k = k;
    a.time = s.go_backwards ? t - 1 - k : k;
    switch (s.cell) {
      case Cell::simple_rnn:
        recurrent_forward(s, gpu, U, state, rm, 0, 1, rec, tmp);
        launch(simple_forward_kernel<T>, a, "simple_forward_kernel");
        break;
      case Cell::lstm:
        recurrent_forward(s, gpu, U, state, rm, 0, 4, rec, tmp);
        launch(lstm_forward_kernel<T>, a, "lstm_forward_kernel");
        break;
      case Cell::gru:
        if (s.reset_after) {
          recurrent_forward(s, gpu, U, state, rm, 0, 3, rec, tmp);
          launch(gru_forward_kernel<T>, a, "gru_forward_kernel");
        } else {
          recurrent_forward(s, gpu, U, state, rm, 0, 2, rec, tmp);
          launch(gru_gates_forward_kernel<T>, a, "gru_gates_forward_kernel");
          recurrent_forward(s, gpu, U, static_cast<const T*>(aux), static_cast<const T*>(nullptr),
                            2, 3, rec, tmp);
          launch(gru_state_forward_kernel<T>, a, "gru_state_forward_kernel");
        }
        break;
    }
  }
  copy(out.h, state, n * h * sizeof(T));
  if (s.cell == Cell::lstm) copy(out.c, carry, n * h * sizeof(T));
}

template <class T>
void backward(const Spec& s, const Inputs<T>& in, const T* workspace, const Gradients<T>& grad,
              int) {
  s.check();
  const int64_t n = s.n, h = s.h, t = s.t, gh = s.gh(), DW = s.delta_width();
  if (n == 0) {
    zero(grad.dkernel, s.d * gh * sizeof(T));
    zero(grad.drecurrent_kernel, h * gh * sizeof(T));
    if (grad.dbias) zero(grad.dbias, s.bias_size() * sizeof(T));
    return;
  }
  Gpu gpu;
  T* delta = gpu.scratch<T>(n * t * DW);
  T* dh = gpu.scratch<T>(n * h);
  T* dc = gpu.scratch<T>(n * h);
  T* pending = gpu.scratch<T>(n * h);
  T* dq = gpu.scratch<T>(n * h);
  T* tmp = gpu.scratch<T>(n * h);
  if (grad.d_h) copy(dh, grad.d_h, n * h * sizeof(T));
  else zero(dh, n * h * sizeof(T));
  if (grad.d_c && s.cell == Cell::lstm) copy(dc, grad.d_c, n * h * sizeof(T));
  else zero(dc, n * h * sizeof(T));
  zero(pending, n * h * sizeof(T));

  Args<T> a = step_args<T>(s);
  a.ws = const_cast<T*>(workspace);
  a.state = dh;
  a.carry = dc;
  a.aux = dq;
  a.rmask_h = s.gru_before() ? ::tl::rnn::gate_mask(in.recurrent_dropout, s.recurrent_dropout_groups,
                                                    2, n, h)
                             : nullptr;
  a.mask = in.mask;
  a.d_outputs = grad.d_outputs;
  a.pending = pending;
  a.delta = delta;
  const T* rm = in.recurrent_dropout;
  const T* U = in.recurrent_kernel;
  for (int64_t k = t - 1; k >= 0; --k) {
    a.k = k;
    a.time = s.go_backwards ? t - 1 - k : k;
    T* dk = delta + a.time * DW;  // row (0, time); rows of the batch are t * DW apart
    switch (s.cell) {
      case Cell::simple_rnn:
        launch(simple_backward_kernel<T>, a, "simple_backward_kernel");
        recurrent_backward(s, U, static_cast<const T*>(dk), rm, 0, 1, dh, tmp);
        break;
      case Cell::lstm:
        launch(lstm_backward_kernel<T>, a, "lstm_backward_kernel");
        recurrent_backward(s, U, static_cast<const T*>(dk), rm, 0, 4, dh, tmp);
        break;
      case Cell::gru:
        if (s.reset_after) {
          launch(gru_backward_kernel<T>, a, "gru_backward_kernel");
          recurrent_backward(s, U, static_cast<const T*>(dk), rm, 0, 3, dh, tmp);
        } else {
          launch(gru_state_backward_kernel<T>, a, "gru_state_backward_kernel");
          blas::gemm<T>(false, true, n, h, h, T(1), dk + 2 * h, t * DW, U + 2 * h, gh, T(0), dq, h);
          launch(gru_gates_backward_kernel<T>, a, "gru_gates_backward_kernel");
          recurrent_backward(s, U, static_cast<const T*>(dk), rm, 0, 2, dh, tmp);
        }
        break;
    }
  }
  if (grad.dh0) copy(grad.dh0, dh, n * h * sizeof(T));
  if (grad.dc0 && s.cell == Cell::lstm) copy(grad.dc0, dc, n * h * sizeof(T));
  if (grad.dbias) {
    T* colsum = gpu.scratch<T>(DW);
    zero(colsum, DW * sizeof(T));
    const int64_t rows = n * t, gy = (rows + 63) / 64;
    const dim3 grid(static_cast<unsigned>((DW + kColumns - 1) / kColumns),
                    static_cast<unsigned>(gy < 1024 ? gy : 1024));
    TL_LAUNCH(colsum_kernel<T>, grid, kBlock, 0, blas::stream(), static_cast<const T*>(delta), rows,
              DW, colsum);
    check_launch("colsum_kernel");
    TL_LAUNCH(bias_kernel<T>, static_cast<int>((gh + kBlock - 1) / kBlock), kBlock, 0,
              blas::stream(), static_cast<const T*>(colsum), gh, h, s.gru_after(), grad.dbias);
    check_launch("bias_kernel");
  }
  ::tl::rnn::input_gradients(s, in, static_cast<const T*>(delta), grad, gpu);
  ::tl::rnn::recurrent_gradients(s, in, workspace, static_cast<const T*>(delta),
                                 grad.drecurrent_kernel, gpu);
}

TL_INSTANTIATE_RNN(float)
TL_INSTANTIATE_RNN(double)

}  // namespace tl::cuda::rnn
