// Array arguments of the bindings: a pointer, a dtype and a shape, read from the buffer
// protocol (NumPy, for _cpu and _cuda_emu) or from __cuda_array_interface__ (CuPy, for _cuda).
// Every check raises TypeError or ValueError naming the argument; nothing is ever copied.
// The checks the op families share are here, so that one kind of mistake reads the same in
// every family.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <cstdint>
#include <string>
#include <vector>

namespace tl::bind {

namespace py = pybind11;

struct Array {
  std::string name;  // the argument's, for the messages
  void* data = nullptr;
  char kind = 0;  // 'f' float, 'i' signed int
  int itemsize = 0;
  std::vector<int64_t> shape;
  bool writeable = false;

  template <class T>
  T* ptr() const { return static_cast<T*>(data); }
  std::string dtype() const { return std::string(1, kind) + std::to_string(8 * itemsize); }
};

#ifdef TL_BACKEND_CUDA
// Device arrays: C-contiguous per the interface (strides absent, or equal to C order).
inline Array as_array(py::handle obj, const char* name) {
  if (!py::hasattr(obj, "__cuda_array_interface__"))
    throw py::type_error(std::string(name) + " must be a CUDA device array (CuPy)");
  const py::dict cai = obj.attr("__cuda_array_interface__");
  Array a;
  a.name = name;
  const std::string typestr = py::str(cai["typestr"]);
  if (typestr.size() < 3 || (typestr[0] != '<' && typestr[0] != '|'))
    throw py::type_error(std::string(name) + ": unsupported typestr " + typestr);
  a.kind = typestr[1];
  a.itemsize = std::stoi(typestr.substr(2));
  for (auto s : cai["shape"]) a.shape.push_back(s.cast<int64_t>());
  const py::tuple data = cai["data"];
  a.data = reinterpret_cast<void*>(data[0].cast<uintptr_t>());
  a.writeable = !data[1].cast<bool>();
  if (cai.contains("strides") && !cai["strides"].is_none()) {
    int64_t expect = a.itemsize;
    const py::tuple strides = cai["strides"];
    for (int64_t i = static_cast<int64_t>(a.shape.size()) - 1; i >= 0; --i) {
      if (a.shape[i] > 1 && strides[i].cast<int64_t>() != expect)
        throw py::value_error(std::string(name) + " must be C-contiguous");
      expect *= a.shape[i];
    }
  }
  return a;
}
#else
inline Array as_array(py::handle obj, const char* name) {
  if (!py::isinstance<py::array>(obj))
    throw py::type_error(std::string(name) + " must be a NumPy array, got " +
                         std::string(py::str(py::type::of(obj).attr("__name__"))));
  const auto arr = py::reinterpret_borrow<py::array>(obj);
  if (!(arr.flags() & py::array::c_style))
    throw py::value_error(std::string(name) + " must be C-contiguous");
  Array a;
  a.name = name;
  a.kind = arr.dtype().kind();
  a.itemsize = static_cast<int>(arr.itemsize());
  for (py::ssize_t i = 0; i < arr.ndim(); ++i) a.shape.push_back(arr.shape(i));
  a.writeable = arr.writeable();
  a.data = const_cast<void*>(arr.data());
  return a;
}
#endif

// A shape as Python prints it: "(2, 3)", "(4,)".
inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + (shape.size() == 1 ? ",)" : ")");
}

inline void require_float(const Array& a) {
  if (a.kind != 'f' || (a.itemsize != 4 && a.itemsize != 8))
    throw py::type_error(a.name + " must be float32 or float64, got " + a.dtype());
}

// The float dtype of ref, the array the kernel's type comes from (x, X, logits, ...).
inline void require_dtype_of(const Array& a, const Array& ref) {
  if (a.kind != 'f' || a.itemsize != ref.itemsize)
    throw py::type_error(a.name + " must have the dtype of " + ref.name + " (" + ref.dtype() +
                         "), got " + a.dtype());
}

inline void require_dtype(const Array& a, char kind, int itemsize) {
  if (a.kind != kind || a.itemsize != itemsize)
    throw py::type_error(a.name + " must have dtype " + std::string(1, kind) +
                         std::to_string(8 * itemsize) + ", got " + a.dtype());
}

inline void require_shape(const Array& a, const std::vector<int64_t>& shape) {
  if (a.shape != shape)
    throw py::value_error(a.name + " must have shape " + shape_str(shape) + ", got " +
                          shape_str(a.shape));
}

inline void require_writeable(const Array& a) {
  if (!a.writeable) throw py::value_error(a.name + " must be writeable");
}

inline Array matrix(py::handle obj, const char* name) {
  Array a = as_array(obj, name);
  if (a.shape.size() != 2)
    throw py::value_error(std::string(name) + " must be 2-D, got " + std::to_string(a.shape.size()) + "-D");
  require_float(a);
  return a;
}

// An output the caller allocated: exact shape, dtype and writeable.
inline Array output(py::handle obj, const char* name, char kind, int itemsize,
                    std::vector<int64_t> shape) {
  Array a = as_array(obj, name);
  require_dtype(a, kind, itemsize);
  if (a.shape != shape) throw py::value_error(std::string(name) + " has the wrong shape");
  require_writeable(a);
  return a;
}

// An input of ref's float dtype and an exact shape (the messages give both shapes).
inline Array input_like(py::handle obj, const char* name, const Array& ref,
                        const std::vector<int64_t>& shape) {
  Array a = as_array(obj, name);
  require_dtype_of(a, ref);
  require_shape(a, shape);
  return a;
}

// An output of ref's float dtype and an exact shape, writeable; the messages of input_like
// (the families after dense, softmax_xent and k-means check their outputs with these).
inline Array output_like(py::handle obj, const char* name, const Array& ref,
                         const std::vector<int64_t>& shape) {
  Array a = input_like(obj, name, ref, shape);
  require_writeable(a);
  return a;
}

// None (an empty Array: null data), or input_like / output_like.
inline Array optional_input_like(py::handle obj, const char* name, const Array& ref,
                                 const std::vector<int64_t>& shape) {
  return obj.is_none() ? Array{} : input_like(obj, name, ref, shape);
}

inline Array optional_output_like(py::handle obj, const char* name, const Array& ref,
                                  const std::vector<int64_t>& shape) {
  return obj.is_none() ? Array{} : output_like(obj, name, ref, shape);
}

}  // namespace tl::bind
