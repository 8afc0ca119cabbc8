// The CUDA dbscan kernels: the same operation and arguments as cpp/dbscan.hpp, on device
// pointers, on the stream of cuda/gpu_blas.cuh. `n_threads` is accepted so the bindings are
// identical; the GPU ignores it.
#pragma once
#include <cstdint>

#include "dbscan.hpp"  // cpp/: Metric

namespace tl::cuda::dbscan {

using ::tl::dbscan::Metric;
using ::tl::dbscan::parse_metric;

template <class T>
void dbscan(const T* X, int64_t n, int64_t d, double eps, double min_samples, const double* weight,
            Metric metric, int64_t* labels, uint8_t* core, int n_threads);

}  // namespace tl::cuda::dbscan
