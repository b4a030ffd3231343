// Helpers for the gossip unit tests: hand-made packets into one core, and a
// tiny zero-latency network of a few cores on a manual clock (the
// deterministic simulator in tests/sim is for the big scenarios).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "gossip/codec.h"
#include "gossip/gossip.h"

namespace shoal::gossip::test {

inline NodeId nid(uint64_t i) { return NodeId(0xabc, i); }
inline Address addr(uint64_t i) { return Address{"10.9.0." + std::to_string(i), 7782}; }
inline NodeMeta meta(uint64_t i) {
  NodeMeta m;
  m.name = "n" + std::to_string(i);
  m.gossip = addr(i);
  m.attrs = {{"zone", "z" + std::to_string(i % 2)}};
  return m;
}
inline std::vector<uint8_t> packet(std::initializer_list<std::vector<uint8_t>> parts) {
  codec::PacketBuilder b(1 << 16);
  for (const auto& p : parts) b.force(p);
  return b.finish();
}
inline std::vector<uint8_t> alive(uint64_t i, uint64_t inc) {
  return codec::encode(codec::Alive{inc, nid(i), meta(i)});
}

// All parts of every packet in `ready`, decoded (the test's view of what a
// core sent).
struct Sent {
  Address to;
  std::vector<codec::Message> messages;
  std::vector<NodeMeta> alive_metas;  // decoded metadata of AliveIn parts, in order
};
inline std::vector<Sent> decode_sent(const Ready& ready) {
  std::vector<Sent> out;
  for (const Packet& p : ready.packets) {
    auto d = codec::decode_packet(p.payload);
    EXPECT_TRUE(d) << d.status().to_string();
    if (!d) continue;
    Sent s{p.to, {}, {}};
    for (auto& m : d->messages) {
      if (auto* a = std::get_if<codec::AliveIn>(&m)) s.alive_metas.push_back(a->meta.decode());
      s.messages.push_back(m);
    }
    out.push_back(std::move(s));
  }
  return out;
}
template <class T>
std::vector<T> sent_of(const std::vector<Sent>& sent) {
  std::vector<T> out;
  for (const Sent& s : sent) {
    for (const auto& m : s.messages) {
      if (const T* t = std::get_if<T>(&m)) out.push_back(*t);
    }
  }
  return out;
}
inline std::vector<Event> events_of(const Ready& r, Event::Kind k) {
  std::vector<Event> out;
  for (const Event& e : r.events) {
    if (e.kind == k) out.push_back(e);
  }
  return out;
}

// A few cores with instant delivery. Packets and streams move only inside
// run_for(); a node that is down drops what it is sent (streams fail at
// once, like a refused connection); `cut(a, b)` drops both directions.
class MiniNet {
 public:
  explicit MiniNet(size_t n, Config config = Config::lan(), uint64_t seed = 1) : config_(config) {
    for (size_t i = 0; i < n; ++i) add(seed);
  }

  size_t add(uint64_t seed = 1) {
    const size_t i = nodes_.size();
    auto node = std::make_unique<Node>();
    node->rng = std::make_unique<Rng>(mix64(seed, i));
    node->core = std::make_unique<Gossip>(config_, nid(i), meta(i), *node->rng, now_);
    nodes_.push_back(std::move(node));
    return i;
  }
  Gossip& core(size_t i) { return *nodes_.at(i)->core; }
  const std::vector<Event>& events(size_t i) const { return nodes_.at(i)->events; }
  void clear_events() {
    for (auto& n : nodes_) n->events.clear();
  }
  TimePoint now() const { return now_; }
  // Down: drops what it is sent and does nothing. revive() brings the same
  // core back (as after a network outage of that host).
  void crash(size_t i) { nodes_.at(i)->up = false; }
  void revive(size_t i) { nodes_.at(i)->up = true; }
  bool up(size_t i) const { return nodes_.at(i)->up; }
  void cut(size_t a, size_t b, bool on = true) {
    cuts_.erase(std::remove_if(cuts_.begin(), cuts_.end(),
                               [&](auto c) {
                                 return (c.first == a && c.second == b) ||
                                        (c.first == b && c.second == a);
                               }),
                cuts_.end());
    if (on) cuts_.emplace_back(a, b);
  }
  // Drops each UDP packet with this probability (streams are reliable).
  void set_loss(double p) { loss_ = p; }
  uint64_t packets() const { return packets_; }

  // Everyone joins node 0.
  void join_all() {
    for (size_t i = 1; i < nodes_.size(); ++i) core(i).join(now_, {addr(0)});
    settle();
  }
  // Delivers everything pending, without moving the clock.
  void settle() {
    for (int round = 0; round < 10000; ++round) {
      bool any = false;
      for (size_t i = 0; i < nodes_.size(); ++i) any = flush(i) || any;
      if (!any) return;
    }
    ADD_FAILURE() << "the network never went quiet";
  }
  // Advances the clock to each node's next deadline in turn until `d` has
  // passed, delivering everything after every step.
  void run_for(Duration d) {
    const TimePoint end = now_ + d;
    settle();
    for (;;) {
      TimePoint next = end;
      for (auto& n : nodes_) {
        if (n->up) next = std::min(next, n->core->next_deadline());
      }
      now_ = std::max(now_, next);
      for (auto& n : nodes_) {
        if (n->up && n->core->next_deadline() <= now_) n->core->tick(now_);
      }
      settle();
      if (now_ >= end) return;
    }
  }

  std::optional<size_t> index_of(const Address& a) const {
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (addr(i) == a) return i;
    }
    return std::nullopt;
  }
  std::optional<MemberStatus> view(size_t observer, size_t member) const {
    auto m = nodes_.at(observer)->core->find(nid(member));
    if (!m) return std::nullopt;
    return m->status;
  }

 private:
  struct Node {
    std::unique_ptr<Rng> rng;
    std::unique_ptr<Gossip> core;
    std::vector<Event> events;
    bool up = true;
  };

  bool blocked(size_t a, size_t b) const {
    for (auto c : cuts_) {
      if ((c.first == a && c.second == b) || (c.first == b && c.second == a)) return true;
    }
    return false;
  }

  bool flush(size_t i) {
    Node& n = *nodes_[i];
    if (!n.up) {
      (void)n.core->take_ready();
      return false;
    }
    Ready r = n.core->take_ready();
    if (r.empty()) return false;
    for (Event& e : r.events) n.events.push_back(std::move(e));
    for (Packet& p : r.packets) {
      ++packets_;
      auto to = index_of(p.to);
      if (!to || !nodes_[*to]->up || blocked(i, *to)) continue;
      if (loss_ > 0 && loss_rng_.chance(loss_)) continue;
      nodes_[*to]->core->on_packet(now_, addr(i), p.payload).ignore();
    }
    for (StreamRequest& s : r.streams) {
      auto to = index_of(s.to);
      if (!to || !nodes_[*to]->up || blocked(i, *to)) {
        n.core->on_stream_reply(now_, s.id, Status::unavailable("connection refused"));
        continue;
      }
      auto reply = nodes_[*to]->core->on_stream(now_, addr(i), s.payload);
      n.core->on_stream_reply(now_, s.id, std::move(reply));
    }
    return true;
  }

  Config config_;
  TimePoint now_ = time_at(std::chrono::seconds(1000));
  std::vector<std::unique_ptr<Node>> nodes_;
  std::vector<std::pair<size_t, size_t>> cuts_;
  double loss_ = 0;
  Rng loss_rng_{99};
  uint64_t packets_ = 0;
};

}  // namespace shoal::gossip::test
