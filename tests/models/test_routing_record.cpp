// Tests of RoutingRecord (models/routing_record.h): recording a model's routing forward by forward,
// the save/load round trip, row selection and per-expert counts, and the load-time checks on files
// written by hand (wrong dtype, missing metadata, indices out of range or repeated in a row).
#include <filesystem>

#include "engine/error.h"
#include "engine/io/safetensors.h"
#include "models/camoxpert.h"
#include "models/routing_record.h"
#include "tests/models/stand_in_backbone.h"
#include "tests/test_util.h"

using namespace cuttle;
using namespace cuttle::test;
using autograd::Var;
namespace fs = std::filesystem;

namespace {

fs::path scratch(const std::string& name) {
  const fs::path d = fs::temp_directory_path() / "cuttle_test_routing_record";
  fs::create_directories(d);
  return d / name;
}

Tensor i64(const std::vector<int64_t>& v, int64_t rows, int64_t k) { return Tensor::from_vector<int64_t>(v, {rows, k}); }

// Writes a two-scale record file by hand: what a foreign or damaged file could hold.
void write_raw(const fs::path& p, const Tensor& s0, const Tensor& s1, const std::map<std::string, std::string>& meta) {
  engine::save_safetensors(p.string(), engine::NamedTensors{{"moe.0.indices", s0}, {"moe.1.indices", s1}}, meta);
}

}  // namespace

TEST_SUITE("models") {
  TEST_CASE("routing record keeps each forward's routing of every MoE, in order") {
    auto m = make_tiny_camoxpert();
    m->eval();
    const int64_t E = m->moe(0).num_experts(), k = m->moe(0).options().top_k;
    models::RoutingRecord rec(m->num_moes(), E, k);
    std::vector<std::vector<int64_t>> expected((size_t)m->num_moes());
    for (uint64_t seed : {3u, 4u}) {
      m->forward(Var(randn({2, 3, 64, 64}, seed, DType::f32)));
      for (int64_t s = 0; s < m->num_moes(); ++s) {
        const std::vector<int64_t> v = m->moe(s).last_indices().to_vector<int64_t>();
        expected[(size_t)s].insert(expected[(size_t)s].end(), v.begin(), v.end());
      }
      rec.append(*m);
    }
    CHECK(rec.images() == 4);
    for (int64_t s = 0; s < m->num_moes(); ++s) {
      CHECK(rec.batch(s, 0, 4).to_vector<int64_t>() == expected[(size_t)s]);
      const std::vector<int64_t> tail(expected[(size_t)s].begin() + 2 * k, expected[(size_t)s].end());
      CHECK(rec.batch(s, 2, 2).to_vector<int64_t>() == tail);
      int64_t total = 0;
      for (int64_t c : rec.expert_counts(s, 0, 4)) total += c;
      CHECK(total == 4 * k);
    }

    rec.metadata["model"] = "tiny";
    const fs::path p = scratch("record.safetensors");
    rec.save(p.string());
    const models::RoutingRecord back = models::RoutingRecord::load(p.string());
    CHECK(back.scales() == rec.scales());
    CHECK(back.num_experts() == E);
    CHECK(back.top_k() == k);
    CHECK(back.metadata == std::map<std::string, std::string>{{"model", "tiny"}});
    for (int64_t s = 0; s < rec.scales(); ++s)
      CHECK(back.batch(s, 0, 4).to_vector<int64_t>() == rec.batch(s, 0, 4).to_vector<int64_t>());
  }

  TEST_CASE("routing record counts samples per expert") {
    models::RoutingRecord rec(1, 4, 2);
    rec.append_scale(0, i64({0, 1, 1, 2, 0, 3}, 3, 2));
    CHECK(rec.expert_counts(0, 0, 3) == std::vector<int64_t>{2, 2, 1, 1});
    CHECK(rec.expert_counts(0, 1, 2) == std::vector<int64_t>{1, 1, 1, 1});
    CHECK_THROWS_WITH_AS(rec.batch(0, 2, 2), doctest::Contains("the record holds 3"), cuttle::Error);
    CHECK_THROWS_WITH_AS(rec.append_scale(0, i64({0, 4}, 1, 2)), doctest::Contains("outside [0, 4)"), cuttle::Error);
    CHECK_THROWS_WITH_AS(rec.append_scale(0, i64({0, 1, 2}, 1, 3)), doctest::Contains("are not i64 [B, 2]"),
                         cuttle::Error);
  }

  TEST_CASE("routing record refuses scales of different lengths and an empty save") {
    models::RoutingRecord rec(2, 3, 1);
    CHECK_THROWS_WITH_AS(rec.save(scratch("empty.safetensors").string()), doctest::Contains("nothing recorded"),
                         cuttle::Error);
    rec.append_scale(0, i64({0, 1}, 2, 1));
    rec.append_scale(1, i64({2}, 1, 1));
    CHECK_THROWS_WITH_AS(rec.images(), doctest::Contains("scale 1 holds 1 images, scale 0 2"), cuttle::Error);
  }

  TEST_CASE("routing record load names the file and what is wrong in it") {
    const fs::path p = scratch("bad.safetensors");
    const std::map<std::string, std::string> meta{{"num_experts", "3"}, {"top_k", "2"}};
    const Tensor good = i64({0, 1, 2, 0}, 2, 2);

    write_raw(p, good, good, {{"top_k", "2"}});
    CHECK_THROWS_WITH_AS(models::RoutingRecord::load(p.string()), doctest::Contains("has no 'num_experts'"),
                         cuttle::Error);
    write_raw(p, good, good, {{"num_experts", "three"}, {"top_k", "2"}});
    CHECK_THROWS_WITH_AS(models::RoutingRecord::load(p.string()), doctest::Contains("is not a positive integer"),
                         cuttle::Error);
    write_raw(p, good, i64({0, 1, 2, 3}, 2, 2), meta);
    CHECK_THROWS_WITH_AS(models::RoutingRecord::load(p.string()),
                         doctest::Contains("moe.1.indices row 1 names expert 3, outside [0, 3)"), cuttle::Error);
    write_raw(p, good, i64({0, 1, 2, 2}, 2, 2), meta);
    CHECK_THROWS_WITH_AS(models::RoutingRecord::load(p.string()), doctest::Contains("row 1 names expert 2 twice"),
                         cuttle::Error);
    write_raw(p, good, good.to(DType::f32), meta);
    CHECK_THROWS_WITH_AS(models::RoutingRecord::load(p.string()), doctest::Contains("expected i64 [N, 2]"),
                         cuttle::Error);
    write_raw(p, good, i64({0, 1}, 1, 2), meta);
    CHECK_THROWS_WITH_AS(models::RoutingRecord::load(p.string()), doctest::Contains("holds 1 images, scale 0 2"),
                         cuttle::Error);
    CHECK_THROWS_WITH_AS(models::RoutingRecord::load(scratch("missing.safetensors").string()),
                         doctest::Contains("missing.safetensors"), cuttle::Error);

    write_raw(p, good, good, meta);
    const models::RoutingRecord r = models::RoutingRecord::load(p.string());
    CHECK(r.scales() == 2);
    CHECK(r.images() == 2);
  }
}
