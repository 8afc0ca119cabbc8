// The module of each backend: the binding sources (src/*.cpp) are compiled three times, into
// _cpu (cpp/ kernels), _cuda (cuda/ kernels on a GPU) and _cuda_emu (cuda/ kernels run by the
// CPU emulation). Same names, same arguments: the Python ops layer allocates outputs on the
// inputs' device and passes them in. Each op family registers itself (src/backend.hpp).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "backend.hpp"
#include "blas.hpp"
#include "isa.hpp"
#include "threads.hpp"

#if TL_ON_GPU
#include "gpu_blas.cuh"
#endif

namespace py = pybind11;

namespace {

#ifndef TL_BACKEND_CUDA
// scipy.linalg.cython_blas exports its functions as PyCapsules named by their signature.
void* capsule_pointer(py::handle capsule) {
  PyObject* obj = capsule.ptr();
  void* p = PyCapsule_GetPointer(obj, PyCapsule_GetName(obj));
  if (p == nullptr) throw py::error_already_set();
  return p;
}

void set_blas(py::handle sgemm, py::handle dgemm, uintptr_t set_threads, uintptr_t get_threads) {
  auto& t = tl::blas::table();
  t.sgemm = reinterpret_cast<tl::blas::sgemm_fn>(capsule_pointer(sgemm));
  t.dgemm = reinterpret_cast<tl::blas::dgemm_fn>(capsule_pointer(dgemm));
  t.set_threads = reinterpret_cast<tl::blas::set_threads_fn>(set_threads);
  t.get_threads = reinterpret_cast<tl::blas::get_threads_fn>(get_threads);
}
#endif

py::dict build_info() {
  py::dict info;
  info["compiler"] = TL_COMPILER;
  info["backend"] = TL_BACKEND_NAME;
#ifdef TL_BACKEND_CUDA
  info["cuda_runtime"] = CUDART_VERSION;
  info["cuda_architectures"] = TL_CUDA_ARCHITECTURES;
#endif
  return info;
}

}  // namespace

PYBIND11_MODULE(TL_MODULE_NAME, m) {
  m.doc() = "turbolearn kernels (" TL_BACKEND_NAME ")";
  tl::bind::bind_distance(m);
  tl::bind::bind_dbscan(m);
  tl::bind::bind_kmeans(m);
  tl::bind::bind_dense(m);
  tl::bind::bind_softmax_xent(m);
  tl::bind::bind_optim(m);
  tl::bind::bind_pool2d(m);
  tl::bind::bind_rnn(m);
  tl::bind::bind_conv2d(m);
  m.def("build_info", &build_info);
#ifdef TL_BACKEND_CUDA
  m.def("device_count", [] {
    int n = 0;
    return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
  });
  m.def("set_gpu_blas", [](uintptr_t handle, uintptr_t stream, uintptr_t sgemm, uintptr_t dgemm,
                           uintptr_t set_stream) {
    auto& t = tl::cuda::blas::table();
    t.handle = reinterpret_cast<void*>(handle);
    t.stream = reinterpret_cast<cudaStream_t>(stream);
    t.sgemm = reinterpret_cast<tl::cuda::blas::sgemm_fn>(sgemm);
    t.dgemm = reinterpret_cast<tl::cuda::blas::dgemm_fn>(dgemm);
    t.set_stream = reinterpret_cast<tl::cuda::blas::set_stream_fn>(set_stream);
  });
#else
  // _cpu, and _cuda_emu whose emulated cuBLAS calls the same CPU BLAS.
  m.def("set_blas", &set_blas, py::arg("sgemm"), py::arg("dgemm"), py::arg("set_threads") = 0,
        py::arg("get_threads") = 0);
#endif
#ifdef TL_BACKEND_CPU
  m.def("get_num_threads", &tl::threads::get);
  m.def("set_num_threads", [](int n) {
    if (n < 1) throw py::value_error("the number of threads must be >= 1, got " + std::to_string(n));
    tl::threads::set(n);
  });
  m.def("simd_level", [] { return std::string(tl::isa::name(tl::isa::active())); });
  m.def("simd_detected", [] { return std::string(tl::isa::name(tl::isa::detected())); });
  m.def("set_simd_level", [](const std::string& level) { tl::isa::set_active(tl::isa::parse(level)); });
#endif
}
