// Checkpoints: a save/load round trip restores weights, buffers and the optimizer exactly; a second
// save replaces the first in one step; a checkpoint of another architecture fails naming the first
// mismatches; resolve_checkpoint finds checkpoints in run directories and after an interrupted swap.
#include <filesystem>

#include "autograd/functions/reduce.h"
#include "autograd/optim/adamw.h"
#include "engine/io/safetensors.h"
#include "layers/conv_bn_relu.h"
#include "models/checkpoint.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
namespace fs = std::filesystem;

namespace {
fs::path fresh_dir(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / "cuttle_test_checkpoint" / name;
  fs::remove_all(d);
  fs::create_directories(d);
  return d;
}
std::shared_ptr<layers::ConvBNReLU> make_block(int64_t in, int64_t out, uint64_t seed) {
  engine::Generator g(seed);
  return std::make_shared<layers::ConvBNReLU>(in, out, 3, g, layers::Conv2dOptions{}.with_padding(1));
}
}  // namespace

TEST_SUITE("models") {

TEST_CASE("checkpoint round trip restores weights buffers and optimizer state") {
  const fs::path dir = fresh_dir("roundtrip");
  auto a = make_block(3, 4, 1);
  autograd::AdamW opt(a->parameters(), {});
  a->train();
  autograd::Var y = a->forward(autograd::Var(randn({2, 3, 6, 6}, 5, DType::f32)));
  autograd::sum(y).backward();
  opt.step();
  models::save_checkpoint((dir / "ck").string(), *a, &opt, nullptr, {{"step", 1}});
  CHECK(models::is_checkpoint_dir((dir / "ck").string()));
  CHECK(models::read_checkpoint_meta((dir / "ck").string())["step"] == 1);

  auto b = make_block(3, 4, 2);  // other initial weights
  autograd::AdamW opt_b(b->parameters(), {});
  models::load_checkpoint_model((dir / "ck").string(), *b);
  models::load_checkpoint_optimizer((dir / "ck").string(), opt_b);
  const auto sa = a->state_dict(), sb = b->state_dict();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) CHECK(max_rel_diff(sa[i].second, sb[i].second) == 0);
  const auto oa = opt.state_dict(), ob = opt_b.state_dict();
  REQUIRE(oa.size() == ob.size());
  for (const auto& [k, t] : oa) CHECK(max_rel_diff(t, ob.at(k)) == 0);
}

TEST_CASE("a second save replaces the checkpoint and leaves no temporary directory") {
  const fs::path dir = fresh_dir("replace");
  auto a = make_block(3, 4, 1);
  models::save_checkpoint((dir / "ck").string(), *a, nullptr, nullptr, {{"step", 1}});
  models::save_checkpoint((dir / "ck").string(), *a, nullptr, nullptr, {{"step", 2}});
  CHECK(models::read_checkpoint_meta((dir / "ck").string())["step"] == 2);
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    ++entries;
    CHECK(e.path().filename() == "ck");
  }
  CHECK(entries == 1);
}

TEST_CASE("a checkpoint of another architecture names the mismatches") {
  const fs::path dir = fresh_dir("mismatch");
  auto a = make_block(3, 4, 1);
  models::save_checkpoint((dir / "ck").string(), *a, nullptr, nullptr, {{"config", {{"name", "narrow"}}}});
  auto wide = make_block(3, 8, 1);
  try {
    models::load_checkpoint_model((dir / "ck").string(), *wide);
    FAIL("loading should have failed");
  } catch (const cuttle::Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("does not fit this model") != std::string::npos);
    CHECK(msg.find("narrow") != std::string::npos);
    CHECK(msg.find("conv.weight") != std::string::npos);
  }
}

TEST_CASE("resolve_checkpoint finds run directories files and an interrupted swap") {
  const fs::path dir = fresh_dir("resolve");
  auto a = make_block(3, 4, 1);
  models::save_checkpoint((dir / "run" / "checkpoint_last").string(), *a, nullptr, nullptr, {});
  CHECK(models::resolve_checkpoint((dir / "run").string()) == (dir / "run" / "checkpoint_last").string());
  models::save_checkpoint((dir / "run" / "checkpoint_best").string(), *a, nullptr, nullptr, {});
  CHECK(models::resolve_checkpoint((dir / "run").string()) == (dir / "run" / "checkpoint_best").string());
  // A crash between the two renames of the fallback swap leaves only the previous copy.
  fs::rename(dir / "run" / "checkpoint_last", dir / "run" / "checkpoint_last.previous");
  CHECK(models::resolve_checkpoint((dir / "run" / "checkpoint_last").string()) ==
        (dir / "run" / "checkpoint_last.previous").string());
  const std::string bare = (dir / "w.safetensors").string();
  a->save_state(bare);
  CHECK(models::resolve_checkpoint(bare) == bare);
  CHECK_THROWS_WITH_AS(models::resolve_checkpoint((dir / "nothing").string()), doctest::Contains("does not exist"),
                       cuttle::Error);
  CHECK_THROWS_AS(models::load_checkpoint_optimizer((dir / "run" / "checkpoint_best").string(),
                                                    *std::make_unique<autograd::AdamW>(a->parameters(), autograd::AdamWOptions{})),
                  cuttle::Error);
}

}
