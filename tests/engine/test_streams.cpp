// Tests of stream slots on the CPU, where they are no-ops: guards leave the recorded slot at 0, waits do
// nothing, and the branch-stream count clamps to the slots there are.
#include "autograd/functions/elementwise.h"
#include "autograd/functions/reduce.h"
#include "autograd/var.h"
#include "engine/ops/reduce.h"
#include "engine/streams.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;

TEST_SUITE("engine") {

TEST_CASE("stream slots are no-ops on the CPU and the branch-stream count clamps") {
  CHECK(eng::current_stream_slot(eng::Device::cpu()) == 0);
  {
    eng::StreamSlotGuard guard(eng::Device::cpu(), 3);
    CHECK(eng::current_stream_slot(eng::Device::cpu()) == 0);  // nothing to select on the CPU
    eng::stream_wait(eng::Device::cpu(), 3, 0);
    autograd::Var a(Tensor::ones({2, 3}, DType::f64), true);
    autograd::sum(autograd::mul(a, a)).backward();
    CHECK(eng::sum(a.grad(), {}).item() == doctest::Approx(12.0));
  }
  CHECK_THROWS_WITH(eng::StreamSlotGuard(eng::Device::cpu(), eng::kMaxStreamSlots + 1),
                    doctest::Contains("out of range"));
  const int before = eng::branch_streams();
  CHECK(before == eng::kDefaultBranchStreams);  // every test that changes it puts it back
  eng::set_branch_streams(100);
  CHECK(eng::branch_streams() == eng::kMaxStreamSlots);
  eng::set_branch_streams(-2);
  CHECK(eng::branch_streams() == 0);
  eng::set_branch_streams(before);
}

}
