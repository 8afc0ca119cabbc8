// What every binding source shares: which kernels this module binds, and the registration
// function of each op family (src/<family>.cpp), called by src/module.cpp.
#pragma once
#include <pybind11/pybind11.h>

#if defined(TL_BACKEND_CUDA) || defined(TL_BACKEND_CUDA_EMU)
#define TL_ON_GPU 1  // the cuda/ kernels: on a GPU, or run by the emulation
#else
#define TL_ON_GPU 0  // the cpp/ kernels
#endif

namespace tl::bind {

void bind_distance(pybind11::module_& m);
void bind_dbscan(pybind11::module_& m);
void bind_kmeans(pybind11::module_& m);
void bind_dense(pybind11::module_& m);
void bind_softmax_xent(pybind11::module_& m);
void bind_optim(pybind11::module_& m);
void bind_pool2d(pybind11::module_& m);
void bind_rnn(pybind11::module_& m);
void bind_conv2d(pybind11::module_& m);

}  // namespace tl::bind
