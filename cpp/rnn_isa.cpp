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

// y = act(y) in place over `rows` rows of n values, ld apart: one call per gate and step,
// the switch outside the loops. relu and hard_sigmoid keep NaN (compares with NaN are false).
template <class T>
void activate(T* y, int64_t rows, int64_t n, int64_t ld, Activation act) {
  for (int64_t r = 0; r < rows; ++r) {
    T* __restrict__ v = y + r * ld;
    switch (act) {
      case Activation::linear: return;
      case Activation::relu:
        for (int64_t j = 0; j < n; ++j) v[j] = v[j] < T(0) ? T(0) : v[j];
        break;
      case Activation::sigmoid:
        for (int64_t j = 0; j < n; ++j) v[j] = sigmoid(v[j]);
        break;
      case Activation::tanh:
        for (int64_t j = 0; j < n; ++j) v[j] = tanh_of(v[j]);
        break;
      case Activation::hard_sigmoid:  // torch's relu6(x + 3) / 6, Keras 3's hard_sigmoid
        for (int64_t j = 0; j < n; ++j) {
          T x = v[j] + T(3);
          x = x < T(0) ? T(0) : x;
          x = x > T(6) ? T(6) : x;
          v[j] = x / T(6);
        }
        break;
    }
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
// registers for the whole k loop. Only the first `last` lanes of the last vector are C's
// (the others are computed from B's padding and dropped).
template <class T, int RB, int NV>
void block(int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb, T* C, int64_t ldc,
           bool accumulate, int last) {
  constexpr int W = kWidth<T>;
  Vec<T> c[RB][NV];
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < NV; ++v) {
      c[r][v] = Vec<T>{};
      if (!accumulate) continue;
      if (v < NV - 1 || last == W) c[r][v] = load(C + r * ldc + v * W);
      else
        for (int l = 0; l < last; ++l) c[r][v][l] = C[r * ldc + v * W + l];
    }
  for (int64_t p = 0; p < k; ++p) {
    Vec<T> b[NV];
    for (int v = 0; v < NV; ++v) b[v] = load(B + p * ldb + v * W);
    for (int r = 0; r < RB; ++r) {
      const Vec<T> a = A[r * lda + p] + Vec<T>{};  // broadcast
      for (int v = 0; v < NV; ++v) c[r][v] += a * b[v];
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < NV; ++v) {
      if (v < NV - 1 || last == W) store(C + r * ldc + v * W, c[r][v]);
      else
        for (int l = 0; l < last; ++l) C[r * ldc + v * W + l] = c[r][v][l];
    }
}

template <class T, int RB>
void block_columns(int nv, int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb, T* C,
                   int64_t ldc, bool accumulate, int last) {
  static_assert(kColumnVectors == 2 || kColumnVectors == 4);
  switch (nv) {
    case 4: if constexpr (kColumnVectors == 4) block<T, RB, 4>(k, A, lda, B, ldb, C, ldc, accumulate, last); break;
    case 3: if constexpr (kColumnVectors == 4) block<T, RB, 3>(k, A, lda, B, ldb, C, ldc, accumulate, last); break;
    case 2: block<T, RB, 2>(k, A, lda, B, ldb, C, ldc, accumulate, last); break;
    default: block<T, RB, 1>(k, A, lda, B, ldb, C, ldc, accumulate, last); break;
  }
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

// --- forward steps ----------------------------------------------------------------------
// Each step sums the pre-activations into the workspace's gate columns, applies each gate's
// activation to all rows in one call, then updates the states of the rows the mask keeps
// (masked rows' gate values are computed and never read).

template <class T>
inline bool used(const Step<T>& s, int64_t r) {
  return !s.mask || s.mask[r * s.mask_ld];
}

// w[j] += b[j] + rec[j] for one gate's h values of every row.
template <class T>
void preactivate(const Step<T>& s, int g0, int g1) {
  const int64_t h = s.spec->h;
  for (int64_t r = 0; r < s.rows; ++r)
    for (int g = g0; g < g1; ++g) {
      T* __restrict__ w = s.ws + r * s.ws_ld + g * h;
      const T* __restrict__ b = s.bias_in + g * h;
      const T* __restrict__ rec = s.rec + r * s.rec_ld + g * h;
      for (int64_t j = 0; j < h; ++j) w[j] += b[j] + rec[j];
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
  activate(s.ws, s.rows, 2 * h, s.ws_ld, rec_act);  // i f
  activate(s.ws + 2 * h, s.rows, h, s.ws_ld, act);  // g
  activate(s.ws + 3 * h, s.rows, h, s.ws_ld, rec_act);  // o
  for (int64_t r = 0; r < s.rows; ++r) {  // the new carries, and act of them into rec
    const T* __restrict__ w = s.ws + r * s.ws_ld;
    const T* __restrict__ c = s.carry + r * h;
    T* __restrict__ cn = s.aux + r * h;
    T* __restrict__ a = s.rec + r * h;
    for (int64_t j = 0; j < h; ++j) {
      cn[j] = w[h + j] * c[j] + w[j] * w[2 * h + j];
      a[j] = cn[j];
    }
  }
  activate(s.rec, 1, s.rows * h, 0, act);
  for (int64_t r = 0; r < s.rows; ++r) {
    if (!used(s, r)) continue;
    const T* __restrict__ o = s.ws + r * s.ws_ld + 3 * h;
    const T* __restrict__ cn = s.aux + r * h;
    const T* __restrict__ a = s.rec + r * h;
    T* __restrict__ c = s.carry + r * h;
    T* __restrict__ state = s.state + r * h;
    for (int64_t j = 0; j < h; ++j) {
      c[j] = cn[j];
      state[j] = o[j] * a[j];
    }
  }
}

// h = z h_prev + (1 - z) hh (Keras' expression) for the rows the mask keeps.
template <class T>
void gru_update(const Step<T>& s) {
  const int64_t h = s.spec->h;
  for (int64_t r = 0; r < s.rows; ++r) {
    if (!used(s, r)) continue;
    const T* __restrict__ z = s.ws + r * s.ws_ld;
    const T* __restrict__ hh = z + 2 * h;
    T* __restrict__ state = s.state + r * h;
    for (int64_t j = 0; j < h; ++j) state[j] = z[j] * state[j] + (T(1) - z[j]) * hh[j];
  }
}

template <class T>
void gru_forward(const Step<T>& s) {  // reset_after: hh = act(x_h + r (h U_h + b_rh))
  const int64_t h = s.spec->h;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* __restrict__ w = s.ws + r * s.ws_ld;  // z r hh rec_h
    const T* __restrict__ rec = s.rec + r * s.rec_ld;
    const T* __restrict__ bi = s.bias_in;
    const T* __restrict__ br = s.bias_rec;
    for (int64_t j = 0; j < 2 * h; ++j) w[j] += (bi[j] + br[j]) + rec[j];
  }
  activate(s.ws, s.rows, 2 * h, s.ws_ld, s.spec->recurrent_activation);
  for (int64_t r = 0; r < s.rows; ++r) {
    T* __restrict__ w = s.ws + r * s.ws_ld;
    const T* __restrict__ rec = s.rec + r * s.rec_ld + 2 * h;
    const T* __restrict__ bi = s.bias_in + 2 * h;
    const T* __restrict__ br = s.bias_rec + 2 * h;
    for (int64_t j = 0; j < h; ++j) {
      w[3 * h + j] = rec[j] + br[j];
      w[2 * h + j] += bi[j] + w[h + j] * w[3 * h + j];
    }
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
    const T* __restrict__ rg = s.ws + r * s.ws_ld + h;
    const T* __restrict__ state = s.state + r * h;
    T* __restrict__ q = s.aux + r * h;
    if (s.rmask_h) {
      const T* __restrict__ m = s.rmask_h + r * h;
      for (int64_t j = 0; j < h; ++j) q[j] = rg[j] * (state[j] * m[j]);
    } else {
      for (int64_t j = 0; j < h; ++j) q[j] = rg[j] * state[j];
    }
  }
}

template <class T>
void gru_state_forward(const Step<T>& s) {  // reset_before, part 2: hh = act(x_h + q U_h)
  preactivate(s, 2, 3);
  activate(s.ws + 2 * s.spec->h, s.rows, s.spec->h, s.ws_ld, s.spec->activation);
  gru_update(s);
}

// --- backward steps ---------------------------------------------------------------------
// One fused loop per row with the derivatives taken from the saved outputs (Slope); a row
// the mask drops gets a zero delta row and keeps dh (and dc).

template <class T>
inline void zero(T* __restrict__ p, int64_t n) {
  for (int64_t j = 0; j < n; ++j) p[j] = T(0);
}

template <class T>
void simple_backward(const Step<T>& s) {
  const int64_t h = s.spec->h;
  const Slope<T> da = s.slope_act;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* __restrict__ d = s.delta + r * s.delta_ld;
    if (!used(s, r)) {
      zero(d, h);
      continue;
    }
    const T* __restrict__ o = s.ws + r * s.ws_ld;
    T* __restrict__ dh = s.dh + r * h;
    for (int64_t j = 0; j < h; ++j) {
      d[j] = dh[j] * da(o[j]);
      dh[j] = T(0);
    }
  }
}

template <class T>
void lstm_backward(const Step<T>& s) {
  const int64_t h = s.spec->h, prev_c = s.spec->prev_c();
  const Slope<T> da = s.slope_act, dr = s.slope_rec;
  for (int64_t r = 0; r < s.rows; ++r) {  // act(c) of every row, in one call
    const T* __restrict__ w = s.ws + r * s.ws_ld;
    T* __restrict__ a = s.aux + r * h;
    for (int64_t j = 0; j < h; ++j) a[j] = w[h + j] * w[prev_c + j] + w[j] * w[2 * h + j];
  }
  activate(s.aux, 1, s.rows * h, 0, s.spec->activation);
  for (int64_t r = 0; r < s.rows; ++r) {
    T* __restrict__ d = s.delta + r * s.delta_ld;  // d_i d_f d_g d_o
    if (!used(s, r)) {
      zero(d, 4 * h);
      continue;
    }
    // One restrict pointer per gate: writes through one pointer at offsets h apart would
    // need alias checks the vectoriser does not make.
    const T* w = s.ws + r * s.ws_ld;
    const T *__restrict__ i = w, *__restrict__ f = w + h, *__restrict__ g = w + 2 * h;
    const T *__restrict__ o = w + 3 * h, *__restrict__ cp = w + prev_c;
    T *__restrict__ di = d, *__restrict__ df = d + h, *__restrict__ dg = d + 2 * h;
    T* __restrict__ d_o = d + 3 * h;
    const T* __restrict__ a = s.aux + r * h;
    T* __restrict__ dh = s.dh + r * h;
    T* __restrict__ dc = s.carry + r * h;
    for (int64_t j = 0; j < h; ++j) {
      const T dcj = dc[j] + dh[j] * o[j] * da(a[j]);
      di[j] = dcj * g[j] * dr(i[j]);
      df[j] = dcj * cp[j] * dr(f[j]);
      dg[j] = dcj * i[j] * da(g[j]);
      d_o[j] = dh[j] * a[j] * dr(o[j]);
      dc[j] = dcj * f[j];
      dh[j] = T(0);
    }
  }
}

template <class T>
void gru_backward(const Step<T>& s) {  // reset_after
  const int64_t h = s.spec->h, prev_h = s.spec->prev_h();
  const Slope<T> da = s.slope_act, dr = s.slope_rec;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* __restrict__ d = s.delta + r * s.delta_ld;  // d_z d_r d_hh d_rec_h
    if (!used(s, r)) {
      zero(d, 4 * h);
      continue;
    }
    const T* w = s.ws + r * s.ws_ld;
    const T *__restrict__ z = w, *__restrict__ rg = w + h, *__restrict__ hh = w + 2 * h;
    const T *__restrict__ rech = w + 3 * h, *__restrict__ hp = w + prev_h;
    T *__restrict__ dz = d, *__restrict__ d_r = d + h, *__restrict__ dhh = d + 2 * h;
    T* __restrict__ drech = d + 3 * h;
    T* __restrict__ dh = s.dh + r * h;
    for (int64_t j = 0; j < h; ++j) {
      const T dah = dh[j] * (T(1) - z[j]) * da(hh[j]);
      dz[j] = dh[j] * (hp[j] - hh[j]) * dr(z[j]);
      d_r[j] = dah * rech[j] * dr(rg[j]);
      dhh[j] = dah;
      drech[j] = dah * rg[j];
      dh[j] *= z[j];
    }
  }
}

template <class T>
void gru_state_backward(const Step<T>& s) {  // reset_before, part 1: d_z, d_hh, dh z
  const int64_t h = s.spec->h, prev_h = s.spec->prev_h();
  const Slope<T> da = s.slope_act, dr = s.slope_rec;
  for (int64_t r = 0; r < s.rows; ++r) {
    T* __restrict__ d = s.delta + r * s.delta_ld;
    if (!used(s, r)) {
      zero(d, 4 * h);
      continue;
    }
    const T* w = s.ws + r * s.ws_ld;
    const T *__restrict__ z = w, *__restrict__ hh = w + 2 * h, *__restrict__ hp = w + prev_h;
    T *__restrict__ dz = d, *__restrict__ dhh = d + 2 * h;
    T* __restrict__ dh = s.dh + r * h;
    for (int64_t j = 0; j < h; ++j) {
      dz[j] = dh[j] * (hp[j] - hh[j]) * dr(z[j]);
      dhh[j] = dh[j] * (T(1) - z[j]) * da(hh[j]);
      dh[j] *= z[j];
    }
  }
}

template <class T>
void gru_gates_backward(const Step<T>& s) {  // reset_before, part 2, with dq = d_hh U_h^T
  const int64_t h = s.spec->h, prev_h = s.spec->prev_h();
  const Slope<T> dr = s.slope_rec;
  for (int64_t r = 0; r < s.rows; ++r) {
    if (!used(s, r)) continue;
    T* d = s.delta + r * s.delta_ld;
    T *__restrict__ d_r = d + h, *__restrict__ q = d + 3 * h;
    const T* w = s.ws + r * s.ws_ld;
    const T *__restrict__ rg = w + h, *__restrict__ hp = w + prev_h;
    const T* __restrict__ dq = s.dq + r * h;
    T* __restrict__ dh = s.dh + r * h;
    const T* __restrict__ m = s.rmask_h ? s.rmask_h + r * h : nullptr;
    for (int64_t j = 0; j < h; ++j) {
      const T mj = m ? m[j] : T(1);
      const T hm = hp[j] * mj;
      d_r[j] = dq[j] * hm * dr(rg[j]);
      q[j] = rg[j] * hm;
      dh[j] += dq[j] * rg[j] * mj;
    }
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
