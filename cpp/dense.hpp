// The dense op family: the forward and backward passes of a fully connected layer,
// out = act(x W + b). One GEMM, then one fused epilogue pass (bias and activation; softmax
// row-wise, max-subtracted); backward: one fused pass for delta = grad_out * act'(out) with
// the bias gradient (column sums of delta), then dW = x^T delta and, only when asked,
// dx = delta W^T by GEMM. Row-major, float or double.
#pragma once
#include <cstdint>
#include <string>

namespace tl::dense {

// The fused activations, in the order of turbolearn.keras's FUSED_ACTIVATIONS.
enum class Activation : int { linear, relu, sigmoid, tanh, elu, selu, softplus, softmax };

// Keras's SELU constants (keras.activations.selu).
constexpr double kSeluAlpha = 1.67326324;
constexpr double kSeluScale = 1.05070098;

// "relu" -> Activation::relu; throws std::invalid_argument naming the unknown activation.
Activation parse_activation(const std::string& name);
const char* activation_name(Activation act);

// out (n x d_out) = act(x (n x d_in) * kernel (d_in x d_out) + bias (d_out, or null)).
template <class T>
void forward(const T* x, int64_t n, int64_t d_in, const T* kernel, int64_t d_out, const T* bias,
             Activation act, T* out, int n_threads);

// From the forward output `out` and grad_out (both n x d_out): delta = grad_out * act'(out),
// dkernel (d_in x d_out) = x^T delta, dbias (d_out) = column sums of delta when dbias is not
// null, dx (n x d_in) = delta kernel^T when dx is not null. With n == 0 the gradients are 0.
template <class T>
void backward(const T* x, int64_t n, int64_t d_in, const T* kernel, int64_t d_out, const T* out,
              const T* grad_out, Activation act, T* dx, T* dkernel, T* dbias, int n_threads);

// The inner loops, compiled once per SIMD level (dense_isa.cpp) and chosen at run time.
template <class T>
struct Kernels {
  // Rows of y (leading dimension cols) = act(y + bias) in place (bias may be null).
  void (*epilogue)(T* y, int64_t rows, int64_t cols, const T* bias, Activation act);
  // delta = grad * act'(out) for the rows; with colsum, colsum[j] += sum of delta[:, j].
  void (*delta)(const T* out, const T* grad, int64_t rows, int64_t cols, Activation act,
                T* delta, T* colsum);
};

template <class T>
const Kernels<T>& kernels();  // for the active SIMD level

// Explicit instantiation of the entry points above, for the CPU and the CUDA implementations
// (each in its own namespace).
#define TL_INSTANTIATE_DENSE(T)                                                               \
  template void forward<T>(const T*, int64_t, int64_t, const T*, int64_t, const T*,           \
                           Activation, T*, int);                                              \
  template void backward<T>(const T*, int64_t, int64_t, const T*, int64_t, const T*, const T*, \
                            Activation, T*, T*, T*, int);

}  // namespace tl::dense
