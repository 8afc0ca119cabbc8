// Deliberately broken: lane 0 syncs with mask 0x3 but lane 1 with the full mask, so
// neither group ever completes (a hang on a GPU). Only the emulator's watchdog can tell;
// the test sets TL_EMU_BARRIER_TIMEOUT=1 and expects its "barrier deadlock" abort.
#include <cstdio>

#include "cuda_compat.cuh"

__global__ void mismatched_masks() {
  __syncwarp(threadIdx.x == 0 ? 0x3u : 0xffffffffu);  // BUG: masks disagree
}

int main() {
  TL_LAUNCH(mismatched_masks, 1, 32, 0, nullptr);
  std::puts("mismatched __syncwarp masks went unnoticed");
  return 1;
}
