// The dbscan op family under the sanitizers: cuda/dbscan.cu run by the emulator against
// cpp/dbscan.cpp on the same inputs (both built with -fsanitize=...). Labels and core flags
// must be identical: both number clusters as scikit-learn does.
#include <algorithm>
#include <cstdio>
#include <random>
#include <vector>

#include "cuda_compat.cuh"
#include "emu_test.hpp"
#include "dbscan.cuh"
#include "dbscan.hpp"

namespace {

using namespace tl_test;

// n points around a few centres plus uniform noise; n is not a multiple of the block size.
template <class T>
void compare(int64_t n, int64_t d, double eps, double min_samples, bool weighted, const char* metric) {
  std::mt19937 gen(static_cast<unsigned>(n * 31 + d));
  std::normal_distribution<T> normal(0, T(0.3));
  std::uniform_real_distribution<T> uniform(-4, 4);
  std::vector<T> centres(4 * d), X(n * d);
  for (T& v : centres) v = uniform(gen);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t f = 0; f < d; ++f)
      X[i * d + f] = i % 5 == 4 ? uniform(gen) : centres[(i % 4) * d + f] + normal(gen);
  std::vector<double> w(n);
  std::uniform_real_distribution<double> weights(-0.5, 2.0);
  for (double& v : w) v = weights(gen);
  const auto mt = tl::dbscan::parse_metric(metric);

  std::vector<int64_t> labels(n);
  std::vector<uint8_t> core(n);
  tl::dbscan::dbscan(X.data(), n, d, eps, min_samples, weighted ? w.data() : nullptr, mt,
                     labels.data(), core.data(), 2);
  T* dX = device_copy(X);
  double* dW = device_copy(w);
  int64_t* dLabels = device_copy(std::vector<int64_t>(n));
  uint8_t* dCore = device_copy(std::vector<uint8_t>(n));
  tl::cuda::dbscan::dbscan(dX, n, d, eps, min_samples, weighted ? dW : nullptr, mt, dLabels, dCore, 0);
  expect(host_copy(dLabels, n) == labels, "labels differ between the CUDA and CPU kernels", __LINE__);
  expect(host_copy(dCore, n) == core, "core points differ between the CUDA and CPU kernels", __LINE__);
  // A vacuous case (one cluster, or nothing clustered) would not test the numbering.
  const int64_t clusters = *std::max_element(labels.begin(), labels.end()) + 1;
  expect(clusters >= 2 && std::count(labels.begin(), labels.end(), -1) > 0,
         "test data should give several clusters and some noise", __LINE__);
  cudaFree(dX);
  cudaFree(dW);
  cudaFree(dLabels);
  cudaFree(dCore);
}

}  // namespace

int main() {
  compare<float>(203, 2, 0.25, 5, false, "euclidean");
  compare<double>(203, 2, 0.25, 5, true, "euclidean");
  compare<double>(150, 1, 0.05, 4, false, "euclidean");
  compare<float>(131, 3, 0.5, 4, true, "manhattan");
  compare<double>(140, 5, 0.7, 4, false, "euclidean");
  if (failures) return 1;
  std::puts("dbscan: CUDA kernels under emulation agree with the CPU kernels");
  return 0;
}
