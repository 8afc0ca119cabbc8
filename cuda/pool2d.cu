#include "cuda_compat.cuh"
#include "gpu_blas.cuh"
#include "pool2d.cuh"

#include <cstdint>

// One thread per element of an image, the channel fastest, so a warp reads and writes 32
// consecutive channels of a pixel (coalesced); images along the grid's y axis. The element
// code follows cpp/pool2d_isa.cpp lane for lane (same window order, same NaN rule, the same
// gather in the backward pass), so the results agree with the CPU kernels. Index arithmetic
// within an image is 32-bit (make_geometry bounds an image by 2^31 - 1 elements): 64-bit
// divisions are subroutine calls on the GPU, and made the backward kernel spill.
namespace tl::cuda::pool2d {
namespace {

using ::tl::pool2d::covering;
using ::tl::pool2d::Range;
using ::tl::pool2d::window;

constexpr int kBlock = 256;
constexpr int kMaxGridY = 65535;  // the CUDA limit; more images are grid-strided

// The geometry of one image in 32 bits.
struct Plane {
  int32_t h, w, c, kh, kw, sh, sw, top, left, oh, ow;
};

Plane plane_of(const Geometry& g) {
  auto i32 = [](int64_t v) { return static_cast<int32_t>(v); };
  return {i32(g.h),  i32(g.w),  i32(g.c),   i32(g.kh),   i32(g.kw), i32(g.sh),
          i32(g.sw), i32(g.pad_top), i32(g.pad_left), i32(g.oh), i32(g.ow)};
}

dim3 grid_for(int64_t per_image, int64_t images) {
  const int64_t bx = (per_image + kBlock - 1) / kBlock;
  return dim3(static_cast<unsigned>(bx < 4096 ? bx : 4096),
              static_cast<unsigned>(images < kMaxGridY ? images : kMaxGridY));
}

__device__ int32_t window_size(const Plane& p, int32_t y, int32_t x) {
  const Range<int32_t> rh = window(y, p.kh, p.sh, p.top, p.h);
  const Range<int32_t> rw = window(x, p.kw, p.sw, p.left, p.w);
  return (rh.end - rh.begin) * (rw.end - rw.begin);
}

// out[image][e] for e = (y * ow + x) * c + ch.
template <class T>
__global__ void __launch_bounds__(kBlock) forward_kernel(const T* x, int64_t n, Plane p,
                                                         Mode mode, T* out, int32_t* argmax) {
  const int32_t per_image = p.oh * p.ow * p.c;
  const int32_t stride = static_cast<int32_t>(gridDim.x * blockDim.x);
  for (int64_t image = blockIdx.y; image < n; image += gridDim.y) {
    const T* src = x + image * p.h * p.w * p.c;
    for (int32_t e = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x); e < per_image;
         e += stride) {
      const int32_t ch = e % p.c, pixel = e / p.c;
      const int32_t ox = pixel % p.ow, oy = pixel / p.ow;
      const Range<int32_t> rh = window(oy, p.kh, p.sh, p.top, p.h);
      const Range<int32_t> rw = window(ox, p.kw, p.sw, p.left, p.w);
      int32_t best = rh.begin * p.w + rw.begin;
      T acc = src[best * p.c + ch];
      for (int32_t ih = rh.begin; ih < rh.end; ++ih)
        for (int32_t iw = ih == rh.begin ? rw.begin + 1 : rw.begin; iw < rw.end; ++iw) {
          const int32_t k = ih * p.w + iw;
          const T v = src[k * p.c + ch];
          if (mode == Mode::average) {
            acc += v;
          } else if (v > acc || v != v) {  // the first maximum; a NaN wins (torch's rule)
            acc = v;
            best = k;
          }
        }
      const int64_t o = image * per_image + e;
      if (mode == Mode::max) {
        out[o] = acc;
        argmax[o] = best;
      } else {
        out[o] = acc * (T(1) / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin)));
      }
    }
  }
}

// dx[image][e] for e = (ih * w + iw) * c + ch: the gather of cpp/pool2d_isa.cpp.
template <class T>
__global__ void __launch_bounds__(kBlock) backward_kernel(const T* grad_out,
                                                          const int32_t* argmax, int64_t n,
                                                          Plane p, Mode mode, T* dx) {
  const int32_t per_image = p.h * p.w * p.c, out_plane = p.oh * p.ow * p.c;
  const int32_t stride = static_cast<int32_t>(gridDim.x * blockDim.x);
  for (int64_t image = blockIdx.y; image < n; image += gridDim.y) {
    const T* grad = grad_out + image * out_plane;
    const int32_t* arg = argmax ? argmax + image * out_plane : nullptr;
    for (int32_t e = static_cast<int32_t>(blockIdx.x * blockDim.x + threadIdx.x); e < per_image;
         e += stride) {
      const int32_t ch = e % p.c, k = e / p.c;
      const int32_t iw = k % p.w, ih = k / p.w;
      const Range<int32_t> oh = covering(ih, p.kh, p.sh, p.top, p.oh);
      const Range<int32_t> ow = covering(iw, p.kw, p.sw, p.left, p.ow);
      T d = 0;
      for (int32_t y = oh.begin; y < oh.end; ++y)
        for (int32_t x = ow.begin; x < ow.end; ++x) {
          const int32_t o = (y * p.ow + x) * p.c + ch;
          if (mode == Mode::max)
            d += arg[o] == k ? grad[o] : T(0);
          else
            d += grad[o] * (T(1) / static_cast<T>(window_size(p, y, x)));
        }
      dx[image * per_image + e] = d;
    }
  }
}

}  // namespace

template <class T>
void forward(const T* x, const Geometry& g, Mode mode, T* out, int32_t* argmax, int) {
  if (g.n == 0) return;
  TL_LAUNCH(forward_kernel<T>, grid_for(g.oh * g.ow * g.c, g.n), kBlock, 0, blas::stream(), x,
            g.n, plane_of(g), mode, out, argmax);
  check_launch("pool2d forward_kernel");
}

template <class T>
void backward(const T* grad_out, const int32_t* argmax, const Geometry& g, Mode mode, T* dx, int) {
  if (g.n == 0) return;
  TL_LAUNCH(backward_kernel<T>, grid_for(g.h * g.w * g.c, g.n), kBlock, 0, blas::stream(),
            grad_out, argmax, g.n, plane_of(g), mode, dx);
  check_launch("pool2d backward_kernel");
}

TL_INSTANTIATE_POOL2D(float)
TL_INSTANTIATE_POOL2D(double)

}  // namespace tl::cuda::pool2d
