// Bindings of the softmax_xent op family: the same names and arguments in _cpu, _cuda,
// _cuda_emu. Labels are int64 class indices (n,) or a float (n, k) array of target
// probabilities of the logits' dtype; the ops layer converts other integer dtypes.
#include <cstdint>
#include <string>
#include <vector>

#include "array.hpp"
#include "backend.hpp"

#if TL_ON_GPU
#include "softmax_xent.cuh"
namespace kernels = tl::cuda::softmax_xent;
#else
#include "softmax_xent.hpp"
namespace kernels = tl::softmax_xent;
#endif

namespace py = pybind11;
using tl::bind::Array;
using tl::bind::input_like;
using tl::bind::shape_str;

namespace {

// Sparse (int64, (n,)) or categorical (the dtype of Z, (n, k)) labels.
struct Labels {
  Array sparse, dense;
};

Labels labels_for(py::handle labels, const Array& Z) {
  const int64_t n = Z.shape[0], k = Z.shape[1];
  const Array L = tl::bind::as_array(labels, "labels");
  Labels out;
  if (L.kind == 'i') {
    if (L.itemsize != 8) throw py::type_error("integer labels must be int64, got " + L.dtype());
    if (L.shape != std::vector<int64_t>{n})
      throw py::value_error("integer labels must have shape " + shape_str({n}) + ", got " +
                            shape_str(L.shape));
    out.sparse = L;
  } else if (L.kind == 'f') {
    out.dense = input_like(labels, "labels", Z, {n, k});
  } else {
    throw py::type_error("labels must be int64 class indices or float target probabilities, got " +
                         L.dtype());
  }
  return out;
}

Array logits_like(py::handle obj, const char* name) {
  const Array Z = tl::bind::matrix(obj, name);
  if (Z.shape[1] < 1) throw py::value_error(std::string(name) + " must have at least one class (column)");
  return Z;
}

void forward(py::handle logits, py::handle labels, py::handle loss, py::handle probs, int n_threads) {
  const Array Z = logits_like(logits, "logits");
  const int64_t n = Z.shape[0], k = Z.shape[1];
  const Labels L = labels_for(labels, Z);
  const Array Lo = tl::bind::output(loss, "loss", 'f', Z.itemsize, {n});
  const Array P = tl::bind::output(probs, "probs", 'f', Z.itemsize, {n, k});
  py::gil_scoped_release release;
  if (Z.itemsize == 4)
    kernels::forward(Z.ptr<float>(), n, k, L.sparse.ptr<int64_t>(), L.dense.ptr<float>(), Lo.ptr<float>(),
                     P.ptr<float>(), n_threads);
  else
    kernels::forward(Z.ptr<double>(), n, k, L.sparse.ptr<int64_t>(), L.dense.ptr<double>(),
                     Lo.ptr<double>(), P.ptr<double>(), n_threads);
}

void backward(py::handle probs, py::handle labels, py::handle grad_loss, py::handle dlogits,
              int n_threads) {
  const Array P = logits_like(probs, "probs");
  const int64_t n = P.shape[0], k = P.shape[1];
  const Labels L = labels_for(labels, P);
  const Array G = input_like(grad_loss, "grad_loss", P, {n});
  const Array D = tl::bind::output(dlogits, "dlogits", 'f', P.itemsize, {n, k});
  py::gil_scoped_release release;
  if (P.itemsize == 4)
    kernels::backward(P.ptr<float>(), n, k, L.sparse.ptr<int64_t>(), L.dense.ptr<float>(), G.ptr<float>(),
                      D.ptr<float>(), n_threads);
  else
    kernels::backward(P.ptr<double>(), n, k, L.sparse.ptr<int64_t>(), L.dense.ptr<double>(),
                      G.ptr<double>(), D.ptr<double>(), n_threads);
}

}  // namespace

void tl::bind::bind_softmax_xent(py::module_& m) {
  m.def("softmax_xent_forward", &forward, py::arg("logits"), py::arg("labels"), py::arg("loss"),
        py::arg("probs"), py::arg("n_threads") = 0,
        "Per-row cross-entropy of softmax(logits) into loss, the probabilities into probs.");
  m.def("softmax_xent_backward", &backward, py::arg("probs"), py::arg("labels"),
        py::arg("grad_loss"), py::arg("dlogits"), py::arg("n_threads") = 0,
        "dlogits = (probs - labels) * grad_loss[:, None] (labels one-hot when sparse).");
}
