// DBSCAN clustering with scikit-learn's labels, in O(n) memory: radius-neighbour counts mark
// the core points, a lock-free union-find joins core points within eps, and each border point
// takes the smallest cluster label among its core neighbours. Row-major, float or double.
#pragma once
#include <cstdint>
#include <string>

namespace tl::dbscan {

enum class Metric { euclidean, manhattan };

Metric parse_metric(const std::string& name);  // throws std::invalid_argument

// labels (n): clusters numbered in order of their lowest-index core point, a border point in
// the first cluster that reaches it, -1 for noise (scikit-learn's dbscan_inner); core (n): 1
// for core points, whose eps-neighbourhood (themselves included, distance <= eps) weighs at
// least min_samples. `weight` (n, or null for all ones) is the sample weight.
template <class T>
void dbscan(const T* X, int64_t n, int64_t d, double eps, double min_samples, const double* weight,
            Metric metric, int64_t* labels, uint8_t* core, int n_threads);

// The inner loop, compiled once per SIMD level (dbscan_isa.cpp) and chosen at run time:
// writes to `hits` the rows r in [begin, end) of a feature-major block (feature f of row r at
// coords[f * ld + r]) whose distance to x (d features) is at most eps; returns their count
// (and only counts them when `hits` is null).
// Distances are summed in double in feature order, as scikit-learn's trees do. The scan may
// read (and ignore) up to kScanPadding doubles past a feature's run: pad the buffer's end.
constexpr int64_t kScanPadding = 8;
using ScanFn = int64_t (*)(const double* coords, int64_t ld, int64_t begin, int64_t end,
                           const double* x, int64_t d, double eps, Metric metric, int64_t* hits);
ScanFn scan_kernel();  // for the active SIMD level

}  // namespace tl::dbscan
