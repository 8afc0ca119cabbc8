// Pairwise distances between the rows of two matrices, and the fused k-smallest (argkmin)
// that never materialises the whole query x data matrix. Row-major, float or double.
#pragma once
#include <cstdint>
#include <string>

namespace tl::distance {

enum class Metric { sqeuclidean, euclidean, cosine, manhattan };

Metric parse_metric(const std::string& name);  // throws std::invalid_argument

// out (m x n) = distances between X (m x d) and Y (n x d). `same` says Y is X: the diagonal
// is then exactly zero.
template <class T>
void pairwise_distances(const T* X, int64_t m, const T* Y, int64_t n, int64_t d, Metric metric,
                        bool same, T* out, int n_threads);

// dist, idx (m x k): the k smallest distances of each row of X to the rows of Y, ascending,
// ties broken by the lower index. `same` says Y is X: each row's self-distance is exactly 0.
template <class T>
void argkmin(const T* X, int64_t m, const T* Y, int64_t n, int64_t d, int64_t k, Metric metric,
             bool same, T* dist, int64_t* idx, int n_threads);

// The inner loops compiled once per SIMD level (distance_isa.cpp), chosen at run time.
// Tiles are row-major blocks of `rows` query rows against `cols` data rows, leading dim `ld`.
// `xaux`/`yaux` are the per-row terms of the GEMM-based metrics: squared norms (euclidean),
// inverse norms (cosine).
template <class T>
struct Kernels {
  // Turns a tile of dot products into distances in place.
  void (*finish_tile)(T* tile, int64_t rows, int64_t cols, int64_t ld, const T* xaux,
                      const T* yaux, Metric metric);
  // Manhattan distances of X rows against Y given transposed (yt: d x ldy, columns are rows of Y).
  void (*manhattan_tile)(const T* X, int64_t rows, const T* yt, int64_t ldy, int64_t cols,
                         int64_t d, T* out, int64_t ld);
  // Merges a tile into each row's running k smallest (best_d/best_i rows of length k, `count`
  // entries valid). The tile holds dot products (GEMM metrics) or distances (manhattan);
  // `j0` is the global index of column 0 and `self0` that of row 0's own column (or -1).
  void (*scan_topk)(const T* tile, int64_t rows, int64_t cols, int64_t ld, const T* xaux,
                    const T* yaux, Metric metric, int64_t j0, int64_t self0, int64_t k, T* best_d,
                    int64_t* best_i, int64_t* count);
};

template <class T>
const Kernels<T>& kernels();  // for the active SIMD level

// Explicit instantiation of the two entry points, for the CPU and the CUDA implementations
// (each in its own namespace) of the signatures above.
#define TL_INSTANTIATE_DISTANCE(T)                                                             \
  template void pairwise_distances<T>(const T*, int64_t, const T*, int64_t, int64_t, Metric,   \
                                      bool, T*, int);                                          \
  template void argkmin<T>(const T*, int64_t, const T*, int64_t, int64_t, int64_t, Metric,     \
                           bool, T*, int64_t*, int);

}  // namespace tl::distance
