// Bindings of the dense op family: the same names and arguments in _cpu, _cuda, _cuda_emu.
// Every array is checked (dtype, shape, contiguity, writeability, device) before the GIL is
// released; the ops layer allocates outputs on the inputs' device.
#include <cstdint>
#include <string>
#include <vector>

#include "array.hpp"
#include "backend.hpp"

#if TL_ON_GPU
#include "dense.cuh"
namespace kernels = tl::cuda::dense;
#else
#include "dense.hpp"
namespace kernels = tl::dense;
#endif

namespace py = pybind11;
using tl::bind::Array;
using tl::bind::input_like;
using tl::bind::shape_str;

namespace {

struct Layer {
  Array X, W;
  int64_t n, d_in, d_out;
  tl::dense::Activation act;
};

Layer layer(py::handle x, py::handle kernel, const std::string& activation) {
  Layer l{tl::bind::matrix(x, "x"), tl::bind::matrix(kernel, "kernel"), 0, 0, 0,
          tl::dense::Activation::linear};
  l.n = l.X.shape[0];
  l.d_in = l.X.shape[1];
  l.d_out = l.W.shape[1];
  tl::bind::require_dtype_of(l.W, l.X);
  if (l.W.shape[0] != l.d_in)
    throw py::value_error("kernel must have " + std::to_string(l.d_in) +
                          " rows (the features of x), got shape " + shape_str(l.W.shape));
  if (l.d_in < 1) throw py::value_error("x must have at least one feature");
  if (l.d_out < 1) throw py::value_error("kernel must have at least one column (unit)");
  l.act = tl::dense::parse_activation(activation);  // std::invalid_argument -> ValueError
  return l;
}

void forward(py::handle x, py::handle kernel, py::handle bias, py::handle out,
             const std::string& activation, int n_threads) {
  const Layer l = layer(x, kernel, activation);
  const Array B = tl::bind::optional_input_like(bias, "bias", l.X, {l.d_out});
  const Array O = tl::bind::output(out, "out", 'f', l.X.itemsize, {l.n, l.d_out});
  if (O.data == l.X.data || O.data == l.W.data) throw py::value_error("out must not be x or kernel");
  py::gil_scoped_release release;
  if (l.X.itemsize == 4)
    kernels::forward(l.X.ptr<float>(), l.n, l.d_in, l.W.ptr<float>(), l.d_out, B.ptr<float>(), l.act,
                     O.ptr<float>(), n_threads);
  else
    kernels::forward(l.X.ptr<double>(), l.n, l.d_in, l.W.ptr<double>(), l.d_out, B.ptr<double>(),
                     l.act, O.ptr<double>(), n_threads);
}

void backward(py::handle x, py::handle kernel, py::handle out, py::handle grad_out,
              const std::string& activation, py::handle dx, py::handle dkernel, py::handle dbias,
              int n_threads) {
  const Layer l = layer(x, kernel, activation);
  const Array O = input_like(out, "out", l.X, {l.n, l.d_out});
  const Array G = input_like(grad_out, "grad_out", l.X, {l.n, l.d_out});
  const Array DX = dx.is_none() ? Array{} : tl::bind::output(dx, "dx", 'f', l.X.itemsize, {l.n, l.d_in});
  const Array DW = tl::bind::output(dkernel, "dkernel", 'f', l.X.itemsize, {l.d_in, l.d_out});
  const Array DB = dbias.is_none() ? Array{} : tl::bind::output(dbias, "dbias", 'f', l.X.itemsize, {l.d_out});
  py::gil_scoped_release release;
  if (l.X.itemsize == 4)
    kernels::backward(l.X.ptr<float>(), l.n, l.d_in, l.W.ptr<float>(), l.d_out, O.ptr<float>(),
                      G.ptr<float>(), l.act, DX.ptr<float>(), DW.ptr<float>(), DB.ptr<float>(),
                      n_threads);
  else
    kernels::backward(l.X.ptr<double>(), l.n, l.d_in, l.W.ptr<double>(), l.d_out, O.ptr<double>(),
                      G.ptr<double>(), l.act, DX.ptr<double>(), DW.ptr<double>(), DB.ptr<double>(),
                      n_threads);
}

}  // namespace

void tl::bind::bind_dense(py::module_& m) {
  m.def("dense_forward", &forward, py::arg("x"), py::arg("kernel"), py::arg("bias"), py::arg("out"),
        py::arg("activation"), py::arg("n_threads") = 0,
        "out = activation(x @ kernel + bias), written in place (bias may be None).");
  m.def("dense_backward", &backward, py::arg("x"), py::arg("kernel"), py::arg("out"),
        py::arg("grad_out"), py::arg("activation"), py::arg("dx"), py::arg("dkernel"),
        py::arg("dbias"), py::arg("n_threads") = 0,
        "Gradients of dense_forward into dx (or None), dkernel and dbias (or None).");
}
