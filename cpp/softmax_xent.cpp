#include "softmax_xent.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>
#include <vector>

#include "isa.hpp"
#include "threads.hpp"

namespace tl::softmax_xent {

TL_ISA_KERNELS_DISPATCH()

namespace {

void check_args(int64_t n, int64_t k, const int64_t* sparse, const void* dense) {
  if (n < 0) throw std::invalid_argument("softmax_xent: negative number of samples");
  if (k < 1) throw std::invalid_argument("softmax_xent: the number of classes must be >= 1");
  if ((sparse == nullptr) == (dense == nullptr))
    throw std::invalid_argument("softmax_xent: give either sparse or categorical labels");
}

[[noreturn]] void bad_label(const int64_t* sparse, int64_t row, int64_t k) {
  throw std::invalid_argument("label " + std::to_string(sparse[row]) + " of sample " +
                              std::to_string(row) + " is out of range [0, " + std::to_string(k) +
                              ")");
}

// Runs rows_fn(r0, rows) over contiguous row ranges, one per thread (or one call), and
// returns the first bad row any range reported, or -1.
template <class F>
int64_t over_rows(int64_t n, int nt, F rows_fn) {
  if (nt <= 1) return rows_fn(0, n);
  std::vector<int64_t> bad(nt, -1);
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; ++t) {
    const int64_t r0 = n * t / nt, r1 = n * (t + 1) / nt;
    const int64_t b = rows_fn(r0, r1 - r0);
    bad[t] = b < 0 ? -1 : r0 + b;
  }
  for (int64_t b : bad)
    if (b >= 0) return b;
  return -1;
}

int thread_count(int n_threads, int64_t n, int64_t k) {
  // A memory-bound pass over the logits (threads::kValueCost).
  const double work = threads::kValueCost * static_cast<double>(n) * static_cast<double>(k);
  return static_cast<int>(std::min<int64_t>(threads::resolve(n_threads, work), std::max<int64_t>(n, 1)));
}

}  // namespace

template <class T>
void forward(const T* logits, int64_t n, int64_t k, const int64_t* sparse, const T* dense,
             T* loss, T* probs, int n_threads) {
  check_args(n, k, sparse, dense);
  if (n == 0) return;
  const Kernels<T>& kern = kernels<T>();
  const int64_t bad = over_rows(n, thread_count(n_threads, n, k), [&](int64_t r0, int64_t rows) {
    return kern.forward_rows(logits + r0 * k, rows, k, sparse ? sparse + r0 : nullptr,
                             dense ? dense + r0 * k : nullptr, loss + r0, probs + r0 * k);
  });
  if (bad >= 0) bad_label(sparse, bad, k);
}

template <class T>
void backward(const T* probs, int64_t n, int64_t k, const int64_t* sparse, const T* dense,
              const T* grad_loss, T* dlogits, int n_threads) {
  check_args(n, k, sparse, dense);
  if (n == 0) return;
  const Kernels<T>& kern = kernels<T>();
  const int64_t bad = over_rows(n, thread_count(n_threads, n, k), [&](int64_t r0, int64_t rows) {
    return kern.backward_rows(probs + r0 * k, rows, k, sparse ? sparse + r0 : nullptr,
                              dense ? dense + r0 * k : nullptr, grad_loss + r0, dlogits + r0 * k);
  });
  if (bad >= 0) bad_label(sparse, bad, k);
}

TL_INSTANTIATE_SOFTMAX_XENT(float)
TL_INSTANTIATE_SOFTMAX_XENT(double)

}  // namespace tl::softmax_xent
