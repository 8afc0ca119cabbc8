#include "threads.hpp"

#include <omp.h>

namespace tl::threads {

int get() { return omp_get_max_threads(); }
void set(int n) { omp_set_num_threads(n); }
int resolve(int requested) { return requested > 0 ? requested : get(); }

}  // namespace tl::threads
