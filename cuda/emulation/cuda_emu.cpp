// CPU emulation of the CUDA subset: launches, barriers, warp operations, runtime API.
// See cuda_emu.hpp for the model and README.md for what is supported.
#include "cuda_emu.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

struct CUstream_st {};  // streams carry nothing: all work is synchronous

// new[] must give the 16-byte alignment CUDA guarantees for dynamic shared memory.
static_assert(__STDCPP_DEFAULT_NEW_ALIGNMENT__ >= 16);

namespace tl_emu {
namespace {

using Clock = std::chrono::steady_clock;

// Reports a kernel bug and stops: a deadlocked or divergent kernel cannot be resumed.
[[noreturn]] void fatal(const std::string& message) {
  static std::mutex once;  // the first report wins; other threads block here until abort
  once.lock();
  std::fprintf(stderr, "turbolearn CUDA emulation: %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

std::string coords(dim3 d) {
  return "(" + std::to_string(d.x) + "," + std::to_string(d.y) + "," + std::to_string(d.z) + ")";
}
std::string hex(unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}
std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}
Clock::time_point deadline(double timeout_s) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
}

// Watchdog timeout for every barrier wait: TL_EMU_BARRIER_TIMEOUT seconds, default 60.
double barrier_timeout() {
  if (const char* s = std::getenv("TL_EMU_BARRIER_TIMEOUT")) {
    char* end = nullptr;
    const double v = std::strtod(s, &end);
    if (end != s && v > 0) return v;
  }
  return 60.0;
}

// Where a thread waits at the block barrier: a __syncthreads() call site or the end of
// the kernel (the barrier the emulator adds after every block).
struct BlockWait {
  bool end_of_block;
  std::source_location site;
  dim3 thread;

  bool same_place(const BlockWait& o) const {
    return end_of_block == o.end_of_block &&
           (end_of_block || (site.line() == o.site.line() && std::string_view(site.file_name()) == o.site.file_name()));
  }
  std::string place() const {
    if (end_of_block) return "the end of the kernel";
    return "__syncthreads() at " + std::string(site.file_name()) + ":" + std::to_string(site.line());
  }
};

// The block's barrier: mutex + condition variable + generation counter, which
// ThreadSanitizer understands as synchronisation. Every generation must be reached by all
// threads at the same place; anything else is undefined behaviour on a GPU.
class BlockBarrier {
 public:
  BlockBarrier(unsigned count, double timeout) : count_(count), timeout_(timeout) {}

  // The last thread to arrive runs `complete` before anyone is released.
  template <class F>
  void wait(const BlockWait& w, F complete) {
    std::unique_lock lock(mutex_);
    if (arrived_ == 0) {
      first_ = w;
    } else if (!first_.same_place(w)) {
      fatal("divergent __syncthreads in block " + coords(detail::block_idx) + ": thread " + coords(w.thread) +
            " reached " + w.place() + " while thread " + coords(first_.thread) + " waits at " + first_.place());
    }
    if (++arrived_ == count_) {
      complete();
      arrived_ = 0;
      ++generation_;
      cv_.notify_all();
      return;
    }
    const unsigned long long gen = generation_;
    if (!cv_.wait_until(lock, deadline(timeout_), [&] { return generation_ != gen; }))
      fatal("barrier deadlock in block " + coords(detail::block_idx) + ": " + std::to_string(arrived_) + " of " +
            std::to_string(count_) + " threads wait at " + first_.place() + " for more than " + seconds(timeout_) +
            "; the others are stuck elsewhere (a warp operation, a loop)");
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  const unsigned count_;
  const double timeout_;
  unsigned arrived_ = 0;
  unsigned long long generation_ = 0;
  BlockWait first_{};
};

const char* op_name(detail::WarpOp op) {
  switch (op) {
    case detail::WarpOp::syncwarp: return "__syncwarp";
    case detail::WarpOp::shfl_idx: return "__shfl_sync";
    case detail::WarpOp::shfl_up: return "__shfl_up_sync";
    case detail::WarpOp::shfl_down: return "__shfl_down_sync";
    case detail::WarpOp::shfl_xor: return "__shfl_xor_sync";
    case detail::WarpOp::vote: return "__ballot_sync/__any_sync/__all_sync";
  }
  return "?";
}

// One warp-synchronous operation in flight among the lanes of `mask`. Lanes match by mask,
// as on a GPU, so disjoint groups of lanes (e.g. two half warps) may work independently.
struct WarpExchange {
  unsigned mask = 0;
  detail::WarpOp op{};
  unsigned arrived = 0, left = 0;  // lane bits
  bool complete = false;
  std::array<std::uint64_t, warp_size> value{};
};

struct Warp {
  std::mutex mutex;
  std::condition_variable cv;
  unsigned lanes = 0;   // the lanes that exist (the last warp of a block may be partial)
  unsigned exited = 0;  // lanes that returned from the kernel in the current block
  std::list<WarpExchange> pending;
};

struct Launch {
  Launch(dim3 g, dim3 b, std::size_t bytes, detail::Body f, const void* c)
      : grid(g), block(b), threads(b.x * b.y * b.z), shmem(bytes), smem(new unsigned char[bytes]),
        timeout(barrier_timeout()), barrier(threads, timeout), warps(new Warp[(threads + warp_size - 1) / warp_size]),
        body(f), ctx(c) {
    for (unsigned t = 0; t < threads; ++t) warps[t / warp_size].lanes |= 1u << (t % warp_size);
    poison_shared();
  }
  // Unwritten shared memory reads as NaN / -1 instead of a previous block's values.
  void poison_shared() { std::memset(smem.get(), 0xFF, shmem); }

  const dim3 grid, block;
  const unsigned threads;
  const std::size_t shmem;
  const std::unique_ptr<unsigned char[]> smem;  // new[]: AddressSanitizer sees overflows
  const double timeout;
  BlockBarrier barrier;
  const std::unique_ptr<Warp[]> warps;
  const detail::Body body;
  const void* const ctx;
};

// The launch and linear thread id of the calling thread; null launch outside kernels.
struct Self {
  Launch* launch = nullptr;
  unsigned tid = 0;
};
thread_local Self t_self;

Self& current(const char* what) {
  if (!t_self.launch) fatal(std::string(what) + " called outside a kernel launched with TL_LAUNCH");
  return t_self;
}

std::mutex launch_mutex;  // one launch at a time: static __shared__ variables rely on it

// The lanes' values of one warp operation, as seen by the calling lane.
struct Exchanged {
  std::array<std::uint64_t, warp_size> value;
  unsigned members;  // the lanes that took part
  unsigned lane;     // the caller's lane
};

Exchanged exchange(detail::WarpOp op, unsigned mask, std::uint64_t value) {
  const Self& self = current(op_name(op));
  const unsigned lane = self.tid % warp_size, bit = 1u << lane;
  Warp& w = self.launch->warps[self.tid / warp_size];
  const auto where = [&] {
    return "block " + coords(detail::block_idx) + " warp " + std::to_string(self.tid / warp_size) + " lane " +
           std::to_string(lane);
  };
  if (!(mask & bit)) fatal(std::string(op_name(op)) + " in " + where() + ": mask " + hex(mask) + " omits the calling lane");

  std::unique_lock lock(w.mutex);
  const unsigned members = mask & w.lanes;  // lanes past the end of a partial warp are ignored
  if (const unsigned gone = members & w.exited)
    fatal("divergent warp operation in " + where() + ": " + op_name(op) + " with mask " + hex(mask) +
          " waits for lanes " + hex(gone) + " that returned from the kernel");
  auto it = std::find_if(w.pending.begin(), w.pending.end(),
                         [&](const WarpExchange& e) { return !e.complete && e.mask == members; });
  if (it == w.pending.end()) {
    it = w.pending.emplace(w.pending.end());
    it->mask = members;
    it->op = op;
  } else if (it->op != op) {
    fatal("divergent warp operation in " + where() + ": called " + op_name(op) + " while lanes " + hex(it->arrived) +
          " wait in " + op_name(it->op) + " with the same mask " + hex(mask));
  }
  it->value[lane] = value;
  it->arrived |= bit;
  if (it->arrived == members) {
    it->complete = true;
    w.cv.notify_all();
  } else if (!w.cv.wait_until(lock, deadline(self.launch->timeout), [&] { return it->complete; })) {
    fatal("barrier deadlock in " + where() + ": lanes " + hex(it->arrived) + " wait in " + op_name(op) + " with mask " +
          hex(mask) + " for more than " + seconds(self.launch->timeout) + "; lanes " + hex(members & ~it->arrived) +
          " never called it");
  }
  Exchanged out{it->value, members, lane};
  it->left |= bit;
  if (it->left == members) w.pending.erase(it);  // the last reader frees the exchange
  return out;
}

// A lane returned from the kernel: any lane still waiting for it would wait forever.
void leave_warp(Warp& w, unsigned lane) {
  std::lock_guard lock(w.mutex);
  w.exited |= 1u << lane;
  for (const WarpExchange& e : w.pending)
    if (!e.complete && (e.mask >> lane & 1u))
      fatal("divergent warp operation in block " + coords(detail::block_idx) + ": lane " + std::to_string(lane) +
            " returned from the kernel while lanes " + hex(e.arrived) + " wait for it in " + op_name(e.op) +
            " with mask " + hex(e.mask));
}

// One of the block's threads: runs every block of the grid in order (x fastest).
void worker(Launch& L, unsigned tid) {
  t_self = {&L, tid};
  detail::block_dim = L.block;
  detail::grid_dim = L.grid;
  detail::thread_idx = dim3(tid % L.block.x, tid / L.block.x % L.block.y, tid / (L.block.x * L.block.y));
  Warp& warp = L.warps[tid / warp_size];
  const BlockWait end{true, {}, detail::thread_idx};
  for (unsigned z = 0; z < L.grid.z; ++z)
    for (unsigned y = 0; y < L.grid.y; ++y)
      for (unsigned x = 0; x < L.grid.x; ++x) {
        detail::block_idx = dim3(x, y, z);
        L.body(L.ctx);
        leave_warp(warp, tid % warp_size);
        // One barrier per block; its completion step prepares the next block.
        L.barrier.wait(end, [&L] {
          L.poison_shared();
          for (unsigned w = 0; w < (L.threads + warp_size - 1) / warp_size; ++w) {
            std::lock_guard lock(L.warps[w].mutex);
            L.warps[w].exited = 0;
          }
        });
      }
  t_self = {};
}

thread_local cudaError_t t_last_error = cudaSuccess;

}  // namespace

void* dynamic_shared() { return current("TL_DYNAMIC_SHARED").launch->smem.get(); }

void syncthreads(std::source_location where) {
  Self& self = current("__syncthreads");
  self.launch->barrier.wait(BlockWait{false, where, detail::thread_idx}, [] {});
}

namespace detail {

cudaError_t fail(cudaError_t err) {
  if (err != cudaSuccess) t_last_error = err;
  return err;
}

void run_grid(dim3 grid, dim3 block, std::size_t shmem, Body body, const void* ctx) {
  if (t_self.launch) fatal("TL_LAUNCH inside a kernel (dynamic parallelism) is not supported");
  const unsigned long long threads = 1ull * block.x * block.y * block.z;
  const bool valid = threads >= 1 && threads <= max_threads_per_block && block.z <= 64 && grid.x >= 1 &&
                     grid.y >= 1 && grid.z >= 1 && grid.x <= INT_MAX && grid.y <= 65535 && grid.z <= 65535 &&
                     shmem <= max_dynamic_shared_bytes;
  if (!valid) {
    fail(cudaErrorInvalidConfiguration);  // like CUDA: nothing runs, cudaGetLastError reports it
    return;
  }
  std::lock_guard lock(launch_mutex);
  Launch L(grid, block, shmem, body, ctx);
  std::vector<std::thread> pool;
  pool.reserve(L.threads);
  try {
    for (unsigned t = 0; t < L.threads; ++t) pool.emplace_back(worker, std::ref(L), t);
  } catch (const std::system_error& e) {
    fatal("cannot start " + std::to_string(L.threads) + " threads for block " + coords(block) + ": " + e.what());
  }
  for (std::thread& t : pool) t.join();
}

std::uint64_t shfl(WarpOp op, unsigned mask, std::uint64_t bits, long long b, int width) {
  if (width < 1 || width > warp_size || (width & (width - 1)) != 0)
    fatal(std::string(op_name(op)) + ": width " + std::to_string(width) + " is not a power of two in [1, 32]");
  const Exchanged ex = exchange(op, mask, bits);
  // PTX shfl.sync semantics: segmask selects the lane's width-sized segment; a source
  // outside the allowed range yields the caller's own value.
  const long long lane = ex.lane, seg = warp_size - width;
  const long long first = lane & seg, last = first | (op == WarpOp::shfl_up ? 0 : (31 & ~seg));
  long long src = lane;
  bool ok = true;
  switch (op) {
    case WarpOp::shfl_idx: src = first | (b & 31 & ~seg); ok = src <= last; break;
    case WarpOp::shfl_up: src = lane - b; ok = src >= last; break;
    case WarpOp::shfl_down: src = lane + b; ok = src <= last; break;
    case WarpOp::shfl_xor: src = lane ^ b; ok = src >= 0 && src <= last; break;
    default: break;
  }
  if (!ok) src = lane;
  // Reading a lane that does not take part is undefined on a GPU: give poison.
  return (ex.members >> src & 1u) ? ex.value[src] : ~std::uint64_t{0};
}

unsigned vote(unsigned mask, bool pred, unsigned* members) {
  const Exchanged ex = exchange(WarpOp::vote, mask, pred);
  unsigned ballot = 0;
  for (int l = 0; l < warp_size; ++l)
    if ((ex.members >> l & 1u) && ex.value[l]) ballot |= 1u << l;
  *members = ex.members;
  return ballot;
}

void syncwarp(unsigned mask) { exchange(WarpOp::syncwarp, mask, 0); }

}  // namespace detail
}  // namespace tl_emu

// ---------------------------------------------------------------------------------------
// Runtime API.
using tl_emu::detail::fail;

const char* cudaGetErrorName(cudaError_t err) {
  switch (err) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInitializationError: return "cudaErrorInitializationError";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorNotSupported: return "cudaErrorNotSupported";
    case cudaErrorUnknown: return "cudaErrorUnknown";
  }
  return "unrecognized error code";
}

const char* cudaGetErrorString(cudaError_t err) {  // CUDA's own wording
  switch (err) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInitializationError: return "initialization error";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorLaunchFailure: return "unspecified launch failure";
    case cudaErrorNotSupported: return "operation not supported";
    case cudaErrorUnknown: return "unknown error";
  }
  return "unrecognized error code";
}

cudaError_t cudaGetLastError() {
  const cudaError_t err = tl_emu::t_last_error;
  tl_emu::t_last_error = cudaSuccess;
  return err;
}
cudaError_t cudaPeekAtLastError() { return tl_emu::t_last_error; }

cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  if (!ptr) return fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  void* p = std::malloc(bytes);
  if (!p) return fail(cudaErrorMemoryAllocation);
  std::memset(p, 0xFF, bytes);  // device memory starts as garbage; make reading it visible
  *ptr = p;
  return cudaSuccess;
}
cudaError_t cudaFree(void* ptr) {
  std::free(ptr);
  return cudaSuccess;
}
cudaError_t cudaMallocAsync(void** ptr, std::size_t bytes, cudaStream_t) { return cudaMalloc(ptr, bytes); }
cudaError_t cudaFreeAsync(void* ptr, cudaStream_t) { return cudaFree(ptr); }
cudaError_t cudaMallocHost(void** ptr, std::size_t bytes) { return cudaMalloc(ptr, bytes); }
cudaError_t cudaFreeHost(void* ptr) { return cudaFree(ptr); }

cudaError_t cudaMemset(void* dst, int value, std::size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (!dst) return fail(cudaErrorInvalidValue);
  std::memset(dst, value, bytes);
  return cudaSuccess;
}
cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t) {
  return cudaMemset(dst, value, bytes);
}

cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (kind < cudaMemcpyHostToHost || kind > cudaMemcpyDefault) return fail(cudaErrorInvalidMemcpyDirection);
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return fail(cudaErrorInvalidValue);
  std::memcpy(dst, src, bytes);  // memcpy, not memmove: AddressSanitizer flags overlap, as CUDA forbids it
  return cudaSuccess;
}
cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind, cudaStream_t) {
  return cudaMemcpy(dst, src, bytes, kind);
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  if (!stream) return fail(cudaErrorInvalidValue);
  *stream = new CUstream_st;
  return cudaSuccess;
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (!stream) return fail(cudaErrorInvalidResourceHandle);
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return fail(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  if (!device) return fail(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) { return device == 0 ? cudaSuccess : fail(cudaErrorInvalidDevice); }

cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (!value) return fail(cudaErrorInvalidValue);
  if (device != 0) return fail(cudaErrorInvalidDevice);
  switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: *value = tl_emu::max_threads_per_block; break;
    case cudaDevAttrMaxBlockDimX: *value = 1024; break;
    case cudaDevAttrMaxBlockDimY: *value = 1024; break;
    case cudaDevAttrMaxBlockDimZ: *value = 64; break;
    case cudaDevAttrMaxGridDimX: *value = INT_MAX; break;
    case cudaDevAttrMaxGridDimY: *value = 65535; break;
    case cudaDevAttrMaxGridDimZ: *value = 65535; break;
    case cudaDevAttrMaxSharedMemoryPerBlock: *value = static_cast<int>(tl_emu::max_dynamic_shared_bytes); break;
    case cudaDevAttrTotalConstantMemory: *value = 64 * 1024; break;
    case cudaDevAttrWarpSize: *value = tl_emu::warp_size; break;
    case cudaDevAttrMultiProcessorCount: *value = 4; break;  // small, so grids sized by SM count stay quick
    default: return fail(cudaErrorInvalidValue);
  }
  return cudaSuccess;
}
