#include "conv2d.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "blas.hpp"
#include "isa.hpp"
#include "threads.hpp"

namespace tl::conv2d {

TL_ISA_KERNELS_DISPATCH()

namespace {

// An im2col tile (pixels x kernel rows) is sized to stay in the core's L2 (1 MiB here) next
// to the GEMM's packed panels.
constexpr int64_t kTileBytes = 512 * 1024;

// Per-thread buffers, grown as needed and kept for the next call: a training loop calls with
// the same shapes every step. OpenMP's threads persist, so each keeps its own.
// Uninitialised: fully written before they are read.
enum Slot : int {
  kTile = 0,     // an im2col tile, its gradient, or a padded input (worker threads)
  kDelta = 1,    // delta = grad_out * act'(out) (the calling thread)
  kFlipped = 2,  // the flipped kernel of a direct data gradient (the calling thread)
  kPhase = 3,    // one phase of a strided direct data gradient (the calling thread)
};

template <class T>
T* scratch(int slot, int64_t count) {
  thread_local std::vector<T> buffers[4];
  std::vector<T>& b = buffers[slot];
  if (static_cast<int64_t>(b.size()) < count) {
    b.clear();
    b.shrink_to_fit();
    b.resize(count);
  }
  return b.data();
}

// Output rows per im2col tile, and tiles per image.
struct Tiling {
  int64_t rows, per_image;
};

template <class T>
Tiling tiling(const Geometry& g) {
  const int64_t row_bytes = g.ow * g.k_group() * static_cast<int64_t>(sizeof(T));
  const int64_t rows = std::clamp<int64_t>(kTileBytes / std::max<int64_t>(row_bytes, 1), 1, g.oh);
  return {rows, (g.oh + rows - 1) / rows};
}

// col (pixels of output rows [r0, r1) x k_group) = the receptive fields of group `grp` of
// one image, in the kernel's row order (kh, kw, channel); zero outside the image.
template <class T>
void im2col(const Geometry& g, const T* image, int64_t grp, int64_t r0, int64_t r1, T* col) {
  const int64_t cg = g.c_group(), kg = g.k_group();
  const T* src = image + grp * cg;
  for (int64_t oy = r0; oy < r1; ++oy)
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      T* row = col + ((oy - r0) * g.ow + ox) * kg;
      for (int64_t i = 0; i < g.kh; ++i) {
        const int64_t iy = oy * g.stride_h - g.pad_top + i * g.dilation_h;
        for (int64_t j = 0; j < g.kw; ++j, row += cg) {
          const int64_t ix = ox * g.stride_w - g.pad_left + j * g.dilation_w;
          if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w)
            std::fill(row, row + cg, T(0));
          else
            std::memcpy(row, src + (iy * g.w + ix) * g.c, cg * sizeof(T));
        }
      }
    }
}

// The adjoint of im2col: adds col's entries into the image pixels they were read from.
template <class T>
void col2im(const Geometry& g, const T* col, int64_t grp, int64_t r0, int64_t r1, T* image) {
  const int64_t cg = g.c_group(), kg = g.k_group();
  T* dst = image + grp * cg;
  for (int64_t oy = r0; oy < r1; ++oy)
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      const T* row = col + ((oy - r0) * g.ow + ox) * kg;
      for (int64_t i = 0; i < g.kh; ++i) {
        const int64_t iy = oy * g.stride_h - g.pad_top + i * g.dilation_h;
        for (int64_t j = 0; j < g.kw; ++j, row += cg) {
          const int64_t ix = ox * g.stride_w - g.pad_left + j * g.dilation_w;
          if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) continue;
          T* p = dst + (iy * g.w + ix) * g.c;
          for (int64_t e = 0; e < cg; ++e) p[e] += row[e];
        }
      }
    }
}

// Threads for `tasks` independent pieces of `work` multiply-adds in all.
int team(int n_threads, double work, int64_t tasks) {
  return static_cast<int>(
      std::min<int64_t>(threads::resolve(n_threads, work), std::max<int64_t>(tasks, 1)));
}

// Runs body(first, last, part) over the images split into contiguous chunks [first, last)
// (four per thread, taken dynamically: a core slowed by other work takes fewer; one per
// thread for large kernels, whose parts cost as much to zero and add as a small map's
// gradient: 3 x 3 x 128 x 256 at 7 x 7, eight 1.2 MB parts took a third of the time), each
// chunk adding into its own part of `sum` (count values; chunk 0's part is `sum` itself,
// zeroed first). The parts are added in chunk order afterwards, so the result repeats run
// to run for a given thread count whichever thread ran which chunk.
template <class T, class Body>
void sum_over_images(int64_t images, int nt, T* sum, int64_t count, const Body& body) {
  constexpr int64_t kSmallKernel = 64 * 1024;  // values
  const int64_t per_thread = count <= kSmallKernel ? 4 : 1;
  const int64_t chunks = nt == 1 ? 1 : std::min<int64_t>(images, per_thread * nt);
  std::vector<T> parts(std::max<int64_t>(chunks - 1, 0) * count, T(0));
  std::fill(sum, sum + count, T(0));
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int64_t chunk = 0; chunk < chunks; ++chunk)
    body(images * chunk / chunks, images * (chunk + 1) / chunks,
         chunk == 0 ? sum : parts.data() + (chunk - 1) * count);
  for (int64_t p = 0; p + 1 < chunks; ++p)
    for (int64_t e = 0; e < count; ++e) sum[e] += parts[p * count + e];
}

// --- im2col + BLAS: any geometry, any SIMD level ------------------------------------------

// out = conv(in, kernel), then (when `fuse`) act(out + bias), tile by tile while the tile is
// in cache. Tiles (image, block of output rows) go to threads, each with a single-threaded
// BLAS and its own im2col buffer.
template <class T>
void im2col_convolve(const Geometry& g, const T* in, const T* kernel, const T* bias,
                     Activation act, bool fuse, T* out, int n_threads) {
  const int64_t kg = g.k_group(), fg = g.f_group();
  const Tiling t = tiling<T>(g);
  const int64_t tasks = g.n * t.per_image;
  const int nt = team(n_threads, double(g.pixels()) * kg * g.f, tasks);
  const dense::Kernels<T>& kern = dense::kernels<T>();
  blas::SingleThreaded one_blas_thread;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t img = task / t.per_image;
    const int64_t r0 = (task % t.per_image) * t.rows, r1 = std::min(r0 + t.rows, g.oh);
    const int64_t pixels = (r1 - r0) * g.ow;
    T* col = scratch<T>(kTile, t.rows * g.ow * kg);
    T* tile = out + (img * g.oh + r0) * g.ow * g.f;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      im2col(g, in + img * g.h * g.w * g.c, grp, r0, r1, col);
      blas::gemm<T>(false, false, pixels, fg, kg, T(1), col, kg, kernel + grp * fg, g.f, T(0),
                    tile + grp * fg, g.f);
    }
    if (fuse) kern.epilogue(tile, pixels, g.f, bias, act);
  }
}

// dkernel = the sum over images and tiles of im2col(in)^T delta.
template <class T>
void im2col_filter(const Geometry& g, const T* in, const T* delta, T* dkernel, int n_threads) {
  const int64_t kg = g.k_group(), fg = g.f_group();
  const Tiling t = tiling<T>(g);
  const int nt = team(n_threads, double(g.pixels()) * kg * g.f, g.n);
  blas::SingleThreaded one_blas_thread;
  sum_over_images(g.n, nt, dkernel, kg * g.f, [&](int64_t first, int64_t last, T* dk) {
    T* col = scratch<T>(kTile, t.rows * g.ow * kg);
    for (int64_t img = first; img < last; ++img)
      for (int64_t r0 = 0; r0 < g.oh; r0 += t.rows) {
        const int64_t r1 = std::min(r0 + t.rows, g.oh), pixels = (r1 - r0) * g.ow;
        const T* d = delta + (img * g.oh + r0) * g.ow * g.f;
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          im2col(g, in + img * g.h * g.w * g.c, grp, r0, r1, col);
          blas::gemm<T>(true, false, kg, fg, pixels, T(1), col, kg, d + grp * fg, g.f, T(1),
                        dk + grp * fg, g.f);
        }
      }
  });
}

// din = col2im(delta kernel^T); threads take whole images (their pixels never overlap).
template <class T>
void im2col_data(const Geometry& g, const T* delta, const T* kernel, T* din, int n_threads) {
  const int64_t kg = g.k_group(), fg = g.f_group();
  const Tiling t = tiling<T>(g);
  const int nt = team(n_threads, double(g.pixels()) * kg * g.f, g.n);
  blas::SingleThreaded one_blas_thread;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int64_t img = 0; img < g.n; ++img) {
    T* col = scratch<T>(kTile, t.rows * g.ow * kg);
    T* image = din + img * g.h * g.w * g.c;
    std::fill(image, image + g.h * g.w * g.c, T(0));
    for (int64_t r0 = 0; r0 < g.oh; r0 += t.rows) {
      const int64_t r1 = std::min(r0 + t.rows, g.oh), pixels = (r1 - r0) * g.ow;
      const T* d = delta + (img * g.oh + r0) * g.ow * g.f;
      for (int64_t grp = 0; grp < g.groups; ++grp) {
        blas::gemm<T>(false, true, pixels, kg, fg, T(1), d + grp * fg, g.f, kernel + grp * fg,
                      g.f, T(0), col, kg);
        col2im(g, col, grp, r0, r1, image);
      }
    }
  }
}

// --- the direct and depthwise loops (conv2d_isa.cpp) on a zero-padded copy of the input ---

// Output pixels per call of a filter-gradient loop: their delta rows (a 4-vector block of
// filters, 256 bytes each in float) stay in L1 while every tap and channel block reads them.
constexpr int64_t kPixelBlock = 128;

// The width and height of the padded input that output rows [0, oh) read (pad_left zero
// columns and pad_top zero rows first).
int64_t padded_width(const Geometry& g) {
  return (g.ow - 1) * g.stride_w + (g.kw - 1) * g.dilation_w + 1;
}

int64_t padded_rows(const Geometry& g, int64_t out_rows) {
  return (out_rows - 1) * g.stride_h + (g.kh - 1) * g.dilation_h + 1;
}

// buf (rows x wp x c) = input rows iy0.. of one image (iy0 may be negative), columns from
// -pad_left: zero outside the image. Needs pad_left >= 0.
template <class T>
void pad_rows(const Geometry& g, const T* image, int64_t iy0, int64_t rows, int64_t wp, T* buf) {
  const int64_t left = std::min(g.pad_left, wp), inside = std::clamp<int64_t>(wp - left, 0, g.w);
  for (int64_t yy = 0; yy < rows; ++yy) {
    T* dst = buf + yy * wp * g.c;
    const int64_t iy = iy0 + yy;
    if (iy < 0 || iy >= g.h) {
      std::fill(dst, dst + wp * g.c, T(0));
      continue;
    }
    std::fill(dst, dst + left * g.c, T(0));
    std::memcpy(dst + left * g.c, image + iy * g.w * g.c, inside * g.c * sizeof(T));
    std::fill(dst + (left + inside) * g.c, dst + wp * g.c, T(0));
  }
}

// Per-thread offset tables into a padded buffer of width wp (int64 slot 0: taps or kernel
// rows, slot 1: pixels). Taps (i, j) from a pixel's first:
const int64_t* tap_offsets(const Geometry& g, int64_t wp) {
  int64_t* off = scratch<int64_t>(0, g.kh * g.kw);
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j)
      off[i * g.kw + j] = (i * g.dilation_h * wp + j * g.dilation_w) * g.c;
  return off;
}

// Kernel rows (tap (i, j), channel ci of the group) from a pixel's first tap:
const int64_t* kernel_offsets(const Geometry& g, int64_t wp) {
  const int64_t cg = g.c_group();
  int64_t* off = scratch<int64_t>(0, g.k_group());
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j = 0; j < g.kw; ++j)
      for (int64_t ci = 0; ci < cg; ++ci)
        off[(i * g.kw + j) * cg + ci] = (i * g.dilation_h * wp + j * g.dilation_w) * g.c + ci;
  return off;
}

// The first tap of output pixels p0.. (row-major over images padded one after another,
// image_size elements each) in a buffer whose first row is that of output row `first_row`:
const int64_t* pixel_offsets(const Geometry& g, int64_t wp, int64_t first_row, int64_t p0,
                             int64_t count, int64_t image_size) {
  const int64_t per_image = g.oh * g.ow;
  int64_t* off = scratch<int64_t>(1, count);
  // stepped pixel by pixel: two divisions per pixel took over a quarter of the 6-filter
  // forward pass of LeNet-5's first layer
  const int64_t ow = g.ow, oh = g.oh, row = g.stride_h * wp * g.c, col = g.stride_w * g.c;
  int64_t img = p0 / per_image, oy = p0 % per_image / ow, ox = p0 % ow;
  for (int64_t q = 0; q < count; ++q) {
    off[q] = img * image_size + (oy - first_row) * row + ox * col;
    if (++ox == ow) {
      ox = 0;
      if (++oy == oh) {
        oy = 0;
        ++img;
      }
    }
  }
  return off;
}

// out = conv(in, kernel) by tiles of output rows (image, rows [r0, r1)) on threads, each
// tile's input padded into the thread's buffer; body(buf, wp, r0, pixels, tile) computes the
// tile's pixels, then (when `fuse`) the epilogue runs on it while it is in cache.
template <class T, class Body>
void padded_tiles(const Geometry& g, const T* in, const T* bias, Activation act, bool fuse,
                  T* out, int n_threads, const Body& body) {
  const dense::Kernels<T>& kern = dense::kernels<T>();
  const int64_t wp = padded_width(g);
  const int64_t row_bytes = g.stride_h * wp * g.c * static_cast<int64_t>(sizeof(T));
  const int64_t rows = std::clamp<int64_t>(kTileBytes / row_bytes, 1, g.oh);
  const int64_t per_image = (g.oh + rows - 1) / rows, tasks = g.n * per_image;
  const int nt = team(n_threads, double(g.pixels()) * g.k_group() * g.f, tasks);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t img = task / per_image;
    const int64_t r0 = (task % per_image) * rows, r1 = std::min(r0 + rows, g.oh);
    const int64_t rows_in = padded_rows(g, r1 - r0), pixels = (r1 - r0) * g.ow;
    T* buf = scratch<T>(kTile, rows_in * wp * g.c);
    pad_rows(g, in + img * g.h * g.w * g.c, r0 * g.stride_h - g.pad_top, rows_in, wp, buf);
    T* tile = out + (img * g.oh + r0) * g.ow * g.f;
    body(buf, wp, r0, pixels, tile);
    if (fuse) kern.epilogue(tile, pixels, g.f, bias, act);
  }
}

// dkernel = the filter gradient over chunks of images (sum_over_images): images padded once
// into the thread's buffer, a few at a time so that small maps (7 x 7: 49 pixels) still fill
// pixel blocks; body(buf, wp, pix, count, d, part) adds one block of pixels, their delta rows
// at d.
template <class T, class Body>
void padded_filter(const Geometry& g, const T* in, const T* delta, T* dkernel, int n_threads,
                   const Body& body) {
  const int64_t wp = padded_width(g), hp = padded_rows(g, g.oh), per_image = g.oh * g.ow;
  const int64_t image_size = hp * wp * g.c;
  const int64_t group = std::max<int64_t>(1, 4 * kPixelBlock / per_image);
  const int nt = team(n_threads, double(g.pixels()) * g.k_group() * g.f, g.n);
  sum_over_images(g.n, nt, dkernel, g.k_group() * g.f, [&](int64_t first, int64_t last, T* part) {
    for (int64_t img0 = first; img0 < last; img0 += group) {
      const int64_t images = std::min(group, last - img0), pixels = images * per_image;
      T* buf = scratch<T>(kTile, images * image_size);
      for (int64_t i = 0; i < images; ++i)
        pad_rows(g, in + (img0 + i) * g.h * g.w * g.c, -g.pad_top, hp, wp, buf + i * image_size);
      for (int64_t p0 = 0; p0 < pixels; p0 += kPixelBlock) {
        const int64_t count = std::min(kPixelBlock, pixels - p0);
        body(buf, wp, pixel_offsets(g, wp, 0, p0, count, image_size), count,
             delta + (img0 * per_image + p0) * g.f, part);
      }
    }
  });
}

template <class T>
void direct_convolve(const Geometry& g, const T* in, const T* kernel, const T* bias,
                     Activation act, bool fuse, T* out, int n_threads) {
  const Kernels<T>& direct = kernels<T>();
  const int64_t cg = g.c_group(), fg = g.f_group();
  padded_tiles(g, in, bias, act, fuse, out, n_threads,
               [&](const T* buf, int64_t wp, int64_t r0, int64_t pixels, T* tile) {
                 const int64_t* pix = pixel_offsets(g, wp, r0, r0 * g.ow, pixels, 0);
                 const int64_t* koff = kernel_offsets(g, wp);
                 for (int64_t grp = 0; grp < g.groups; ++grp)
                   direct.forward_pixels(buf + grp * cg, pix, pixels, koff, g.k_group(),
                                         kernel + grp * fg, g.f, fg, tile + grp * fg, g.f);
               });
}

template <class T>
void direct_filter(const Geometry& g, const T* in, const T* delta, T* dkernel, int n_threads) {
  const Kernels<T>& direct = kernels<T>();
  const int64_t cg = g.c_group(), fg = g.f_group();
  padded_filter(g, in, delta, dkernel, n_threads,
                [&](const T* buf, int64_t wp, const int64_t* pix, int64_t count, const T* d,
                    T* part) {
                  const int64_t* koff = kernel_offsets(g, wp);
                  for (int64_t grp = 0; grp < g.groups; ++grp)
                    direct.filter_pixels(buf + grp * cg, koff, g.k_group(), pix, count,
                                         d + grp * fg, g.f, fg, part + grp * fg, g.f);
                });
}

// Depthwise: groups == c > 1, the kernel (kh, kw, 1, c * m).
bool is_depthwise(const Geometry& g) { return g.groups == g.c && g.groups > 1; }

template <class T>
void depthwise_convolve(const Geometry& g, const T* in, const T* kernel, const T* bias,
                        Activation act, bool fuse, T* out, int n_threads) {
  const Kernels<T>& loops = kernels<T>();
  padded_tiles(g, in, bias, act, fuse, out, n_threads,
               [&](const T* buf, int64_t wp, int64_t r0, int64_t pixels, T* tile) {
                 const int64_t* pix = pixel_offsets(g, wp, r0, r0 * g.ow, pixels, 0);
                 loops.depthwise_forward(buf, pix, pixels, tap_offsets(g, wp), g.kh * g.kw, g.c,
                                         g.f_group(), kernel, tile);
               });
}

template <class T>
void depthwise_filter(const Geometry& g, const T* in, const T* delta, T* dkernel, int n_threads) {
  const Kernels<T>& loops = kernels<T>();
  padded_filter(g, in, delta, dkernel, n_threads,
                [&](const T* buf, int64_t wp, const int64_t* pix, int64_t count, const T* d,
                    T* part) {
                  loops.depthwise_filter(buf, pix, count, tap_offsets(g, wp), g.kh * g.kw, g.c,
                                         g.f_group(), d, part);
                });
}

// image (h x w x c) = the input pixels of a padded buffer (hp x wp x c, from -pad_top and
// -pad_left); pixels past the buffer, which no output reads, get zero.
template <class T>
void crop_padded(const Geometry& g, const T* buf, int64_t hp, int64_t wp, T* image) {
  const int64_t inside = std::clamp<int64_t>(wp - g.pad_left, 0, g.w);
  for (int64_t iy = 0; iy < g.h; ++iy) {
    T* dst = image + iy * g.w * g.c;
    const int64_t yy = iy + g.pad_top;
    if (yy >= hp) {
      std::fill(dst, dst + g.w * g.c, T(0));
      continue;
    }
    std::memcpy(dst, buf + (yy * wp + g.pad_left) * g.c, inside * g.c * sizeof(T));
    std::fill(dst + inside * g.c, dst + g.w * g.c, T(0));
  }
}

// din = the data gradient scattered into a padded image per thread, then cropped (input
// pixels no output reads get zero).
template <class T>
void depthwise_data(const Geometry& g, const T* delta, const T* kernel, T* din, int n_threads) {
  const Kernels<T>& loops = kernels<T>();
  const int64_t wp = padded_width(g), hp = padded_rows(g, g.oh), per_image = g.oh * g.ow;
  const int nt = team(n_threads, double(g.pixels()) * g.k_group() * g.f, g.n);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int64_t img = 0; img < g.n; ++img) {
    T* buf = scratch<T>(kTile, hp * wp * g.c);
    std::fill(buf, buf + hp * wp * g.c, T(0));
    const int64_t* taps = tap_offsets(g, wp);
    for (int64_t p0 = 0; p0 < per_image; p0 += kPixelBlock) {
      const int64_t count = std::min(kPixelBlock, per_image - p0);
      loops.depthwise_data(delta + (img * per_image + p0) * g.f,
                           pixel_offsets(g, wp, 0, p0, count, 0), count, taps, g.kh * g.kw, g.c,
                           g.f_group(), kernel, buf);
    }
    crop_padded(g, buf, hp, wp, din + img * g.h * g.w * g.c);
  }
}

// The data gradient as direct convolutions of delta (sub-pixel decomposition): along an axis
// with stride s (dilation 1), the input positions x with (x + pad) % s == r are reached only
// by the taps r, r + s, r + 2 s, ..., so each phase r is a stride-1 convolution of delta with
// those taps, flipped; with stride 1 there is one phase, the whole kernel flipped.
// dst[j * ldd + i] = src[i * lds + j] for i < rows, j < cols, in 16 x 16 blocks: both sides
// stay within a few cache lines (a plain loop strode a whole row of a 3 x 3 x 256 x 256
// kernel per element, ~3 ms of a 13 ms data gradient).
template <class T>
void transpose(const T* src, int64_t rows, int64_t cols, int64_t lds, T* dst, int64_t ldd) {
  constexpr int64_t kBlock = 16;
  for (int64_t i0 = 0; i0 < rows; i0 += kBlock)
    for (int64_t j0 = 0; j0 < cols; j0 += kBlock)
      for (int64_t i = i0; i < std::min(i0 + kBlock, rows); ++i)
        for (int64_t j = j0; j < std::min(j0 + kBlock, cols); ++j) dst[j * ldd + i] = src[i * lds + j];
}

// One input channel: the forward pass on padded_tiles, its rows one after another; the filter
// gradient an image at a time, each padded once.
template <class T>
void single_channel_convolve(const Geometry& g, const T* in, const T* kernel, const T* bias,
                             Activation act, bool fuse, T* out, int n_threads) {
  const Kernels<T>& loops = kernels<T>();
  padded_tiles(g, in, bias, act, fuse, out, n_threads,
               [&](const T* buf, int64_t wp, int64_t, int64_t pixels, T* tile) {
                 loops.single_forward(g, buf, wp, pixels / g.ow, kernel, tile);
               });
}

template <class T>
void single_channel_filter(const Geometry& g, const T* in, const T* delta, T* dkernel,
                           int n_threads) {
  const Kernels<T>& loops = kernels<T>();
  const int64_t wp = padded_width(g), hp = padded_rows(g, g.oh), per_image = g.oh * g.ow;
  const int nt = team(n_threads, double(g.pixels()) * g.k_group() * g.f, g.n);
  sum_over_images(g.n, nt, dkernel, g.k_group() * g.f, [&](int64_t first, int64_t last, T* part) {
    T* buf = scratch<T>(kTile, hp * wp + per_image * g.f);
    T* dt = buf + hp * wp;
    for (int64_t img = first; img < last; ++img) {
      pad_rows(g, in + img * g.h * g.w, -g.pad_top, hp, wp, buf);
      loops.single_filter(g, buf, wp, delta + img * per_image * g.f, dt, part);
    }
  });
}

// din = the data gradient scattered: each delta pixel's kernel-row values (W delta[p], a small
// GEMV in registers) added into a padded image per thread, then cropped. With few input
// channels this replaces im2col's GEMM of inner size f and its col2im pass over the column
// matrix: LeNet-5's C3 (6 channels, 16 filters, 5x5) 139 -> 103 us, 3 channels 120 -> 58 us.
template <class T>
void scatter_data(const Geometry& g, const T* delta, const T* kernel, T* din, int n_threads) {
  const Kernels<T>& loops = kernels<T>();
  const int64_t wp = padded_width(g), hp = padded_rows(g, g.oh), per_image = g.oh * g.ow;
  const int64_t k_rows = g.k_group(), ldw = (k_rows + 15) / 16 * 16;
  T* wt = scratch<T>(kFlipped, g.f * ldw);  // the kernel transposed, rows zero-padded
  std::fill(wt, wt + g.f * ldw, T(0));
  transpose(kernel, k_rows, g.f, g.f, wt, ldw);
  const int nt = team(n_threads, double(g.pixels()) * k_rows * g.f, g.n);
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
  for (int64_t img = 0; img < g.n; ++img) {
    T* buf = scratch<T>(kTile, hp * wp * g.c);
    std::fill(buf, buf + hp * wp * g.c, T(0));
    for (int64_t p0 = 0; p0 < per_image; p0 += kPixelBlock) {
      const int64_t count = std::min(kPixelBlock, per_image - p0);
      loops.scatter_data(delta + (img * per_image + p0) * g.f, count,
                         pixel_offsets(g, wp, 0, p0, count, 0), wt, ldw, g.f, g.kh, g.kw * g.c,
                         g.dilation_h * wp * g.c, buf);
    }
    crop_padded(g, buf, hp, wp, din + img * g.h * g.w * g.c);
  }
}

struct Phase {
  int64_t residue, taps;   // the phase, and how many taps reach it
  int64_t first, count;    // its input positions: (first + o) * s + residue - pad, o < count
  int64_t before, after;   // the padding of delta its convolution reads (negative: cropped)
};

int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

Phase phase(int64_t residue, int64_t kernel, int64_t stride, int64_t dilation, int64_t pad,
            int64_t in_size, int64_t out_size) {
  Phase p{residue, residue < kernel ? (kernel - residue + stride - 1) / stride : 0, 0, 0, 0, 0};
  const int64_t extent = dilation * (p.taps - 1);  // dilation > 1 only with stride 1
  p.first = -floor_div(residue - pad, stride);     // ceil((pad - residue) / stride)
  p.count = floor_div(in_size - 1 + pad - residue, stride) - p.first + 1;
  p.before = extent - p.first;
  p.after = p.count - out_size - p.before + extent;
  return p;
}

// The phases along each axis, or none when the direct loops cannot run them: a dilated
// strided axis, cropped delta, or (in 'valid' convolutions of large kernels on small inputs)
// more than half again as many multiply-adds as the gradient has, most of them on padding.
struct Phases {
  std::vector<Phase> rows, cols;
  bool usable = false;
};

Phases data_phases(const Geometry& g) {
  Phases ph;
  if ((g.stride_h > 1 && g.dilation_h > 1) || (g.stride_w > 1 && g.dilation_w > 1)) return ph;
  for (int64_t r = 0; r < g.stride_h; ++r)
    ph.rows.push_back(phase(r, g.kh, g.stride_h, g.dilation_h, g.pad_top, g.h, g.oh));
  for (int64_t r = 0; r < g.stride_w; ++r)
    ph.cols.push_back(phase(r, g.kw, g.stride_w, g.dilation_w, g.pad_left, g.w, g.ow));
  double work = 0;
  for (const Phase& y : ph.rows)
    for (const Phase& x : ph.cols) {
      if (y.taps == 0 || x.taps == 0 || y.count <= 0 || x.count <= 0) continue;
      if (y.before < 0 || y.after < 0 || x.before < 0 || x.after < 0) return ph;
      work += double(y.count * x.count) * (y.taps * x.taps);
    }
  ph.usable = 2 * work <= 3 * double(g.oh * g.ow) * (g.kh * g.kw);
  return ph;
}

// --- the choice between them ---------------------------------------------------------------

bool direct_geometry(const Geometry& g) {
  return g.pad_top >= 0 && g.pad_bottom >= 0 && g.pad_left >= 0 && g.pad_right >= 0;
}

// One input channel, stride 1 along rows, at most 8 filters (one register block of the
// single-channel loops; with 12 the direct loops' filter gradient was faster).
bool is_single_channel(const Geometry& g) {
  return g.c == 1 && g.groups == 1 && g.stride_w == 1 && g.f <= 8;
}

// Forward and filter gradient: one GEMM when the convolution is one; the depthwise loops for
// depthwise convolutions; the AVX-512 single-channel or direct loops where the level has
// them; else im2col. The padded copies the loops read need non-negative paddings.
template <class T>
Algorithm forward_choice(const Geometry& g) {
  if (g.is_gemm()) return Algorithm::gemm;
  if (!direct_geometry(g)) return Algorithm::im2col;
  if (is_depthwise(g)) return Algorithm::depthwise;
  if (is_single_channel(g) && kernels<T>().single_forward) return Algorithm::single_channel;
  return kernels<T>().forward_pixels ? Algorithm::direct : Algorithm::im2col;
}

// Few input channels (the direct data gradient's vectors would run across them), one group,
// dilation 1 along rows (a kernel row's taps are consecutive pixels), a kernel of at most
// kMaxScatterValues rows.
bool is_scatter(const Geometry& g) {
  return g.c < 8 && g.groups == 1 && g.dilation_w == 1 && g.k_group() <= kMaxScatterValues;
}

// The data gradient: the direct loops convolve with c_group outputs per group (under 8,
// most vector lanes would idle where im2col's GEMM has kernel-size columns), by phases;
// with fewer channels the scatter loops, else im2col.
template <class T>
Algorithm data_choice(const Geometry& g) {
  const Algorithm a = forward_choice<T>(g);
  if (a != Algorithm::direct && a != Algorithm::single_channel) return a;
  if (g.c_group() >= 8 && data_phases(g).usable) return Algorithm::direct;
  return is_scatter(g) && kernels<T>().scatter_data ? Algorithm::scatter : Algorithm::im2col;
}

template <class T>
void convolve(const Geometry& g, const T* in, const T* kernel, const T* bias, Activation act,
              bool fuse, T* out, int n_threads) {
  fuse = fuse && (bias != nullptr || act != Activation::linear);
  switch (forward_choice<T>(g)) {
    case Algorithm::gemm:
      return dense::forward(in, g.pixels(), g.k_group(), kernel, g.f, fuse ? bias : nullptr,
                            fuse ? act : Activation::linear, out, n_threads);
    case Algorithm::depthwise: return depthwise_convolve(g, in, kernel, bias, act, fuse, out, n_threads);
    case Algorithm::direct: return direct_convolve(g, in, kernel, bias, act, fuse, out, n_threads);
    case Algorithm::single_channel:
      return single_channel_convolve(g, in, kernel, bias, act, fuse, out, n_threads);
    case Algorithm::scatter:  // data gradients only (data_choice)
    case Algorithm::im2col: return im2col_convolve(g, in, kernel, bias, act, fuse, out, n_threads);
  }
}

// The data gradient by phases (data_phases), each phase's convolution run by the choice of
// `convolve` (direct, depthwise, or one GEMM for 1x1 taps).
template <class T>
void phase_data(const Geometry& g, const Phases& ph, const T* delta, const T* kernel, T* din,
                 int n_threads) {
  const int64_t cg = g.c_group(), fg = g.f_group();
  const bool single = ph.rows.size() == 1 && ph.cols.size() == 1;
  if (!single) std::fill(din, din + g.n * g.h * g.w * g.c, T(0));  // rows no tap reaches stay 0
  for (const Phase& y : ph.rows)
    for (const Phase& x : ph.cols) {
      if (y.taps == 0 || x.taps == 0 || y.count <= 0 || x.count <= 0) continue;
      // The taps of this phase, flipped, channel axes swapped: (y.taps, x.taps, fg, c).
      T* flipped = scratch<T>(kFlipped, y.taps * x.taps * fg * g.c);
      const int64_t taps = y.taps * x.taps;
      const int nt = team(n_threads, double(taps) * cg * g.f * 16, taps);
#pragma omp parallel for num_threads(nt) schedule(static)
      for (int64_t t = 0; t < taps; ++t) {
        const int64_t ki = y.residue + (y.taps - 1 - t / x.taps) * g.stride_h;
        const int64_t kj = x.residue + (x.taps - 1 - t % x.taps) * g.stride_w;
        const T* src = kernel + (ki * g.kw + kj) * cg * g.f;
        for (int64_t grp = 0; grp < g.groups; ++grp)
          transpose(src + grp * fg, cg, fg, g.f, flipped + t * fg * g.c + grp * cg, g.c);
      }
      const Geometry pg = make_geometry(g.n, g.oh, g.ow, g.f, y.taps, x.taps, g.c, g.groups, 1, 1,
                                        g.dilation_h, g.dilation_w, y.before, y.after, x.before,
                                        x.after);
      if (single) {  // stride 1: the phase is the whole input
        convolve<T>(pg, delta, flipped, nullptr, Activation::linear, false, din, n_threads);
        continue;
      }
      T* part = scratch<T>(kPhase, pg.n * pg.oh * pg.ow * g.c);
      convolve<T>(pg, delta, flipped, nullptr, Activation::linear, false, part, n_threads);
      const int64_t y0 = y.first * g.stride_h + y.residue - g.pad_top;
      const int64_t x0 = x.first * g.stride_w + x.residue - g.pad_left;
      for (int64_t img = 0; img < g.n; ++img)
        for (int64_t o = 0; o < y.count; ++o)
          for (int64_t q = 0; q < x.count; ++q)
            std::memcpy(din + ((img * g.h + y0 + o * g.stride_h) * g.w + x0 + q * g.stride_w) * g.c,
                        part + ((img * y.count + o) * x.count + q) * g.c, g.c * sizeof(T));
    }
}

template <class T>
void filter_gradient(const Geometry& g, const T* in, const T* delta, T* dkernel, int n_threads) {
  switch (forward_choice<T>(g)) {
    case Algorithm::gemm:
      return blas::parallel_gemm<T>(n_threads, true, false, g.k_group(), g.f, g.pixels(), T(1),
                                    in, g.k_group(), delta, g.f, T(0), dkernel, g.f);
    case Algorithm::depthwise: return depthwise_filter(g, in, delta, dkernel, n_threads);
    case Algorithm::direct: return direct_filter(g, in, delta, dkernel, n_threads);
    case Algorithm::single_channel: return single_channel_filter(g, in, delta, dkernel, n_threads);
    case Algorithm::scatter:  // data gradients only (data_choice)
    case Algorithm::im2col: return im2col_filter(g, in, delta, dkernel, n_threads);
  }
}

template <class T>
void data_gradient(const Geometry& g, const T* delta, const T* kernel, T* din, int n_threads) {
  switch (data_choice<T>(g)) {
    case Algorithm::gemm:
      return blas::parallel_gemm<T>(n_threads, false, true, g.pixels(), g.k_group(), g.f, T(1),
                                    delta, g.f, kernel, g.f, T(0), din, g.k_group());
    case Algorithm::depthwise: {
      // one filter per channel: the phases' convolutions are depthwise ones (gathers, faster
      // than the scatter, which serves every multiplier and shape)
      const Phases ph = data_phases(g);
      if (g.f == g.c && ph.usable) return phase_data(g, ph, delta, kernel, din, n_threads);
      return depthwise_data(g, delta, kernel, din, n_threads);
    }
    case Algorithm::direct: return phase_data(g, data_phases(g), delta, kernel, din, n_threads);
    case Algorithm::scatter: return scatter_data(g, delta, kernel, din, n_threads);
    case Algorithm::single_channel:  // not chosen (data_choice)
    case Algorithm::im2col: return im2col_data(g, delta, kernel, din, n_threads);
  }
}

// Contiguous row ranges of a (rows x cols) matrix, one per thread.
struct Rows {
  int64_t n;
  int nt;
  int64_t begin(int t) const { return n * t / nt; }
};

// The dense family's epilogue and delta passes over an activation matrix, in thread row
// ranges, threaded as dense threads them (threads::kValueCost). LeNet-5's 32 x 28 x 28 x 6
// relu delta (150k values), which a cost of one per value had kept on one thread, takes
// 15-20 us less on two.
int epilogue_threads(int n_threads, int64_t rows, int64_t cols) {
  const double work = double(rows) * cols * threads::kValueCost;
  return static_cast<int>(
      std::min<int64_t>(threads::resolve(n_threads, work), std::max<int64_t>(rows, 1)));
}

template <class T>
void epilogue(T* y, int64_t rows, int64_t cols, const T* bias, Activation act, int n_threads) {
  if (bias == nullptr && act == Activation::linear) return;
  const dense::Kernels<T>& kern = dense::kernels<T>();
  const int nt = epilogue_threads(n_threads, rows, cols);
  const Rows r{rows, nt};
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; ++t)
    kern.epilogue(y + r.begin(t) * cols, r.begin(t + 1) - r.begin(t), cols, bias, act);
}

// delta = grad * act'(out) over a (rows x cols) matrix, dbias (when not null) its column
// sums, per-thread parts added in thread order. Returns delta: grad itself for linear.
template <class T>
const T* activation_delta(const T* out, const T* grad, int64_t rows, int64_t cols,
                          Activation act, T* dbias, int n_threads) {
  if (dbias) std::fill(dbias, dbias + cols, T(0));
  const bool identity = act == Activation::linear;
  if (identity && dbias == nullptr) return grad;
  T* delta = identity ? const_cast<T*>(grad) : scratch<T>(kDelta, rows * cols);
  const dense::Kernels<T>& kern = dense::kernels<T>();
  const int nt = epilogue_threads(n_threads, rows, cols);
  std::vector<T> parts(dbias ? nt * cols : 0, T(0));
  const Rows r{rows, nt};
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; ++t) {
    const int64_t r0 = r.begin(t);
    kern.delta(out + r0 * cols, grad + r0 * cols, r.begin(t + 1) - r0, cols, act,
               delta + r0 * cols, dbias ? parts.data() + t * cols : nullptr);
  }
  if (dbias)
    for (int t = 0; t < nt; ++t)
      for (int64_t j = 0; j < cols; ++j) dbias[j] += parts[t * cols + j];
  return delta;
}

void require_blas() {
  if (!blas::ready()) throw std::runtime_error("turbolearn: BLAS function pointers were not set");
}

void positive(int64_t v, const char* name) {
  if (v < 1) throw std::invalid_argument(std::string("conv2d: ") + name + " must be >= 1, got " +
                                         std::to_string(v));
}

}  // namespace

Geometry make_geometry(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                       int64_t f, int64_t groups, int64_t stride_h, int64_t stride_w,
                       int64_t dilation_h, int64_t dilation_w, int64_t pad_top,
                       int64_t pad_bottom, int64_t pad_left, int64_t pad_right) {
  if (n < 0) throw std::invalid_argument("conv2d: negative batch size");
  positive(h, "the input height");
  positive(w, "the input width");
  positive(c, "the number of input channels");
  positive(kh, "the kernel height");
  positive(kw, "the kernel width");
  positive(f, "the number of filters");
  positive(groups, "groups");
  positive(stride_h, "the stride");
  positive(stride_w, "the stride");
  positive(dilation_h, "the dilation rate");
  positive(dilation_w, "the dilation rate");
  if (c % groups || f % groups)
    throw std::invalid_argument("conv2d: channels (" + std::to_string(c) + ") and filters (" +
                                std::to_string(f) + ") must be divisible by groups (" +
                                std::to_string(groups) + ")");
  Geometry g{n, h, w, c, kh, kw, f, groups, stride_h, stride_w, dilation_h, dilation_w,
             pad_top, pad_bottom, pad_left, pad_right, 0, 0};
  const int64_t span_h = h + pad_top + pad_bottom - dilation_h * (kh - 1) - 1;
  const int64_t span_w = w + pad_left + pad_right - dilation_w * (kw - 1) - 1;
  if (span_h < 0 || span_w < 0)
    throw std::invalid_argument("conv2d: the (padded) input is smaller than the dilated kernel; "
                                "the output would be empty");
  g.oh = span_h / stride_h + 1;
  g.ow = span_w / stride_w + 1;
  return g;
}

template <class T>
void forward(const Geometry& g, const T* x, const T* kernel, const T* bias, Activation act,
             T* out, int n_threads) {
  require_blas();
  if (g.n == 0) return;
  convolve(g, x, kernel, bias, act, true, out, n_threads);
}

template <class T>
void backward(const Geometry& g, const T* x, const T* kernel, const T* out, const T* grad_out,
              Activation act, T* dx, T* dkernel, T* dbias, int n_threads) {
  require_blas();
  const T* delta = activation_delta(out, grad_out, g.pixels(), g.f, act, dbias, n_threads);
  if (g.n == 0) return std::fill(dkernel, dkernel + g.k_group() * g.f, T(0));
  filter_gradient(g, x, delta, dkernel, n_threads);
  if (dx) data_gradient(g, delta, kernel, dx, n_threads);
}

template <class T>
void transpose_forward(const Geometry& g, const T* x, const T* kernel, const T* bias,
                       Activation act, T* out, int n_threads) {
  require_blas();
  if (g.n == 0) return;
  data_gradient(g, x, kernel, out, n_threads);
  epilogue(out, g.n * g.h * g.w, g.c, bias, act, n_threads);
}

template <class T>
void transpose_backward(const Geometry& g, const T* x, const T* kernel, const T* out,
                        const T* grad_out, Activation act, T* dx, T* dkernel, T* dbias,
                        int n_threads) {
  require_blas();
  const T* delta = activation_delta(out, grad_out, g.n * g.h * g.w, g.c, act, dbias, n_threads);
  if (g.n == 0) return std::fill(dkernel, dkernel + g.k_group() * g.f, T(0));
  filter_gradient(g, delta, x, dkernel, n_threads);
  if (dx) convolve<T>(g, delta, kernel, nullptr, Activation::linear, false, dx, n_threads);
}

const char* algorithm_name(Algorithm a) {
  constexpr const char* names[] = {"gemm",           "depthwise", "direct",
                                   "single_channel", "scatter",   "im2col"};
  return names[static_cast<int>(a)];
}

template <class T>
Algorithms algorithms(const Geometry& g) {
  return {forward_choice<T>(g), forward_choice<T>(g), data_choice<T>(g)};
}

template Algorithms algorithms<float>(const Geometry&);
template Algorithms algorithms<double>(const Geometry&);
TL_INSTANTIATE_CONV2D(float)
TL_INSTANTIATE_CONV2D(double)

}  // namespace tl::conv2d
