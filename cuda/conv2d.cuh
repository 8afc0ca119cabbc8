// The CUDA conv2d kernels: the same operations and arguments as cpp/conv2d.hpp, on device
// pointers, on the stream of cuda/gpu_blas.cuh: im2col / col2im kernels around cuBLAS GEMMs,
// and the dense family's epilogue and delta passes (cuda/dense.cuh) on the output matrix.
// `n_threads` is accepted so the bindings are identical; the GPU ignores it.
#pragma once
#include <cstdint>

#include "conv2d.hpp"  // cpp/: Geometry, Activation

namespace tl::cuda::conv2d {

using ::tl::conv2d::Activation;
using ::tl::conv2d::Algorithm;
using ::tl::conv2d::Algorithms;
using ::tl::conv2d::Geometry;

// One GEMM when the convolution is one (Geometry::is_gemm), else im2col + cuBLAS.
template <class T>
Algorithms algorithms(const Geometry& g);

template <class T>
void forward(const Geometry& g, const T* x, const T* kernel, const T* bias, Activation act,
             T* out, int n_threads);

template <class T>
void backward(const Geometry& g, const T* x, const T* kernel, const T* out, const T* grad_out,
              Activation act, T* dx, T* dkernel, T* dbias, int n_threads);

template <class T>
void transpose_forward(const Geometry& g, const T* x, const T* kernel, const T* bias,
                       Activation act, T* out, int n_threads);

template <class T>
void transpose_backward(const Geometry& g, const T* x, const T* kernel, const T* out,
                        const T* grad_out, Activation act, T* dx, T* dkernel, T* dbias,
                        int n_threads);

}  // namespace tl::cuda::conv2d
