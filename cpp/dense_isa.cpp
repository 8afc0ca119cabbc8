// The inner loops of the dense kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags). Like kmeans_isa.cpp, no std::
// templates are instantiated here; the transcendental functions are the C library's (expf,
// expm1f, log1pf, tanhf and their double versions), called per element: measured on the
// 784-300-100-10 MLP, the exp-based epilogues cost a few microseconds per call next to the
// GEMM's hundreds (benchmarks/README.md), so a polynomial SIMD exp was not worth its error.
#include <math.h>

#include <cstdint>

#include "dense.hpp"
#include "simd.hpp"

namespace tl::dense::TL_ISA_NS {
namespace {

inline float c_exp(float x) { return expf(x); }
inline double c_exp(double x) { return exp(x); }
inline float c_expm1(float x) { return expm1f(x); }
inline double c_expm1(double x) { return expm1(x); }
inline float c_log1p(float x) { return log1pf(x); }
inline double c_log1p(double x) { return log1p(x); }
inline float c_tanh(float x) { return tanhf(x); }
inline double c_tanh(double x) { return tanh(x); }

// y = max(0, y + b) (relu) or y + b (linear) along a row, in vectors then one lane at a time.
// max(0, v) keeps a NaN v (x86 max returns its second operand on NaN).
template <class T, bool kRelu>
void bias_relu_row(T* y, int64_t cols, const T* bias) {
  using V = ::tl::TL_ISA_NS::simd::Vec<T>;
  using S = ::tl::TL_ISA_NS::simd::Scalar<T>;
  int64_t j = 0;
  const V vzero = V::set1(T(0));
  for (; j + V::width <= cols; j += V::width) {
    V v = V::load(y + j);
    if (bias) v = v + V::load(bias + j);
    if constexpr (kRelu) v = max(vzero, v);
    v.store(y + j);
  }
  for (; j < cols; ++j) {
    S v = S::load(y + j);
    if (bias) v = v + S::load(bias + j);
    if constexpr (kRelu) v = max(S::set1(T(0)), v);
    v.store(y + j);
  }
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
  const T alpha = static_cast<T>(kSeluAlpha), scale = static_cast<T>(kSeluScale);
  for (int64_t r = 0; r < rows; ++r) {
    T* row = y + r * cols;
    switch (act) {
      case Activation::linear: bias_relu_row<T, false>(row, cols, bias); break;
      case Activation::relu: bias_relu_row<T, true>(row, cols, bias); break;
      case Activation::softmax: softmax_row(row, cols, bias); break;
      default:
        if (bias) bias_relu_row<T, false>(row, cols, bias);
        switch (act) {
          case Activation::sigmoid:
            for (int64_t j = 0; j < cols; ++j) row[j] = T(1) / (T(1) + c_exp(-row[j]));
            break;
          case Activation::tanh:
            for (int64_t j = 0; j < cols; ++j) row[j] = c_tanh(row[j]);
            break;
          case Activation::elu:
            for (int64_t j = 0; j < cols; ++j) row[j] = row[j] > T(0) ? row[j] : c_expm1(row[j]);
            break;
          case Activation::selu:
            for (int64_t j = 0; j < cols; ++j)
              row[j] = scale * (row[j] > T(0) ? row[j] : alpha * c_expm1(row[j]));
            break;
          case Activation::softplus:  // log(1 + e^z) = max(z, 0) + log1p(e^-|z|)
            for (int64_t j = 0; j < cols; ++j) {
              const T z = row[j];
              row[j] = z > T(0) ? z + c_log1p(c_exp(-z)) : c_log1p(c_exp(z));
            }
            break;
          default: break;
        }
    }
  }
}

// delta = grad * act'(out), the derivative taken from the output; colsum += its column sums.
// The loops are plain element-wise selects and products, which the compiler vectorises.
template <class T>
void delta(const T* out, const T* grad, int64_t rows, int64_t cols, Activation act, T* dl,
           T* colsum) {
  const T alpha = static_cast<T>(kSeluAlpha), scale = static_cast<T>(kSeluScale);
  const T sa = scale * alpha;
  for (int64_t r = 0; r < rows; ++r) {
    const T* o = out + r * cols;
    const T* g = grad + r * cols;
    T* d = dl + r * cols;
    switch (act) {
      case Activation::linear:
        if (d != g)
          for (int64_t j = 0; j < cols; ++j) d[j] = g[j];
        break;
      case Activation::relu:
        for (int64_t j = 0; j < cols; ++j) d[j] = o[j] > T(0) ? g[j] : T(0);
        break;
      case Activation::sigmoid:
        for (int64_t j = 0; j < cols; ++j) d[j] = g[j] * (o[j] * (T(1) - o[j]));
        break;
      case Activation::tanh:
        for (int64_t j = 0; j < cols; ++j) d[j] = g[j] * (T(1) - o[j] * o[j]);
        break;
      case Activation::elu:
        for (int64_t j = 0; j < cols; ++j) d[j] = o[j] > T(0) ? g[j] : g[j] * (o[j] + T(1));
        break;
      case Activation::selu:
        for (int64_t j = 0; j < cols; ++j) d[j] = o[j] > T(0) ? g[j] * scale : g[j] * (o[j] + sa);
        break;
      case Activation::softplus:  // sigmoid(z) = 1 - e^-out
        for (int64_t j = 0; j < cols; ++j) d[j] = g[j] * -c_expm1(-o[j]);
        break;
      case Activation::softmax: {
        T s = 0;
        for (int64_t j = 0; j < cols; ++j) s += g[j] * o[j];
        for (int64_t j = 0; j < cols; ++j) d[j] = o[j] * (g[j] - s);
        break;
      }
    }
    if (colsum)
      for (int64_t j = 0; j < cols; ++j) colsum[j] += d[j];
  }
}

template <class T>
constexpr Kernels<T> table{epilogue<T>, delta<T>};

}  // namespace

const Kernels<float>& kernels_f32() { return table<float>; }
const Kernels<double>& kernels_f64() { return table<double>; }

}  // namespace tl::dense::TL_ISA_NS
