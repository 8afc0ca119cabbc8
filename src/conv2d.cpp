// Bindings of the conv2d op family: the same names and arguments in _cpu, _cuda, _cuda_emu.
// Arrays are NHWC (inputs, outputs, gradients) and (kh, kw, c / groups, f) (kernels); strides,
// dilations and paddings are explicit integers (the ops layer resolves 'same' and friends).
// Every array is checked before the GIL is released; outputs are allocated by the caller.
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "array.hpp"
#include "backend.hpp"
#include "conv2d.hpp"  // Geometry, make_geometry (host code shared by both kernel sets)

#if TL_ON_GPU
#include "conv2d.cuh"
namespace kernels = tl::cuda::conv2d;
#else
namespace kernels = tl::conv2d;
#endif

namespace py = pybind11;
using tl::bind::Array;
using tl::bind::input_like;
using tl::bind::optional_input_like;
using tl::bind::optional_output_like;
using tl::bind::output_like;
using tl::bind::shape_str;
using tl::conv2d::Geometry;
using Pair = std::array<int64_t, 2>;
using Padding = std::array<int64_t, 4>;  // top, bottom, left, right

namespace {

// A float32/float64 array of rank 4.
Array tensor4(py::handle obj, const char* name) {
  Array a = tl::bind::as_array(obj, name);
  if (a.shape.size() != 4)
    throw py::value_error(std::string(name) + " must be 4-D, got " + std::to_string(a.shape.size()) +
                          "-D with shape " + shape_str(a.shape));
  tl::bind::require_float(a);
  return a;
}

// x and the kernel: 4-D, of one float dtype.
std::pair<Array, Array> operands(py::handle x, py::handle kernel) {
  std::pair<Array, Array> xk{tensor4(x, "x"), tensor4(kernel, "kernel")};
  tl::bind::require_dtype_of(xk.second, xk.first);
  return xk;
}

// The convolution from an (n, h, w, c) input with this kernel, checked against the kernel.
Geometry geometry(const std::vector<int64_t>& input, const Array& K, Pair strides, Padding pad,
                  Pair dilation, int64_t groups) {
  if (groups < 1) throw py::value_error("groups must be >= 1, got " + std::to_string(groups));
  const int64_t c = input[3];
  if (c % groups)
    throw py::value_error("the input channels (" + std::to_string(c) +
                          ") must be divisible by groups (" + std::to_string(groups) + ")");
  if (K.shape[2] != c / groups)
    throw py::value_error("kernel must have shape (kh, kw, " + std::to_string(c / groups) +
                          ", filters) for " + std::to_string(c) + " input channels and groups=" +
                          std::to_string(groups) + ", got " + shape_str(K.shape));
  // std::invalid_argument (-> ValueError) for the remaining checks
  return tl::conv2d::make_geometry(input[0], input[1], input[2], c, K.shape[0], K.shape[1],
                                   K.shape[3], groups, strides[0], strides[1], dilation[0],
                                   dilation[1], pad[0], pad[1], pad[2], pad[3]);
}

std::vector<int64_t> input_shape(const Geometry& g) { return {g.n, g.h, g.w, g.c}; }
std::vector<int64_t> output_shape(const Geometry& g) { return {g.n, g.oh, g.ow, g.f}; }

void forward(py::handle x, py::handle kernel, py::handle bias, py::handle out, Pair strides,
             Padding padding, Pair dilation, int64_t groups, const std::string& activation,
             int n_threads) {
  const auto [X, K] = operands(x, kernel);
  const Geometry g = geometry(X.shape, K, strides, padding, dilation, groups);
  const auto act = tl::dense::parse_activation(activation);
  const Array B = optional_input_like(bias, "bias", X, {g.f});
  const Array O = output_like(out, "out", X, output_shape(g));
  if (O.data == X.data || O.data == K.data) throw py::value_error("out must not be x or kernel");
  py::gil_scoped_release release;
  if (X.itemsize == 4)
    kernels::forward(g, X.ptr<float>(), K.ptr<float>(), B.ptr<float>(), act, O.ptr<float>(), n_threads);
  else
    kernels::forward(g, X.ptr<double>(), K.ptr<double>(), B.ptr<double>(), act, O.ptr<double>(),
                     n_threads);
}

void backward(py::handle x, py::handle kernel, py::handle out, py::handle grad_out, Pair strides,
              Padding padding, Pair dilation, int64_t groups, const std::string& activation,
              py::handle dx, py::handle dkernel, py::handle dbias, int n_threads) {
  const auto [X, K] = operands(x, kernel);
  const Geometry g = geometry(X.shape, K, strides, padding, dilation, groups);
  const auto act = tl::dense::parse_activation(activation);
  const Array O = input_like(out, "out", X, output_shape(g));
  const Array G = input_like(grad_out, "grad_out", X, output_shape(g));
  const Array DX = optional_output_like(dx, "dx", X, X.shape);
  const Array DK = output_like(dkernel, "dkernel", X, K.shape);
  const Array DB = optional_output_like(dbias, "dbias", X, {g.f});
  py::gil_scoped_release release;
  if (X.itemsize == 4)
    kernels::backward(g, X.ptr<float>(), K.ptr<float>(), O.ptr<float>(), G.ptr<float>(), act,
                      DX.ptr<float>(), DK.ptr<float>(), DB.ptr<float>(), n_threads);
  else
    kernels::backward(g, X.ptr<double>(), K.ptr<double>(), O.ptr<double>(), G.ptr<double>(), act,
                      DX.ptr<double>(), DK.ptr<double>(), DB.ptr<double>(), n_threads);
}

// The convolution a transposed convolution of x (n, oh, ow, f) into out (n, h, w, c)
// transposes: from out's shape, which must lead back to x's.
Geometry transposed_geometry(const Array& X, const Array& K, const Array& O, Pair strides,
                             Padding padding, Pair dilation, int64_t groups) {
  if (O.shape.size() != 4)
    throw py::value_error("out must be 4-D, got shape " + shape_str(O.shape));
  if (O.shape[0] != X.shape[0])
    throw py::value_error("out must have the batch size of x (" + std::to_string(X.shape[0]) +
                          "), got shape " + shape_str(O.shape));
  const Geometry g = geometry(O.shape, K, strides, padding, dilation, groups);
  if (output_shape(g) != X.shape)
    throw py::value_error("x has shape " + shape_str(X.shape) + ", but the convolution this "
                          "transposes maps out's shape " + shape_str(O.shape) + " to " +
                          shape_str(output_shape(g)));
  return g;
}

void transpose_forward(py::handle x, py::handle kernel, py::handle bias, py::handle out,
                       Pair strides, Padding padding, Pair dilation, int64_t groups,
                       const std::string& activation, int n_threads) {
  const auto [X, K] = operands(x, kernel);
  const Array O0 = tl::bind::as_array(out, "out");
  const Geometry g = transposed_geometry(X, K, O0, strides, padding, dilation, groups);
  const auto act = tl::dense::parse_activation(activation);
  const Array B = optional_input_like(bias, "bias", X, {g.c});
  const Array O = output_like(out, "out", X, input_shape(g));
  if (O.data == X.data || O.data == K.data) throw py::value_error("out must not be x or kernel");
  py::gil_scoped_release release;
  if (X.itemsize == 4)
    kernels::transpose_forward(g, X.ptr<float>(), K.ptr<float>(), B.ptr<float>(), act,
                               O.ptr<float>(), n_threads);
  else
    kernels::transpose_forward(g, X.ptr<double>(), K.ptr<double>(), B.ptr<double>(), act,
                               O.ptr<double>(), n_threads);
}

void transpose_backward(py::handle x, py::handle kernel, py::handle out, py::handle grad_out,
                        Pair strides, Padding padding, Pair dilation, int64_t groups,
                        const std::string& activation, py::handle dx, py::handle dkernel,
                        py::handle dbias, int n_threads) {
  const auto [X, K] = operands(x, kernel);
  const Array O0 = tl::bind::as_array(out, "out");
  const Geometry g = transposed_geometry(X, K, O0, strides, padding, dilation, groups);
  const auto act = tl::dense::parse_activation(activation);
  const Array O = input_like(out, "out", X, input_shape(g));
  const Array G = input_like(grad_out, "grad_out", X, input_shape(g));
  const Array DX = optional_output_like(dx, "dx", X, X.shape);
  const Array DK = output_like(dkernel, "dkernel", X, K.shape);
  const Array DB = optional_output_like(dbias, "dbias", X, {g.c});
  py::gil_scoped_release release;
  if (X.itemsize == 4)
    kernels::transpose_backward(g, X.ptr<float>(), K.ptr<float>(), O.ptr<float>(), G.ptr<float>(),
                                act, DX.ptr<float>(), DK.ptr<float>(), DB.ptr<float>(), n_threads);
  else
    kernels::transpose_backward(g, X.ptr<double>(), K.ptr<double>(), O.ptr<double>(),
                                G.ptr<double>(), act, DX.ptr<double>(), DK.ptr<double>(),
                                DB.ptr<double>(), n_threads);
}

py::dict algorithms(py::handle x, py::handle kernel, Pair strides, Padding padding, Pair dilation,
                    int64_t groups) {
  const auto [X, K] = operands(x, kernel);
  const Geometry g = geometry(X.shape, K, strides, padding, dilation, groups);
  const tl::conv2d::Algorithms a =
      X.itemsize == 4 ? kernels::algorithms<float>(g) : kernels::algorithms<double>(g);
  py::dict out;
  out["forward"] = tl::conv2d::algorithm_name(a.forward);
  out["filter"] = tl::conv2d::algorithm_name(a.filter);
  out["data"] = tl::conv2d::algorithm_name(a.data);
  return out;
}

}  // namespace

void tl::bind::bind_conv2d(py::module_& m) {
  m.def("conv2d_forward", &forward, py::arg("x"), py::arg("kernel"), py::arg("bias"),
        py::arg("out"), py::arg("strides"), py::arg("padding"), py::arg("dilation"),
        py::arg("groups"), py::arg("activation"), py::arg("n_threads") = 0,
        "out = activation(conv2d(x, kernel) + bias), NHWC, written in place (bias may be None); "
        "padding = (top, bottom, left, right).");
  m.def("conv2d_backward", &backward, py::arg("x"), py::arg("kernel"), py::arg("out"),
        py::arg("grad_out"), py::arg("strides"), py::arg("padding"), py::arg("dilation"),
        py::arg("groups"), py::arg("activation"), py::arg("dx"), py::arg("dkernel"),
        py::arg("dbias"), py::arg("n_threads") = 0,
        "Gradients of conv2d_forward into dx (or None), dkernel and dbias (or None).");
  m.def("conv2d_transpose_forward", &transpose_forward, py::arg("x"), py::arg("kernel"),
        py::arg("bias"), py::arg("out"), py::arg("strides"), py::arg("padding"),
        py::arg("dilation"), py::arg("groups"), py::arg("activation"), py::arg("n_threads") = 0,
        "out = activation(conv2d_transpose(x, kernel) + bias): the data gradient of the "
        "convolution from out's shape to x's, with these strides, padding and dilation.");
  m.def("conv2d_transpose_backward", &transpose_backward, py::arg("x"), py::arg("kernel"),
        py::arg("out"), py::arg("grad_out"), py::arg("strides"), py::arg("padding"),
        py::arg("dilation"), py::arg("groups"), py::arg("activation"), py::arg("dx"),
        py::arg("dkernel"), py::arg("dbias"), py::arg("n_threads") = 0,
        "Gradients of conv2d_transpose_forward into dx (or None), dkernel and dbias (or None).");
  m.def("conv2d_algorithms", &algorithms, py::arg("x"), py::arg("kernel"), py::arg("strides"),
        py::arg("padding"), py::arg("dilation"), py::arg("groups"),
        "The algorithm each pass would run on these arrays: {'forward', 'filter', 'data'} -> "
        "'gemm', 'depthwise', 'direct' or 'im2col'.");
}
