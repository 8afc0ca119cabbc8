// The pool2d op family under the sanitizers: cuda/pool2d.cu run by the emulator against
// cpp/pool2d.cpp on the same inputs (both built with -fsanitize=...). Max (values, argmax,
// gradient: exact) and average (rtol 1e-5 float, 1e-12 double) pooling forward and backward,
// 'valid' and TF-style 'same' paddings, overlapping windows, strides skipping elements,
// windows larger than the image, the global window, channel counts that are not multiples of
// a warp or a vector, batch 1 and the empty batch, and sizes spanning several blocks.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "cuda_compat.cuh"
#include "emu_test.hpp"
#include "pool2d.cuh"
#include "pool2d.hpp"

namespace {

using namespace tl_test;
using tl::pool2d::Geometry;
using tl::pool2d::Mode;

// TensorFlow's 'same' paddings along one axis: (before, after), the extra one after.
std::pair<int64_t, int64_t> same(int64_t size, int64_t k, int64_t s) {
  const int64_t out = (size + s - 1) / s;
  const int64_t total = std::max<int64_t>(0, (out - 1) * s + k - size);
  return {total / 2, total - total / 2};
}

template <class T>
void compare(Mode mode, int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
             int64_t sh, int64_t sw, bool pad_same, T rtol) {
  const auto [top, bottom] = pad_same ? same(h, kh, sh) : std::pair<int64_t, int64_t>{0, 0};
  const auto [left, right] = pad_same ? same(w, kw, sw) : std::pair<int64_t, int64_t>{0, 0};
  const Geometry g = tl::pool2d::make_geometry(n, h, w, c, kh, kw, sh, sw, top, bottom, left, right);
  const std::string what = std::string(tl::pool2d::mode_name(mode)) + " " + std::to_string(n) +
                           "x" + std::to_string(h) + "x" + std::to_string(w) + "x" +
                           std::to_string(c) + " pool " + std::to_string(kh) + "x" +
                           std::to_string(kw) + " stride " + std::to_string(sh) + "x" +
                           std::to_string(sw) + (pad_same ? " same" : " valid");
  std::mt19937 gen(11);
  std::normal_distribution<T> normal;
  const int64_t in_size = n * h * w * c, out_size = n * g.oh * g.ow * c;
  std::vector<T> x(in_size), grad(out_size);
  for (T& v : x) v = std::round(normal(gen) * T(2)) / T(2);  // halves: many ties
  for (T& v : grad) v = normal(gen);

  const bool is_max = mode == Mode::max;
  std::vector<T> out(out_size), dx(in_size);
  std::vector<int32_t> argmax(out_size);
  tl::pool2d::forward(x.data(), g, mode, out.data(), is_max ? argmax.data() : nullptr, 1);
  tl::pool2d::backward(grad.data(), is_max ? argmax.data() : nullptr, g, mode, dx.data(), 1);

  T* dX = device_copy(x);
  T* dGrad = device_copy(grad);
  T* dOut = device_copy(std::vector<T>(out_size, T(7)));  // must be overwritten
  T* dDx = device_copy(std::vector<T>(in_size, T(7)));
  int32_t* dArg = device_copy(std::vector<int32_t>(out_size, -1));
  tl::cuda::pool2d::forward(dX, g, mode, dOut, is_max ? dArg : nullptr, 0);
  expect(close(host_copy(dOut, out_size), out, is_max ? T(0) : rtol), "forward differs: " + what, __LINE__);
  if (is_max) expect(host_copy(dArg, out_size) == argmax, "argmax differs: " + what, __LINE__);
  // The backward pass from the CPU's argmax, so both route through the same elements.
  int32_t* dArgCpu = device_copy(argmax);
  tl::cuda::pool2d::backward(dGrad, is_max ? dArgCpu : nullptr, g, mode, dDx, 0);
  expect(close(host_copy(dDx, in_size), dx, is_max ? T(0) : rtol), "dx differs: " + what, __LINE__);
  cudaFree(dX);
  cudaFree(dGrad);
  cudaFree(dOut);
  cudaFree(dDx);
  cudaFree(dArg);
  cudaFree(dArgCpu);
}

template <class T>
void compare_all(T rtol) {
  for (Mode mode : {Mode::max, Mode::average}) {
    compare<T>(mode, 2, 7, 6, 5, 2, 2, 2, 2, false, rtol);
    compare<T>(mode, 2, 7, 6, 5, 2, 2, 2, 2, true, rtol);    // pads (0, 1) x (0, 0)
    compare<T>(mode, 1, 8, 9, 33, 3, 3, 1, 1, true, rtol);   // overlapping windows
    compare<T>(mode, 3, 9, 8, 3, 3, 2, 2, 3, true, rtol);    // non-square, strides differ
    compare<T>(mode, 2, 7, 7, 4, 1, 1, 3, 3, false, rtol);   // strides skip elements
    compare<T>(mode, 2, 2, 3, 6, 3, 5, 1, 2, true, rtol);    // windows larger than the image
    compare<T>(mode, 3, 5, 4, 17, 5, 4, 5, 4, false, rtol);  // the global window
    compare<T>(mode, 4, 14, 14, 70, 2, 2, 2, 2, false, rtol);  // many blocks
    compare<T>(mode, 0, 4, 4, 3, 2, 2, 2, 2, false, rtol);   // empty batch
  }
}

}  // namespace

int main() {
  compare_all<float>(1e-5f);
  compare_all<double>(1e-12);
  if (failures) return 1;
  std::puts("pool2d: CUDA kernels under emulation agree with the CPU kernels");
  return 0;
}
