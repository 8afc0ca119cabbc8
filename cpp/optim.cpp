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
  // An update reads and writes a few arrays once: memory-bound, and it runs right after the
  // backward GEMMs, whose BLAS threads still spin on the cores: a team of two then waits for
  // a core and took 150 us where one thread takes 30 us (the 235,200 weights of a 784x300
  // layer). So one work unit per element: tensors under ~1M elements stay on the calling
  // thread, with no OpenMP region at all.
  constexpr int64_t kChunk = 16384;
  for (int64_t k = 0; k < count; ++k) {
    const Tensor<T>& t = tensors[k];
    if (t.n <= 0) continue;
    const int nt = threads::resolve(n_threads, double(t.n));
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
