// CPU BLAS reached through function pointers that Python hands over at import
// (scipy.linalg.cython_blas, as scikit-learn does), so nothing links a BLAS at build time.
#pragma once
#include <cstdint>

namespace tl::blas {

// Fortran BLAS signatures as scipy.linalg.cython_blas exports them (LP64 ints, column-major).
using sgemm_fn = void (*)(const char*, const char*, const int*, const int*, const int*, const float*,
                          const float*, const int*, const float*, const int*, const float*, float*,
                          const int*);
using dgemm_fn = void (*)(const char*, const char*, const int*, const int*, const int*, const double*,
                          const double*, const int*, const double*, const int*, const double*, double*,
                          const int*);
using set_threads_fn = void (*)(int);
using get_threads_fn = int (*)();

struct Table {
  sgemm_fn sgemm = nullptr;
  dgemm_fn dgemm = nullptr;
  set_threads_fn set_threads = nullptr;  // optional: the BLAS's own thread-count setter
  get_threads_fn get_threads = nullptr;
};

Table& table();
bool ready();

// Row-major C (m x n) = alpha * A (m x k) * B^T + beta * C, where B is (n x k) row-major.
// This is the only product the distance kernels need: rows of X against rows of Y.
template <class T>
void gemm_abt(int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B,
              int64_t ldb, T beta, T* C, int64_t ldc);

// Row-major C (m x n) = alpha * op(A) * op(B) + beta * C, op(A) (m x k) and op(B) (k x n),
// where op transposes when trans_a / trans_b (A is then stored k x m, B n x k). With k == 0
// C becomes beta * C (zero for beta == 0), whatever the BLAS does with empty products.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc);

// gemm split over our OpenMP threads by rows of C (columns for a short wide C), each part one
// single-threaded BLAS call; `n_threads` as threads::resolve takes it (one thread for small
// products). Kernels that a training step calls between OpenMP regions use this instead of
// the BLAS's own threads: OpenBLAS's workers spin for a while after each threaded GEMM and
// took a core from the next kernel's team (the book's Fashion-MNIST CNN epoch ran 1.8x
// slower, its LeNet-5 epoch 1.5x; an LSTM(20) step 10-50x).
template <class T>
void parallel_gemm(int n_threads, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k,
                   T alpha, const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C,
                   int64_t ldc);

// Makes the BLAS single-threaded for the lifetime of the guard: kernels call it from inside
// their own OpenMP regions, and a threaded BLAS there would oversubscribe the cores.
class SingleThreaded {
 public:
  SingleThreaded();
  ~SingleThreaded();
  SingleThreaded(const SingleThreaded&) = delete;
  SingleThreaded& operator=(const SingleThreaded&) = delete;

 private:
  int saved_ = 0;
};

}  // namespace tl::blas
