// A minimal SIMD vector for the loops that compilers do not vectorise well (masked
// compare-and-branch scans). Included only by sources compiled once per SIMD level, so every
// name lives in tl::TL_ISA_NS and the per-level copies never meet at link time.
#pragma once
#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#ifndef TL_ISA_NS
#error "simd.hpp is for per-SIMD-level sources: compile with -DTL_ISA_NS=<level>"
#endif

namespace tl::TL_ISA_NS::simd {

// One lane with the vector interface: the portable baseline and the tails of vector loops.
template <class T>
struct Scalar {
  static constexpr int width = 1;
  T v;
  static Scalar load(const T* p) { return {*p}; }
  static Scalar set1(T x) { return {x}; }
  void store(T* p) const { *p = v; }
  friend Scalar operator+(Scalar a, Scalar b) { return {a.v + b.v}; }
  friend Scalar operator-(Scalar a, Scalar b) { return {a.v - b.v}; }
  friend Scalar operator*(Scalar a, Scalar b) { return {a.v * b.v}; }
  // x86 semantics (maxps/minps): the second operand when either is NaN.
  friend Scalar max(Scalar a, Scalar b) { return {a.v > b.v ? a.v : b.v}; }
  friend Scalar min(Scalar a, Scalar b) { return {a.v < b.v ? a.v : b.v}; }
  friend uint32_t lt_mask(Scalar a, Scalar b) { return a.v < b.v ? 1u : 0u; }
  friend uint32_t eq_mask(Scalar a, Scalar b) { return a.v == b.v ? 1u : 0u; }
  friend T hmin(Scalar a) { return a.v; }
  // The first n lanes of p (n may be <= 0 or >= width), +inf in the others.
  static Scalar load_first(const T* p, int64_t n) { return {n >= 1 ? *p : T(__builtin_inf())}; }
};

#if defined(__AVX512F__) || defined(__AVX2__)
template <class T>
struct Vec;
#endif

#if defined(__AVX512F__)
template <>
struct Vec<float> {
  static constexpr int width = 16;
  __m512 v;
  static Vec load(const float* p) { return {_mm512_loadu_ps(p)}; }
  static Vec set1(float x) { return {_mm512_set1_ps(x)}; }
  void store(float* p) const { _mm512_storeu_ps(p, v); }
  friend Vec operator+(Vec a, Vec b) { return {_mm512_add_ps(a.v, b.v)}; }
  friend Vec operator-(Vec a, Vec b) { return {_mm512_sub_ps(a.v, b.v)}; }
  friend Vec operator*(Vec a, Vec b) { return {_mm512_mul_ps(a.v, b.v)}; }
  friend Vec max(Vec a, Vec b) { return {_mm512_max_ps(a.v, b.v)}; }
  friend Vec min(Vec a, Vec b) { return {_mm512_min_ps(a.v, b.v)}; }
  friend uint32_t lt_mask(Vec a, Vec b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_LT_OQ); }
  friend uint32_t eq_mask(Vec a, Vec b) { return _mm512_cmp_ps_mask(a.v, b.v, _CMP_EQ_OQ); }
  friend float hmin(Vec a) { return _mm512_reduce_min_ps(a.v); }
  static Vec load_first(const float* p, int64_t n) {
    if (n >= width) return load(p);
    const __m512 inf = _mm512_set1_ps(__builtin_inff());
    if (n <= 0) return {inf};
    return {_mm512_mask_loadu_ps(inf, static_cast<__mmask16>((1u << n) - 1u), p)};
  }
};
template <>
struct Vec<double> {
  static constexpr int width = 8;
  __m512d v;
  static Vec load(const double* p) { return {_mm512_loadu_pd(p)}; }
  static Vec set1(double x) { return {_mm512_set1_pd(x)}; }
  void store(double* p) const { _mm512_storeu_pd(p, v); }
  friend Vec operator+(Vec a, Vec b) { return {_mm512_add_pd(a.v, b.v)}; }
  friend Vec operator-(Vec a, Vec b) { return {_mm512_sub_pd(a.v, b.v)}; }
  friend Vec operator*(Vec a, Vec b) { return {_mm512_mul_pd(a.v, b.v)}; }
  friend Vec max(Vec a, Vec b) { return {_mm512_max_pd(a.v, b.v)}; }
  friend Vec min(Vec a, Vec b) { return {_mm512_min_pd(a.v, b.v)}; }
  friend uint32_t lt_mask(Vec a, Vec b) { return _mm512_cmp_pd_mask(a.v, b.v, _CMP_LT_OQ); }
  friend uint32_t eq_mask(Vec a, Vec b) { return _mm512_cmp_pd_mask(a.v, b.v, _CMP_EQ_OQ); }
  friend double hmin(Vec a) { return _mm512_reduce_min_pd(a.v); }
  static Vec load_first(const double* p, int64_t n) {
    if (n >= width) return load(p);
    const __m512d inf = _mm512_set1_pd(__builtin_inf());
    if (n <= 0) return {inf};
    return {_mm512_mask_loadu_pd(inf, static_cast<__mmask8>((1u << n) - 1u), p)};
  }
};
#elif defined(__AVX2__)
template <>
struct Vec<float> {
  static constexpr int width = 8;
  __m256 v;
  static Vec load(const float* p) { return {_mm256_loadu_ps(p)}; }
  static Vec set1(float x) { return {_mm256_set1_ps(x)}; }
  void store(float* p) const { _mm256_storeu_ps(p, v); }
  friend Vec operator+(Vec a, Vec b) { return {_mm256_add_ps(a.v, b.v)}; }
  friend Vec operator-(Vec a, Vec b) { return {_mm256_sub_ps(a.v, b.v)}; }
  friend Vec operator*(Vec a, Vec b) { return {_mm256_mul_ps(a.v, b.v)}; }
  friend Vec max(Vec a, Vec b) { return {_mm256_max_ps(a.v, b.v)}; }
  friend Vec min(Vec a, Vec b) { return {_mm256_min_ps(a.v, b.v)}; }
  friend uint32_t lt_mask(Vec a, Vec b) {
    return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(a.v, b.v, _CMP_LT_OQ)));
  }
  friend uint32_t eq_mask(Vec a, Vec b) {
    return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(a.v, b.v, _CMP_EQ_OQ)));
  }
  friend float hmin(Vec a) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(a.v), _mm256_extractf128_ps(a.v, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
  }
  static Vec load_first(const float* p, int64_t n) {
    if (n >= width) return load(p);
    const __m256 inf = _mm256_set1_ps(__builtin_inff());
    if (n <= 0) return {inf};
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)),
                                         _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return {_mm256_blendv_ps(inf, _mm256_maskload_ps(p, m), _mm256_castsi256_ps(m))};
  }
};
template <>
struct Vec<double> {
  static constexpr int width = 4;
  __m256d v;
  static Vec load(const double* p) { return {_mm256_loadu_pd(p)}; }
  static Vec set1(double x) { return {_mm256_set1_pd(x)}; }
  void store(double* p) const { _mm256_storeu_pd(p, v); }
  friend Vec operator+(Vec a, Vec b) { return {_mm256_add_pd(a.v, b.v)}; }
  friend Vec operator-(Vec a, Vec b) { return {_mm256_sub_pd(a.v, b.v)}; }
  friend Vec operator*(Vec a, Vec b) { return {_mm256_mul_pd(a.v, b.v)}; }
  friend Vec max(Vec a, Vec b) { return {_mm256_max_pd(a.v, b.v)}; }
  friend Vec min(Vec a, Vec b) { return {_mm256_min_pd(a.v, b.v)}; }
  friend uint32_t lt_mask(Vec a, Vec b) {
    return static_cast<uint32_t>(_mm256_movemask_pd(_mm256_cmp_pd(a.v, b.v, _CMP_LT_OQ)));
  }
  friend uint32_t eq_mask(Vec a, Vec b) {
    return static_cast<uint32_t>(_mm256_movemask_pd(_mm256_cmp_pd(a.v, b.v, _CMP_EQ_OQ)));
  }
  friend double hmin(Vec a) {
    __m128d m = _mm_min_pd(_mm256_castpd256_pd128(a.v), _mm256_extractf128_pd(a.v, 1));
    m = _mm_min_sd(m, _mm_unpackhi_pd(m, m));
    return _mm_cvtsd_f64(m);
  }
  static Vec load_first(const double* p, int64_t n) {
    if (n >= width) return load(p);
    const __m256d inf = _mm256_set1_pd(__builtin_inf());
    if (n <= 0) return {inf};
    const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
    return {_mm256_blendv_pd(inf, _mm256_maskload_pd(p, m), _mm256_castsi256_pd(m))};
  }
};
#else
template <class T>
using Vec = Scalar<T>;
#endif

}  // namespace tl::TL_ISA_NS::simd
