// Defines StreamHoldPolicy, the rule by which the CUDA caching allocator keeps a freed block out of
// its pool while another stream may still use it (stream slots, engine/streams.h). Device-neutral on
// purpose: streams and blocks are opaque ids, so the rule is tested on the CPU.
//
// The stream current when a block is freed issued its last use. A block freed on its own stream
// returns at once when no side stream is unjoined, and a side block freed on its own side stream
// always does (the main stream reads side blocks only after joining their stream, and drops them
// there). Otherwise the block waits until the main stream has waited on every side stream used since
// its last join (a side stream that frees a block counts as used); a main-stream block then returns,
// a side block once its own stream next waits on the main stream, which orders that stream's later
// work after everything the main stream had been ordered after.
#pragma once
#include <cstddef>
#include <map>
#include <set>
#include <vector>

namespace cuttle::engine {

class StreamHoldPolicy {
 public:
  using StreamId = const void*;
  using BlockId = const void*;

  explicit StreamHoldPolicy(StreamId main = nullptr) : main_(main) {}
  void set_main(StreamId main) { main_ = main; }
  StreamId main() const { return main_; }

  // Work was issued on side stream `s`.
  void side_used(StreamId s);
  // A block allocated on `owner` is freed while `freeing` is the current stream: true when it may
  // return to its pool now; false when it is held (and comes back from a later call).
  bool on_free(BlockId block, StreamId owner, StreamId freeing);
  // `waiter` now waits on everything issued so far on `producer`; returns the blocks that may return.
  std::vector<BlockId> on_wait(StreamId waiter, StreamId producer);
  // Every stream is idle (the device was synchronised): returns every held block. `current`, the
  // caller's current stream, stays unjoined when it is a side stream: its next work may read blocks.
  std::vector<BlockId> on_idle(StreamId current);

  size_t held() const;  // blocks held now
  bool unjoined(StreamId s) const { return unjoined_.count(s) > 0; }

 private:
  StreamId main_;
  std::set<StreamId> unjoined_;                       // side streams the main one has not waited on
  std::vector<std::pair<BlockId, StreamId>> join_;    // (block, owner) waiting for a full join
  std::map<StreamId, std::vector<BlockId>> side_;     // side blocks waiting for their stream to wait on main
};

}  // namespace cuttle::engine
