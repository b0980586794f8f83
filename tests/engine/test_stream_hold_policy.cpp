// Tests of StreamHoldPolicy (engine/stream_hold_policy.h), the CUDA allocator's rule for blocks used
// across streams, on the interleavings stream slots produce: a block comes back only after a wait
// orders every stream that may still use it before the block's next user.
#include <algorithm>

#include "engine/stream_hold_policy.h"
#include "tests/test_util.h"

using cuttle::engine::StreamHoldPolicy;

namespace {

// Stream and block ids: any distinct addresses.
const char kStreams[4] = {};
const StreamHoldPolicy::StreamId M = &kStreams[0], S = &kStreams[1], T = &kStreams[2], U = &kStreams[3];
const int kBlocks[4] = {};
const StreamHoldPolicy::BlockId A = &kBlocks[0], B = &kBlocks[1], C = &kBlocks[2], D = &kBlocks[3];

bool holds(const std::vector<StreamHoldPolicy::BlockId>& v, StreamHoldPolicy::BlockId b) {
  return std::find(v.begin(), v.end(), b) != v.end();
}

}  // namespace

TEST_SUITE("engine") {

TEST_CASE("stream hold policy: without side streams every block returns at once") {
  StreamHoldPolicy p(M);
  CHECK(p.on_free(A, M, M));
  CHECK(p.held() == 0);
}

TEST_CASE("stream hold policy: a main block freed while a side stream is unjoined waits for the join") {
  StreamHoldPolicy p(M);
  p.side_used(S);  // S reads A (an expert's input)
  p.side_used(T);
  CHECK_FALSE(p.on_free(A, M, M));
  CHECK(p.on_wait(M, S).empty());  // T may still read A
  const auto back = p.on_wait(M, T);
  CHECK(holds(back, A));
  CHECK(p.held() == 0);
  CHECK(p.on_free(B, M, M));  // all joined: straight back
}

TEST_CASE("stream hold policy: a main block freed on a side stream makes that stream unjoined") {
  StreamHoldPolicy p(M);
  // S was joined already, then issues more work reading A and drops it (a backward node's input).
  CHECK_FALSE(p.on_free(A, M, S));
  CHECK(p.unjoined(S));
  CHECK(p.on_wait(S, M).empty());  // S waiting on main does not order main after S
  CHECK(holds(p.on_wait(M, S), A));
}

TEST_CASE("stream hold policy: a side block freed on main returns when its stream waits on main") {
  StreamHoldPolicy p(M);
  p.side_used(S);
  CHECK(p.on_wait(M, S).empty());  // join: main reads S's output A
  CHECK_FALSE(p.on_free(A, S, M));
  CHECK(p.on_wait(M, T).empty());
  CHECK(holds(p.on_wait(S, M), A));  // S's next work is ordered after main's reads
  CHECK(p.held() == 0);
}

TEST_CASE("stream hold policy: a side block freed on another side stream waits for the full join first") {
  // Gradient accumulation: G was made on S, T adds into it and frees it. S waiting on main before main
  // has joined T must not hand G back to S (T's read may still be queued).
  StreamHoldPolicy p(M);
  p.side_used(S);
  p.side_used(T);
  CHECK_FALSE(p.on_free(A, S, T));
  CHECK(p.on_wait(S, M).empty());
  CHECK(p.on_wait(M, S).empty());  // T still unjoined
  CHECK(p.on_wait(S, M).empty());
  CHECK(p.on_wait(M, T).empty());  // full join: A moves on to wait for S
  CHECK(p.held() == 1);
  CHECK(holds(p.on_wait(S, M), A));
}

TEST_CASE("stream hold policy: a side block freed on main while others are unjoined waits for them too") {
  // C (made on S) was read by U and by main; main drops it while U's read may be queued.
  StreamHoldPolicy p(M);
  p.side_used(S);
  p.side_used(U);
  CHECK(p.on_wait(M, S).empty());
  CHECK_FALSE(p.on_free(C, S, M));
  CHECK(p.on_wait(S, M).empty());  // U not joined yet
  CHECK(p.on_wait(M, U).empty());
  CHECK(holds(p.on_wait(S, M), C));
}

TEST_CASE("stream hold policy: a side block freed on its own stream returns at once") {
  StreamHoldPolicy p(M);
  p.side_used(S);
  p.side_used(T);
  CHECK(p.on_free(D, S, S));
  CHECK(p.held() == 0);
}

TEST_CASE("stream hold policy: an idle device returns everything and keeps the current side stream unjoined") {
  StreamHoldPolicy p(M);
  p.side_used(S);
  CHECK_FALSE(p.on_free(A, M, M));
  CHECK_FALSE(p.on_free(B, T, M));
  CHECK_FALSE(p.on_free(C, M, T));
  const auto back = p.on_idle(S);  // synchronised while S is selected
  CHECK(back.size() == 3);
  CHECK(p.held() == 0);
  CHECK(p.unjoined(S));
  CHECK_FALSE(p.unjoined(T));
  CHECK_FALSE(p.on_free(D, M, M));  // S's next work may read D
  p.on_idle(M);
  CHECK_FALSE(p.unjoined(S));
  CHECK(p.on_free(D, M, M));
}

}
