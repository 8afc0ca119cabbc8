// The inner loops of the distance kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags). No std:: templates are
// instantiated here: a per-level copy of a shared inline function could be picked by the
// linker for every level and run AVX-512 code on a CPU without it.
#include <cmath>
#include <limits>

#include "distance.hpp"
#include "simd.hpp"

namespace tl::distance::TL_ISA_NS {
namespace {

using ::tl::TL_ISA_NS::simd::Scalar;
using ::tl::TL_ISA_NS::simd::Vec;

// Metric epilogues on a dot product g: xa, ya are the rows' auxiliary terms. The clamp bound
// is the first operand: max/min return the second when one is NaN, so NaN input stays NaN.
struct SqEuclidean {  // xa, ya: squared norms; round-off below zero clamps to 0
  template <class V>
  V operator()(V g, V xa, V ya) const {
    return max(V::set1(0), (xa + ya) - (g + g));
  }
};
struct Cosine {  // xa, ya: inverse norms (0 for a zero row, whose distance is then 1)
  template <class V>
  V operator()(V g, V xa, V ya) const {
    return min(V::set1(2), max(V::set1(0), V::set1(1) - g * xa * ya));
  }
};
struct Identity {  // the tile already holds distances (manhattan)
  template <class V>
  V operator()(V g, V, V) const {
    return g;
  }
};

template <class T>
inline bool before(T da, int64_t ia, T db, int64_t ib) {
  return da < db || (da == db && ia < ib);
}

// Inserts (v, j) into a row's ascending list of the k smallest (count entries valid).
template <class T>
inline void insert(T v, int64_t j, int64_t k, T* bd, int64_t* bi, int64_t& count) {
  int64_t pos;
  if (count == k) {
    if (!before(v, j, bd[k - 1], bi[k - 1])) return;
    pos = k - 1;
  } else {
    pos = count++;
  }
  for (; pos > 0 && before(v, j, bd[pos - 1], bi[pos - 1]); --pos) {
    bd[pos] = bd[pos - 1];
    bi[pos] = bi[pos - 1];
  }
  bd[pos] = v;
  bi[pos] = j;
}

template <class T>
inline T threshold(const T* bd, int64_t k, int64_t count) {
  return count < k ? std::numeric_limits<T>::infinity() : bd[k - 1];
}

// Scans columns [begin, end) of one tile row in ascending order: a vector compare against the
// current k-th distance, and the scalar insert only for the rare lanes below it. Ascending
// order is what makes the strict compare break ties by the lower index.
template <class T, class F>
void scan_row(const T* g, const T* ya, int64_t begin, int64_t end, T xa, F f, int64_t j0,
              int64_t k, T* bd, int64_t* bi, int64_t& count) {
  using V = Vec<T>;
  constexpr int W = V::width;
  T thr = threshold(bd, k, count);
  const V xv = V::set1(xa);
  alignas(64) T lane[W];
  int64_t j = begin;
  for (; j + W <= end; j += W) {
    const V v = f(V::load(g + j), xv, V::load(ya + j));
    uint32_t mask = lt_mask(v, V::set1(thr));
    if (mask == 0) continue;
    v.store(lane);
    for (; mask != 0; mask &= mask - 1) {
      const int l = __builtin_ctz(mask);
      insert(lane[l], j0 + j + l, k, bd, bi, count);
    }
    thr = threshold(bd, k, count);
  }
  for (; j < end; ++j) {
    const T v = f(Scalar<T>{g[j]}, Scalar<T>{xa}, Scalar<T>{ya[j]}).v;
    if (v < thr) {
      insert(v, j0 + j, k, bd, bi, count);
      thr = threshold(bd, k, count);
    }
  }
}

template <class T, class F>
void scan_tile(const T* tile, int64_t rows, int64_t cols, int64_t ld, const T* xaux,
               const T* yaux, F f, int64_t j0, int64_t self0, int64_t k, T* best_d,
               int64_t* best_i, int64_t* count) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* g = tile + r * ld;
    const T xa = xaux ? xaux[r] : T(0);
    const T* ya = yaux ? yaux : g;  // Identity ignores it; any readable row will do
    T* bd = best_d + r * k;
    int64_t* bi = best_i + r * k;
    const int64_t self = self0 >= 0 ? self0 + r - j0 : -1;
    if (self >= 0 && self < cols) {  // a point's distance to itself is exactly zero
      scan_row(g, ya, 0, self, xa, f, j0, k, bd, bi, count[r]);
      insert(T(0), j0 + self, k, bd, bi, count[r]);
      scan_row(g, ya, self + 1, cols, xa, f, j0, k, bd, bi, count[r]);
    } else {
      scan_row(g, ya, 0, cols, xa, f, j0, k, bd, bi, count[r]);
    }
  }
}

template <class T>
void scan_topk(const T* tile, int64_t rows, int64_t cols, int64_t ld, const T* xaux,
               const T* yaux, Metric metric, int64_t j0, int64_t self0, int64_t k, T* best_d,
               int64_t* best_i, int64_t* count) {
  switch (metric) {
    case Metric::sqeuclidean:
    case Metric::euclidean:  // ranked on squared distances; the caller takes the root
      return scan_tile(tile, rows, cols, ld, xaux, yaux, SqEuclidean{}, j0, self0, k, best_d,
                       best_i, count);
    case Metric::cosine:
      return scan_tile(tile, rows, cols, ld, xaux, yaux, Cosine{}, j0, self0, k, best_d, best_i,
                       count);
    case Metric::manhattan:
      return scan_tile(tile, rows, cols, ld, xaux, yaux, Identity{}, j0, self0, k, best_d,
                       best_i, count);
  }
}

template <class T, class F>
void finish_rows(T* tile, int64_t rows, int64_t cols, int64_t ld, const T* xaux, const T* yaux,
                 F f) {
  using V = Vec<T>;
  constexpr int W = V::width;
  for (int64_t r = 0; r < rows; ++r) {
    T* g = tile + r * ld;
    const V xv = V::set1(xaux[r]);
    int64_t j = 0;
    for (; j + W <= cols; j += W) f(V::load(g + j), xv, V::load(yaux + j)).store(g + j);
    for (; j < cols; ++j) g[j] = f(Scalar<T>{g[j]}, Scalar<T>{xaux[r]}, Scalar<T>{yaux[j]}).v;
  }
}

template <class T>
void finish_tile(T* tile, int64_t rows, int64_t cols, int64_t ld, const T* xaux, const T* yaux,
                 Metric metric) {
  if (metric == Metric::cosine) return finish_rows(tile, rows, cols, ld, xaux, yaux, Cosine{});
  finish_rows(tile, rows, cols, ld, xaux, yaux, SqEuclidean{});
  if (metric == Metric::euclidean)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < cols; ++j) tile[r * ld + j] = std::sqrt(tile[r * ld + j]);
}

// Vectorised across data rows (yt is Y transposed), so no float reduction needs reordering
// and the sum runs over features in order, as scikit-learn's does.
template <class T>
void manhattan_tile(const T* X, int64_t rows, const T* yt, int64_t ldy, int64_t cols, int64_t d,
                    T* out, int64_t ld) {
  for (int64_t r = 0; r < rows; ++r) {
    T* o = out + r * ld;
    const T* x = X + r * d;
    for (int64_t j = 0; j < cols; ++j) o[j] = 0;
    for (int64_t f = 0; f < d; ++f) {
      const T xf = x[f];
      const T* y = yt + f * ldy;
      for (int64_t j = 0; j < cols; ++j) o[j] += std::fabs(xf - y[j]);
    }
  }
}

template <class T>
constexpr Kernels<T> table{finish_tile<T>, manhattan_tile<T>, scan_topk<T>};

}  // namespace

template <class T>
const Kernels<T>& isa_kernels() {
  return table<T>;
}
template const Kernels<float>& isa_kernels<float>();
template const Kernels<double>& isa_kernels<double>();

}  // namespace tl::distance::TL_ISA_NS
