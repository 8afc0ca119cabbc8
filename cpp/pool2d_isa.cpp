// The inner loops of the pool2d kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags). The channel axis is the
// contiguous one in NHWC, so every loop here runs along the channels of one pixel with no
// dependence between lanes, and the compiler vectorises it (compare + blend for the max and
// its argmax, add / multiply for the average); the window loops around it are scalar. The
// output pixel's channel vector (c values, and c argmax indices) stays in L1 while the window
// is walked, so the input is read once from memory (benchmarks/README.md).
#include <cstdint>

#include "pool2d.hpp"

namespace tl::pool2d::TL_ISA_NS {
namespace {

using Span = Range<int64_t>;

// o (and a) = the maximum (and its argmax) over the window rh x rw of the image x.
template <class T>
void max_window(const T* __restrict x, const Geometry& g, Span rh, Span rw, T* __restrict o,
                int32_t* __restrict a) {
  const int64_t c = g.c;
  const int64_t first = rh.begin * g.w + rw.begin;
  const T* p0 = x + first * c;
  for (int64_t j = 0; j < c; ++j) {
    o[j] = p0[j];
    a[j] = static_cast<int32_t>(first);
  }
  for (int64_t ih = rh.begin; ih < rh.end; ++ih)
    for (int64_t iw = ih == rh.begin ? rw.begin + 1 : rw.begin; iw < rw.end; ++iw) {
      const int64_t k = ih * g.w + iw;
      const int32_t k32 = static_cast<int32_t>(k);
      const T* p = x + k * c;
      for (int64_t j = 0; j < c; ++j) {
        // Strictly greater keeps the first maximum; a NaN replaces anything (torch's rule),
        // and nothing replaces a NaN.
        const T v = p[j], m = o[j];
        const bool take = v > m || v != v;
        o[j] = take ? v : m;
        a[j] = take ? k32 : a[j];
      }
    }
}

// o = the mean over the window rh x rw of the image x (valid elements only).
template <class T>
void average_window(const T* __restrict x, const Geometry& g, Span rh, Span rw,
                    T* __restrict o) {
  const int64_t c = g.c;
  const T* p0 = x + (rh.begin * g.w + rw.begin) * c;
  for (int64_t j = 0; j < c; ++j) o[j] = p0[j];
  for (int64_t ih = rh.begin; ih < rh.end; ++ih)
    for (int64_t iw = ih == rh.begin ? rw.begin + 1 : rw.begin; iw < rw.end; ++iw) {
      const T* p = x + (ih * g.w + iw) * c;
      for (int64_t j = 0; j < c; ++j) o[j] += p[j];
    }
  const T inv = T(1) / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin));
  for (int64_t j = 0; j < c; ++j) o[j] *= inv;
}

template <class T>
void forward_rows(const T* x, const Geometry& g, Mode mode, int64_t row_begin, int64_t row_end,
                  T* out, int32_t* argmax) {
  const int64_t plane = g.h * g.w * g.c;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const T* image = x + (r / g.oh) * plane;
    const Span rh = window(r % g.oh, g.kh, g.sh, g.pad_top, g.h);
    for (int64_t ow = 0; ow < g.ow; ++ow) {
      const Span rw = window(ow, g.kw, g.sw, g.pad_left, g.w);
      const int64_t o = (r * g.ow + ow) * g.c;
      if (mode == Mode::max)
        max_window(image, g, rh, rw, out + o, argmax + o);
      else
        average_window(image, g, rh, rw, out + o);
    }
  }
}

// d = the sum, over the outputs oh x ow whose windows hold input element k, of the output
// gradient where the argmax is k (max) or of the gradient over the window's size (average).
template <class T>
void gather_pixel(const T* __restrict grad, const int32_t* __restrict argmax, const Geometry& g,
                  Mode mode, Span oh, Span ow, int32_t k, T* __restrict d) {
  const int64_t c = g.c;
  for (int64_t j = 0; j < c; ++j) d[j] = T(0);
  for (int64_t y = oh.begin; y < oh.end; ++y)
    for (int64_t x = ow.begin; x < ow.end; ++x) {
      const int64_t o = (y * g.ow + x) * c;
      const T* gp = grad + o;
      if (mode == Mode::max) {
        const int32_t* ap = argmax + o;
        for (int64_t j = 0; j < c; ++j) d[j] += ap[j] == k ? gp[j] : T(0);
      } else {
        const Span rh = window(y, g.kh, g.sh, g.pad_top, g.h);
        const Span rw = window(x, g.kw, g.sw, g.pad_left, g.w);
        const T inv = T(1) / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin));
        for (int64_t j = 0; j < c; ++j) d[j] += gp[j] * inv;
      }
    }
}

template <class T>
void backward_rows(const T* grad_out, const int32_t* argmax, const Geometry& g, Mode mode,
                   int64_t row_begin, int64_t row_end, T* dx) {
  const int64_t out_plane = g.oh * g.ow * g.c;
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t image = r / g.h, ih = r % g.h;
    const T* grad = grad_out + image * out_plane;
    const int32_t* arg = mode == Mode::max ? argmax + image * out_plane : nullptr;
    const Span oh = covering(ih, g.kh, g.sh, g.pad_top, g.oh);
    for (int64_t iw = 0; iw < g.w; ++iw) {
      const Span ow = covering(iw, g.kw, g.sw, g.pad_left, g.ow);
      gather_pixel(grad, arg, g, mode, oh, ow, static_cast<int32_t>(ih * g.w + iw),
                   dx + (r * g.w + iw) * g.c);
    }
  }
}

template <class T>
constexpr Kernels<T> table{forward_rows<T>, backward_rows<T>};

}  // namespace

const Kernels<float>& kernels_f32() { return table<float>; }
const Kernels<double>& kernels_f64() { return table<double>; }

}  // namespace tl::pool2d::TL_ISA_NS
