// Bindings of the distance op family: the same names and arguments in _cpu, _cuda, _cuda_emu.
#include <string>

#include "array.hpp"
#include "backend.hpp"

#if TL_ON_GPU
#include "distance.cuh"
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

}  // namespace

void tl::bind::bind_distance(py::module_& m) {
  m.def("pairwise_distances", &pairwise_distances, py::arg("X"), py::arg("Y"), py::arg("out"),
        py::arg("metric"), py::arg("same"), py::arg("n_threads") = 0);
  m.def("argkmin", &argkmin, py::arg("X"), py::arg("Y"), py::arg("k"), py::arg("out_dist"),
        py::arg("out_idx"), py::arg("metric"), py::arg("same"), py::arg("n_threads") = 0);
}
