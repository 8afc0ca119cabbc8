#include "threads.hpp"

#include <omp.h>

namespace tl::threads {

int get() { return omp_get_max_threads(); }
void set(int n) { omp_set_num_threads(n); }
int resolve(int requested, double work) {
  constexpr double kMinParallelWork = 1 << 20;  // ~10 us of one core: a team costs about that
  if (work < kMinParallelWork) return 1;
  return requested > 0 ? requested : get();
}

}  // namespace tl::threads
