// GPU tests (label "gpu"): dropout on the GPU draws exactly the CPU's mask for the same generator
// state, and advances the generator as the CPU does, so CPU and GPU training runs are comparable.
#include "engine/ops/dropout.h"
#include "tests/gpu/gpu_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::test::gpu;
namespace eng = cuttle::engine;

TEST_SUITE("gpu") {

TEST_CASE("sanitize: cuda dropout mask and output equal the CPU's bit for bit") {
  if (!gpu_present()) return;
  Poison poison;
  for (DType dt : {DType::f32, DType::f64})
    for (const Shape& s : std::vector<Shape>{{1}, {7, 33}, {3, 5, 7}, {257}})
      for (double p : {0.1, 0.5, 0.9}) {
        INFO(eng::shape_str(s), " p ", p, " ", eng::dtype_name(dt));
        Tensor x = randn(s, 1500, dt);
        eng::Generator gc(77), gg(77);
        gc.advance(12345);
        gg.advance(12345);
        eng::DropoutResult ref = eng::dropout(x, p, true, &gc);
        eng::DropoutResult got = eng::dropout(x.to(kGpu), p, true, &gg);
        CHECK(got.mask.device() == kGpu);
        CHECK(got.mask.to(kCpu).to_vector<double>() == ref.mask.to_vector<double>());  // exact: same draw, same scale
        CHECK(got.output.to(kCpu).to_vector<double>() == ref.output.to_vector<double>());
        CHECK(gg.offset() == gc.offset());
        Tensor g = randn(s, 1501, dt);
        CHECK(eng::dropout_backward(g.to(kGpu), got.mask).to(kCpu).to_vector<double>() ==
              eng::dropout_backward(g, ref.mask).to_vector<double>());
      }
}

TEST_CASE("sanitize: cuda dropout of strided inputs and the trivial cases") {
  if (!gpu_present()) return;
  Poison poison;
  Tensor base = randn({5, 9}, 1600, DType::f32);
  eng::Generator gc(5), gg(5);
  eng::DropoutResult ref = eng::dropout(base.transpose(0, 1), 0.3, true, &gc);
  eng::DropoutResult got = eng::dropout(base.to(kGpu).transpose(0, 1), 0.3, true, &gg);
  CHECK(got.output.to(kCpu).to_vector<float>() == ref.output.to_vector<float>());
  CHECK(got.mask.to(kCpu).to_vector<float>() == ref.mask.to_vector<float>());
  // Eval and p = 0: the input itself, no draw; p = 1: zeros on the input's device.
  Tensor xg = base.to(kGpu);
  eng::DropoutResult id = eng::dropout(xg, 0.5, false, &gg);
  CHECK(id.output.shares_storage(xg));
  CHECK_FALSE(id.mask.defined());
  eng::DropoutResult all = eng::dropout(xg, 1.0, true, &gg);
  CHECK(all.output.device() == kGpu);
  CHECK(all.output.to(kCpu).to_vector<float>() == std::vector<float>(45, 0.0f));
  // An empty input draws nothing.
  const uint64_t before = gg.offset();
  CHECK(eng::dropout(Tensor::empty({0, 3}, DType::f32, kGpu), 0.5, true, &gg).output.numel() == 0);
  CHECK(gg.offset() == before);
}

}
