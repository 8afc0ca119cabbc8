// The optim op family: one fused, in-place update per parameter tensor for each optimizer
// rule of keras.optimizers (Keras 3's update math). A step reads the gradient once, scales
// and clips it, applies the decoupled weight decay to the parameter, updates the rule's slot
// arrays and the parameter, all in one pass. Scalars that depend on the step (Adam's bias
// correction, Nadam's momentum schedule, the learning rate of a schedule) are computed once
// per step by the caller, in T, in Keras' order, and arrive in `Step::c`.
//
// The element update (`element<R, F>`) is shared by the CPU loops (cpp/optim_isa.cpp) and
// the CUDA kernel (cuda/optim.cu), so both compute the same expressions.
#pragma once
#include <cmath>
#include <cstdint>

#if defined(__CUDACC__)
#define TL_OPTIM_HD __host__ __device__ __forceinline__
#else
#define TL_OPTIM_HD inline
#endif

namespace tl::optim {

// The rules (the values are the Python ops layer's too: _ops/optim.py RULES).
enum Rule : int {
  kSgd = 0,       // slots: [momentum]                    c: momentum
  kAdam = 1,      // slots: m, v, [v_hat]                 c: b1, 1-b1, b2, 1-b2, alpha, eps
  kRmsprop = 2,   // slots: v, [momentum], [avg grad]     c: rho, 1-rho, momentum, eps
                  //   (slots are packed: centered without momentum has avg grad second)
  kAdagrad = 3,   // slots: accumulator                   c: eps
  kAdadelta = 4,  // slots: acc grad, acc delta           c: rho, 1-rho, eps
  kAdamax = 5,    // slots: m, u                          c: b1, 1-b1, b2, 1-b1^t, eps
  kNadam = 6,     // slots: m, v                          c: b1, 1-b1, b2, 1-b2, u_t1,
                  //                 1-uprod_t1, 1-u_t, 1-uprod_t, 1-b2^t, eps
  kFtrl = 7,      // slots: accumulator, linear           c: -lr_power, l1, 2*l2, 2*l2_shrinkage
  kRuleCount = 8,
};

// Variants of a rule (bits).
enum Flag : int {
  kMomentum = 1,  // SGD, RMSprop: a momentum slot
  kNesterov = 2,  // SGD
  kAmsgrad = 4,   // Adam
  kCentered = 8,  // RMSprop
};

// How many slot arrays (each the parameter's shape and dtype) a rule with these flags uses;
// -1 for an invalid combination.
inline int slot_count(int rule, int flags) {
  switch (rule) {
    case kSgd:
      if (flags & ~(kMomentum | kNesterov)) return -1;
      if ((flags & kNesterov) && !(flags & kMomentum)) return -1;
      return flags & kMomentum ? 1 : 0;
    case kAdam:
      if (flags & ~kAmsgrad) return -1;
      return flags & kAmsgrad ? 3 : 2;
    case kRmsprop:
      if (flags & ~(kMomentum | kCentered)) return -1;
      return 1 + !!(flags & kMomentum) + !!(flags & kCentered);
    case kAdagrad:
      return flags ? -1 : 1;
    case kAdadelta: case kAdamax: case kNadam: case kFtrl:
      return flags ? -1 : 2;
    default:
      return -1;
  }
}

constexpr int kMaxCoeffs = 10;

// One step's scalars, in the parameter's dtype.
template <class T>
struct Step {
  int rule = kSgd, flags = 0;
  T lr = 0;     // learning rate
  T clip = INFINITY;  // clipvalue: g = clip(g, -clip, clip); +inf: none
  T c[kMaxCoeffs] = {};  // the rule's coefficients (above)
};

// One parameter tensor of a step: its arrays and the per-tensor scalars.
template <class T>
struct Tensor {
  T* param = nullptr;
  const T* grad = nullptr;
  T* slot[3] = {nullptr, nullptr, nullptr};
  int64_t n = 0;
  T scale = 1;  // g *= scale first (clipnorm, global_clipnorm); 1: none
  T decay = 1;  // param *= decay first (1 - weight_decay * lr); 1: none
};

// Updates every tensor in place (each element once; OpenMP over large tensors).
template <class T>
void update(const Step<T>& step, const Tensor<T>* tensors, int64_t count, int n_threads);

// The per-SIMD-level loop (cpp/optim_isa.cpp): elements [0, n) of one tensor.
template <class T>
struct Kernels {
  void (*update)(const Step<T>& step, const Tensor<T>& t, int64_t begin, int64_t end);
};

template <class T>
const Kernels<T>& kernels();  // for the active SIMD level

// ---- the element update, shared by the CPU and CUDA kernels --------------------------------

template <class T>
TL_OPTIM_HD T clip_value(T g, T c) {  // NaN stays NaN, as Keras' ops.clip keeps it
  return g < -c ? -c : (g > c ? c : g);
}

// Element i of a tensor. R and F are compile-time, so each variant is a plain loop. The
// scale, clip and decay are always applied: x * 1 and clip(x, -inf, inf) are exact, and the
// loops are memory-bound, so one variant serves with and without them.
template <int R, int F, class T>
TL_OPTIM_HD void element(const Step<T>& s, T* __restrict__ p, const T* __restrict__ gp,
                         T* __restrict__ s0, T* __restrict__ s1, T* __restrict__ s2, T scale,
                         T decay, int64_t i) {
  using std::fabs;
  using std::pow;
  using std::sqrt;
  T g = gp[i];
  g = clip_value(g * scale, s.clip);
  T w = p[i] * decay;
  const T lr = s.lr;
  if constexpr (R == kSgd) {
    if constexpr ((F & kMomentum) != 0) {
      const T mom = s.c[0];
      const T m = s0[i] * mom - lr * g;
      s0[i] = m;
      if constexpr ((F & kNesterov) != 0)
        w = (w - lr * g) + mom * m;
      else
        w = w + m;
    } else {
      w = w - lr * g;
    }
  } else if constexpr (R == kAdam) {
    const T m = s0[i] * s.c[0] + s.c[1] * g;
    T v = s1[i] * s.c[2] + s.c[3] * (g * g);
    s0[i] = m;
    s1[i] = v;
    if constexpr ((F & kAmsgrad) != 0) {
      const T vh = s2[i] > v || s2[i] != s2[i] ? s2[i] : v;  // torch.maximum: NaN wins
      s2[i] = vh;
      v = vh;
    }
    w = w - (m * s.c[4]) / (sqrt(v) + s.c[5]);
  } else if constexpr (R == kRmsprop) {
    const T rho = s.c[0], one_minus_rho = s.c[1];
    const T v = rho * s0[i] + one_minus_rho * (g * g);
    s0[i] = v;
    T denom;
    if constexpr ((F & kCentered) != 0) {
      T* __restrict__ avg = (F & kMomentum) != 0 ? s2 : s1;  // the slots are packed in order
      const T a = rho * avg[i] + one_minus_rho * g;
      avg[i] = a;
      denom = (v + s.c[3]) - a * a;
    } else {
      denom = v + s.c[3];
    }
    const T inc = (g * lr) / sqrt(denom);
    if constexpr ((F & kMomentum) != 0) {
      const T m = s1[i] * s.c[2] + inc;
      s1[i] = m;
      w = w - m;
    } else {
      w = w - inc;
    }
  } else if constexpr (R == kAdagrad) {
    const T acc = s0[i] + g * g;
    s0[i] = acc;
    w = w - (lr * g) / sqrt(acc + s.c[0]);
  } else if constexpr (R == kAdadelta) {
    const T rho = s.c[0], one_minus_rho = s.c[1], eps = s.c[2];
    const T ag = rho * s0[i] + one_minus_rho * (g * g);
    s0[i] = ag;
    const T d = -((sqrt(s1[i] + eps) * g) / sqrt(ag + eps));
    s1[i] = rho * s1[i] + one_minus_rho * (d * d);
    w = w + lr * d;
  } else if constexpr (R == kAdamax) {
    const T m = s0[i] * s.c[0] + s.c[1] * g;
    const T bu = s1[i] * s.c[2], ag = fabs(g);
    const T u = bu > ag || bu != bu ? bu : ag;  // torch.maximum: NaN wins
    s0[i] = m;
    s1[i] = u;
    w = w - (m * lr) / ((u + s.c[4]) * s.c[3]);
  } else if constexpr (R == kNadam) {
    const T m = s0[i] * s.c[0] + s.c[1] * g;
    const T v = s1[i] * s.c[2] + s.c[3] * (g * g);
    s0[i] = m;
    s1[i] = v;
    const T m_hat = (m * s.c[4]) / s.c[5] + (g * s.c[6]) / s.c[7];
    const T v_hat = v / s.c[8];
    w = w - (m_hat * lr) / (sqrt(v_hat) + s.c[9]);
  } else if constexpr (R == kFtrl) {
    const T power = s.c[0], l1 = s.c[1], l2x2 = s.c[2], shrink = s.c[3];
    const T accum = s0[i];
    const T g_use = g + shrink * w;
    const T new_accum = accum + g * g;
    const T pn = pow(new_accum, power), po = pow(accum, power);
    const T lin = s1[i] + (g_use - ((pn - po) / lr) * w);
    s1[i] = lin;
    const T quadratic = pn / lr + l2x2;
    const T clipped = clip_value(lin, l1);
    w = (clipped - lin) / quadratic;
    s0[i] = new_accum;
  }
  p[i] = w;
}

// Calls f.template operator()<R, F>() for the compile-time variant of (rule, flags); false
// when the combination is invalid.
template <class Fn>
inline bool dispatch(int rule, int flags, Fn&& f) {
  switch (rule) {
    case kSgd:
      if (flags == 0) return f.template operator()<kSgd, 0>(), true;
      if (flags == kMomentum) return f.template operator()<kSgd, kMomentum>(), true;
      if (flags == (kMomentum | kNesterov)) return f.template operator()<kSgd, kMomentum | kNesterov>(), true;
      return false;
    case kAdam:
      if (flags == 0) return f.template operator()<kAdam, 0>(), true;
      if (flags == kAmsgrad) return f.template operator()<kAdam, kAmsgrad>(), true;
      return false;
    case kRmsprop:
      if (flags == 0) return f.template operator()<kRmsprop, 0>(), true;
      if (flags == kMomentum) return f.template operator()<kRmsprop, kMomentum>(), true;
      if (flags == kCentered) return f.template operator()<kRmsprop, kCentered>(), true;
      if (flags == (kMomentum | kCentered)) return f.template operator()<kRmsprop, kMomentum | kCentered>(), true;
      return false;
    case kAdagrad: return flags == 0 && (f.template operator()<kAdagrad, 0>(), true);
    case kAdadelta: return flags == 0 && (f.template operator()<kAdadelta, 0>(), true);
    case kAdamax: return flags == 0 && (f.template operator()<kAdamax, 0>(), true);
    case kNadam: return flags == 0 && (f.template operator()<kNadam, 0>(), true);
    case kFtrl: return flags == 0 && (f.template operator()<kFtrl, 0>(), true);
    default: return false;
  }
}

#define TL_INSTANTIATE_OPTIM(T) \
  template void update<T>(const Step<T>&, const Tensor<T>*, int64_t, int);

}  // namespace tl::optim
