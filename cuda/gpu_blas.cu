#include "gpu_blas.cuh"

#include <limits>
#include <stdexcept>
#include <type_traits>

#ifdef TL_CUDA_EMULATION
#include "blas.hpp"  // cpp/: the CPU BLAS the emulated cuBLAS calls
#endif

namespace tl::cuda::blas {

#ifdef TL_CUDA_EMULATION
namespace {
// cuBLAS is column-major like Fortran BLAS: the adapters only translate the operation codes.
template <class T>
int emulated_gemm(void*, int ta, int tb, int m, int n, int k, const T* alpha, const T* A, int lda,
                  const T* B, int ldb, const T* beta, T* C, int ldc) {
  const char a = ta ? 'T' : 'N', b = tb ? 'T' : 'N';
  const auto& cpu = ::tl::blas::table();
  if constexpr (std::is_same_v<T, float>)
    cpu.sgemm(&a, &b, &m, &n, &k, alpha, A, &lda, B, &ldb, beta, C, &ldc);
  else
    cpu.dgemm(&a, &b, &m, &n, &k, alpha, A, &lda, B, &ldb, beta, C, &ldc);
  return 0;
}
int emulated_set_stream(void*, cudaStream_t) { return 0; }
}  // namespace

Table& table() {
  static Table t{nullptr, nullptr, emulated_gemm<float>, emulated_gemm<double>,
                 emulated_set_stream};
  return t;
}
#else
Table& table() {
  static Table t;
  return t;
}
#endif

namespace {
int to_int(int64_t v) {
  if (v > std::numeric_limits<int>::max())
    throw std::invalid_argument("matrix dimension exceeds the cuBLAS 32-bit index range");
  return static_cast<int>(v);
}
}  // namespace

template <class T>
void gemm_abt(int64_t m, int64_t n, int64_t k, const T* A, int64_t lda, const T* B, int64_t ldb,
              T* C, int64_t ldc) {
  Table& t = table();
  if (!t.sgemm || !t.dgemm || !t.set_stream)
    throw std::runtime_error("turbolearn: cuBLAS function pointers were not set");
  if (m == 0 || n == 0) return;
  const T one = 1, zero = 0;
  int status = t.set_stream(t.handle, t.stream);
  // Row-major C = A B^T is column-major C^T = B A^T: swap operands, transpose the first.
  if (status == 0) {
    if constexpr (std::is_same_v<T, float>)
      status = t.sgemm(t.handle, 1, 0, to_int(n), to_int(m), to_int(k), &one, B, to_int(ldb), A,
                       to_int(lda), &zero, C, to_int(ldc));
    else
      status = t.dgemm(t.handle, 1, 0, to_int(n), to_int(m), to_int(k), &one, B, to_int(ldb), A,
                       to_int(lda), &zero, C, to_int(ldc));
  }
  if (status != 0) throw std::runtime_error("cuBLAS gemm failed with status " + std::to_string(status));
}

// cuBLAS follows the BLAS rule for k == 0 (C = beta C, no read of A or B), which is what
// the row-major wrapper promises; no special case needed.
template <class T>
void gemm(bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, T alpha, const T* A,
          int64_t lda, const T* B, int64_t ldb, T beta, T* C, int64_t ldc) {
  Table& t = table();
  if (!t.sgemm || !t.dgemm || !t.set_stream)
    throw std::runtime_error("turbolearn: cuBLAS function pointers were not set");
  if (m == 0 || n == 0) return;
  int status = t.set_stream(t.handle, t.stream);
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: swap, keep the flags.
  const int ta = trans_b ? 1 : 0, tb = trans_a ? 1 : 0;
  if (status == 0) {
    if constexpr (std::is_same_v<T, float>)
      status = t.sgemm(t.handle, ta, tb, to_int(n), to_int(m), to_int(k), &alpha, B, to_int(ldb),
                       A, to_int(lda), &beta, C, to_int(ldc));
    else
      status = t.dgemm(t.handle, ta, tb, to_int(n), to_int(m), to_int(k), &alpha, B, to_int(ldb),
                       A, to_int(lda), &beta, C, to_int(ldc));
  }
  if (status != 0) throw std::runtime_error("cuBLAS gemm failed with status " + std::to_string(status));
}

template void gemm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t,
                          const float*, int64_t, float, float*, int64_t);
template void gemm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t,
                           const double*, int64_t, double, double*, int64_t);

template void gemm_abt<float>(int64_t, int64_t, int64_t, const float*, int64_t, const float*,
                              int64_t, float*, int64_t);
template void gemm_abt<double>(int64_t, int64_t, int64_t, const double*, int64_t, const double*,
                               int64_t, double*, int64_t);

}  // namespace tl::cuda::blas
