// Bindings of the optim op family: the same names and arguments in _cpu, _cuda, _cuda_emu.
// One call updates a list of parameter tensors (a layer's or a whole model's), so a training
// step crosses into C++ once. Every array is checked (dtype, shape, contiguity,
// writeability, device, no aliasing between a parameter and its gradient or slots) before
// the GIL is released.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "array.hpp"
#include "backend.hpp"

#if TL_ON_GPU
#include "optim.cuh"
namespace kernels = tl::cuda::optim;
#else
#include "optim.hpp"
namespace kernels = tl::optim;
#endif

namespace py = pybind11;
using tl::bind::Array;
using tl::bind::shape_str;

namespace {

std::string item(const char* list, size_t i) { return std::string(list) + "[" + std::to_string(i) + "]"; }

// An array of the parameter's dtype and shape.
Array like(py::handle obj, const std::string& name, const Array& P, bool writeable) {
  Array a = tl::bind::as_array(obj, name.c_str());
  tl::bind::require_dtype_of(a, P);
  if (a.shape != P.shape)
    throw py::value_error(name + " must have the shape of " + P.name + " " + shape_str(P.shape) +
                          ", got " + shape_str(a.shape));
  if (writeable) tl::bind::require_writeable(a);
  return a;
}

double scalar_at(const py::object& seq, size_t i, double fallback) {
  return seq.is_none() ? fallback : py::cast<double>(py::sequence(seq)[i]);
}

template <class T>
void run(const kernels::Step<T>& step, std::vector<kernels::Tensor<T>>& tensors, int n_threads) {
  py::gil_scoped_release release;
  kernels::update(step, tensors.data(), static_cast<int64_t>(tensors.size()), n_threads);
}

template <class T>
void update_typed(int rule, int flags, const std::vector<Array>& P, const std::vector<Array>& G,
                  const std::vector<std::vector<Array>>& S, double lr, double clip,
                  const std::vector<double>& coeffs, const py::object& scales,
                  const py::object& decays, int n_threads) {
  kernels::Step<T> step;
  step.rule = rule;
  step.flags = flags;
  step.lr = static_cast<T>(lr);
  step.clip = clip > 0 ? static_cast<T>(clip) : static_cast<T>(INFINITY);
  for (size_t c = 0; c < coeffs.size(); ++c) step.c[c] = static_cast<T>(coeffs[c]);
  std::vector<kernels::Tensor<T>> tensors(P.size());
  for (size_t i = 0; i < P.size(); ++i) {
    kernels::Tensor<T>& t = tensors[i];
    t.param = P[i].ptr<T>();
    t.grad = G[i].ptr<T>();
    for (size_t k = 0; k < S[i].size(); ++k) t.slot[k] = S[i][k].ptr<T>();
    int64_t n = 1;
    for (int64_t d : P[i].shape) n *= d;
    t.n = n;
    t.scale = static_cast<T>(scalar_at(scales, i, 1.0));
    t.decay = static_cast<T>(scalar_at(decays, i, 1.0));
  }
  run(step, tensors, n_threads);
}

void update(int rule, int flags, py::sequence params, py::sequence grads, py::sequence slots,
            double lr, double clip, std::vector<double> coeffs, py::object scales,
            py::object decays, int n_threads) {
  const int n_slots = tl::optim::slot_count(rule, flags);
  if (n_slots < 0)
    throw py::value_error("unknown optimizer rule " + std::to_string(rule) + " with flags " +
                          std::to_string(flags));
  if (coeffs.size() > static_cast<size_t>(tl::optim::kMaxCoeffs))
    throw py::value_error("at most " + std::to_string(tl::optim::kMaxCoeffs) + " coefficients, got " +
                          std::to_string(coeffs.size()));
  const size_t count = params.size();
  if (grads.size() != count || slots.size() != count)
    throw py::value_error("params, grads and slots must have the same length, got " +
                          std::to_string(count) + ", " + std::to_string(grads.size()) + ", " +
                          std::to_string(slots.size()));
  for (const py::object* seq : {&scales, &decays})
    if (!seq->is_none() && py::len(*seq) != count)
      throw py::value_error("scales and decays must have one value per parameter");
  std::vector<Array> P(count), G(count);
  std::vector<std::vector<Array>> S(count);
  for (size_t i = 0; i < count; ++i) {
    const std::string pname = item("params", i);
    P[i] = tl::bind::as_array(params[i], pname.c_str());
    tl::bind::require_float(P[i]);
    tl::bind::require_writeable(P[i]);
    tl::bind::require_dtype_of(P[i], P[0]);
    G[i] = like(grads[i], item("grads", i), P[i], false);
    if (G[i].data == P[i].data && P[i].shape.size() && P[i].shape[0])
      throw py::value_error(item("grads", i) + " must not be " + pname);
    const py::sequence si = py::reinterpret_borrow<py::sequence>(slots[i]);
    if (static_cast<int>(si.size()) != n_slots)
      throw py::value_error(item("slots", i) + " must hold " + std::to_string(n_slots) +
                            " arrays for this rule, got " + std::to_string(si.size()));
    for (int k = 0; k < n_slots; ++k) {
      const std::string sname = item("slots", i) + "[" + std::to_string(k) + "]";
      S[i].push_back(like(si[k], sname, P[i], true));
      bool empty = false;
      for (int64_t d : P[i].shape) empty |= d == 0;
      if (!empty && (S[i][k].data == P[i].data || S[i][k].data == G[i].data))
        throw py::value_error(sname + " must be an array of its own");
      for (int j = 0; j < k; ++j)
        if (!empty && S[i][j].data == S[i][k].data)
          throw py::value_error(sname + " must be an array of its own");
    }
  }
  if (count == 0) return;
  if (P[0].itemsize == 4)
    update_typed<float>(rule, flags, P, G, S, lr, clip, coeffs, scales, decays, n_threads);
  else
    update_typed<double>(rule, flags, P, G, S, lr, clip, coeffs, scales, decays, n_threads);
}

}  // namespace

void tl::bind::bind_optim(py::module_& m) {
  m.def("optim_update", &update, py::arg("rule"), py::arg("flags"), py::arg("params"),
        py::arg("grads"), py::arg("slots"), py::arg("lr"), py::arg("clip"), py::arg("coeffs"),
        py::arg("scales"), py::arg("decays"), py::arg("n_threads") = 0,
        "One fused optimizer step over a list of parameter tensors, in place.");
}
