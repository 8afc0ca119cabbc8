// Deliberately broken: a block reduction that reads its neighbour's shared-memory slot
// without the __syncthreads() after the first write. ThreadSanitizer must report a data race.
#include <cstdio>

#include "cuda_compat.cuh"

constexpr int kThreads = 64;

__global__ void reduce_missing_sync(const float* x, float* out) {
  __shared__ float s[kThreads];
  s[threadIdx.x] = x[threadIdx.x];
  // BUG: __syncthreads() missing here; the first step reads slots other threads write.
  for (int stride = kThreads / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) s[threadIdx.x] += s[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) *out = s[0];
}

int main() {
  float host[kThreads];
  for (float& v : host) v = 1.0f;
  float *x = nullptr, *out = nullptr;
  tl::cuda::check(cudaMalloc(&x, sizeof host), "cudaMalloc");
  tl::cuda::check(cudaMalloc(&out, sizeof(float)), "cudaMalloc");
  tl::cuda::check(cudaMemcpy(x, host, sizeof host, cudaMemcpyHostToDevice), "cudaMemcpy");
  TL_LAUNCH(reduce_missing_sync, 1, kThreads, 0, nullptr, x, out);
  tl::cuda::check_launch("reduce_missing_sync");
  float sum = 0;
  tl::cuda::check(cudaMemcpy(&sum, out, sizeof sum, cudaMemcpyDeviceToHost), "cudaMemcpy");
  std::printf("sum = %g (the race may or may not change it)\n", sum);
  cudaFree(x);
  cudaFree(out);
  return 0;
}
