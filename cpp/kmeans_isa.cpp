// The inner loops of the k-means kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags). Like distance_isa.cpp, no std::
// templates are instantiated here, so no per-level copy of a shared inline function can be
// picked by the linker for another level.
#include <cstdint>

#include "kmeans.hpp"
#include "simd.hpp"

namespace tl::kmeans::TL_ISA_NS {
namespace {

// A row's result: its label (counting a change) and, with squared norms, its weighted
// inertia term max(0, ||x||^2 + min_j (||c_j||^2 - 2 x.c_j)).
template <class T>
struct RowSink {
  const T* xn;
  const T* w;
  int32_t* labels;
  double inertia = 0;
  int64_t changed = 0;
  void put(int64_t r, T b, int32_t lab) {
    changed += labels[r] != lab;
    labels[r] = lab;
    if (xn) {
      const T sq = b + xn[r];
      inertia += static_cast<double>(w[r]) * static_cast<double>(sq > T(0) ? sq : T(0));
    }
  }
};

// The argmin scan works along the rows of a samples x centres tile of ||c_j||^2 - 2 x.c_j
// (the GEMM adds -2 x.c_j to rows filled with the centre norms, as scikit-learn's does; that
// orientation packs only the centres and runs faster). Per row, groups of G vectors of
// centres: their exact minimum, and the first lane equal to it; a group replaces the running
// best only when strictly smaller. So ties keep the lower centre index, as scikit-learn's
// scalar loop does.
template <class T>
void argmin_rows(const T* tile, int64_t rows, int64_t k, int64_t ld, const T* xn, const T* w,
                 int32_t* labels, double* inertia, int64_t* changed) {
  using V = ::tl::TL_ISA_NS::simd::Vec<T>;
  RowSink<T> sink{xn, w, labels};
  constexpr int W = V::width, G = 4;  // G * W centres per group (64 floats with AVX-512)
  for (int64_t r = 0; r < rows; ++r) {
    const T* g = tile + r * ld;
    T b = static_cast<T>(__builtin_inf());
    int32_t lab = 0;
    for (int64_t j0 = 0; j0 < k; j0 += G * W) {
      V v[G];
      for (int u = 0; u < G; ++u) v[u] = V::load_first(g + j0 + u * W, k - j0 - u * W);
      V m = v[0];
      for (int u = 1; u < G; ++u) m = min(m, v[u]);
      const T gm = hmin(m);
      if (gm < b) {
        uint64_t bits = 0;
        for (int u = 0; u < G; ++u) bits |= static_cast<uint64_t>(eq_mask(v[u], V::set1(gm))) << (u * W);
        if (bits != 0) {  // (always, for finite input)
          b = gm;
          lab = static_cast<int32_t>(j0 + __builtin_ctzll(bits));
        }
      }
    }
    sink.put(r, b, lab);
  }
  *inertia = sink.inertia;
  *changed = sink.changed;
}

// With `scratch` (k x d, in T), the block's sums are first taken in T, which halves the
// work per sample for float, then added to the double sums once per block.
template <class T>
void accumulate(const T* X, int64_t rows, int64_t d, const T* w, const int32_t* label,
                double* sums, double* wsum, T* scratch, int64_t k) {
  if (scratch != nullptr) {
    for (int64_t e = 0; e < k * d; ++e) scratch[e] = 0;
    for (int64_t i = 0; i < rows; ++i) {
      const T wi = w[i];
      const T* x = X + i * d;
      T* s = scratch + static_cast<int64_t>(label[i]) * d;
      for (int64_t f = 0; f < d; ++f) s[f] += wi * x[f];
      wsum[label[i]] += static_cast<double>(wi);
    }
    for (int64_t e = 0; e < k * d; ++e) sums[e] += static_cast<double>(scratch[e]);
    return;
  }
  for (int64_t i = 0; i < rows; ++i) {
    const double wi = w[i];
    const T* x = X + i * d;
    double* s = sums + static_cast<int64_t>(label[i]) * d;
    for (int64_t f = 0; f < d; ++f) s[f] += wi * static_cast<double>(x[f]);
    wsum[label[i]] += wi;
  }
}

// Sums of squares with eight independent partial sums, which the compiler turns into SIMD
// lanes (a single running sum would be a chain of dependent adds).
template <class T, class F>
inline T sum_squares(int64_t d, F term) {
  T acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t f = 0;
  for (; f + 8 <= d; f += 8)
    for (int l = 0; l < 8; ++l) {
      const T t = term(f + l);
      acc[l] += t * t;
    }
  T s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
  for (; f < d; ++f) {
    const T t = term(f);
    s += t * t;
  }
  return s;
}

template <class T>
void sq_dist_assigned(const T* X, int64_t rows, int64_t d, const T* C, const int32_t* label,
                      T* out) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* x = X + i * d;
    const T* c = C + static_cast<int64_t>(label[i]) * d;
    out[i] = sum_squares<T>(d, [&](int64_t f) { return x[f] - c[f]; });
  }
}

// Every row of the tile starts as the centre norms (the GEMM then adds -2 x.c). An explicit
// loop: a memcpy call per short row costs more than the copy.
template <class T>
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void fill_rows(
    T* tile, int64_t rows, int64_t k, int64_t ld, const T* cn) {
  for (int64_t r = 0; r < rows; ++r) {
    T* row = tile + r * ld;
    for (int64_t j = 0; j < k; ++j) row[j] = cn[j];
  }
}

template <class T>
void sq_norms(const T* X, int64_t rows, int64_t d, T* out) {
  for (int64_t i = 0; i < rows; ++i) {
    const T* x = X + i * d;
    out[i] = sum_squares<T>(d, [&](int64_t f) { return x[f]; });
  }
}

template <class T>
constexpr Kernels<T> table{argmin_rows<T>, accumulate<T>, sq_dist_assigned<T>, sq_norms<T>,
                           fill_rows<T>};

}  // namespace

const Kernels<float>& kernels_f32() { return table<float>; }
const Kernels<double>& kernels_f64() { return table<double>; }

}  // namespace tl::kmeans::TL_ISA_NS
