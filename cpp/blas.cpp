#include "blas.hpp"

#include <omp.h>

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "threads.hpp"

namespace tl::blas {

Table& table() {
  static Table t;
  return t;
}

bool ready() { return table().sgemm != nullptr && table().dgemm != nullptr; }

namespace {
int to_int(int64_t v) {
  if (v > std::numeric_limits<int>::max())
    throw std::invalid_argument("matrix dimension exceeds the BLAS 32-bit index range");
  return static_cast<int>(v);
}
}  // namespace

template <class T>
void gemm_abt(int64_t m, int64_t n, int64_t k, T alpha, const T* A, int64_t lda, const T* B,
              int64_t ldb, T beta, T* C, int64_t ldc) {
  if (!ready()) throw std::runtime_error("turbolearn: BLAS function pointers were not set");
  if (m == 0 || n == 0) return;
  // Row-major C = A B^T is column-major C^T = B A^T: swap operands, transpose the first.
  const int M = to_int(n), N = to_int(m), K = to_int(k);
  const int LDA = to_int(ldb), LDB = to_int(lda), LDC = to_int(ldc);
  const char ta = 'T', tb = 'N';
  if constexpr (std::is_same_v<T, float>)
    table().sgemm(&ta, &tb, &M, &N, &K, &alpha, B, &LDA, A, &LDB, &beta, C, &LDC);
  else
    table().dgemm(&ta, &tb, &M, &N, &K, &alpha, B, &LDA, A, &LDB, &beta, C, &LDC);
}

template void gemm_abt<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, const float*,
                              int64_t, float, float*, int64_t);
template void gemm_abt<double>(int64_t, int64_t, int64_t, double, const double*, int64_t,
                               const double*, int64_t, double, double*, int64_t);

template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  if (!ready()) throw std::runtime_error("turbolearn: BLAS function pointers were not set");
  if (m == 0 || n == 0) return;
  if (k == 0) {
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) C[i * ldc + j] = beta == T(0) ? T(0) : beta * C[i * ldc + j];
    return;
  }
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T, and a row-major matrix
  // is its transpose in column-major order: swap the operands, keep their flags.
  const int M = to_int(n), N = to_int(m), K = to_int(k);
  const int LDA = to_int(ldb), LDB = to_int(lda), LDC = to_int(ldc);
  const char ta = trans_b ? 'T' : 'N', tb = trans_a ? 'T' : 'N';
  if constexpr (std::is_same_v<T, float>)
    table().sgemm(&ta, &tb, &M, &N, &K, &alpha, B, &LDA, A, &LDB, &beta, C, &LDC);
  else
    table().dgemm(&ta, &tb, &M, &N, &K, &alpha, B, &LDA, A, &LDB, &beta, C, &LDC);
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);

template <class T>
void parallel_gemm(int n_threads, bool ta, bool tb, int64_t m, int64_t n, int64_t k, T alpha,
                   const T* A, int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  SingleThreaded one_blas_thread;
  // One work unit per multiply-add: from ~1M of them (~20 us on one core) the product is
  // split. LeNet-5's last convolution, a 32 x 400 x 120 GEMM (1.5M), went 29 -> 14 us forward
  // and 47 -> 25 us backward on two threads; at half a unit per multiply-add (the threshold
  // before) it ran on one. At two units, the MLP's 32 x 300 x 100 layer (0.96M) was no faster
  // split.
  const int nt = static_cast<int>(std::min<int64_t>(
      threads::resolve(n_threads, double(m) * n * k), std::max(m, n)));
  if (nt <= 1) return gemm<T>(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  const bool by_rows = m >= n;
  const int64_t parts = by_rows ? m : n;
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int th = 0; th < nt; ++th) {
    const int64_t b0 = parts * th / nt, size = parts * (th + 1) / nt - b0;
    if (by_rows)
      gemm<T>(ta, tb, size, n, k, alpha, ta ? A + b0 : A + b0 * lda, lda, B, ldb, beta,
              C + b0 * ldc, ldc);
    else
      gemm<T>(ta, tb, m, size, k, alpha, A, lda, tb ? B + b0 * ldb : B + b0, ldb, beta, C + b0,
              ldc);
  }
}

template void parallel_gemm<float>(int, bool, bool, int64_t, int64_t, int64_t, float,
                                   const float*, int64_t, const float*, int64_t, float, float*,
                                   int64_t);
template void parallel_gemm<double>(int, bool, bool, int64_t, int64_t, int64_t, double,
                                    const double*, int64_t, const double*, int64_t, double,
                                    double*, int64_t);

SingleThreaded::SingleThreaded() {
  const Table& t = table();
  if (t.set_threads && t.get_threads) {
    saved_ = t.get_threads();
    if (saved_ != 1) t.set_threads(1);
  }
}

SingleThreaded::~SingleThreaded() {
  const Table& t = table();
  if (t.set_threads && saved_ > 1) t.set_threads(saved_);
}

}  // namespace tl::blas
