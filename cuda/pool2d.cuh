// The CUDA pool2d kernels: the same operations and arguments as cpp/pool2d.hpp, on device
// pointers, on the stream of cuda/gpu_blas.cuh. Asynchronous: nothing comes back to the host.
// `n_threads` is accepted so the bindings are identical; the GPU ignores it.
#pragma once
#include <cstdint>

#include "pool2d.hpp"  // cpp/: Mode, Geometry, the window ranges

namespace tl::cuda::pool2d {

using ::tl::pool2d::Geometry;
using ::tl::pool2d::Mode;

template <class T>
void forward(const T* x, const Geometry& g, Mode mode, T* out, int32_t* argmax, int n_threads);

template <class T>
void backward(const T* grad_out, const int32_t* argmax, const Geometry& g, Mode mode, T* dx,
              int n_threads);

}  // namespace tl::cuda::pool2d
