// The per-step loops of the rnn kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags).
//
// Every loop runs over one row of one gate (h values) in explicit vectors, the last one
// lane-masked. Rows at the book's 20 units are one and a quarter AVX-512 vectors: with the
// compiler's own vectorisation the scalar remainder of each row cost four times the vector
// body and dominated the step. Activations are applied to all rows of a block in one call
// per gate, the switch outside the loops. The vectors, masked loads and stores, and float
// sigmoid and tanh are vmath.hpp's.
// No std:: templates are instantiated here (the per-level copies would meet at link time).
#include <cstdint>

#include "rnn.hpp"
#include "vmath.hpp"

namespace tl::rnn::TL_ISA_NS {
namespace {

using namespace ::tl::TL_ISA_NS::vmath;

// --- the product's register blocks ---------------------------------------------------------

#if defined(__AVX512F__)
constexpr int kColumnVectors = 4;  // product: 4 rows x 4 vectors, 16 of the 32 registers
#else
constexpr int kColumnVectors = 2;  // AVX2: 4 x 2, 8 of the 16 registers; SSE2 likewise
#endif
constexpr int kRowBlock = 4;

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
