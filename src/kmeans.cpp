// Bindings of the k-means op family: the same names and arguments in _cpu, _cuda, _cuda_emu.
// Every array is checked (dtype, shape, contiguity, writeability, device) before the GIL is
// released; the ops layer allocates outputs on the inputs' device.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "array.hpp"
#include "backend.hpp"

#if TL_ON_GPU
#include "kmeans.cuh"
namespace kernels = tl::cuda::kmeans;
#else
#include "kmeans.hpp"
namespace kernels = tl::kmeans;
#endif

namespace py = pybind11;
using tl::bind::Array;
using tl::bind::input_like;

namespace {

struct Problem {
  Array X, C;
  int64_t n, d, k;
};

Problem problem(py::handle x, py::handle centers, const char* centers_name) {
  Problem p{tl::bind::matrix(x, "X"), tl::bind::matrix(centers, centers_name), 0, 0, 0};
  p.n = p.X.shape[0];
  p.d = p.X.shape[1];
  p.k = p.C.shape[0];
  tl::bind::require_dtype_of(p.C, p.X);
  if (p.C.shape[1] != p.d)
    throw py::value_error(std::string(centers_name) + " must have " + std::to_string(p.d) +
                          " features like X, got " + std::to_string(p.C.shape[1]));
  if (p.d < 1) throw py::value_error("X must have at least one feature");
  if (p.k < 1) throw py::value_error(std::string(centers_name) + " must have at least one row");
  if (p.k >= (int64_t(1) << 24))
    throw py::value_error("at most 16777215 centres are supported, got " + std::to_string(p.k));
  return p;
}

py::tuple result(const kernels::Assignment& a) { return py::make_tuple(a.inertia, a.n_changed); }

void row_sqnorms(py::handle x, py::handle out, int n_threads) {
  const Array X = tl::bind::matrix(x, "X");
  const Array O = tl::bind::output(out, "out", 'f', X.itemsize, {X.shape[0]});
  py::gil_scoped_release release;
  if (X.itemsize == 4)
    kernels::row_sqnorms(X.ptr<float>(), X.shape[0], X.shape[1], O.ptr<float>(), n_threads);
  else
    kernels::row_sqnorms(X.ptr<double>(), X.shape[0], X.shape[1], O.ptr<double>(), n_threads);
}

// An array of float64 values with an exact shape (the dot products and norms of k-means++).
Array float64_input(py::handle obj, const char* name, std::vector<int64_t> shape) {
  Array a = tl::bind::as_array(obj, name);
  if (a.kind != 'f' || a.itemsize != 8)
    throw py::type_error(std::string(name) + " must be float64, got " + a.dtype());
  tl::bind::require_shape(a, shape);
  return a;
}

void plusplus_distances(py::handle g, py::handle xx, py::handle yy, py::handle closest,
                        py::handle out, int n_threads) {
  const Array G = tl::bind::as_array(g, "G");
  if (G.shape.size() != 2) throw py::value_error("G must be 2-D");
  const int64_t m = G.shape[0], n = G.shape[1];
  float64_input(g, "G", {m, n});
  const Array XX = float64_input(xx, "xx", {m}), YY = float64_input(yy, "yy", {n});
  const Array O = tl::bind::as_array(out, "out");
  tl::bind::require_float(O);
  const Array Ow = tl::bind::output(out, "out", 'f', O.itemsize, {m, n});
  Array Cl;
  if (!closest.is_none()) {
    Cl = tl::bind::as_array(closest, "closest");
    tl::bind::require_dtype_of(Cl, O);
    int64_t size = 1;
    for (int64_t s : Cl.shape) size *= s;
    if (size != n) throw py::value_error("closest must have " + std::to_string(n) + " values");
  }
  py::gil_scoped_release release;
  if (O.itemsize == 4)
    kernels::plusplus_distances(G.ptr<double>(), m, n, XX.ptr<double>(), YY.ptr<double>(),
                                Cl.ptr<float>(), Ow.ptr<float>(), n_threads);
  else
    kernels::plusplus_distances(G.ptr<double>(), m, n, XX.ptr<double>(), YY.ptr<double>(),
                                Cl.ptr<double>(), Ow.ptr<double>(), n_threads);
}

py::tuple assign(py::handle x, py::handle x_sqnorms, py::handle sample_weight, py::handle centers,
                 py::handle labels, bool exact, int n_threads) {
  const Problem p = problem(x, centers, "centers");
  const Array W = input_like(sample_weight, "sample_weight", p.X, {p.n});
  const bool have_norms = !x_sqnorms.is_none();
  if (!exact && !have_norms) throw py::value_error("x_sqnorms is required unless exact=True");
  const Array N = tl::bind::optional_input_like(x_sqnorms, "x_sqnorms", p.X, {p.n});
  const Array L = tl::bind::output(labels, "labels", 'i', 4, {p.n});
  kernels::Assignment a;
  {
    py::gil_scoped_release release;
    if (p.X.itemsize == 4)
      a = kernels::assign(p.X.ptr<float>(), N.ptr<float>(), W.ptr<float>(), p.n, p.d, p.C.ptr<float>(),
                          p.k, L.ptr<int32_t>(), exact, n_threads);
    else
      a = kernels::assign(p.X.ptr<double>(), N.ptr<double>(), W.ptr<double>(), p.n, p.d,
                          p.C.ptr<double>(), p.k, L.ptr<int32_t>(), exact, n_threads);
  }
  return result(a);
}

py::tuple lloyd_iter(py::handle x, py::handle x_sqnorms, py::handle sample_weight,
                     py::handle centers_old, py::handle centers_new, py::handle weight_in_clusters,
                     py::handle labels, py::handle center_shift, int n_threads) {
  const Problem p = problem(x, centers_old, "centers_old");
  const Array N = input_like(x_sqnorms, "x_sqnorms", p.X, {p.n});
  const Array W = input_like(sample_weight, "sample_weight", p.X, {p.n});
  const Array Cn = tl::bind::output(centers_new, "centers_new", 'f', p.X.itemsize, {p.k, p.d});
  if (Cn.data == p.C.data) throw py::value_error("centers_new must not be centers_old");
  const Array Wc = tl::bind::output(weight_in_clusters, "weight_in_clusters", 'f', p.X.itemsize, {p.k});
  const Array L = tl::bind::output(labels, "labels", 'i', 4, {p.n});
  const Array S = tl::bind::output(center_shift, "center_shift", 'f', p.X.itemsize, {p.k});
  kernels::Assignment a;
  {
    py::gil_scoped_release release;
    if (p.X.itemsize == 4)
      a = kernels::lloyd_iter(p.X.ptr<float>(), N.ptr<float>(), W.ptr<float>(), p.n, p.d,
                              p.C.ptr<float>(), p.k, Cn.ptr<float>(), Wc.ptr<float>(),
                              L.ptr<int32_t>(), S.ptr<float>(), n_threads);
    else
      a = kernels::lloyd_iter(p.X.ptr<double>(), N.ptr<double>(), W.ptr<double>(), p.n, p.d,
                              p.C.ptr<double>(), p.k, Cn.ptr<double>(), Wc.ptr<double>(),
                              L.ptr<int32_t>(), S.ptr<double>(), n_threads);
  }
  return result(a);
}

py::tuple minibatch_step(py::handle x, py::handle sample_weight, py::handle centers_old,
                         py::handle centers_new, py::handle weight_sums, py::handle labels,
                         int n_threads) {
  const Problem p = problem(x, centers_old, "centers_old");
  const Array W = input_like(sample_weight, "sample_weight", p.X, {p.n});
  const Array Cn = tl::bind::output(centers_new, "centers_new", 'f', p.X.itemsize, {p.k, p.d});
  const Array Ws = tl::bind::output(weight_sums, "weight_sums", 'f', p.X.itemsize, {p.k});
  const Array L = tl::bind::output(labels, "labels", 'i', 4, {p.n});
  kernels::Assignment a;
  {
    py::gil_scoped_release release;
    if (p.X.itemsize == 4)
      a = kernels::minibatch_step(p.X.ptr<float>(), W.ptr<float>(), p.n, p.d, p.C.ptr<float>(), p.k,
                                  Cn.ptr<float>(), Ws.ptr<float>(), L.ptr<int32_t>(), n_threads);
    else
      a = kernels::minibatch_step(p.X.ptr<double>(), W.ptr<double>(), p.n, p.d, p.C.ptr<double>(),
                                  p.k, Cn.ptr<double>(), Ws.ptr<double>(), L.ptr<int32_t>(), n_threads);
  }
  return result(a);
}

}  // namespace

void tl::bind::bind_kmeans(py::module_& m) {
  m.def("kmeans_row_sqnorms", &row_sqnorms, py::arg("X"), py::arg("out"), py::arg("n_threads") = 0);
  m.def("kmeans_plusplus_distances", &plusplus_distances, py::arg("G"), py::arg("xx"),
        py::arg("yy"), py::arg("closest"), py::arg("out"), py::arg("n_threads") = 0,
        "k-means++ candidate distances from float64 dot products, in scikit-learn's order.");
  m.def("kmeans_assign", &assign, py::arg("X"), py::arg("x_sqnorms"), py::arg("sample_weight"),
        py::arg("centers"), py::arg("labels"), py::arg("exact"), py::arg("n_threads") = 0,
        "Labels (in place) and (inertia, n_changed) of X against centers.");
  m.def("kmeans_lloyd_iter", &lloyd_iter, py::arg("X"), py::arg("x_sqnorms"),
        py::arg("sample_weight"), py::arg("centers_old"), py::arg("centers_new"),
        py::arg("weight_in_clusters"), py::arg("labels"), py::arg("center_shift"),
        py::arg("n_threads") = 0, "One Lloyd iteration; returns (inertia, n_changed).");
  m.def("kmeans_minibatch_step", &minibatch_step, py::arg("X"), py::arg("sample_weight"),
        py::arg("centers_old"), py::arg("centers_new"), py::arg("weight_sums"), py::arg("labels"),
        py::arg("n_threads") = 0, "One mini-batch update; returns (inertia, n_changed).");
}
