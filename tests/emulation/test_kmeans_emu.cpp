// The k-means op family under the sanitizers: cuda/kmeans.cu run by the emulator against
// cpp/kmeans.cpp on the same inputs (both built with -fsanitize=...). The BLAS is a plain
// reference GEMM (test-only), so every instruction that runs is instrumented. Covers the
// assignment (both inertia modes), a Lloyd iteration with empty clusters to relocate, the
// mini-batch step in place and the k-means++ distances, at sizes that are not multiples of
// any block or tile.
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "blas.hpp"
#include "cuda_compat.cuh"
#include "emu_test.hpp"
#include "kmeans.cuh"
#include "kmeans.hpp"

namespace {

using namespace tl_test;

template <class T>
void compare(int64_t n, int64_t d, int64_t k, T rtol) {
  std::mt19937 gen(11);
  std::normal_distribution<T> normal;
  std::uniform_real_distribution<T> uniform(T(0.5), T(1.5));
  std::vector<T> X(n * d), C(k * d), w(n), xn(n);
  for (T& v : X) v = normal(gen);
  for (T& v : w) v = uniform(gen);
  for (int64_t j = 0; j < k; ++j)  // centres near samples, plus two far away (left empty)
    for (int64_t f = 0; f < d; ++f)
      C[j * d + f] = j >= k - 2 ? T(100 + 10 * j) : X[(j * 7 % n) * d + f] + T(0.01);
  tl::kmeans::row_sqnorms(X.data(), n, d, xn.data(), 1);

  T* dX = device_copy(X);
  T* dC = device_copy(C);
  T* dw = device_copy(w);
  T* dxn = device_copy(std::vector<T>(n, T(0)));
  tl::cuda::kmeans::row_sqnorms(dX, n, d, dxn, 0);
  expect(close(host_copy(dxn, n), xn, rtol), "row norms differ", __LINE__);

  for (bool exact : {true, false}) {
    std::vector<int32_t> labels(n, -1);
    int32_t* dl = device_copy(labels);
    const auto cpu = tl::kmeans::assign(X.data(), xn.data(), w.data(), n, d, C.data(), k, labels.data(), exact, 1);
    const auto gpu = tl::cuda::kmeans::assign(dX, dxn, dw, n, d, dC, k, dl, exact, 0);
    expect(host_copy(dl, n) == labels, "assign: labels differ", __LINE__);
    expect(cpu.n_changed == n && gpu.n_changed == n, "assign: changed counts", __LINE__);
    expect(close(cpu.inertia, gpu.inertia, 1e-4), "assign: inertia differs", __LINE__);
    cudaFree(dl);
  }

  {  // a Lloyd iteration: the two far centres are empty and get relocated
    std::vector<int32_t> labels(n, -1);
    std::vector<T> cn(k * d), wc(k), sh(k);
    int32_t* dl = device_copy(labels);
    T* dcn = device_copy(cn);
    T* dwc = device_copy(wc);
    T* dsh = device_copy(sh);
    const auto cpu = tl::kmeans::lloyd_iter(X.data(), xn.data(), w.data(), n, d, C.data(), k, cn.data(),
                                            wc.data(), labels.data(), sh.data(), 1);
    const auto gpu = tl::cuda::kmeans::lloyd_iter(dX, dxn, dw, n, d, dC, k, dcn, dwc, dl, dsh, 0);
    expect(host_copy(dl, n) == labels, "lloyd: labels differ", __LINE__);
    expect(close(host_copy(dcn, k * d), cn, rtol), "lloyd: centres differ", __LINE__);
    expect(close(host_copy(dwc, k), wc, rtol), "lloyd: weights differ", __LINE__);
    expect(close(host_copy(dsh, k), sh, rtol), "lloyd: shifts differ", __LINE__);
    expect(wc[k - 1] > 0 && wc[k - 2] > 0, "lloyd: empty clusters were not relocated", __LINE__);
    expect(close(cpu.inertia, gpu.inertia, 1e-4), "lloyd: inertia differs", __LINE__);
    for (void* p : {static_cast<void*>(dl), static_cast<void*>(dcn), static_cast<void*>(dwc), static_cast<void*>(dsh)})
      cudaFree(p);
  }

  {  // the mini-batch step, in place
    std::vector<int32_t> labels(n, 0);
    std::vector<T> counts(k), centers = C;
    for (int64_t j = 0; j < k; ++j) counts[j] = T(j % 3);
    int32_t* dl = device_copy(labels);
    T* dcounts = device_copy(counts);
    T* dcenters = device_copy(centers);
    const auto cpu = tl::kmeans::minibatch_step(X.data(), w.data(), n, d, centers.data(), k, centers.data(),
                                                counts.data(), labels.data(), 1);
    const auto gpu = tl::cuda::kmeans::minibatch_step(dX, dw, n, d, dcenters, k, dcenters, dcounts, dl, 0);
    expect(host_copy(dl, n) == labels, "minibatch: labels differ", __LINE__);
    expect(close(host_copy(dcenters, k * d), centers, rtol), "minibatch: centres differ", __LINE__);
    expect(close(host_copy(dcounts, k), counts, rtol), "minibatch: counts differ", __LINE__);
    expect(close(cpu.inertia, gpu.inertia, 1e-4), "minibatch: inertia differs", __LINE__);
    for (void* p : {static_cast<void*>(dl), static_cast<void*>(dcounts), static_cast<void*>(dcenters)}) cudaFree(p);
  }
  {  // k-means++ candidate distances from float64 dot products, with and without closest
    const int64_t m = 3;
    std::vector<double> G(m * n), xx(m), yy(n);
    for (double& v : G) v = normal(gen);
    for (double& v : xx) v = 2 + normal(gen);
    for (double& v : yy) v = 2 + normal(gen);
    std::vector<T> closest(n), out(m * n), out2(m * n);
    for (T& v : closest) v = uniform(gen) * 4;
    double* dG = device_copy(G);
    double* dxx = device_copy(xx);
    double* dyy = device_copy(yy);
    T* dcl = device_copy(closest);
    T* dout = device_copy(out);
    for (const T* cl : {static_cast<const T*>(nullptr), static_cast<const T*>(closest.data())}) {
      tl::kmeans::plusplus_distances(G.data(), m, n, xx.data(), yy.data(), cl, out.data(), 1);
      tl::cuda::kmeans::plusplus_distances(dG, m, n, dxx, dyy, cl ? dcl : nullptr, dout, 0);
      expect(host_copy(dout, m * n) == out, "plusplus: distances differ", __LINE__);
    }
    for (void* p : {static_cast<void*>(dG), static_cast<void*>(dxx), static_cast<void*>(dyy), static_cast<void*>(dcl), static_cast<void*>(dout)})
      cudaFree(p);
  }
  for (void* p : {static_cast<void*>(dX), static_cast<void*>(dC), static_cast<void*>(dw), static_cast<void*>(dxn)})
    cudaFree(p);
}

}  // namespace

int main() {
  tl_test::use_reference_blas();
  compare<float>(203, 7, 9, 1e-4f);
  compare<double>(203, 7, 9, 1e-10);
  compare<double>(33, 1, 3, 1e-10);
  compare<float>(260, 19, 130, 1e-4f);  // more centre x feature sums than shared memory holds
  if (failures) return 1;
  std::puts("kmeans: CUDA kernels under emulation agree with the CPU kernels");
  return 0;
}
