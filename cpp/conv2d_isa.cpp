// The direct convolution loops of the conv2d family, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags). The register-blocked loops of
// general convolutions, those of single-channel inputs and the scatter data gradient exist
// at the AVX-512 level only: the BLAS that SciPy ships is held to AVX2 here
// (OPENBLAS_CORETYPE=Haswell) and on many machines, so they beat im2col + that GEMM
// (benchmarks/README.md), while at the other levels im2col + BLAS runs. The depthwise loops
// (one filter per channel: no GEMM to speak of) exist at every level, in vectors across the
// channels. Like dense_isa.cpp, no std:: templates are instantiated here (the per-level
// copies would meet at link time).
#include <cstdint>

#include "conv2d.hpp"
#include "simd.hpp"

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace tl::conv2d::TL_ISA_NS {
namespace {

// --- depthwise: out channel ch * m + j is input channel ch through filter j ----------------

using ::tl::TL_ISA_NS::simd::Scalar;
using ::tl::TL_ISA_NS::simd::Vec;

// The m == 1 loops (every channel through one filter) hold register blocks of channel
// vectors: R pixels sharing each weight load (forward), K taps sharing each delta load
// (filter gradient), K taps' weights held over the pixels (data gradient). Each runs the
// channels from ch in vectors of V and returns where it stopped (Scalar<T> does the tail).
constexpr int kDepthwisePixels = 4;
constexpr int kDepthwiseTaps = 8;

// o[r][ch] = sum over taps t of a[r][tap_off[t] + ch] * w[t * c + ch].
template <class T, class V, int R>
int64_t depthwise_forward_block(const T* const* a, const int64_t* tap_off, int64_t taps,
                                const T* w, int64_t c, int64_t ch, T* const* o) {
  for (; ch + V::width <= c; ch += V::width) {
    V acc[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r] = V::set1(T(0));
    for (int64_t t = 0; t < taps; ++t) {
      const V wv = V::load(w + t * c + ch);
      const int64_t off = tap_off[t] + ch;
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) acc[r] = acc[r] + V::load(a[r] + off) * wv;
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r].store(o[r] + ch);
  }
  return ch;
}

template <class T, int R>
void depthwise_forward_pixels(const T* in, const int64_t* pix_off, const int64_t* tap_off,
                              int64_t taps, int64_t c, const T* w, T* out) {
  const T* a[R];
  T* o[R];
  for (int r = 0; r < R; ++r) {
    a[r] = in + pix_off[r];
    o[r] = out + r * c;
  }
  const int64_t ch = depthwise_forward_block<T, Vec<T>, R>(a, tap_off, taps, w, c, 0, o);
  depthwise_forward_block<T, Scalar<T>, R>(a, tap_off, taps, w, c, ch, o);
}

// dw[k * c + ch] += sum over pixels p of in[pix_off[p] + tap_off[k] + ch] * d[p * c + ch].
template <class T, class V, int K>
int64_t depthwise_filter_block(const T* in, const int64_t* pix_off, int64_t pixels,
                               const int64_t* tap_off, const T* d, int64_t c, int64_t ch, T* dw) {
  for (; ch + V::width <= c; ch += V::width) {
    V acc[K];
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) acc[k] = V::set1(T(0));
    for (int64_t p = 0; p < pixels; ++p) {
      const V dv = V::load(d + p * c + ch);
      const T* a = in + pix_off[p] + ch;
#pragma GCC unroll 8
      for (int k = 0; k < K; ++k) acc[k] = acc[k] + V::load(a + tap_off[k]) * dv;
    }
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) (V::load(dw + k * c + ch) + acc[k]).store(dw + k * c + ch);
  }
  return ch;
}

// din[pix_off[p] + tap_off[k] + ch] += d[p * c + ch] * w[k * c + ch].
template <class T, class V, int K>
int64_t depthwise_data_block(const T* d, const int64_t* pix_off, int64_t pixels,
                             const int64_t* tap_off, const T* w, int64_t c, int64_t ch, T* din) {
  for (; ch + V::width <= c; ch += V::width) {
    V wv[K];
#pragma GCC unroll 8
    for (int k = 0; k < K; ++k) wv[k] = V::load(w + k * c + ch);
    for (int64_t p = 0; p < pixels; ++p) {
      const V dv = V::load(d + p * c + ch);
      T* o = din + pix_off[p] + ch;
#pragma GCC unroll 8
      for (int k = 0; k < K; ++k) (V::load(o + tap_off[k]) + dv * wv[k]).store(o + tap_off[k]);
    }
  }
  return ch;
}

// The last K taps (1..kDepthwiseTaps) of a kernel: the blocks of that size.
template <class T, int K>
void depthwise_filter_taps(int taps, const T* in, const int64_t* pix_off, int64_t pixels,
                           const int64_t* tap_off, const T* d, int64_t c, T* dw) {
  if constexpr (K > 1)
    if (taps < K) return depthwise_filter_taps<T, K - 1>(taps, in, pix_off, pixels, tap_off, d, c, dw);
  const int64_t ch = depthwise_filter_block<T, Vec<T>, K>(in, pix_off, pixels, tap_off, d, c, 0, dw);
  depthwise_filter_block<T, Scalar<T>, K>(in, pix_off, pixels, tap_off, d, c, ch, dw);
}

template <class T, int K>
void depthwise_data_taps(int taps, const T* d, const int64_t* pix_off, int64_t pixels,
                         const int64_t* tap_off, const T* w, int64_t c, T* din) {
  if constexpr (K > 1)
    if (taps < K) return depthwise_data_taps<T, K - 1>(taps, d, pix_off, pixels, tap_off, w, c, din);
  const int64_t ch = depthwise_data_block<T, Vec<T>, K>(d, pix_off, pixels, tap_off, w, c, 0, din);
  depthwise_data_block<T, Scalar<T>, K>(d, pix_off, pixels, tap_off, w, c, ch, din);
}

// out[p * f + ch * m + j] = sum over taps t of in[pix_off[p] + tap_off[t] + ch] *
// w[t * f + ch * m + j] (f = c * m).
template <class T>
void depthwise_forward(const T* in, const int64_t* pix_off, int64_t pixels,
                       const int64_t* tap_off, int64_t taps, int64_t c, int64_t m, const T* w,
                       T* out) {
  const int64_t f = c * m;
  if (m == 1) {
    int64_t p = 0;
    for (; p + kDepthwisePixels <= pixels; p += kDepthwisePixels)
      depthwise_forward_pixels<T, kDepthwisePixels>(in, pix_off + p, tap_off, taps, c, w, out + p * c);
    for (; p < pixels; ++p) depthwise_forward_pixels<T, 1>(in, pix_off + p, tap_off, taps, c, w, out + p * c);
    return;
  }
  for (int64_t p = 0; p < pixels; ++p) {
    const T* a = in + pix_off[p];
    T* o = out + p * f;
    for (int64_t j = 0; j < f; ++j) o[j] = T(0);
    for (int64_t t = 0; t < taps; ++t)
      for (int64_t ch = 0; ch < c; ++ch) {
        const T v = a[tap_off[t] + ch];
        const T* wt = w + t * f + ch * m;
        for (int64_t j = 0; j < m; ++j) o[ch * m + j] += v * wt[j];
      }
  }
}

// dw[t * f + ch * m + j] += sum over pixels p of in[pix_off[p] + tap_off[t] + ch] *
// d[p * f + ch * m + j].
template <class T>
void depthwise_filter(const T* in, const int64_t* pix_off, int64_t pixels,
                      const int64_t* tap_off, int64_t taps, int64_t c, int64_t m, const T* d,
                      T* dw) {
  const int64_t f = c * m;
  if (m == 1) {
    for (int64_t t = 0; t < taps; t += kDepthwiseTaps) {
      const int k = static_cast<int>(taps - t < kDepthwiseTaps ? taps - t : kDepthwiseTaps);
      depthwise_filter_taps<T, kDepthwiseTaps>(k, in, pix_off, pixels, tap_off + t, d, c, dw + t * c);
    }
    return;
  }
  for (int64_t p = 0; p < pixels; ++p)
    for (int64_t t = 0; t < taps; ++t) {
      const T* a = in + pix_off[p] + tap_off[t];
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t j = 0; j < m; ++j) dw[t * f + ch * m + j] += a[ch] * d[p * f + ch * m + j];
    }
}

// din[pix_off[p] + tap_off[t] + ch] += sum over j of d[p * f + ch * m + j] * w[t * f + ch * m + j]:
// the data gradient scattered into a padded input (every stride and dilation).
template <class T>
void depthwise_data(const T* d, const int64_t* pix_off, int64_t pixels, const int64_t* tap_off,
                    int64_t taps, int64_t c, int64_t m, const T* w, T* din) {
  const int64_t f = c * m;
  if (m == 1) {
    for (int64_t t = 0; t < taps; t += kDepthwiseTaps) {
      const int k = static_cast<int>(taps - t < kDepthwiseTaps ? taps - t : kDepthwiseTaps);
      depthwise_data_taps<T, kDepthwiseTaps>(k, d, pix_off, pixels, tap_off + t, w + t * c, c, din);
    }
    return;
  }
  for (int64_t p = 0; p < pixels; ++p) {
    const T* dp = d + p * f;
    for (int64_t t = 0; t < taps; ++t) {
      T* o = din + pix_off[p] + tap_off[t];
      const T* wt = w + t * f;
      for (int64_t ch = 0; ch < c; ++ch) {
        T s = 0;
        for (int64_t j = 0; j < m; ++j) s += dp[ch * m + j] * wt[ch * m + j];
        o[ch] += s;
      }
    }
  }
}

#if defined(__AVX512F__)

template <class T>
struct Lanes;

template <>
struct Lanes<float> {
  using Reg = __m512;
  using Mask = __mmask16;
  static constexpr int width = 16;
  static Reg zero() { return _mm512_setzero_ps(); }
  static Reg set1(float x) { return _mm512_set1_ps(x); }
  static Reg load(const float* p) { return _mm512_loadu_ps(p); }
  static Reg load(const float* p, Mask m) { return _mm512_maskz_loadu_ps(m, p); }
  static void store(float* p, Reg v, Mask m) { _mm512_mask_storeu_ps(p, m, v); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_ps(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm512_add_ps(a, b); }
  static float sum(Reg a) {  // GCC 12's _mm512_reduce_add_ps trips -Werror=uninitialized
    float v[16];
    _mm512_storeu_ps(v, a);
    float s = 0;
    for (float x : v) s += x;
    return s;
  }
  static Mask first(int64_t n) { return n >= 16 ? Mask(0xFFFF) : Mask((1u << n) - 1u); }
  // Lane l at p[l * stride] (stride < 2^27).
  using Index = __m512i;
  static Index strided(int64_t stride) {
    return _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                              _mm512_set1_epi32(static_cast<int>(stride)));
  }
  static Reg gather(const float* p, Index idx, Mask m) {
    return _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, p, 4);
  }
};

template <>
struct Lanes<double> {
  using Reg = __m512d;
  using Mask = __mmask8;
  static constexpr int width = 8;
  static Reg zero() { return _mm512_setzero_pd(); }
  static Reg set1(double x) { return _mm512_set1_pd(x); }
  static Reg load(const double* p) { return _mm512_loadu_pd(p); }
  static Reg load(const double* p, Mask m) { return _mm512_maskz_loadu_pd(m, p); }
  static void store(double* p, Reg v, Mask m) { _mm512_mask_storeu_pd(p, m, v); }
  static Reg fma(Reg a, Reg b, Reg c) { return _mm512_fmadd_pd(a, b, c); }
  static Reg add(Reg a, Reg b) { return _mm512_add_pd(a, b); }
  static double sum(Reg a) {
    double v[8];
    _mm512_storeu_pd(v, a);
    double s = 0;
    for (double x : v) s += x;
    return s;
  }
  static Mask first(int64_t n) { return n >= 8 ? Mask(0xFF) : Mask((1u << n) - 1u); }
  using Index = __m256i;
  static Index strided(int64_t stride) {
    return _mm256_mullo_epi32(_mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
                              _mm256_set1_epi32(static_cast<int>(stride)));
  }
  static Reg gather(const double* p, Index idx, Mask m) {
    return _mm512_mask_i32gather_pd(_mm512_setzero_pd(), m, idx, p, 8);
  }
};

// The register block: R rows (pixels, or channels for the filter gradient) x V vectors of
// filters, R * V accumulators + V operand vectors + 1 broadcast within the 32 zmm registers.
// Each step loads V vectors and R scalars for R * V FMAs.
template <int V>
constexpr int kRows = V == 4 ? 6 : V == 3 ? 8 : V == 2 ? 12 : 14;

// Loads the V vectors of a row, the last one masked (filters past nf are zero).
template <class T, int V>
inline void load_row(const T* p, typename Lanes<T>::Mask last, typename Lanes<T>::Reg* out) {
  using L = Lanes<T>;
#pragma GCC unroll 4
  for (int v = 0; v < V - 1; ++v) out[v] = L::load(p + v * L::width);
  out[V - 1] = L::load(p + (V - 1) * L::width, last);
}

// out[r * ldo + 0:nf] (+)= sum over kernel rows k of in[pix_off[r] + koff[k]] *
// w[k * ldw + 0:nf], for R output pixels and V vectors of filters; `accumulate` adds to out.
template <class T, int R, int V>
void forward_block(const T* in, const int64_t* pix_off, const int64_t* koff, int64_t rows,
                   const T* w, int64_t ldw, typename Lanes<T>::Mask last, T* out, int64_t ldo,
                   bool accumulate) {
  using L = Lanes<T>;
  typename L::Reg acc[R][V];
  const T* a[R];
  const typename L::Mask full = L::first(L::width);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    a[r] = in + pix_off[r];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v)
      acc[r][v] = accumulate ? L::load(out + r * ldo + v * L::width, v == V - 1 ? last : full)
                             : L::zero();
  }
  for (int64_t k = 0; k < rows; ++k) {
    const int64_t off = koff[k];
    typename L::Reg wv[V];
    load_row<T, V>(w + k * ldw, last, wv);
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const typename L::Reg b = L::set1(a[r][off]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r][v] = L::fma(b, wv[v], acc[r][v]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) L::store(out + r * ldo + v * L::width, acc[r][v], v == V - 1 ? last : full);
}

// dw[r * ldw + 0:nf] += sum over pixels p of in[pix_off[p] + koff[r]] * d[p * ldd + 0:nf], for
// R kernel rows and V vectors of filters: the accumulators stay in registers over the whole
// pixel block.
template <class T, int R, int V>
void filter_block(const T* in, const int64_t* koff, const int64_t* pix_off, int64_t pixels,
                  const T* d, int64_t ldd, typename Lanes<T>::Mask last, T* dw, int64_t ldw) {
  using L = Lanes<T>;
  typename L::Reg acc[R][V];
  int64_t off[R];
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r) {
    off[r] = koff[r];
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) acc[r][v] = L::zero();
  }
  for (int64_t p = 0; p < pixels; ++p) {
    typename L::Reg dv[V];
    load_row<T, V>(d + p * ldd, last, dv);
    const T* a = in + pix_off[p];
#pragma GCC unroll 16
    for (int r = 0; r < R; ++r) {
      const typename L::Reg b = L::set1(a[off[r]]);
#pragma GCC unroll 4
      for (int v = 0; v < V; ++v) acc[r][v] = L::fma(b, dv[v], acc[r][v]);
    }
  }
  const typename L::Mask full = L::first(L::width);
#pragma GCC unroll 16
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 4
    for (int v = 0; v < V; ++v) {
      T* p = dw + r * ldw + v * L::width;
      const typename L::Mask m = v == V - 1 ? last : full;
      L::store(p, L::add(L::load(p, m), acc[r][v]), m);
    }
}

// The last rows < kRows<V> (pixels, or kernel rows): the block of that height.
template <class T, int R, int V>
void forward_tail(int rows, const T* in, const int64_t* pix_off, const int64_t* koff,
                  int64_t k_count, const T* w, int64_t ldw, typename Lanes<T>::Mask last, T* out,
                  int64_t ldo, bool accumulate) {
  if constexpr (R > 0) {
    if (rows == R)
      return forward_block<T, R, V>(in, pix_off, koff, k_count, w, ldw, last, out, ldo, accumulate);
    forward_tail<T, R - 1, V>(rows, in, pix_off, koff, k_count, w, ldw, last, out, ldo, accumulate);
  }
}

template <class T, int R, int V>
void filter_tail(int rows, const T* in, const int64_t* koff, const int64_t* pix_off,
                 int64_t pixels, const T* d, int64_t ldd, typename Lanes<T>::Mask last, T* dw,
                 int64_t ldw) {
  if constexpr (R > 0) {
    if (rows == R) return filter_block<T, R, V>(in, koff, pix_off, pixels, d, ldd, last, dw, ldw);
    filter_tail<T, R - 1, V>(rows, in, koff, pix_off, pixels, d, ldd, last, dw, ldw);
  }
}

// At most this many kernel rows per pass over the pixels, in equal chunks: the weights a pass
// streams for every block of pixels (4 vectors, 256 bytes a row) stay in L2 next to the tile.
// Whole 3 x 3 x 256 kernels (2304 rows, 590 KB) fell out to L3 once the tile joined them:
// 151-164 GFLOP/s, 186-212 in two chunks; 3 x 3 x 128 (295 KB) runs at 240 in one.
constexpr int64_t kMaxChunkRows = 1536;

template <class T, int V>
void forward_vectors(const T* in, const int64_t* pix_off, int64_t pixels, const int64_t* koff,
                     int64_t k_count, const T* w, int64_t ldw, typename Lanes<T>::Mask last,
                     T* out, int64_t ldo) {
  constexpr int R = kRows<V>;
  const int64_t chunks = (k_count + kMaxChunkRows - 1) / kMaxChunkRows;
  const int64_t chunk = (k_count + chunks - 1) / chunks;
  for (int64_t k0 = 0; k0 < k_count; k0 += chunk) {
    const int64_t rows = k_count - k0 < chunk ? k_count - k0 : chunk;
    const bool accumulate = k0 > 0;
    int64_t p = 0;
    for (; p + R <= pixels; p += R)
      forward_block<T, R, V>(in, pix_off + p, koff + k0, rows, w + k0 * ldw, ldw, last,
                             out + p * ldo, ldo, accumulate);
    if (p < pixels)
      forward_tail<T, R - 1, V>(static_cast<int>(pixels - p), in, pix_off + p, koff + k0, rows,
                                w + k0 * ldw, ldw, last, out + p * ldo, ldo, accumulate);
  }
}

template <class T, int V>
void filter_vectors(const T* in, const int64_t* koff, int64_t k_count, const int64_t* pix_off,
                    int64_t pixels, const T* d, int64_t ldd, typename Lanes<T>::Mask last, T* dw,
                    int64_t ldw) {
  constexpr int R = kRows<V>;
  int64_t k = 0;
  for (; k + R <= k_count; k += R)
    filter_block<T, R, V>(in, koff + k, pix_off, pixels, d, ldd, last, dw + k * ldw, ldw);
  if (k < k_count)
    filter_tail<T, R - 1, V>(static_cast<int>(k_count - k), in, koff + k, pix_off, pixels, d,
                             ldd, last, dw + k * ldw, ldw);
}

// The filters in blocks of 4 vectors; the last block has 1-4 vectors, its last one masked.
template <class T>
void forward_pixels(const T* in, const int64_t* pix_off, int64_t pixels, const int64_t* koff,
                    int64_t k_count, const T* w, int64_t ldw, int64_t nf, T* out, int64_t ldo) {
  using L = Lanes<T>;
  for (int64_t f0 = 0; f0 < nf; f0 += 4 * L::width) {
    const int64_t rem = nf - f0;
    const int nv = rem >= 4 * L::width ? 4 : static_cast<int>((rem + L::width - 1) / L::width);
    const typename L::Mask last = L::first(rem - (nv - 1) * L::width);
    switch (nv) {
      case 4: forward_vectors<T, 4>(in, pix_off, pixels, koff, k_count, w + f0, ldw, last, out + f0, ldo); break;
      case 3: forward_vectors<T, 3>(in, pix_off, pixels, koff, k_count, w + f0, ldw, last, out + f0, ldo); break;
      case 2: forward_vectors<T, 2>(in, pix_off, pixels, koff, k_count, w + f0, ldw, last, out + f0, ldo); break;
      default: forward_vectors<T, 1>(in, pix_off, pixels, koff, k_count, w + f0, ldw, last, out + f0, ldo);
    }
  }
}

template <class T>
void filter_pixels(const T* in, const int64_t* koff, int64_t k_count, const int64_t* pix_off,
                   int64_t pixels, const T* d, int64_t ldd, int64_t nf, T* dw, int64_t ldw) {
  using L = Lanes<T>;
  for (int64_t f0 = 0; f0 < nf; f0 += 4 * L::width) {
    const int64_t rem = nf - f0;
    const int nv = rem >= 4 * L::width ? 4 : static_cast<int>((rem + L::width - 1) / L::width);
    const typename L::Mask last = L::first(rem - (nv - 1) * L::width);
    switch (nv) {
      case 4: filter_vectors<T, 4>(in, koff, k_count, pix_off, pixels, d + f0, ldd, last, dw + f0, ldw); break;
      case 3: filter_vectors<T, 3>(in, koff, k_count, pix_off, pixels, d + f0, ldd, last, dw + f0, ldw); break;
      case 2: filter_vectors<T, 2>(in, koff, k_count, pix_off, pixels, d + f0, ldd, last, dw + f0, ldw); break;
      default: filter_vectors<T, 1>(in, koff, k_count, pix_off, pixels, d + f0, ldd, last, dw + f0, ldw);
    }
  }
}

// --- one input channel: vectors across the pixels of an output row ------------------------

// With c == 1 and stride 1 along rows, the taps of consecutive output pixels are consecutive
// input values, so a vector loads 16 pixels' tap at once and each weight is a broadcast;
// the loops above would run 6 of 16 lanes for LeNet-5's 6 filters. Up to kSingleFilters
// filters per block: 2 x 8 accumulators forward, 3 taps x 8 filters for the filter gradient.
constexpr int kSingleFilters = 8;
constexpr int kSingleTaps = 3;

// The mask of the lanes of pixels [x0, ow) in the vector from x0 (none when x0 >= ow).
template <class T>
typename Lanes<T>::Mask lanes_from(int64_t x0, int64_t ow) {
  return x0 < ow ? Lanes<T>::first(ow - x0) : typename Lanes<T>::Mask(0);
}

// out[(y * ow + x) * f + f0 + k], k < F, for output row y: two vectors of pixels at a time.
template <class T, int F>
void single_forward_row(const Geometry& g, const T* in, int64_t wp, int64_t y, const T* w,
                        int64_t f0, T* out) {
  using L = Lanes<T>;
  constexpr int W = L::width;
  // the geometry in locals: GCC reloads the struct's fields in the tap loop otherwise
  const int64_t ow = g.ow, nf = g.f, kh = g.kh, kw = g.kw, dil_w = g.dilation_w;
  const int64_t row_step = g.dilation_h * wp;
  const T* first = in + y * g.stride_h * wp;
  for (int64_t x0 = 0; x0 < ow; x0 += 2 * W) {
    const typename L::Mask m0 = lanes_from<T>(x0, ow), m1 = lanes_from<T>(x0 + W, ow);
    typename L::Reg acc[2][F];
#pragma GCC unroll 8
    for (int k = 0; k < F; ++k) acc[0][k] = acc[1][k] = L::zero();
    const T* wt = w + f0;  // tap (i, j)'s weights, nf apart
    for (int64_t i = 0; i < kh; ++i) {
      const T* a = first + i * row_step + x0;
      for (int64_t j = 0; j < kw; ++j, a += dil_w, wt += nf) {
        const typename L::Reg a0 = L::load(a, m0), a1 = L::load(a + W, m1);
#pragma GCC unroll 8
        for (int k = 0; k < F; ++k) {
          const typename L::Reg b = L::set1(wt[k]);
          acc[0][k] = L::fma(a0, b, acc[0][k]);
          acc[1][k] = L::fma(a1, b, acc[1][k]);
        }
      }
    }
    T planar[F][2 * W];  // the block by filter, then written interleaved (scatters: slower)
#pragma GCC unroll 8
    for (int k = 0; k < F; ++k) {
      L::store(planar[k], acc[0][k], L::first(W));
      L::store(planar[k] + W, acc[1][k], L::first(W));
    }
    const int64_t n = ow - x0 < 2 * W ? ow - x0 : 2 * W;
    T* o = out + (y * ow + x0) * nf + f0;
    for (int64_t x = 0; x < n; ++x, o += nf)
#pragma GCC unroll 8
      for (int k = 0; k < F; ++k) o[k] = planar[k][x];
  }
}

template <class T, int F>
void single_forward_filters(int64_t nf, const Geometry& g, const T* in, int64_t wp, int64_t y,
                            const T* w, int64_t f0, T* out) {
  if constexpr (F > 1)
    if (nf < F) return single_forward_filters<T, F - 1>(nf, g, in, wp, y, w, f0, out);
  single_forward_row<T, F>(g, in, wp, y, w, f0, out);
}

template <class T>
void single_forward(const Geometry& g, const T* in, int64_t wp, int64_t rows, const T* w, T* out) {
  for (int64_t y = 0; y < rows; ++y)
    for (int64_t f0 = 0; f0 < g.f; f0 += kSingleFilters)
      single_forward_filters<T, kSingleFilters>(g.f - f0, g, in, wp, y, w, f0, out);
}

// dw[(i * kw + j0 + t) * f + f0 + k] += the sum over the image's output pixels of its tap
// times delta, t < J, k < F: the accumulators held over the whole image.
template <class T, int J, int F>
void single_filter_block(const Geometry& g, const T* in, int64_t wp, const T* dt, int64_t i,
                         int64_t j0, int64_t f0, T* dw) {
  using L = Lanes<T>;
  constexpr int W = L::width;
  const int64_t ow = g.ow, nf = g.f, dil_w = g.dilation_w, row_step = g.stride_h * wp;
  typename L::Reg acc[J][F];
#pragma GCC unroll 3
  for (int t = 0; t < J; ++t)
#pragma GCC unroll 8
    for (int k = 0; k < F; ++k) acc[t][k] = L::zero();
  const T* row = in + i * g.dilation_h * wp + j0 * dil_w;
  const T* d = dt + f0 * ow;
  for (int64_t y = 0; y < g.oh; ++y, row += row_step, d += nf * ow)
    for (int64_t x0 = 0; x0 < ow; x0 += W) {
      const typename L::Mask m = lanes_from<T>(x0, ow);
      typename L::Reg a[J];
#pragma GCC unroll 3
      for (int t = 0; t < J; ++t) a[t] = L::load(row + t * dil_w + x0, m);
#pragma GCC unroll 8
      for (int k = 0; k < F; ++k) {
        const typename L::Reg dv = L::load(d + k * ow + x0, m);
#pragma GCC unroll 3
        for (int t = 0; t < J; ++t) acc[t][k] = L::fma(a[t], dv, acc[t][k]);
      }
    }
#pragma GCC unroll 3
  for (int t = 0; t < J; ++t)
#pragma GCC unroll 8
    for (int k = 0; k < F; ++k) dw[(i * g.kw + j0 + t) * nf + f0 + k] += L::sum(acc[t][k]);
}

template <class T, int J, int F>
void single_filter_taps(int64_t taps, int64_t nf, const Geometry& g, const T* in, int64_t wp,
                        const T* dt, int64_t i, int64_t j0, int64_t f0, T* dw) {
  if constexpr (F > 1)
    if (nf < F) return single_filter_taps<T, J, F - 1>(taps, nf, g, in, wp, dt, i, j0, f0, dw);
  if constexpr (J > 1)
    if (taps < J) return single_filter_taps<T, J - 1, F>(taps, nf, g, in, wp, dt, i, j0, f0, dw);
  single_filter_block<T, J, F>(g, in, wp, dt, i, j0, f0, dw);
}

template <class T>
void single_filter(const Geometry& g, const T* in, int64_t wp, const T* d, T* dt, T* dw) {
  using L = Lanes<T>;
  const typename L::Index every_f = L::strided(g.f);
  for (int64_t y = 0; y < g.oh; ++y)  // dt = d transposed row by row, by gathers
    for (int64_t k = 0; k < g.f; ++k)
      for (int64_t x0 = 0; x0 < g.ow; x0 += L::width) {
        const typename L::Mask m = lanes_from<T>(x0, g.ow);
        L::store(dt + (y * g.f + k) * g.ow + x0, L::gather(d + (y * g.ow + x0) * g.f + k, every_f, m), m);
      }
  for (int64_t i = 0; i < g.kh; ++i)
    for (int64_t j0 = 0; j0 < g.kw; j0 += kSingleTaps)
      for (int64_t f0 = 0; f0 < g.f; f0 += kSingleFilters)
        single_filter_taps<T, kSingleTaps, kSingleFilters>(g.kw - j0, g.f - f0, g, in, wp, dt, i,
                                                           j0, f0, dw);
}

// --- the data gradient of few input channels, as a scatter ---------------------------------

// v[0:NV vectors] = sum over k < f of d[k] * wt[k * ldw + 0:NV vectors]: one delta pixel's
// kernel-row values (the row of im2col's column matrix that col2im would add back).
template <class T, int NV>
void scatter_values(const T* d, int64_t f, const T* wt, int64_t ldw, T* v) {
  using L = Lanes<T>;
  typename L::Reg acc[NV];
#pragma GCC unroll 8
  for (int u = 0; u < NV; ++u) acc[u] = L::zero();
  for (int64_t k = 0; k < f; ++k) {
    const typename L::Reg b = L::set1(d[k]);
#pragma GCC unroll 8
    for (int u = 0; u < NV; ++u) acc[u] = L::fma(b, L::load(wt + k * ldw + u * L::width), acc[u]);
  }
#pragma GCC unroll 8
  for (int u = 0; u < NV; ++u) L::store(v + u * L::width, acc[u], L::first(L::width));
}

template <class T, int NV>
void scatter_chunk(int nv, const T* d, int64_t f, const T* wt, int64_t ldw, T* v) {
  if constexpr (NV > 1)
    if (nv < NV) return scatter_chunk<T, NV - 1>(nv, d, f, wt, ldw, v);
  scatter_values<T, NV>(d, f, wt, ldw, v);
}

constexpr int kScatterVectors = 8;  // per chunk of a pixel's values, in registers

template <class T>
void scatter_data(const T* d, int64_t pixels, const int64_t* pix_off, const T* wt, int64_t ldw,
                  int64_t f, int64_t kh, int64_t kwc, int64_t row_step, T* din) {
  using L = Lanes<T>;
  constexpr int W = L::width;
  T v[kMaxScatterValues];
  for (int64_t p = 0; p < pixels; ++p) {
    const T* dp = d + p * f;
    for (int64_t c0 = 0; c0 < ldw; c0 += kScatterVectors * W) {
      const int64_t left = (ldw - c0) / W;
      const int nv = static_cast<int>(left < kScatterVectors ? left : kScatterVectors);
      scatter_chunk<T, kScatterVectors>(nv, dp, f, wt + c0, ldw, v + c0);
    }
    T* o = din + pix_off[p];
    for (int64_t i = 0; i < kh; ++i, o += row_step)
      for (int64_t e = 0; e < kwc; e += W) {
        const typename L::Mask m = L::first(kwc - e);
        L::store(o + e, L::add(L::load(o + e, m), L::load(v + i * kwc + e, m)), m);
      }
  }
}

template <class T>
constexpr Kernels<T> table{forward_pixels<T>, filter_pixels<T>, single_forward<T>,
                           single_filter<T>, scatter_data<T>, depthwise_forward<T>,
                           depthwise_filter<T>, depthwise_data<T>};

#else

template <class T>
constexpr Kernels<T> table{nullptr, nullptr, nullptr, nullptr, nullptr, depthwise_forward<T>,
                           depthwise_filter<T>, depthwise_data<T>};

#endif

}  // namespace

const Kernels<float>& kernels_f32() { return table<float>; }
const Kernels<double>& kernels_f64() { return table<double>; }

}  // namespace tl::conv2d::TL_ISA_NS
