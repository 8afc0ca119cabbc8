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
