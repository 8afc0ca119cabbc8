// The dense op family under the sanitizers: cuda/dense.cu run by the emulator against
// cpp/dense.cpp on the same inputs (both built with -fsanitize=...). The BLAS is a plain
// reference GEMM (test-only), so every instruction that runs is instrumented. Covers every
// activation forward and backward, with and without bias and dx, and the empty batch, at
// sizes that are not multiples of a warp, a column block or a vector.
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cuda_compat.cuh"
#include "dense.cuh"
#include "dense.hpp"
#include "emu_test.hpp"

namespace {

using namespace tl_test;
using tl::dense::Activation;

template <class T>
void compare(int64_t n, int64_t d_in, int64_t d_out, Activation act, bool bias, bool need_dx, T rtol) {
  const std::string what = std::string(tl::dense::activation_name(act)) + " n=" + std::to_string(n);
  std::mt19937 gen(5);
  std::normal_distribution<T> normal;
  std::vector<T> x(n * d_in), w(d_in * d_out), b(d_out), g(n * d_out);
  for (T& v : x) v = normal(gen);
  for (T& v : w) v = normal(gen) / T(4);
  for (T& v : b) v = normal(gen);
  for (T& v : g) v = normal(gen);
  const T* bp = bias ? b.data() : nullptr;

  std::vector<T> out(n * d_out), dx(n * d_in), dw(d_in * d_out), db(d_out);
  tl::dense::forward(x.data(), n, d_in, w.data(), d_out, bp, act, out.data(), 1);
  tl::dense::backward(x.data(), n, d_in, w.data(), d_out, out.data(), g.data(), act,
                      need_dx ? dx.data() : nullptr, dw.data(), bias ? db.data() : nullptr, 1);

  T* dX = device_copy(x);
  T* dW = device_copy(w);
  T* dB = device_copy(b);
  T* dG = device_copy(g);
  T* dOut = device_copy(std::vector<T>(n * d_out));
  T* dDx = device_copy(std::vector<T>(n * d_in));
  T* dDw = device_copy(std::vector<T>(d_in * d_out));
  T* dDb = device_copy(std::vector<T>(d_out, T(7)));  // must be overwritten, not added to
  tl::cuda::dense::forward(dX, n, d_in, dW, d_out, bias ? dB : nullptr, act, dOut, 0);
  expect(close(host_copy(dOut, n * d_out), out, rtol), "forward differs: " + what, __LINE__);
  // The backward pass from the CPU's output, so both take the same derivative.
  T* dOutCpu = device_copy(out);
  tl::cuda::dense::backward(dX, n, d_in, dW, d_out, dOutCpu, dG, act, need_dx ? dDx : nullptr, dDw,
                            bias ? dDb : nullptr, 0);
  expect(close(host_copy(dDw, d_in * d_out), dw, rtol), "dkernel differs: " + what, __LINE__);
  if (bias) expect(close(host_copy(dDb, d_out), db, rtol), "dbias differs: " + what, __LINE__);
  if (need_dx) expect(close(host_copy(dDx, n * d_in), dx, rtol), "dx differs: " + what, __LINE__);
  for (T* p : {dX, dW, dB, dG, dOut, dDx, dDw, dDb, dOutCpu}) cudaFree(p);
}

}  // namespace

int main() {
  tl_test::use_reference_blas();
  for (int a = 0; a < 8; ++a) {
    const auto act = static_cast<Activation>(a);
    compare<float>(37, 9, 45, act, true, true, 1e-4f);  // two column blocks, a partial warp
    compare<double>(37, 9, 45, act, a % 2 == 0, a % 3 != 0, 1e-10);
  }
  compare<float>(300, 5, 3, Activation::relu, true, false, 1e-4f);   // several row blocks: atomics
  compare<double>(300, 5, 70, Activation::softmax, true, true, 1e-10);  // rows longer than a warp
  compare<double>(0, 4, 3, Activation::tanh, true, true, 1e-10);       // empty batch: zero grads
  compare<double>(1, 1, 1, Activation::softmax, true, true, 1e-10);
  if (failures) return 1;
  std::puts("dense: CUDA kernels under emulation agree with the CPU kernels");
  return 0;
}
