// What the op-family emulation tests share: a reference BLAS (test-only, so every instruction
// that runs is instrumented by the sanitizers), failure counting, and host/device copies.
#pragma once
#include <cstdio>
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
