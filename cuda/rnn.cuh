// The CUDA rnn kernels: the same operations and arguments as cpp/rnn.hpp, on device pointers,
// on the stream of cuda/gpu_blas.cuh. Per time step, the recurrent product is a cuBLAS GEMM
// over the whole batch and one fused element-wise kernel does the gates, the state update,
// the saved activations and the outputs (GRU reset_before: two kernels around the h gate's
// product); the input projection and the weight gradients are one GEMM each, shared with the
// CPU implementation (rnn.hpp). `n_threads` is accepted so the bindings are identical; the
// GPU ignores it.
#pragma once
#include <cstdint>

#include "rnn.hpp"  // cpp/: Spec, Inputs, Outputs, Gradients, the shared GEMM stages

namespace tl::cuda::rnn {

using ::tl::rnn::Gradients;
using ::tl::rnn::Inputs;
using ::tl::rnn::Outputs;
using ::tl::rnn::Spec;

template <class T>
void forward(const Spec& spec, const Inputs<T>& in, const Outputs<T>& out, int n_threads);

template <class T>
void backward(const Spec& spec, const Inputs<T>& in, const T* workspace, const Gradients<T>& grad,
              int n_threads);

}  // namespace tl::cuda::rnn
