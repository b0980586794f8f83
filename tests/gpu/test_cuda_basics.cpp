// GPU tests (label "gpu"): the CUDA allocator, copies between devices, and the element-wise kernels
// compared with the CPU backend. Each skips with a message where no GPU (or no CUDA build) exists.
#include <atomic>
#include <cmath>
#include <thread>
#include <vector>

#include "engine/ops/linalg.h"
#include "engine/ops/elementwise.h"
#include "engine/ops/reduce.h"
#include "engine/streams.h"
#include "tests/test_util.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/caching_allocator.h"
#include "engine/cuda/runtime.h"
#include "engine/cuda/slot_table.h"
#endif

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;

namespace {
bool gpu_present() {
#ifdef CUTTLE_WITH_CUDA
  if (eng::cuda::available()) return true;
  MESSAGE("skipped: no CUDA device visible");
#else
  MESSAGE("skipped: built without the CUDA backend");
#endif
  return false;
}
const eng::Device kGpu = eng::Device::cuda(0);
const eng::Device kCpu = eng::Device::cpu();
}  // namespace

TEST_SUITE("gpu") {

TEST_CASE("cuda copies round-trip with strides and dtype conversion") {
  if (!gpu_present()) return;
  for (int64_t n : {1, 3, 7, 33, 1000}) {
    Tensor x = randn({n, 5}, 1, DType::f32);
    Tensor d = x.to(kGpu);
    CHECK(d.device() == kGpu);
    CHECK(d.to(kCpu).to_vector<float>() == x.to_vector<float>());
    // Device-side transpose copy and conversion, then back.
    Tensor t = d.transpose(0, 1).contiguous();
    CHECK(t.to(kCpu).to_vector<float>() == x.transpose(0, 1).contiguous().to_vector<float>());
    CHECK(d.to(DType::f64).to(kCpu).to_vector<double>() == x.to(DType::f64).to_vector<double>());
    // Host strided source into a device slice.
    Tensor z = Tensor::zeros({n, 10}, DType::f32, kGpu);
    z.slice(1, 0, 10, 2).copy_(x);
    CHECK(z.to(kCpu).slice(1, 0, 10, 2).contiguous().to_vector<float>() == x.to_vector<float>());
    CHECK(eng::sum(z.to(kCpu).slice(1, 1, 10, 2)).item() == 0.0);
  }
  Tensor f = Tensor::full({3, 4}, 2.5, DType::f64, kGpu);
  CHECK(f.to(kCpu).to_vector<double>() == std::vector<double>(12, 2.5));
  // Zero fills of contiguous memory are memsets: only the tensor's own bytes, in every dtype; -0.0
  // and strided views take the kernel.
  f.slice(0, 1, 2).fill_(0.0);
  CHECK(f.to(kCpu).to_vector<double>() == std::vector<double>{2.5, 2.5, 2.5, 2.5, 0, 0, 0, 0, 2.5, 2.5, 2.5, 2.5});
  f.slice(1, 0, 4, 2).fill_(-0.0);
  const std::vector<double> signed_zeros = f.to(kCpu).to_vector<double>();
  CHECK(std::signbit(signed_zeros[0]));
  CHECK(signed_zeros[1] == 2.5);
  Tensor whole = Tensor::full({6}, 1.0, DType::f32, kGpu);
  whole.fill_(-0.0);  // contiguous, yet -0.0 is not all zero bytes: the kernel writes it
  for (float v : whole.to(kCpu).to_vector<float>()) CHECK((v == 0.0f && std::signbit(v)));
  for (DType dt : {DType::f32, DType::f64, DType::i32, DType::i64, DType::u8, DType::boolean}) {
    Tensor ones = Tensor::ones({5, 7}, dt, kGpu);
    ones.slice(0, 2, 4).zero_();
    const std::vector<double> v = ones.to(kCpu).to(DType::f64).to_vector<double>();
    for (size_t i = 0; i < v.size(); ++i) CHECK(v[i] == (i >= 14 && i < 28 ? 0.0 : 1.0));
  }
  CHECK_THROWS_AS(f.to_vector<double>(), cuttle::Error);  // no hidden copies
}

TEST_CASE("host-to-device copies return before the device is done and deliver every value") {
  if (!gpu_present()) return;
  // A long product queued first keeps the stream busy while the uploads are issued behind it; each
  // host source is overwritten as soon as its copy call returns (the staging pool holds the bytes).
  Tensor a = randn({2048, 2048}, 7, DType::f32).to(kGpu);
  Tensor busy = eng::matmul(eng::matmul(a, a), a);
  std::vector<Tensor> uploaded;
  for (int i = 0; i < 40; ++i) {
    Tensor host = Tensor::full({1000 + i}, (double)i, DType::f32);
    uploaded.push_back(host.to(kGpu));
    host.fill_(-1.0);
  }
  for (int i = 0; i < 40; ++i)
    CHECK(uploaded[(size_t)i].to(kCpu).to_vector<float>() == std::vector<float>((size_t)(1000 + i), (float)i));
  // Odd sizes, an i64 index list, and one over the pool's 32 MiB limit (a synchronous copy).
  for (int64_t n : {1, 3, 7, 33, 9 * 1024 * 1024 + 5}) {
    CAPTURE(n);
    Tensor x = randn({n}, 8, DType::f32);
    CHECK(x.to(kGpu).to(kCpu).to_vector<float>() == x.to_vector<float>());
  }
  Tensor ids = Tensor::from_vector<int64_t>({5, 0, 3, 3, 1}, {5});
  CHECK(ids.to(kGpu).to(kCpu).to_vector<int64_t>() == ids.to_vector<int64_t>());
  CHECK(std::isfinite(eng::sum(busy).to(kCpu).item()));
}

TEST_CASE("cuda binary and compare kernels match the CPU with broadcasting") {
  if (!gpu_present()) return;
  // Exact arithmetic is expected for add/sub/mul/max/min (IEEE, same rounding); div and pow get a
  // few ulp because the GPU's division and powf differ from glibc's in the last bit.
  const std::vector<std::pair<Shape, Shape>> cases = {{{33, 7}, {33, 7}}, {{3, 1, 5}, {1, 4, 1}}, {{7}, {1, 1}}, {{1}, {2, 3}}};
  using B = eng::BinaryOp;
  for (auto [sa, sb] : cases)
    for (B op : {B::add, B::sub, B::mul, B::div, B::maximum, B::minimum, B::pow}) {
      Tensor a = rand_uniform(sa, 0.5, 2.0, 3, DType::f32), b = rand_uniform(sb, 0.5, 2.0, 4, DType::f32);
      Tensor ref = eng::binary(op, a, b);
      Tensor got = eng::binary(op, a.to(kGpu), b.to(kGpu)).to(kCpu);
      CHECK(max_rel_diff(got, ref) <= 1e-6);
      Tensor c = eng::compare(eng::CompareOp::lt, a.to(kGpu), b.to(kGpu)).to(kCpu);
      CHECK(c.to_vector<int64_t>() == eng::compare(eng::CompareOp::lt, a, b).to_vector<int64_t>());
    }
  Tensor a = rand_uniform({5}, 0.5, 2, 5, DType::f64);
  CHECK(max_rel_diff(eng::binary_scalar(B::mul, a.to(kGpu), 3.0).to(kCpu), eng::binary_scalar(B::mul, a, 3.0)) == 0);
  CHECK_THROWS_AS(eng::add(a.to(kGpu), a), cuttle::Error);  // mixed devices
}

TEST_CASE("cuda scalar operands passed by value match the CPU's 0-d tensors") {
  if (!gpu_present()) return;
  // Contiguous tensors take the scalar in the kernel (packed and, at an odd offset, element by element);
  // a transposed one goes through a 0-d device tensor. Every dtype class; s on either side.
  using B = eng::BinaryOp;
  using C = eng::CompareOp;
  for (DType dt : {DType::f32, DType::f64, DType::i64}) {
    INFO(eng::dtype_name(dt));
    const Tensor base = dt == DType::i64 ? eng::binary_scalar(B::add, Tensor::arange(7 * 33).reshape({7, 33}), 1.0)
                                         : rand_uniform({7, 33}, 0.5, 2.0, 6, dt);
    const Tensor on = base.to(kGpu);
    const std::vector<std::pair<Tensor, Tensor>> views = {
        {base, on}, {base.slice(0, 1, 7), on.slice(0, 1, 7)}, {base.transpose(0, 1), on.transpose(0, 1)}};
    for (const auto& [a, ga] : views) {
      for (B op : {B::add, B::sub, B::mul, B::div, B::maximum})
        for (double s : {3.0, -0.75}) {
          INFO((int)op, " ", s);
          if (dt == DType::i64 && op == B::div) continue;  // -0.75 becomes 0: no integer division by it
          const double tol = op == B::div ? 1e-6 : 0;
          CHECK(max_rel_diff(eng::binary_scalar(op, ga, s).to(kCpu), eng::binary_scalar(op, a, s)) <= tol);
        }
      CHECK(max_rel_diff(eng::rsub_scalar(1.5, ga).to(kCpu), eng::rsub_scalar(1.5, a)) == 0);
      if (dt != DType::i64) CHECK(max_rel_diff(eng::rdiv_scalar(2.0, ga).to(kCpu), eng::rdiv_scalar(2.0, a)) <= 1e-6);
      for (C op : {C::lt, C::ge, C::eq})
        CHECK(eng::compare_scalar(op, ga, 1.0).to(kCpu).to_vector<int64_t>() ==
              eng::compare_scalar(op, a, 1.0).to_vector<int64_t>());
    }
  }
}

TEST_CASE("cuda unary kernels and their derivatives match the CPU") {
  if (!gpu_present()) return;
  using U = eng::UnaryOp;
  for (DType dt : {DType::f32, DType::f64}) {
    // f32 tolerance: CUDA's expf/erff/tanhf are within 2 ulp, the CPU's SIMD versions within a few;
    // relative 1e-5 covers both. f64: both sides are within 1-2 ulp of the true value.
    const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
    Tensor x = rand_uniform({37, 3}, -4, 4, 6, dt), pos = rand_uniform({37, 3}, 0.1, 4, 7, dt);
    Tensor g = randn({37, 3}, 8, dt);
    for (U op : {U::neg, U::exp, U::log, U::sqrt, U::rsqrt, U::abs, U::sign, U::sin, U::cos, U::square, U::reciprocal,
                 U::erf, U::relu, U::sigmoid, U::tanh, U::gelu, U::softplus, U::elu, U::log1p, U::expm1}) {
      const bool positive = op == U::log || op == U::sqrt || op == U::rsqrt || op == U::reciprocal;
      Tensor in = positive ? pos : x;
      INFO(eng::unary_op_name(op), " ", eng::dtype_name(dt));
      Tensor y = eng::unary(op, in, 1.3);
      Tensor yg = eng::unary(op, in.to(kGpu), 1.3);
      CHECK(max_rel_diff(yg.to(kCpu), y) <= tol);
      Tensor d = eng::unary_backward(op, g, in, y, 1.3);
      Tensor dg = eng::unary_backward(op, g.to(kGpu), in.to(kGpu), yg, 1.3);
      CHECK(max_rel_diff(dg.to(kCpu), d) <= tol * 10);
      // Strided input path.
      Tensor tg = eng::unary(op, in.to(kGpu).transpose(0, 1), 1.3);
      CHECK(max_rel_diff(tg.to(kCpu), eng::unary(op, in.transpose(0, 1), 1.3)) <= tol);
    }
  }
}

#ifdef CUTTLE_WITH_CUDA
namespace {
struct TestSlotTag {
  static constexpr const char* name = "test table";
};
}  // namespace

// Needs no GPU: the table's logic alone (entries made once, seen by every thread, checked ranges).
TEST_CASE("slot tables make each entry once and hand every thread the same object") {
  using Table = eng::cuda::SlotTable<int, TestSlotTag>;  // the one table of this Tag
  std::atomic<int> made{0};
  auto make = [&] { return 100 + made++; };
  int* first = &Table::get(0, 1, make);
  CHECK(*first == 100);
  std::vector<int*> seen(4, nullptr);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t)
    threads.emplace_back([&, t] { seen[t] = &Table::get(0, 1, make); });
  for (std::thread& t : threads) t.join();
  for (int* p : seen) CHECK(p == first);
  CHECK(made == 1);
  CHECK(&Table::get(0, 2, make) != first);  // another slot: another entry
  CHECK(&Table::get(1, 1, make) != first);  // another device
  CHECK(made == 3);
  CHECK(&Table::get(0, 1, make) == first);
  CHECK_THROWS_WITH_AS(Table::get(0, eng::cuda::kMaxSideStreams + 1, make), doctest::Contains("test table"), cuttle::Error);
  CHECK_THROWS_AS(Table::get(-1, 0, make), cuttle::Error);
}

// A slot worker starts on device 0; its slot guard makes the node's device current (and puts the
// thread back afterwards), so a model on a second GPU does not switch devices around every op.
TEST_CASE("a stream slot guard makes its device current for its lifetime") {
  if (!gpu_present()) return;
  const int last = eng::cuda::device_count() - 1;
  std::thread([&] {
    eng::cuda::set_device(0);
    {
      eng::StreamSlotGuard slot(eng::Device::cuda(last), 2);
      CHECK(eng::cuda::current_device() == last);
      CHECK(eng::cuda::stream_slot(last) == 2);
      eng::StreamSlotGuard inner(eng::Device::cuda(last), 1);
      CHECK(eng::cuda::current_device() == last);
    }
    CHECK(eng::cuda::current_device() == 0);
    CHECK(eng::cuda::stream_slot(last) == 0);
  }).join();
  if (last == 0) MESSAGE("one GPU visible: the device switch itself is untested");
}

TEST_CASE("cuda caching allocator reuses blocks and reports out-of-memory clearly") {
  if (!gpu_present()) return;
  eng::cuda::synchronize(0);
  const auto before = eng::cuda::allocator_stats(0);
  for (int i = 0; i < 50; ++i) {
    Tensor t = Tensor::empty({1 << 20}, DType::f32, kGpu);  // 4 MiB, freed each iteration
  }
  const auto after = eng::cuda::allocator_stats(0);
  CHECK(after.malloc_calls - before.malloc_calls <= 1);
  CHECK(after.allocated == before.allocated);
  CHECK(after.peak_allocated >= (size_t(4) << 20));
  try {
    Tensor huge = Tensor::empty({int64_t(1) << 46}, DType::f32, kGpu);  // 256 TiB
    FAIL("expected an out-of-memory error");
  } catch (const cuttle::Error& e) {
    const std::string m = e.what();
    CHECK(m.find("out of memory") != std::string::npos);
    CHECK(m.find("reserved") != std::string::npos);
  }
  // Still usable after the failure.
  CHECK(Tensor::full({4}, 1.0, DType::f32, kGpu).to(kCpu).to_vector<float>() == std::vector<float>(4, 1.0f));
  eng::cuda::empty_cache(0);
  CHECK(eng::cuda::allocator_stats(0).reserved <= after.reserved);
}

TEST_CASE("cuda caching allocator merges split blocks back into whole segments") {
  if (!gpu_present()) return;
  // 700 KiB requests share 2 MiB segments (two each, a 648 KiB tail split off): once all are freed,
  // every segment must have merged back into one free block, which empty_cache returns to the driver.
  eng::cuda::synchronize(0);
  eng::cuda::empty_cache(0);
  const auto before = eng::cuda::allocator_stats(0);
  {
    std::vector<Tensor> blocks;
    for (int i = 0; i < 12; ++i) blocks.push_back(Tensor::empty({700 * 256}, DType::f32, kGpu));
    CHECK(eng::cuda::allocator_stats(0).malloc_calls > before.malloc_calls);
    blocks.erase(blocks.begin() + 3);  // freed out of order: merges both ways
    blocks.erase(blocks.begin());
  }
  // A 1 MiB request fits a merged segment: no new cudaMalloc.
  const int64_t mallocs = eng::cuda::allocator_stats(0).malloc_calls;
  { Tensor t = Tensor::empty({256 * 1024}, DType::f32, kGpu); }
  CHECK(eng::cuda::allocator_stats(0).malloc_calls == mallocs);
  CHECK_NOTHROW(eng::cuda::empty_cache(0));
  const auto after = eng::cuda::allocator_stats(0);
  CHECK(after.reserved == before.reserved);
  CHECK(after.allocated == before.allocated);
  CHECK(after.held == 0);
}
#endif

}

#include "data/loader.h"
#include "data/synthetic_dataset.h"

TEST_SUITE("gpu") {

TEST_CASE("the loader delivers identical batches on the GPU from pinned host buffers") {
  if (!gpu_present()) return;
  Tensor pinned = Tensor::empty_pinned({4});
  CHECK(pinned.storage()->pinned());
  auto ds = std::make_shared<data::SyntheticDataset>("train", 6, 20, 20, 1);
  auto first_batch = [&](eng::Device device) {
    data::LoaderOptions o;
    o.batch_size = 3;
    o.height = o.width = 16;
    o.device = device;
    data::DataLoader loader(ds, o);
    loader.start_epoch(0);
    return *loader.next();
  };
  data::Batch cpu = first_batch(kCpu), gpu = first_batch(kGpu);
  CHECK(gpu.images.device() == kGpu);
  CHECK(gpu.images.to(kCpu).to_vector<float>() == cpu.images.to_vector<float>());
  CHECK(gpu.masks.to(kCpu).to_vector<float>() == cpu.masks.to_vector<float>());
}

}

#include "engine/ops/linalg.h"
#ifdef CUTTLE_WITH_CUDA
#include "engine/cuda/cublas.h"
#endif

TEST_SUITE("gpu") {

TEST_CASE("cuda matmul and linear match the CPU") {
  if (!gpu_present()) return;
  // f32 without TF32: cuBLAS and the CPU GEMM both accumulate in f32 but in different orders, so
  // they differ by a few ulp times sqrt(K); 1e-5 relative to the largest value covers K up to ~1000.
  struct Case { Shape a, b; bool ta, tb; };
  const std::vector<Case> cases = {{{7, 33}, {33, 5}, false, false}, {{33, 7}, {33, 5}, true, false},
                                   {{1, 3}, {9, 3}, false, true},   {{4, 3, 17, 8}, {8, 6}, false, false},
                                   {{2, 1, 5, 4}, {3, 4, 7}, false, false}, {{3, 64, 300}, {3, 300, 65}, false, false}};
  for (DType dt : {DType::f32, DType::f64}) {
    const double tol = dt == DType::f32 ? 1e-5 : 1e-12;
    for (const Case& c : cases) {
      Tensor a = randn(c.a, 21, dt), b = randn(c.b, 22, dt);
      Tensor ref = eng::matmul(a, b, c.ta, c.tb);
      Tensor got = eng::matmul(a.to(kGpu), b.to(kGpu), c.ta, c.tb);
      CHECK(got.device() == kGpu);
      CHECK(max_rel_diff(got.to(kCpu), ref) <= tol);
    }
    Tensor x = randn({5, 3, 12}, 23, dt), w = randn({7, 12}, 24, dt), bias = randn({7}, 25, dt);
    CHECK(max_rel_diff(eng::linear(x.to(kGpu), w.to(kGpu), bias.to(kGpu)).to(kCpu), eng::linear(x, w, bias)) <= tol);
    CHECK(max_rel_diff(eng::linear(x.to(kGpu), w.to(kGpu)).to(kCpu), eng::linear(x, w)) <= tol);
  }
#ifdef CUTTLE_WITH_CUDA
  // TF32 (10-bit mantissa inputs): looser, and switched back off.
  eng::cuda::set_allow_tf32(true);
  Tensor a = randn({64, 256}, 26, DType::f32), b = randn({256, 32}, 27, DType::f32);
  CHECK(max_rel_diff(eng::matmul(a.to(kGpu), b.to(kGpu)).to(kCpu), eng::matmul(a, b)) <= 5e-3);
  eng::cuda::set_allow_tf32(false);
#endif
}

}

#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"

TEST_SUITE("gpu") {

TEST_CASE("cuda reductions match the CPU over any axes") {
  if (!gpu_present()) return;
  // Both backends accumulate f32 sums in double in a fixed order; the orders differ, so allow 1e-6.
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor x = randn({3, 33, 7, 5}, 31, dt);
    const Tensor g = x.to(kGpu);
    for (const eng::Axes& axes : std::vector<eng::Axes>{{}, {1}, {0, 2}, {-1}, {1, 2, 3}}) {
      CHECK(max_rel_diff(eng::sum(g, axes).to(kCpu), eng::sum(x, axes)) <= 1e-6);
      CHECK(max_rel_diff(eng::mean(g, axes, true).to(kCpu), eng::mean(x, axes, true)) <= 1e-6);
      CHECK(max_rel_diff(eng::amax(g, axes).to(kCpu), eng::amax(x, axes)) == 0);
      CHECK(max_rel_diff(eng::amin(g, axes).to(kCpu), eng::amin(x, axes)) == 0);
    }
    // Broadcasting backward reduces on the device.
    CHECK(max_rel_diff(eng::sum_to_shape(g, {33, 1, 1}).to(kCpu), eng::sum_to_shape(x, {33, 1, 1})) <= 1e-6);
  }
  // Few long rows take the two-pass path (chunks of 4096 per block, then the chunk results): rows of
  // 70001 elements (a partial last chunk), one row, and a row just past four chunks; a NaN survives it.
  for (DType dt : {DType::f32, DType::f64}) {
    for (const Shape& shape : std::vector<Shape>{{5, 70001}, {1, 16385}, {3, 4 * 4096 + 1}}) {
      Tensor x = randn(shape, 77, dt);
      const Tensor g = x.to(kGpu);
      CHECK(max_rel_diff(eng::sum(g, {1}).to(kCpu), eng::sum(x, {1})) <= 1e-6);
      CHECK(max_rel_diff(eng::mean(g, {1}, false).to(kCpu), eng::mean(x, {1}, false)) <= 1e-6);
      CHECK(max_rel_diff(eng::amax(g, {1}).to(kCpu), eng::amax(x, {1})) == 0);
      CHECK(max_rel_diff(eng::amin(g, {1}).to(kCpu), eng::amin(x, {1})) == 0);
    }
    Tensor x = randn({2, 20000}, 78, dt);
    x.select(0, 1).slice(0, 12345, 12346).fill_(std::nan(""));
    const Tensor m = eng::amax(x.to(kGpu), {1}).to(kCpu);
    CHECK_FALSE(std::isnan(m.select(0, 0).item()));
    CHECK(std::isnan(m.select(0, 1).item()));
  }
}

TEST_CASE("autograd runs on the GPU and matches the CPU") {
  if (!gpu_present()) return;
  using autograd::Var;
  Tensor x = randn({4, 9}, 41, DType::f64), b = randn({9}, 42, DType::f64);
  auto grads = [&](eng::Device d) {
    Var xv(x.to(d), true), bv(b.to(d), true);
    Var y = autograd::sum(autograd::tanh(xv * bv + xv * 2.0), {1});
    autograd::sum(y * y).backward();
    return std::make_pair(xv.grad(), bv.grad());
  };
  auto cpu = grads(kCpu), gpu = grads(kGpu);
  CHECK(gpu.first.device() == kGpu);
  CHECK(max_rel_diff(gpu.first.to(kCpu), cpu.first) <= 1e-12);
  CHECK(max_rel_diff(gpu.second.to(kCpu), cpu.second) <= 1e-12);
}

}
