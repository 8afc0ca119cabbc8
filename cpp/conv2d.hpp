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
  // The convolution is one GEMM, x as a (pixels x k_group) matrix times the kernel as a
  // (k_group x f) one, with no im2col: a 1x1 kernel with stride 1 (x is n h w x c), or a
  // kernel as large as the input (one output pixel per image, x is n x h w c: a dense layer);
  // no padding, one group.
  bool is_gemm() const {
    const bool unpadded = pad_top == 0 && pad_bottom == 0 && pad_left == 0 && pad_right == 0;
    const bool pointwise = kh == 1 && kw == 1 && stride_h == 1 && stride_w == 1;
    const bool whole = kh == h && kw == w && dilation_h == 1 && dilation_w == 1;
    return groups == 1 && unpadded && (pointwise || whole);
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

// The algorithm each pass runs, chosen per shape at the active SIMD level (measurements in
// docs/architecture.md): one BLAS GEMM (1x1 kernels with stride 1, kernels as large as the
// input), the depthwise loops (groups == c), the AVX-512 direct loops, their single-channel
// form (one input channel and few filters), the AVX-512 scatter of data gradients with few
// channels, or im2col + BLAS.
enum class Algorithm : int { gemm, depthwise, direct, single_channel, scatter, im2col };
const char* algorithm_name(Algorithm a);

struct Algorithms {
  Algorithm forward, filter, data;  // data: the data gradient, and transposed forward
};

template <class T>
Algorithms algorithms(const Geometry& g);

constexpr int64_t kMaxScatterValues = 512;  // kh * kw * c of a scattered data gradient

// The direct loops (register-blocked, over the NHWC layout, no im2col), compiled once per SIMD
// level (conv2d_isa.cpp) and chosen at run time; null at the levels that have none, where
// im2col + BLAS runs instead. `in` is a zero-padded input, so no tap reads outside it.
template <class T>
struct Kernels {
  // out[p * ldo + 0:nf] = sum over kernel rows k < k_count of in[pix_off[p] + koff[k]] *
  // w[k * ldw + 0:nf], for output pixels p < pixels (pix_off: the input offset of each
  // pixel's first tap; koff: that of each kernel row, a (tap, channel) pair, from it).
  void (*forward_pixels)(const T* in, const int64_t* pix_off, int64_t pixels,
                         const int64_t* koff, int64_t k_count, const T* w, int64_t ldw,
                         int64_t nf, T* out, int64_t ldo);
  // dw[k * ldw + 0:nf] += sum over p < pixels of in[pix_off[p] + koff[k]] * d[p * ldd + 0:nf],
  // for kernel rows k < k_count.
  void (*filter_pixels)(const T* in, const int64_t* koff, int64_t k_count,
                        const int64_t* pix_off, int64_t pixels, const T* d, int64_t ldd,
                        int64_t nf, T* dw, int64_t ldw);
  // One input channel, stride 1 along rows (single_channel below), vectors across the pixels
  // of output rows. `in`: the padded input from output row 0's first tap, rows wp apart.
  // out[(y * ow + x) * f + k] = sum over taps (i, j) of
  // in[(y * stride_h + i * dilation_h) * wp + x + j * dilation_w] * w[(i * kw + j) * f + k]
  // for output rows y < rows:
  void (*single_forward)(const Geometry& g, const T* in, int64_t wp, int64_t rows, const T* w,
                         T* out);
  // dw[(i * kw + j) * f + k] += the sum over y < oh, x < ow of that tap of one padded image
  // times its delta d[(y * ow + x) * f + k]; dt: room for oh * f * ow values (d transposed).
  void (*single_filter)(const Geometry& g, const T* in, int64_t wp, const T* d, T* dt, T* dw);
  // The data gradient as a scatter (few input channels, one group, dilation 1 along rows):
  // for each delta pixel p, v = the kernel-row values sum over k < f of d[p * f + k] *
  // wt[k * ldw + r] (wt: the kernel transposed, rows of ldw >= kh * kwc values, ldw a multiple
  // of 16 and at most kMaxScatterValues, zero past kh * kwc), then for each kernel row i the
  // kwc = kw * c consecutive values v[i * kwc ...] added at din[pix_off[p] + i * row_step].
  void (*scatter_data)(const T* d, int64_t pixels, const int64_t* pix_off, const T* wt,
                       int64_t ldw, int64_t f, int64_t kh, int64_t kwc, int64_t row_step,
                       T* din);
  // Depthwise convolutions (groups == c, m = f / c filters per channel; output channel
  // ch * m + j is input channel ch through filter j), at every level. tap_off: the input
  // offset of each tap from a pixel's first. out[p * f + ch * m + j] = sum over taps t of
  // in[pix_off[p] + tap_off[t] + ch] * w[t * f + ch * m + j]:
  void (*depthwise_forward)(const T* in, const int64_t* pix_off, int64_t pixels,
                            const int64_t* tap_off, int64_t taps, int64_t c, int64_t m,
                            const T* w, T* out);
  // dw[t * f + ch * m + j] += sum over p of in[pix_off[p] + tap_off[t] + ch] * d[p * f + ch * m + j]:
  void (*depthwise_filter)(const T* in, const int64_t* pix_off, int64_t pixels,
                           const int64_t* tap_off, int64_t taps, int64_t c, int64_t m,
                           const T* d, T* dw);
  // din[pix_off[p] + tap_off[t] + ch] += sum over j of d[p * f + ch * m + j] * w[t * f + ch * m + j]:
  void (*depthwise_data)(const T* d, const int64_t* pix_off, int64_t pixels,
                         const int64_t* tap_off, int64_t taps, int64_t c, int64_t m, const T* w,
                         T* din);
};

template <class T>
const Kernels<T>& kernels();  // for the active SIMD level

#define TL_INSTANTIATE_CONV2D(T)                                                              \
  template void forward<T>(const Geometry&, const T*, const T*, const T*, Activation, T*, int); \
  template void backward<T>(const Geometry&, const T*, const T*, const T*, const T*,           \
                            Activation, T*, T*, T*, int);                                     \
  template void transpose_forward<T>(const Geometry&, const T*, const T*, const T*, Activation, \
                                     T*, int);                                                \
  template void transpose_backward<T>(const Geometry&, const T*, const T*, const T*, const T*, \
                                      Activation, T*, T*, T*, int);

}  // namespace tl::conv2d
