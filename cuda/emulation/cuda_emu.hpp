// CPU emulation of the CUDA subset used by cuda/*.cu (design.md section 5).
//
// Included by cuda_compat.cuh when TL_CUDA_EMULATION is defined, so the same kernel source
// compiles as plain C++. A launch runs the grid's blocks one after another; each block's
// threads are real std::threads meeting at real barriers, so a missing or divergent
// __syncthreads() deadlocks or aborts, out-of-bounds accesses show under AddressSanitizer
// and shared-memory races under ThreadSanitizer. See README.md beside this file.
#pragma once

#include <atomic>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <source_location>
#include <tuple>
#include <type_traits>
#include <utility>

// ---------------------------------------------------------------------------------------
// Qualifiers. Kernels and device functions are ordinary C++ functions.
#define __global__
#define __device__
#define __host__
#define __constant__
#define __forceinline__ inline
#define __launch_bounds__(...)
// GCC's attribute (not alignas) because CUDA code places it where alignas is not allowed,
// e.g. `__shared__ __align__(16) float s[64];` -> `static __attribute__((aligned(16))) ...`.
#define __align__(n) __attribute__((aligned(n)))
// __restrict__ is already a g++ keyword. __noinline__ is not defined: libstdc++ uses it
// as an attribute name.
// A function-static variable is shared by all threads of the block. That is correct here
// because blocks run one at a time and launches are serialised (ThreadSanitizer sees the
// barrier between blocks as the synchronisation it is).
#define __shared__ static

// ---------------------------------------------------------------------------------------
// Runtime types.
struct dim3 {
  unsigned x, y, z;
  constexpr dim3(unsigned vx = 1, unsigned vy = 1, unsigned vz = 1) : x(vx), y(vy), z(vz) {}
};
using uint3 = dim3;

struct CUstream_st;
using cudaStream_t = CUstream_st*;  // nullptr is the default stream

enum cudaError_t : int {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInitializationError = 3,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidMemcpyDirection = 21,
  cudaErrorNoDevice = 100,
  cudaErrorInvalidDevice = 101,
  cudaErrorInvalidResourceHandle = 400,
  cudaErrorLaunchFailure = 719,
  cudaErrorNotSupported = 801,
  cudaErrorUnknown = 999,
};
using cudaError = cudaError_t;

enum cudaMemcpyKind : int {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4,
};

enum cudaDeviceAttr : int {
  cudaDevAttrMaxThreadsPerBlock = 1,
  cudaDevAttrMaxBlockDimX = 2,
  cudaDevAttrMaxBlockDimY = 3,
  cudaDevAttrMaxBlockDimZ = 4,
  cudaDevAttrMaxGridDimX = 5,
  cudaDevAttrMaxGridDimY = 6,
  cudaDevAttrMaxGridDimZ = 7,
  cudaDevAttrMaxSharedMemoryPerBlock = 8,
  cudaDevAttrTotalConstantMemory = 9,
  cudaDevAttrWarpSize = 10,
  cudaDevAttrMultiProcessorCount = 16,
};

// Vector types, with CUDA's alignment so vectorised loads keep their alignment rules.
struct __align__(8) float2 { float x, y; };
struct __align__(16) float4 { float x, y, z, w; };
struct __align__(8) int2 { int x, y; };
struct __align__(16) int4 { int x, y, z, w; };
struct __align__(16) double2 { double x, y; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline double2 make_double2(double x, double y) { return {x, y}; }

// ---------------------------------------------------------------------------------------
// Emulator internals used by the inline API below (implemented in cuda_emu.cpp).
namespace tl_emu {

// CUDA's launch limits, checked by every launch.
inline constexpr unsigned max_threads_per_block = 1024;
inline constexpr std::size_t max_dynamic_shared_bytes = 48 * 1024;
inline constexpr int warp_size = 32;

// Pointer to the launch's dynamic shared memory (exactly `shmem` bytes, 0xFF-poisoned
// before every block, at least 16-byte aligned).
void* dynamic_shared();
void syncthreads(std::source_location where);

namespace detail {

// The built-in index variables; the worker threads set them before running a block.
inline thread_local dim3 thread_idx{0, 0, 0}, block_idx{0, 0, 0}, block_dim, grid_dim;

// Type-erased kernel body: runs the kernel once for the calling thread.
using Body = void (*)(const void* ctx);
void run_grid(dim3 grid, dim3 block, std::size_t shmem, Body body, const void* ctx);

enum class WarpOp : unsigned char { syncwarp, shfl_idx, shfl_up, shfl_down, shfl_xor, vote };
// Warp shuffle of `bits` among the lanes of `mask`; `b` is srcLane/delta/laneMask.
std::uint64_t shfl(WarpOp op, unsigned mask, std::uint64_t bits, long long b, int width);
// Vote: returns the lanes of `mask` whose predicate is true; `members` gets the lanes
// that took part (mask restricted to the lanes that exist in this warp).
unsigned vote(unsigned mask, bool pred, unsigned* members);
void syncwarp(unsigned mask);

// Records `err` as the calling host thread's last error and returns it.
cudaError_t fail(cudaError_t err);

template <class T>
concept Shufflable = std::is_trivially_copyable_v<T> && sizeof(T) <= 8;

template <Shufflable T>
T shfl_as(WarpOp op, unsigned mask, T var, long long b, int width) {
  std::uint64_t bits = 0;
  std::memcpy(&bits, &var, sizeof(T));
  bits = shfl(op, mask, bits, b, width);
  std::memcpy(&var, &bits, sizeof(T));
  return var;
}

template <class T>
std::atomic_ref<T> ref(T* p) {
  return std::atomic_ref<T>(*p);
}
// Read-modify-write with a CAS loop, for operations std::atomic_ref lacks (min, max).
template <class T, class F>
T update(T* p, F f) {
  auto a = ref(p);
  T old = a.load();
  while (!a.compare_exchange_weak(old, f(old))) {
  }
  return old;
}

}  // namespace detail

// Runs kernel(args...) over the grid, synchronously; what TL_LAUNCH expands to.
// Arguments are converted to the kernel's parameter types once, as a CUDA launch does.
template <class... Params, class... Args>
void launch(void (*kernel)(Params...), dim3 grid, dim3 block, std::size_t shmem, cudaStream_t,
            Args&&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "TL_LAUNCH: wrong number of kernel arguments");
  const std::tuple<std::decay_t<Params>...> params{std::forward<Args>(args)...};
  auto call = [&] { std::apply(kernel, params); };
  detail::run_grid(
      grid, block, shmem,
      [](const void* ctx) { (*static_cast<const decltype(call)*>(ctx))(); }, &call);
}

}  // namespace tl_emu

#define TL_LAUNCH(kernel, grid, block, shmem, stream, ...) \
  ::tl_emu::launch(kernel, (grid), (block), (shmem), (stream)__VA_OPT__(, ) __VA_ARGS__)
#define TL_DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(::tl_emu::dynamic_shared())

// ---------------------------------------------------------------------------------------
// Built-in variables (read-only, like CUDA's).
#define threadIdx (std::as_const(::tl_emu::detail::thread_idx))
#define blockIdx (std::as_const(::tl_emu::detail::block_idx))
#define blockDim (std::as_const(::tl_emu::detail::block_dim))
#define gridDim (std::as_const(::tl_emu::detail::grid_dim))
inline constexpr int warpSize = tl_emu::warp_size;

// ---------------------------------------------------------------------------------------
// Synchronisation. The call site is recorded so a divergent __syncthreads() can be named.
inline void __syncthreads(std::source_location where = std::source_location::current()) {
  tl_emu::syncthreads(where);
}
inline void __syncwarp(unsigned mask = 0xffffffffu) { tl_emu::detail::syncwarp(mask); }

// Fences: a sequentially consistent read-modify-write on one shared atomic orders like a
// full fence, and, unlike std::atomic_thread_fence, ThreadSanitizer models it (g++ warns
// that it does not support standalone fences under -fsanitize=thread).
namespace tl_emu::detail {
inline std::atomic<unsigned> fence_word{0};
}
inline void __threadfence() { tl_emu::detail::fence_word.fetch_add(0); }
inline void __threadfence_block() { tl_emu::detail::fence_word.fetch_add(0); }

// ---------------------------------------------------------------------------------------
// Warp shuffles and votes over warps of 32 consecutive linear thread ids. Every lane named
// in `mask` (and existing in the warp) must make the same call; a source lane that does
// not take part yields all-ones bits (NaN, -1), as its value is undefined on a GPU.
template <tl_emu::detail::Shufflable T>
T __shfl_sync(unsigned mask, T var, int srcLane, int width = warpSize) {
  return tl_emu::detail::shfl_as(tl_emu::detail::WarpOp::shfl_idx, mask, var, srcLane, width);
}
template <tl_emu::detail::Shufflable T>
T __shfl_up_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return tl_emu::detail::shfl_as(tl_emu::detail::WarpOp::shfl_up, mask, var, delta, width);
}
template <tl_emu::detail::Shufflable T>
T __shfl_down_sync(unsigned mask, T var, unsigned delta, int width = warpSize) {
  return tl_emu::detail::shfl_as(tl_emu::detail::WarpOp::shfl_down, mask, var, delta, width);
}
template <tl_emu::detail::Shufflable T>
T __shfl_xor_sync(unsigned mask, T var, int laneMask, int width = warpSize) {
  return tl_emu::detail::shfl_as(tl_emu::detail::WarpOp::shfl_xor, mask, var, laneMask, width);
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
  unsigned members;
  return tl_emu::detail::vote(mask, pred != 0, &members);
}
inline int __any_sync(unsigned mask, int pred) {
  unsigned members;
  return tl_emu::detail::vote(mask, pred != 0, &members) != 0;
}
inline int __all_sync(unsigned mask, int pred) {
  unsigned members;
  return tl_emu::detail::vote(mask, pred != 0, &members) == members;
}

// ---------------------------------------------------------------------------------------
// Atomics: return the old value. Sequentially consistent (stronger than CUDA's relaxed
// atomics, which is a valid implementation and keeps ThreadSanitizer free of false alarms).
// clang-format off
inline int atomicAdd(int* p, int v) { return tl_emu::detail::ref(p).fetch_add(v); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return tl_emu::detail::ref(p).fetch_add(v); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) { return tl_emu::detail::ref(p).fetch_add(v); }
inline float atomicAdd(float* p, float v) { return tl_emu::detail::ref(p).fetch_add(v); }
inline double atomicAdd(double* p, double v) { return tl_emu::detail::ref(p).fetch_add(v); }
inline int atomicSub(int* p, int v) { return tl_emu::detail::ref(p).fetch_sub(v); }
inline unsigned atomicSub(unsigned* p, unsigned v) { return tl_emu::detail::ref(p).fetch_sub(v); }
#define TL_EMU_MIN_MAX(T)                                                                        \
  inline T atomicMin(T* p, T v) { return tl_emu::detail::update(p, [v](T o) { return v < o ? v : o; }); } \
  inline T atomicMax(T* p, T v) { return tl_emu::detail::update(p, [v](T o) { return v > o ? v : o; }); }
TL_EMU_MIN_MAX(int)
TL_EMU_MIN_MAX(unsigned)
TL_EMU_MIN_MAX(long long)
TL_EMU_MIN_MAX(unsigned long long)
#undef TL_EMU_MIN_MAX
#define TL_EMU_CAS_EXCH_BITS(T)                                                          \
  inline T atomicCAS(T* p, T compare, T v) { tl_emu::detail::ref(p).compare_exchange_strong(compare, v); return compare; } \
  inline T atomicExch(T* p, T v) { return tl_emu::detail::ref(p).exchange(v); }           \
  inline T atomicAnd(T* p, T v) { return tl_emu::detail::ref(p).fetch_and(v); }           \
  inline T atomicOr(T* p, T v) { return tl_emu::detail::ref(p).fetch_or(v); }             \
  inline T atomicXor(T* p, T v) { return tl_emu::detail::ref(p).fetch_xor(v); }
TL_EMU_CAS_EXCH_BITS(int)
TL_EMU_CAS_EXCH_BITS(unsigned)
TL_EMU_CAS_EXCH_BITS(unsigned long long)
#undef TL_EMU_CAS_EXCH_BITS
inline float atomicExch(float* p, float v) { return tl_emu::detail::ref(p).exchange(v); }
// clang-format on

// ---------------------------------------------------------------------------------------
// Math. CUDA declares float and double overloads in the global namespace; so do these.
using std::abs, std::ceil, std::cos, std::erf, std::exp, std::exp2, std::expm1, std::fabs,
    std::floor, std::fma, std::fmax, std::fmin, std::isfinite, std::isinf, std::isnan, std::log,
    std::log1p, std::log2, std::pow, std::round, std::sin, std::sqrt, std::tanh, std::trunc;

// CUDA's min/max accept mixed arithmetic types with the usual conversions.
template <class A, class B>
  requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B>
std::common_type_t<A, B> min(A a, B b) {
  using C = std::common_type_t<A, B>;
  return static_cast<C>(b) < static_cast<C>(a) ? static_cast<C>(b) : static_cast<C>(a);
}
template <class A, class B>
  requires std::is_arithmetic_v<A> && std::is_arithmetic_v<B>
std::common_type_t<A, B> max(A a, B b) {
  using C = std::common_type_t<A, B>;
  return static_cast<C>(a) < static_cast<C>(b) ? static_cast<C>(b) : static_cast<C>(a);
}

inline float __fdividef(float x, float y) { return x / y; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
inline double rsqrt(double x) { return 1.0 / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __logf(float x) { return std::log(x); }
inline float __saturatef(float x) { return !(x > 0.0f) ? 0.0f : (x > 1.0f ? 1.0f : x); }  // NaN -> 0
inline float __int_as_float(int x) { return std::bit_cast<float>(x); }
inline int __float_as_int(float x) { return std::bit_cast<int>(x); }
inline float __uint_as_float(unsigned x) { return std::bit_cast<float>(x); }
inline unsigned __float_as_uint(float x) { return std::bit_cast<unsigned>(x); }
inline double __longlong_as_double(long long x) { return std::bit_cast<double>(x); }
inline long long __double_as_longlong(double x) { return std::bit_cast<long long>(x); }
inline int __ffs(int x) { return __builtin_ffs(x); }
inline int __ffsll(long long x) { return __builtin_ffsll(x); }
inline int __popc(unsigned x) { return std::popcount(x); }
inline int __popcll(unsigned long long x) { return std::popcount(x); }
inline int __clz(int x) { return std::countl_zero(static_cast<unsigned>(x)); }
inline int __clzll(long long x) { return std::countl_zero(static_cast<unsigned long long>(x)); }
template <class T>
T __ldg(const T* p) {
  return *p;
}

// ---------------------------------------------------------------------------------------
// Runtime API subset. Device memory is host memory; launches and copies are synchronous.
// Errors are remembered per host thread, as CUDA does, for cudaGetLastError.
const char* cudaGetErrorString(cudaError_t err);
const char* cudaGetErrorName(cudaError_t err);
cudaError_t cudaGetLastError();   // returns and clears the last error
cudaError_t cudaPeekAtLastError();  // returns it without clearing

cudaError_t cudaMalloc(void** ptr, std::size_t bytes);  // 0xFF-poisoned, like cudaMalloc's garbage
cudaError_t cudaFree(void* ptr);
cudaError_t cudaMallocAsync(void** ptr, std::size_t bytes, cudaStream_t stream);
cudaError_t cudaFreeAsync(void* ptr, cudaStream_t stream);
cudaError_t cudaMallocHost(void** ptr, std::size_t bytes);
cudaError_t cudaFreeHost(void* ptr);
template <class T>
cudaError_t cudaMalloc(T** ptr, std::size_t bytes) {
  return cudaMalloc(reinterpret_cast<void**>(ptr), bytes);
}
template <class T>
cudaError_t cudaMallocAsync(T** ptr, std::size_t bytes, cudaStream_t stream) {
  return cudaMallocAsync(reinterpret_cast<void**>(ptr), bytes, stream);
}
template <class T>
cudaError_t cudaMallocHost(T** ptr, std::size_t bytes) {
  return cudaMallocHost(reinterpret_cast<void**>(ptr), bytes);
}

cudaError_t cudaMemset(void* dst, int value, std::size_t bytes);
cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t stream = nullptr);
cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind);
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream = nullptr);
template <class T>
cudaError_t cudaMemcpyToSymbol(const T& symbol, const void* src, std::size_t bytes,
                               std::size_t offset = 0, cudaMemcpyKind kind = cudaMemcpyHostToDevice) {
  if (offset + bytes > sizeof(T)) return tl_emu::detail::fail(cudaErrorInvalidValue);
  return cudaMemcpy(reinterpret_cast<unsigned char*>(const_cast<T*>(&symbol)) + offset, src, bytes, kind);
}

cudaError_t cudaStreamCreate(cudaStream_t* stream);
cudaError_t cudaStreamDestroy(cudaStream_t stream);
cudaError_t cudaStreamSynchronize(cudaStream_t stream);
cudaError_t cudaDeviceSynchronize();
cudaError_t cudaGetDeviceCount(int* count);  // always 1: the emulated device
cudaError_t cudaGetDevice(int* device);
cudaError_t cudaSetDevice(int device);
cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device);
