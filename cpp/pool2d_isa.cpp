// The inner loops of the pool2d kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags). Like dense_isa.cpp, no std::
// templates are instantiated here (the per-level copies would meet at link time); the tables
// the loops need come from the driver (pool2d.cpp).
//
// The channel axis is the contiguous one in NHWC, so the loops run across the channels of a
// pixel, `Lanes<T>::width` at a time: each group of channels stays in registers while its
// window is walked (max with argmax by compare + blend, sums by adds) and is stored once.
// The last group of a pixel is masked rather than finished one channel at a time: with
// plain loops the compiler leaves the remainder to scalar code that branches on each
// comparison, which on random data made max pooling at 6 channels (LeNet-5) 6x slower per
// element than at 8 (benchmarks/README.md).
#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "pool2d.hpp"

namespace tl::pool2d::TL_ISA_NS {
namespace {

using Span = Range<int64_t>;

// `width` channels of T and their int32 argmax indices, with what the kernels do to them:
// masked loads and stores of the first n lanes, the max rule (`takes`: lanes where v
// replaces m: v > m, or v is NaN, torch's rule) and its blends, the masked add of the max's
// gradient (`add_where`: d + g where the argmax equals k).
template <class T>
struct Lanes;

#if defined(__AVX512F__)
template <>
struct Lanes<float> {
  static constexpr int width = 16;
  using V = __m512;
  using I = __m512i;
  using Mask = __mmask16;
  using Take = __mmask16;
  static Mask first(int64_t n) { return n >= width ? Mask(0xffff) : Mask((1u << n) - 1); }
  static V load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, V v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static I load(const int32_t* p, Mask m) { return _mm512_maskz_loadu_epi32(m, p); }
  static void store(int32_t* p, I v, Mask m) { _mm512_mask_storeu_epi32(p, m, v); }
  static V zero() { return _mm512_setzero_ps(); }
  static V set(float x) { return _mm512_set1_ps(x); }
  static I index(int32_t k) { return _mm512_set1_epi32(k); }
  static V add(V a, V b) { return _mm512_add_ps(a, b); }
  static V mul(V a, V b) { return _mm512_mul_ps(a, b); }
  static Take takes(V v, V m) {
    return _mm512_cmp_ps_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
  }
  static V select(Take t, V a, V b) { return _mm512_mask_blend_ps(t, a, b); }
  static I select(Take t, I a, I b) { return _mm512_mask_blend_epi32(t, a, b); }
  static V add_where(V d, I a, I k, V g) {
    return _mm512_mask_add_ps(d, _mm512_cmpeq_epi32_mask(a, k), d, g);
  }
};

template <>
struct Lanes<double> {
  static constexpr int width = 8;
  using V = __m512d;
  using I = __m256i;
  using Mask = __mmask8;
  using Take = __mmask8;
  static Mask first(int64_t n) { return n >= width ? Mask(0xff) : Mask((1u << n) - 1); }
  static V load(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(double* p, V v, Mask m) { _mm512_mask_storeu_pd(p, m, v); }
  static I load(const int32_t* p, Mask m) { return _mm256_maskz_loadu_epi32(m, p); }
  static void store(int32_t* p, I v, Mask m) { _mm256_mask_storeu_epi32(p, m, v); }
  static V zero() { return _mm512_setzero_pd(); }
  static V set(double x) { return _mm512_set1_pd(x); }
  static I index(int32_t k) { return _mm256_set1_epi32(k); }
  static V add(V a, V b) { return _mm512_add_pd(a, b); }
  static V mul(V a, V b) { return _mm512_mul_pd(a, b); }
  static Take takes(V v, V m) {
    return _mm512_cmp_pd_mask(v, m, _CMP_GT_OQ) | _mm512_cmp_pd_mask(v, v, _CMP_UNORD_Q);
  }
  static V select(Take t, V a, V b) { return _mm512_mask_blend_pd(t, a, b); }
  static I select(Take t, I a, I b) { return _mm256_mask_blend_epi32(t, a, b); }
  static V add_where(V d, I a, I k, V g) {
    return _mm512_mask_add_pd(d, _mm256_cmpeq_epi32_mask(a, k), d, g);
  }
};
#elif defined(__AVX2__)
// Masked loads and stores only for a pixel's last, partial group: AVX2's masked stores are
// slow on AMD cores, and a full group takes the plain ones (the branch is the same every
// pixel, so it is predicted).
template <>
struct Lanes<float> {
  static constexpr int width = 8;
  using V = __m256;
  using I = __m256i;
  struct Mask {
    __m256i lanes;
    bool full;
  };
  using Take = __m256;
  static Mask first(int64_t n) {
    const int k = n >= width ? width : static_cast<int>(n);
    return {_mm256_cmpgt_epi32(_mm256_set1_epi32(k), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7)),
            n >= width};
  }
  static V load(const float* p, Mask m) {
    return m.full ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, m.lanes);
  }
  static void store(float* p, V v, Mask m) {
    if (m.full)
      _mm256_storeu_ps(p, v);
    else
      _mm256_maskstore_ps(p, m.lanes, v);
  }
  static I load(const int32_t* p, Mask m) {
    return m.full ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p))
                  : _mm256_maskload_epi32(p, m.lanes);
  }
  static void store(int32_t* p, I v, Mask m) {
    if (m.full)
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), v);
    else
      _mm256_maskstore_epi32(p, m.lanes, v);
  }
  static V zero() { return _mm256_setzero_ps(); }
  static V set(float x) { return _mm256_set1_ps(x); }
  static I index(int32_t k) { return _mm256_set1_epi32(k); }
  static V add(V a, V b) { return _mm256_add_ps(a, b); }
  static V mul(V a, V b) { return _mm256_mul_ps(a, b); }
  static Take takes(V v, V m) {
    return _mm256_or_ps(_mm256_cmp_ps(v, m, _CMP_GT_OQ), _mm256_cmp_ps(v, v, _CMP_UNORD_Q));
  }
  static V select(Take t, V a, V b) { return _mm256_blendv_ps(a, b, t); }
  static I select(Take t, I a, I b) {
    return _mm256_castps_si256(
        _mm256_blendv_ps(_mm256_castsi256_ps(a), _mm256_castsi256_ps(b), t));
  }
  static V add_where(V d, I a, I k, V g) {
    return _mm256_add_ps(d, _mm256_and_ps(_mm256_castsi256_ps(_mm256_cmpeq_epi32(a, k)), g));
  }
};

// Four doubles; their indices are four int32 in an SSE register, so the 64-bit lane masks of
// the double compares are narrowed to 32-bit lanes for the index blends, and the index
// compares widened for the masked add.
template <>
struct Lanes<double> {
  static constexpr int width = 4;
  using V = __m256d;
  using I = __m128i;
  struct Mask {
    __m256i lanes;   // 64-bit lanes, for the doubles
    __m128i lanes32; // 32-bit lanes, for the indices
    bool full;
  };
  using Take = __m256d;
  static Mask first(int64_t n) {
    const int k = n >= width ? width : static_cast<int>(n);
    const __m128i m32 = _mm_cmpgt_epi32(_mm_set1_epi32(k), _mm_setr_epi32(0, 1, 2, 3));
    return {_mm256_cvtepi32_epi64(m32), m32, n >= width};
  }
  static V load(const double* p, Mask m) {
    return m.full ? _mm256_loadu_pd(p) : _mm256_maskload_pd(p, m.lanes);
  }
  static void store(double* p, V v, Mask m) {
    if (m.full)
      _mm256_storeu_pd(p, v);
    else
      _mm256_maskstore_pd(p, m.lanes, v);
  }
  static I load(const int32_t* p, Mask m) {
    return m.full ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(p))
                  : _mm_maskload_epi32(p, m.lanes32);
  }
  static void store(int32_t* p, I v, Mask m) {
    if (m.full)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p), v);
    else
      _mm_maskstore_epi32(p, m.lanes32, v);
  }
  static V zero() { return _mm256_setzero_pd(); }
  static V set(double x) { return _mm256_set1_pd(x); }
  static I index(int32_t k) { return _mm_set1_epi32(k); }
  static V add(V a, V b) { return _mm256_add_pd(a, b); }
  static V mul(V a, V b) { return _mm256_mul_pd(a, b); }
  static Take takes(V v, V m) {
    return _mm256_or_pd(_mm256_cmp_pd(v, m, _CMP_GT_OQ), _mm256_cmp_pd(v, v, _CMP_UNORD_Q));
  }
  static V select(Take t, V a, V b) { return _mm256_blendv_pd(a, b, t); }
  static I select(Take t, I a, I b) {
    const __m256i narrow = _mm256_permutevar8x32_epi32(_mm256_castpd_si256(t),
                                                       _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6));
    return _mm_blendv_epi8(a, b, _mm256_castsi256_si128(narrow));
  }
  static V add_where(V d, I a, I k, V g) {
    const __m256i wide = _mm256_cvtepi32_epi64(_mm_cmpeq_epi32(a, k));
    return _mm256_add_pd(d, _mm256_and_pd(_mm256_castsi256_pd(wide), g));
  }
};
#else
// The portable baseline: one channel at a time.
template <class T>
struct Lanes {
  static constexpr int width = 1;
  using V = T;
  using I = int32_t;
  using Mask = bool;
  using Take = bool;
  static Mask first(int64_t) { return true; }
  static V load(const T* p, Mask) { return *p; }
  static void store(T* p, V v, Mask) { *p = v; }
  static I load(const int32_t* p, Mask) { return *p; }
  static void store(int32_t* p, I v, Mask) { *p = v; }
  static V zero() { return T(0); }
  static V set(T x) { return x; }
  static I index(int32_t k) { return k; }
  static V add(V a, V b) { return a + b; }
  static V mul(V a, V b) { return a * b; }
  static Take takes(V v, V m) { return (v > m) | (v != v); }
  static V select(Take t, V a, V b) { return t ? b : a; }
  static I select(Take t, I a, I b) { return t ? b : a; }
  static V add_where(V d, I a, I k, V g) { return a == k ? d + g : d; }
};
#endif

// o (and a) = the maximum (and its argmax) over the window rh x rw of the image x, for each
// group of channels: the first element of the window, then the others in row-major order.
template <class T>
void max_window(const T* x, const Geometry& g, Span rh, Span rw, T* o, int32_t* a) {
  using L = Lanes<T>;
  const int64_t first = rh.begin * g.w + rw.begin;
  for (int64_t j = 0; j < g.c; j += L::width) {
    const typename L::Mask m = L::first(g.c - j);
    typename L::V best = L::load(x + first * g.c + j, m);
    typename L::I arg = L::index(static_cast<int32_t>(first));
    for (int64_t ih = rh.begin; ih < rh.end; ++ih)
      for (int64_t iw = ih == rh.begin ? rw.begin + 1 : rw.begin; iw < rw.end; ++iw) {
        const int64_t k = ih * g.w + iw;
        const typename L::V v = L::load(x + k * g.c + j, m);
        const typename L::Take t = L::takes(v, best);
        best = L::select(t, best, v);
        arg = L::select(t, arg, L::index(static_cast<int32_t>(k)));
      }
    L::store(o + j, best, m);
    L::store(a + j, arg, m);
  }
}

// o = the sum over the window rh x rw of the image x (valid elements, row-major) times
// `inverse` (1 / their count).
template <class T>
void average_window(const T* x, const Geometry& g, Span rh, Span rw, T inverse, T* o) {
  using L = Lanes<T>;
  const int64_t first = rh.begin * g.w + rw.begin;
  for (int64_t j = 0; j < g.c; j += L::width) {
    const typename L::Mask m = L::first(g.c - j);
    typename L::V sum = L::load(x + first * g.c + j, m);
    for (int64_t ih = rh.begin; ih < rh.end; ++ih)
      for (int64_t iw = ih == rh.begin ? rw.begin + 1 : rw.begin; iw < rw.end; ++iw)
        sum = L::add(sum, L::load(x + (ih * g.w + iw) * g.c + j, m));
    L::store(o + j, L::mul(sum, L::set(inverse)), m);
  }
}

// Windows that tile the image (pool size = stride, all inside it: no padding; the 2 x 2
// pooling of LeNet-5 and most CNNs) need no clipping, and backward no gathering: each input
// element lies in one window at most. Their row loops read the geometry once and hold each
// channel group's mask over the row; the per-window loops above took 21 us forward and 36
// backward on LeNet-5's 32 x 28 x 28 x 6 average pooling, these 14 and 13.
inline bool tiles(const Geometry& g) {
  return g.kh == g.sh && g.kw == g.sw && g.pad_top == 0 && g.pad_left == 0 &&
         g.oh * g.kh <= g.h && g.ow * g.kw <= g.w;
}

// Output row oy of the image x, o (and a), when the windows tile it: max_window's and
// average_window's values, in their order.
template <class T>
void tiled_forward_row(const T* x, const Geometry& g, Mode mode, T scale, int64_t oy, T* o,
                       int32_t* a) {
  using L = Lanes<T>;
  const int64_t c = g.c, kh = g.kh, kw = g.kw, w = g.w;
  const typename L::V s = L::set(scale);
  for (int64_t j = 0; j < c; j += L::width) {
    const typename L::Mask m = L::first(c - j);
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      const int64_t first = oy * kh * w + ox * kw;
      const T* p = x + first * c + j;
      if (mode == Mode::average) {
        typename L::V sum = L::load(p, m);
        for (int64_t dw = 1; dw < kw; ++dw) sum = L::add(sum, L::load(p + dw * c, m));
        for (int64_t dh = 1; dh < kh; ++dh)
          for (int64_t dw = 0; dw < kw; ++dw)
            sum = L::add(sum, L::load(p + (dh * w + dw) * c, m));
        L::store(o + ox * c + j, L::mul(sum, s), m);
        continue;
      }
      typename L::V best = L::load(p, m);
      typename L::I arg = L::index(static_cast<int32_t>(first));
      for (int64_t dh = 0; dh < kh; ++dh)
        for (int64_t dw = dh == 0 ? 1 : 0; dw < kw; ++dw) {
          const typename L::V v = L::load(p + (dh * w + dw) * c, m);
          const typename L::Take t = L::takes(v, best);
          best = L::select(t, best, v);
          arg = L::select(t, arg, L::index(static_cast<int32_t>(first + dh * w + dw)));
        }
      L::store(o + ox * c + j, best, m);
      L::store(a + ox * c + j, arg, m);
    }
  }
}

template <class T>
void forward_rows(const T* x, const Geometry& g, const Tables<T>& t, Mode mode,
                  int64_t row_begin, int64_t row_end, T* out, int32_t* argmax) {
  const int64_t plane = g.h * g.w * g.c;
  const bool tiled = tiles(g);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const T* image = x + (r / g.oh) * plane;
    const int64_t oy = r % g.oh;
    if (tiled) {
      const int64_t o = r * g.ow * g.c;
      tiled_forward_row(image, g, mode, mode == Mode::average ? t.inverse_count[0] : T(1), oy,
                        out + o, mode == Mode::max ? argmax + o : nullptr);
      continue;
    }
    const Span rh = window(oy, g.kh, g.sh, g.pad_top, g.h);
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      const Span rw = window(ox, g.kw, g.sw, g.pad_left, g.w);
      const int64_t o = (r * g.ow + ox) * g.c;
      if (mode == Mode::max)
        max_window(image, g, rh, rw, out + o, argmax + o);
      else
        average_window(image, g, rh, rw, t.inverse_count[oy * g.ow + ox], out + o);
    }
  }
}

// d = the sum, over the outputs oh x ow whose windows hold input element k, of the output
// gradient where the argmax is k (max) or of the gradient over the window's count (average),
// in increasing output order, for each group of channels.
template <class T>
void gather_pixel(const T* grad, const int32_t* argmax, const Geometry& g, const Tables<T>& t,
                  Mode mode, Span oh, Span ow, int32_t k, T* d) {
  using L = Lanes<T>;
  const typename L::I key = L::index(k);
  if (oh.end - oh.begin == 1 && ow.end - ow.begin == 1) {
    // One window holds the element (pool size = stride, global pooling): a plain pass.
    const int64_t o = (oh.begin * g.ow + ow.begin) * g.c;
    const typename L::V scale = L::set(mode == Mode::max ? T(1) : t.inverse_count[o / g.c]);
    for (int64_t j = 0; j < g.c; j += L::width) {
      const typename L::Mask m = L::first(g.c - j);
      const typename L::V gv = L::load(grad + o + j, m);
      const typename L::V dv = mode == Mode::max
                                   ? L::add_where(L::zero(), L::load(argmax + o + j, m), key, gv)
                                   : L::mul(gv, scale);
      L::store(d + j, dv, m);
    }
    return;
  }
  for (int64_t j = 0; j < g.c; j += L::width) {
    const typename L::Mask m = L::first(g.c - j);
    typename L::V sum = L::zero();
    for (int64_t y = oh.begin; y < oh.end; ++y)
      for (int64_t x = ow.begin; x < ow.end; ++x) {
        const int64_t o = (y * g.ow + x) * g.c + j;
        const typename L::V gv = L::load(grad + o, m);
        if (mode == Mode::max)
          sum = L::add_where(sum, L::load(argmax + o, m), key, gv);
        else
          sum = L::add(sum, L::mul(gv, L::set(t.inverse_count[y * g.ow + x])));
      }
    L::store(d + j, sum, m);
  }
}

// Input row ih of dx, d, when the windows tile the image: each window's gradient (in its
// row of outputs `grad`, `arg`) is loaded once and stored to the window's elements in the
// row, gather_pixel's one-window values; the columns past the last window get zeros.
template <class T>
void tiled_backward_row(const T* grad, const int32_t* arg, const Geometry& g, Mode mode,
                        T scale, int64_t ih, T* d) {
  using L = Lanes<T>;
  const int64_t c = g.c, kw = g.kw;
  const typename L::V s = L::set(scale);
  for (int64_t j = 0; j < c; j += L::width) {
    const typename L::Mask m = L::first(c - j);
    for (int64_t ox = 0; ox < g.ow; ++ox) {
      const typename L::V gv = L::load(grad + ox * c + j, m);
      T* out = d + ox * kw * c + j;
      if (mode == Mode::average) {
        const typename L::V v = L::mul(gv, s);
        for (int64_t dw = 0; dw < kw; ++dw) L::store(out + dw * c, v, m);
        continue;
      }
      const typename L::I a = L::load(arg + ox * c + j, m);
      const int32_t k = static_cast<int32_t>(ih * g.w + ox * kw);
      for (int64_t dw = 0; dw < kw; ++dw)
        L::store(out + dw * c, L::add_where(L::zero(), a, L::index(k + int32_t(dw)), gv), m);
    }
  }
  for (int64_t e = g.ow * kw * c; e < g.w * c; ++e) d[e] = T(0);
}

template <class T>
void backward_rows(const T* grad_out, const int32_t* argmax, const Geometry& g,
                   const Tables<T>& t, Mode mode, int64_t row_begin, int64_t row_end, T* dx) {
  const int64_t out_plane = g.oh * g.ow * g.c;
  const bool tiled = tiles(g);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const int64_t image = r / g.h, ih = r % g.h;
    const T* grad = grad_out + image * out_plane;
    const int32_t* arg = mode == Mode::max ? argmax + image * out_plane : nullptr;
    if (tiled) {
      const int64_t oy = ih / g.kh, o = oy * g.ow * g.c;
      T* d = dx + r * g.w * g.c;
      if (oy < g.oh)
        tiled_backward_row(grad + o, arg ? arg + o : nullptr, g, mode,
                           mode == Mode::average ? t.inverse_count[0] : T(1), ih, d);
      else
        for (int64_t e = 0; e < g.w * g.c; ++e) d[e] = T(0);
      continue;
    }
    for (int64_t iw = 0; iw < g.w; ++iw)
      gather_pixel(grad, arg, g, t, mode, t.cover_h[ih], t.cover_w[iw],
                   static_cast<int32_t>(ih * g.w + iw), dx + (r * g.w + iw) * g.c);
  }
}

template <class T>
constexpr Kernels<T> table{forward_rows<T>, backward_rows<T>};

}  // namespace

const Kernels<float>& kernels_f32() { return table<float>; }
const Kernels<double>& kernels_f64() { return table<double>; }

}  // namespace tl::pool2d::TL_ISA_NS
