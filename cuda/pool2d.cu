#include "cuda_compat.cuh"
#include "gpu_blas.cuh"
#include "pool2d.cuh"

#include <cstdint>

// One thread per element, the channel fastest, so a warp reads and writes 32 consecutive
// channels of a pixel (coalesced). The element code follows cpp/pool2d_isa.cpp lane for lane
// (same window order, same NaN rule, the same gather in the backward pass), so the results
// agree with the CPU kernels.
namespace tl::cuda::pool2d {
namespace {

using ::tl::pool2d::covering;
using ::tl::pool2d::Range;
using ::tl::pool2d::window;

constexpr int kBlock = 256;

int grid_for(int64_t work) {
  const int64_t b = (work + kBlock - 1) / kBlock;
  return static_cast<int>(b < 65536 ? (b > 0 ? b : 1) : 65536);  // grid-stride beyond
}

__device__ int64_t window_size(const Geometry& g, int64_t y, int64_t x) {
  const Range rh = window(y, g.kh, g.sh, g.pad_top, g.h);
  const Range rw = window(x, g.kw, g.sw, g.pad_left, g.w);
  return (rh.end - rh.begin) * (rw.end - rw.begin);
}

// out[e] for e = ((image * oh + y) * ow + x) * c + ch.
template <class T>
__global__ void __launch_bounds__(kBlock) forward_kernel(const T* x, Geometry g, Mode mode,
                                                         T* out, int32_t* argmax) {
  const int64_t total = g.n * g.oh * g.ow * g.c;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t ch = e % g.c, pixel = e / g.c;
    const int64_t ox = pixel % g.ow, row = pixel / g.ow;
    const int64_t oy = row % g.oh, image = row / g.oh;
    const Range rh = window(oy, g.kh, g.sh, g.pad_top, g.h);
    const Range rw = window(ox, g.kw, g.sw, g.pad_left, g.w);
    const T* p = x + image * g.h * g.w * g.c + ch;
    int64_t best = rh.begin * g.w + rw.begin;
    T acc = p[best * g.c];
    for (int64_t ih = rh.begin; ih < rh.end; ++ih)
      for (int64_t iw = ih == rh.begin ? rw.begin + 1 : rw.begin; iw < rw.end; ++iw) {
        const int64_t k = ih * g.w + iw;
        const T v = p[k * g.c];
        if (mode == Mode::average) {
          acc += v;
        } else if (v > acc || v != v) {  // the first maximum; a NaN wins (torch's rule)
          acc = v;
          best = k;
        }
      }
    if (mode == Mode::max) {
      out[e] = acc;
      argmax[e] = static_cast<int32_t>(best);
    } else {
      out[e] = acc * (T(1) / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin)));
    }
  }
}

// dx[e] for e = ((image * h + ih) * w + iw) * c + ch: the gather of cpp/pool2d_isa.cpp.
template <class T>
__global__ void __launch_bounds__(kBlock) backward_kernel(const T* grad_out,
                                                          const int32_t* argmax, Geometry g,
                                                          Mode mode, T* dx) {
  const int64_t total = g.n * g.h * g.w * g.c;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t e = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; e < total; e += stride) {
    const int64_t ch = e % g.c, pixel = e / g.c;
    const int64_t iw = pixel % g.w, row = pixel / g.w;
    const int64_t ih = row % g.h, image = row / g.h;
    const Range oh = covering(ih, g.kh, g.sh, g.pad_top, g.oh);
    const Range ow = covering(iw, g.kw, g.sw, g.pad_left, g.ow);
    const int64_t base = image * g.oh * g.ow * g.c + ch;
    const int32_t k = static_cast<int32_t>(ih * g.w + iw);
    T d = 0;
    for (int64_t y = oh.begin; y < oh.end; ++y)
      for (int64_t x = ow.begin; x < ow.end; ++x) {
        const int64_t o = base + (y * g.ow + x) * g.c;
        if (mode == Mode::max)
          d += argmax[o] == k ? grad_out[o] : T(0);
        else
          d += grad_out[o] * (T(1) / static_cast<T>(window_size(g, y, x)));
      }
    dx[e] = d;
  }
}

}  // namespace

template <class T>
void forward(const T* x, const Geometry& g, Mode mode, T* out, int32_t* argmax, int) {
  const int64_t total = g.n * g.oh * g.ow * g.c;
  if (total == 0) return;
  TL_LAUNCH(forward_kernel<T>, grid_for(total), kBlock, 0, blas::stream(), x, g, mode, out, argmax);
  check_launch("pool2d forward_kernel");
}

template <class T>
void backward(const T* grad_out, const int32_t* argmax, const Geometry& g, Mode mode, T* dx, int) {
  const int64_t total = g.n * g.h * g.w * g.c;
  if (total == 0) return;
  TL_LAUNCH(backward_kernel<T>, grid_for(total), kBlock, 0, blas::stream(), grad_out, argmax, g,
            mode, dx);
  check_launch("pool2d backward_kernel");
}

TL_INSTANTIATE_POOL2D(float)
TL_INSTANTIATE_POOL2D(double)

}  // namespace tl::cuda::pool2d
