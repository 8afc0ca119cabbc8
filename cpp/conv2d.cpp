#include "conv2d.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "blas.hpp"
#include "threads.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace tl::conv2d {
namespace {

// An im2col tile (pixels x kernel rows) is sized to stay in the core's L2 (1 MiB here) next
// to the GEMM's packed panels.
constexpr int64_t kTileBytes = 512 * 1024;

int thread_id() {
#ifdef _OPENMP
  return omp_get_thread_num();
#else
  return 0;
#endif
}

// A per-thread buffer (`slot` 0: im2col tile, 1: its gradient, 2: delta), grown as needed and
// kept for the next call: a training loop calls with the same shapes every step. OpenMP's
// threads persist, so each keeps its own. Uninitialised: fully written before it is read.
template <class T>
T* scratch(int slot, int64_t count) {
  thread_local std::vector<T> buffers[3];
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

// out = conv(in, kernel), then (when `fuse`) act(out + bias), tile by tile while the tile is
// in cache. Tiles (image, block of output rows) go to threads, each with a single-threaded
// BLAS and its own im2col buffer.
template <class T>
void convolve(const Geometry& g, const T* in, const T* kernel, const T* bias, Activation act,
              bool fuse, T* out, int n_threads) {
  const int64_t kg = g.k_group(), fg = g.f_group();
  const Tiling t = tiling<T>(g);
  const int64_t tasks = g.n * t.per_image;
  const int nt = static_cast<int>(std::min<int64_t>(
      threads::resolve(n_threads, double(g.pixels()) * kg * g.f), std::max<int64_t>(tasks, 1)));
  const dense::Kernels<T>& kern = dense::kernels<T>();
  fuse = fuse && (bias != nullptr || act != Activation::linear);
  blas::SingleThreaded one_blas_thread;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int64_t task = 0; task < tasks; ++task) {
    const int64_t img = task / t.per_image;
    const int64_t r0 = (task % t.per_image) * t.rows, r1 = std::min(r0 + t.rows, g.oh);
    const int64_t pixels = (r1 - r0) * g.ow;
    T* col = scratch<T>(0, t.rows * g.ow * kg);
    T* tile = out + (img * g.oh + r0) * g.ow * g.f;
    for (int64_t grp = 0; grp < g.groups; ++grp) {
      im2col(g, in + img * g.h * g.w * g.c, grp, r0, r1, col);
      blas::gemm<T>(false, false, pixels, fg, kg, T(1), col, kg, kernel + grp * fg, g.f, T(0),
                    tile + grp * fg, g.f);
    }
    if (fuse) kern.epilogue(tile, pixels, g.f, bias, act);
  }
}

// From delta (the gradient of conv's output): dkernel = sum over pixels of im2col(in)^T delta
// (when not null) and din = col2im(delta kernel^T) (when not null), in one pass over the
// images. Threads take whole images (their din pixels never overlap), each adding into its
// own dkernel part; the parts are added in thread order, so results repeat run to run for a
// given thread count.
template <class T>
void gradients(const Geometry& g, const T* in, const T* kernel, const T* delta, T* dkernel,
               T* din, int n_threads) {
  const int64_t kg = g.k_group(), fg = g.f_group(), ksize = kg * g.f;
  const Tiling t = tiling<T>(g);
  const double work = double(g.pixels()) * kg * g.f * ((dkernel != nullptr) + (din != nullptr));
  const int nt = static_cast<int>(
      std::min<int64_t>(threads::resolve(n_threads, work), std::max<int64_t>(g.n, 1)));
  std::vector<T> parts(dkernel ? (nt - 1) * ksize : 0, T(0));
  if (dkernel) std::fill(dkernel, dkernel + ksize, T(0));
  blas::SingleThreaded one_blas_thread;
#pragma omp parallel num_threads(nt)
  {
    const int tid = thread_id();
    T* dk = tid == 0 ? dkernel : parts.data() + (tid - 1) * ksize;
    T* col = scratch<T>(0, t.rows * g.ow * kg);
#pragma omp for schedule(static)
    for (int64_t img = 0; img < g.n; ++img) {
      T* din_img = din ? din + img * g.h * g.w * g.c : nullptr;
      if (din_img) std::fill(din_img, din_img + g.h * g.w * g.c, T(0));
      for (int64_t r0 = 0; r0 < g.oh; r0 += t.rows) {
        const int64_t r1 = std::min(r0 + t.rows, g.oh), pixels = (r1 - r0) * g.ow;
        const T* d = delta + (img * g.oh + r0) * g.ow * g.f;
        for (int64_t grp = 0; grp < g.groups; ++grp) {
          if (dkernel) {
            im2col(g, in + img * g.h * g.w * g.c, grp, r0, r1, col);
            blas::gemm<T>(true, false, kg, fg, pixels, T(1), col, kg, d + grp * fg, g.f, T(1),
                          dk + grp * fg, g.f);
          }
          if (din_img) {
            blas::gemm<T>(false, true, pixels, kg, fg, T(1), d + grp * fg, g.f, kernel + grp * fg,
                          g.f, T(0), col, kg);
            col2im(g, col, grp, r0, r1, din_img);
          }
        }
      }
    }
  }
  if (dkernel)
    for (int p = 0; p + 1 < nt; ++p)
      for (int64_t e = 0; e < ksize; ++e) dkernel[e] += parts[p * ksize + e];
}

// Contiguous row ranges of a (rows x cols) matrix, one per thread.
struct Rows {
  int64_t n;
  int nt;
  int64_t begin(int t) const { return n * t / nt; }
};

// The dense family's epilogue over an activation matrix, in thread row ranges: exp-based
// activations cost ten times a bias add (dense.cpp's measure).
int epilogue_threads(int n_threads, int64_t rows, int64_t cols, Activation act) {
  const double cost = act == Activation::linear || act == Activation::relu ? 1.0 : 10.0;
  return static_cast<int>(std::min<int64_t>(
      threads::resolve(n_threads, double(rows) * cols * cost / 16), std::max<int64_t>(rows, 1)));
}

template <class T>
void epilogue(T* y, int64_t rows, int64_t cols, const T* bias, Activation act, int n_threads) {
  if (bias == nullptr && act == Activation::linear) return;
  const dense::Kernels<T>& kern = dense::kernels<T>();
  const int nt = epilogue_threads(n_threads, rows, cols, act);
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
  T* delta = identity ? const_cast<T*>(grad) : scratch<T>(2, rows * cols);
  const dense::Kernels<T>& kern = dense::kernels<T>();
  const int nt = epilogue_threads(n_threads, rows, cols, act);
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
  if (g.pointwise()) return dense::forward(x, g.pixels(), g.c, kernel, g.f, bias, act, out, n_threads);
  convolve(g, x, kernel, bias, act, true, out, n_threads);
}

template <class T>
void backward(const Geometry& g, const T* x, const T* kernel, const T* out, const T* grad_out,
              Activation act, T* dx, T* dkernel, T* dbias, int n_threads) {
  require_blas();
  if (g.pointwise() && g.n > 0)
    return dense::backward(x, g.pixels(), g.c, kernel, g.f, out, grad_out, act, dx, dkernel,
                           dbias, n_threads);
  const T* delta = activation_delta(out, grad_out, g.pixels(), g.f, act, dbias, n_threads);
  gradients(g, x, kernel, delta, dkernel, dx, n_threads);
}

template <class T>
void transpose_forward(const Geometry& g, const T* x, const T* kernel, const T* bias,
                       Activation act, T* out, int n_threads) {
  require_blas();
  if (g.n == 0) return;
  gradients<T>(g, nullptr, kernel, x, nullptr, out, n_threads);
  epilogue(out, g.n * g.h * g.w, g.c, bias, act, n_threads);
}

template <class T>
void transpose_backward(const Geometry& g, const T* x, const T* kernel, const T* out,
                        const T* grad_out, Activation act, T* dx, T* dkernel, T* dbias,
                        int n_threads) {
  require_blas();
  const T* delta = activation_delta(out, grad_out, g.n * g.h * g.w, g.c, act, dbias, n_threads);
  gradients<T>(g, delta, kernel, x, dkernel, nullptr, n_threads);
  if (dx && g.n > 0) convolve<T>(g, delta, kernel, nullptr, Activation::linear, false, dx, n_threads);
}

TL_INSTANTIATE_CONV2D(float)
TL_INSTANTIATE_CONV2D(double)

}  // namespace tl::conv2d
