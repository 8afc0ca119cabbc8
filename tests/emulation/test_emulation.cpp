// Checks every primitive of the CUDA emulation with small kernels written in the subset
// (the same source is valid CUDA: nvcc -x cu compiles it). Exits non-zero on failure.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "cuda_compat.cuh"

namespace {

int g_failures = 0;

template <class A, class B>
void expect_eq(const A& got, const B& want, const char* what, int line, const std::string& context = "") {
  if (!(got == want)) {
    std::cerr << "test_emulation.cpp:" << line << ": " << what << context << ": got " << got << ", want " << want
              << "\n";
    ++g_failures;
  }
}
#define EXPECT_EQ(got, want, ...) expect_eq((got), (want), #got, __LINE__ __VA_OPT__(, ) __VA_ARGS__)
#define EXPECT(cond) expect_eq(static_cast<bool>(cond), true, #cond, __LINE__)

void check(cudaError_t err, const char* what) { tl::cuda::check(err, what); }

// A device array that frees itself; contents move through cudaMemcpy like real code.
template <class T>
class DeviceArray {
 public:
  explicit DeviceArray(std::size_t n) : n_(n) { check(cudaMalloc(&p_, n * sizeof(T)), "cudaMalloc"); }
  explicit DeviceArray(const std::vector<T>& host) : DeviceArray(host.size()) { set(host); }
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() { cudaFree(p_); }
  T* get() const { return p_; }
  void set(const std::vector<T>& host) {
    check(cudaMemcpy(p_, host.data(), n_ * sizeof(T), cudaMemcpyHostToDevice), "cudaMemcpy H2D");
  }
  std::vector<T> host() const {
    std::vector<T> out(n_);
    check(cudaMemcpy(out.data(), p_, n_ * sizeof(T), cudaMemcpyDeviceToHost), "cudaMemcpy D2H");
    return out;
  }

 private:
  T* p_ = nullptr;
  std::size_t n_;
};

// ---------------------------------------------------------------------------------------
// Block reduction: static __shared__ + __syncthreads between every step.
template <int kBlock>
__global__ void block_sum(const float* x, float* out, int n) {
  __shared__ float s[kBlock];
  const int i = static_cast<int>(blockIdx.x) * kBlock + static_cast<int>(threadIdx.x);
  s[threadIdx.x] = i < n ? x[i] : 0.0f;
  __syncthreads();
  for (int stride = kBlock / 2; stride > 0; stride /= 2) {
    if (static_cast<int>(threadIdx.x) < stride) s[threadIdx.x] += s[threadIdx.x + stride];
    __syncthreads();
  }
  if (threadIdx.x == 0) out[blockIdx.x] = s[0];
}

template <int kBlock>
void test_block_sum(int n) {
  std::vector<float> x(n);
  for (int i = 0; i < n; ++i) x[i] = static_cast<float>(i % 7);
  const int blocks = (n + kBlock - 1) / kBlock;
  DeviceArray<float> dx(x), dout(blocks);
  TL_LAUNCH(block_sum<kBlock>, blocks, kBlock, 0, nullptr, dx.get(), dout.get(), n);
  tl::cuda::check_launch("block_sum");
  const std::vector<float> out = dout.host();
  for (int b = 0; b < blocks; ++b) {
    float want = 0;
    for (int i = b * kBlock; i < std::min(n, (b + 1) * kBlock); ++i) want += x[i];
    EXPECT_EQ(out[b], want, " block " + std::to_string(b) + " of " + std::to_string(kBlock));
  }
}

// ---------------------------------------------------------------------------------------
// Dynamic shared memory: reverse each block's slice through it.
__global__ void reverse_blocks(const int* x, int* out, unsigned* misaligned) {
  TL_DYNAMIC_SHARED(int, buf);
  const unsigned base = blockIdx.x * blockDim.x;
  buf[threadIdx.x] = x[base + threadIdx.x];
  __syncthreads();
  out[base + threadIdx.x] = buf[blockDim.x - 1 - threadIdx.x];
  if (threadIdx.x == 0) misaligned[blockIdx.x] = static_cast<unsigned>(reinterpret_cast<std::uintptr_t>(buf) % 16);
}

void test_dynamic_shared() {
  const unsigned blocks = 4, threads = 96;
  std::vector<int> x(blocks * threads);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = static_cast<int>(i * 3 + 1);
  DeviceArray<int> dx(x), dout(x.size());
  DeviceArray<unsigned> misaligned(blocks);
  TL_LAUNCH(reverse_blocks, blocks, threads, threads * sizeof(int), nullptr, dx.get(), dout.get(), misaligned.get());
  tl::cuda::check_launch("reverse_blocks");
  const std::vector<int> out = dout.host();
  for (unsigned b = 0; b < blocks; ++b)
    for (unsigned t = 0; t < threads; ++t) EXPECT_EQ(out[b * threads + t], x[b * threads + threads - 1 - t]);
  for (unsigned m : misaligned.host()) EXPECT_EQ(m, 0u);
}

// Every block must find its dynamic shared memory poisoned (0xFF), not the previous
// block's values.
__global__ void read_then_write_shared(unsigned* seen, int* nan_seen) {
  TL_DYNAMIC_SHARED(unsigned, buf);
  seen[blockIdx.x * blockDim.x + threadIdx.x] = buf[threadIdx.x];
  float* as_float = reinterpret_cast<float*>(buf);
  if (isnan(as_float[threadIdx.x])) atomicAdd(nan_seen, 1);
  buf[threadIdx.x] = threadIdx.x;  // would leak into the next block without the poison
}

void test_shared_poison() {
  const unsigned blocks = 3, threads = 32;
  DeviceArray<unsigned> seen(blocks * threads);
  DeviceArray<int> nan_seen(std::vector<int>{0});
  TL_LAUNCH(read_then_write_shared, blocks, threads, threads * sizeof(unsigned), nullptr, seen.get(), nan_seen.get());
  tl::cuda::check_launch("read_then_write_shared");
  for (unsigned v : seen.host()) EXPECT_EQ(v, 0xFFFFFFFFu);
  EXPECT_EQ(nan_seen.host()[0], static_cast<int>(blocks * threads));
}

// ---------------------------------------------------------------------------------------
// Shuffles: every variant, every type, several widths, on a block of 80 threads whose last
// warp is partial (lanes 16..31 do not exist; reading them yields all-ones bits).
enum ShflOp { kIdx, kUp, kDown, kXor };

template <class T>
__host__ __device__ T lane_value(int tid) {
  if constexpr (std::is_floating_point_v<T>)
    return static_cast<T>(tid) + static_cast<T>(0.5);
  else  // 64-bit types get bits in both halves, so a truncated transfer shows
    return static_cast<T>(tid + 1) * static_cast<T>(sizeof(T) == 8 ? 0x100000001ull : 1u);
}

template <class T>
__global__ void shuffle(T* out, int op, int arg, int width) {
  const T v = lane_value<T>(static_cast<int>(threadIdx.x));
  T r{};
  switch (op) {
    case kIdx: r = __shfl_sync(0xffffffffu, v, arg, width); break;
    case kUp: r = __shfl_up_sync(0xffffffffu, v, static_cast<unsigned>(arg), width); break;
    case kDown: r = __shfl_down_sync(0xffffffffu, v, static_cast<unsigned>(arg), width); break;
    case kXor: r = __shfl_xor_sync(0xffffffffu, v, arg, width); break;
  }
  out[threadIdx.x] = r;
}

// The source lane by the CUDA Programming Guide's rules (written independently of the
// emulator's PTX-style formula).
int expected_source(int op, int lane, int arg, int width) {
  const int base = lane / width * width;
  switch (op) {
    case kIdx: return base + ((arg % width) + width) % width;
    case kUp: return lane - base >= arg ? lane - arg : lane;
    case kDown: return lane - base + arg < width ? lane + arg : lane;
    default: {  // xor: lanes may read earlier groups but not later ones
      const int src = lane ^ arg;
      return src < base + width ? src : lane;
    }
  }
}

template <class T>
void test_shuffles(const char* type) {
  const int threads = 80;
  struct Case {
    int op, arg, width;
  };
  const Case cases[] = {{kIdx, 5, 32},  {kIdx, -1, 32}, {kIdx, 3, 8},   {kIdx, 40, 16}, {kUp, 1, 32},
                        {kUp, 3, 32},   {kUp, 2, 8},    {kDown, 1, 32}, {kDown, 16, 32}, {kDown, 3, 16},
                        {kXor, 1, 32},  {kXor, 16, 32}, {kXor, 5, 8},   {kXor, 8, 8},   {kXor, 12, 16}};
  DeviceArray<T> dout(threads);
  for (const Case& c : cases) {
    TL_LAUNCH(shuffle<T>, 1, threads, 0, nullptr, dout.get(), c.op, c.arg, c.width);
    tl::cuda::check_launch("shuffle");
    const std::vector<T> out = dout.host();
    for (int tid = 0; tid < threads; ++tid) {
      const int warp_base = tid / 32 * 32, src = warp_base + expected_source(c.op, tid % 32, c.arg, c.width);
      T want;
      if (src < threads) {
        want = lane_value<T>(src);
      } else {
        std::memset(&want, 0xFF, sizeof want);
      }
      const bool same = std::memcmp(&out[tid], &want, sizeof(T)) == 0;
      EXPECT(same);
      if (!same)
        std::cerr << "  " << type << " op " << c.op << " arg " << c.arg << " width " << c.width << " tid " << tid
                  << ": got " << out[tid] << " want " << want << "\n";
    }
  }
}

// Two half warps shuffle independently with their own masks, a different number of times;
// lanes 24..31 return early and the remaining lanes of the upper half name only themselves.
__global__ void half_warps(int* out) {
  const int lane = static_cast<int>(threadIdx.x);
  if (lane < 16) {
    int v = __shfl_xor_sync(0x0000ffffu, lane, 1);
    v = __shfl_xor_sync(0x0000ffffu, v, 2);
    out[lane] = v;
  } else {
    if (lane >= 24) return;
    out[lane] = __shfl_down_sync(0x00ff0000u, lane * 10, 1);
  }
}

void test_partial_masks() {
  DeviceArray<int> dout(std::vector<int>(32, -7));
  TL_LAUNCH(half_warps, 1, 32, 0, nullptr, dout.get());
  tl::cuda::check_launch("half_warps");
  const std::vector<int> out = dout.host();
  for (int lane = 0; lane < 16; ++lane) EXPECT_EQ(out[lane], lane ^ 3);
  for (int lane = 16; lane < 23; ++lane) EXPECT_EQ(out[lane], (lane + 1) * 10);
  EXPECT_EQ(out[23], -1);  // lane 24 is outside the mask: undefined on a GPU, poison here
  for (int lane = 24; lane < 32; ++lane) EXPECT_EQ(out[lane], -7);
}

// Votes on the same 80-thread block (warp 2 has 16 lanes).
__global__ void votes(unsigned* ballots, int* any, int* all) {
  const unsigned tid = threadIdx.x, warp = tid / 32;
  const unsigned b = __ballot_sync(0xffffffffu, tid % 3 == 0);
  const int a = __any_sync(0xffffffffu, tid == 40);
  const int l = __all_sync(0xffffffffu, tid < 70 || tid >= 64);  // false only on no lane
  const int l2 = __all_sync(0xffffffffu, tid < 70);               // false in warp 2
  if (tid % 32 == 0) {
    ballots[warp] = b;
    any[warp] = a;
    all[2 * warp] = l;
    all[2 * warp + 1] = l2;
  }
}

void test_votes() {
  DeviceArray<unsigned> ballots(3);
  DeviceArray<int> any(3), all(6);
  TL_LAUNCH(votes, 1, 80, 0, nullptr, ballots.get(), any.get(), all.get());
  tl::cuda::check_launch("votes");
  const auto b = ballots.host();
  const auto a = any.host();
  const auto l = all.host();
  for (unsigned w = 0; w < 3; ++w) {
    unsigned want = 0;
    for (unsigned lane = 0; lane < 32 && w * 32 + lane < 80; ++lane)
      if ((w * 32 + lane) % 3 == 0) want |= 1u << lane;
    EXPECT_EQ(b[w], want, " warp " + std::to_string(w));
    EXPECT_EQ(a[w], w == 1 ? 1 : 0);
    EXPECT_EQ(l[2 * w], 1);
    EXPECT_EQ(l[2 * w + 1], w == 2 ? 0 : 1);
  }
}

// __syncwarp orders shared-memory traffic inside a warp (ThreadSanitizer checks it).
__global__ void warp_reverse(int* out) {
  __shared__ int s[64];
  const unsigned lane = threadIdx.x % 32, base = threadIdx.x - lane;
  s[threadIdx.x] = static_cast<int>(threadIdx.x) * 2;
  __syncwarp();
  out[threadIdx.x] = s[base + 31 - lane];
}

void test_syncwarp() {
  DeviceArray<int> dout(64);
  TL_LAUNCH(warp_reverse, 1, 64, 0, nullptr, dout.get());
  tl::cuda::check_launch("warp_reverse");
  const auto out = dout.host();
  for (int t = 0; t < 64; ++t) EXPECT_EQ(out[t], (t / 32 * 32 + 31 - t % 32) * 2);
}

// ---------------------------------------------------------------------------------------
// Atomics from every thread of a multi-block grid, on global and shared memory.
struct Counters {
  int add_i, sub_i, min_i, max_i, cas_i, exch_i, shared_total;
  unsigned add_u, sub_u, min_u, max_u, or_u, and_u, cas_u;
  unsigned long long add_ull, max_ull, cas_ull;
  long long min_ll;
  float add_f, exch_f;
  double add_d;
};

__global__ void atomics(Counters* c, long long* exch_old) {
  __shared__ int block_count;
  const int tid = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (threadIdx.x == 0) block_count = 0;
  __syncthreads();
  atomicAdd(&block_count, 1);
  atomicAdd(&c->add_i, 1);
  atomicSub(&c->sub_i, 2);
  atomicMin(&c->min_i, tid - 1000);
  atomicMax(&c->max_i, tid);
  atomicAdd(&c->add_u, 3u);
  atomicSub(&c->sub_u, 1u);
  atomicMin(&c->min_u, static_cast<unsigned>(tid) + 5u);
  atomicMax(&c->max_u, static_cast<unsigned>(tid) * 2u);
  atomicOr(&c->or_u, 1u << (tid % 32));
  atomicAnd(&c->and_u, ~(1u << (tid % 32)));
  atomicAdd(&c->add_ull, 1ull << 33);
  atomicMax(&c->max_ull, static_cast<unsigned long long>(tid) << 40);
  atomicMin(&c->min_ll, -static_cast<long long>(tid) * 10000000000ll);
  atomicAdd(&c->add_f, 1.0f);
  atomicAdd(&c->add_d, 0.5);
  atomicExch(&c->exch_f, 2.0f);
  // Increments built from compare-and-swap; the first guess (0) is corrected by CAS.
  for (int cur = 0;;) {
    const int prev = atomicCAS(&c->cas_i, cur, cur + 1);
    if (prev == cur) break;
    cur = prev;
  }
  for (unsigned cur = 0;;) {
    const unsigned prev = atomicCAS(&c->cas_u, cur, cur + 2u);
    if (prev == cur) break;
    cur = prev;
  }
  for (unsigned long long cur = 0;;) {
    const unsigned long long prev = atomicCAS(&c->cas_ull, cur, cur + 3ull);
    if (prev == cur) break;
    cur = prev;
  }
  exch_old[tid] = atomicExch(&c->exch_i, tid);
  __syncthreads();
  if (threadIdx.x == 0) atomicAdd(&c->shared_total, block_count);
}

void test_atomics() {
  const int blocks = 16, threads = 128, n = blocks * threads;
  Counters init{};
  init.min_i = 1 << 30;
  init.max_i = -1;
  init.sub_i = 0;
  init.sub_u = 10000;
  init.min_u = ~0u;
  init.and_u = ~0u;
  init.min_ll = 0;
  init.exch_i = -1;
  Counters* dc = nullptr;
  check(cudaMalloc(&dc, sizeof(Counters)), "cudaMalloc");
  check(cudaMemcpy(dc, &init, sizeof init, cudaMemcpyHostToDevice), "cudaMemcpy");
  DeviceArray<long long> exch_old(n);
  TL_LAUNCH(atomics, blocks, threads, 0, nullptr, dc, exch_old.get());
  tl::cuda::check_launch("atomics");
  Counters c{};
  check(cudaMemcpy(&c, dc, sizeof c, cudaMemcpyDeviceToHost), "cudaMemcpy");
  check(cudaFree(dc), "cudaFree");
  EXPECT_EQ(c.add_i, n);
  EXPECT_EQ(c.sub_i, -2 * n);
  EXPECT_EQ(c.min_i, -1000);
  EXPECT_EQ(c.max_i, n - 1);
  EXPECT_EQ(c.cas_i, n);
  EXPECT_EQ(c.shared_total, n);
  EXPECT_EQ(c.add_u, 3u * n);
  EXPECT_EQ(c.sub_u, 10000u - n);
  EXPECT_EQ(c.min_u, 5u);
  EXPECT_EQ(c.max_u, 2u * (n - 1));
  EXPECT_EQ(c.or_u, ~0u);
  EXPECT_EQ(c.and_u, 0u);
  EXPECT_EQ(c.cas_u, 2u * n);
  EXPECT_EQ(c.add_ull, static_cast<unsigned long long>(n) << 33);
  EXPECT_EQ(c.max_ull, static_cast<unsigned long long>(n - 1) << 40);
  EXPECT_EQ(c.cas_ull, 3ull * n);
  EXPECT_EQ(c.min_ll, -static_cast<long long>(n - 1) * 10000000000ll);
  EXPECT_EQ(c.add_f, static_cast<float>(n));
  EXPECT_EQ(c.add_d, 0.5 * n);
  EXPECT_EQ(c.exch_f, 2.0f);
  // atomicExch hands each value on exactly once: old values plus the final one are the
  // initial value plus every tid.
  long long total = c.exch_i;
  for (long long v : exch_old.host()) total += v;
  EXPECT_EQ(total, -1 + static_cast<long long>(n) * (n - 1) / 2);
}

// ---------------------------------------------------------------------------------------
// 3-D grid of 3-D blocks: every (block, thread) runs exactly once with the right indices.
__global__ void coordinates(unsigned* code, int* hits) {
  const unsigned block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
  const unsigned thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
  const unsigned id = block * blockDim.x * blockDim.y * blockDim.z + thread;
  code[id] = blockIdx.x | blockIdx.y << 4 | blockIdx.z << 8 | threadIdx.x << 12 | threadIdx.y << 16 |
             threadIdx.z << 20 | (gridDim.x == 3 && gridDim.y == 2 && gridDim.z == 2) << 24 |
             (blockDim.x == 4 && blockDim.y == 3 && blockDim.z == 2) << 25;
  atomicAdd(&hits[id], 1);
}

void test_coordinates() {
  const dim3 grid(3, 2, 2), block(4, 3, 2);
  const unsigned n = 3 * 2 * 2 * 4 * 3 * 2;
  DeviceArray<unsigned> code(n);
  DeviceArray<int> hits(std::vector<int>(n, 0));
  TL_LAUNCH(coordinates, grid, block, 0, nullptr, code.get(), hits.get());
  tl::cuda::check_launch("coordinates");
  const auto c = code.host();
  const auto h = hits.host();
  unsigned id = 0;
  for (unsigned bz = 0; bz < 2; ++bz)
    for (unsigned by = 0; by < 2; ++by)
      for (unsigned bx = 0; bx < 3; ++bx)
        for (unsigned tz = 0; tz < 2; ++tz)
          for (unsigned ty = 0; ty < 3; ++ty)
            for (unsigned tx = 0; tx < 4; ++tx, ++id) {
              EXPECT_EQ(c[id], bx | by << 4 | bz << 8 | tx << 12 | ty << 16 | tz << 20 | 1u << 24 | 1u << 25);
              EXPECT_EQ(h[id], 1);
            }
  // dim3's CUDA constructors and conversions.
  const dim3 d1(7), d2(7, 3), from_int = 5;
  EXPECT(d1.x == 7 && d1.y == 1 && d1.z == 1 && d2.y == 3 && d2.z == 1 && from_int.x == 5);
}

// ---------------------------------------------------------------------------------------
// Invalid configurations launch nothing and leave cudaErrorInvalidConfiguration behind.
__global__ void set_flag(int* flag) { *flag = 1; }

void test_configuration_errors() {
  DeviceArray<int> flag(std::vector<int>{0});
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  struct Config {
    dim3 grid, block;
    std::size_t shmem;
  };
  const Config bad[] = {{1, 0, 0},        {1, 1025, 0},          {1, dim3(32, 32, 2), 0}, {1, dim3(1, 1, 65), 0},
                        {dim3(1, 0), 1, 0}, {dim3(1, 1, 0), 1, 0}, {1, 1, 48 * 1024 + 1}};
  for (const Config& c : bad) {
    TL_LAUNCH(set_flag, c.grid, c.block, c.shmem, nullptr, flag.get());
    EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidConfiguration);
    EXPECT_EQ(cudaPeekAtLastError(), cudaErrorInvalidConfiguration);  // peek does not clear
    EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidConfiguration);
    EXPECT_EQ(cudaGetLastError(), cudaSuccess);  // get does
  }
  EXPECT_EQ(flag.host()[0], 0);
  // The error stays until read, even across a successful launch; check_launch throws it.
  TL_LAUNCH(set_flag, 1, 0, 0, nullptr, flag.get());
  TL_LAUNCH(set_flag, 1, 1, 48 * 1024, nullptr, flag.get());
  EXPECT_EQ(flag.host()[0], 1);
  bool threw = false;
  try {
    tl::cuda::check_launch("set_flag");
  } catch (const std::runtime_error& e) {
    threw = std::string(e.what()).find("invalid configuration argument") != std::string::npos;
  }
  EXPECT(threw);
  EXPECT_EQ(cudaGetLastError(), cudaSuccess);
  EXPECT_EQ(std::string(cudaGetErrorString(cudaErrorInvalidConfiguration)), "invalid configuration argument");
}

// ---------------------------------------------------------------------------------------
// Runtime API, constant memory, a kernel without arguments, a template with two arguments.
__constant__ float g_scale[4];

template <class T, int kFactor>
__global__ void scale(T* x, int n) {
  const int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (i >= n) return;  // a uniform early exit before any barrier is fine
  x[i] = x[i] * static_cast<T>(kFactor) * g_scale[i % 4];
}

__global__ void no_arguments() {}

void test_runtime_api() {
  int count = 0, device = -1;
  EXPECT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(cudaGetDevice(&device), cudaSuccess);
  EXPECT_EQ(device, 0);
  EXPECT_EQ(cudaSetDevice(0), cudaSuccess);
  EXPECT_EQ(cudaSetDevice(1), cudaErrorInvalidDevice);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidDevice);
  int warp = 0;
  EXPECT_EQ(cudaDeviceGetAttribute(&warp, cudaDevAttrWarpSize, 0), cudaSuccess);
  EXPECT_EQ(warp, 32);

  cudaStream_t stream = nullptr;
  EXPECT_EQ(cudaStreamCreate(&stream), cudaSuccess);
  unsigned char* p = nullptr;
  EXPECT_EQ(cudaMallocAsync(&p, 64, stream), cudaSuccess);
  std::vector<unsigned char> host(64);
  EXPECT_EQ(cudaMemcpyAsync(host.data(), p, 64, cudaMemcpyDeviceToHost, stream), cudaSuccess);
  EXPECT_EQ(static_cast<int>(host[0]), 0xFF);  // fresh device memory is poisoned
  EXPECT_EQ(cudaMemsetAsync(p, 0x5A, 64, stream), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(host.data(), p, 64, cudaMemcpyDefault), cudaSuccess);
  EXPECT_EQ(static_cast<int>(host[63]), 0x5A);
  EXPECT_EQ(cudaStreamSynchronize(stream), cudaSuccess);
  EXPECT_EQ(cudaFreeAsync(p, stream), cudaSuccess);
  EXPECT_EQ(cudaStreamDestroy(stream), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(host.data(), host.data() + 1, 1, static_cast<cudaMemcpyKind>(9)),
            cudaErrorInvalidMemcpyDirection);
  EXPECT_EQ(cudaGetLastError(), cudaErrorInvalidMemcpyDirection);

  const float factors[4] = {1.0f, 2.0f, 3.0f, 4.0f};
  EXPECT_EQ(cudaMemcpyToSymbol(g_scale, factors, sizeof factors), cudaSuccess);
  std::vector<double> x(10, 1.0);
  DeviceArray<double> dx(x);
  TL_LAUNCH((scale<double, 2>), 1, 16, 0, nullptr, dx.get(), 10);
  tl::cuda::check_launch("scale");
  const auto y = dx.host();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(y[i], 2.0 * factors[i % 4]);
  TL_LAUNCH(no_arguments, 2, 2, 0, nullptr);
  tl::cuda::check_launch("no_arguments");
  EXPECT_EQ(cudaDeviceSynchronize(), cudaSuccess);
}

// ---------------------------------------------------------------------------------------
// Math and bit intrinsics, evaluated in a kernel as device code would.
__global__ void device_math(float* f, int* i) {
  static_assert(std::is_same_v<decltype(sqrt(2.0f)), float>, "float overloads in the global namespace");
  static_assert(std::is_same_v<decltype(exp(1.0f)), float>);
  static_assert(std::is_same_v<decltype(fmax(1.0f, 2.0f)), float>);
  static_assert(std::is_same_v<decltype(min(3, 5u)), unsigned>);
  f[0] = sqrt(2.0f) * rsqrtf(2.0f);
  f[1] = fmaxf(fminf(3.0f, 1.0f), -1.0f) + fma(2.0f, 3.0f, 1.0f);
  f[2] = __int_as_float(0x40000000);
  f[3] = rsqrtf(4.0f);
  f[4] = __fdividef(1.0f, 4.0f);
  f[5] = __saturatef(NAN) + __saturatef(2.0f);
  f[6] = static_cast<float>(max(2.5f, 3.0));  // mixed types: CUDA has max(float, double)
  i[0] = __popc(0xF0F0u);
  i[1] = __popcll(~0ull);
  i[2] = __ffs(0);
  i[3] = __ffs(8);
  i[4] = __clz(1);
  i[5] = __clz(0);
  i[6] = __clz(-1);
  i[7] = __float_as_int(1.0f);
  i[8] = static_cast<int>(min(3, 5u));
}

void test_math() {
  DeviceArray<float> f(7);
  DeviceArray<int> i(9);
  TL_LAUNCH(device_math, 1, 1, 0, nullptr, f.get(), i.get());
  tl::cuda::check_launch("device_math");
  const std::vector<float> fw = {1.0f, 8.0f, 2.0f, 0.5f, 0.25f, 1.0f, 3.0f};
  const std::vector<int> iw = {8, 64, 0, 4, 31, 32, 0, 0x3f800000, 3};
  const auto fo = f.host();
  const auto io = i.host();
  EXPECT(std::fabs(fo[0] - fw[0]) < 1e-6f);
  for (int k = 1; k < 7; ++k) EXPECT_EQ(fo[k], fw[k], " f[" + std::to_string(k) + "]");
  for (int k = 0; k < 9; ++k) EXPECT_EQ(io[k], iw[k], " i[" + std::to_string(k) + "]");
}

}  // namespace

int main() {
  test_block_sum<128>(1000);
  test_block_sum<1024>(2048 + 5);
  test_block_sum<32>(32 * 200);
  test_dynamic_shared();
  test_shared_poison();
  test_shuffles<int>("int");
  test_shuffles<unsigned>("unsigned");
  test_shuffles<long long>("long long");
  test_shuffles<unsigned long long>("unsigned long long");
  test_shuffles<float>("float");
  test_shuffles<double>("double");
  test_partial_masks();
  test_votes();
  test_syncwarp();
  test_atomics();
  test_coordinates();
  test_configuration_errors();
  test_runtime_api();
  test_math();
  if (g_failures) {
    std::cerr << "test_emulation: " << g_failures << " check(s) failed\n";
    return 1;
  }
  std::cout << "test_emulation: all checks passed\n";
  return 0;
}
