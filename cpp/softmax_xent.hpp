// The softmax_xent op family: softmax with cross-entropy, fused. Forward: per row the
// max-subtracted log-sum-exp, the probabilities and the loss in one pass; backward:
// dlogits = (probs * sum(labels) - labels) * grad_loss, labels sparse (one class index per
// row, int64) or categorical (a row of target probabilities, sum(labels) = 1 as a rule).
// Row-major, float or double.
#pragma once
#include <cstdint>

namespace tl::softmax_xent {

// probs (n x k) = softmax(logits); loss[i] = sum_j y_ij (lse_i - logits_ij), with y the
// one-hot of sparse[i] (sparse labels, dense null) or dense (n x k, sparse null); that is
// lse_i - logits[i, sparse[i]], or lse_i - sum_j y_ij logits_ij when the row of y sums to 1.
// A sparse label outside [0, k) throws std::invalid_argument naming it (outputs undefined).
template <class T>
void forward(const T* logits, int64_t n, int64_t k, const int64_t* sparse, const T* dense,
             T* loss, T* probs, int n_threads);

// dlogits (n x k) = (probs * sum_j y_ij - y_ij) * grad_loss[i], the gradient of the loss above
// (probs - y for rows of y that sum to 1). Sparse labels are checked as in forward.
template <class T>
void backward(const T* probs, int64_t n, int64_t k, const int64_t* sparse, const T* dense,
              const T* grad_loss, T* dlogits, int n_threads);

// The inner loops, compiled once per SIMD level (softmax_xent_isa.cpp) and chosen at run time.
// Each returns the first row (of those given) whose sparse label is out of range, or -1.
template <class T>
struct Kernels {
  int64_t (*forward_rows)(const T* logits, int64_t rows, int64_t k, const int64_t* sparse,
                          const T* dense, T* loss, T* probs);
  int64_t (*backward_rows)(const T* probs, int64_t rows, int64_t k, const int64_t* sparse,
                           const T* dense, const T* grad_loss, T* dlogits);
};

template <class T>
const Kernels<T>& kernels();  // for the active SIMD level

// Explicit instantiation of the entry points above, for the CPU and the CUDA implementations
// (each in its own namespace).
#define TL_INSTANTIATE_SOFTMAX_XENT(T)                                                      \
  template void forward<T>(const T*, int64_t, int64_t, const int64_t*, const T*, T*, T*, int); \
  template void backward<T>(const T*, int64_t, int64_t, const int64_t*, const T*, const T*, T*, int);

}  // namespace tl::softmax_xent
