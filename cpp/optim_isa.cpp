// The loops of the optim kernels, compiled once per SIMD level (CMake passes
// -DTL_ISA_NS=baseline|avx2|avx512 with the matching -m flags). The element update is the
// shared one of optim.hpp; with R and F fixed at compile time each loop is a straight
// element-wise loop the compiler vectorises (sqrt and max included; Ftrl's pow stays scalar).
#include <cstdint>

#include "optim.hpp"

namespace tl::optim::TL_ISA_NS {
namespace {

template <class T>
void update(const Step<T>& s, const Tensor<T>& t, int64_t begin, int64_t end) {
  T* __restrict__ p = t.param;
  const T* __restrict__ g = t.grad;
  T* __restrict__ s0 = t.slot[0];
  T* __restrict__ s1 = t.slot[1];
  T* __restrict__ s2 = t.slot[2];
  const T scale = t.scale, decay = t.decay;
  dispatch(s.rule, s.flags, [&]<int R, int F>() {
    const Step<T> st = s;  // a local copy: its fields are loop invariants
    for (int64_t i = begin; i < end; ++i) element<R, F>(st, p, g, s0, s1, s2, scale, decay, i);
  });
}

template <class T>
constexpr Kernels<T> table{update<T>};

}  // namespace

const Kernels<float>& kernels_f32() { return table<float>; }
const Kernels<double>& kernels_f64() { return table<double>; }

}  // namespace tl::optim::TL_ISA_NS
