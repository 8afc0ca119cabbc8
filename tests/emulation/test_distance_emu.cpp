// The distance op family under the sanitizers: cuda/distance.cu run by the emulator against
// cpp/distance.cpp on the same inputs (both built with -fsanitize=...). The BLAS here is a
// plain reference GEMM (test-only), so every instruction that runs is instrumented.
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "blas.hpp"
#include "cuda_compat.cuh"
#include "emu_test.hpp"
#include "distance.cuh"
#include "distance.hpp"

namespace {

using namespace tl_test;

template <class T>
void compare(int64_t m, int64_t n, int64_t d, int64_t k, bool same, T rtol) {
  std::mt19937 gen(7);
  std::normal_distribution<T> normal;
  std::vector<T> X(m * d), Y(n * d);
  for (T& v : X) v = normal(gen);
  for (T& v : Y) v = normal(gen);
  const std::vector<T>& Yh = same ? X : Y;
  const int64_t ny = same ? m : n;
  T* dX = device_copy(X);
  T* dY = same ? dX : device_copy(Y);
  T *dD, *dDist;
  int64_t* dIdx;
  tl::cuda::check(cudaMalloc(reinterpret_cast<void**>(&dD), m * ny * sizeof(T)), "cudaMalloc");
  tl::cuda::check(cudaMalloc(reinterpret_cast<void**>(&dDist), m * k * sizeof(T)), "cudaMalloc");
  tl::cuda::check(cudaMalloc(reinterpret_cast<void**>(&dIdx), m * k * sizeof(int64_t)), "cudaMalloc");

  for (const char* name : {"sqeuclidean", "euclidean", "cosine", "manhattan"}) {
    const auto metric = tl::distance::parse_metric(name);
    std::vector<T> D(m * ny), dist(m * k);
    std::vector<int64_t> idx(m * k);
    tl::distance::pairwise_distances(X.data(), m, Yh.data(), ny, d, metric, same, D.data(), 1);
    tl::distance::argkmin(X.data(), m, Yh.data(), ny, d, k, metric, same, dist.data(), idx.data(), 1);
    tl::cuda::distance::pairwise_distances(dX, m, dY, ny, d, metric, same, dD, 0);
    tl::cuda::distance::argkmin(dX, m, dY, ny, d, k, metric, same, dDist, dIdx, 0);
    const auto gD = host_copy(dD, m * ny), gDist = host_copy(dDist, m * k);
    const auto gIdx = host_copy(dIdx, m * k);
    // relative to the CPU's distances
    expect(close(D, gD, rtol) && close(dist, gDist, rtol),
           std::string("distances differ between the CUDA and CPU kernels: ") + name, __LINE__);
    expect(idx == gIdx, std::string("neighbour indices differ between the CUDA and CPU kernels: ") + name, __LINE__);
    if (same)
      for (int64_t i = 0; i < m; ++i) expect(gD[i * ny + i] == 0, std::string("diagonal not exactly zero: ") + name, __LINE__);
  }
  for (void* p : {static_cast<void*>(dX), static_cast<void*>(dD), static_cast<void*>(dDist), static_cast<void*>(dIdx)})
    cudaFree(p);
  if (!same) cudaFree(dY);
}

}  // namespace

int main() {
  tl_test::use_reference_blas();
  compare<float>(19, 203, 7, 5, false, 1e-5f);
  compare<double>(19, 203, 7, 5, false, 1e-12);
  compare<float>(33, 33, 18, 4, true, 1e-5f);  // X against itself: exact zeros, self first
  compare<double>(1, 1, 1, 1, false, 1e-12);
  if (failures) return 1;
  std::puts("distance: CUDA kernels under emulation agree with the CPU kernels");
  return 0;
}
