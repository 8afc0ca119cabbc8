#include "cuda_compat.cuh"
#include "gpu_blas.cuh"
#include "optim.cuh"

#include <cstdint>
#include <stdexcept>

namespace tl::cuda::optim {
namespace {

constexpr int kBlock = 256;

// One thread per element (grid-stride beyond 65,536 blocks): element<R, F> of cpp/optim.hpp.
template <int R, int F, class T>
__global__ void __launch_bounds__(kBlock) update_kernel(Step<T> s, T* p, const T* g, T* s0,
                                                        T* s1, T* s2, T scale, T decay,
                                                        int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    ::tl::optim::element<R, F>(s, p, g, s0, s1, s2, scale, decay, i);
}

}  // namespace

template <class T>
void update(const Step<T>& step, const Tensor<T>* tensors, int64_t count, int) {
  for (int64_t k = 0; k < count; ++k) {
    const Tensor<T>& t = tensors[k];
    if (t.n <= 0) continue;
    const int64_t blocks = (t.n + kBlock - 1) / kBlock;
    const int grid = static_cast<int>(blocks < 65536 ? blocks : 65536);
    const bool ok = ::tl::optim::dispatch(step.rule, step.flags, [&]<int R, int F>() {
      auto* kernel = update_kernel<R, F, T>;
      TL_LAUNCH(kernel, grid, kBlock, 0, blas::stream(), step, t.param, t.grad,
                t.slot[0], t.slot[1], t.slot[2], t.scale, t.decay, t.n);
      check_launch("optim update_kernel");
    });
    if (!ok) throw std::invalid_argument("optim: invalid rule or flags");
  }
}

TL_INSTANTIATE_OPTIM(float)
TL_INSTANTIATE_OPTIM(double)

}  // namespace tl::cuda::optim
