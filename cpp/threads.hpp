// One thread count for the whole library: OpenMP's, so threadpoolctl sees and limits it.
#pragma once

namespace tl::threads {

int get();         // omp_get_max_threads()
void set(int n);   // omp_set_num_threads(n)
// The count a kernel uses: `requested` if positive, else the library count; one thread when
// `work` (multiply-adds, or element operations) is too small to pay for waking a team.
int resolve(int requested, double work);

}  // namespace tl::threads
