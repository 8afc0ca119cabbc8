// cuBLAS reached through function pointers handed over at run time: on a GPU, those of the
// cuBLAS that CuPy has already loaded (so building needs no cuBLAS); under emulation, adapters
// onto the CPU BLAS (cpp/blas.hpp).
#pragma once
#include <cstdint>

#include "cuda_compat.cuh"

namespace tl::cuda::blas {

// cublasSgemm_v2 / cublasDgemm_v2 / cublasSetStream_v2, typed here (enums are ints: 0 = N, 1 = T).
using sgemm_fn = int (*)(void* handle, int transa, int transb, int m, int n, int k,
                         const float* alpha, const float* A, int lda, const float* B, int ldb,
                         const float* beta, float* C, int ldc);
using dgemm_fn = int (*)(void* handle, int transa, int transb, int m, int n, int k,
                         const double* alpha, const double* A, int lda, const double* B, int ldb,
                         const double* beta, double* C, int ldc);
using set_stream_fn = int (*)(void* handle, cudaStream_t stream);

struct Table {
  void* handle = nullptr;
  cudaStream_t stream = nullptr;  // every kernel and GEMM of a call runs on this stream
  sgemm_fn sgemm = nullptr;
  dgemm_fn dgemm = nullptr;
  set_stream_fn set_stream = nullptr;
};

Table& table();
inline cudaStream_t stream() { return table().stream; }

// Row-major C (m x n) = A (m x k, lda) * B^T (B: n x k, ldb), on the table's stream.
template <class T>
void gemm_abt(int64_t m, int64_t n, int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb,
              T* C, int64_t ldc);

// Row-major C (m x n) = alpha * op(A) * op(B) + beta * C on the table's stream (op transposes
// when trans_a / trans_b; A is then stored k x m, B n x k). With k == 0, C = beta * C.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// Device memory for the duration of one call, stream-ordered.
template <class T>
class Buffer {
 public:
  explicit Buffer(int64_t n) {
    if (n > 0) check(cudaMallocAsync(reinterpret_cast<void**>(&ptr_), n * sizeof(T), stream()),
                     "cudaMallocAsync");
  }
  ~Buffer() {
    if (ptr_) cudaFreeAsync(ptr_, stream());
  }
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  T* get() const { return ptr_; }

 private:
  T* ptr_ = nullptr;
};

}  // namespace tl::cuda::blas
