// Deliberately broken: __syncthreads() in a branch only half the block takes. On a GPU
// this is undefined behaviour (a hang or silent corruption); the emulator must abort with
// "divergent __syncthreads" (or, failing that, its deadlock watchdog).
#include <cstdio>

#include "cuda_compat.cuh"

__global__ void divergent(float* out) {
  __shared__ float s[32];
  s[threadIdx.x] = static_cast<float>(threadIdx.x);
  if (threadIdx.x < 16) __syncthreads();  // BUG: threads 16..31 never reach it
  out[threadIdx.x] = s[31 - threadIdx.x];
}

int main() {
  float* out = nullptr;
  tl::cuda::check(cudaMalloc(&out, 32 * sizeof(float)), "cudaMalloc");
  TL_LAUNCH(divergent, 1, 32, 0, nullptr, out);
  std::puts("divergent __syncthreads() went unnoticed");
  return 1;
}
