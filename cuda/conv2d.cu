#include "cuda_compat.cuh"
#include "conv2d.cuh"
#include "dense.cuh"
#include "gpu_blas.cuh"

#include <algorithm>
#include <cstdint>

namespace tl::cuda::conv2d {
namespace {

constexpr int kBlock = 256;                  // threads per block
constexpr int64_t kColumnBytes = 64 << 20;  // the im2col buffer of one call, images at a time

// Blocks for `work` elements: at most 1024 (four resident per SM of a 132-SM H100 at 256
// threads; the memory-bound im2col / col2im loops saturate bandwidth well before that), the
// grid-stride loops cover the rest.
int grid_for(int64_t work) {
  const int64_t b = (work + kBlock - 1) / kBlock;
  return static_cast<int>(b < 1024 ? (b > 0 ? b : 1) : 1024);
}

// col (pixels of `count` images from img0, x groups * kg) = the receptive fields: column
// grp * kg + (i * kw + j) * cg + ci holds channel grp * cg + ci at kernel tap (i, j), zero
// outside the image. One thread per element, grid-stride. (Geometry's member functions are
// host code: the kernels compute what they need from its fields.)
template <class T>
__global__ void im2col_kernel(Geometry g, const T* in, int64_t img0, int64_t count, T* col) {
  const int64_t cg = g.c / g.groups, kg = g.kh * g.kw * cg, cols = g.groups * kg;
  const int64_t total = count * g.oh * g.ow * cols;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t p = e / cols, r = e % cols;
    const int64_t grp = r / kg, q = r % kg, tap = q / cg, ci = q % cg;
    const int64_t ox = p % g.ow, oy = (p / g.ow) % g.oh, img = img0 + p / (g.ow * g.oh);
    const int64_t iy = oy * g.stride_h - g.pad_top + (tap / g.kw) * g.dilation_h;
    const int64_t ix = ox * g.stride_w - g.pad_left + (tap % g.kw) * g.dilation_w;
    const bool inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
    col[e] = inside ? in[((img * g.h + iy) * g.w + ix) * g.c + grp * cg + ci] : T(0);
  }
}

// The adjoint of im2col as a gather: each input element of `count` images from img0 sums
// the col entries that read it (no atomics, the same order every run).
template <class T>
__global__ void col2im_kernel(Geometry g, const T* col, int64_t img0, int64_t count, T* image) {
  const int64_t cg = g.c / g.groups, kg = g.kh * g.kw * cg, cols = g.groups * kg;
  const int64_t total = count * g.h * g.w * g.c;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t ch = e % g.c, ix = (e / g.c) % g.w, iy = (e / (g.c * g.w)) % g.h;
    const int64_t img = e / (g.c * g.w * g.h);
    const int64_t base = (ch / cg) * kg + ch % cg;
    T sum = 0;
    for (int64_t i = 0; i < g.kh; ++i) {
      const int64_t ny = iy + g.pad_top - i * g.dilation_h;
      if (ny < 0 || ny % g.stride_h) continue;
      const int64_t oy = ny / g.stride_h;
      if (oy >= g.oh) continue;
      for (int64_t j = 0; j < g.kw; ++j) {
        const int64_t nx = ix + g.pad_left - j * g.dilation_w;
        if (nx < 0 || nx % g.stride_w) continue;
        const int64_t ox = nx / g.stride_w;
        if (ox >= g.ow) continue;
        sum += col[((img * g.oh + oy) * g.ow + ox) * cols + base + (i * g.kw + j) * cg];
      }
    }
    image[img0 * g.h * g.w * g.c + e] = sum;
  }
}

int64_t column_count(const Geometry& g) { return g.kh * g.kw * g.c; }  // groups * kg

// Images per im2col chunk: the buffer stays within kColumnBytes (at least one image).
template <class T>
int64_t chunk_images(const Geometry& g) {
  const int64_t image_bytes = g.oh * g.ow * column_count(g) * static_cast<int64_t>(sizeof(T));
  return std::clamp<int64_t>(kColumnBytes / std::max<int64_t>(image_bytes, 1), 1, std::max<int64_t>(g.n, 1));
}

template <class T>
void im2col(const Geometry& g, const T* in, int64_t img0, int64_t count, T* col) {
  TL_LAUNCH(im2col_kernel<T>, grid_for(count * g.oh * g.ow * column_count(g)), kBlock, 0,
            blas::stream(), g, in, img0, count, col);
  check_launch("im2col_kernel");
}

template <class T>
void col2im(const Geometry& g, const T* col, int64_t img0, int64_t count, T* image) {
  TL_LAUNCH(col2im_kernel<T>, grid_for(count * g.h * g.w * g.c), kBlock, 0, blas::stream(), g,
            col, img0, count, image);
  check_launch("col2im_kernel");
}

// The three products, one GEMM per group (group grp: columns grp * kg of col, grp * fg of the
// kernel and of the output matrix).
template <class T>
void gemm_forward(const Geometry& g, int64_t pixels, const T* col, const T* kernel, T* out) {
  const int64_t kg = g.kh * g.kw * (g.c / g.groups), fg = g.f / g.groups;
  for (int64_t grp = 0; grp < g.groups; ++grp)
    blas::gemm<T>(false, false, pixels, fg, kg, T(1), col + grp * kg, g.groups * kg,
                  kernel + grp * fg, g.f, T(0), out + grp * fg, g.f);
}

template <class T>
void gemm_filter(const Geometry& g, int64_t pixels, const T* col, const T* delta, T beta, T* dkernel) {
  const int64_t kg = g.kh * g.kw * (g.c / g.groups), fg = g.f / g.groups;
  for (int64_t grp = 0; grp < g.groups; ++grp)
    blas::gemm<T>(true, false, kg, fg, pixels, T(1), col + grp * kg, g.groups * kg,
                  delta + grp * fg, g.f, beta, dkernel + grp * fg, g.f);
}

template <class T>
void gemm_data(const Geometry& g, int64_t pixels, const T* delta, const T* kernel, T* col) {
  const int64_t kg = g.kh * g.kw * (g.c / g.groups), fg = g.f / g.groups;
  for (int64_t grp = 0; grp < g.groups; ++grp)
    blas::gemm<T>(false, true, pixels, kg, fg, T(1), delta + grp * fg, g.f, kernel + grp * fg,
                  g.f, T(0), col + grp * kg, g.groups * kg);
}

// out = conv(in, kernel): one GEMM when the convolution is one (Geometry::is_gemm), else
// im2col chunk by chunk of images.
template <class T>
void convolve(const Geometry& g, const T* in, const T* kernel, T* out) {
  if (g.is_gemm())
    return blas::gemm<T>(false, false, g.pixels(), g.f, g.k_group(), T(1), in, g.k_group(),
                         kernel, g.f, T(0), out, g.f);
  const int64_t chunk = chunk_images<T>(g), per_image = g.oh * g.ow;
  blas::Buffer<T> col(chunk * per_image * column_count(g));
  for (int64_t img0 = 0; img0 < g.n; img0 += chunk) {
    const int64_t count = std::min(chunk, g.n - img0);
    im2col(g, in, img0, count, col.get());
    gemm_forward(g, count * per_image, col.get(), kernel, out + img0 * per_image * g.f);
  }
}

// From delta (the gradient of conv's output): dkernel = sum of im2col(in)^T delta (when not
// null) and din = col2im(delta kernel^T) (when not null): two GEMMs when the convolution is
// one, else chunk by chunk.
template <class T>
void gradients(const Geometry& g, const T* in, const T* kernel, const T* delta, T* dkernel, T* din) {
  if (g.n == 0) {
    if (dkernel)
      check(cudaMemsetAsync(dkernel, 0, g.kh * g.kw * (g.c / g.groups) * g.f * sizeof(T), blas::stream()),
            "cudaMemsetAsync");
    return;
  }
  if (g.is_gemm()) {
    if (dkernel)
      blas::gemm<T>(true, false, g.k_group(), g.f, g.pixels(), T(1), in, g.k_group(), delta, g.f,
                    T(0), dkernel, g.f);
    if (din)
      blas::gemm<T>(false, true, g.pixels(), g.k_group(), g.f, T(1), delta, g.f, kernel, g.f, T(0),
                    din, g.k_group());
    return;
  }
  const int64_t chunk = chunk_images<T>(g), per_image = g.oh * g.ow;
  blas::Buffer<T> col(chunk * per_image * column_count(g));
  for (int64_t img0 = 0; img0 < g.n; img0 += chunk) {
    const int64_t count = std::min(chunk, g.n - img0), pixels = count * per_image;
    const T* d = delta + img0 * per_image * g.f;
    if (dkernel) {
      im2col(g, in, img0, count, col.get());
      gemm_filter(g, pixels, col.get(), d, img0 ? T(1) : T(0), dkernel);
    }
    if (din) {
      gemm_data(g, pixels, d, kernel, col.get());
      col2im(g, col.get(), img0, count, din);
    }
  }
}

// delta = grad * act'(out) over (rows x cols) into a buffer (grad itself for linear), the
// channel sums into dbias (zeroed here) when not null.
template <class T>
const T* activation_delta(const T* out, const T* grad, int64_t rows, int64_t cols, Activation act,
                          T* dbias, blas::Buffer<T>& buffer) {
  if (dbias) check(cudaMemsetAsync(dbias, 0, cols * sizeof(T), blas::stream()), "cudaMemsetAsync");
  T* d = act == Activation::linear ? const_cast<T*>(grad) : buffer.get();
  dense::delta(out, grad, rows, cols, act, d, dbias);
  return d;
}

}  // namespace

template <class T>
void forward(const Geometry& g, const T* x, const T* kernel, const T* bias, Activation act,
             T* out, int) {
  if (g.n == 0) return;
  convolve(g, x, kernel, out);
  dense::epilogue(out, g.pixels(), g.f, bias, act);
}

template <class T>
void backward(const Geometry& g, const T* x, const T* kernel, const T* out, const T* grad_out,
              Activation act, T* dx, T* dkernel, T* dbias, int) {
  blas::Buffer<T> buffer(act == Activation::linear ? 0 : g.pixels() * g.f);
  const T* delta = activation_delta(out, grad_out, g.pixels(), g.f, act, dbias, buffer);
  gradients(g, x, kernel, delta, dkernel, dx);
}

template <class T>
void transpose_forward(const Geometry& g, const T* x, const T* kernel, const T* bias,
                       Activation act, T* out, int) {
  if (g.n == 0) return;
  gradients<T>(g, nullptr, kernel, x, nullptr, out);
  dense::epilogue(out, g.n * g.h * g.w, g.c, bias, act);
}

template <class T>
void transpose_backward(const Geometry& g, const T* x, const T* kernel, const T* out,
                        const T* grad_out, Activation act, T* dx, T* dkernel, T* dbias, int) {
  const int64_t rows = g.n * g.h * g.w;
  blas::Buffer<T> buffer(act == Activation::linear ? 0 : rows * g.c);
  const T* delta = activation_delta(out, grad_out, rows, g.c, act, dbias, buffer);
  gradients<T>(g, delta, kernel, x, dkernel, nullptr);
  if (dx && g.n > 0) convolve(g, delta, kernel, dx);
}

template <class T>
Algorithms algorithms(const Geometry& g) {
  const Algorithm a = g.is_gemm() ? Algorithm::gemm : Algorithm::im2col;
  return {a, a, a};
}

template Algorithms algorithms<float>(const Geometry&);
template Algorithms algorithms<double>(const Geometry&);
TL_INSTANTIATE_CONV2D(float)
TL_INSTANTIATE_CONV2D(double)

}  // namespace tl::cuda::conv2d
