// The optim op family under the sanitizers: cuda/optim.cu run by the emulator against
// cpp/optim.cpp on the same inputs (both built with -fsanitize=...): every rule and variant,
// float and double, sizes that are not multiples of the block, several tensors per call,
// with gradient scale, clipvalue and decay.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include "cuda_compat.cuh"
#include "emu_test.hpp"
#include "optim.cuh"
#include "optim.hpp"

namespace {

using namespace tl_test;
namespace op = tl::optim;

template <class T>
void compare(int rule, int flags, T rtol) {
  std::mt19937 gen(7 + rule * 16 + flags);
  std::normal_distribution<T> normal;
  const int n_slots = op::slot_count(rule, flags);
  const std::vector<int64_t> sizes = {1, 257, 1000};
  op::Step<T> step;
  step.rule = rule;
  step.flags = flags;
  step.lr = T(0.05);
  step.clip = T(0.8);
  const T coeffs[10] = {T(0.9), T(0.1), T(0.999), T(0.001), T(0.85), T(0.3), T(0.2), T(0.25), T(0.01), T(1e-7)};
  for (int c = 0; c < 10; ++c) step.c[c] = coeffs[c];
  if (rule == op::kFtrl) step.c[0] = T(0.5);
  std::vector<std::vector<T>> host(sizes.size() * 5);  // per tensor: param, grad, 3 slots
  std::vector<T*> dev(host.size(), nullptr);
  std::vector<op::Tensor<T>> cpu(sizes.size()), gpu(sizes.size());
  for (size_t k = 0; k < sizes.size(); ++k) {
    const int64_t n = sizes[k];
    for (int a = 0; a < 5; ++a) {
      std::vector<T>& h = host[k * 5 + a];
      h.resize(n);
      for (T& v : h) v = a >= 2 ? std::fabs(normal(gen)) * T(0.1) + T(0.01) : normal(gen);
      if (rule == op::kRmsprop && a >= 3) h.assign(n, T(0));  // centered needs v >= avg^2
      dev[k * 5 + a] = device_copy(h);
    }
    for (op::Tensor<T>* t : {&cpu[k], &gpu[k]}) {
      const bool d = t == &gpu[k];
      t->param = d ? dev[k * 5] : host[k * 5].data();
      t->grad = d ? dev[k * 5 + 1] : host[k * 5 + 1].data();
      for (int s = 0; s < n_slots; ++s) t->slot[s] = d ? dev[k * 5 + 2 + s] : host[k * 5 + 2 + s].data();
      t->n = n;
      t->scale = T(0.9);
      t->decay = T(0.999);
    }
  }
  for (int it = 0; it < 2; ++it) {
    op::update(step, cpu.data(), static_cast<int64_t>(cpu.size()), 1);
    tl::cuda::optim::update(step, gpu.data(), static_cast<int64_t>(gpu.size()), 0);
  }
  for (size_t k = 0; k < sizes.size(); ++k)
    for (int a = 0; a < 2 + n_slots; ++a) {
      if (a == 1) continue;
      const bool ok = close(host_copy(dev[k * 5 + a], sizes[k]), host[k * 5 + a], rtol);
      if (!ok) std::printf("rule %d flags %d tensor %zu array %d\n", rule, flags, k, a);
      expect(ok, "optim: CUDA (emulated) and CPU results differ", __LINE__);
    }
  for (T* p : dev) cudaFree(p);
}

}  // namespace

int main() {
  const int variants[][2] = {{op::kSgd, 0}, {op::kSgd, op::kMomentum}, {op::kSgd, op::kMomentum | op::kNesterov},
                             {op::kAdam, 0}, {op::kAdam, op::kAmsgrad}, {op::kRmsprop, 0},
                             {op::kRmsprop, op::kMomentum}, {op::kRmsprop, op::kCentered},
                             {op::kRmsprop, op::kMomentum | op::kCentered}, {op::kAdagrad, 0},
                             {op::kAdadelta, 0}, {op::kAdamax, 0}, {op::kNadam, 0}, {op::kFtrl, 0}};
  for (const auto& v : variants) {
    compare<float>(v[0], v[1], 1e-5f);
    compare<double>(v[0], v[1], 1e-12);
  }
  if (failures) return 1;
  std::puts("optim: CUDA kernels under emulation agree with the CPU kernels");
  return 0;
}
