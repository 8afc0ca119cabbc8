// Bindings of the pool2d op family: the same names and arguments in _cpu, _cuda, _cuda_emu.
// Every array is checked (dtype, shape, contiguity, writeability, device) and the geometry
// (pool size, strides, paddings: tl::pool2d::make_geometry) before the GIL is released; the
// ops layer allocates the outputs on the inputs' device.
#include <pybind11/stl.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "array.hpp"
#include "backend.hpp"

#if TL_ON_GPU
#include "pool2d.cuh"
namespace kernels = tl::cuda::pool2d;
#else
#include "pool2d.hpp"
namespace kernels = tl::pool2d;
#endif

namespace py = pybind11;
using tl::bind::Array;
using tl::bind::shape_str;
using Pair = std::array<int64_t, 2>;
using Paddings = std::array<Pair, 2>;  // ((top, bottom), (left, right))

namespace {

// A 4-D float32/float64 array (n, h, w, c).
Array images(py::handle obj, const char* name) {
  Array a = tl::bind::as_array(obj, name);
  if (a.shape.size() != 4)
    throw py::value_error(std::string(name) +
                          " must be 4-D (batch, height, width, channels), got " +
                          std::to_string(a.shape.size()) + "-D");
  tl::bind::require_float(a);
  return a;
}

tl::pool2d::Geometry geometry(const std::vector<int64_t>& in, Pair pool, Pair strides,
                              const Paddings& pads) {
  // std::invalid_argument -> ValueError
  return tl::pool2d::make_geometry(in[0], in[1], in[2], in[3], pool[0], pool[1], strides[0],
                                   strides[1], pads[0][0], pads[0][1], pads[1][0], pads[1][1]);
}

// The argmax array of max pooling (int32, the output's shape); None for average pooling.
Array argmax_array(py::handle argmax, tl::pool2d::Mode mode, const std::vector<int64_t>& shape,
                   bool write) {
  if (mode == tl::pool2d::Mode::average) {
    if (!argmax.is_none()) throw py::value_error("argmax must be None for average pooling");
    return Array{};
  }
  if (argmax.is_none()) throw py::value_error("max pooling needs the argmax array (int32)");
  if (write) return tl::bind::output(argmax, "argmax", 'i', 4, shape);
  Array a = tl::bind::as_array(argmax, "argmax");
  tl::bind::require_dtype(a, 'i', 4);
  tl::bind::require_shape(a, shape);
  return a;
}

void forward(py::handle x, py::handle out, py::handle argmax, Pair pool, Pair strides,
             const Paddings& pads, const std::string& mode_name, int n_threads) {
  const Array X = images(x, "x");
  const tl::pool2d::Mode mode = tl::pool2d::parse_mode(mode_name);
  const tl::pool2d::Geometry g = geometry(X.shape, pool, strides, pads);
  const std::vector<int64_t> out_shape{g.n, g.oh, g.ow, g.c};
  const Array O = tl::bind::output(out, "out", 'f', X.itemsize, out_shape);
  if (O.data == X.data) throw py::value_error("out must not be x");
  const Array A = argmax_array(argmax, mode, out_shape, true);
  py::gil_scoped_release release;
  if (X.itemsize == 4)
    kernels::forward(X.ptr<float>(), g, mode, O.ptr<float>(), A.ptr<int32_t>(), n_threads);
  else
    kernels::forward(X.ptr<double>(), g, mode, O.ptr<double>(), A.ptr<int32_t>(), n_threads);
}

void backward(py::handle grad_out, py::handle argmax, py::handle dx, Pair pool, Pair strides,
              const Paddings& pads, const std::string& mode_name, int n_threads) {
  const Array G = images(grad_out, "grad_out");
  const tl::pool2d::Mode mode = tl::pool2d::parse_mode(mode_name);
  const Array DX = images(dx, "dx");
  tl::bind::require_dtype_of(DX, G);
  tl::bind::require_writeable(DX);
  const tl::pool2d::Geometry g = geometry(DX.shape, pool, strides, pads);
  const std::vector<int64_t> out_shape{g.n, g.oh, g.ow, g.c};
  if (G.shape != out_shape)
    throw py::value_error("grad_out must have shape " + shape_str(out_shape) +
                          " (the pooling of dx's shape), got " + shape_str(G.shape));
  if (DX.data == G.data) throw py::value_error("dx must not be grad_out");
  const Array A = argmax_array(argmax, mode, out_shape, false);
  py::gil_scoped_release release;
  if (G.itemsize == 4)
    kernels::backward(G.ptr<float>(), A.ptr<int32_t>(), g, mode, DX.ptr<float>(), n_threads);
  else
    kernels::backward(G.ptr<double>(), A.ptr<int32_t>(), g, mode, DX.ptr<double>(), n_threads);
}

}  // namespace

void tl::bind::bind_pool2d(py::module_& m) {
  m.def("pool2d_forward", &forward, py::arg("x"), py::arg("out"), py::arg("argmax"),
        py::arg("pool_size"), py::arg("strides"), py::arg("paddings"), py::arg("mode"),
        py::arg("n_threads") = 0,
        "Max or average pooling of NHWC x into out (and the int32 argmax for max; None for "
        "average), written in place. paddings = ((top, bottom), (left, right)).");
  m.def("pool2d_backward", &backward, py::arg("grad_out"), py::arg("argmax"), py::arg("dx"),
        py::arg("pool_size"), py::arg("strides"), py::arg("paddings"), py::arg("mode"),
        py::arg("n_threads") = 0,
        "The gradient of pool2d_forward for grad_out, written into dx (the input's shape).");
}
