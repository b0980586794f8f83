// Float64 gradient checks of every basic layer, with respect to the input and (for layers with
// parameters) every trainable parameter, one test case per configuration.
#include "layers/layers.h"
#include "tests/layers/module_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::layers;
namespace eng = cuttle::engine;

TEST_SUITE("gradcheck") {

TEST_CASE("gradcheck layer Conv2d 3x3 padded with bias") {
  eng::Generator g(1);
  Conv2d conv(2, 3, 3, g, Conv2dOptions().with_padding(1));
  conv.to(DType::f64);
  check_module_gradcheck(conv, randn({2, 2, 4, 4}, 700));
}
TEST_CASE("gradcheck layer Conv2d strided dilated rectangular without bias") {
  eng::Generator g(2);
  Conv2dOptions o;
  o.stride = {2, 1};
  o.padding = {1, 2};
  o.dilation = {1, 2};
  o.bias = false;
  Conv2d conv(2, 2, Size2{3, 2}, g, o);
  conv.to(DType::f64);
  check_module_gradcheck(conv, randn({1, 2, 5, 5}, 701));
}
TEST_CASE("gradcheck layer Conv2d grouped and depthwise") {
  eng::Generator g(3);
  Conv2d grouped(4, 6, 3, g, Conv2dOptions::same(3).with_groups(2));
  grouped.to(DType::f64);
  check_module_gradcheck(grouped, randn({1, 4, 3, 4}, 702));
  Conv2d depthwise(3, 3, 5, g, Conv2dOptions::same(5).with_groups(3));
  depthwise.to(DType::f64);
  check_module_gradcheck(depthwise, randn({2, 3, 4, 3}, 703));
}
TEST_CASE("gradcheck layer Linear with and without bias") {
  eng::Generator g(4);
  Linear lin(5, 3, g);
  lin.to(DType::f64);
  check_module_gradcheck(lin, randn({2, 4, 5}, 710));
  Linear nobias(4, 2, g, false);
  nobias.to(DType::f64);
  check_module_gradcheck(nobias, randn({3, 4}, 711));
}
TEST_CASE("gradcheck layer BatchNorm2d training") {
  BatchNorm2d bn(3);
  bn.to(DType::f64);
  bn.weight.mutable_data().copy_(randn({3}, 721));
  bn.bias.mutable_data().copy_(randn({3}, 722));
  check_module_gradcheck(bn, randn({2, 3, 3, 2}, 720));
}
TEST_CASE("gradcheck layer BatchNorm2d eval") {
  BatchNorm2d bn(3);
  bn.to(DType::f64);
  bn.weight.mutable_data().copy_(randn({3}, 731));
  bn.bias.mutable_data().copy_(randn({3}, 732));
  bn.running_mean().copy_(randn({3}, 733));
  bn.running_var().copy_(rand_uniform({3}, 0.5, 2.0, 734));
  bn.eval();
  check_module_gradcheck(bn, randn({2, 3, 2, 3}, 730));
}
TEST_CASE("gradcheck layer BatchNorm2d without affine or running stats") {
  BatchNormOptions o;
  o.affine = false;
  o.track_running_stats = false;
  BatchNorm2d bn(2, o);
  bn.eval();  // untracked statistics: batch statistics in eval too
  check_module_gradcheck(bn, randn({3, 2, 2, 2}, 740));
}
TEST_CASE("gradcheck layer LayerNorm2d") {
  LayerNorm2d ln(4);
  ln.to(DType::f64);
  ln.weight.mutable_data().copy_(randn({4}, 751));
  ln.bias.mutable_data().copy_(randn({4}, 752));
  check_module_gradcheck(ln, randn({2, 4, 3, 2}, 750));
}
TEST_CASE("gradcheck layer LayerNorm over the last axis") {
  LayerNorm ln(5);
  ln.to(DType::f64);
  ln.weight.mutable_data().copy_(randn({5}, 761));
  ln.bias.mutable_data().copy_(randn({5}, 762));
  check_module_gradcheck(ln, randn({2, 3, 5}, 760));
  LayerNorm plain(3, 1e-5, false);
  check_module_gradcheck(plain, randn({4, 3}, 763));
}
TEST_CASE("gradcheck layer activations") {
  ReLU relu;
  GELU gelu;
  Sigmoid sigmoid;
  Softplus softplus, softplus_beta(2.5);
  ELU elu, elu_alpha(0.7);
  Identity identity;
  std::vector<UnaryModule*> acts{&relu, &gelu, &sigmoid, &softplus, &softplus_beta, &elu, &elu_alpha, &identity};
  for (size_t i = 0; i < acts.size(); ++i) {
    CAPTURE(acts[i]->type_name());
    check_module_gradcheck(*acts[i], randn({2, 3, 2}, 770 + i));
  }
}
TEST_CASE("gradcheck layer Dropout training and eval") {
  eng::Generator gen(780);
  Dropout drop(0.3, &gen);
  // Reset the generator for every evaluation so all of them draw the same mask.
  struct Reset : UnaryModule {
    Dropout& d;
    eng::Generator& g;
    Reset(Dropout& d_, eng::Generator& g_) : d(d_), g(g_) {}
    Var forward(const Var& x) override {
      g.set_state(780, 0);
      return d(x);
    }
  } reset(drop, gen);
  check_module_gradcheck(reset, randn({4, 5}, 781));
  drop.eval();
  check_module_gradcheck(drop, randn({3, 3}, 782));
}
TEST_CASE("gradcheck layer pooling") {
  AvgPool2d avg(3, Pool2dOptions{{2, 2}, {1, 1}, false, true});
  check_module_gradcheck(avg, randn({1, 2, 5, 5}, 790));
  AvgPool2d avg_nopad(2, Pool2dOptions{{0, 0}, {1, 1}, true, false});
  check_module_gradcheck(avg_nopad, randn({2, 1, 5, 4}, 791));
  MaxPool2d mx(2);
  check_module_gradcheck(mx, randn({2, 2, 4, 4}, 792));
  MaxPool2d mx_pad(3, Pool2dOptions{{2, 2}, {1, 1}, false, true});
  check_module_gradcheck(mx_pad, randn({1, 2, 5, 5}, 793));
  AdaptiveAvgPool2d gap(1), ap(Size2{2, 3});
  check_module_gradcheck(gap, randn({2, 3, 3, 4}, 794));
  check_module_gradcheck(ap, randn({1, 2, 5, 7}, 795));
}
TEST_CASE("gradcheck layer Upsample to a size and by a scale") {
  auto up2 = Upsample::by_scale(2.0);
  check_module_gradcheck(*up2, randn({1, 2, 3, 3}, 800));
  auto to_size = Upsample::to_size({5, 3});
  check_module_gradcheck(*to_size, randn({2, 1, 3, 4}, 801));
  auto down = Upsample::by_scale(0.5);
  check_module_gradcheck(*down, randn({1, 2, 4, 6}, 802));
}
TEST_CASE("gradcheck layer Sequential conv-BN-GELU-conv block") {
  eng::Generator g(9);
  Sequential seq;
  seq.push_back(std::make_shared<Conv2d>(2, 3, 3, g, Conv2dOptions::same(3)));
  seq.push_back(std::make_shared<BatchNorm2d>(3));
  seq.push_back(std::make_shared<GELU>());
  seq.push_back(std::make_shared<Conv2d>(3, 2, 1, g));
  seq.to(DType::f64);
  check_module_gradcheck(seq, randn({2, 2, 3, 3}, 810));
}

TEST_CASE("gradcheck module helper catches a parameter gradient that never arrives") {
  // Uses its weight through a detached copy: the input gradient is right, the weight's is missing.
  struct Broken : UnaryModule {
    Var w;
    Broken() { w = register_parameter("w", randn({3}, 820)); }
    Var forward(const Var& x) override { return x * w.detach(); }
  } broken;
  autograd::GradcheckResult r = module_gradcheck(broken, randn({2, 3}, 821));
  CHECK(r.checked == 9);
  CHECK(!r.ok);
  CHECK(r.message.find("input 1") != std::string::npos);
  // The parameters are restored afterwards: same state, a leaf again.
  CHECK(broken.w.is_leaf());
  CHECK(broken.w.requires_grad());
  CHECK(max_rel_diff(broken.w.data(), randn({3}, 820)) == 0);
}

}
