// One binding source, compiled three times: _cpu (cpp/ kernels), _cuda (cuda/ kernels on a
// GPU) and _cuda_emu (cuda/ kernels run by the CPU emulation). Same names, same arguments:
// the Python ops layer allocates outputs on the inputs' device and passes them in.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <string>

#include "array.hpp"
#include "blas.hpp"
#include "isa.hpp"
#include "threads.hpp"

#if defined(TL_BACKEND_CUDA) || defined(TL_BACKEND_CUDA_EMU)
#include "distance.cuh"
#include "gpu_blas.cuh"
namespace kernels = tl::cuda::distance;
#else
#include "distance.hpp"
namespace kernels = tl::distance;
#endif

namespace py = pybind11;
using tl::bind::Array;

namespace {

void check_pair(const Array& X, const Array& Y) {
  if (X.itemsize != Y.itemsize)
    throw py::type_error("X and Y must have the same dtype, got " + X.dtype() + " and " + Y.dtype());
  if (X.shape[1] != Y.shape[1])
    throw py::value_error("X and Y must have the same number of features, got " +
                          std::to_string(X.shape[1]) + " and " + std::to_string(Y.shape[1]));
  if (X.shape[1] < 1) throw py::value_error("X and Y must have at least one feature");
}

void pairwise_distances(py::handle x, py::handle y, py::handle out, const std::string& metric,
                        bool same, int n_threads) {
  const Array X = tl::bind::matrix(x, "X"), Y = tl::bind::matrix(y, "Y");
  check_pair(X, Y);
  const int64_t m = X.shape[0], n = Y.shape[0], d = X.shape[1];
  const Array O = tl::bind::output(out, "out", 'f', X.itemsize, {m, n});
  const auto mt = kernels::parse_metric(metric);
  py::gil_scoped_release release;
  if (X.itemsize == 4)
    kernels::pairwise_distances(X.ptr<float>(), m, Y.ptr<float>(), n, d, mt, same, O.ptr<float>(), n_threads);
  else
    kernels::pairwise_distances(X.ptr<double>(), m, Y.ptr<double>(), n, d, mt, same, O.ptr<double>(), n_threads);
}

void argkmin(py::handle x, py::handle y, int64_t k, py::handle out_dist, py::handle out_idx,
             const std::string& metric, bool same, int n_threads) {
  const Array X = tl::bind::matrix(x, "X"), Y = tl::bind::matrix(y, "Y");
  check_pair(X, Y);
  const int64_t m = X.shape[0], n = Y.shape[0], d = X.shape[1];
  if (k < 1 || k > n)
    throw py::value_error("k must be between 1 and the number of rows of Y (" + std::to_string(n) +
                          "), got " + std::to_string(k));
  const Array D = tl::bind::output(out_dist, "out_dist", 'f', X.itemsize, {m, k});
  const Array I = tl::bind::output(out_idx, "out_idx", 'i', 8, {m, k});
  const auto mt = kernels::parse_metric(metric);
  py::gil_scoped_release release;
  if (X.itemsize == 4)
    kernels::argkmin(X.ptr<float>(), m, Y.ptr<float>(), n, d, k, mt, same, D.ptr<float>(), I.ptr<int64_t>(), n_threads);
  else
    kernels::argkmin(X.ptr<double>(), m, Y.ptr<double>(), n, d, k, mt, same, D.ptr<double>(), I.ptr<int64_t>(), n_threads);
}

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
  m.def("pairwise_distances", &pairwise_distances, py::arg("X"), py::arg("Y"), py::arg("out"),
        py::arg("metric"), py::arg("same"), py::arg("n_threads") = 0);
  m.def("argkmin", &argkmin, py::arg("X"), py::arg("Y"), py::arg("k"), py::arg("out_dist"),
        py::arg("out_idx"), py::arg("metric"), py::arg("same"), py::arg("n_threads") = 0);
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
