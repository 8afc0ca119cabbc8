// The CUDA dense kernels: the same operations and arguments as cpp/dense.hpp, on device
// pointers, on the stream of cuda/gpu_blas.cuh (cuBLAS GEMMs and our epilogue kernels).
// `n_threads` is accepted so the bindings are identical; the GPU ignores it.
#pragma once
#include <cstdint>

#include "dense.hpp"  // cpp/: Activation, the SELU constants

namespace tl::cuda::dense {

using ::tl::dense::Activation;

template <class T>
void forward(const T* x, int64_t n, int64_t d_in, const T* kernel, int64_t d_out, const T* bias,
             Activation act, T* out, int n_threads);

template <class T>
void backward(const T* x, int64_t n, int64_t d_in, const T* kernel, int64_t d_out, const T* out,
              const T* grad_out, Activation act, T* dx, T* dkernel, T* dbias, int n_threads);

// The two passes around the GEMMs, on the stream, for other families (conv2d) to reuse on their
// own output matrices: y (rows x cols) = act(y + bias) in place (bias may be null), and
// delta = grad * act'(out) with, when colsum is not null, colsum += its column sums (zero it
// first). For linear, delta may be grad itself (only the sums are taken).
template <class T>
void epilogue(T* y, int64_t rows, int64_t cols, const T* bias, Activation act);

template <class T>
void delta(const T* out, const T* grad, int64_t rows, int64_t cols, Activation act, T* delta,
           T* colsum);

}  // namespace tl::cuda::dense
