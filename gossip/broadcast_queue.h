// BroadcastQueue: the updates waiting to be piggybacked on outgoing packets.
//
// Each entry is one encoded envelope with a key saying what it is about (a
// member, or a query). Rules:
//  - a newer entry with the same key replaces the queued one, so stale news
//    about a member never travels after fresher news;
//  - packets take entries with the fewest transmissions first, newest first
//    among equals, so fresh news spreads before old news is repeated;
//  - an entry is dropped after `limit` transmissions (the caller passes
//    retransmit_limit(mult, n) for the current cluster size);
//  - the queue holds at most `max_entries`; past that, the most-transmitted
//    entries are dropped (push-pull repairs whatever gossip lost).
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

#include "core/ids.h"

namespace shoal::gossip {

struct BroadcastKey {
  NodeId id;         // the member, or a query's origin
  uint64_t sub = 0;  // 0 for membership news; a query's id (with kQueryBit)
  static constexpr uint64_t kQueryBit = uint64_t{1} << 63;
  auto operator<=>(const BroadcastKey&) const = default;
};

struct BroadcastKeyHash {
  size_t operator()(const BroadcastKey& k) const noexcept {
    return std::hash<NodeId>{}(k.id) ^ (k.sub * 0x9e3779b97f4a7c15ULL);
  }
};

class BroadcastQueue {
 public:
  using Bytes = std::vector<uint8_t>;

  explicit BroadcastQueue(size_t max_entries = 1024) : max_entries_(max_entries) {}
  ~BroadcastQueue() { clear(); }
  BroadcastQueue(const BroadcastQueue&) = delete;
  BroadcastQueue& operator=(const BroadcastQueue&) = delete;

  // Queues `bytes`, replacing any entry with the same key. An entry with a
  // `cut` is dropped `cut` transmissions before the limit: news of less
  // value gets fewer copies (but the same place in the queue order).
  void push(const BroadcastKey& key, Bytes bytes, uint32_t cut = 0);
  // Removes the entry for `key`, if any.
  void erase(const BroadcastKey& key);
  void clear();

  // Hands entries, in queue order, to `take(bytes) -> bool` (true: the
  // packet took it). Each entry taken counts one transmission; entries that
  // reach `limit` are dropped. Stops after `max_misses` consecutive refusals
  // (the packet is full).
  template <class Take>
  size_t fill(int limit, Take&& take, size_t max_misses = 16);

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  bool contains(const BroadcastKey& key) const { return entries_.count(key) != 0; }
  // Transmissions of the entry for `key` so far (-1: none queued).
  int transmits(const BroadcastKey& key) const;

 private:
  // Entries live in one intrusive list per transmission count ("bucket");
  // a bucket is ordered newest first: fresh entries and entries just sent
  // go to its front. Taking, moving and dropping are O(1); no tree.
  struct Entry {
    BroadcastKey key;
    Bytes bytes;
    uint32_t transmits = 0;
    uint32_t cut = 0;
    Entry* prev = nullptr;
    Entry* next = nullptr;
  };
  struct List {
    Entry* head = nullptr;
    Entry* tail = nullptr;
  };
  void link_front(Entry* e);
  void unlink(Entry* e);
  void trim();

  size_t max_entries_;
  std::unordered_map<BroadcastKey, Entry*, BroadcastKeyHash> entries_;
  std::vector<List> buckets_;  // index: transmits
};

template <class Take>
size_t BroadcastQueue::fill(int limit, Take&& take, size_t max_misses) {
  // At most a packet's worth is taken; a small fixed buffer avoids an
  // allocation per packet.
  Entry* taken[256];
  size_t n = 0;
  size_t misses = 0;
  for (size_t b = 0; b < buckets_.size() && misses < max_misses && n < 256; ++b) {
    for (Entry* e = buckets_[b].head; e != nullptr && misses < max_misses && n < 256; e = e->next) {
      if (take(std::span<const uint8_t>(e->bytes))) {
        taken[n++] = e;
        misses = 0;
      } else {
        ++misses;
      }
    }
  }
  // Move in reverse, so the batch keeps its order at the front of the next
  // bucket.
  for (size_t i = n; i-- > 0;) {
    Entry* e = taken[i];
    unlink(e);
    ++e->transmits;
    if (static_cast<int64_t>(e->transmits) + e->cut >= limit) {
      entries_.erase(e->key);
      delete e;
    } else {
      link_front(e);
    }
  }
  return n;
}

}  // namespace shoal::gossip
