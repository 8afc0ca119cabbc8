// The per-step loops of the rnn kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags).
//
// Every loop is a straight element-wise loop over one row of one gate, with the activation
// fixed outside it, which the compiler vectorises. float sigmoid and tanh use the
// exponential below (Cephes' expf polynomial, within 2 ulp, written without libm calls so it
// vectorises): per time step an LSTM evaluates 5 n h transcendentals, which per element
// through libm cost more than the whole recurrent product at the book's 20 units. double
// calls the C library (exact to the last bit; the float64 path is for checking, not speed).
// No std:: templates are instantiated here (the per-level copies would meet at link time).
#include <math.h>

#include <cstdint>

#include "rnn.hpp"

namespace tl::rnn::TL_ISA_NS {
namespace {

// --- activations ------------------------------------------------------------------------

// e^x for x <= 0 (x below -87.3 gives e^-87.3 ~ 1.3e-38 instead of a denormal); NaN stays NaN.
inline float exp_nonpositive(float x) {
  x = x < -87.3365448f ? -87.3365448f : x;
  float k = x * 1.44269504088896341f + 12582912.0f;  // round(x / ln 2) in the low mantissa bits
  const uint32_t bits = __builtin_bit_cast(uint32_t, k);
  k -= 12582912.0f;
  const float r = (x - k * 0.693359375f) + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const uint32_t scale = (bits - 0x4B400000u + 127u) << 23;  // 2^k, k in [-126, 0]
  return p * __builtin_bit_cast(float, scale);
}
inline double exp_nonpositive(double x) { return exp(x); }

// 1 / (1 + e^-x) from e^-|x| (no overflow; tiny values keep their relative accuracy).
template <class T>
inline T sigmoid(T x) {
  const T e = exp_nonpositive(-fabs(x));
  const T s = T(1) / (T(1) + e);
  return x >= T(0) ? s : e * s;  // NaN takes the second branch: e * s is NaN
}

// Cephes tanhf: an odd polynomial below 0.625, (1 - e^-2|x|) / (1 + e^-2|x|) above.
inline float tanh_of(float x) {
  const float ax = fabsf(x);
  const float x2 = x * x;
  float p = -5.70498872745e-3f;
  p = p * x2 + 2.06390887954e-2f;
  p = p * x2 - 5.37397155531e-2f;
  p = p * x2 + 1.33314422036e-1f;
  p = p * x2 - 3.33332819422e-1f;
  const float small = p * x2 * x + x;
  const float e = exp_nonpositive(-2.0f * ax);
  const float large = copysignf((1.0f - e) / (1.0f + e), x);
  return ax < 0.625f ? small : large;
}
inline double tanh_of(double x) { return tanh(x); }

// y = act(y) in place. relu and hard_sigmoid keep NaN (compares with NaN are false).
template <class T>
void activate(T* __restrict__ y, int64_t n, Activation act) {
  switch (act) {
    case Activation::linear: return;
    case Activation::relu:
      for (int64_t j = 0; j < n; ++j) y[j] = y[j] < T(0) ? T(0) : y[j];
      return;
    case Activation::sigmoid:
      for (int64_t j = 0; j < n; ++j) y[j] = sigmoid(y[j]);
      return;
    case Activation::tanh:
      for (int64_t j = 0; j < n; ++j) y[j] = tanh_of(y[j]);
      return;
    case Activation::hard_sigmoid:  // torch's relu6(x + 3) / 6, Keras 3's hard_sigmoid
      for (int64_t j = 0; j < n; ++j) {
        T v = y[j] + T(3);
        v = v < T(0) ? T(0) : v;
        v = v > T(6) ? T(6) : v;
        y[j] = v / T(6);
      }
      return;
  }
}

template <Activation A, class T>
void scale_loop(T* __restrict__ y, const T* __restrict__ o, int64_t n) {
  for (int64_t j = 0; j < n; ++j) y[j] *= derivative<A>(o[j]);
}

// y *= act'(z), from the outputs o = act(z).
template <class T>
void scale_by_derivative(T* __restrict__ y, const T* __restrict__ o, int64_t n, Activation act) {
  switch (act) {
    case Activation::linear: return;
    case Activation::relu: return scale_loop<Activation::relu>(y, o, n);
    case Activation::sigmoid: return scale_loop<Activation::sigmoid>(y, o, n);
    case Activation::tanh: return scale_loop<Activation::tanh>(y, o, n);
    case Activation::hard_sigmoid: return scale_loop<Activation::hard_sigmoid>(y, o, n);
  }
}

// --- the register-blocked product -------------------------------------------------------

#if defined(__AVX512F__)
constexpr int kBytes = 64;
constexpr int kColumnVectors = 4;  // 4 rows x 4 vectors: 16 of the 32 registers accumulate
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
};
template <>
struct VecOf<double> {
  typedef double type __attribute__((vector_size(kBytes)));
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

// C[RB rows, NV vectors] (+)= A[RB rows, k] B[k, NV vectors]: the accumulators stay in
// registers for the whole k loop.
template <class T, int RB, int NV>
void block(int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
           bool accumulate) {
  constexpr int W = kWidth<T>;
  Vec<T> c[RB][NV];
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < NV; ++v) c[r][v] = accumulate ? load(C + r * ldc + v * W) : Vec<T>{};
  for (int64_t p = 0; p < k; ++p) {
    Vec<T> b[NV];
    for (int v = 0; v < NV; ++v) b[v] = load(B + p * ldb + v * W);
    for (int r = 0; r < RB; ++r) {
      const Vec<T> a = A[r * lda + p] + Vec<T>{};  // broadcast
      for (int v = 0; v < NV; ++v) c[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < NV; ++v) store(C + r * ldc + v * W, c[r][v]);
}

template <class T, int RB>
void block_columns(int nv, int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
                   int64_t ldc, bool accumulate) {
  static_assert(kColumnVectors <= 4);
  switch (nv) {
    case 4: if constexpr (kColumnVectors >= 4) block<T, RB, 4>(k, A, lda, B, ldb, C, ldc, accumulate); break;
    case 3: if constexpr (kColumnVectors >= 3) block<T, RB, 3>(k, A, lda, B, ldb, C, ldc, accumulate); break;
    case 2: block<T, RB, 2>(k, A, lda, B, ldb, C, ldc, accumulate); break;
    default: block<T, RB, 1>(k, A, lda, B, ldb, C, ldc, accumulate); break;
  }
}

template <class T>
void product(int64_t rows, int64_t k, int64_t cols, const T* A, int64_t lda, const T* B,
             int64_t ldb, T* C, int64_t ldc, bool accumulate) {
  constexpr int W = kWidth<T>;
  for (int64_t c0 = 0; c0 < cols; c0 += kColumnVectors * W) {
    const int nv = static_cast<int>((cols - c0) / W < kColumnVectors ? (cols - c0) / W : kColumnVectors);
    int64_t r = 0;
    for (; r + kRowBlock <= rows; r += kRowBlock)
      block_columns<T, kRowBlock>(nv, k, A + r * lda, lda, B + c0, ldb, C + r * ldc + c0, ldc, accumulate);
    for (; r < rows; ++r)
      block_columns<T, 1>(nv, k, A + r * lda, lda, B + c0, ldb, C + r * ldc + c0, ldc, accumulate);
  }
}

// --- forward steps ----------------------------------------------------------------------

template <class T>
inline bool skipped(const Step<T>& s, int64_t r) {
  return s.mask && !s.mask[r * s.mask_ld];
}

// w[j] += b[j] + rec[j] (+ b2[j]) for one gate's h values.
template <class T>
inline void preactivate(T* __restrict__ w, const T* __restrict__ b, const T* __restrict__ rec,
                        int64_t h) {
  for (int64_t j = 0; j < h; ++j) w[j] += b[j] + rec[j];
}

template <class T>
void simple_forward(const Step<T>& s) {
  const int64_t h = s.spec->h;
  for (int64_t r = 0; r < s.rows; ++r) {
    if (skipped(s, r)) continue;
    T* __restrict__ w = s.ws + r * s.ws_ld;
    T* __restrict__ state = s.state + r * h;
    preactivate(w, s.bias_in, s.rec + r * s.hp, h);
    activate(w, h, s.spec->activation);
    for (int64_t j = 0; j < h; ++j) state[j] = w[j];
  }
}

template <class T>
void lstm_forward(const Step<T>& s) {
  const int64_t h = s.spec->h;
  const Activation act = s.spec->activation, rec_act = s.spec->recurrent_activation;
  for (int64_t r = 0; r < s.rows; ++r) {
    if (skipped(s, r)) continue;
    T* __restrict__ w = s.ws + r * s.ws_ld;  // i f g o
    const T* rec = s.rec + r * 4 * s.hp;
    for (int g = 0; g < 4; ++g) preactivate(w + g * h, s.bias_in + g * h, rec + g * s.hp, h);
    activate(w, 2 * h, rec_act);
    activate(w + 2 * h, h, act);
    activate(w + 3 * h, h, rec_act);
    T* __restrict__ c = s.carry + r * h;
    T* __restrict__ state = s.state + r * h;
    for (int64_t j = 0; j < h; ++j) {
      c[j] = w[h + j] * c[j] + w[j] * w[2 * h + j];
      state[j] = c[j];
    }
    activate(state, h, act);
    for (int64_t j = 0; j < h; ++j) state[j] *= w[3 * h + j];
  }
}

// h = z h_prev + (1 - z) hh, Keras' expression.
template <class T>
inline void gru_update(T* __restrict__ state, const T* __restrict__ z, const T* __restrict__ hh,
                       int64_t h) {
  for (int64_t j = 0; j < h; ++j) state[j] = z[j] * state[j] + (T(1) - z[j]) * hh[j];
}

template <class T>
void gru_forward(const Step<T>& s) {  // reset_after: hh = act(x_h + r (h U_h + b_rh))
  const int64_t h = s.spec->h;
  for (int64_t r = 0; r < s.rows; ++r) {
    if (skipped(s, r)) continue;
    T* __restrict__ w = s.ws + r * s.ws_ld;  // z r hh rec_h
    const T* __restrict__ rec = s.rec + r * 3 * s.hp;
    for (int g = 0; g < 2; ++g) {
      T* wg = w + g * h;
      const T* bi = s.bias_in + g * h;
      const T* br = s.bias_rec + g * h;
      const T* rg = rec + g * s.hp;
      for (int64_t j = 0; j < h; ++j) wg[j] += (bi[j] + br[j]) + rg[j];
    }
    activate(w, 2 * h, s.spec->recurrent_activation);
    for (int64_t j = 0; j < h; ++j) {
      w[3 * h + j] = rec[2 * s.hp + j] + s.bias_rec[2 * h + j];
      w[2 * h + j] += s.bias_in[2 * h + j] + w[h + j] * w[3 * h + j];
    }
    activate(w + 2 * h, h, s.spec->activation);
    gru_update(s.state + r * h, w, w + 2 * h, h);
  }
}

template <class T>
void gru_gates_forward(const Step<T>& s) {  // reset_before, part 1: z, r, q = r * h_h
  const int64_t h = s.spec->h;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* __restrict__ q = s.aux + r * h;
    if (skipped(s, r)) {
      for (int64_t j = 0; j < h; ++j) q[j] = T(0);
      continue;
    }
    T* __restrict__ w = s.ws + r * s.ws_ld;  // z r hh
    const T* rec = s.rec + r * 3 * s.hp;
    for (int g = 0; g < 2; ++g) preactivate(w + g * h, s.bias_in + g * h, rec + g * s.hp, h);
    activate(w, 2 * h, s.spec->recurrent_activation);
    const T* __restrict__ state = s.state + r * h;
    if (s.rmask_h) {
      const T* __restrict__ m = s.rmask_h + r * h;
      for (int64_t j = 0; j < h; ++j) q[j] = w[h + j] * (state[j] * m[j]);
    } else {
      for (int64_t j = 0; j < h; ++j) q[j] = w[h + j] * state[j];
    }
  }
}

template <class T>
void gru_state_forward(const Step<T>& s) {  // reset_before, part 2: hh = act(x_h + q U_h)
  const int64_t h = s.spec->h;
  for (int64_t r = 0; r < s.rows; ++r) {
    if (skipped(s, r)) continue;
    T* __restrict__ w = s.ws + r * s.ws_ld;
    preactivate(w + 2 * h, s.bias_in + 2 * h, s.rec + r * 3 * s.hp + 2 * s.hp, h);
    activate(w + 2 * h, h, s.spec->activation);
    gru_update(s.state + r * h, w, w + 2 * h, h);
  }
}

// --- backward steps ---------------------------------------------------------------------

template <class T>
inline void zero(T* __restrict__ p, int64_t n) {
  for (int64_t j = 0; j < n; ++j) p[j] = T(0);
}

template <class T>
void simple_backward(const Step<T>& s) {
  const int64_t h = s.spec->h;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* __restrict__ d = s.delta + r * s.delta_ld;
    if (skipped(s, r)) {
      zero(d, h);
      continue;
    }
    T* __restrict__ dh = s.dh + r * s.hp;
    for (int64_t j = 0; j < h; ++j) d[j] = dh[j];
    scale_by_derivative(d, s.ws + r * s.ws_ld, h, s.spec->activation);
    zero(dh, h);
  }
}

template <class T>
void lstm_backward(const Step<T>& s) {
  const int64_t h = s.spec->h, prev_c = s.spec->prev_c();
  const Activation act = s.spec->activation, rec_act = s.spec->recurrent_activation;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* __restrict__ d = s.delta + r * s.delta_ld;  // d_i d_f d_g d_o
    if (skipped(s, r)) {
      zero(d, 4 * h);
      continue;
    }
    const T* __restrict__ w = s.ws + r * s.ws_ld;  // i f g o
    const T* __restrict__ cp = w + prev_c;
    T* __restrict__ a = s.aux + r * h;
    T* __restrict__ dh = s.dh + r * s.hp;
    T* __restrict__ dc = s.carry + r * h;
    for (int64_t j = 0; j < h; ++j) a[j] = w[h + j] * cp[j] + w[j] * w[2 * h + j];  // c
    activate(a, h, act);                                                          // act(c)
    for (int64_t j = 0; j < h; ++j) {
      d[3 * h + j] = dh[j] * a[j];        // d_o before o's derivative
      d[h + j] = dh[j] * w[3 * h + j];    // dh o, scratch for dc
    }
    scale_by_derivative(d + h, a, h, act);
    for (int64_t j = 0; j < h; ++j) {
      const T dcj = dc[j] + d[h + j];
      d[j] = dcj * w[2 * h + j];
      d[h + j] = dcj * cp[j];
      d[2 * h + j] = dcj * w[j];
      dc[j] = dcj * w[h + j];
    }
    scale_by_derivative(d, w, 2 * h, rec_act);
    scale_by_derivative(d + 2 * h, w + 2 * h, h, act);
    scale_by_derivative(d + 3 * h, w + 3 * h, h, rec_act);
    zero(dh, h);
  }
}

template <class T>
void gru_backward(const Step<T>& s) {  // reset_after
  const int64_t h = s.spec->h, prev_h = s.spec->prev_h();
  for (int64_t r = 0; r < s.rows; ++r) {
    T* __restrict__ d = s.delta + r * s.delta_ld;  // d_z d_r d_hh d_rec_h
    if (skipped(s, r)) {
      zero(d, 4 * h);
      continue;
    }
    const T* __restrict__ w = s.ws + r * s.ws_ld;  // z r hh rec_h
    const T* __restrict__ hp = w + prev_h;
    T* __restrict__ dh = s.dh + r * s.hp;
    for (int64_t j = 0; j < h; ++j) {
      d[j] = dh[j] * (hp[j] - w[2 * h + j]);
      d[2 * h + j] = dh[j] * (T(1) - w[j]);
      dh[j] *= w[j];
    }
    scale_by_derivative(d + 2 * h, w + 2 * h, h, s.spec->activation);
    for (int64_t j = 0; j < h; ++j) {
      d[h + j] = d[2 * h + j] * w[3 * h + j];
      d[3 * h + j] = d[2 * h + j] * w[h + j];
    }
    scale_by_derivative(d, w, 2 * h, s.spec->recurrent_activation);
  }
}

template <class T>
void gru_state_backward(const Step<T>& s) {  // reset_before, part 1
  const int64_t h = s.spec->h, prev_h = s.spec->prev_h();
  for (int64_t r = 0; r < s.rows; ++r) {
    T* __restrict__ d = s.delta + r * s.delta_ld;  // d_z (before z's derivative), ., d_hh, .
    if (skipped(s, r)) {
      zero(d, 4 * h);
      continue;
    }
    const T* __restrict__ w = s.ws + r * s.ws_ld;  // z r hh
    const T* __restrict__ hp = w + prev_h;
    T* __restrict__ dh = s.dh + r * s.hp;
    for (int64_t j = 0; j < h; ++j) {
      d[j] = dh[j] * (hp[j] - w[2 * h + j]);
      d[2 * h + j] = dh[j] * (T(1) - w[j]);
      dh[j] *= w[j];
    }
    scale_by_derivative(d + 2 * h, w + 2 * h, h, s.spec->activation);
  }
}

template <class T>
void gru_gates_backward(const Step<T>& s) {  // reset_before, part 2, with dq = d_hh U_h^T
  const int64_t h = s.spec->h, prev_h = s.spec->prev_h();
  for (int64_t r = 0; r < s.rows; ++r) {
    if (skipped(s, r)) continue;
    T* __restrict__ d = s.delta + r * s.delta_ld;
    const T* __restrict__ w = s.ws + r * s.ws_ld;
    const T* __restrict__ hp = w + prev_h;
    const T* __restrict__ dq = s.dq + r * s.hp;
    T* __restrict__ dh = s.dh + r * s.hp;
    if (s.rmask_h) {
      const T* __restrict__ m = s.rmask_h + r * h;
      for (int64_t j = 0; j < h; ++j) {
        const T hm = hp[j] * m[j];
        d[h + j] = dq[j] * hm;
        d[3 * h + j] = w[h + j] * hm;
        dh[j] += dq[j] * w[h + j] * m[j];
      }
    } else {
      for (int64_t j = 0; j < h; ++j) {
        d[h + j] = dq[j] * hp[j];
        d[3 * h + j] = w[h + j] * hp[j];
        dh[j] += dq[j] * w[h + j];
      }
    }
    scale_by_derivative(d, w, 2 * h, s.spec->recurrent_activation);
  }
}

template <class T>
constexpr Kernels<T> table{kWidth<T>,           product<T>,
                           simple_forward<T>,   lstm_forward<T>,
                           gru_forward<T>,      gru_gates_forward<T>,
                           gru_state_forward<T>, simple_backward<T>,
                           lstm_backward<T>,    gru_backward<T>,
                           gru_state_backward<T>, gru_gates_backward<T>};

}  // namespace

const Kernels<float>& kernels_f32() { return table<float>; }
const Kernels<double>& kernels_f64() { return table<double>; }

}  // namespace tl::rnn::TL_ISA_NS
