// Bindings of the rnn op family: the same names and arguments in _cpu, _cuda, _cuda_emu.
// Every array is checked (dtype, shape, contiguity, writeability, device) before the GIL is
// released; the ops layer allocates outputs and the workspace on the inputs' device.
#include <cstdint>
#include <string>
#include <vector>

#include "array.hpp"
#include "backend.hpp"
#include "rnn.hpp"  // cpp/: Spec, the enums, the workspace layout

#if TL_ON_GPU
#include "rnn.cuh"
namespace kernels = tl::cuda::rnn;
#else
namespace kernels = tl::rnn;
#endif

namespace py = pybind11;
using tl::bind::Array;
using tl::bind::input_like;
using tl::bind::optional_input_like;
using tl::bind::optional_output_like;
using tl::bind::output_like;
using tl::bind::shape_str;
using tl::rnn::Cell;
using tl::rnn::Spec;

namespace {

// The arrays and options every call shares, checked.
struct Call {
  Spec spec;
  Array X, K, U, M, DM, RM;
};

// A dropout mask: (n, width) for every gate, or one per gate (G, n, width).
int dropout_groups(py::handle obj, const char* name, Call& c, int64_t width, Array& out) {
  if (obj.is_none()) return 0;
  const int64_t n = c.spec.n, G = c.spec.gates();
  Array a = tl::bind::as_array(obj, name);
  const std::vector<int64_t> one{n, width}, per_gate{G, n, width};
  if (a.shape != one && a.shape != per_gate)
    throw py::value_error(std::string(name) + " must have shape " + shape_str(one) + " or " +
                          shape_str(per_gate) + " (one per gate), got " + shape_str(a.shape));
  out = input_like(obj, name, c.X, a.shape);
  return a.shape == one ? 1 : static_cast<int>(G);
}

Call call(const std::string& cell, py::handle x, py::handle kernel, py::handle recurrent_kernel,
          py::handle mask, py::handle dropout_mask, py::handle recurrent_dropout_mask,
          const std::string& activation, const std::string& recurrent_activation,
          bool reset_after, bool go_backwards, bool return_sequences, bool zero_output_for_mask) {
  Call c;
  Spec& s = c.spec;
  s.cell = tl::rnn::parse_cell(cell);  // std::invalid_argument -> ValueError
  s.activation = tl::rnn::parse_activation(activation);
  s.recurrent_activation = tl::rnn::parse_activation(recurrent_activation);
  s.reset_after = reset_after;
  s.go_backwards = go_backwards;
  s.return_sequences = return_sequences;
  s.zero_output_for_mask = zero_output_for_mask;
  c.X = tl::bind::as_array(x, "x");
  if (c.X.shape.size() != 3)
    throw py::value_error("x must be 3-D (batch, time steps, features), got shape " +
                          shape_str(c.X.shape));
  tl::bind::require_float(c.X);
  s.n = c.X.shape[0];
  s.t = c.X.shape[1];
  s.d = c.X.shape[2];
  if (s.t < 1) throw py::value_error("x must have at least one time step");
  if (s.d < 1) throw py::value_error("x must have at least one feature");
  c.U = tl::bind::matrix(recurrent_kernel, "recurrent_kernel");
  s.h = c.U.shape[0];
  if (s.h < 1) throw py::value_error("recurrent_kernel must have at least one row (unit)");
  c.U = input_like(recurrent_kernel, "recurrent_kernel", c.X, {s.h, s.gh()});
  c.K = input_like(kernel, "kernel", c.X, {s.d, s.gh()});
  if (!mask.is_none()) {
    c.M = tl::bind::as_array(mask, "mask");
    if (c.M.kind != 'b' || c.M.itemsize != 1)
      throw py::type_error("mask must be a bool array, got " + c.M.dtype());
    tl::bind::require_shape(c.M, {s.n, s.t});
    s.has_mask = true;
  }
  s.input_dropout_groups = dropout_groups(dropout_mask, "dropout_mask", c, s.d, c.DM);
  s.recurrent_dropout_groups =
      dropout_groups(recurrent_dropout_mask, "recurrent_dropout_mask", c, s.h, c.RM);
  return c;
}

std::vector<int64_t> bias_shape(const Spec& s) {
  return s.gru_after() ? std::vector<int64_t>{2, s.gh()} : std::vector<int64_t>{s.gh()};
}

std::vector<int64_t> outputs_shape(const Spec& s) {
  return s.return_sequences ? std::vector<int64_t>{s.n, s.t, s.h} : std::vector<int64_t>{s.n, s.h};
}

void require_carry(const Spec& s, py::handle obj, const char* name) {
  const bool lstm = s.cell == Cell::lstm;
  if (lstm == obj.is_none())
    throw py::value_error(std::string(name) + (lstm ? " is required for an LSTM"
                                                    : " must be None: only an LSTM has a carry"));
}

template <class T>
tl::rnn::Inputs<T> inputs(const Call& c) {
  tl::rnn::Inputs<T> in;
  in.x = c.X.ptr<T>();
  in.kernel = c.K.ptr<T>();
  in.recurrent_kernel = c.U.ptr<T>();
  in.mask = static_cast<const bool*>(c.M.data);
  in.input_dropout = c.DM.ptr<T>();
  in.recurrent_dropout = c.RM.ptr<T>();
  return in;
}

void forward(const std::string& cell, py::handle x, py::handle kernel, py::handle recurrent_kernel,
             py::handle bias, py::handle h0, py::handle c0, py::handle mask, py::handle dropout_mask,
             py::handle recurrent_dropout_mask, py::handle outputs, py::handle h, py::handle c,
             py::handle workspace, const std::string& activation,
             const std::string& recurrent_activation, bool reset_after, bool go_backwards,
             bool return_sequences, bool zero_output_for_mask, int n_threads) {
  Call cl = call(cell, x, kernel, recurrent_kernel, mask, dropout_mask, recurrent_dropout_mask,
                 activation, recurrent_activation, reset_after, go_backwards, return_sequences,
                 zero_output_for_mask);
  Spec& s = cl.spec;
  const Array B = optional_input_like(bias, "bias", cl.X, bias_shape(s));
  s.has_bias = !bias.is_none();
  const Array H0 = optional_input_like(h0, "h0", cl.X, {s.n, s.h});
  if (s.cell != Cell::lstm && !c0.is_none())
    throw py::value_error("c0 must be None: only an LSTM has a carry");
  const Array C0 = optional_input_like(c0, "c0", cl.X, {s.n, s.h});
  const Array O = output_like(outputs, "outputs", cl.X, outputs_shape(s));
  const Array HO = output_like(h, "h", cl.X, {s.n, s.h});
  require_carry(s, c, "c");
  const Array CO = optional_output_like(c, "c", cl.X, {s.n, s.h});
  const Array WS = output_like(workspace, "workspace", cl.X, {s.n, s.t, s.workspace_width()});
  for (const Array* a : {&O, &HO, &CO, &WS})
    if (a->data && (a->data == cl.X.data || a->data == cl.K.data || a->data == cl.U.data))
      throw py::value_error("outputs, h, c and workspace must not be an input array");
  py::gil_scoped_release release;
  auto run = [&]<class T>(T) {
    tl::rnn::Inputs<T> in = inputs<T>(cl);
    in.bias = B.ptr<T>();
    in.h0 = H0.ptr<T>();
    in.c0 = C0.ptr<T>();
    tl::rnn::Outputs<T> out{O.ptr<T>(), HO.ptr<T>(), CO.ptr<T>(), WS.ptr<T>()};
    kernels::forward(s, in, out, n_threads);
  };
  if (cl.X.itemsize == 4) run(float{});
  else run(double{});
}

void backward(const std::string& cell, py::handle x, py::handle kernel,
              py::handle recurrent_kernel, py::handle workspace, py::handle mask,
              py::handle dropout_mask, py::handle recurrent_dropout_mask, py::handle d_outputs,
              py::handle d_h, py::handle d_c, py::handle dx, py::handle dkernel,
              py::handle drecurrent_kernel, py::handle dbias, py::handle dh0, py::handle dc0,
              const std::string& activation, const std::string& recurrent_activation,
              bool reset_after, bool go_backwards, bool return_sequences,
              bool zero_output_for_mask, int n_threads) {
  Call cl = call(cell, x, kernel, recurrent_kernel, mask, dropout_mask, recurrent_dropout_mask,
                 activation, recurrent_activation, reset_after, go_backwards, return_sequences,
                 zero_output_for_mask);
  Spec& s = cl.spec;
  s.has_bias = !dbias.is_none();
  const Array WS = input_like(workspace, "workspace", cl.X, {s.n, s.t, s.workspace_width()});
  const Array GO = optional_input_like(d_outputs, "d_outputs", cl.X, outputs_shape(s));
  const Array GH = optional_input_like(d_h, "d_h", cl.X, {s.n, s.h});
  if (s.cell != Cell::lstm && !d_c.is_none())
    throw py::value_error("d_c must be None: only an LSTM has a carry");
  const Array GC = optional_input_like(d_c, "d_c", cl.X, {s.n, s.h});
  const Array DX = optional_output_like(dx, "dx", cl.X, {s.n, s.t, s.d});
  const Array DK = output_like(dkernel, "dkernel", cl.X, {s.d, s.gh()});
  const Array DU = output_like(drecurrent_kernel, "drecurrent_kernel", cl.X, {s.h, s.gh()});
  const Array DB = optional_output_like(dbias, "dbias", cl.X, bias_shape(s));
  const Array DH0 = optional_output_like(dh0, "dh0", cl.X, {s.n, s.h});
  if (s.cell != Cell::lstm && !dc0.is_none())
    throw py::value_error("dc0 must be None: only an LSTM has a carry");
  const Array DC0 = optional_output_like(dc0, "dc0", cl.X, {s.n, s.h});
  py::gil_scoped_release release;
  auto run = [&]<class T>(T) {
    const tl::rnn::Inputs<T> in = inputs<T>(cl);
    tl::rnn::Gradients<T> g;
    g.d_outputs = GO.ptr<T>();
    g.d_h = GH.ptr<T>();
    g.d_c = GC.ptr<T>();
    g.dx = DX.ptr<T>();
    g.dkernel = DK.ptr<T>();
    g.drecurrent_kernel = DU.ptr<T>();
    g.dbias = DB.ptr<T>();
    g.dh0 = DH0.ptr<T>();
    g.dc0 = DC0.ptr<T>();
    kernels::backward(s, in, WS.ptr<T>(), g, n_threads);
  };
  if (cl.X.itemsize == 4) run(float{});
  else run(double{});
}

int64_t workspace_width(const std::string& cell, int64_t units, bool reset_after) {
  if (units < 1) throw py::value_error("units must be >= 1, got " + std::to_string(units));
  Spec s;
  s.cell = tl::rnn::parse_cell(cell);
  s.h = units;
  s.reset_after = reset_after;
  return s.workspace_width();
}

}  // namespace

void tl::bind::bind_rnn(py::module_& m) {
  m.def("rnn_forward", &forward, py::arg("cell"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("bias"), py::arg("h0"), py::arg("c0"),
        py::arg("mask"), py::arg("dropout_mask"), py::arg("recurrent_dropout_mask"),
        py::arg("outputs"), py::arg("h"), py::arg("c"), py::arg("workspace"),
        py::arg("activation"), py::arg("recurrent_activation"), py::arg("reset_after"),
        py::arg("go_backwards"), py::arg("return_sequences"), py::arg("zero_output_for_mask"),
        py::arg("n_threads") = 0,
        "A whole sequence of a recurrent cell: outputs, final states and the workspace the "
        "backward pass reads, written in place.");
  m.def("rnn_backward", &backward, py::arg("cell"), py::arg("x"), py::arg("kernel"),
        py::arg("recurrent_kernel"), py::arg("workspace"), py::arg("mask"),
        py::arg("dropout_mask"), py::arg("recurrent_dropout_mask"), py::arg("d_outputs"),
        py::arg("d_h"), py::arg("d_c"), py::arg("dx"), py::arg("dkernel"),
        py::arg("drecurrent_kernel"), py::arg("dbias"), py::arg("dh0"), py::arg("dc0"),
        py::arg("activation"), py::arg("recurrent_activation"), py::arg("reset_after"),
        py::arg("go_backwards"), py::arg("return_sequences"), py::arg("zero_output_for_mask"),
        py::arg("n_threads") = 0,
        "Backward through time of rnn_forward: gradients of x (or None), the weights, the "
        "bias (or None) and the initial states (or None), written in place.");
  m.def("rnn_workspace_width", &workspace_width, py::arg("cell"), py::arg("units"),
        py::arg("reset_after"),
        "Values per (sample, time step) row of the workspace rnn_forward saves.");
}
