// Helpers for the Raft core unit tests: a tiny in-test "network" of N cores,
// each with a MemoryLogStore and its own deterministically seeded Rng, driven
// by a host loop that follows raft.h's contract to the letter:
//
//   rd = take_ready(); store.save_snapshot(*rd.snapshot) if any;
//   store.save(rd.hard_state, rd.entries, rd.must_sync); only then send
//   rd.messages (a leader's rd.early_messages may go first, raft.h);
//   apply rd.snapshot / rd.committed; advance(rd).
//
// Every Ready is also checked for persist-before-send: a copy of the store is
// power-cut (dropping everything unsynced) and each outgoing vote grant or
// append acknowledgement must be backed by that durable copy.
//
// Messages go through one FIFO queue; a node can be isolated, a link cut, or
// any message dropped by a predicate. Everything is driven by ticks.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/rng.h"
#include "raft/codec.h"
#include "raft/log_store.h"
#include "raft/message.h"
#include "raft/raft.h"
#include "raft/types.h"

namespace shoal::raft::test {

inline NodeId nid(uint64_t i) { return NodeId(0, i); }

inline std::vector<uint8_t> bytes(const std::string& s) { return {s.begin(), s.end()}; }

inline ConfState voters_conf(uint64_t n) {
  ConfState cs;
  for (uint64_t i = 1; i <= n; ++i) cs.voters.push_back(nid(i));
  return cs;
}

// The test state machine: the data of every applied normal entry, in order.
// A snapshot image is their length-prefixed concatenation.
inline std::vector<uint8_t> encode_sm(const std::vector<std::vector<uint8_t>>& cmds) {
  std::vector<uint8_t> out;
  for (const auto& c : cmds) {
    out.push_back(static_cast<uint8_t>(c.size()));
    out.insert(out.end(), c.begin(), c.end());
  }
  return out;
}

inline std::vector<std::vector<uint8_t>> decode_sm(const std::vector<uint8_t>& data) {
  std::vector<std::vector<uint8_t>> cmds;
  for (size_t i = 0; i < data.size();) {
    const size_t n = data[i++];
    if (i + n > data.size()) {
      ADD_FAILURE() << "corrupt state machine image";
      break;
    }
    cmds.emplace_back(data.begin() + static_cast<std::ptrdiff_t>(i),
                      data.begin() + static_cast<std::ptrdiff_t>(i + n));
    i += n;
  }
  return cmds;
}

inline std::vector<Entry> stored_log(const LogStore& s) {
  if (s.last_index() < s.first_index()) return {};
  auto e = s.entries(s.first_index(), s.last_index() + 1, SIZE_MAX);
  EXPECT_TRUE(e.is_ok()) << e.status().to_string();
  return e.is_ok() ? *e : std::vector<Entry>{};
}

inline std::vector<uint64_t> log_terms(const LogStore& s) {
  std::vector<uint64_t> out;
  for (const Entry& e : stored_log(s)) out.push_back(e.term.value());
  return out;
}

struct TestNode {
  NodeId id;
  Config cfg;
  MemoryLogStore store;
  std::unique_ptr<Rng> rng;
  std::unique_ptr<Raft> raft;
  bool up = true;

  // What the host saw.
  std::vector<std::vector<uint8_t>> sm;  // applied normal commands
  Index sm_index;                        // last applied index
  std::vector<Entry> applied;            // every committed entry handed out
  std::vector<ReadState> read_states;
  std::vector<uint64_t> failed_reads;
  std::vector<Ready> readies;  // every Ready taken (for inspection)
  size_t ready_count = 0;
};

class Network {
 public:
  using Tweak = std::function<void(Config&)>;

  // `n` voters with ids 1..n, each store bootstrapped with voters 1..n.
  explicit Network(size_t n, Tweak tweak = nullptr, uint64_t seed = 1)
      : tweak_(std::move(tweak)), seed_(seed) {
    const ConfState cs = voters_conf(n);
    for (uint64_t i = 1; i <= n; ++i) {
      TestNode& t = make_node(i);
      Status st = Raft::bootstrap(t.store, t.store, cs);
      EXPECT_TRUE(st.is_ok()) << st.to_string();
      start(t);
    }
  }

  // A node with an empty store (joins through a configuration change).
  TestNode& add_empty(uint64_t i) {
    TestNode& t = make_node(i);
    start(t);
    return t;
  }

  TestNode& node(uint64_t i) {
    auto it = nodes_.find(i);
    SHOAL_CHECK_MSG(it != nodes_.end(), "test network: unknown node");
    return *it->second;
  }
  Raft& raft(uint64_t i) { return *node(i).raft; }
  MemoryLogStore& store(uint64_t i) { return node(i).store; }
  std::vector<uint64_t> ids() const {
    std::vector<uint64_t> out;
    for (const auto& [i, t] : nodes_) out.push_back(i);
    return out;
  }

  // Replaces node i's log after the bootstrap entry with entries of the given
  // terms (indexes 2, 3, ...), sets its term, and restarts it from the store.
  void set_log(uint64_t i, const std::vector<uint64_t>& terms, uint64_t term) {
    TestNode& t = node(i);
    t.raft.reset();
    std::vector<Entry> ents;
    for (size_t k = 0; k < terms.size(); ++k) {
      ents.push_back(Entry{Term(terms[k]), Index(k + 2), EntryType::kNormal,
                           bytes("i" + std::to_string(k + 2) + "t" + std::to_string(terms[k]))});
    }
    Status st = t.store.save(HardState{Term(term), NodeId(), Index(1)}, ents, true);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    start(t);
  }

  // ---- The host loop ----

  // One Ready cycle of node i: persist, check persist-before-send, apply,
  // advance. Returns the Ready's messages (not yet sent).
  std::vector<Message> process_ready(uint64_t i) {
    TestNode& t = node(i);
    Ready rd = t.raft->take_ready();
    ++t.ready_count;
    Status st = Status::ok();
    if (rd.snapshot) {
      st = t.store.save_snapshot(*rd.snapshot);
      EXPECT_TRUE(st.is_ok()) << "node " << i << " save_snapshot: " << st.to_string();
    }
    st = t.store.save(rd.hard_state, rd.entries, rd.must_sync);
    EXPECT_TRUE(st.is_ok()) << "node " << i << " save: " << st.to_string();
    check_persisted(t, rd);
    if (rd.snapshot) {
      t.sm = decode_sm(rd.snapshot->data);
      t.sm_index = rd.snapshot->meta.index;
    }
    for (const Entry& e : rd.committed) {
      EXPECT_EQ(e.index.value(), t.sm_index.value() + 1) << "node " << i << " applies out of order";
      t.sm_index = e.index;
      if (e.type == EntryType::kNormal) t.sm.push_back(e.data);
      t.applied.push_back(e);
    }
    for (const ReadState& r : rd.read_states) t.read_states.push_back(r);
    for (uint64_t c : rd.failed_reads) t.failed_reads.push_back(c);
    t.raft->advance(rd);
    std::vector<Message> msgs = rd.early_messages;
    msgs.insert(msgs.end(), rd.messages.begin(), rd.messages.end());
    if (keep_readies_) t.readies.push_back(std::move(rd));
    return msgs;
  }

  // Processes every pending Ready and queues its messages.
  void flush() {
    for (auto& [i, t] : nodes_) {
      if (!t->up) continue;
      while (t->raft->has_ready()) {
        for (Message& m : process_ready(i)) queue_.push_back(std::move(m));
      }
    }
  }

  // Delivers messages (one at a time, each followed by the Ready cycles it
  // causes) until nothing is left to send.
  void stabilize(size_t max_msgs = 200000) {
    for (size_t n = 0;; ++n) {
      flush();
      if (queue_.empty()) return;
      if (n >= max_msgs) {
        ADD_FAILURE() << "the network did not quiesce";
        queue_.clear();
        return;
      }
      Message m = std::move(queue_.front());
      queue_.pop_front();
      deliver(m);
    }
  }

  // Steps one message into its recipient unless a fault drops it.
  void deliver(const Message& m) {
    if (dropped(m)) {
      ++dropped_count_;
      return;
    }
    auto it = nodes_.find(m.to.lo());
    if (it == nodes_.end() || !it->second->up || m.to.hi() != 0) return;
    delivered_.push_back(m);
    Status st = it->second->raft->step(m);
    EXPECT_TRUE(st.is_ok()) << "step " << message_kind_name(m.kind) << ": " << st.to_string();
  }

  void tick(uint64_t i, int n = 1) {
    for (int k = 0; k < n; ++k) {
      raft(i).tick();
      stabilize();
    }
  }
  void tick_all(int n = 1) {
    for (int k = 0; k < n; ++k) {
      for (auto& [i, t] : nodes_) {
        if (t->up) t->raft->tick();
      }
      stabilize();
    }
  }

  // Campaigns (pre-vote first if configured) and runs to quiescence.
  void campaign(uint64_t i) {
    raft(i).campaign();
    stabilize();
  }

  std::optional<uint64_t> leader() const {
    std::optional<uint64_t> out;
    Term best;
    for (const auto& [i, t] : nodes_) {
      if (t->up && t->raft->role() == Role::kLeader && t->raft->term() >= best) {
        best = t->raft->term();
        out = i;
      }
    }
    return out;
  }

  // Proposes on node i (which must lead) and runs to quiescence.
  Index propose(uint64_t i, const std::string& data) {
    auto r = raft(i).propose(bytes(data));
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    stabilize();
    return r.is_ok() ? r->first : Index();
  }

  // ---- Faults ----

  void isolate(uint64_t i) { isolated_.insert(i); }
  void heal() {
    isolated_.clear();
    cut_.clear();
    drop_if = nullptr;
  }
  void cut(uint64_t a, uint64_t b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  // Messages for which this returns true are dropped.
  std::function<bool(const Message&)> drop_if;

  // The node stops (its core is destroyed; the store keeps what it holds).
  void crash(uint64_t i, bool power_cut = false) {
    TestNode& t = node(i);
    t.raft.reset();
    t.up = false;
    if (power_cut) t.store.power_cut();
  }
  // Builds a new core from the store (the state machine restarts from the
  // stored snapshot and re-applies the committed log).
  void restart(uint64_t i) {
    TestNode& t = node(i);
    t.raft.reset();
    start(t);
  }

  // Node i's host takes a snapshot of its state machine and compacts its log
  // up to `compact_to` (default: everything applied).
  void compact(uint64_t i, std::optional<Index> compact_to = std::nullopt) {
    TestNode& t = node(i);
    Snapshot s;
    s.meta.index = t.sm_index;
    s.meta.term = t.raft->term_at(t.sm_index);
    s.meta.conf = t.raft->conf();
    s.data = encode_sm(t.sm);
    Status st = t.store.create_snapshot(s, compact_to.value_or(t.sm_index));
    EXPECT_TRUE(st.is_ok()) << st.to_string();
  }

  const std::vector<Message>& delivered() const { return delivered_; }
  void clear_delivered() { delivered_.clear(); }
  size_t count_delivered(MessageKind k,
                         const std::function<bool(const Message&)>& pred = nullptr) const {
    size_t n = 0;
    for (const Message& m : delivered_) n += (m.kind == k && (!pred || pred(m))) ? 1 : 0;
    return n;
  }
  std::deque<Message>& queue() { return queue_; }
  void keep_readies(bool on) { keep_readies_ = on; }

 private:
  TestNode& make_node(uint64_t i) {
    auto t = std::make_unique<TestNode>();
    t->id = nid(i);
    t->cfg.id = t->id;
    if (tweak_) tweak_(t->cfg);
    t->rng = std::make_unique<Rng>(seed_ * 1000003 + i);
    TestNode& ref = *t;
    nodes_[i] = std::move(t);
    return ref;
  }

  void start(TestNode& t) {
    auto snap = t.store.snapshot();
    EXPECT_TRUE(snap.is_ok());
    t.sm = snap.is_ok() ? decode_sm(snap->data) : std::vector<std::vector<uint8_t>>{};
    t.sm_index = snap.is_ok() ? snap->meta.index : Index();
    t.applied.clear();
    t.cfg.applied = t.sm_index;
    t.raft = std::make_unique<Raft>(t.cfg, t.store, *t.rng);
    t.up = true;
  }

  bool dropped(const Message& m) const {
    const uint64_t from = m.from.lo();
    const uint64_t to = m.to.lo();
    if (isolated_.count(from) || isolated_.count(to)) return true;
    if (cut_.count({from, to})) return true;
    return drop_if && drop_if(m);
  }

  // Persist before send: every vote grant and acknowledgement in `rd` must be
  // backed by what survives a power cut right now.
  static void check_persisted(const TestNode& t, const Ready& rd) {
    MemoryLogStore durable = t.store;
    durable.power_cut();
    const HardState hs = durable.hard_state();
    // Only a leader's replication traffic may leave before the write.
    for (const Message& m : rd.early_messages) {
      EXPECT_TRUE(m.kind == MessageKind::kAppend || m.kind == MessageKind::kHeartbeat ||
                  m.kind == MessageKind::kSnapshot || m.kind == MessageKind::kTimeoutNow)
          << "node " << t.id.lo() << " sends " << message_kind_name(m.kind) << " early";
      EXPECT_LE(m.term, hs.term) << "node " << t.id.lo() << " sends early at an unpersisted term";
    }
    for (const Message& m : rd.messages) {
      const bool pre = m.kind == MessageKind::kPreVote || m.kind == MessageKind::kPreVoteResp;
      if (!pre) {
        EXPECT_LE(m.term, hs.term) << "node " << t.id.lo() << " sends " << message_kind_name(m.kind)
                                   << " at an unpersisted term";
      }
      if (m.kind == MessageKind::kVoteResp && !m.reject) {
        EXPECT_EQ(hs.vote, m.to) << "node " << t.id.lo() << " grants an unpersisted vote";
        EXPECT_EQ(hs.term, m.term);
      }
      if (m.kind == MessageKind::kVote) {
        EXPECT_EQ(hs.vote, t.id) << "candidate " << t.id.lo() << " did not persist its own vote";
      }
      if (m.kind == MessageKind::kAppendResp && !m.reject) {
        EXPECT_GE(durable.last_index(), m.index)
            << "node " << t.id.lo() << " acknowledges unpersisted entries";
      }
      if (m.kind == MessageKind::kSnapshotResp && m.done) {
        EXPECT_GE(durable.last_index(), m.index)
            << "node " << t.id.lo() << " acknowledges an unpersisted snapshot";
      }
      if (m.kind == MessageKind::kAppend && !m.entries.empty()) {
        EXPECT_GE(durable.last_index(), m.entries.back().index)
            << "leader " << t.id.lo() << " sends entries it has not persisted";
      }
    }
  }

  Tweak tweak_;
  uint64_t seed_;
  std::map<uint64_t, std::unique_ptr<TestNode>> nodes_;
  std::deque<Message> queue_;
  std::set<uint64_t> isolated_;
  std::set<std::pair<uint64_t, uint64_t>> cut_;
  std::vector<Message> delivered_;
  size_t dropped_count_ = 0;
  bool keep_readies_ = false;
};

// Config tweaks.
inline void paper_config(Config& c) {  // the plain algorithm of the paper
  c.pre_vote = false;
  c.check_quorum = false;
}

// A hand-made message.
inline Message msg(MessageKind kind, uint64_t from, uint64_t to, uint64_t term) {
  Message m;
  m.kind = kind;
  m.from = nid(from);
  m.to = nid(to);
  m.term = Term(term);
  return m;
}

// Takes every pending Ready of a lone core (no network), persisting it into
// `store` exactly as a host would; returns all messages.
inline std::vector<Message> drain(Raft& r, MemoryLogStore& store,
                                  std::vector<Ready>* out = nullptr) {
  std::vector<Message> msgs;
  while (r.has_ready()) {
    Ready rd = r.take_ready();
    Status st = Status::ok();
    if (rd.snapshot) {
      st = store.save_snapshot(*rd.snapshot);
      EXPECT_TRUE(st.is_ok()) << st.to_string();
    }
    st = store.save(rd.hard_state, rd.entries, rd.must_sync);
    EXPECT_TRUE(st.is_ok()) << st.to_string();
    msgs.insert(msgs.end(), rd.early_messages.begin(), rd.early_messages.end());
    msgs.insert(msgs.end(), rd.messages.begin(), rd.messages.end());
    r.advance(rd);
    if (out) out->push_back(std::move(rd));
  }
  return msgs;
}

// A lone core (no network) whose store holds the bootstrap configuration of
// `n` voters, optionally followed by entries of the given terms.
struct Lone {
  MemoryLogStore store;
  Rng rng;
  std::unique_ptr<Raft> raft;
  Config cfg;

  explicit Lone(uint64_t id, size_t n, std::vector<uint64_t> terms = {}, uint64_t term = 1,
                bool paper = true, uint64_t seed = 7)
      : rng(seed) {
    EXPECT_TRUE(Raft::bootstrap(store, store, voters_conf(n)).is_ok());
    std::vector<Entry> ents;
    for (size_t k = 0; k < terms.size(); ++k) {
      ents.push_back(Entry{Term(terms[k]), Index(k + 2), EntryType::kNormal, bytes("x")});
    }
    EXPECT_TRUE(store.save(HardState{Term(term), NodeId(), Index(1)}, ents, true).is_ok());
    cfg.id = nid(id);
    if (paper) paper_config(cfg);
    raft = std::make_unique<Raft>(cfg, store, rng);
    drain(*raft, store);  // hands out the committed bootstrap entry
  }
  std::vector<Message> drain_msgs(std::vector<Ready>* rds = nullptr) {
    return drain(*raft, store, rds);
  }
};

inline std::vector<Message> of_kind(const std::vector<Message>& msgs, MessageKind k) {
  std::vector<Message> out;
  for (const Message& m : msgs) {
    if (m.kind == k) out.push_back(m);
  }
  return out;
}

}  // namespace shoal::raft::test
