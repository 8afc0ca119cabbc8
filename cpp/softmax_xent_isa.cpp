// The inner loops of the softmax_xent kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags). No std:: templates are
// instantiated here; exp and log are the C library's, per element (k is the number of
// classes: the row loops are short, and the max and sums vectorise).
#include <math.h>

#include <cstdint>

#include "simd.hpp"
#include "softmax_xent.hpp"

namespace tl::softmax_xent::TL_ISA_NS {
namespace {

inline float c_exp(float x) { return expf(x); }
inline double c_exp(double x) { return exp(x); }
inline float c_log(float x) { return logf(x); }
inline double c_log(double x) { return log(x); }

template <class T>
T row_max(const T* z, int64_t k) {
  using V = ::tl::TL_ISA_NS::simd::Vec<T>;
  T m = z[0];
  int64_t j = 0;
  if (k >= V::width) {
    V vm = V::load(z);
    for (j = V::width; j + V::width <= k; j += V::width) vm = max(V::load(z + j), vm);
    // hmin of the negation is the max: keep to the Vec interface.
    m = -hmin(V::set1(T(0)) - vm);
  }
  for (; j < k; ++j) m = z[j] > m ? z[j] : m;
  return m;
}

template <class T>
int64_t forward_rows(const T* logits, int64_t rows, int64_t k, const int64_t* sparse,
                     const T* dense, T* loss, T* probs) {
  int64_t bad = -1;
  for (int64_t r = 0; r < rows; ++r) {
    const T* z = logits + r * k;
    T* p = probs + r * k;
    const T m = row_max(z, k);
    T s = 0;
    for (int64_t j = 0; j < k; ++j) {
      const T e = c_exp(z[j] - m);
      p[j] = e;
      s += e;
    }
    const T inv = T(1) / s;
    for (int64_t j = 0; j < k; ++j) p[j] *= inv;
    const T lse = m + c_log(s);
    if (sparse) {
      const int64_t c = sparse[r];
      if (c < 0 || c >= k) {
        if (bad < 0) bad = r;
        loss[r] = static_cast<T>(__builtin_nan(""));
      } else {
        loss[r] = lse - z[c];
      }
    } else {
      const T* y = dense + r * k;
      T l = 0;
      for (int64_t j = 0; j < k; ++j) l += y[j] * (lse - z[j]);
      loss[r] = l;
    }
  }
  return bad;
}

template <class T>
int64_t backward_rows(const T* probs, int64_t rows, int64_t k, const int64_t* sparse,
                      const T* dense, const T* grad_loss, T* dlogits) {
  int64_t bad = -1;
  for (int64_t r = 0; r < rows; ++r) {
    const T* p = probs + r * k;
    T* d = dlogits + r * k;
    const T g = grad_loss[r];
    if (sparse) {
      for (int64_t j = 0; j < k; ++j) d[j] = p[j] * g;
      const int64_t c = sparse[r];
      if (c < 0 || c >= k) {
        if (bad < 0) bad = r;
      } else {
        d[c] = (p[c] - T(1)) * g;
      }
    } else {
      const T* y = dense + r * k;
      T total = 0;
      for (int64_t j = 0; j < k; ++j) total += y[j];
      for (int64_t j = 0; j < k; ++j) d[j] = (p[j] * total - y[j]) * g;
    }
  }
  return bad;
}

template <class T>
constexpr Kernels<T> table{forward_rows<T>, backward_rows<T>};

}  // namespace

const Kernels<float>& kernels_f32() { return table<float>; }
const Kernels<double>& kernels_f64() { return table<double>; }

}  // namespace tl::softmax_xent::TL_ISA_NS
