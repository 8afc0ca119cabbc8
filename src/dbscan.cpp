// Bindings of the dbscan op family: the same names and arguments in _cpu, _cuda, _cuda_emu.
#include <cmath>
#include <string>

#include "array.hpp"
#include "backend.hpp"

#if TL_ON_GPU
#include "dbscan.cuh"
namespace kernels = tl::cuda::dbscan;
#else
#include "dbscan.hpp"
namespace kernels = tl::dbscan;
#endif

namespace py = pybind11;
using tl::bind::Array;

namespace {

// labels (n, int64) and core (n, uint8) are outputs; sample_weight is None or float64 (n,).
void dbscan_binding(py::handle x, double eps, double min_samples, py::handle sample_weight,
            const std::string& metric, py::handle out_labels, py::handle out_core, int n_threads) {
  const Array X = tl::bind::matrix(x, "X");
  const int64_t n = X.shape[0], d = X.shape[1];
  if (d < 1) throw py::value_error("X must have at least one feature");
  if (!(eps > 0) || !std::isfinite(eps)) throw py::value_error("eps must be positive and finite");
  const Array L = tl::bind::output(out_labels, "out_labels", 'i', 8, {n});
  const Array C = tl::bind::output(out_core, "out_core", 'u', 1, {n});
  const double* w = nullptr;
  if (!sample_weight.is_none()) {
    const Array W = tl::bind::as_array(sample_weight, "sample_weight");
    if (W.kind != 'f' || W.itemsize != 8) throw py::type_error("sample_weight must be float64");
    if (W.shape != std::vector<int64_t>{n})
      throw py::value_error("sample_weight must have shape (" + std::to_string(n) + ",)");
    w = W.ptr<double>();
  }
  const auto mt = kernels::parse_metric(metric);
  py::gil_scoped_release release;
  if (X.itemsize == 4)
    kernels::dbscan(X.ptr<float>(), n, d, eps, min_samples, w, mt, L.ptr<int64_t>(), C.ptr<uint8_t>(), n_threads);
  else
    kernels::dbscan(X.ptr<double>(), n, d, eps, min_samples, w, mt, L.ptr<int64_t>(), C.ptr<uint8_t>(), n_threads);
}

}  // namespace

void tl::bind::bind_dbscan(py::module_& m) {
  m.def("dbscan", &dbscan_binding, py::arg("X"), py::arg("eps"), py::arg("min_samples"),
        py::arg("sample_weight"), py::arg("metric"), py::arg("out_labels"), py::arg("out_core"),
        py::arg("n_threads") = 0);
}
