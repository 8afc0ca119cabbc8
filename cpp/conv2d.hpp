// The conv2d op family: 2-D convolution (cross-correlation, as Keras and torch compute it) in
// Keras' layouts: input NHWC (n, h, w, c), kernel (kh, kw, c / groups, f), output NHWC
// (n, oh, ow, f), explicit paddings (Python turns 'valid' / 'same' / 'causal' into numbers),
// strides, dilations and groups. Forward with the bias and the activation fused (the dense
// family's epilogue on the (n oh ow) x f output matrix); backward from the forward output as
// dense does it: delta = grad_out * act'(out) with the bias sums, then the filter gradient and,
// when asked, the data gradient. Transposed convolution is the same convolution run the other
// way: its forward is the data gradient, its gradients are the forward and the filter
// gradient with the roles of input and output swapped. Float or double.
#pragma once
#include <cstdint>

#include "dense.hpp"  // Activation, the fused epilogue and delta loops

namespace tl::conv2d {

using dense::Activation;

// The shape of one convolution from (n, h, w, c) to (n, oh, ow, f). Output position o along
// an axis reads inputs o * stride - pad_before + k * dilation, k < kernel size; positions
// outside [0, size) read zero. A negative pad crops (transposed convolutions with
// output_padding need it).
struct Geometry {
  int64_t n, h, w, c;
  int64_t kh, kw, f, groups;
  int64_t stride_h, stride_w, dilation_h, dilation_w;
  int64_t pad_top, pad_bottom, pad_left, pad_right;
  int64_t oh, ow;

  int64_t c_group() const { return c / groups; }
  int64_t f_group() const { return f / groups; }
  int64_t k_group() const { return kh * kw * c_group(); }  // rows of the kernel matrix
  int64_t pixels() const { return n * oh * ow; }          // rows of the output matrix
  // A 1x1 kernel reading every input pixel once: the convolution is a plain GEMM over the
  // pixels, x (n h w x c) times the kernel (c x f), with no im2col.
  bool pointwise() const {
    return kh == 1 && kw == 1 && stride_h == 1 && stride_w == 1 && groups == 1 &&
           pad_top == 0 && pad_bottom == 0 && pad_left == 0 && pad_right == 0;
  }
};

// Checks the arguments and computes oh and ow; throws std::invalid_argument with a message
// naming the offending argument (sizes < 1, channels or filters not divisible by groups,
// strides or dilations < 1, an empty output).
Geometry make_geometry(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                       int64_t f, int64_t groups, int64_t stride_h, int64_t stride_w,
                       int64_t dilation_h, int64_t dilation_w, int64_t pad_top,
                       int64_t pad_bottom, int64_t pad_left, int64_t pad_right);

// out = act(conv(x, kernel) + bias); bias (f) may be null.
template <class T>
void forward(const Geometry& g, const T* x, const T* kernel, const T* bias, Activation act,
             T* out, int n_threads);

// From the forward output `out` and grad_out (both n x oh x ow x f): delta = grad_out *
// act'(out); dkernel = the filter gradient of delta; dbias (f) = its channel sums when not
// null; dx (n x h x w x c) = the data gradient when not null.
template <class T>
void backward(const Geometry& g, const T* x, const T* kernel, const T* out, const T* grad_out,
              Activation act, T* dx, T* dkernel, T* dbias, int n_threads);

// Transposed convolution of x (n, oh, ow, f) into out (n, h, w, c): out = act(conv^T(x,
// kernel) + bias), bias (c) may be null. `g` is the convolution it transposes (from out's
// shape to x's); the kernel keeps that convolution's layout (kh, kw, c / groups, f), which is
// Keras' Conv2DTranspose layout (kh, kw, filters, input channels) for groups == 1.
template <class T>
void transpose_forward(const Geometry& g, const T* x, const T* kernel, const T* bias,
                       Activation act, T* out, int n_threads);

// Gradients of transpose_forward: delta = grad_out * act'(out) on (n, h, w, c); dkernel = the
// filter gradient with delta as the convolution's input and x as its output gradient;
// dbias (c) its channel sums; dx (n, oh, ow, f) = conv(delta, kernel) when not null.
template <class T>
void transpose_backward(const Geometry& g, const T* x, const T* kernel, const T* out,
                        const T* grad_out, Activation act, T* dx, T* dkernel, T* dbias,
                        int n_threads);

#define TL_INSTANTIATE_CONV2D(T)                                                              \
  template void forward<T>(const Geometry&, const T*, const T*, const T*, Activation, T*, int); \
  template void backward<T>(const Geometry&, const T*, const T*, const T*, const T*,           \
                            Activation, T*, T*, T*, int);                                     \
  template void transpose_forward<T>(const Geometry&, const T*, const T*, const T*, Activation, \
                                     T*, int);                                                \
  template void transpose_backward<T>(const Geometry&, const T*, const T*, const T*, const T*, \
                                      Activation, T*, T*, T*, int);

}  // namespace tl::conv2d
