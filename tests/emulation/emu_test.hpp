// What the op-family emulation tests share: a reference BLAS (test-only, so every instruction
// that runs is instrumented by the sanitizers), failure counting, the tolerance the CUDA and
// CPU results are compared with, random inputs, and host/device copies.
#pragma once
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "blas.hpp"
#include "cuda_compat.cuh"

namespace tl_test {

// Column-major C = alpha op(A) op(B) + beta C, Fortran calling convention.
template <class T>
void reference_gemm(const char* ta, const char* tb, const int* m, const int* n, const int* k,
                    const T* alpha, const T* A, const int* lda, const T* B, const int* ldb,
                    const T* beta, T* C, const int* ldc) {
  for (int j = 0; j < *n; ++j)
    for (int i = 0; i < *m; ++i) {
      T s = 0;
      for (int p = 0; p < *k; ++p) {
        const T a = *ta == 'N' ? A[i + p * *lda] : A[p + i * *lda];
        const T b = *tb == 'N' ? B[p + j * *ldb] : B[j + p * *ldb];
        s += a * b;
      }
      T& c = C[i + j * *ldc];
      c = *alpha * s + (*beta == T(0) ? T(0) : *beta * c);
    }
}

// The CPU kernels and the emulated cuBLAS both call the BLAS table.
inline void use_reference_blas() {
  auto& blas = tl::blas::table();
  blas.sgemm = reference_gemm<float>;
  blas.dgemm = reference_gemm<double>;
}

inline int failures = 0;

inline void expect(bool ok, const std::string& what, int line) {
  if (!ok) {
    std::fprintf(stderr, "FAIL line %d: %s\n", line, what.c_str());
    ++failures;
  }
}

// |a - b| <= rtol (1 + |a|), in T: relative to a for large values, absolute near zero; false
// when either is NaN.
template <class T>
bool close(T a, T b, T rtol) {
  return std::fabs(a - b) <= rtol * (1 + std::fabs(a));
}

// The same size, and every pair of elements close.
template <class T>
bool close(const std::vector<T>& a, const std::vector<T>& b, T rtol) {
  if (a.size() != b.size()) return false;
  for (size_t e = 0; e < a.size(); ++e)
    if (!close(a[e], b[e], rtol)) return false;
  return true;
}

// count standard normal values times scale, from a distribution of its own (so the values
// do not depend on what other distributions drew from gen before).
template <class T>
std::vector<T> normal(std::mt19937& gen, size_t count, T scale = T(1)) {
  std::normal_distribution<T> dist;
  std::vector<T> v(count);
  for (T& x : v) x = dist(gen) * scale;
  return v;
}

template <class T>
T* device_copy(const std::vector<T>& host) {
  T* p = nullptr;
  tl::cuda::check(cudaMalloc(reinterpret_cast<void**>(&p), host.size() * sizeof(T)), "cudaMalloc");
  tl::cuda::check(cudaMemcpy(p, host.data(), host.size() * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy");
  return p;
}

template <class T>
std::vector<T> host_copy(const T* device, size_t n) {
  std::vector<T> host(n);
  tl::cuda::check(cudaMemcpy(host.data(), device, n * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy");
  return host;
}

}  // namespace tl_test
