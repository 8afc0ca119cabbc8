// SIMD level selection: kernels are compiled once per level (baseline x86-64, AVX2+FMA,
// AVX-512) and the best one the CPU supports is chosen at run time.
#pragma once
#include <string>

namespace tl::isa {

enum class Level { baseline = 0, avx2 = 1, avx512 = 2 };

Level detected();                      // the best level this CPU supports
Level active();                        // the level kernels use now
void set_active(Level level);          // throws std::invalid_argument if unsupported
const char* name(Level level);
Level parse(const std::string& name);  // throws std::invalid_argument on an unknown name

}  // namespace tl::isa

// In an op family's namespace, after its `template <class T> struct Kernels` and
// `template <class T> const Kernels<T>& kernels();`: defines kernels<float>() and
// kernels<double>() as the tables of the active level, which each level's `<family>_isa.cpp`
// defines as kernels_f32() / kernels_f64() in namespace baseline, avx2 or avx512.
#define TL_ISA_KERNELS_DISPATCH()                                                           \
  namespace baseline {                                                                      \
  const Kernels<float>& kernels_f32();                                                      \
  const Kernels<double>& kernels_f64();                                                     \
  }                                                                                         \
  namespace avx2 {                                                                          \
  const Kernels<float>& kernels_f32();                                                      \
  const Kernels<double>& kernels_f64();                                                     \
  }                                                                                         \
  namespace avx512 {                                                                        \
  const Kernels<float>& kernels_f32();                                                      \
  const Kernels<double>& kernels_f64();                                                     \
  }                                                                                         \
  template <>                                                                               \
  const Kernels<float>& kernels<float>() {                                                  \
    switch (::tl::isa::active()) {                                                          \
      case ::tl::isa::Level::avx512: return avx512::kernels_f32();                          \
      case ::tl::isa::Level::avx2: return avx2::kernels_f32();                              \
      default: return baseline::kernels_f32();                                              \
    }                                                                                       \
  }                                                                                         \
  template <>                                                                               \
  const Kernels<double>& kernels<double>() {                                                \
    switch (::tl::isa::active()) {                                                          \
      case ::tl::isa::Level::avx512: return avx512::kernels_f64();                          \
      case ::tl::isa::Level::avx2: return avx2::kernels_f64();                              \
      default: return baseline::kernels_f64();                                              \
    }                                                                                       \
  }
