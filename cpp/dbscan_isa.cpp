// The inner loop of the dbscan kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags): the distances from one point
// to a run of candidates, in double, vectorised across candidates (the grid stores its points
// feature-major for this). No std:: templates are instantiated here (see distance_isa.cpp).
#include <cmath>

#include "dbscan.hpp"
#include "simd.hpp"

namespace tl::dbscan::TL_ISA_NS {
namespace {

using ::tl::TL_ISA_NS::simd::Vec;

// Sum over features of the squared (euclidean) or absolute (manhattan) differences between x
// and the candidates at rows [r, r + width), in feature order, as scikit-learn's trees sum.
template <class V>
V distance(const double* coords, int64_t ld, int64_t r, const double* x, int64_t d, Metric metric) {
  V s = V::set1(0);
  for (int64_t f = 0; f < d; ++f) {
    const V diff = V::load(coords + f * ld + r) - V::set1(x[f]);
    s = s + (metric == Metric::euclidean ? diff * diff : max(diff, V::set1(0) - diff));
  }
  return s;
}

int64_t scan(const double* coords, int64_t ld, int64_t begin, int64_t end, const double* x,
             int64_t d, double eps, Metric metric, int64_t* hits) {
  // s <= bound  <=>  s < the next double above it: the vector type only has a strict compare.
  const double bound = metric == Metric::euclidean ? eps * eps : eps;
  const double above = std::nextafter(bound, INFINITY);
  using V = Vec<double>;
  static_assert(V::width <= kScanPadding);
  int64_t count = 0;
  for (int64_t r = begin; r < end; r += V::width) {  // the last step reads into the padding
    uint32_t mask = lt_mask(distance<V>(coords, ld, r, x, d, metric), V::set1(above));
    if (end - r < V::width) mask &= (1u << (end - r)) - 1;
    if (!hits) count += __builtin_popcount(mask);
    for (; hits && mask; mask &= mask - 1) hits[count++] = r + __builtin_ctz(mask);
  }
  return count;
}

}  // namespace

ScanFn scan_kernel() { return scan; }

}  // namespace tl::dbscan::TL_ISA_NS
