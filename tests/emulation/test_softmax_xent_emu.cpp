// The softmax_xent op family under the sanitizers: cuda/softmax_xent.cu run by the emulator
// against cpp/softmax_xent.cpp on the same inputs (both built with -fsanitize=...). Covers
// sparse and categorical labels, rows shorter and longer than a warp, a partial block of rows,
// and out-of-range labels (which must raise, not read out of bounds).
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cuda_compat.cuh"
#include "emu_test.hpp"
#include "softmax_xent.cuh"
#include "softmax_xent.hpp"

namespace {

using namespace tl_test;

template <class T>
void compare(int64_t n, int64_t k, bool sparse, T rtol) {
  const std::string what = (sparse ? "sparse" : "categorical") + std::string(" n=") +
                           std::to_string(n) + " k=" + std::to_string(k);
  std::mt19937 gen(3);
  std::normal_distribution<T> normal;
  std::uniform_int_distribution<int64_t> cls(0, k - 1);
  std::vector<T> z(n * k), y(n * k), g(n);
  std::vector<int64_t> labels(n);
  for (T& v : z) v = 4 * normal(gen);
  for (T& v : g) v = normal(gen);
  for (int64_t& c : labels) c = cls(gen);
  for (int64_t i = 0; i < n; ++i) {
    T s = 0;
    for (int64_t j = 0; j < k; ++j) s += (y[i * k + j] = std::fabs(normal(gen)));
    for (int64_t j = 0; j < k; ++j) y[i * k + j] /= s;
  }
  const int64_t* sp = sparse ? labels.data() : nullptr;
  const T* dn = sparse ? nullptr : y.data();
  std::vector<T> loss(n), probs(n * k), dz(n * k);
  tl::softmax_xent::forward(z.data(), n, k, sp, dn, loss.data(), probs.data(), 1);
  tl::softmax_xent::backward(probs.data(), n, k, sp, dn, g.data(), dz.data(), 1);

  T* dZ = device_copy(z);
  T* dY = device_copy(y);
  T* dG = device_copy(g);
  int64_t* dL = device_copy(labels);
  T* dLoss = device_copy(std::vector<T>(n));
  T* dP = device_copy(std::vector<T>(n * k));
  T* dDz = device_copy(std::vector<T>(n * k));
  const int64_t* dsp = sparse ? dL : nullptr;
  const T* ddn = sparse ? nullptr : dY;
  tl::cuda::softmax_xent::forward(dZ, n, k, dsp, ddn, dLoss, dP, 0);
  expect(close(host_copy(dLoss, n), loss, rtol), "loss differs: " + what, __LINE__);
  expect(close(host_copy(dP, n * k), probs, rtol), "probs differ: " + what, __LINE__);
  tl::cuda::softmax_xent::backward(dP, n, k, dsp, ddn, dG, dDz, 0);
  expect(close(host_copy(dDz, n * k), dz, rtol), "dlogits differ: " + what, __LINE__);

  if (sparse && n > 2) {  // an out-of-range label raises on both, naming the first bad row
    for (int64_t bad : {k, int64_t(-1)}) {
      labels[n - 1] = bad;
      labels[1] = bad;
      cudaMemcpy(dL, labels.data(), n * sizeof(int64_t), cudaMemcpyHostToDevice);
      const std::string expected = "label " + std::to_string(bad) + " of sample 1 is out of range";
      for (int pass = 0; pass < 2; ++pass) {
        std::string got;
        try {
          if (pass == 0) tl::cuda::softmax_xent::forward(dZ, n, k, dsp, ddn, dLoss, dP, 0);
          else tl::cuda::softmax_xent::backward(dP, n, k, dsp, ddn, dG, dDz, 0);
        } catch (const std::invalid_argument& e) {
          got = e.what();
        }
        expect(got.rfind(expected, 0) == 0, "bad label not reported: got '" + got + "'", __LINE__);
      }
    }
  }
  for (void* p : {static_cast<void*>(dZ), static_cast<void*>(dY), static_cast<void*>(dG), static_cast<void*>(dL),
                  static_cast<void*>(dLoss), static_cast<void*>(dP), static_cast<void*>(dDz)})
    cudaFree(p);
}

}  // namespace

int main() {
  tl_test::use_reference_blas();
  for (bool sparse : {true, false}) {
    compare<float>(19, 10, sparse, 1e-5f);   // 3 blocks of 8 rows, the last partial
    compare<double>(19, 10, sparse, 1e-12);
    compare<float>(5, 77, sparse, 1e-5f);    // rows longer than a warp
    compare<double>(3, 1, sparse, 1e-12);    // one class
  }
  if (failures) return 1;
  std::puts("softmax_xent: CUDA kernels under emulation agree with the CPU kernels");
  return 0;
}
