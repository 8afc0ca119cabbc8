// The per-step loops of the rnn kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags).
//
// Every loop runs over one row of one gate (h values) in explicit vectors, the last one
// lane-masked. Rows at the book's 20 units are one and a quarter AVX-512 vectors: with the
// compiler's own vectorisation the scalar remainder of each row cost four times the vector
// body and dominated the step. Activations are applied to all rows of a block in one call
// per gate, the switch outside the loops. float sigmoid and tanh use the exponential below
// (Cephes' expf polynomial, within 2 ulp, no libm call, so it stays in vectors); double
// calls the C library per lane (exact to the last bit; the float64 path is for checking).
// No std:: templates are instantiated here (the per-level copies would meet at link time).
#include <math.h>

#include <cstdint>

#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

#include "rnn.hpp"

namespace tl::rnn::TL_ISA_NS {
namespace {

// --- vectors ------------------------------------------------------------------------------

#if defined(__AVX512F__)
constexpr int kBytes = 64;
constexpr int kColumnVectors = 4;  // product: 4 rows x 4 vectors, 16 of the 32 registers
#elif defined(__AVX2__)
constexpr int kBytes = 32;
constexpr int kColumnVectors = 2;  // 4 x 2: 8 of the 16
#else
constexpr int kBytes = 16;         // SSE2
constexpr int kColumnVectors = 2;
#endif
constexpr int kRowBlock = 4;

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

// --- activations --------------------------------------------------------------------------

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

// y = f(y) over `rows` rows of n values, ld apart.
template <class T, class F>
inline void map_rows(T* y, int64_t rows, int64_t n, int64_t ld, F f) {
  for (int64_t r = 0; r < rows; ++r) {
    T* v = y + r * ld;
    vector_loop<T>(n, [&](int64_t j, int64_t m) { store(v + j, f(load(v + j, m)), m); });
  }
}

// act in place over rows of a block: one call per gate and step, the switch outside the
// loops. relu and hard_sigmoid keep NaN (compares with NaN are false).
template <class T>
void activate(T* y, int64_t rows, int64_t n, int64_t ld, Activation act) {
  using V = Vec<T>;
  switch (act) {
    case Activation::linear: return;
    case Activation::relu: return map_rows(y, rows, n, ld, [](V v) { return v < 0 ? V{} : v; });
    case Activation::sigmoid: return map_rows(y, rows, n, ld, [](V v) { return sigmoid(v); });
    case Activation::tanh: return map_rows(y, rows, n, ld, [](V v) { return tanh_of(v); });
    case Activation::hard_sigmoid:  // torch's relu6(x + 3) / 6, Keras 3's hard_sigmoid
      return map_rows(y, rows, n, ld, [](V v) {
        V x = v + 3;
        x = x < 0 ? V{} : x;
        x = x > 6 ? V{} + 6 : x;
        return x / 6;
      });
  }
}

// --- the register-blocked product -----------------------------------------------------------

// C[RB rows, NV vectors] (+)= A[RB rows, k] B[k, NV vectors]: the accumulators stay in
// registers for the whole k loop. The last vector holds `last` of C's lanes (its loads of B
// read the padding the caller provides; only those lanes are stored).
template <class T, int RB, int NV>
void block(int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
           bool accumulate, int last) {
  constexpr int W = kWidth<T>;
  Vec<T> c[RB][NV];
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < NV; ++v)
      c[r][v] = accumulate ? load(C + r * ldc + v * W, v < NV - 1 ? W : last) : Vec<T>{};
  for (int64_t p = 0; p < k; ++p) {
    Vec<T> b[NV];
    for (int v = 0; v < NV; ++v) b[v] = load(B + p * ldb + v * W);
    for (int r = 0; r < RB; ++r) {
      const Vec<T> a = A[r * lda + p] + Vec<T>{};  // broadcast
      for (int v = 0; v < NV; ++v) c[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < NV; ++v) store(C + r * ldc + v * W, c[r][v], v < NV - 1 ? W : last);
}

template <class T, int RB>
void block_columns(int nv, int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
                   int64_t ldc, bool accumulate, int last) {
  static_assert(kColumnVectors == 2 || kColumnVectors == 4);
  if constexpr (kColumnVectors == 4) {
    if (nv == 4) return block<T, RB, 4>(k, A, lda, B, ldb, C, ldc, accumulate, last);
    if (nv == 3) return block<T, RB, 3>(k, A, lda, B, ldb, C, ldc, accumulate, last);
  }
  if (nv == 2) return block<T, RB, 2>(k, A, lda, B, ldb, C, ldc, accumulate, last);
  block<T, RB, 1>(k, A, lda, B, ldb, C, ldc, accumulate, last);
}

template <class T>
void product(int64_t rows, int64_t k, int64_t cols, const T* A, int64_t lda, const T* B,
             int64_t ldb, T* C, int64_t ldc, bool accumulate) {
  constexpr int64_t W = kWidth<T>, chunk = kColumnVectors * W;
  for (int64_t c0 = 0; c0 < cols; c0 += chunk) {
    const int64_t width = cols - c0 < chunk ? cols - c0 : chunk;
    const int nv = static_cast<int>((width + W - 1) / W);
    const int last = static_cast<int>(width - (nv - 1) * W);
    int64_t r = 0;
    for (; r + kRowBlock <= rows; r += kRowBlock)
      block_columns<T, kRowBlock>(nv, k, A + r * lda, lda, B + c0, ldb, C + r * ldc + c0, ldc,
                                  accumulate, last);
    for (; r < rows; ++r)
      block_columns<T, 1>(nv, k, A + r * lda, lda, B + c0, ldb, C + r * ldc + c0, ldc,
                          accumulate, last);
  }
}

// --- forward steps ------------------------------------------------------------------------
// Each step sums the pre-activations into the workspace's gate columns, applies each gate's
// activation to all rows in one call, then updates the states of the rows the mask keeps
// (masked rows' gate values are computed and never read).

template <class T>
inline bool used(const Step<T>& s, int64_t r) {
  return !s.mask || s.mask[r * s.mask_ld];
}

// w += b_in (+ b_rec) + rec for gates [g0, g1) of every row.
template <class T>
void preactivate(const Step<T>& s, int g0, int g1, const T* bias_rec = nullptr) {
  const int64_t h = s.spec->h;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* w = s.ws + r * s.ws_ld + g0 * h;
    const T* rec = s.rec + r * s.rec_ld + g0 * h;
    const T* b = s.bias_in + g0 * h;
    const T* b2 = bias_rec ? bias_rec + g0 * h : nullptr;
    vector_loop<T>((g1 - g0) * h, [&](int64_t j, int64_t m) {
      Vec<T> v = load(w + j, m) + load(b + j, m);
      if (b2) v += load(b2 + j, m);
      store(w + j, v + load(rec + j, m), m);
    });
  }
}

template <class T>
void simple_forward(const Step<T>& s) {
  const int64_t h = s.spec->h;
  preactivate(s, 0, 1);
  activate(s.ws, s.rows, h, s.ws_ld, s.spec->activation);
  for (int64_t r = 0; r < s.rows; ++r)
    if (used(s, r)) __builtin_memcpy(s.state + r * h, s.ws + r * s.ws_ld, h * sizeof(T));
}

template <class T>
void lstm_forward(const Step<T>& s) {
  const int64_t h = s.spec->h;
  const Activation act = s.spec->activation, rec_act = s.spec->recurrent_activation;
  preactivate(s, 0, 4);
  activate(s.ws, s.rows, 2 * h, s.ws_ld, rec_act);      // i f
  activate(s.ws + 2 * h, s.rows, h, s.ws_ld, act);      // g
  activate(s.ws + 3 * h, s.rows, h, s.ws_ld, rec_act);  // o
  for (int64_t r = 0; r < s.rows; ++r) {  // the new carries into aux, and into rec for act
    const T* w = s.ws + r * s.ws_ld;
    const T* c = s.carry + r * h;
    T* cn = s.aux + r * h;
    T* a = s.rec + r * h;
    vector_loop<T>(h, [&](int64_t j, int64_t m) {
      const Vec<T> v = load(w + h + j, m) * load(c + j, m) + load(w + j, m) * load(w + 2 * h + j, m);
      store(cn + j, v, m);
      store(a + j, v, m);
    });
  }
  activate(s.rec, 1, s.rows * h, 0, act);
  for (int64_t r = 0; r < s.rows; ++r) {
    if (!used(s, r)) continue;
    const T* o = s.ws + r * s.ws_ld + 3 * h;
    const T* a = s.rec + r * h;
    T* state = s.state + r * h;
    __builtin_memcpy(s.carry + r * h, s.aux + r * h, h * sizeof(T));
    vector_loop<T>(h, [&](int64_t j, int64_t m) {
      store(state + j, load(o + j, m) * load(a + j, m), m);
    });
  }
}

// h = z h_prev + (1 - z) hh (Keras' expression) for the rows the mask keeps.
template <class T>
void gru_update(const Step<T>& s) {
  const int64_t h = s.spec->h;
  for (int64_t r = 0; r < s.rows; ++r) {
    if (!used(s, r)) continue;
    const T* z = s.ws + r * s.ws_ld;
    const T* hh = z + 2 * h;
    T* state = s.state + r * h;
    vector_loop<T>(h, [&](int64_t j, int64_t m) {
      const Vec<T> zj = load(z + j, m);
      store(state + j, zj * load(state + j, m) + (1 - zj) * load(hh + j, m), m);
    });
  }
}

template <class T>
void gru_forward(const Step<T>& s) {  // reset_after: hh = act(x_h + r (h U_h + b_rh))
  const int64_t h = s.spec->h;
  preactivate(s, 0, 2, s.bias_rec);
  activate(s.ws, s.rows, 2 * h, s.ws_ld, s.spec->recurrent_activation);
  for (int64_t r = 0; r < s.rows; ++r) {
    T* w = s.ws + r * s.ws_ld;  // z r hh rec_h
    const T* rec = s.rec + r * s.rec_ld + 2 * h;
    const T* bi = s.bias_in + 2 * h;
    const T* br = s.bias_rec + 2 * h;
    vector_loop<T>(h, [&](int64_t j, int64_t m) {
      const Vec<T> rech = load(rec + j, m) + load(br + j, m);
      store(w + 3 * h + j, rech, m);
      store(w + 2 * h + j, load(w + 2 * h + j, m) + load(bi + j, m) + load(w + h + j, m) * rech, m);
    });
  }
  activate(s.ws + 2 * h, s.rows, h, s.ws_ld, s.spec->activation);
  gru_update(s);
}

template <class T>
void gru_gates_forward(const Step<T>& s) {  // reset_before, part 1: z, r, q = r * h_h
  const int64_t h = s.spec->h;
  preactivate(s, 0, 2);
  activate(s.ws, s.rows, 2 * h, s.ws_ld, s.spec->recurrent_activation);
  for (int64_t r = 0; r < s.rows; ++r) {
    const T* rg = s.ws + r * s.ws_ld + h;
    const T* state = s.state + r * h;
    const T* mh = s.rmask_h ? s.rmask_h + r * h : nullptr;
    T* q = s.aux + r * h;
    vector_loop<T>(h, [&](int64_t j, int64_t m) {
      Vec<T> v = load(state + j, m);
      if (mh) v *= load(mh + j, m);
      store(q + j, load(rg + j, m) * v, m);
    });
  }
}

template <class T>
void gru_state_forward(const Step<T>& s) {  // reset_before, part 2: hh = act(x_h + q U_h)
  preactivate(s, 2, 3);
  activate(s.ws + 2 * s.spec->h, s.rows, s.spec->h, s.ws_ld, s.spec->activation);
  gru_update(s);
}

// --- backward steps -----------------------------------------------------------------------
// One fused vector loop per row, the derivatives taken from the saved outputs (Slope); a
// row the mask drops gets a zero delta row and keeps dh (and dc).

template <class T>
inline void zero(T* p, int64_t n) {
  for (int64_t j = 0; j < n; ++j) p[j] = T(0);
}

template <class T>
void simple_backward(const Step<T>& s) {
  const int64_t h = s.spec->h;
  const Slope<T> da = s.slope_act;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* d = s.delta + r * s.delta_ld;
    if (!used(s, r)) {
      zero(d, h);
      continue;
    }
    const T* o = s.ws + r * s.ws_ld;
    T* dh = s.dh + r * h;
    vector_loop<T>(h, [&](int64_t j, int64_t m) {
      store(d + j, load(dh + j, m) * da(load(o + j, m)), m);
      store(dh + j, Vec<T>{}, m);
    });
  }
}

template <class T>
void lstm_backward(const Step<T>& s) {
  const int64_t h = s.spec->h, prev_c = s.spec->prev_c();
  const Slope<T> da = s.slope_act, dr = s.slope_rec;
  for (int64_t r = 0; r < s.rows; ++r) {  // act(c) of every row, in one call
    const T* w = s.ws + r * s.ws_ld;
    T* a = s.aux + r * h;
    vector_loop<T>(h, [&](int64_t j, int64_t m) {
      const Vec<T> fc = load(w + h + j, m) * load(w + prev_c + j, m);
      store(a + j, fc + load(w + j, m) * load(w + 2 * h + j, m), m);
    });
  }
  activate(s.aux, 1, s.rows * h, 0, s.spec->activation);
  for (int64_t r = 0; r < s.rows; ++r) {
    T* d = s.delta + r * s.delta_ld;  // d_i d_f d_g d_o
    if (!used(s, r)) {
      zero(d, 4 * h);
      continue;
    }
    const T* w = s.ws + r * s.ws_ld;  // i f g o
    const T* a = s.aux + r * h;
    T* dh = s.dh + r * h;
    T* dc = s.carry + r * h;
    vector_loop<T>(h, [&](int64_t j, int64_t m) {
      const Vec<T> i = load(w + j, m), f = load(w + h + j, m), g = load(w + 2 * h + j, m);
      const Vec<T> o = load(w + 3 * h + j, m), aj = load(a + j, m), dhj = load(dh + j, m);
      const Vec<T> dcj = load(dc + j, m) + dhj * o * da(aj);
      store(d + j, dcj * g * dr(i), m);
      store(d + h + j, dcj * load(w + prev_c + j, m) * dr(f), m);
      store(d + 2 * h + j, dcj * i * da(g), m);
      store(d + 3 * h + j, dhj * aj * dr(o), m);
      store(dc + j, dcj * f, m);
      store(dh + j, Vec<T>{}, m);
    });
  }
}

template <class T>
void gru_backward(const Step<T>& s) {  // reset_after
  const int64_t h = s.spec->h, prev_h = s.spec->prev_h();
  const Slope<T> da = s.slope_act, dr = s.slope_rec;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* d = s.delta + r * s.delta_ld;  // d_z d_r d_hh d_rec_h
    if (!used(s, r)) {
      zero(d, 4 * h);
      continue;
    }
    const T* w = s.ws + r * s.ws_ld;  // z r hh rec_h
    T* dh = s.dh + r * h;
    vector_loop<T>(h, [&](int64_t j, int64_t m) {
      const Vec<T> z = load(w + j, m), rg = load(w + h + j, m), hh = load(w + 2 * h + j, m);
      const Vec<T> dhj = load(dh + j, m);
      const Vec<T> dah = dhj * (1 - z) * da(hh);
      store(d + j, dhj * (load(w + prev_h + j, m) - hh) * dr(z), m);
      store(d + h + j, dah * load(w + 3 * h + j, m) * dr(rg), m);
      store(d + 2 * h + j, dah, m);
      store(d + 3 * h + j, dah * rg, m);
      store(dh + j, dhj * z, m);
    });
  }
}

template <class T>
void gru_state_backward(const Step<T>& s) {  // reset_before, part 1: d_z, d_hh, dh z
  const int64_t h = s.spec->h, prev_h = s.spec->prev_h();
  const Slope<T> da = s.slope_act, dr = s.slope_rec;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* d = s.delta + r * s.delta_ld;
    if (!used(s, r)) {
      zero(d, 4 * h);
      continue;
    }
    const T* w = s.ws + r * s.ws_ld;  // z r hh
    T* dh = s.dh + r * h;
    vector_loop<T>(h, [&](int64_t j, int64_t m) {
      const Vec<T> z = load(w + j, m), hh = load(w + 2 * h + j, m), dhj = load(dh + j, m);
      store(d + j, dhj * (load(w + prev_h + j, m) - hh) * dr(z), m);
      store(d + 2 * h + j, dhj * (1 - z) * da(hh), m);
      store(dh + j, dhj * z, m);
    });
  }
}

template <class T>
void gru_gates_backward(const Step<T>& s) {  // reset_before, part 2, with dq = d_hh U_h^T
  const int64_t h = s.spec->h, prev_h = s.spec->prev_h();
  const Slope<T> dr = s.slope_rec;
  for (int64_t r = 0; r < s.rows; ++r) {
    if (!used(s, r)) continue;
    T* d = s.delta + r * s.delta_ld;
    const T* w = s.ws + r * s.ws_ld;
    const T* dq = s.dq + r * h;
    const T* mh = s.rmask_h ? s.rmask_h + r * h : nullptr;
    T* dh = s.dh + r * h;
    vector_loop<T>(h, [&](int64_t j, int64_t m) {
      const Vec<T> rg = load(w + h + j, m), dqj = load(dq + j, m);
      const Vec<T> mj = mh ? load(mh + j, m) : Vec<T>{} + 1;
      const Vec<T> hm = load(w + prev_h + j, m) * mj;
      store(d + h + j, dqj * hm * dr(rg), m);
      store(d + 3 * h + j, rg * hm, m);
      store(dh + j, load(dh + j, m) + dqj * rg * mj, m);
    });
  }
}

template <class T>
constexpr Kernels<T> table{kWidth<T>,             product<T>,
                           simple_forward<T>,     lstm_forward<T>,
                           gru_forward<T>,        gru_gates_forward<T>,
                           gru_state_forward<T>,  simple_backward<T>,
                           lstm_backward<T>,      gru_backward<T>,
                           gru_state_backward<T>, gru_gates_backward<T>};

}  // namespace

const Kernels<float>& kernels_f32() { return table<float>; }
const Kernels<double>& kernels_f64() { return table<double>; }

}  // namespace tl::rnn::TL_ISA_NS
