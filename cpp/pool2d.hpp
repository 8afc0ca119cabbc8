// The pool2d op family: max and average pooling over the two spatial axes of NHWC
// (channels_last) images, forward and backward, float or double.
//
// Explicit paddings (top, bottom, left, right) are given by the caller (the Python ops layer
// turns Keras' 'valid' / 'same' into them, the extra pad at the bottom / right as TF does).
// Padding never enters a window: a window is clipped to the image, so the maximum is taken
// and the average divided over the valid elements only (Keras/TF 'same'; torch's
// count_include_pad=False). Every window holds at least one element because each padding is
// smaller than its window size (checked).
//
// Max pooling writes the argmax of each output (int32, the flat index ih * w + iw into the
// image plane, torch's convention): the first maximum in row-major window order, a NaN
// taking the place (as torch does). Both backward passes gather: each input element sums the
// gradients of the outputs whose windows hold it (max: only where it is the argmax), in
// increasing output order, so dx is written once, without a zero pass or races, and equals
// torch's scatter-add bit for bit for max pooling.
//
// The global poolings (GlobalAveragePooling2D, GlobalMaxPooling2D) are the same kernels with
// a window of the whole image: in NHWC the reduction over H x W is a sum (or max) of
// contiguous channel vectors, which is what the window loop already does.
#pragma once
#include <cstdint>
#include <string>

#if defined(__CUDACC__)
#define TL_POOL2D_HD __host__ __device__ __forceinline__
#else
#define TL_POOL2D_HD inline
#endif

namespace tl::pool2d {

enum class Mode : int { max, average };

// "max" -> Mode::max, "average" -> Mode::average; throws std::invalid_argument otherwise.
Mode parse_mode(const std::string& name);
const char* mode_name(Mode mode);

// Input (n, h, w, c), window (kh, kw), strides (sh, sw), the paddings before each axis, and
// the output size (oh, ow) that the paddings after each axis gave.
struct Geometry {
  int64_t n, h, w, c;
  int64_t kh, kw, sh, sw;
  int64_t pad_top, pad_left;
  int64_t oh, ow;
};

// Checks the arguments (sizes >= 1, 0 <= padding < window, one image and the pool sizes and
// strides within int32, so the argmax and the GPU's index arithmetic fit 32 bits) and computes
// the output size; throws std::invalid_argument naming what is wrong.
Geometry make_geometry(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                       int64_t sh, int64_t sw, int64_t pad_top, int64_t pad_bottom,
                       int64_t pad_left, int64_t pad_right);

// [begin, end) along one axis, in the index type I of the caller (int64_t on the CPU, int32_t
// in the CUDA kernels, where 64-bit divisions are slow subroutine calls).
template <class I>
struct Range {
  I begin, end;
};

// The input positions of output position o's window along an axis: window k, stride s,
// padding before `pad`, input size `size`.
template <class I>
TL_POOL2D_HD Range<I> window(I o, I k, I s, I pad, I size) {
  const I first = o * s - pad;
  return {first > 0 ? first : I(0), first + k < size ? first + k : size};
}

// The output positions whose windows hold input position i along an axis (`out` outputs):
// o * s - pad <= i <= o * s - pad + k - 1. Empty when the strides skip i.
template <class I>
TL_POOL2D_HD Range<I> covering(I i, I k, I s, I pad, I out) {
  const I lowest = i + pad - k + 1;  // o * s >= lowest
  const I begin = lowest > 0 ? (lowest + s - 1) / s : I(0);
  const I last = (i + pad) / s + 1;
  return {begin, last < out ? last : out};
}

// out (n, oh, ow, c) = the pooling of x (n, h, w, c); with Mode::max, argmax (n, oh, ow, c)
// receives the flat input-plane index of each maximum (argmax is unused for average).
template <class T>
void forward(const T* x, const Geometry& g, Mode mode, T* out, int32_t* argmax, int n_threads);

// dx (n, h, w, c) = the gradient of forward's output for grad_out (n, oh, ow, c) (and the
// argmax forward wrote, for Mode::max).
template <class T>
void backward(const T* grad_out, const int32_t* argmax, const Geometry& g, Mode mode, T* dx,
              int n_threads);

// What the drivers (pool2d.cpp) compute once per call for the row loops: the outputs
// covering each input row (h) and column (w), and for average pooling 1 / the count of valid
// elements of each output's window (oh * ow; null for max pooling).
template <class T>
struct Tables {
  const Range<int64_t>* cover_h;
  const Range<int64_t>* cover_w;
  const T* inverse_count;
};

// The inner loops, compiled once per SIMD level (pool2d_isa.cpp) and chosen at run time.
// Rows are numbered over the batch: row r is image r / rows_per_image, row r % rows_per_image.
template <class T>
struct Kernels {
  // Output rows [row_begin, row_end) (oh rows per image).
  void (*forward_rows)(const T* x, const Geometry& g, const Tables<T>& t, Mode mode,
                       int64_t row_begin, int64_t row_end, T* out, int32_t* argmax);
  // Input rows [row_begin, row_end) of dx (h rows per image).
  void (*backward_rows)(const T* grad_out, const int32_t* argmax, const Geometry& g,
                        const Tables<T>& t, Mode mode, int64_t row_begin, int64_t row_end,
                        T* dx);
};

template <class T>
const Kernels<T>& kernels();  // for the active SIMD level

// Explicit instantiation of the entry points above, for the CPU and the CUDA implementations
// (each in its own namespace).
#define TL_INSTANTIATE_POOL2D(T)                                                          \
  template void forward<T>(const T*, const Geometry&, Mode, T*, int32_t*, int);           \
  template void backward<T>(const T*, const int32_t*, const Geometry&, Mode, T*, int);

}  // namespace tl::pool2d
