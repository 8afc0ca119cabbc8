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
};
#else
template <class T>
using Vec = Scalar<T>;
#endif

}  // namespace tl::TL_ISA_NS::simd
