// One thread count for the whole library: OpenMP's, so threadpoolctl sees and limits it.
#pragma once

namespace tl::threads {

int get();         // omp_get_max_threads()
void set(int n);   // omp_set_num_threads(n)
// The count a kernel uses: `requested` if positive, else the library count; one thread when
// `work` (multiply-adds, or element operations) is too small to pay for waking a team.
int resolve(int requested, double work);

// The work of one value of a memory-bound element-wise pass (the dense and conv2d epilogues
// and deltas, softmax_xent, the optimizer updates), at every activation: about 100k values
// take two threads. A relu delta of 32 x 28 x 28 x 64 values takes 1.1 ms on one thread, 0.6
// on two. The passes follow GEMMs run on our own OpenMP team (blas::parallel_gemm), whose
// threads are ready; when the BLAS ran its own threads, their spinning workers had made a
// second team slower than one thread, and these passes were costed 16x lower.
constexpr double kValueCost = 10;

}  // namespace tl::threads
