// The one header every cuda/*.cu includes first. Kernels are written in the CUDA subset
// that cuda/emulation/ implements, so the same source compiles with nvcc for the GPU and
// as C++ (TL_CUDA_EMULATION) for the CPU emulation used by the tests (design.md section 5).
#pragma once

#ifdef TL_CUDA_EMULATION
#include "emulation/cuda_emu.hpp"
#else
#include <cuda_runtime.h>
// Kernel launch; the emulation runs the same launch on CPU threads.
#define TL_LAUNCH(kernel, grid, block, shmem, stream, ...) \
  kernel<<<(grid), (block), (shmem), (stream)>>>(__VA_ARGS__)
// Dynamic shared memory as a typed pointer (one raw declaration serves every template).
#define TL_DYNAMIC_SHARED(type, name)                              \
  extern __shared__ __align__(16) unsigned char tl_dynamic_smem[]; \
  type* name = reinterpret_cast<type*>(tl_dynamic_smem)
#endif

#include <stdexcept>
#include <string>

namespace tl::cuda {

// Throws on a CUDA runtime error, naming the call that failed.
inline void check(cudaError_t err, const char* what) {
  if (err != cudaSuccess)
    throw std::runtime_error(std::string("CUDA error in ") + what + ": " + cudaGetErrorString(err));
}

// Checks the launch just made (configuration errors are reported by cudaGetLastError).
inline void check_launch(const char* kernel) { check(cudaGetLastError(), kernel); }

}  // namespace tl::cuda
