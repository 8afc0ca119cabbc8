// The conv2d op family under the sanitizers: cuda/conv2d.cu run by the emulator against
// cpp/conv2d.cpp on the same inputs (both built with -fsanitize=...). The BLAS is a plain
// reference GEMM (test-only), so every instruction that runs is instrumented. Covers the
// forward pass, the backward pass (with and without dx and bias), the transposed convolution
// both ways, strides, dilations, groups (depthwise too), asymmetric and negative paddings,
// 1x1 kernels (the dense path), chunks of several images and the empty batch, at sizes that
// are not multiples of a block or a vector; on the CPU side also the direct and depthwise
// loops, so the sanitizers check them too.
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "conv2d.cuh"
#include "conv2d.hpp"
#include "cuda_compat.cuh"
#include "emu_test.hpp"

namespace {

using namespace tl_test;
using tl::conv2d::Activation;
using tl::conv2d::Geometry;

struct Case {
  int64_t n, h, w, c, kh, kw, f, groups, sh, sw, dh, dw, pt, pb, pl, pr;
};

template <class T>
void compare(const Case& k, Activation act, bool bias, bool need_dx, T rtol, bool transposed = true) {
  const Geometry g = tl::conv2d::make_geometry(k.n, k.h, k.w, k.c, k.kh, k.kw, k.f, k.groups, k.sh,
                                               k.sw, k.dh, k.dw, k.pt, k.pb, k.pl, k.pr);
  const std::string what = std::string(tl::dense::activation_name(act)) + " " +
                           std::to_string(k.h) + "x" + std::to_string(k.w) + "x" +
                           std::to_string(k.c) + " k" + std::to_string(k.kh) + "x" +
                           std::to_string(k.kw) + "x" + std::to_string(k.f) + " g" +
                           std::to_string(k.groups);
  const size_t in_size = g.n * g.h * g.w * g.c, out_size = g.n * g.oh * g.ow * g.f;
  const size_t k_size = g.kh * g.kw * g.c_group() * g.f;
  std::mt19937 gen(7);
  const std::vector<T> x = normal<T>(gen, in_size), w = normal<T>(gen, k_size, T(0.3));
  const std::vector<T> b = normal<T>(gen, g.f), bt = normal<T>(gen, g.c);
  const std::vector<T> go = normal<T>(gen, out_size), gi = normal<T>(gen, in_size);
  T* dX = device_copy(x);
  T* dW = device_copy(w);
  T* dB = device_copy(b);
  T* dBt = device_copy(bt);

  // Convolution: x (in) -> out; gradients from the CPU's output, so both take the same
  // derivative. The device outputs start as 7s: they must be overwritten, not added to.
  std::vector<T> out(out_size), dx(in_size), dw(k_size), db(g.f);
  tl::conv2d::forward(g, x.data(), w.data(), bias ? b.data() : nullptr, act, out.data(), 1);
  tl::conv2d::backward(g, x.data(), w.data(), out.data(), go.data(), act,
                       need_dx ? dx.data() : nullptr, dw.data(), bias ? db.data() : nullptr, 1);
  T* dOut = device_copy(std::vector<T>(out_size, T(7)));
  tl::cuda::conv2d::forward(g, dX, dW, bias ? dB : nullptr, act, dOut, 0);
  expect(close(host_copy(dOut, out_size), out, rtol), "forward differs: " + what, __LINE__);
  T* dOutCpu = device_copy(out);
  T* dGo = device_copy(go);
  T* dDx = device_copy(std::vector<T>(in_size, T(7)));
  T* dDw = device_copy(std::vector<T>(k_size, T(7)));
  T* dDb = device_copy(std::vector<T>(g.f, T(7)));
  tl::cuda::conv2d::backward(g, dX, dW, dOutCpu, dGo, act, need_dx ? dDx : nullptr, dDw,
                             bias ? dDb : nullptr, 0);
  expect(close(host_copy(dDw, k_size), dw, rtol), "dkernel differs: " + what, __LINE__);
  if (bias) expect(close(host_copy(dDb, g.f), db, rtol), "dbias differs: " + what, __LINE__);
  if (need_dx) expect(close(host_copy(dDx, in_size), dx, rtol), "dx differs: " + what, __LINE__);

  for (T* p : {dX, dB, dOut, dOutCpu, dDx, dDb}) cudaFree(p);
  if (!transposed) {
    for (T* p : {dW, dBt, dGo, dDw}) cudaFree(p);
    return;
  }
  // Transposed convolution: out's shape (as x) -> in's shape.
  std::vector<T> y(in_size), tdx(out_size), tdw(k_size), tdb(g.c);
  tl::conv2d::transpose_forward(g, go.data(), w.data(), bias ? bt.data() : nullptr, act, y.data(), 1);
  tl::conv2d::transpose_backward(g, go.data(), w.data(), y.data(), gi.data(), act,
                                 need_dx ? tdx.data() : nullptr, tdw.data(),
                                 bias ? tdb.data() : nullptr, 1);
  T* dY = device_copy(std::vector<T>(in_size, T(7)));
  tl::cuda::conv2d::transpose_forward(g, dGo, dW, bias ? dBt : nullptr, act, dY, 0);
  expect(close(host_copy(dY, in_size), y, rtol), "transpose forward differs: " + what, __LINE__);
  T* dYCpu = device_copy(y);
  T* dGi = device_copy(gi);
  T* dTdx = device_copy(std::vector<T>(out_size, T(7)));
  T* dTdb = device_copy(std::vector<T>(g.c, T(7)));
  tl::cuda::conv2d::transpose_backward(g, dGo, dW, dYCpu, dGi, act, need_dx ? dTdx : nullptr, dDw,
                                       bias ? dTdb : nullptr, 0);
  expect(close(host_copy(dDw, k_size), tdw, rtol), "transpose dkernel differs: " + what, __LINE__);
  if (bias)
    expect(close(host_copy(dTdb, g.c), tdb, rtol), "transpose dbias differs: " + what, __LINE__);
  if (need_dx)
    expect(close(host_copy(dTdx, out_size), tdx, rtol), "transpose dx differs: " + what, __LINE__);
  for (T* p : {dW, dBt, dGo, dDw, dY, dYCpu, dGi, dTdx, dTdb}) cudaFree(p);
}

}  // namespace

int main() {
  tl_test::use_reference_blas();
  // n, h, w, c, kh, kw, f, groups, strides, dilations, pads (top, bottom, left, right)
  const Case same3{2, 7, 6, 5, 3, 3, 4, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  for (int a = 0; a < 8; ++a) {
    const auto act = static_cast<Activation>(a);
    compare<float>(same3, act, true, true, 1e-4f);
    compare<double>(same3, act, a % 2 == 0, a % 3 != 0, 1e-10);
  }
  compare<double>({3, 10, 11, 6, 3, 2, 9, 1, 2, 2, 1, 1, 0, 1, 0, 0}, Activation::relu, true, true, 1e-10);
  compare<double>({2, 9, 9, 5, 3, 3, 6, 1, 1, 1, 2, 2, 2, 2, 2, 2}, Activation::tanh, true, true, 1e-10);
  compare<double>({2, 8, 7, 6, 3, 3, 9, 3, 1, 1, 1, 1, 1, 1, 1, 1}, Activation::elu, true, true, 1e-10);
  compare<double>({1, 9, 7, 3, 5, 3, 6, 3, 2, 1, 1, 1, 2, 2, 1, 1}, Activation::linear, true, true, 1e-10);  // depthwise x2
  compare<double>({1, 6, 5, 4, 3, 3, 3, 1, 1, 1, 1, 1, 2, 0, -1, 1}, Activation::sigmoid, true, true, 1e-10);  // crop
  compare<double>({2, 1, 13, 5, 1, 3, 6, 1, 1, 1, 1, 3, 0, 0, 6, 0}, Activation::relu, false, true, 1e-10);  // causal 1-D
  compare<double>({3, 5, 6, 17, 1, 1, 19, 1, 1, 1, 1, 1, 0, 0, 0, 0}, Activation::relu, true, true, 1e-10);  // 1x1: dense
  compare<float>({3, 12, 11, 33, 3, 3, 5, 1, 1, 1, 1, 1, 1, 1, 1, 1}, Activation::relu, true, false, 1e-4f);
  // the CPU's AVX-512 direct loops (a strided data gradient by phases) and depthwise loops
  compare<float>({2, 9, 10, 24, 3, 3, 40, 1, 2, 2, 1, 1, 0, 1, 0, 1}, Activation::elu, true, true, 1e-4f);
  compare<double>({1, 7, 8, 20, 3, 3, 40, 20, 1, 1, 1, 1, 1, 1, 1, 1}, Activation::relu, true, true, 1e-10);
  // the CPU's single-channel loops (one input channel, <= 8 filters): LeNet-5's first layer,
  // and a row-strided, column-dilated one whose rows run past two vector pairs
  compare<float>({2, 28, 28, 1, 5, 5, 6, 1, 1, 1, 1, 1, 2, 2, 2, 2}, Activation::tanh, true, false, 1e-4f);
  compare<double>({2, 9, 41, 1, 3, 4, 5, 1, 2, 1, 1, 2, 1, 0, 2, 1}, Activation::relu, true, true, 1e-10);
  // the CPU's scatter data gradient (few input channels): LeNet-5's C3, and a strided one
  // with a dilation between kernel rows
  compare<float>({2, 14, 14, 6, 5, 5, 16, 1, 1, 1, 1, 1, 0, 0, 0, 0}, Activation::tanh, true, true, 1e-4f);
  compare<double>({2, 11, 9, 3, 3, 4, 7, 1, 2, 2, 2, 1, 1, 2, 0, 1}, Activation::relu, true, true, 1e-10);
  // 14 MB of im2col columns per image: 4 images per 64 MiB chunk, two chunks (the transposed
  // convolution runs the same chunk loops; skipped here, the emulation takes a minute for it)
  compare<double>({5, 48, 48, 16, 7, 7, 3, 1, 1, 1, 1, 1, 3, 3, 3, 3}, Activation::relu, true, true,
                  1e-10, false);
  compare<double>({0, 5, 4, 3, 3, 3, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1}, Activation::tanh, true, true, 1e-10);  // empty
  if (failures) return 1;
  std::puts("conv2d: CUDA kernels under emulation agree with the CPU kernels");
  return 0;
}
