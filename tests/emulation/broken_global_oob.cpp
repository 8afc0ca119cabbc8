// Deliberately broken: an off-by-one bounds check lets thread n write out[n], one past the
// end of a cudaMalloc'd buffer. AddressSanitizer must report a heap-buffer-overflow.
#include <cstdio>

#include "cuda_compat.cuh"

__global__ void fill(float* out, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i <= n) out[i] = 1.0f;  // BUG: should be i < n
}

int main() {
  const int n = 100;
  float* out = nullptr;
  tl::cuda::check(cudaMalloc(&out, n * sizeof(float)), "cudaMalloc");
  TL_LAUNCH(fill, (n + 63) / 64, 64, 0, nullptr, out, n);
  tl::cuda::check_launch("fill");
  cudaFree(out);
  std::puts("out-of-bounds write went unnoticed");
  return 0;
}
