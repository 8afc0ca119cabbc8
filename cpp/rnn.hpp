// The rnn op family: a whole sequence of a built-in recurrent cell (SimpleRNN, LSTM, GRU with
// reset_after true or false) in one call per direction, in Keras 3's layout and equations.
//
// Forward: the input projection of every time step is one GEMM over the (n*t, d) rows, into
// the workspace; then, per time step, the recurrent product h (n x h) @ recurrent_kernel and
// one fused pass for the gates and the state update. Batch rows are independent through
// time, so OpenMP threads each take a block of rows for the whole sequence (no barrier per
// step). Backward through time runs the same way and leaves the gate gradients of every
// step in one buffer, so the weight gradients are one GEMM each over all n*t rows (and the
// bias gradients column sums) after the loop: accumulated in one pass, not per step.
//
// Keras conventions: x (n, t, d) batch-major; kernel (d, G*h), recurrent_kernel (h, G*h),
// bias (G*h) or, for GRU with reset_after, (2, G*h) (input bias, recurrent bias); gate order
// LSTM i, f, c, o; GRU z, r, h. Masked steps keep the previous state; the output of a masked
// step is the previous output (zeros before the first unmasked step), or zeros with
// zero_output_for_mask (keras.src.backend rnn()). go_backwards walks the time steps from
// the end and returns the outputs in that (processing) order. Dropout masks are fixed across
// time steps: one (n, d) input mask for every gate, or one per gate ((G, n, d), Keras'
// implementation 1), and one recurrent mask per gate ((G, n, h); SimpleRNN: (n, h)).
#pragma once
#include <cstdint>
#include <limits>
#include <string>

#if defined(__CUDACC__)
#define TL_RNN_HD __host__ __device__ __forceinline__
#else
// Always inlined: the per-SIMD-level sources use these, and an out-of-line copy compiled for
// AVX-512 must never be the one a baseline caller links to.
#define TL_RNN_HD [[gnu::always_inline]] inline
#endif

namespace tl::rnn {

// The values are the Python ops layer's too (_ops/rnn.py CELLS, RNN_ACTIVATIONS).
enum class Cell : int { simple_rnn, lstm, gru };
enum class Activation : int { linear, relu, sigmoid, tanh, hard_sigmoid };

// "lstm" -> Cell::lstm, "tanh" -> Activation::tanh; std::invalid_argument naming the value.
Cell parse_cell(const std::string& name);
Activation parse_activation(const std::string& name);

// act'(z) from the output o = act(z), as one branch-free expression for every fused
// activation, so the backward loops need no switch per element: 0 where o <= lo or o >= hi,
// else c0 + o (c1 + o c2) (a NaN output gives NaN). As torch's autograd takes them: relu'
// is 0 at 0; hard_sigmoid = relu6(z + 3) / 6 has slope 1/6 strictly inside (-3, 3).
template <class T>
struct Slope {
  T lo, hi, c0, c1, c2;
  // V: T, or a vector of T (rnn_isa.cpp); two selects, no branch.
  template <class V>
  TL_RNN_HD V operator()(V o) const {
    const V value = o <= lo ? V{} : c0 + o * (c1 + o * c2);
    return o >= hi ? V{} : value;
  }
};

template <class T>
Slope<T> slope(Activation act) {
  const T inf = std::numeric_limits<T>::infinity();
  switch (act) {
    case Activation::relu: return {T(0), inf, T(1), T(0), T(0)};
    case Activation::sigmoid: return {-inf, inf, T(0), T(1), T(-1)};  // o (1 - o)
    case Activation::tanh: return {-inf, inf, T(1), T(0), T(-1)};     // 1 - o^2
    case Activation::hard_sigmoid: return {T(0), T(1), T(1) / T(6), T(0), T(0)};
    default: return {-inf, inf, T(1), T(0), T(0)};
  }
}

// Shapes and options of one call. Everything the CPU and CUDA kernels, the bindings and the
// ops layer agree on (the workspace layout above all) is derived here.
struct Spec {
  Cell cell = Cell::lstm;
  int64_t n = 0, t = 0, d = 0, h = 0;  // batch, time steps, input features, units
  Activation activation = Activation::tanh;             // candidate / output activation
  Activation recurrent_activation = Activation::sigmoid;  // LSTM i, f, o; GRU z, r
  bool reset_after = true;  // GRU: reset gate applied after the recurrent product
  bool go_backwards = false, return_sequences = true, zero_output_for_mask = false;
  bool has_bias = true;
  bool has_mask = false;
  int input_dropout_groups = 0;      // 0: none; 1: one (n, d) mask; gates(): (G, n, d)
  int recurrent_dropout_groups = 0;  // 0: none; gates(): (G, n, h) (1 = G for SimpleRNN)

  int gates() const { return cell == Cell::lstm ? 4 : cell == Cell::gru ? 3 : 1; }
  int64_t gh() const { return gates() * h; }
  bool gru_after() const { return cell == Cell::gru && reset_after; }
  bool gru_before() const { return cell == Cell::gru && !reset_after; }
  int64_t bias_size() const { return gru_after() ? 2 * gh() : gh(); }

  // The workspace the forward pass saves for the backward pass: one row of
  // workspace_width() values per (sample, time step), row n * t + time:
  //   [0, saved)            the gate activations: LSTM i f g o (4h); GRU reset_after z r hh
  //                         and the recurrent product of the h gate with its bias (4h); GRU
  //                         z r hh (3h); SimpleRNN the new state (h). On entry to a step the
  //                         first gh() columns hold that step's input projection.
  //   [prev_h, prev_h + h)  the state before the step (after masking of earlier steps)
  //   [prev_c, prev_c + h)  LSTM: the carry before the step
  // The new carry c = f c_prev + i g and act(c) are recomputed in the backward pass.
  int64_t saved_width() const {
    return (cell == Cell::lstm || gru_after() ? 4 : cell == Cell::gru ? 3 : 1) * h;
  }
  int64_t prev_h() const { return saved_width(); }
  int64_t prev_c() const { return saved_width() + h; }
  int64_t workspace_width() const { return saved_width() + (cell == Cell::lstm ? 2 : 1) * h; }

  // The backward pass's gate-gradient row per (sample, time step): the gradients of the gate
  // pre-activations (gh(), in gate order: the kernel's and the input bias' gradient
  // operand), then for GRU one more h: reset_after, the gradient of the h gate's recurrent
  // product (r * d_hh); otherwise q = r * h_prev, the left operand of its product.
  int64_t delta_width() const { return gh() + (cell == Cell::gru ? h : 0); }

  // Throws std::invalid_argument on sizes or options out of range.
  void check() const;
};

// The arrays of a call (row-major, C-contiguous). Optional ones are null.
template <class T>
struct Inputs {
  const T* x = nullptr;                 // (n, t, d)
  const T* kernel = nullptr;            // (d, gh)
  const T* recurrent_kernel = nullptr;  // (h, gh)
  const T* bias = nullptr;              // (bias_size), or null without bias
  const T* h0 = nullptr;                // (n, h), or null: zeros
  const T* c0 = nullptr;                // LSTM (n, h), or null: zeros
  const bool* mask = nullptr;           // (n, t), true = step used; null: all used
  const T* input_dropout = nullptr;     // (groups, n, d)
  const T* recurrent_dropout = nullptr; // (groups, n, h)
};

template <class T>
struct Outputs {
  T* outputs = nullptr;    // (n, t, h) with return_sequences, else (n, h): the last output
  T* h = nullptr;          // (n, h) final state
  T* c = nullptr;          // LSTM (n, h) final carry
  T* workspace = nullptr;  // (n, t, workspace_width)
};

// The gradients a backward pass starts from (null: zero) and the ones it writes (null: not
// wanted, except dkernel and drecurrent_kernel; dbias whenever has_bias).
template <class T>
struct Gradients {
  const T* d_outputs = nullptr;  // the shape of Outputs::outputs
  const T* d_h = nullptr;        // (n, h)
  const T* d_c = nullptr;        // LSTM (n, h)
  T* dx = nullptr;               // (n, t, d)
  T* dkernel = nullptr;          // (d, gh)
  T* drecurrent_kernel = nullptr;  // (h, gh)
  T* dbias = nullptr;            // (bias_size)
  T* dh0 = nullptr;              // (n, h)
  T* dc0 = nullptr;              // LSTM (n, h)
};

template <class T>
void forward(const Spec& spec, const Inputs<T>& in, const Outputs<T>& out, int n_threads);

// `workspace` is the forward pass's; `in` the same arrays (h0, c0 unused: saved there).
template <class T>
void backward(const Spec& spec, const Inputs<T>& in, const T* workspace, const Gradients<T>& grad,
              int n_threads);

// The per-step loops, compiled once per SIMD level (rnn_isa.cpp) and chosen at run time.
//
// A step works on a block of `rows` batch rows: workspace rows at ws + r * ws_ld (ws_ld =
// t * workspace_width: consecutive samples at one time step), recurrent products at
// rec + r * rec_ld (gate g from column g h), state and gradient rows at r * h. `mask` (null:
// every row is used) is the step's column of the (n, t) mask: row r at mask[r * mask_ld].
template <class T>
struct Step {
  const Spec* spec = nullptr;   // h, the cell, the activations, the workspace layout
  int64_t rows = 0;
  T* ws = nullptr;              // workspace rows of this step
  int64_t ws_ld = 0;
  const bool* mask = nullptr;
  int64_t mask_ld = 0;
  const T* bias_in = nullptr;   // (gh) input bias, zeros without bias
  const T* bias_rec = nullptr;  // GRU reset_after: (gh) recurrent bias
  T* rec = nullptr;             // forward: the recurrent products (the LSTM's scratch after)
  int64_t rec_ld = 0;
  T* state = nullptr;           // forward: h, updated in place
  T* carry = nullptr;           // LSTM: c forward, dc backward, updated in place
  T* aux = nullptr;             // GRU reset_before forward: q = r * h_masked (out);
                                // LSTM: scratch (forward and backward)
  const T* rmask_h = nullptr;   // GRU reset_before: the h gate's recurrent dropout rows
  T* delta = nullptr;           // backward: gate-gradient rows of this step
  int64_t delta_ld = 0;
  T* dh = nullptr;              // backward: dL/dh of the state after the step
  const T* dq = nullptr;        // backward GRU reset_before: d_hh' @ U_h^T
  Slope<T> slope_act{}, slope_rec{};  // backward: act' and recurrent_act'
};

template <class T>
struct Kernels {
  int width;  // vector width in elements of T
  // C (rows x cols, ldc) = (accumulate ? C : 0) + A (rows x k, lda) B (k x cols, ldb):
  // register-blocked, for the small products where a BLAS call's fixed cost dominates. B's
  // rows must be readable up to cols rounded up to `width` (the last vector's extra lanes
  // are computed and not stored).
  void (*product)(int64_t rows, int64_t k, int64_t cols, const T* A, int64_t lda, const T* B,
                  int64_t ldb, T* C, int64_t ldc, bool accumulate);
  // Forward, one step: pre-activations (projection + biases + rec), gate activations saved
  // into ws, state (and carry) updated for the rows the mask keeps.
  void (*simple_forward)(const Step<T>&);
  void (*lstm_forward)(const Step<T>&);
  void (*gru_forward)(const Step<T>&);         // reset_after
  void (*gru_gates_forward)(const Step<T>&);   // reset_before, before the h gate's product: z, r, q
  void (*gru_state_forward)(const Step<T>&);   // reset_before, after it: hh and the state
  // Backward, one step, for the rows the mask keeps (the others get a zero delta row and
  // keep dh, dc): gate gradients into delta, dh replaced by its direct part (GRU z dh, else
  // 0; the recurrent products are added by the caller), dc by dc_prev.
  void (*simple_backward)(const Step<T>&);
  void (*lstm_backward)(const Step<T>&);
  void (*gru_backward)(const Step<T>&);        // reset_after
  void (*gru_state_backward)(const Step<T>&);  // reset_before, first part: dz, d(h gate), and dh
  void (*gru_gates_backward)(const Step<T>&);  // reset_before, after dq: dr, dz, q, dh += dq r
};

template <class T>
const Kernels<T>& kernels();  // for the active SIMD level

// --- The GEMM stages of a call, shared by cpp/rnn.cpp and cuda/rnn.cu ----------------------
// `Dev` supplies gemm (row-major, tl::blas::gemm's signature), mask_rows(x, m, n, t, width,
// ld, out) (out[i, time, :] = x[i, time, :] * m[i, :], x rows of leading dimension ld, out
// dense), add(y, x, count) (y += x) and scratch(count) (the device's memory for the masked
// copies, kept by Dev for the call).

// The delta column holding gate g's recurrent-product gradient (GRU reset_after: d_rec_h).
inline int64_t rec_delta_col(const Spec& s, int g) {
  return s.gru_after() && g == 2 ? 3 * s.h : g * s.h;
}

// The dropout mask gate g uses, of `groups` (n, width) masks (1: one for every gate), or null.
template <class T>
const T* gate_mask(const T* masks, int groups, int g, int64_t n, int64_t width) {
  return masks ? masks + (groups == 1 ? 0 : g) * n * width : nullptr;
}

// f(g, end) for the runs of gates [g, end) in [g0, g1) whose recurrent products go in one
// GEMM: their gradients are contiguous delta columns and they share one recurrent mask.
template <class F>
void for_each_gate_run(const Spec& s, int g0, int g1, F&& f) {
  for (int g = g0; g < g1;) {
    int end = g + 1;
    while (end < g1 && s.recurrent_dropout_groups <= 1 &&
           rec_delta_col(s, end) == rec_delta_col(s, end - 1) + s.h)
      ++end;
    f(g, end);
    g = end;
  }
}

// The input projection of every step into the workspace's gate columns (the bias is added
// in the gate pass), the input dropout masks applied first.
template <class T, class Dev>
void project_inputs(const Spec& s, const Inputs<T>& in, T* ws, Dev& dev) {
  const int64_t rows = s.n * s.t, gh = s.gh(), W = s.workspace_width();
  if (s.input_dropout_groups == 0) {
    dev.gemm(false, false, rows, gh, s.d, T(1), in.x, s.d, in.kernel, gh, T(0), ws, W);
    return;
  }
  T* xm = dev.template scratch<T>(rows * s.d);
  const int groups = s.input_dropout_groups == 1 ? 1 : s.gates();
  const int64_t cols = gh / groups;
  for (int g = 0; g < groups; ++g) {
    dev.mask_rows(in.x, in.input_dropout + g * s.n * s.d, s.n, s.t, s.d, s.d, xm);
    dev.gemm(false, false, rows, cols, s.d, T(1), xm, s.d, in.kernel + g * cols, gh, T(0),
             ws + g * cols, W);
  }
}

// dkernel and dx from the gate gradients (n t rows of delta_width), through the input
// dropout masks (the dropout's own backward multiplies by the mask again).
template <class T, class Dev>
void input_gradients(const Spec& s, const Inputs<T>& in, const T* delta, const Gradients<T>& grad,
                     Dev& dev) {
  const int64_t rows = s.n * s.t, gh = s.gh(), DW = s.delta_width(), d = s.d;
  if (s.input_dropout_groups == 0) {
    dev.gemm(true, false, d, gh, rows, T(1), in.x, d, delta, DW, T(0), grad.dkernel, gh);
    if (grad.dx)
      dev.gemm(false, true, rows, d, gh, T(1), delta, DW, in.kernel, gh, T(0), grad.dx, d);
    return;
  }
  const int groups = s.input_dropout_groups == 1 ? 1 : s.gates();
  const int64_t cols = gh / groups;
  T* xm = dev.template scratch<T>(2 * rows * d);
  T* part = xm + rows * d;
  for (int g = 0; g < groups; ++g) {
    const T* m = in.input_dropout + g * s.n * d;
    dev.mask_rows(in.x, m, s.n, s.t, d, d, xm);
    dev.gemm(true, false, d, cols, rows, T(1), xm, d, delta + g * cols, DW, T(0),
             grad.dkernel + g * cols, gh);
    if (!grad.dx) continue;
    dev.gemm(false, true, rows, d, cols, T(1), delta + g * cols, DW, in.kernel + g * cols, gh, T(0),
             part, d);
    dev.mask_rows(part, m, s.n, s.t, d, d, g == 0 ? grad.dx : xm);
    if (g > 0) dev.add(grad.dx, xm, rows * d);
  }
}

// drecurrent_kernel: the states before each step (masked per gate) against the
// recurrent-product gradients over all n t rows; GRU reset_before's h gate pairs
// q = r * h_prev (saved in delta) with d_hh.
template <class T, class Dev>
void recurrent_gradients(const Spec& s, const Inputs<T>& in, const T* workspace, const T* delta,
                         T* dU, Dev& dev) {
  const int64_t rows = s.n * s.t, h = s.h, gh = s.gh(), W = s.workspace_width();
  const int64_t DW = s.delta_width();
  const T* prev = workspace + s.prev_h();
  int gates = s.gates();
  if (s.gru_before()) {
    dev.gemm(true, false, h, h, rows, T(1), delta + 3 * h, DW, delta + 2 * h, DW, T(0),
             dU + 2 * h, gh);
    gates = 2;
  }
  const int groups = s.recurrent_dropout_groups;
  T* pm = groups ? dev.template scratch<T>(rows * h) : nullptr;
  for_each_gate_run(s, 0, gates, [&](int g, int end) {
    const T* a = prev;
    int64_t lda = W;
    if (groups) {
      dev.mask_rows(prev, gate_mask(in.recurrent_dropout, groups, g, s.n, h), s.n, s.t, h, W, pm);
      a = pm;
      lda = h;
    }
    dev.gemm(true, false, h, (end - g) * h, rows, T(1), a, lda, delta + rec_delta_col(s, g), DW,
             T(0), dU + g * h, gh);
  });
}

#define TL_INSTANTIATE_RNN(T)                                                              \
  template void forward<T>(const Spec&, const Inputs<T>&, const Outputs<T>&, int);         \
  template void backward<T>(const Spec&, const Inputs<T>&, const T*, const Gradients<T>&, int);

}  // namespace tl::rnn
