#include "optim.hpp"

#include <algorithm>
#include <stdexcept>

#include "isa.hpp"
#include "threads.hpp"

namespace tl::optim {

TL_ISA_KERNELS_DISPATCH()

template <class T>
void update(const Step<T>& step, const Tensor<T>* tensors, int64_t count, int n_threads) {
  if (slot_count(step.rule, step.flags) < 0)
    throw std::invalid_argument("optim: invalid rule or flags");
  const Kernels<T>& kern = kernels<T>();
  // An update reads and writes a few arrays once: memory-bound, ten work units per element
  // (as the dense and conv2d element-wise passes, dense::kValueCost), so tensors from ~100k
  // elements take two threads. The dense and conv GEMMs before it run on our OpenMP team (blas::parallel_gemm,
  // the BLAS single-threaded), whose threads are still spinning, ready; one thread alone took
  // 95-120 us per step on the book MLP's 266,610 parameters, two 60 (the MLP step 480 -> 430
  // us). When OpenBLAS ran its own threads for those GEMMs, their workers kept spinning on the
  // cores and a team of two waited for a core (150 us against one thread's 30 for 784 x 300).
  constexpr int64_t kChunk = 16384;
  for (int64_t k = 0; k < count; ++k) {
    const Tensor<T>& t = tensors[k];
    if (t.n <= 0) continue;
    const int nt = threads::resolve(n_threads, double(t.n) * 10);
    if (nt <= 1) {
      kern.update(step, t, 0, t.n);
      continue;
    }
#pragma omp parallel for num_threads(nt) schedule(static)
    for (int64_t b = 0; b < t.n; b += kChunk) kern.update(step, t, b, std::min(t.n, b + kChunk));
  }
}

TL_INSTANTIATE_OPTIM(float)
TL_INSTANTIATE_OPTIM(double)

}  // namespace tl::optim
