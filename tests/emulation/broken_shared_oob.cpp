// Deliberately broken: each thread writes the slot after its own in a static __shared__
// array, so the last thread writes one past its end. AddressSanitizer must report a
// global-buffer-overflow (static __shared__ arrays are function-static in the emulation).
#include <cstdio>

#include "cuda_compat.cuh"

constexpr int kThreads = 32;

__global__ void shift(const float* x, float* out) {
  __shared__ float s[kThreads];
  s[threadIdx.x + 1] = x[threadIdx.x];  // BUG: thread 31 writes s[32]
  __syncthreads();
  out[threadIdx.x] = s[threadIdx.x];
}

int main() {
  float *x = nullptr, *out = nullptr;
  tl::cuda::check(cudaMalloc(&x, kThreads * sizeof(float)), "cudaMalloc");
  tl::cuda::check(cudaMalloc(&out, kThreads * sizeof(float)), "cudaMalloc");
  tl::cuda::check(cudaMemset(x, 0, kThreads * sizeof(float)), "cudaMemset");
  TL_LAUNCH(shift, 1, kThreads, 0, nullptr, x, out);
  tl::cuda::check_launch("shift");
  cudaFree(x);
  cudaFree(out);
  std::puts("out-of-bounds shared-memory write went unnoticed");
  return 0;
}
