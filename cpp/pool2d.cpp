#include "pool2d.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <vector>

#include "isa.hpp"
#include "threads.hpp"

namespace tl::pool2d {

TL_ISA_KERNELS_DISPATCH()

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw std::invalid_argument("pool2d: " + what);
}

// Output size along one axis; the paddings are checked against the window first.
int64_t output_size(const char* axis, int64_t size, int64_t k, int64_t s, int64_t before,
                    int64_t after) {
  const std::string a(axis);
  require(k >= 1, "the pool size along " + a + " must be >= 1, got " + std::to_string(k));
  require(s >= 1, "the stride along " + a + " must be >= 1, got " + std::to_string(s));
  require(before >= 0 && after >= 0 && before < k && after < k,
          "the paddings along " + a + " must be in [0, pool size), got (" +
              std::to_string(before) + ", " + std::to_string(after) + ") for pool size " +
              std::to_string(k));
  const int64_t padded = size + before + after;
  require(padded >= k, "the window along " + a + " (" + std::to_string(k) +
                           ") is larger than the padded input (" + std::to_string(padded) + ")");
  return (padded - k) / s + 1;
}

// Rows [begin(t), begin(t + 1)) for thread t of nt.
struct Rows {
  int64_t n;
  int nt;
  int64_t begin(int t) const { return n * t / nt; }
};

// The tables of a call (Tables<T> points into it).
template <class T>
struct TableData {
  std::vector<Range<int64_t>> cover_h, cover_w;
  std::vector<T> inverse_count;

  TableData(const Geometry& g, Mode mode) : cover_h(g.h), cover_w(g.w) {
    for (int64_t i = 0; i < g.h; ++i) cover_h[i] = covering(i, g.kh, g.sh, g.pad_top, g.oh);
    for (int64_t i = 0; i < g.w; ++i) cover_w[i] = covering(i, g.kw, g.sw, g.pad_left, g.ow);
    if (mode == Mode::average) {
      inverse_count.resize(g.oh * g.ow);
      for (int64_t y = 0; y < g.oh; ++y) {
        const Range<int64_t> rh = window(y, g.kh, g.sh, g.pad_top, g.h);
        for (int64_t x = 0; x < g.ow; ++x) {
          const Range<int64_t> rw = window(x, g.kw, g.sw, g.pad_left, g.w);
          inverse_count[y * g.ow + x] =
              T(1) / static_cast<T>((rh.end - rh.begin) * (rw.end - rw.begin));
        }
      }
    }
  }
  Tables<T> tables() const {
    return {cover_h.data(), cover_w.data(), inverse_count.empty() ? nullptr : inverse_count.data()};
  }
};

// The thread count for `rows` rows costing `elements` element operations in all. The
// library's threshold counts multiply-adds at GEMM speed; a pooling element operation (a
// SIMD lane's load and compare or add, memory-bound) costs about kElementCost of those.
// Measured on 2 cores at batch 32: two threads took 76 us where one took 129 (28x28x6 max,
// 0.15M element operations forward) and 16.5 us where one took 18 (10x10x16, 0.05M), so
// teams start near 0.13M operations, about 40 us of one core (benchmarks/README.md).
constexpr double kElementCost = 8;
int team(int n_threads, int64_t rows, double elements) {
  return static_cast<int>(std::max<int64_t>(
      1, std::min<int64_t>(threads::resolve(n_threads, elements * kElementCost), rows)));
}

}  // namespace

Mode parse_mode(const std::string& name) {
  if (name == "max") return Mode::max;
  if (name == "average") return Mode::average;
  throw std::invalid_argument("unknown pooling mode '" + name + "'; expected 'max' or 'average'");
}

const char* mode_name(Mode mode) { return mode == Mode::max ? "max" : "average"; }

Geometry make_geometry(int64_t n, int64_t h, int64_t w, int64_t c, int64_t kh, int64_t kw,
                       int64_t sh, int64_t sw, int64_t pad_top, int64_t pad_bottom,
                       int64_t pad_left, int64_t pad_right) {
  require(n >= 0, "negative batch size");
  require(h >= 1 && w >= 1, "the image must have at least one row and one column");
  require(c >= 1, "the input must have at least one channel");
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  require(h <= kMax / w && h * w <= kMax / c,
          "an image of more than 2^31 - 1 elements is not supported (int32 indices)");
  require(kh <= kMax && kw <= kMax && sh <= kMax && sw <= kMax,
          "pool sizes and strides must be below 2^31");
  Geometry g{n, h, w, c, kh, kw, sh, sw, pad_top, pad_left, 0, 0};
  g.oh = output_size("height", h, kh, sh, pad_top, pad_bottom);
  g.ow = output_size("width", w, kw, sw, pad_left, pad_right);
  return g;
}

template <class T>
void forward(const T* x, const Geometry& g, Mode mode, T* out, int32_t* argmax, int n_threads) {
  const int64_t rows = g.n * g.oh;
  if (rows == 0) return;
  const Kernels<T>& kern = kernels<T>();
  const TableData<T> data(g, mode);
  const Tables<T> tab = data.tables();
  const int nt = team(n_threads, rows, double(rows) * g.ow * g.c * g.kh * g.kw);
  if (nt == 1) {
    kern.forward_rows(x, g, tab, mode, 0, rows, out, argmax);
    return;
  }
  const Rows part{rows, nt};
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; ++t)
    kern.forward_rows(x, g, tab, mode, part.begin(t), part.begin(t + 1), out, argmax);
}

template <class T>
void backward(const T* grad_out, const int32_t* argmax, const Geometry& g, Mode mode, T* dx,
              int n_threads) {
  const int64_t rows = g.n * g.h;
  if (rows == 0) return;
  const Kernels<T>& kern = kernels<T>();
  const TableData<T> data(g, mode);
  const Tables<T> tab = data.tables();
  // Each input element reads about (kh / sh) x (kw / sw) outputs, at least one.
  const double reads =
      std::max<double>(1.0, double(g.kh) / g.sh) * std::max<double>(1.0, double(g.kw) / g.sw);
  const int nt = team(n_threads, rows, double(rows) * g.w * g.c * reads);
  if (nt == 1) {
    kern.backward_rows(grad_out, argmax, g, tab, mode, 0, rows, dx);
    return;
  }
  const Rows part{rows, nt};
#pragma omp parallel for num_threads(nt) schedule(static)
  for (int t = 0; t < nt; ++t)
    kern.backward_rows(grad_out, argmax, g, tab, mode, part.begin(t), part.begin(t + 1), dx);
}

TL_INSTANTIATE_POOL2D(float)
TL_INSTANTIATE_POOL2D(double)

}  // namespace tl::pool2d
