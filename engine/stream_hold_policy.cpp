#include "engine/stream_hold_policy.h"

namespace cuttle::engine {

void StreamHoldPolicy::side_used(StreamId s) {
  if (s != main_) unjoined_.insert(s);
}

bool StreamHoldPolicy::on_free(BlockId block, StreamId owner, StreamId freeing) {
  if (freeing == owner) {
    // Work queued later on the owner's stream runs after everything queued there so far.
    if (freeing != main_ || unjoined_.empty()) return true;
    join_.emplace_back(block, owner);  // side streams may still read this main-stream block
    return false;
  }
  if (freeing != main_) unjoined_.insert(freeing);  // it used the block: the main stream must join it
  if (unjoined_.empty())
    side_[owner].push_back(block);  // a side block freed on main, all joined: wait for its stream
  else
    join_.emplace_back(block, owner);
  return false;
}

std::vector<StreamHoldPolicy::BlockId> StreamHoldPolicy::on_wait(StreamId waiter, StreamId producer) {
  std::vector<BlockId> out;
  if (waiter == producer) return out;
  if (waiter == main_) {
    unjoined_.erase(producer);
    if (!unjoined_.empty()) return out;
    // The main stream is now ordered after every use: its own blocks are free; a side block becomes
    // free for its stream once that stream next waits on the main one.
    for (const auto& [block, owner] : join_)
      if (owner == main_)
        out.push_back(block);
      else
        side_[owner].push_back(block);
    join_.clear();
  } else if (producer == main_) {
    auto it = side_.find(waiter);
    if (it != side_.end()) {
      out = std::move(it->second);
      side_.erase(it);
    }
  }
  return out;
}

std::vector<StreamHoldPolicy::BlockId> StreamHoldPolicy::on_idle(StreamId current) {
  std::vector<BlockId> out;
  for (const auto& held : join_) out.push_back(held.first);
  for (const auto& [stream, blocks] : side_) out.insert(out.end(), blocks.begin(), blocks.end());
  join_.clear();
  side_.clear();
  unjoined_.clear();
  side_used(current);
  return out;
}

size_t StreamHoldPolicy::held() const {
  size_t n = join_.size();
  for (const auto& [stream, blocks] : side_) n += blocks.size();
  return n;
}

}  // namespace cuttle::engine
