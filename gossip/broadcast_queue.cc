#include "gossip/broadcast_queue.h"

namespace shoal::gossip {

void BroadcastQueue::link_front(Entry* e) {
  if (buckets_.size() <= e->transmits) buckets_.resize(e->transmits + 1);
  List& l = buckets_[e->transmits];
  e->prev = nullptr;
  e->next = l.head;
  if (l.head != nullptr) l.head->prev = e;
  l.head = e;
  if (l.tail == nullptr) l.tail = e;
}

void BroadcastQueue::unlink(Entry* e) {
  List& l = buckets_[e->transmits];
  if (e->prev != nullptr) e->prev->next = e->next;
  if (e->next != nullptr) e->next->prev = e->prev;
  if (l.head == e) l.head = e->next;
  if (l.tail == e) l.tail = e->prev;
  e->prev = e->next = nullptr;
}

void BroadcastQueue::push(const BroadcastKey& key, Bytes bytes, uint32_t cut) {
  auto [it, inserted] = entries_.try_emplace(key, nullptr);
  Entry* e = it->second;
  if (!inserted) {
    // Fresher news about the same thing: the old entry must never be sent
    // again, and the new one starts with a full retransmit budget.
    unlink(e);
  } else {
    e = new Entry;
    e->key = key;
    it->second = e;
  }
  e->bytes = std::move(bytes);
  e->transmits = 0;
  e->cut = cut;
  link_front(e);
  trim();
}

void BroadcastQueue::erase(const BroadcastKey& key) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  unlink(it->second);
  delete it->second;
  entries_.erase(it);
}

void BroadcastQueue::clear() {
  for (auto& [key, e] : entries_) delete e;
  entries_.clear();
  buckets_.clear();
}

int BroadcastQueue::transmits(const BroadcastKey& key) const {
  auto it = entries_.find(key);
  return it == entries_.end() ? -1 : static_cast<int>(it->second->transmits);
}

void BroadcastQueue::trim() {
  // The oldest entries of the most-transmitted bucket are the cheapest to
  // lose.
  while (entries_.size() > max_entries_) {
    size_t b = buckets_.size();
    while (b > 0 && buckets_[b - 1].tail == nullptr) --b;
    if (b == 0) return;
    Entry* e = buckets_[b - 1].tail;
    unlink(e);
    entries_.erase(e->key);
    delete e;
  }
}

}  // namespace shoal::gossip
