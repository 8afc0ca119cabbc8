// The rnn op family under the sanitizers: cuda/rnn.cu run by the emulator against
// cpp/rnn.cpp on the same inputs (both built with -fsanitize=...). The BLAS is a plain
// reference GEMM (test-only), so every instruction that runs is instrumented. Covers every
// cell (GRU with reset_after true and false) forward and backward with masks (an all-masked
// row, masked first and last steps), go_backwards, zero_output_for_mask, the last output
// only, initial states, input and recurrent dropout masks (one, or one per gate), no bias,
// and the empty batch, at sizes that are multiples of no block or vector width.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cuda_compat.cuh"
#include "emu_test.hpp"
#include "rnn.cuh"
#include "rnn.hpp"

namespace {

using namespace tl_test;
using tl::rnn::Cell;
using tl::rnn::Spec;

template <class T>
std::vector<T> keep_mask(std::mt19937& gen, int64_t count) {  // Keras' inverted dropout, rate 0.3
  std::uniform_real_distribution<T> u;
  std::vector<T> v(count);
  for (T& x : v) x = u(gen) > T(0.3) ? T(1) / T(0.7) : T(0);
  return v;
}

// A device copy that stays null for an empty optional array.
template <class T>
T* maybe_device(const std::vector<T>& host) {
  return host.empty() ? nullptr : device_copy(host);
}

struct Case {
  Cell cell;
  bool reset_after;
  int64_t n, t, d, h;
  bool mask, go_backwards, return_sequences, zero_output, bias, states;
  int input_groups, recurrent_groups;  // 0, 1 or -1 (one per gate)
};

template <class T>
void compare(const Case& c, T rtol) {
  Spec s;
  s.cell = c.cell;
  s.reset_after = c.reset_after;
  s.n = c.n;
  s.t = c.t;
  s.d = c.d;
  s.h = c.h;
  s.go_backwards = c.go_backwards;
  s.return_sequences = c.return_sequences;
  s.zero_output_for_mask = c.zero_output;
  s.has_bias = c.bias;
  s.has_mask = c.mask;
  s.input_dropout_groups = c.input_groups < 0 ? s.gates() : c.input_groups;
  s.recurrent_dropout_groups = c.recurrent_groups < 0 ? s.gates() : c.recurrent_groups;
  const std::string what = std::string("cell ") + std::to_string(static_cast<int>(c.cell)) +
                           (c.reset_after ? "" : " reset_before") + " n=" + std::to_string(c.n) +
                           " t=" + std::to_string(c.t) + " h=" + std::to_string(c.h);
  const int64_t n = s.n, t = s.t, d = s.d, h = s.h, gh = s.gh();
  const bool lstm = c.cell == Cell::lstm;
  std::mt19937 gen(11);
  const auto x = normal<T>(gen, n * t * d, T(1));
  const auto K = normal<T>(gen, d * gh, T(1) / std::sqrt(T(d)));
  const auto U = normal<T>(gen, h * gh, T(1) / std::sqrt(T(h)));
  const auto b = c.bias ? normal<T>(gen, s.bias_size(), T(0.5)) : std::vector<T>{};
  const auto h0 = c.states ? normal<T>(gen, n * h, T(0.5)) : std::vector<T>{};
  const auto c0 = c.states && lstm ? normal<T>(gen, n * h, T(0.5)) : std::vector<T>{};
  const auto dm = s.input_dropout_groups ? keep_mask<T>(gen, s.input_dropout_groups * n * d)
                                         : std::vector<T>{};
  const auto rm = s.recurrent_dropout_groups
                      ? keep_mask<T>(gen, s.recurrent_dropout_groups * n * h) : std::vector<T>{};
  std::vector<uint8_t> mask_bytes;
  if (c.mask) {
    std::uniform_real_distribution<double> u;
    mask_bytes.resize(n * t);
    for (auto& m : mask_bytes) m = u(gen) > 0.35;
    for (int64_t k = 0; k < t && n > 0; ++k) mask_bytes[k] = 0;            // row 0: all masked
    if (n > 1) mask_bytes[t] = 0;                                           // row 1: first step
    if (n > 2) mask_bytes[2 * t + t - 1] = 0;                               // row 2: last step
  }
  const int64_t out_size = c.return_sequences ? n * t * h : n * h;
  const auto d_out = normal<T>(gen, out_size, T(1));
  const auto d_h = normal<T>(gen, n * h, T(1));
  const auto d_c = lstm ? normal<T>(gen, n * h, T(1)) : std::vector<T>{};
  const int64_t ws_size = n * t * s.workspace_width();

  // CPU
  tl::rnn::Inputs<T> in{x.data(), K.data(), U.data(), c.bias ? b.data() : nullptr,
                        c.states ? h0.data() : nullptr, c0.empty() ? nullptr : c0.data(),
                        c.mask ? reinterpret_cast<const bool*>(mask_bytes.data()) : nullptr,
                        dm.empty() ? nullptr : dm.data(), rm.empty() ? nullptr : rm.data()};
  std::vector<T> out(out_size), hT(n * h), cT(lstm ? n * h : 0), ws(ws_size);
  tl::rnn::forward(s, in, {out.data(), hT.data(), lstm ? cT.data() : nullptr, ws.data()}, 1);
  std::vector<T> dx(n * t * d), dK(d * gh), dU(h * gh), db(s.bias_size()), dh0(n * h),
      dc0(lstm ? n * h : 0);
  tl::rnn::Gradients<T> g{d_out.data(), d_h.data(), lstm ? d_c.data() : nullptr, dx.data(),
                          dK.data(), dU.data(), c.bias ? db.data() : nullptr, dh0.data(),
                          lstm ? dc0.data() : nullptr};
  tl::rnn::backward(s, in, ws.data(), g, 1);

  // GPU (emulated)
  T* gx = device_copy(x);
  T* gK = device_copy(K);
  T* gU = device_copy(U);
  T* gb = maybe_device(b);
  T* gh0 = maybe_device(h0);
  T* gc0 = maybe_device(c0);
  T* gdm = maybe_device(dm);
  T* grm = maybe_device(rm);
  uint8_t* gmask = maybe_device(mask_bytes);
  T* gout = device_copy(std::vector<T>(out_size));
  T* ghT = device_copy(std::vector<T>(n * h));
  T* gcT = lstm ? device_copy(std::vector<T>(n * h)) : nullptr;
  T* gws = device_copy(std::vector<T>(ws_size));
  tl::rnn::Inputs<T> gin{gx, gK, gU, gb, gh0, gc0, reinterpret_cast<const bool*>(gmask), gdm, grm};
  tl::cuda::rnn::forward(s, gin, {gout, ghT, gcT, gws}, 0);
  expect(close(host_copy(gout, out_size), out, rtol), "outputs differ: " + what, __LINE__);
  expect(close(host_copy(ghT, n * h), hT, rtol), "h differs: " + what, __LINE__);
  if (lstm) expect(close(host_copy(gcT, n * h), cT, rtol), "c differs: " + what, __LINE__);
  // The backward pass from the CPU's workspace, so both start from the same activations.
  T* gws_cpu = device_copy(ws);
  T* gdout = device_copy(d_out);
  T* gdh = device_copy(d_h);
  T* gdc = maybe_device(d_c);
  T* gdx = device_copy(std::vector<T>(n * t * d));
  T* gdK = device_copy(std::vector<T>(d * gh));
  T* gdU = device_copy(std::vector<T>(h * gh));
  T* gdb = device_copy(std::vector<T>(s.bias_size(), T(7)));  // must be overwritten
  T* gdh0 = device_copy(std::vector<T>(n * h));
  T* gdc0 = lstm ? device_copy(std::vector<T>(n * h)) : nullptr;
  tl::rnn::Gradients<T> gg{gdout, gdh, gdc, gdx, gdK, gdU, c.bias ? gdb : nullptr, gdh0, gdc0};
  tl::cuda::rnn::backward(s, gin, gws_cpu, gg, 0);
  expect(close(host_copy(gdx, n * t * d), dx, rtol), "dx differs: " + what, __LINE__);
  expect(close(host_copy(gdK, d * gh), dK, rtol), "dkernel differs: " + what, __LINE__);
  expect(close(host_copy(gdU, h * gh), dU, rtol), "drecurrent_kernel differs: " + what, __LINE__);
  if (c.bias)
    expect(close(host_copy(gdb, s.bias_size()), db, rtol), "dbias differs: " + what, __LINE__);
  expect(close(host_copy(gdh0, n * h), dh0, rtol), "dh0 differs: " + what, __LINE__);
  if (lstm) expect(close(host_copy(gdc0, n * h), dc0, rtol), "dc0 differs: " + what, __LINE__);
  for (void* p : {static_cast<void*>(gx), static_cast<void*>(gK), static_cast<void*>(gU),
                  static_cast<void*>(gb), static_cast<void*>(gh0), static_cast<void*>(gc0),
                  static_cast<void*>(gdm), static_cast<void*>(grm), static_cast<void*>(gmask),
                  static_cast<void*>(gout), static_cast<void*>(ghT), static_cast<void*>(gcT),
                  static_cast<void*>(gws), static_cast<void*>(gws_cpu), static_cast<void*>(gdout),
                  static_cast<void*>(gdh), static_cast<void*>(gdc), static_cast<void*>(gdx),
                  static_cast<void*>(gdK), static_cast<void*>(gdU), static_cast<void*>(gdb),
                  static_cast<void*>(gdh0), static_cast<void*>(gdc0)})
    if (p) cudaFree(p);
}

}  // namespace

int main() {
  tl_test::use_reference_blas();
  const struct {
    Cell cell;
    bool reset_after;
  } variants[] = {{Cell::simple_rnn, true}, {Cell::lstm, true}, {Cell::gru, true}, {Cell::gru, false}};
  // Fields: cell, reset_after, n, t, d, h, mask, go_backwards, return_sequences,
  // zero_output_for_mask, bias, initial states, input / recurrent dropout groups (-1: per gate).
  for (const auto& v : variants) {
    const Cell c = v.cell;
    const bool ra = v.reset_after;
    // n h = 165: a partial block of 128 threads; masks, initial states, per-gate dropout.
    compare<float>({c, ra, 5, 4, 3, 33, true, false, true, false, true, true, -1, -1}, 1e-4f);
    compare<double>({c, ra, 5, 4, 3, 33, true, false, true, false, true, true, -1, -1}, 1e-10);
    // go_backwards, the last output only, zero outputs at masked steps, one shared mask each.
    compare<double>({c, ra, 4, 5, 2, 7, true, true, false, true, true, false, 1, 1}, 1e-10);
    // no bias, no mask, return_sequences, go_backwards.
    compare<float>({c, ra, 3, 3, 4, 5, false, true, true, false, false, true, 0, 0}, 1e-4f);
    // the empty batch: zero weight gradients.
    compare<double>({c, ra, 0, 2, 3, 4, false, false, true, false, true, false, 0, 0}, 1e-10);
    // one sample, one step, one unit.
    compare<double>({c, ra, 1, 1, 1, 1, true, false, true, false, true, true, 0, -1}, 1e-10);
  }
  if (failures) return 1;
  std::puts("rnn: CUDA kernels under emulation agree with the CPU kernels");
  return 0;
}
