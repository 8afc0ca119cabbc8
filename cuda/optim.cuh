// The CUDA optim kernels: the same operation and arguments as cpp/optim.hpp, on device
// pointers, on the stream of cuda/gpu_blas.cuh. Asynchronous: nothing comes back to the host.
// `n_threads` is accepted so the bindings are identical; the GPU ignores it.
#pragma once
#include <cstdint>

#include "optim.hpp"  // cpp/: Step, Tensor, the rules and the element update

namespace tl::cuda::optim {

using ::tl::optim::Step;
using ::tl::optim::Tensor;

template <class T>
void update(const Step<T>& step, const Tensor<T>* tensors, int64_t count, int n_threads);

}  // namespace tl::cuda::optim
