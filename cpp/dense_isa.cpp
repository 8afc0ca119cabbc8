// The inner loops of the dense kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags). Like kmeans_isa.cpp, no std::
// templates are instantiated here. float sigmoid and tanh are vmath.hpp's vector functions:
// libm's tanhf cost 14-17 ns an element, and LeNet-5's tanh convolution epilogues (this
// epilogue) took 3.0 ms of a 3.5 ms forward pass at batch 32. The other transcendental
// functions are the C library's (expf, expm1f, log1pf), called per element: on the MLP's
// 10-class softmax they cost a few microseconds next to the GEMM's hundreds.
#include <math.h>

#include <cstdint>

#include "dense.hpp"
#include "vmath.hpp"

namespace tl::dense::TL_ISA_NS {
namespace {

inline float c_exp(float x) { return expf(x); }
inline double c_exp(double x) { return exp(x); }
inline float c_expm1(float x) { return expm1f(x); }
inline double c_expm1(double x) { return expm1(x); }
inline float c_log1p(float x) { return log1pf(x); }
inline double c_log1p(double x) { return log1p(x); }

namespace vm = ::tl::TL_ISA_NS::vmath;

// y = f(y) over n values, in vectors (the last one lane-masked).
template <class T, class F>
inline void map_values(T* y, int64_t n, F f) {
  vm::vector_loop<T>(n, [&](int64_t j, int64_t m) { vm::store(y + j, f(vm::load(y + j, m)), m); });
}

// y = max(0, y + b) (relu) or y + b (linear) along a row, in vectors, the last one masked (a
// convolution's rows are its few filters: LeNet-5's first layer has 6). The relu select
// keeps a NaN (the compare is false).
template <class T, bool kRelu>
void bias_relu_row(T* y, int64_t cols, const T* bias) {
  using V = vm::Vec<T>;
  vm::vector_loop<T>(cols, [&](int64_t j, int64_t m) {
    V v = vm::load(y + j, m);
    if (bias) v += vm::load(bias + j, m);
    if constexpr (kRelu) v = v < 0 ? V{} : v;
    vm::store(y + j, v, m);
  });
}

// Rows of at most kSpan / 2 columns (a convolution's few filters, a small output layer) are
// taken in blocks of whole rows up to kSpan values long, so that their element-wise passes
// run in full vectors: LeNet-5's first convolution (32 x 28 x 28 x 6, tanh) spent 90 us of
// its 216 us forward pass and 230 us of its 360 us backward pass in per-row loops of 6.
constexpr int64_t kSpan = 64;

inline int64_t rows_per_block(int64_t cols) { return cols > 0 && cols < kSpan ? kSpan / cols : 1; }

// bias_relu_row over every row, narrow rows a block at a time against the bias repeated.
template <class T, bool kRelu>
void bias_relu_rows(T* y, int64_t rows, int64_t cols, const T* bias) {
  const int64_t per = rows_per_block(cols);
  int64_t r = 0;
  if (per > 1) {
    T pattern[kSpan];
    const T* repeated = nullptr;
    if (bias) {
      for (int64_t j = 0; j < per * cols; ++j) pattern[j] = bias[j % cols];
      repeated = pattern;
    }
    for (; r + per <= rows; r += per) bias_relu_row<T, kRelu>(y + r * cols, per * cols, repeated);
  }
  for (; r < rows; ++r) bias_relu_row<T, kRelu>(y + r * cols, cols, bias);
}

// colsum[j] += the sum of column j of the (rows x cols) matrix d, narrow rows summed a block
// at a time into a block-wide accumulator first.
template <class T>
void column_sums(const T* d, int64_t rows, int64_t cols, T* colsum) {
  const int64_t per = rows_per_block(cols), span = per * cols;
  int64_t r = 0;
  if (per > 1) {
    T acc[kSpan] = {};
    for (; r + per <= rows; r += per) {
      const T* block = d + r * cols;
      for (int64_t j = 0; j < span; ++j) acc[j] += block[j];
    }
    for (int64_t j = 0; j < span; ++j) colsum[j % cols] += acc[j];
  }
  for (; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) colsum[j] += d[r * cols + j];
}

// Row-wise softmax, max-subtracted (a NaN in the row makes the whole row NaN: its exp
// enters the sum).
template <class T>
void softmax_row(T* y, int64_t cols, const T* bias) {
  if (bias)
    for (int64_t j = 0; j < cols; ++j) y[j] += bias[j];
  T m = y[0];
  for (int64_t j = 1; j < cols; ++j) m = y[j] > m ? y[j] : m;
  T s = 0;
  for (int64_t j = 0; j < cols; ++j) {
    const T e = c_exp(y[j] - m);
    y[j] = e;
    s += e;
  }
  for (int64_t j = 0; j < cols; ++j) y[j] /= s;
}

template <class T>
void epilogue(T* y, int64_t rows, int64_t cols, const T* bias, Activation act) {
  if (act == Activation::softmax) {
    for (int64_t r = 0; r < rows; ++r) softmax_row(y + r * cols, cols, bias);
    return;
  }
  if (act == Activation::relu) return bias_relu_rows<T, true>(y, rows, cols, bias);
  if (bias) bias_relu_rows<T, false>(y, rows, cols, bias);
  // The other activations act on each value alone: one pass over the contiguous rows (rows
  // of few columns would leave most vector lanes idle).
  const T alpha = static_cast<T>(kSeluAlpha), scale = static_cast<T>(kSeluScale);
  const int64_t count = rows * cols;
  switch (act) {
    case Activation::sigmoid: return map_values(y, count, [](auto v) { return vm::sigmoid(v); });
    case Activation::tanh: return map_values(y, count, [](auto v) { return vm::tanh_of(v); });
    case Activation::elu:
      for (int64_t j = 0; j < count; ++j) y[j] = y[j] > T(0) ? y[j] : c_expm1(y[j]);
      return;
    case Activation::selu:
      for (int64_t j = 0; j < count; ++j)
        y[j] = scale * (y[j] > T(0) ? y[j] : alpha * c_expm1(y[j]));
      return;
    case Activation::softplus:  // log(1 + e^z) = max(z, 0) + log1p(e^-|z|)
      for (int64_t j = 0; j < count; ++j) {
        const T z = y[j];
        y[j] = z > T(0) ? z + c_log1p(c_exp(-z)) : c_log1p(c_exp(z));
      }
      return;
    default: return;
  }
}

// delta = grad * act'(out), the derivative taken from the output; colsum += its column sums.
// Softmax works per row; the other derivatives act on each value alone, in one pass over the
// contiguous rows. The loops are plain element-wise selects and products, which the compiler
// vectorises.
template <class T>
void delta(const T* out, const T* grad, int64_t rows, int64_t cols, Activation act, T* dl,
           T* colsum) {
  const T alpha = static_cast<T>(kSeluAlpha), scale = static_cast<T>(kSeluScale);
  const T sa = scale * alpha;
  const int64_t n = rows * cols;
  const T* o = out;
  const T* g = grad;
  T* d = dl;
  switch (act) {
    case Activation::linear:
      if (d != g)
        for (int64_t j = 0; j < n; ++j) d[j] = g[j];
      break;
    case Activation::relu:
      for (int64_t j = 0; j < n; ++j) d[j] = o[j] > T(0) ? g[j] : T(0);
      break;
    case Activation::sigmoid:
      for (int64_t j = 0; j < n; ++j) d[j] = g[j] * (o[j] * (T(1) - o[j]));
      break;
    case Activation::tanh:
      for (int64_t j = 0; j < n; ++j) d[j] = g[j] * (T(1) - o[j] * o[j]);
      break;
    case Activation::elu:
      for (int64_t j = 0; j < n; ++j) d[j] = o[j] > T(0) ? g[j] : g[j] * (o[j] + T(1));
      break;
    case Activation::selu:
      for (int64_t j = 0; j < n; ++j) d[j] = o[j] > T(0) ? g[j] * scale : g[j] * (o[j] + sa);
      break;
    case Activation::softplus:  // sigmoid(z) = 1 - e^-out
      for (int64_t j = 0; j < n; ++j) d[j] = g[j] * -c_expm1(-o[j]);
      break;
    case Activation::softmax:
      for (int64_t r = 0; r < rows; ++r) {
        const T* orow = out + r * cols;
        const T* grow = grad + r * cols;
        T* drow = dl + r * cols;
        T s = 0;
        for (int64_t j = 0; j < cols; ++j) s += grow[j] * orow[j];
        for (int64_t j = 0; j < cols; ++j) drow[j] = orow[j] * (grow[j] - s);
      }
      break;
  }
  if (colsum) column_sums(dl, rows, cols, colsum);
}

template <class T>
constexpr Kernels<T> table{epilogue<T>, delta<T>};

}  // namespace

const Kernels<float>& kernels_f32() { return table<float>; }
const Kernels<double>& kernels_f64() { return table<double>; }

}  // namespace tl::dense::TL_ISA_NS
