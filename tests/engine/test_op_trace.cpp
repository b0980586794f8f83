// Tests of the development traces: OpTrace counts each top-level engine op once (not the ops it calls)
// and hands its counts to an enclosing trace; HostSection times named parts of the host work;
// ConvLog records every convolution pass with its shapes.
#include "engine/conv_log.h"
#include "engine/op_trace.h"
#include "engine/ops/conv.h"
#include "engine/ops/elementwise.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace eng = cuttle::engine;

TEST_SUITE("engine") {

TEST_CASE("OpTrace counts top-level ops and nests") {
  const Tensor a = randn({2, 3}, 1, DType::f32), b = randn({2, 3}, 2, DType::f32);
  eng::OpTrace outer;
  {
    eng::OpTrace inner;
    eng::add(a, b);
    eng::add(a, b);
    eng::mul(a, b);
    CHECK(inner.counts().at("add") == 2);
    CHECK(inner.counts().at("mul") == 1);
    CHECK(inner.total() == 3);
    CHECK(outer.total() == 0);  // the inner trace counts meanwhile
    CHECK(inner.host_ns().at("add") > 0);
  }
  CHECK(outer.counts().at("add") == 2);  // handed over on destruction
  eng::add(a, b);
  CHECK(outer.counts().at("add") == 3);
  CHECK(eng::ops_by_frequency(outer.counts()) == "add 3, mul 1");
  // count_ops runs the function once untraced, then once traced.
  int calls = 0;
  const auto counted = eng::count_ops([&] {
    ++calls;
    eng::mul(a, b);
  });
  CHECK(calls == 2);
  CHECK(counted.at("mul") == 1);
}

TEST_CASE("HostSection times named parts at any depth while a trace lives, and hands them on") {
  { eng::HostSection untraced("nowhere"); }  // no trace: nothing to record into, no error
  eng::OpTrace outer;
  {
    eng::OpTrace inner;
    {
      eng::HostSection part("part");
      eng::HostSection nested("part, inner");  // sections nest: each is timed on its own
    }
    { eng::HostSection part("part"); }
    CHECK(inner.section_counts().at("part") == 2);
    CHECK(inner.section_counts().at("part, inner") == 1);
    CHECK(inner.section_ns().at("part") >= inner.section_ns().at("part, inner"));
    CHECK(outer.section_counts().empty());
  }
  CHECK(outer.section_counts().at("part") == 2);  // handed over on destruction
  CHECK(outer.section_counts().count("nowhere") == 0);
  CHECK(outer.counts().empty());  // sections are not ops
}

TEST_CASE("ConvLog records each convolution pass with its shapes") {
  eng::Conv2dParams p;
  p.pad_h = p.pad_w = 2;
  p.dil_h = p.dil_w = 2;
  const Tensor x = randn({2, 3, 9, 9}, 3, DType::f32), w = randn({4, 3, 3, 3}, 4, DType::f32);
  const Tensor b = randn({4}, 5, DType::f32);
  eng::conv2d(x, w, b, p);  // no log active: nothing recorded anywhere
  std::vector<eng::ConvCall> calls;
  {
    eng::ConvLog log;
    const Tensor y = eng::conv2d(x, w, b, p);
    eng::conv2d_backward_input(y, w, x.shape(), p);
    {
      eng::ConvLog inner;  // records meanwhile
      eng::conv2d_backward_weight(y, x, w.shape(), p);
      CHECK(inner.calls().size() == 1);
    }
    calls = log.calls();
  }
  REQUIRE(calls.size() == 2);
  CHECK(calls[0].pass == eng::ConvPass::forward);
  CHECK(calls[0].bias);
  CHECK(calls[0].key() == "x[2,3,9,9] w[4,3,3,3] pad 2 dil 2 bias");
  CHECK(calls[1].pass == eng::ConvPass::backward_input);
  CHECK(calls[1].key() == "x[2,3,9,9] w[4,3,3,3] pad 2 dil 2");
  CHECK(std::string(eng::conv_pass_name(eng::ConvPass::backward_weight)) == "backward_weight");
}

}  // TEST_SUITE
