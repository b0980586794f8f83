// Module behaviour: PyTorch-style state names of nested modules, strict and non-strict loading with
// one error listing every problem, save/load round trips, freeze, train/eval, moves between dtypes.
#include <unistd.h>

#include <filesystem>

#include "autograd/functions/reduce.h"
#include "autograd/optim/adamw.h"
#include "layers/layers.h"
#include "tests/layers/module_test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::layers;
namespace eng = cuttle::engine;
namespace fs = std::filesystem;

namespace {

// A tiny expert: branch1 = conv1x1, BN, ReLU; proj = conv1x1 (names as the CamoXpert experts use).
struct ToyExpert : UnaryModule {
  std::shared_ptr<Sequential> branch1;
  std::shared_ptr<Conv2d> proj;
  ToyExpert(int64_t c, eng::Generator& g) {
    branch1 = register_module("branch1", std::make_shared<Sequential>());
    branch1->push_back(std::make_shared<Conv2d>(c, c, 1, g));
    branch1->push_back(std::make_shared<BatchNorm2d>(c));
    branch1->push_back(std::make_shared<ReLU>());
    proj = register_module("proj", std::make_shared<Conv2d>(c, c, 1, g, Conv2dOptions().with_bias(false)));
  }
  std::string type_name() const override { return "ToyExpert"; }
  Var forward(const Var& x) override { return (*proj)((*branch1)(x)) + x; }
};

struct ToyModel : UnaryModule {
  std::shared_ptr<Conv2d> stem;
  std::shared_ptr<ModuleList> experts;
  std::shared_ptr<Dropout> drop;
  std::shared_ptr<Linear> head;
  ToyModel(int64_t c, int64_t n_experts, uint64_t seed) : gen(seed) {
    stem = register_module("stem", std::make_shared<Conv2d>(3, c, 3, gen, Conv2dOptions::same(3)));
    experts = register_module("experts", std::make_shared<ModuleList>());
    for (int64_t i = 0; i < n_experts; ++i) experts->push_back(std::make_shared<ToyExpert>(c, gen));
    drop = register_module("drop", std::make_shared<Dropout>(0.5, &gen));
    head = register_module("head", std::make_shared<Linear>(c, 2, gen));
  }
  std::string type_name() const override { return "ToyModel"; }
  Var forward(const Var& x) override {
    Var y = (*stem)(x);
    for (const auto& e : *experts) y = std::static_pointer_cast<ToyExpert>(e)->forward(y);
    y = autograd::mean((*drop)(y), {2, 3});
    return (*head)(y);
  }
  eng::Generator gen;
};

std::vector<std::string> names_of(const eng::NamedTensors& st) {
  std::vector<std::string> n;
  for (const auto& kv : st) n.push_back(kv.first);
  return n;
}

std::string temp_path(const std::string& name) {
  fs::path dir = fs::temp_directory_path() / ("cuttle_layers_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  return (dir / name).string();
}

std::map<std::string, Tensor> as_map(const eng::NamedTensors& st) { return {st.begin(), st.end()}; }

std::string load_error(Module& m, const std::map<std::string, Tensor>& st, bool strict = true) {
  try {
    m.load_state_dict(st, strict, "test state");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("state_dict names of nested modules compose like PyTorch") {
  ToyModel m(4, 4, 1);
  std::vector<std::string> expect{"stem.weight", "stem.bias"};
  for (int e = 0; e < 4; ++e) {
    std::string p = "experts." + std::to_string(e) + ".";
    for (const char* s : {"branch1.0.weight", "branch1.0.bias", "branch1.1.weight", "branch1.1.bias",
                          "branch1.1.running_mean", "branch1.1.running_var", "branch1.1.num_batches_tracked",
                          "proj.weight"})
      expect.push_back(p + s);
  }
  expect.push_back("head.weight");
  expect.push_back("head.bias");
  CHECK(names_of(m.state_dict()) == expect);

  auto np = m.named_parameters();
  CHECK(np.size() == 2 + 4 * 5 + 2);
  CHECK(np[2].first == "experts.0.branch1.0.weight");
  auto nb = m.named_buffers();
  CHECK(nb.size() == 4 * 3);
  CHECK(nb.back().first == "experts.3.branch1.1.num_batches_tracked");
  CHECK(nb.back().second.dtype() == DType::i64);
  CHECK(nb.back().second.dim() == 0);
  CHECK(m.parameters().size() == np.size());
  // The state shares storage with the module.
  CHECK(m.state_dict()[0].second.shares_storage(m.stem->weight.data()));
  // 3*4*9 + 4 + 4 * (16 + 4 + 4 + 4 + 16) + 4*2 + 2
  CHECK(m.num_parameters() == 108 + 4 + 4 * 44 + 10);
  auto mods = m.named_modules();
  CHECK(mods.front().first == "");
  CHECK(mods[3].first == "experts.0");
  CHECK(contains(m.summary(), "ToyExpert"));
}

TEST_CASE("module registration rejects bad or duplicate names") {
  struct M : Module {
    void run() {
      register_parameter("w", Tensor::zeros({2}));
      CHECK_THROWS_WITH_AS(register_parameter("w", Tensor::zeros({2})), doctest::Contains("already"), Error);
      CHECK_THROWS_WITH_AS(register_buffer("a.b", Tensor::zeros({2})), doctest::Contains("'.'"), Error);
      CHECK_THROWS_AS(register_parameter("", Tensor::zeros({2})), Error);
      CHECK_THROWS_AS(register_parameter("ints", Tensor::zeros({2}, DType::i64)), Error);
      CHECK_THROWS_AS(register_module("w", std::make_shared<ReLU>()), Error);
    }
  } m;
  m.run();
  CHECK_THROWS_WITH_AS(m.param("nope"), doctest::Contains("nope"), Error);
  CHECK_THROWS_AS(m.buffer("nope"), Error);
}

TEST_CASE("strict load names missing unexpected and mis-shaped entries in one error") {
  ToyModel m(4, 2, 1);
  auto st = as_map(m.state_dict());
  std::map<std::string, Tensor> bad;
  for (const auto& kv : st) bad[kv.first] = kv.second.clone();
  bad.erase("head.bias");
  bad.erase("experts.1.proj.weight");
  bad["extra.weight"] = Tensor::zeros({1});
  bad["experts.0.branch1.0.weight"] = Tensor::zeros({4, 4, 3, 3});
  Tensor before = m.stem->weight.data().clone();
  bad["stem.weight"].fill_(7.0);

  std::string err = load_error(m, bad);
  CAPTURE(err);
  CHECK(contains(err, "2 missing [experts.1.proj.weight, head.bias]"));
  CHECK(contains(err, "1 unexpected [extra.weight]"));
  CHECK(contains(err, "1 mis-shaped [experts.0.branch1.0.weight (module [4,4,1,1]"));
  CHECK(contains(err, "test state [4,4,3,3]"));
  // Nothing was written by the failed load.
  CHECK(max_rel_diff(m.stem->weight.data(), before) == 0);

  // Non-strict: missing and unexpected are reported, mis-shaped is still an error.
  std::string err2 = load_error(m, bad, false);
  CHECK(contains(err2, "mis-shaped"));
  CHECK(!contains(err2, "missing"));
  bad.erase("experts.0.branch1.0.weight");
  LoadReport r = m.load_state_dict(bad, false);
  CHECK(r.missing == std::vector<std::string>{"experts.0.branch1.0.weight", "experts.1.proj.weight", "head.bias"});
  CHECK(r.unexpected == std::vector<std::string>{"extra.weight"});
  CHECK(m.stem->weight.data().to_vector<float>()[0] == 7.0f);
}

TEST_CASE("strict load error lists the first names and the counts") {
  ToyModel m(4, 6, 1);
  std::string err = load_error(m, {});
  CAPTURE(err);
  CHECK(contains(err, "52 missing [stem.weight, stem.bias, experts.0.branch1.0.weight"));
  CHECK(contains(err, "and 44 more"));
}

TEST_CASE("save_state and load_state round trip a model through safetensors") {
  ToyModel a(4, 2, 1), b(4, 2, 2);
  a.eval();
  b.eval();
  // Give the running statistics non-default values, as after training.
  a.train();
  a.forward(Var(randn({2, 3, 5, 5}, 10, DType::f32)));
  a.eval();
  CHECK(a.experts->at<ToyExpert>(0)->branch1->operator[](1)->buffer("num_batches_tracked").item<int64_t>() == 1);
  std::string path = temp_path("roundtrip.safetensors");
  a.save_state(path, {{"note", "toy"}});
  CHECK(eng::load_safetensors(path).metadata.at("note") == "toy");

  Var x(randn({2, 3, 5, 5}, 11, DType::f32));
  CHECK(max_rel_diff(a.forward(x).data(), b.forward(x).data()) > 1e-3);
  LoadReport r = b.load_state(path);
  CHECK(r.missing.empty());
  CHECK(r.unexpected.empty());
  auto sa = a.state_dict(), sb = b.state_dict();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) {
    CAPTURE(sa[i].first);
    CHECK(sa[i].second.dtype() == sb[i].second.dtype());
    CHECK(max_rel_diff(sa[i].second, sb[i].second) == 0);
  }
  CHECK(max_rel_diff(a.forward(x).data(), b.forward(x).data()) == 0);

  // Into an f64 copy of the model: the load converts dtype, the counter stays i64.
  ToyModel c(4, 2, 3);
  c.to(DType::f64);
  c.load_state(path);
  CHECK(c.stem->weight.dtype() == DType::f64);
  CHECK(max_rel_diff(c.stem->weight.data(), a.stem->weight.data().to(DType::f64)) == 0);
  CHECK(c.named_buffers().back().second.dtype() == DType::i64);

  // Saved as BF16: loads (as f32) within bf16 rounding.
  std::string bpath = temp_path("roundtrip_bf16.safetensors");
  a.save_state(bpath, {}, {eng::HalfFormat::bf16});
  CHECK(eng::load_safetensors(bpath).stored_dtypes.at("stem.weight") == eng::StDType::BF16);
  b.load_state(bpath);
  CHECK(max_rel_diff(b.stem->weight.data(), a.stem->weight.data()) < 4e-3);

  // A file of another model fails with the file's name in the message.
  ToyModel wide(8, 2, 4);
  CHECK_THROWS_WITH_AS(wide.load_state(path), doctest::Contains("roundtrip.safetensors"), Error);
  fs::remove_all(fs::path(path).parent_path());
}

TEST_CASE("freeze stops gradients and the optimizer leaves frozen parameters alone") {
  ToyModel m(4, 2, 5);
  m.eval();  // no dropout: a deterministic step
  m.experts->at<ToyExpert>(0)->freeze();
  CHECK(m.num_parameters(true) == m.num_parameters() - 44);
  CHECK(m.parameters(true).size() == m.parameters().size() - 5);
  std::vector<Tensor> before;
  for (const Var& p : m.parameters()) before.push_back(p.data().clone());

  autograd::AdamW opt(m.parameters(), {1e-2, 0.9, 0.999, 1e-8, 0.1});
  Var loss = autograd::sum(m.forward(Var(randn({2, 3, 4, 4}, 20, DType::f32))));
  loss.backward();
  opt.step();
  auto named = m.named_parameters();
  for (size_t i = 0; i < named.size(); ++i) {
    CAPTURE(named[i].first);
    bool frozen = named[i].first.rfind("experts.0.", 0) == 0;
    CHECK(named[i].second.grad().defined() == !frozen);
    CHECK((max_rel_diff(named[i].second.data(), before[i]) == 0) == frozen);
  }
  m.unfreeze();
  CHECK(m.num_parameters(true) == m.num_parameters());
}

TEST_CASE("train and eval propagate to every descendant") {
  ToyModel m(2, 2, 6);
  CHECK(m.is_training());
  m.eval();
  for (const auto& [name, mod] : m.named_modules()) {
    CAPTURE(name);
    CHECK(!mod->is_training());
  }
  m.experts->train();
  CHECK(!m.is_training());
  CHECK(m.experts->at<ToyExpert>(1)->branch1->operator[](1)->is_training());
  CHECK(!m.stem->is_training());
  m.train();
  for (const auto& nm : m.named_modules()) CHECK(nm.second->is_training());
}

TEST_CASE("Dropout is the identity in eval and scales kept values in training") {
  eng::Generator g(7);
  Dropout d(0.25, &g);
  Var x(Tensor::ones({1000}));
  d.eval();
  CHECK(max_rel_diff(d(x).data(), x.data()) == 0);
  d.train();
  std::vector<float> y = d(x).data().to_vector<float>();
  int zeros = 0;
  for (float v : y) {
    CHECK((v == 0.0f || std::abs(v - 1.0f / 0.75f) < 1e-6));
    zeros += v == 0.0f;
  }
  CHECK(zeros > 180);
  CHECK(zeros < 320);
  CHECK_THROWS_AS(Dropout(1.0), Error);
}

TEST_CASE("BatchNorm2d updates running statistics like PyTorch and uses them in eval") {
  BatchNorm2d bn(2);
  CHECK(names_of(bn.state_dict()) ==
        std::vector<std::string>{"weight", "bias", "running_mean", "running_var", "num_batches_tracked"});
  Tensor x = randn({4, 2, 3, 3}, 30, DType::f32);
  bn.forward(Var(x));
  bn.forward(Var(x));
  CHECK(bn.num_batches_tracked().item<int64_t>() == 2);
  // After two identical batches: r = 0.19 * batch + 0.81 * initial.
  Tensor c0 = x.select(1, 0).contiguous();
  std::vector<double> v = c0.to_vector<double>();
  double mean = 0, var = 0;
  for (double e : v) mean += e;
  mean /= v.size();
  for (double e : v) var += (e - mean) * (e - mean);
  var /= (v.size() - 1);
  CHECK(bn.running_mean().to_vector<double>()[0] == doctest::Approx(0.19 * mean).epsilon(1e-5));
  CHECK(bn.running_var().to_vector<double>()[0] == doctest::Approx(0.19 * var + 0.81).epsilon(1e-5));

  bn.eval();
  Tensor y = bn.forward(Var(x)).data();
  double expect = (x.to_vector<double>()[0] - bn.running_mean().to_vector<double>()[0]) /
                  std::sqrt(bn.running_var().to_vector<double>()[0] + 1e-5);
  CHECK(y.to_vector<double>()[0] == doctest::Approx(expect).epsilon(1e-5));
  CHECK(bn.num_batches_tracked().item<int64_t>() == 2);  // eval does not count
  CHECK_THROWS_WITH_AS(bn.forward(Var(Tensor::zeros({1, 3, 2, 2}))), doctest::Contains("BatchNorm2d(2)"), Error);
  bn.train();
  CHECK_THROWS_WITH_AS(bn.forward(Var(Tensor::zeros({1, 2, 1, 1}))), doctest::Contains("more than one value"), Error);
}

TEST_CASE("default initialisation stays within 1/sqrt(fan_in) and is reproducible") {
  auto check_bounds = [](const Tensor& t, double bound, bool moments = true) {
    std::vector<double> v = t.to_vector<double>();
    double lo = 1e9, hi = -1e9, mean = 0, sq = 0;
    for (double e : v) {
      lo = std::min(lo, e);
      hi = std::max(hi, e);
      mean += e;
      sq += e * e;
    }
    mean /= v.size();
    sq /= v.size();
    CHECK(lo >= -bound);
    CHECK(hi <= bound);
    CHECK(lo < -0.9 * bound);  // the range is used
    CHECK(hi > 0.9 * bound);
    if (!moments) return;
    CHECK(std::abs(mean) < 0.05 * bound);
    CHECK(sq == doctest::Approx(bound * bound / 3).epsilon(0.08));  // variance of U(-b, b)
  };
  eng::Generator g(42);
  Conv2d conv(16, 32, 3, g);
  check_bounds(conv.weight.data(), 1 / std::sqrt(16.0 * 9));
  Conv2d dw(64, 64, 5, g, Conv2dOptions::same(5).with_groups(64));
  CHECK(dw.weight.shape() == Shape{64, 1, 5, 5});
  check_bounds(dw.weight.data(), 1 / std::sqrt(25.0));
  Linear lin(50, 400, g);
  check_bounds(lin.weight.data(), 1 / std::sqrt(50.0));
  check_bounds(lin.bias.data(), 1 / std::sqrt(50.0), false);
  std::vector<double> cb = conv.bias.data().to_vector<double>();
  for (double e : cb) CHECK(std::abs(e) < 1 / std::sqrt(16.0 * 9));

  eng::Generator g1(5), g2(5), g3(6);
  Conv2d c1(3, 4, 3, g1), c2(3, 4, 3, g2), c3(3, 4, 3, g3);
  CHECK(max_rel_diff(c1.weight.data(), c2.weight.data()) == 0);
  CHECK(max_rel_diff(c1.bias.data(), c2.bias.data()) == 0);
  CHECK(max_rel_diff(c1.weight.data(), c3.weight.data()) > 0);
  CHECK(max_rel_diff(c1.weight.data(), c1.bias.data().reshape({4, 1, 1, 1}).expand({4, 3, 3, 3})) > 0);
}

TEST_CASE("norm layers start at weight 1 and bias 0 with the conventional eps") {
  LayerNorm2d ln2(3);
  CHECK(ln2.weight.data().to_vector<float>() == std::vector<float>{1, 1, 1});
  CHECK(ln2.bias.data().to_vector<float>() == std::vector<float>{0, 0, 0});
  // eps 1e-6: a constant-over-channels input normalises to 0, a +-1 pattern to +-1/sqrt(1 + 1e-6).
  Tensor x = Tensor::from_vector<float>({1, -1}, {1, 2, 1, 1});
  LayerNorm2d ln(2);
  CHECK(ln.forward(Var(x)).data().to_vector<double>()[0] == doctest::Approx(1 / std::sqrt(1 + 1e-6)).epsilon(1e-6));
  BatchNorm2d bn(3);
  CHECK(bn.options().eps == 1e-5);
  CHECK(bn.options().momentum == 0.1);
  CHECK(bn.running_var().to_vector<float>() == std::vector<float>{1, 1, 1});
}

TEST_CASE("to dtype keeps parameter identity so optimizers stay valid") {
  eng::Generator g(1);
  Sequential seq({std::make_shared<Conv2d>(2, 2, 1, g), std::make_shared<BatchNorm2d>(2)});
  auto params = seq.parameters();
  seq.to(DType::f64);
  auto after = seq.parameters();
  REQUIRE(params.size() == after.size());
  for (size_t i = 0; i < params.size(); ++i) {
    CHECK(params[i].impl() == after[i].impl());
    CHECK(params[i].dtype() == DType::f64);
  }
  CHECK(seq.named_buffers()[0].second.dtype() == DType::f64);
  CHECK(seq.named_buffers()[2].second.dtype() == DType::i64);
  CHECK_THROWS_AS(seq.to(DType::i32), Error);
  seq.to(eng::Device::cpu());  // a no-op on the CPU
  CHECK(seq[0]->type_name() == "Conv2d");
  CHECK_THROWS_AS(seq[2], Error);
}

TEST_CASE("layer shapes and argument errors name the layer") {
  eng::Generator g(1);
  Conv2d conv(3, 8, 3, g, Conv2dOptions().with_stride(2).with_padding(1));
  CHECK(conv.forward(Var(Tensor::zeros({1, 3, 8, 8}))).shape() == Shape{1, 8, 4, 4});
  CHECK_THROWS_WITH_AS(conv.forward(Var(Tensor::zeros({1, 4, 8, 8}))), doctest::Contains("Conv2d(3->8)"), Error);
  CHECK_THROWS_AS(Conv2d(3, 8, 3, g, Conv2dOptions().with_groups(2)), Error);
  Linear lin(4, 2, g);
  CHECK(lin.forward(Var(Tensor::zeros({5, 4}))).shape() == Shape{5, 2});
  CHECK_THROWS_WITH_AS(lin.forward(Var(Tensor::zeros({5, 3}))), doctest::Contains("Linear(4->2)"), Error);
  CHECK(MaxPool2d(2).forward(Var(Tensor::zeros({1, 1, 6, 6}))).shape() == Shape{1, 1, 3, 3});
  CHECK(AvgPool2d(3, Pool2dOptions{{1, 1}, {1, 1}}).forward(Var(Tensor::zeros({1, 1, 6, 6}))).shape() ==
        Shape{1, 1, 6, 6});
  CHECK(AdaptiveAvgPool2d(1).forward(Var(Tensor::zeros({2, 5, 7, 3}))).shape() == Shape{2, 5, 1, 1});
  CHECK(Upsample::by_scale(2)->forward(Var(Tensor::zeros({1, 1, 3, 5}))).shape() == Shape{1, 1, 6, 10});
  CHECK(Upsample::to_size({7, 2})->forward(Var(Tensor::zeros({1, 1, 3, 5}))).shape() == Shape{1, 1, 7, 2});
  // Bilinear x2 with align_corners=false: PyTorch gives [1, 1.25, 1.75, 2] for [1, 2].
  Tensor row = Tensor::from_vector<float>({1, 2}, {1, 1, 1, 2});
  CHECK(Upsample::by_scale_hw(1, 2)->forward(Var(row)).data().to_vector<float>() ==
        std::vector<float>{1, 1.25f, 1.75f, 2});
  CHECK_THROWS_AS(MaxPool2d(2, Pool2dOptions{{2, 2}, {2, 2}}), Error);
  CHECK(Softplus(2).forward(Var(Tensor::zeros({1}))).item() == doctest::Approx(std::log(2.0) / 2));
}

}
