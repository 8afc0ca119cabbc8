#include "isa.hpp"

#include <atomic>
#include <cstdlib>
#include <stdexcept>

namespace tl::isa {

Level detected() {
#if defined(__x86_64__) || defined(_M_X64)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
    return Level::avx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Level::avx2;
#endif
  return Level::baseline;
}

namespace {
// TURBOLEARN_SIMD=baseline|avx2|avx512 caps the level (for tests and comparisons).
Level initial() {
  const Level best = detected();
  const char* env = std::getenv("TURBOLEARN_SIMD");
  if (env == nullptr || *env == '\0') return best;
  const Level want = parse(env);
  return want < best ? want : best;
}
std::atomic<Level>& current() {
  static std::atomic<Level> level{initial()};
  return level;
}
}  // namespace

Level active() { return current().load(std::memory_order_relaxed); }

void set_active(Level level) {
  if (level > detected())
    throw std::invalid_argument(std::string("SIMD level '") + name(level) +
                                "' is not supported by this CPU (best: " + name(detected()) + ")");
  current().store(level, std::memory_order_relaxed);
}

const char* name(Level level) {
  switch (level) {
    case Level::avx512: return "avx512";
    case Level::avx2: return "avx2";
    default: return "baseline";
  }
}

Level parse(const std::string& s) {
  if (s == "avx512") return Level::avx512;
  if (s == "avx2") return Level::avx2;
  if (s == "baseline") return Level::baseline;
  throw std::invalid_argument("unknown SIMD level '" + s + "' (expected baseline, avx2 or avx512)");
}

}  // namespace tl::isa
