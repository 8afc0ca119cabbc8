#include "dense.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include "blas.hpp"
#include "isa.hpp"
#include "threads.hpp"

#ifdef _OPENMP
#include <omp.h>
#endif

namespace tl::dense {

TL_ISA_KERNELS_DISPATCH()

namespace {

constexpr const char* kNames[] = {"linear", "relu",  "sigmoid",  "tanh",
                                  "elu",    "selu",  "softplus", "softmax"};

void check_args(int64_t n, int64_t d_in, int64_t d_out) {
  if (n < 0) throw std::invalid_argument("dense: negative number of samples");
  if (d_in < 1) throw std::invalid_argument("dense: the number of input features must be >= 1");
  if (d_out < 1) throw std::invalid_argument("dense: the number of units must be >= 1");
  if (!blas::ready()) throw std::runtime_error("turbolearn: BLAS function pointers were not set");
}

// The calling thread's delta buffer, grown as needed and kept for the next call (a training
// loop calls backward with the same shapes every step). Uninitialised: fully written first.
template <class T>
T* scratch_space(int64_t count) {
  thread_local std::vector<T> buffer;
  if (static_cast<int64_t>(buffer.size()) < count) {
    buffer.clear();
    buffer.shrink_to_fit();
    buffer.resize(count);
  }
  return buffer.data();
}

// Contiguous row ranges, one per thread: [begin(t), begin(t + 1)).
struct Rows {
  int64_t n;
  int nt;
  int64_t begin(int t) const { return n * t / nt; }
};

}  // namespace

Activation parse_activation(const std::string& name) {
  for (int a = 0; a < 8; ++a)
    if (name == kNames[a]) return static_cast<Activation>(a);
  throw std::invalid_argument("unknown activation '" + name +
                              "'; expected one of linear, relu, sigmoid, tanh, elu, selu, "
                              "softplus, softmax");
}

const char* activation_name(Activation act) { return kNames[static_cast<int>(act)]; }

template <class T>
void forward(const T* x, int64_t n, int64_t d_in, const T* kernel, int64_t d_out, const T* bias,
             Activation act, T* out, int n_threads) {
  check_args(n, d_in, d_out);
  if (n == 0) return;
  blas::parallel_gemm<T>(n_threads, false, false, n, d_out, d_in, T(1), x, d_in, kernel, d_out,
                         T(0), out, d_out);
  if (act == Activation::linear && bias == nullptr) return;
  const Kernels<T>& kern = kernels<T>();
  const double work = double(n) * d_out * threads::kValueCost;
  const int nt = static_cast<int>(std::min<int64_t>(threads::resolve(n_threads, work), n));
  if (nt <= 1) {
    kern.epilogue(out, n, d_out, bias, act);
    return;
  }
  const Rows rows{n, nt};
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; ++t)
    kern.epilogue(out + rows.begin(t) * d_out, rows.begin(t + 1) - rows.begin(t), d_out, bias, act);
}

template <class T>
void backward(const T* x, int64_t n, int64_t d_in, const T* kernel, int64_t d_out, const T* out,
              const T* grad_out, Activation act, T* dx, T* dkernel, T* dbias, int n_threads) {
  check_args(n, d_in, d_out);
  if (dbias) std::fill(dbias, dbias + d_out, T(0));
  if (n == 0) {
    std::fill(dkernel, dkernel + d_in * d_out, T(0));
    return;
  }
  const Kernels<T>& kern = kernels<T>();
  // linear: delta is grad_out itself (only the bias sums are needed).
  const bool identity = act == Activation::linear;
  T* delta = identity ? const_cast<T*>(grad_out) : scratch_space<T>(n * d_out);
  const double work = double(n) * d_out * threads::kValueCost;
  const int nt = static_cast<int>(std::min<int64_t>(threads::resolve(n_threads, work), n));
  if (identity && dbias == nullptr) {
    // nothing to compute before the GEMMs
  } else if (nt <= 1) {
    kern.delta(out, grad_out, n, d_out, act, delta, dbias);
  } else {
    // Per-thread column sums over contiguous row ranges, added in thread order: the same
    // result run to run for a given thread count.
    std::vector<T> parts(dbias ? nt * d_out : 0, T(0));
    const Rows rows{n, nt};
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int t = 0; t < nt; ++t) {
      const int64_t r0 = rows.begin(t);
      kern.delta(out + r0 * d_out, grad_out + r0 * d_out, rows.begin(t + 1) - r0, d_out, act,
                 delta + r0 * d_out, dbias ? parts.data() + t * d_out : nullptr);
    }
    if (dbias)
      for (int t = 0; t < nt; ++t)
        for (int64_t j = 0; j < d_out; ++j) dbias[j] += parts[t * d_out + j];
  }
  blas::parallel_gemm<T>(n_threads, true, false, d_in, d_out, n, T(1), x, d_in, delta, d_out,
                         T(0), dkernel, d_out);
  if (dx)
    blas::parallel_gemm<T>(n_threads, false, true, n, d_in, d_out, T(1), delta, d_out, kernel,
                           d_out, T(0), dx, d_in);
}

TL_INSTANTIATE_DENSE(float)
TL_INSTANTIATE_DENSE(double)

}  // namespace tl::dense
