#include "rnn.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "blas.hpp"
#include "isa.hpp"
#include "threads.hpp"

namespace tl::rnn {

TL_ISA_KERNELS_DISPATCH()

namespace {

constexpr const char* kCells[] = {"simple_rnn", "lstm", "gru"};
constexpr const char* kActivations[] = {"linear", "relu", "sigmoid", "tanh", "hard_sigmoid"};

// The per-step recurrent products go through the register-blocked hand loop
// (Kernels::product) up to 512 units and 64 rows per thread, through the BLAS beyond. A BLAS
// call packs the whole recurrent kernel every step, which at a few dozen rows costs about as
// much as the product itself. Measured (benchmarks/README.md, fwd+bwd, 2 threads): at batch
// 64 the hand loop is 1.1-1.4x faster than OpenBLAS (AVX2 and AVX-512 kernels) from 20 to
// 512 units; at 1024 units the BLAS is 1.05-1.5x faster, and at 128-256 rows per thread
// within 5% (AVX-512) or 15% slower (AVX2).
constexpr int64_t kHandProductMaxUnits = 512;
constexpr int64_t kHandProductMaxRows = 64;

// The calling thread's scratch, grown as needed and kept for the next call (a training loop
// calls with the same shapes every step). Uninitialised: every part is written first. Two
// slots, so the masked copies of the inputs (kMasked) never move the buffers in use (kWork).
enum Slot { kWork, kMasked };

template <class T, Slot kSlot>
T* scratch_space(int64_t count) {
  thread_local std::vector<T> buffer;
  if (static_cast<int64_t>(buffer.size()) < count) {
    buffer.clear();
    buffer.shrink_to_fit();
    buffer.resize(count);
  }
  return buffer.data();
}

// Contiguous row ranges, one per thread: [begin(t), begin(t + 1)).
struct Rows {
  int64_t n;
  int nt;
  int64_t begin(int t) const { return n * t / nt; }
};

int thread_count(const Spec& s, int n_threads) {
  const double work = double(s.n) * s.t * s.gh() * s.h;  // multiply-adds of the recurrence
  return static_cast<int>(std::max<int64_t>(
      1, std::min<int64_t>(threads::resolve(n_threads, work), s.n)));
}

// out[i, time, :] = x[i, time, :] * m[i, :]: an input dropout mask applied to every step.
template <class T>
void mask_rows(const T* x, const T* m, int64_t n, int64_t t, int64_t width, int64_t ld, T* out) {
  for (int64_t i = 0; i < n; ++i)
    for (int64_t time = 0; time < t; ++time) {
      const T* src = x + (i * t + time) * ld;
      T* dst = out + (i * t + time) * width;
      for (int64_t j = 0; j < width; ++j) dst[j] = src[j] * m[i * width + j];
    }
}

// The GEMM stages' device (rnn.hpp): the CPU BLAS, single-threaded, its products split
// over our OpenMP threads (blas::parallel_gemm). A call holds the BLAS single-threaded
// throughout: OpenBLAS's own workers spin after each GEMM and took the cores from the next
// step's threads (LSTM(20) fwd+bwd went from 0.5 ms to 5-27 ms with two threads on the 2
// cores).
struct Cpu {
  int n_threads = 0;

  template <class T>
  void gemm(bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda,
            const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
    blas::parallel_gemm<T>(n_threads, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  template <class T>
  void mask_rows(const T* x, const T* m, int64_t n, int64_t t, int64_t width, int64_t ld, T* out) {
    ::tl::rnn::mask_rows(x, m, n, t, width, ld, out);
  }
  template <class T>
  void add(T* y, const T* x, int64_t count) {
    for (int64_t e = 0; e < count; ++e) y[e] += x[e];
  }
  template <class T>
  T* scratch(int64_t count) {
    return scratch_space<T, kMasked>(count);
  }
};

// What one call derives once: sizes, the product method, and the copies of the recurrent
// kernel the hand product reads (rows padded with zeros to whole vectors).
template <class T>
struct Plan {
  const Spec& s;
  const Kernels<T>& kern;
  int64_t gh, W, DW;
  int64_t hp;  // h rounded up to a vector: the row stride of U^T for the hand product
  bool hand;
  const T* U;        // (h, gh) the recurrent kernel
  std::vector<T> up;   // hand forward: U and a vector of slack (the last vector's loads)
  std::vector<T> utp;  // hand backward: (gh, hp) U^T, zeros in the padding

  Plan(const Spec& spec, const T* recurrent_kernel, int n_threads, bool backward)
      : s(spec), kern(kernels<T>()), gh(spec.gh()), W(spec.workspace_width()),
        DW(spec.delta_width()), U(recurrent_kernel) {
    hand = spec.h <= kHandProductMaxUnits && spec.n <= kHandProductMaxRows * n_threads;
    const int64_t width = kern.width, h = spec.h;
    hp = (h + width - 1) / width * width;
    if (!hand) return;
    if (!backward) {
      up.assign(h * gh + width, T(0));
      std::memcpy(up.data(), U, h * gh * sizeof(T));
    } else {
      utp.assign(gh * hp, T(0));
      for (int64_t i = 0; i < h; ++i)
        for (int64_t c = 0; c < gh; ++c) utp[c * hp + i] = U[i * gh + c];
    }
  }

  // rec[:, g0 h : g1 h] = A (rows x h, lda) @ U[:, g0 h : g1 h].
  void forward_product(int64_t rows, const T* A, int64_t lda, int g0, int g1, T* rec) const {
    const int64_t h = s.h;
    if (hand)
      kern.product(rows, h, (g1 - g0) * h, A, lda, up.data() + g0 * h, gh, rec + g0 * h, gh,
                   false);
    else
      blas::gemm<T>(false, false, rows, (g1 - g0) * h, h, T(1), A, lda, U + g0 * h, gh, T(0),
                    rec + g0 * h, gh);
  }

  // C (rows x h) (+)= delta (rows x k, lda) @ U[:, u0 : u0 + k]^T.
  void backward_product(int64_t rows, const T* delta, int64_t lda, int64_t u0, int64_t k, T* C,
                        bool accumulate) const {
    if (hand)
      kern.product(rows, k, s.h, delta, lda, utp.data() + u0 * hp, hp, C, s.h, accumulate);
    else
      blas::gemm<T>(false, true, rows, s.h, k, T(1), delta, lda, U + u0, gh,
                    accumulate ? T(1) : T(0), C, s.h);
  }

  // The recurrent dropout mask of gate g, or null.
  const T* rmask(const T* masks, int g) const {
    return gate_mask(masks, s.recurrent_dropout_groups, g, s.n, s.h);
  }
};

// rec = sum over gates [g0, g1) of (a * m_g) @ U_g for a block of rows: a single product
// when no mask or one mask serves every gate.
template <class T>
void recurrent_forward(const Plan<T>& p, int64_t n0, int64_t rows, const T* a, const T* rmasks,
                       int g0, int g1, T* rec, T* tmp) {
  const int64_t h = p.s.h;
  auto masked = [&](int g) {
    const T* m = p.rmask(rmasks, g) + n0 * h;
    for (int64_t e = 0; e < rows * h; ++e) tmp[e] = a[e] * m[e];
    return tmp;
  };
  if (!rmasks) {
    p.forward_product(rows, a, h, g0, g1, rec);
  } else if (p.s.recurrent_dropout_groups == 1) {
    p.forward_product(rows, masked(g0), h, g0, g1, rec);
  } else {
    for (int g = g0; g < g1; ++g) p.forward_product(rows, masked(g), h, g, g + 1, rec);
  }
}

// dh += sum over gates [g0, g1) of (delta_g @ U_g^T) * m_g for a block of rows.
template <class T>
void recurrent_backward(const Plan<T>& p, int64_t n0, int64_t rows, const T* delta, int64_t lda,
                        const T* rmasks, int g0, int g1, T* dh, T* tmp) {
  const int64_t h = p.s.h;
  auto add_masked = [&](const T* m) {
    for (int64_t e = 0; e < rows * h; ++e) dh[e] += tmp[e] * m[n0 * h + e];
  };
  for_each_gate_run(p.s, g0, g1, [&](int g, int end) {
    const T* d = delta + rec_delta_col(p.s, g);
    const int64_t k = (end - g) * h;
    if (!rmasks) {
      p.backward_product(rows, d, lda, g * h, k, dh, true);
    } else {
      p.backward_product(rows, d, lda, g * h, k, tmp, false);
      add_masked(p.rmask(rmasks, g));
    }
  });
}

template <class T>
void copy_rows(const T* src, int64_t src_ld, T* dst, int64_t dst_ld, int64_t rows, int64_t h) {
  for (int64_t r = 0; r < rows; ++r) std::memcpy(dst + r * dst_ld, src + r * src_ld, h * sizeof(T));
}

// The output of step k for a block of rows (Keras' rnn(): a masked step repeats the previous
// output, zeros before the first used step, or gives zeros with zero_output_for_mask).
template <class T>
void write_outputs(const Spec& s, int64_t n0, int64_t rows, int64_t k, const bool* mask_col,
                   const T* state, T* outputs) {
  const int64_t h = s.h;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = n0 + r;
    T* dst = s.return_sequences ? outputs + (i * s.t + k) * h : outputs + i * h;
    if (!mask_col || mask_col[r * s.t]) {
      std::memcpy(dst, state + r * h, h * sizeof(T));
    } else if (s.zero_output_for_mask || (s.return_sequences && k == 0)) {
      std::fill(dst, dst + h, T(0));
    } else if (s.return_sequences) {
      std::memcpy(dst, dst - h, h * sizeof(T));
    }  // else: the last output stays as it is
  }
}

template <class T>
void forward_rows(const Plan<T>& p, const Inputs<T>& in, const Outputs<T>& out, int64_t n0,
                  int64_t rows, T* scratch) {
  const Spec& s = p.s;
  const int64_t h = s.h, t = s.t;
  T* state = scratch;
  T* carry = state + rows * h;
  T* aux = carry + rows * h;
  T* tmp = aux + rows * h;
  T* rec = tmp + rows * h;
  if (in.h0) std::memcpy(state, in.h0 + n0 * h, rows * h * sizeof(T));
  else std::fill(state, state + rows * h, T(0));
  if (s.cell == Cell::lstm) {
    if (in.c0) std::memcpy(carry, in.c0 + n0 * h, rows * h * sizeof(T));
    else std::fill(carry, carry + rows * h, T(0));
  }
  if (!s.return_sequences) std::fill(out.outputs + n0 * h, out.outputs + (n0 + rows) * h, T(0));

  Step<T> st;
  st.spec = &s;
  st.rows = rows;
  st.ws_ld = t * p.W;
  st.rec_ld = p.gh;
  st.mask_ld = t;
  st.bias_in = in.bias;
  st.bias_rec = s.gru_after() ? in.bias + p.gh : nullptr;
  st.rec = rec;
  st.state = state;
  st.carry = carry;
  st.aux = aux;
  st.rmask_h = s.gru_before() && in.recurrent_dropout ? p.rmask(in.recurrent_dropout, 2) + n0 * h
                                                      : nullptr;
  const T* rm = in.recurrent_dropout;
  for (int64_t k = 0; k < t; ++k) {
    const int64_t time = s.go_backwards ? t - 1 - k : k;
    st.ws = out.workspace + (n0 * t + time) * p.W;
    st.mask = in.mask ? in.mask + n0 * t + time : nullptr;
    copy_rows(state, h, st.ws + s.prev_h(), st.ws_ld, rows, h);
    if (s.cell == Cell::lstm) copy_rows(carry, h, st.ws + s.prev_c(), st.ws_ld, rows, h);
    switch (s.cell) {
      case Cell::simple_rnn:
        recurrent_forward(p, n0, rows, state, rm, 0, 1, rec, tmp);
        p.kern.simple_forward(st);
        break;
      case Cell::lstm:
        recurrent_forward(p, n0, rows, state, rm, 0, 4, rec, tmp);
        p.kern.lstm_forward(st);
        break;
      case Cell::gru:
        if (s.reset_after) {
          recurrent_forward(p, n0, rows, state, rm, 0, 3, rec, tmp);
          p.kern.gru_forward(st);
        } else {
          recurrent_forward(p, n0, rows, state, rm, 0, 2, rec, tmp);
          p.kern.gru_gates_forward(st);
          p.forward_product(rows, aux, h, 2, 3, rec);  // q @ U_h (q holds the mask already)
          p.kern.gru_state_forward(st);
        }
        break;
    }
    write_outputs(s, n0, rows, k, st.mask, state, out.outputs);
  }
  std::memcpy(out.h + n0 * h, state, rows * h * sizeof(T));
  if (s.cell == Cell::lstm) std::memcpy(out.c + n0 * h, carry, rows * h * sizeof(T));
}

// The output gradient of step k into dh (rows x h), following write_outputs backwards:
// at a masked step the gradient goes on to the previous step's output (`pending`), or
// nowhere with zero_output_for_mask.
template <class T>
void add_output_gradient(const Spec& s, int64_t n0, int64_t rows, int64_t k,
                         const bool* mask_col, const T* d_outputs, T* dh, T* pending) {
  const int64_t h = s.h;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = n0 + r;
    const T* g = nullptr;
    if (d_outputs)
      g = s.return_sequences ? d_outputs + (i * s.t + k) * h
                             : (k == s.t - 1 ? d_outputs + i * h : nullptr);
    T* d = dh + r * h;
    if (!mask_col) {
      if (g)
        for (int64_t j = 0; j < h; ++j) d[j] += g[j];
      continue;
    }
    T* pend = pending + r * h;
    if (g)
      for (int64_t j = 0; j < h; ++j) pend[j] += g[j];
    if (mask_col[r * s.t]) {
      for (int64_t j = 0; j < h; ++j) d[j] += pend[j];
      std::fill(pend, pend + h, T(0));
    } else if (s.zero_output_for_mask) {
      std::fill(pend, pend + h, T(0));
    }
  }
}

template <class T>
void backward_rows(const Plan<T>& p, const Inputs<T>& in, const T* workspace, T* delta,
                   const Gradients<T>& grad, int64_t n0, int64_t rows, T* scratch,
                   double* colsum) {
  const Spec& s = p.s;
  const int64_t h = s.h, t = s.t;
  T* dh = scratch;
  T* dc = dh + rows * h;
  T* pending = dc + rows * h;
  T* aux = pending + rows * h;
  T* dq = aux + rows * h;
  T* tmp = dq + rows * h;
  if (grad.d_h) std::memcpy(dh, grad.d_h + n0 * h, rows * h * sizeof(T));
  else std::fill(dh, dh + rows * h, T(0));
  std::fill(dc, dc + rows * h, T(0));
  if (grad.d_c && s.cell == Cell::lstm) std::memcpy(dc, grad.d_c + n0 * h, rows * h * sizeof(T));
  std::fill(pending, pending + rows * h, T(0));

  Step<T> st;
  st.spec = &s;
  st.rows = rows;
  st.ws_ld = t * p.W;
  st.slope_act = slope<T>(s.activation);
  st.slope_rec = slope<T>(s.recurrent_activation);
  st.mask_ld = t;
  st.carry = dc;
  st.aux = aux;
  st.delta_ld = t * p.DW;
  st.dh = dh;
  st.dq = dq;
  st.rmask_h = s.gru_before() && in.recurrent_dropout ? p.rmask(in.recurrent_dropout, 2) + n0 * h
                                                      : nullptr;
  const T* rm = in.recurrent_dropout;
  for (int64_t k = t - 1; k >= 0; --k) {
    const int64_t time = s.go_backwards ? t - 1 - k : k;
    st.ws = const_cast<T*>(workspace) + (n0 * t + time) * p.W;
    st.delta = delta + (n0 * t + time) * p.DW;
    st.mask = in.mask ? in.mask + n0 * t + time : nullptr;
    add_output_gradient(s, n0, rows, k, st.mask, grad.d_outputs, dh, pending);
    switch (s.cell) {
      case Cell::simple_rnn:
        p.kern.simple_backward(st);
        recurrent_backward(p, n0, rows, st.delta, st.delta_ld, rm, 0, 1, dh, tmp);
        break;
      case Cell::lstm:
        p.kern.lstm_backward(st);
        recurrent_backward(p, n0, rows, st.delta, st.delta_ld, rm, 0, 4, dh, tmp);
        break;
      case Cell::gru:
        if (s.reset_after) {
          p.kern.gru_backward(st);
          recurrent_backward(p, n0, rows, st.delta, st.delta_ld, rm, 0, 3, dh, tmp);
        } else {
          p.kern.gru_state_backward(st);
          p.backward_product(rows, st.delta + 2 * h, st.delta_ld, 2 * h, h, dq, false);
          p.kern.gru_gates_backward(st);
          recurrent_backward(p, n0, rows, st.delta, st.delta_ld, rm, 0, 2, dh, tmp);
        }
        break;
    }
    for (int64_t r = 0; r < rows; ++r) {
      const T* d = st.delta + r * st.delta_ld;
      for (int64_t j = 0; j < p.DW; ++j) colsum[j] += d[j];
    }
  }
  if (grad.dh0) std::memcpy(grad.dh0 + n0 * h, dh, rows * h * sizeof(T));
  if (grad.dc0 && s.cell == Cell::lstm) std::memcpy(grad.dc0 + n0 * h, dc, rows * h * sizeof(T));
}

}  // namespace

Cell parse_cell(const std::string& name) {
  for (int c = 0; c < 3; ++c)
    if (name == kCells[c]) return static_cast<Cell>(c);
  throw std::invalid_argument("unknown cell '" + name + "'; expected one of simple_rnn, lstm, gru");
}

Activation parse_activation(const std::string& name) {
  for (int a = 0; a < 5; ++a)
    if (name == kActivations[a]) return static_cast<Activation>(a);
  throw std::invalid_argument("unknown activation '" + name +
                              "'; the fused recurrent cells take linear, relu, sigmoid, tanh, "
                              "hard_sigmoid");
}

void Spec::check() const {
  if (n < 0) throw std::invalid_argument("rnn: negative batch size");
  if (t < 1) throw std::invalid_argument("rnn: the sequences must have at least one time step");
  if (d < 1) throw std::invalid_argument("rnn: the inputs must have at least one feature");
  if (h < 1) throw std::invalid_argument("rnn: the number of units must be >= 1");
  for (int groups : {input_dropout_groups, recurrent_dropout_groups})
    if (groups != 0 && groups != 1 && groups != gates())
      throw std::invalid_argument("rnn: a dropout mask must be one (n, features) array or one per "
                                  "gate (" + std::to_string(gates()) + ", n, features)");
  if (!blas::ready()) throw std::runtime_error("turbolearn: BLAS function pointers were not set");
}

template <class T>
void forward(const Spec& s, const Inputs<T>& in_arg, const Outputs<T>& out, int n_threads) {
  s.check();
  if (s.n == 0) return;
  Inputs<T> in = in_arg;
  std::vector<T> zeros;
  if (!s.has_bias) {
    zeros.assign(s.bias_size(), T(0));
    in.bias = zeros.data();
  }
  blas::SingleThreaded one_blas_thread;
  Cpu cpu{n_threads};
  project_inputs(s, in, out.workspace, cpu);
  const int nt = thread_count(s, n_threads);
  const Plan<T> p(s, in.recurrent_kernel, nt, false);
  const int64_t per_row = 4 * s.h + p.gh;
  T* scratch = scratch_space<T, kWork>(s.n * per_row);
  const Rows rows{s.n, nt};
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int th = 0; th < nt; ++th) {
    const int64_t n0 = rows.begin(th);
    forward_rows(p, in, out, n0, rows.begin(th + 1) - n0, scratch + n0 * per_row);
  }
}

template <class T>
void backward(const Spec& s, const Inputs<T>& in, const T* workspace, const Gradients<T>& grad,
              int n_threads) {
  s.check();
  const int64_t gh = s.gh(), h = s.h;
  if (s.n == 0) {
    std::fill(grad.dkernel, grad.dkernel + s.d * gh, T(0));
    std::fill(grad.drecurrent_kernel, grad.drecurrent_kernel + h * gh, T(0));
    if (grad.dbias) std::fill(grad.dbias, grad.dbias + s.bias_size(), T(0));
    return;
  }
  const int nt = thread_count(s, n_threads);
  const Plan<T> p(s, in.recurrent_kernel, nt, true);
  const Rows rows{s.n, nt};
  const int64_t per_row = 6 * h;
  T* delta = scratch_space<T, kWork>(s.n * s.t * p.DW + s.n * per_row);
  T* scratch = delta + s.n * s.t * p.DW;
  // Per-thread column sums of delta (the bias gradients), in double: they add n t terms.
  std::vector<double> colsums(nt * p.DW, 0.0);
  blas::SingleThreaded one_blas_thread;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int th = 0; th < nt; ++th) {
    const int64_t n0 = rows.begin(th);
    backward_rows(p, in, workspace, delta, grad, n0, rows.begin(th + 1) - n0,
                  scratch + n0 * per_row, colsums.data() + th * p.DW);
  }
  if (grad.dbias) {  // the threads' column sums, added in thread order
    for (int th = 1; th < nt; ++th)
      for (int64_t j = 0; j < p.DW; ++j) colsums[j] += colsums[th * p.DW + j];
    for (int64_t j = 0; j < gh; ++j) grad.dbias[j] = static_cast<T>(colsums[j]);
    if (s.gru_after())  // the recurrent bias: d_z, d_r and d_rec_h
      for (int64_t j = 0; j < gh; ++j)
        grad.dbias[gh + j] = static_cast<T>(colsums[j < 2 * h ? j : j + h]);
  }
  Cpu cpu{n_threads};
  input_gradients(s, in, delta, grad, cpu);
  recurrent_gradients(s, in, workspace, delta, grad.drecurrent_kernel, cpu);
}

TL_INSTANTIATE_RNN(float)
TL_INSTANTIATE_RNN(double)

}  // namespace tl::rnn
