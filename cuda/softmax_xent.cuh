// The CUDA softmax_xent kernels: the same operations and arguments as cpp/softmax_xent.hpp, on
// device pointers, on the stream of cuda/gpu_blas.cuh. With sparse labels each call checks
// them on the device and brings one flag back to the host (a stream synchronisation), so a
// bad label raises instead of reading out of bounds. `n_threads` is ignored.
#pragma once
#include <cstdint>

#include "softmax_xent.hpp"

namespace tl::cuda::softmax_xent {

template <class T>
void forward(const T* logits, int64_t n, int64_t k, const int64_t* sparse, const T* dense,
             T* loss, T* probs, int n_threads);

template <class T>
void backward(const T* probs, int64_t n, int64_t k, const int64_t* sparse, const T* dense,
              const T* grad_loss, T* dlogits, int n_threads);

}  // namespace tl::cuda::softmax_xent
