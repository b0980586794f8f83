// Tests of SpatialReductionAttention and the attention experts: forwards against plain per-head loops
// (sr ratios 1, 2, 4), state names, CODAttention's head rule, the sr divisibility errors, dropout in
// training, and the factory.
#include <cmath>

#include "engine/error.h"
#include "tests/layers/attention/attention_test_util.h"
#include "tests/layers/attention/naive_attention.h"

using namespace cuttle;
using namespace cuttle::test;
using namespace cuttle::layers;
namespace eng = cuttle::engine;
using naive::Vec;

namespace {

std::vector<std::string> param_names(const Module& m) {
  std::vector<std::string> n;
  for (const auto& [name, t] : m.state_dict()) n.push_back(name);
  return n;
}

// SpatialReductionAttention by loops: tokens x [B, N, C] -> [B, N, C].
Vec naive_sra(SpatialReductionAttention& a, const Vec& x, int64_t B, int64_t H, int64_t W) {
  const int64_t C = a.dim(), heads = a.heads(), d = a.head_dim(), s = a.sr_ratio(), N = H * W;
  Vec q = naive::linear(x, vec(a.q->weight), vec(a.q->bias), B * N, C, C);
  Vec r = x;
  int64_t M = N;
  if (s > 1) {
    const int64_t Hr = H / s, Wr = W / s;
    M = Hr * Wr;
    Vec w = vec(a.sr->weight), b = vec(a.sr->bias), lw = vec(a.norm->weight), lb = vec(a.norm->bias);
    r.assign(B * M * C, 0.0);
    for (int64_t n = 0; n < B; ++n)
      for (int64_t i = 0; i < Hr; ++i)
        for (int64_t j = 0; j < Wr; ++j) {
          double* t = &r[(n * M + i * Wr + j) * C];
          for (int64_t o = 0; o < C; ++o) {
            double acc = b[o];
            for (int64_t c = 0; c < C; ++c)
              for (int64_t u = 0; u < s; ++u)
                for (int64_t v = 0; v < s; ++v)
                  acc += w[((o * C + c) * s + u) * s + v] * x[(n * N + (i * s + u) * W + j * s + v) * C + c];
            t[o] = acc;
          }
          double mean = 0, var = 0;
          for (int64_t o = 0; o < C; ++o) mean += t[o] / C;
          for (int64_t o = 0; o < C; ++o) var += (t[o] - mean) * (t[o] - mean) / C;
          for (int64_t o = 0; o < C; ++o) t[o] = (t[o] - mean) / std::sqrt(var + 1e-5) * lw[o] + lb[o];
        }
  }
  Vec kv = naive::linear(r, vec(a.kv->weight), vec(a.kv->bias), B * M, C, 2 * C);
  Vec qh(B * N * C), kh(B * M * C), vh(B * M * C);
  for (int64_t n = 0; n < B; ++n)
    for (int64_t j = 0; j < heads; ++j)
      for (int64_t c = 0; c < d; ++c) {
        for (int64_t t = 0; t < N; ++t) qh[((n * heads + j) * N + t) * d + c] = q[(n * N + t) * C + j * d + c];
        for (int64_t t = 0; t < M; ++t) {
          kh[((n * heads + j) * M + t) * d + c] = kv[(n * M + t) * 2 * C + j * d + c];
          vh[((n * heads + j) * M + t) * d + c] = kv[(n * M + t) * 2 * C + C + j * d + c];
        }
      }
  Vec o = naive::sdpa(qh, kh, vh, B * heads, N, M, d, d, 1.0 / std::sqrt(double(d)));
  Vec om(B * N * C);
  for (int64_t n = 0; n < B; ++n)
    for (int64_t j = 0; j < heads; ++j)
      for (int64_t t = 0; t < N; ++t)
        for (int64_t c = 0; c < d; ++c) om[(n * N + t) * C + j * d + c] = o[((n * heads + j) * N + t) * d + c];
  return naive::linear(om, vec(a.proj->weight), vec(a.proj->bias), B * N, C, C);
}

// Channel slice [c0, c0 + n) of channels-first [B, Ct, P].
Vec channels(const Vec& x, int64_t B, int64_t Ct, int64_t P, int64_t c0, int64_t n) {
  Vec y(B * n * P);
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < n; ++c)
      for (int64_t p = 0; p < P; ++p) y[(b * n + c) * P + p] = x[(b * Ct + c0 + c) * P + p];
  return y;
}

// CODAttention by loops on x [B, C, H, W]; BN with batch statistics when `train`, else running ones.
Vec naive_cod(CODAttentionExpert& e, const Vec& x, int64_t B, int64_t C, int64_t H, int64_t W, bool train) {
  const int64_t N = H * W, r = e.sr_ratio(), heads = e.heads(), d = C / heads, M = N / (r * r);
  Vec mean = vec(Var(e.norm->running_mean())), var = vec(Var(e.norm->running_var()));
  if (train)
    for (int64_t c = 0; c < C; ++c) {
      double m = 0, v = 0;
      for (int64_t b = 0; b < B; ++b)
        for (int64_t p = 0; p < N; ++p) m += x[(b * C + c) * N + p] / (B * N);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t p = 0; p < N; ++p) v += std::pow(x[(b * C + c) * N + p] - m, 2) / (B * N);
      mean[c] = m;
      var[c] = v;
    }
  Vec gw = vec(e.norm->weight), gb = vec(e.norm->bias), n(x.size());
  for (int64_t b = 0; b < B; ++b)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t p = 0; p < N; ++p)
        n[(b * C + c) * N + p] = (x[(b * C + c) * N + p] - mean[c]) / std::sqrt(var[c] + 1e-5) * gw[c] + gb[c];
  Vec pooled(B * C * M, 0.0);
  for (int64_t bc = 0; bc < B * C; ++bc)
    for (int64_t y = 0; y < H; ++y)
      for (int64_t xx = 0; xx < W; ++xx)
        pooled[bc * M + (y / r) * (W / r) + xx / r] += n[bc * N + y * W + xx] / double(r * r);
  Vec q = naive::conv1x1(n, vec(e.q->weight), vec(e.q->bias), B, C, C, N);
  Vec kv = naive::conv1x1(pooled, vec(e.kv->weight), vec(e.kv->bias), B, C, 2 * C, M);
  Vec o = naive::sdpa(naive::to_heads(q, B, heads, d, N), naive::to_heads(channels(kv, B, 2 * C, M, 0, C), B, heads, d, M),
                      naive::to_heads(channels(kv, B, 2 * C, M, C, C), B, heads, d, M), B * heads, N, M, d, d,
                      1.0 / std::sqrt(double(d)));
  Vec y = naive::conv1x1(naive::from_heads(o, B, heads, d, N), vec(e.proj->weight), vec(e.proj->bias), B, C, C, N);
  for (size_t i = 0; i < y.size(); ++i) y[i] += x[i];
  return y;
}

// The linear Attention expert by loops, without dropout.
Vec naive_linear_expert(LinearAttentionExpert& e, const Vec& x, int64_t B, int64_t C, int64_t N) {
  const int64_t h = LinearAttentionExpert::kHeads, d = C / h;
  Vec t = naive::conv1x1(x, vec(e.qkv->weight), {}, B, C, 3 * C, N);
  auto part = [&](int64_t i) { return naive::to_heads(channels(t, B, 3 * C, N, i * C, C), B, h, d, N); };
  Vec o = naive::linear_attention(part(0), part(1), part(2), B * h, N, d, d);
  Vec y = naive::conv1x1(naive::from_heads(o, B, h, d, N), vec(e.proj->weight), vec(e.proj->bias), B, C, C, N);
  for (size_t i = 0; i < y.size(); ++i) y[i] += x[i];
  return y;
}

}  // namespace

TEST_SUITE("layers") {

TEST_CASE("attention SpatialReductionAttention forward equals a per-head loop for sr 1 2 4") {
  for (int64_t s : {1, 2, 4}) {
    CAPTURE(s);
    eng::Generator g(100 + s);
    SpatialReductionAttention a(16, 4, s, g);
    a.to(DType::f64);
    randomize(a, 200 + s);
    const int64_t B = 2, H = 4, W = 8;
    Tensor x = randn({B, H * W, 16}, 300 + s);
    Tensor y = a.forward(Var(x), H, W).data();
    REQUIRE(y.shape() == Shape{B, H * W, 16});
    CHECK(max_rel_diff(y, Tensor::from_vector(naive_sra(a, x.to_vector<double>(), B, H, W), y.shape())) < 1e-12);
  }
}

TEST_CASE("attention SpatialReductionAttention state names follow timm") {
  eng::Generator g(1);
  SpatialReductionAttention a(8, 2, 2, g);
  CHECK(param_names(a) == std::vector<std::string>{"q.weight", "q.bias", "kv.weight", "kv.bias", "proj.weight",
                                                   "proj.bias", "sr.weight", "sr.bias", "norm.weight", "norm.bias"});
  CHECK(a.sr->weight.shape() == Shape{8, 8, 2, 2});
  CHECK(a.kv->weight.shape() == Shape{16, 8});
  SpatialReductionAttention plain(8, 2, 1, g);
  CHECK(param_names(plain) == std::vector<std::string>{"q.weight", "q.bias", "kv.weight", "kv.bias", "proj.weight",
                                                       "proj.bias"});
  SpatialReductionAttention nobias(8, 2, 1, g, false);
  CHECK(nobias.num_parameters() == 8 * 8 + 16 * 8 + 8 * 8 + 8);
}

TEST_CASE("attention SpatialReductionAttention rejects sizes not divisible by sr") {
  eng::Generator g(2);
  SpatialReductionAttention a(8, 2, 4, g);
  CHECK_THROWS_WITH_AS(a.forward(Var(randn({1, 6 * 8, 8}, 1, DType::f32)), 6, 8),
                       doctest::Contains("must be multiples of sr_ratio 4"), cuttle::Error);
  CHECK_THROWS_AS(a.forward(Var(randn({1, 30, 8}, 1, DType::f32)), 4, 8), cuttle::Error);  // N != H*W
  CHECK_THROWS_AS(SpatialReductionAttention(10, 3, 1, g), cuttle::Error);
}

TEST_CASE("attention CODAttention head count rule") {
  CHECK(CODAttentionExpert::heads_for(64) == 2);
  CHECK(CODAttentionExpert::heads_for(8) == 1);
  CHECK(CODAttentionExpert::heads_for(96) == 3);
  CHECK(CODAttentionExpert::heads_for(16) == 1);
  CHECK(CODAttentionExpert::heads_for(32) == 1);
  CHECK(CODAttentionExpert::heads_for(128) == 4);
  CHECK(CODAttentionExpert::heads_for(160) == 5);
  CHECK(CODAttentionExpert::heads_for(320) == 10);
  CHECK(CODAttentionExpert::heads_for(512) == 16);
  CHECK(CODAttentionExpert::heads_for(100) == 2);  // 3 does not divide 100
  CHECK(CODAttentionExpert::heads_for(250) == 5);  // 7 and 6 do not divide 250
  CHECK(CODAttentionExpert::heads_for(1) == 1);
  eng::Generator g(3);
  CHECK(CODAttentionExpert(96, 1, g).heads() == 3);
}

TEST_CASE("attention CODAttention forward equals a per-head loop") {
  struct Case { int64_t C, r; bool train; };
  for (Case c : {Case{64, 2, false}, Case{96, 4, false}, Case{64, 1, true}, Case{8, 2, true}}) {
    CAPTURE(c.C);
    CAPTURE(c.r);
    CAPTURE(c.train);
    eng::Generator g(400 + c.C + c.r);
    CODAttentionExpert e(c.C, c.r, g);
    e.to(DType::f64);
    randomize(e, 500 + c.C);
    e.train(c.train);
    const int64_t B = 2, H = 8, W = 4;
    Tensor x = randn({B, c.C, H, W}, 600 + c.C);
    Vec want = naive_cod(e, x.to_vector<double>(), B, c.C, H, W, c.train);
    Tensor y = e.forward(Var(x)).data();
    CHECK(max_rel_diff(y, Tensor::from_vector(want, y.shape())) < 1e-12);
  }
}

TEST_CASE("attention CODAttention state names and sr errors") {
  eng::Generator g(4);
  CODAttentionExpert e(16, 2, g);
  CHECK(param_names(e) == std::vector<std::string>{"norm.weight", "norm.bias", "norm.running_mean", "norm.running_var",
                                                   "norm.num_batches_tracked", "q.weight", "q.bias", "kv.weight",
                                                   "kv.bias", "proj.weight", "proj.bias"});
  CHECK(e.kv->weight.shape() == Shape{32, 16, 1, 1});
  CHECK_THROWS_WITH_AS(e.forward(Var(randn({1, 16, 6, 5}, 1, DType::f32))),
                       doctest::Contains("must be multiples of sr_ratio 2"), cuttle::Error);
  CHECK_THROWS_AS(e.forward(Var(randn({1, 8, 4, 4}, 1, DType::f32))), cuttle::Error);
  CHECK_THROWS_AS(CODAttentionExpert(16, 0, g), cuttle::Error);
  CODAttentionExpert r4(16, 4, g);
  CHECK(r4.forward(Var(randn({1, 16, 8, 4}, 2, DType::f32))).shape() == Shape{1, 16, 8, 4});
  CHECK_THROWS_AS(r4.forward(Var(randn({1, 16, 8, 6}, 2, DType::f32))), cuttle::Error);
}

TEST_CASE("attention linear Attention expert forward equals a per-head loop") {
  for (int64_t C : {16, 32}) {
    CAPTURE(C);
    eng::Generator g(700 + C);
    LinearAttentionExpert e(C, g);
    e.to(DType::f64);
    randomize(e, 800 + C);
    e.eval();
    const int64_t B = 2, H = 3, W = 5;
    Tensor x = randn({B, C, H, W}, 900 + C);
    Tensor y = e.forward(Var(x)).data();
    CHECK(max_rel_diff(y, Tensor::from_vector(naive_linear_expert(e, x.to_vector<double>(), B, C, H * W), y.shape())) <
          1e-12);
  }
}

TEST_CASE("attention linear Attention expert dropout in training only") {
  eng::Generator g(5);
  LinearAttentionExpert e(16, g);
  e.to(DType::f64);
  CHECK(param_names(e) == std::vector<std::string>{"qkv.weight", "proj.weight", "proj.bias"});
  Tensor x = randn({2, 16, 4, 4}, 6);
  e.eval();
  std::vector<double> ev = vec(e.forward(Var(x))), xs = x.to_vector<double>();
  e.train();
  std::vector<double> tr = vec(e.forward(Var(x)));
  // In training each element of drop(proj(...)) is 0 or its eval value / 0.9.
  int64_t dropped = 0, bad = 0;
  for (size_t i = 0; i < tr.size(); ++i) {
    const double a = tr[i] - xs[i], b = ev[i] - xs[i];
    if (std::abs(a) < 1e-15) ++dropped;
    else if (std::abs(a - b / 0.9) > 1e-12) ++bad;
  }
  CHECK(bad == 0);
  CHECK(dropped > 20);   // about 10% of 512
  CHECK(dropped < 100);
  CHECK_THROWS_AS(LinearAttentionExpert(12, g), cuttle::Error);
}

TEST_CASE("attention linear Attention expert owns its dropout generator") {
  // Built from a generator that dies at once; the same seed gives the same weights and masks.
  auto build = [] {
    eng::Generator g(7);
    return std::make_shared<LinearAttentionExpert>(16, g);
  };
  auto a = build(), b = build();
  Tensor x = randn({1, 16, 4, 4}, 8, DType::f32);
  Tensor ya = a->forward(Var(x)).data(), yb = b->forward(Var(x)).data();
  CHECK(max_rel_diff(ya, yb) == 0);
  CHECK(max_rel_diff(a->forward(Var(x)).data(), ya) > 0);  // the next mask differs
}

TEST_CASE("attention make_attention_expert builds both types") {
  eng::Generator g(6);
  auto cod = make_attention_expert("CODAttention", 64, g, 4);
  CHECK(cod->type_name() == "CODAttention");
  CHECK(std::dynamic_pointer_cast<CODAttentionExpert>(cod)->sr_ratio() == 4);
  CHECK(std::dynamic_pointer_cast<CODAttentionExpert>(cod)->heads() == 2);
  auto lin = make_attention_expert("Attention", 32, g, 8);
  CHECK(lin->type_name() == "Attention");
  CHECK(lin->forward(Var(randn({1, 32, 4, 4}, 1, DType::f32))).shape() == Shape{1, 32, 4, 4});
  CHECK_THROWS_WITH_AS(make_attention_expert("Attn", 32, g, 1), doctest::Contains("Attn"), cuttle::Error);
  ExpertOptions opts;
  opts.sr_ratio = 2;
  opts.dropout = 0.5;
  auto cod2 = std::dynamic_pointer_cast<CODAttentionExpert>(make_attention_expert("CODAttention", 16, g, opts));
  REQUIRE(cod2);
  CHECK(cod2->sr_ratio() == 2);
  auto lin2 = std::dynamic_pointer_cast<LinearAttentionExpert>(make_attention_expert("Attention", 16, g, opts));
  REQUIRE(lin2);
  CHECK(lin2->drop->p() == 0.5);
  CHECK_THROWS_AS(make_attention_expert("Attention", 20, g, opts), cuttle::Error);
}

}  // TEST_SUITE layers
