// The CUDA distance kernels: the same operations and arguments as cpp/distance.hpp, on
// device pointers, on the stream of cuda/gpu_blas.cuh. `n_threads` is accepted so the
// bindings are identical; the GPU ignores it.
#pragma once
#include <cstdint>

#include "distance.hpp"  // cpp/: Metric

namespace tl::cuda::distance {

using ::tl::distance::Metric;
using ::tl::distance::parse_metric;

constexpr int64_t kMaxK = 2048;  // the top-k list of a query lives in shared memory

template <class T>
void pairwise_distances(const T* X, int64_t m, const T* Y, int64_t n, int64_t d, Metric metric,
                        bool same, T* out, int n_threads);

template <class T>
void argkmin(const T* X, int64_t m, const T* Y, int64_t n, int64_t d, int64_t k, Metric metric,
             bool same, T* dist, int64_t* idx, int n_threads);

}  // namespace tl::cuda::distance
