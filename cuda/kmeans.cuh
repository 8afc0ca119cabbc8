// The CUDA k-means kernels: the same operations and arguments as cpp/kmeans.hpp, on device
// pointers, on the stream of cuda/gpu_blas.cuh. Each call returns its Assignment to the host
// (one small copy and a stream synchronisation). `n_threads` is accepted so the bindings are
// identical; the GPU ignores it.
#pragma once
#include <cstdint>

#include "kmeans.hpp"  // cpp/: Assignment

namespace tl::cuda::kmeans {

using ::tl::kmeans::Assignment;

template <class T>
void row_sqnorms(const T* X, int64_t n, int64_t d, T* out, int n_threads);

template <class T>
void plusplus_distances(const double* G, int64_t m, int64_t n, const double* xx,
                        const double* yy, const T* closest, T* out, int n_threads);

template <class T>
Assignment assign(const T* X, const T* x_sqnorms, const T* sample_weight, int64_t n, int64_t d,
                  const T* centers, int64_t k, int32_t* labels, bool exact, int n_threads);

template <class T>
Assignment lloyd_iter(const T* X, const T* x_sqnorms, const T* sample_weight, int64_t n,
                      int64_t d, const T* centers_old, int64_t k, T* centers_new,
                      T* weight_in_clusters, int32_t* labels, T* center_shift, int n_threads);

template <class T>
Assignment minibatch_step(const T* X, const T* sample_weight, int64_t n, int64_t d,
                          const T* centers_old, int64_t k, T* centers_new, T* weight_sums,
                          int32_t* labels, int n_threads);

}  // namespace tl::cuda::kmeans
