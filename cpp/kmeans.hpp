// The k-means op family: the fused assignment step (GEMM of a sample block against the
// centres into a tile that stays in L2, then the argmin and the weighted inertia, never the
// whole n x k distance matrix), one whole Lloyd iteration, and the mini-batch update.
// Row-major, float or double; labels are int32 (scikit-learn's).
#pragma once
#include <cstdint>

namespace tl::kmeans {

// What an assignment pass reports: the weighted inertia (accumulated in double) and how many
// labels differ from the ones the labels array held on entry.
struct Assignment {
  double inertia = 0;
  int64_t n_changed = 0;
};

// out[i] = ||X[i]||^2, once per fit; the assignment kernels reuse it every iteration.
template <class T>
void row_sqnorms(const T* X, int64_t n, int64_t d, T* out, int n_threads);

// E-step: labels[i] = argmin_j ||X[i] - C[j]||^2 (ties to the lower j), ranked on
// ||C[j]||^2 - 2 X[i].C[j] as scikit-learn ranks them. The inertia is
// sum_i w[i] * max(0, ||X[i]||^2 + ||C[j]||^2 - 2 X[i].C[j]) from the tile (x_sqnorms needed),
// or with `exact` sum_i w[i] * ||X[i] - C[labels[i]]||^2 recomputed from differences
// (x_sqnorms may be null). `labels` holds the previous labels on entry (any values).
template <class T>
Assignment assign(const T* X, const T* x_sqnorms, const T* sample_weight, int64_t n, int64_t d,
                  const T* centers, int64_t k, int32_t* labels, bool exact, int n_threads);

// One Lloyd iteration (scikit-learn's lloyd_iter_chunked_dense): assignment against
// centers_old, per-thread weighted sums reduced in a fixed order, empty clusters relocated to
// the points farthest from their centres (_relocate_empty_clusters_dense), averaging, and
// center_shift[j] = ||centers_new[j] - centers_old[j]||. weight_in_clusters (k) is an output.
template <class T>
Assignment lloyd_iter(const T* X, const T* x_sqnorms, const T* sample_weight, int64_t n,
                      int64_t d, const T* centers_old, int64_t k, T* centers_new,
                      T* weight_in_clusters, int32_t* labels, T* center_shift, int n_threads);

// The mini-batch step of scikit-learn's MiniBatchKMeans (_mini_batch_step without the random
// reassignment): assignment of the batch with the exact inertia, then each centre that got
// samples moves to the weighted mean of its old position (weight weight_sums[j]) and its new
// samples; weight_sums grows by their weight. centers_new may be centers_old (in place).
template <class T>
Assignment minibatch_step(const T* X, const T* sample_weight, int64_t n, int64_t d,
                          const T* centers_old, int64_t k, T* centers_new, T* weight_sums,
                          int32_t* labels, int n_threads);

// The distances of k-means++ candidates, finished from their float64 dot products G (m x n)
// with every sample in scikit-learn's operations and order, so the values are its own:
// out[i][j] = min(closest[j], max(T((-2 G[i][j] + xx[i]) + yy[j]), 0)), NaN kept as NumPy's
// minimum/maximum keep it; without closest (null), no min.
template <class T>
void plusplus_distances(const double* G, int64_t m, int64_t n, const double* xx,
                        const double* yy, const T* closest, T* out, int n_threads);

// The inner loops, compiled once per SIMD level (kmeans_isa.cpp) and chosen at run time.
template <class T>
struct Kernels {
  // tile: rows (samples) x k (centres), leading dimension ld, of ||c_j||^2 - 2 x_r.c_j.
  // labels[r] = argmin_j tile[r][j] (the first j on ties); *changed = how many differ from
  // the values held on entry; with xn (squared norms of the rows), *inertia =
  // sum_r w[r] * max(0, xn[r] + min_j tile[r][j]), else 0.
  void (*argmin_rows)(const T* tile, int64_t rows, int64_t k, int64_t ld, const T* xn,
                      const T* w, int32_t* labels, double* inertia, int64_t* changed);
  // sums[label[i]] += w[i] * X[i], wsum[label[i]] += w[i] for the rows of X (double sums);
  // with scratch (k x d), the rows are summed in T first (for float; the caller checks that
  // k * d is small next to rows * d).
  void (*accumulate)(const T* X, int64_t rows, int64_t d, const T* w, const int32_t* label,
                     double* sums, double* wsum, T* scratch, int64_t k);
  // out[i] = ||X[i] - C[label[i]]||^2, summed over features in order.
  void (*sq_dist_assigned)(const T* X, int64_t rows, int64_t d, const T* C, const int32_t* label,
                           T* out);
  // out[i] = ||X[i]||^2.
  void (*sq_norms)(const T* X, int64_t rows, int64_t d, T* out);
  // Each of the rows of tile (leading dimension ld) = cn (k values).
  void (*fill_rows)(T* tile, int64_t rows, int64_t k, int64_t ld, const T* cn);
};

template <class T>
const Kernels<T>& kernels();  // for the active SIMD level

// Explicit instantiation of the entry points above, for the CPU and the CUDA implementations
// (each in its own namespace).
#define TL_INSTANTIATE_KMEANS(T)                                                                 \
  template void plusplus_distances<T>(const double*, int64_t, int64_t, const double*,            \
                                      const double*, const T*, T*, int);                         \
  template void row_sqnorms<T>(const T*, int64_t, int64_t, T*, int);                             \
  template Assignment assign<T>(const T*, const T*, const T*, int64_t, int64_t, const T*,        \
                                int64_t, int32_t*, bool, int);                                   \
  template Assignment lloyd_iter<T>(const T*, const T*, const T*, int64_t, int64_t, const T*,    \
                                    int64_t, T*, T*, int32_t*, T*, int);                         \
  template Assignment minibatch_step<T>(const T*, const T*, int64_t, int64_t, const T*, int64_t, \
                                        T*, T*, int32_t*, int);

}  // namespace tl::kmeans
