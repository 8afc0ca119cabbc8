// The inner loops of the k-means kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags). Like distance_isa.cpp, no std::
// templates are instantiated here, so no per-level copy of a shared inline function can be
// picked by the linker for another level.
#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "kmeans.hpp"

namespace tl::kmeans::TL_ISA_NS {
namespace {

// The argmin scan works along the rows of a samples x centres tile of ||c_j||^2 - 2 x.c_j
// (the GEMM adds -2 x.c_j to rows filled with the centre norms, as scikit-learn's does; that
// orientation packs only the centres and runs faster). Per row, groups of G vectors of
// centres: their exact minimum, and the first lane equal to it; a group replaces the running
// best only when strictly smaller. So ties keep the lower centre index, as scikit-learn's
// scalar loop does.
template <class T>
struct Lanes;  // per level: V (vector), width W, and the few operations the scan needs

#if defined(__AVX512F__)
template <>
struct Lanes<float> {
  using V = __m512;
  static constexpr int W = 16;
  // The first n lanes of g (n may be <= 0 or >= W); +inf in the others.
  static V load(const float* g, int64_t n) {
    if (n >= W) return _mm512_loadu_ps(g);
    const V inf = _mm512_set1_ps(__builtin_inff());
    if (n <= 0) return inf;
    return _mm512_mask_loadu_ps(inf, static_cast<__mmask16>((1u << n) - 1u), g);
  }
  static V min(V a, V b) { return _mm512_min_ps(a, b); }
  static float hmin(V a) { return _mm512_reduce_min_ps(a); }
  static uint32_t eq(V a, float x) { return _mm512_cmp_ps_mask(a, _mm512_set1_ps(x), _CMP_EQ_OQ); }
};
template <>
struct Lanes<double> {
  using V = __m512d;
  static constexpr int W = 8;
  static V load(const double* g, int64_t n) {
    if (n >= W) return _mm512_loadu_pd(g);
    const V inf = _mm512_set1_pd(__builtin_inf());
    if (n <= 0) return inf;
    return _mm512_mask_loadu_pd(inf, static_cast<__mmask8>((1u << n) - 1u), g);
  }
  static V min(V a, V b) { return _mm512_min_pd(a, b); }
  static double hmin(V a) { return _mm512_reduce_min_pd(a); }
  static uint32_t eq(V a, double x) { return _mm512_cmp_pd_mask(a, _mm512_set1_pd(x), _CMP_EQ_OQ); }
};
#elif defined(__AVX2__)
template <>
struct Lanes<float> {
  using V = __m256;
  static constexpr int W = 8;
  static V load(const float* g, int64_t n) {
    if (n >= W) return _mm256_loadu_ps(g);
    const V inf = _mm256_set1_ps(__builtin_inff());
    if (n <= 0) return inf;
    const __m256i m = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(n)), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
    return _mm256_blendv_ps(inf, _mm256_maskload_ps(g, m), _mm256_castsi256_ps(m));
  }
  static V min(V a, V b) { return _mm256_min_ps(a, b); }
  static float hmin(V a) {
    __m128 m = _mm_min_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    m = _mm_min_ps(m, _mm_movehl_ps(m, m));
    m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
    return _mm_cvtss_f32(m);
  }
  static uint32_t eq(V a, float x) {
    return static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(a, _mm256_set1_ps(x), _CMP_EQ_OQ)));
  }
};
template <>
struct Lanes<double> {
  using V = __m256d;
  static constexpr int W = 4;
  static V load(const double* g, int64_t n) {
    if (n >= W) return _mm256_loadu_pd(g);
    const V inf = _mm256_set1_pd(__builtin_inf());
    if (n <= 0) return inf;
    const __m256i m = _mm256_cmpgt_epi64(_mm256_set1_epi64x(n), _mm256_setr_epi64x(0, 1, 2, 3));
    return _mm256_blendv_pd(inf, _mm256_maskload_pd(g, m), _mm256_castsi256_pd(m));
  }
  static V min(V a, V b) { return _mm256_min_pd(a, b); }
  static double hmin(V a) {
    __m128d m = _mm_min_pd(_mm256_castpd256_pd128(a), _mm256_extractf128_pd(a, 1));
    m = _mm_min_sd(m, _mm_unpackhi_pd(m, m));
    return _mm_cvtsd_f64(m);
  }
  static uint32_t eq(V a, double x) {
    return static_cast<uint32_t>(_mm256_movemask_pd(_mm256_cmp_pd(a, _mm256_set1_pd(x), _CMP_EQ_OQ)));
  }
};
#endif

// A row's result: its label (counting a change) and, with squared norms, its weighted
// inertia term max(0, ||x||^2 + min_j (||c_j||^2 - 2 x.c_j)).
template <class T>
struct RowSink {
  const T* xn;
  const T* w;
  int32_t* labels;
  double inertia = 0;
  int64_t changed = 0;
  void put(int64_t r, T b, int32_t lab) {
    changed += labels[r] != lab;
    labels[r] = lab;
    if (xn) {
      const T sq = b + xn[r];
      inertia += static_cast<double>(w[r]) * static_cast<double>(sq > T(0) ? sq : T(0));
    }
  }
};

#if defined(__AVX512F__) || defined(__AVX2__)
template <class T>
void argmin_rows(const T* tile, int64_t rows, int64_t k, int64_t ld, const T* xn, const T* w,
                 int32_t* labels, double* inertia, int64_t* changed) {
  RowSink<T> sink{xn, w, labels};
  using L = Lanes<T>;
  using V = typename L::V;
  constexpr int W = L::W, G = 4;  // G * W centres per group (64 floats with AVX-512)
  for (int64_t r = 0; r < rows; ++r) {
    const T* g = tile + r * ld;
    T b = static_cast<T>(__builtin_inf());
    int32_t lab = 0;
    for (int64_t j0 = 0; j0 < k; j0 += G * W) {
      V v[G];
      for (int u = 0; u < G; ++u) v[u] = L::load(g + j0 + u * W, k - j0 - u * W);
      V m = v[0];
      for (int u = 1; u < G; ++u) m = L::min(m, v[u]);
      const T gm = L::hmin(m);
      if (gm < b) {
        uint64_t bits = 0;
        for (int u = 0; u < G; ++u) bits |= static_cast<uint64_t>(L::eq(v[u], gm)) << (u * W);
        if (bits != 0) {  // (always, for finite input)
          b = gm;
          lab = static_cast<int32_t>(j0 + __builtin_ctzll(bits));
        }
      }
    }
    sink.put(r, b, lab);
  }
  *inertia = sink.inertia;
  *changed = sink.changed;
}
#else
template <class T>
void argmin_rows(const T* tile, int64_t rows, int64_t k, int64_t ld, const T* xn, const T* w,
                 int32_t* labels, double* inertia, int64_t* changed) {
  RowSink<T> sink{xn, w, labels};
  for (int64_t r = 0; r < rows; ++r) {
    const T* g = tile + r * ld;
    T b = static_cast<T>(__builtin_inf());
    int32_t lab = 0;
    for (int64_t j = 0; j < k; ++j) {
      const T v = g[j];
      if (v < b) {
        b = v;
        lab = static_cast<int32_t>(j);
      }
    }
    sink.put(r, b, lab);
  }
  *inertia = sink.inertia;
  *changed = sink.changed;
}
#endif

// With `scratch` (k x d, in T), the block's sums are first taken in T, which halves the
// work per sample for float, then added to the double sums once per block.
template <class T>
void accumulate(const T* X, int64_t rows, int64_t d, const T* w, const int32_t* label,
                double* sums, double* wsum, T* scratch, int64_t k) {
  if (scratch != nullptr) {
    for (int64_t e = 0; e < k * d; ++e) scratch[e] = 0;
    for (int64_t i = 0; i < rows; ++i) {
      const T wi = w[i];
      const T* x = X + i * d;
      T* s = scratch + static_cast<int64_t>(label[i]) * d;
      for (int64_t f = 0; f < d; ++f) s[f] += wi * x[f];
      wsum[label[i]] += static_cast<double>(wi);
    }
    for (int64_t e = 0; e < k * d; ++e) sums[e] += static_cast<double>(scratch[e]);
    return;
  }
  for (int64_t i = 0; i < rows; ++i) {
    const double wi = w[i];
    const T* x = X + i * d;
    double* s = sums + static_cast<int64_t>(label[i]) * d;
    for (int64_t f = 0; f < d; ++f) s[f] += wi * static_cast<double>(x[f]);
    wsum[label[i]] += wi;
  }
}

// Sums of squares with eight independent partial sums, which the compiler turns into SIMD
// lanes (a single running sum would be a chain of dependent adds).
template <class T, class F>
inline T sum_squares(int64_t d, F term) {
  T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t f = 0;
  for (; f + 8 <= d; f += 8)
    for (int l = 0; l < 8; ++l) {
      const T t = term(f + l);
      acc[l] += t * t;
    }
  T s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; f < d; ++f) {
    const T t = term(f);
    s += t * t;
  }
  return s;
}

template <class T>
void sq_dist_assigned(const T* X, int64_t rows, int64_t d, const T* C, const int32_t* label,
                      T* out) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* x = X + i * d;
    const T* c = C + static_cast<int64_t>(label[i]) * d;
    out[i] = sum_squares<T>(d, [&](int64_t f) { return x[f] - c[f]; });
  }
}

// Every row of the tile starts as the centre norms (the GEMM then adds -2 x.c). An explicit
// loop: a memcpy call per short row costs more than the copy.
template <class T>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void fill_rows(
    T* tile, int64_t rows, int64_t k, int64_t ld, const T* cn) {
  for (int64_t r = 0; r < rows; ++r) {
    T* row = tile + r * ld;
    for (int64_t j = 0; j < k; ++j) row[j] = cn[j];
  }
}

template <class T>
void sq_norms(const T* X, int64_t rows, int64_t d, T* out) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* x = X + i * d;
    out[i] = sum_squares<T>(d, [&](int64_t f) { return x[f]; });
  }
}

template <class T>
constexpr Kernels<T> table{argmin_rows<T>, accumulate<T>, sq_dist_assigned<T>, sq_norms<T>,
                           fill_rows<T>};

}  // namespace

const Kernels<float>& kernels_f32() { return table<float>; }
const Kernels<double>& kernels_f64() { return table<double>; }

}  // namespace tl::kmeans::TL_ISA_NS
