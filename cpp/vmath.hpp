// Vectors of the SIMD level as GCC vector extensions (one register: 64 / 32 / 16 bytes),
// masked loads and stores for a row's last partial vector, and float e^x, sigmoid and tanh
// that stay in vectors: Cephes' expf polynomial (within 2 ulp), its tanhf (an odd polynomial
// below 0.625). double calls the C library per lane (exact to the last bit; the float64
// paths are for checking). Shared by the rnn gate loops and the dense epilogue, where libm's
// scalar tanhf cost 14-17 ns an element (LeNet-5's convolution epilogues: 6x their GEMMs).
// Included only by sources compiled once per SIMD level: every name lives in
// tl::TL_ISA_NS::vmath, so the per-level copies never meet at link time.
#pragma once
#include <math.h>

#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#ifndef TL_ISA_NS
#error "vmath.hpp is for per-SIMD-level sources: compile with -DTL_ISA_NS=<level>"
#endif

namespace tl::TL_ISA_NS::vmath {

#if defined(__AVX512F__)
constexpr int kBytes = 64;
#elif defined(__AVX2__)
constexpr int kBytes = 32;
#else
constexpr int kBytes = 16;  // SSE2
#endif

template <class T>
struct VecOf;
template <>
struct VecOf<float> {
  typedef float type __attribute__((vector_size(kBytes)));
  typedef uint32_t bits __attribute__((vector_size(kBytes)));
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(kBytes)));
  typedef uint64_t bits __attribute__((vector_size(kBytes)));
};
template <class T>
using Vec = typename VecOf<T>::type;
template <class T>
constexpr int kWidth = kBytes / sizeof(T);

template <class T>
inline Vec<T> load(const T* p) {
  Vec<T> v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}
template <class T>
inline void store(T* p, Vec<T> v) {
  __builtin_memcpy(p, &v, sizeof(v));
}

// The first n lanes (1 <= n <= width) from p, zeros in the others; and their store.
template <class T>
inline Vec<T> load(const T* p, int64_t n) {
  if (n == kWidth<T>) return load(p);
#if defined(__AVX512F__)
  const unsigned mask = (1u << n) - 1u;
  if constexpr (sizeof(T) == 4) return (Vec<T>)_mm512_maskz_loadu_ps(static_cast<__mmask16>(mask), p);
  else return (Vec<T>)_mm512_maskz_loadu_pd(static_cast<__mmask8>(mask), p);
#elif defined(__AVX2__)
  if constexpr (sizeof(T) == 4) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return (Vec<T>)_mm256_maskload_ps(p, m);
  } else {
    const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
    return (Vec<T>)_mm256_maskload_pd(p, m);
  }
#else
  Vec<T> v{};
  for (int64_t l = 0; l < n; ++l) v[l] = p[l];
  return v;
#endif
}

template <class T>
inline void store(T* p, Vec<T> v, int64_t n) {
  if (n == kWidth<T>) return store(p, v);
#if defined(__AVX512F__)
  const unsigned mask = (1u << n) - 1u;
  if constexpr (sizeof(T) == 4) _mm512_mask_storeu_ps(p, static_cast<__mmask16>(mask), (__m512)v);
  else _mm512_mask_storeu_pd(p, static_cast<__mmask8>(mask), (__m512d)v);
#elif defined(__AVX2__)
  if constexpr (sizeof(T) == 4) {
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    _mm256_maskstore_ps(p, m, (__m256)v);
  } else {
    const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
    _mm256_maskstore_pd(p, m, (__m256d)v);
  }
#else
  for (int64_t l = 0; l < n; ++l) p[l] = v[l];
#endif
}

// f(j, lanes) over [0, n) in vectors; lanes < width only for the last one.
template <class T, class F>
inline void vector_loop(int64_t n, F&& f) {
  for (int64_t j = 0; j < n; j += kWidth<T>) f(j, n - j < kWidth<T> ? n - j : kWidth<T>);
}

// --- float exp, sigmoid, tanh --------------------------------------------------------------

// e^x for x <= 0 (below -87.3: e^-87.3 ~ 1.3e-38 instead of a denormal); NaN stays NaN.
inline Vec<float> exp_nonpositive(Vec<float> x) {
  using V = Vec<float>;
  using U = VecOf<float>::bits;
  x = x < -87.3365448f ? V{} - 87.3365448f : x;
  V k = x * 1.44269504088896341f + 12582912.0f;  // round(x / ln 2) in the low mantissa bits
  const U bits = __builtin_bit_cast(U, k);
  k -= 12582912.0f;
  const V r = (x - k * 0.693359375f) + k * 2.12194440e-4f;
  V p = V{} + 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const U scale = (bits - 0x4B400000u + 127u) << 23;  // 2^k, k in [-126, 0]
  return p * __builtin_bit_cast(V, scale);
}

inline Vec<double> exp_nonpositive(Vec<double> x) {
  for (int l = 0; l < kWidth<double>; ++l) x[l] = exp(x[l]);
  return x;
}

// |x| (NaN stays NaN: the compare is false).
template <class V>
inline V absolute(V x) {
  return x < 0 ? -x : x;
}

// 1 / (1 + e^-x) from e^-|x| (no overflow; tiny values keep their relative accuracy).
template <class V>
inline V sigmoid(V x) {
  const V e = exp_nonpositive(-absolute(x));
  const V s = 1 / (1 + e);
  return x >= 0 ? s : e * s;  // NaN takes the second branch: e * s is NaN
}

// Cephes tanhf: an odd polynomial below 0.625, (1 - e^-2|x|) / (1 + e^-2|x|) above.
inline Vec<float> tanh_of(Vec<float> x) {
  using V = Vec<float>;
  const V ax = absolute(x), x2 = x * x;
  V p = V{} - 5.70498872745e-3f;
  p = p * x2 + 2.06390887954e-2f;
  p = p * x2 - 5.37397155531e-2f;
  p = p * x2 + 1.33314422036e-1f;
  p = p * x2 - 3.33332819422e-1f;
  const V small = p * x2 * x + x;
  const V e = exp_nonpositive(-2.0f * ax);
  const V t = (1.0f - e) / (1.0f + e);
  const V large = x < 0 ? -t : t;
  return ax < 0.625f ? small : large;
}

inline Vec<double> tanh_of(Vec<double> x) {
  for (int l = 0; l < kWidth<double>; ++l) x[l] = tanh(x[l]);
  return x;
}

}  // namespace tl::TL_ISA_NS::vmath
