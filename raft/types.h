// The vocabulary of Shoal's Raft: strong Term/Index types, log entries, the
// persistent hard state, cluster configurations and snapshots. Everything
// here is plain data, shared by the core (raft.h), the storage (log_store.h),
// the codec (codec.h) and the hosts that drive them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ids.h"

namespace shoal::raft {

using Term = Strong<uint64_t, struct TermTag>;
using Index = Strong<uint64_t, struct IndexTag>;
using NodeId = shoal::NodeId;

inline constexpr Index operator+(Index i, uint64_t n) { return Index(i.value() + n); }
inline constexpr Index operator-(Index i, uint64_t n) { return Index(i.value() - n); }

enum class EntryType : uint8_t {
  kNormal = 0,      // a command for the state machine (opaque bytes)
  kConfChange = 1,  // data is an encoded ConfChange (codec.h)
  kNoop = 2,        // the empty entry a new leader appends in its term
};

struct Entry {
  Term term;
  Index index;
  EntryType type = EntryType::kNormal;
  std::vector<uint8_t> data;

  // Bytes this entry counts for in batching limits (data plus a fixed cost).
  size_t size_bytes() const { return data.size() + 24; }
  bool operator==(const Entry&) const = default;
};

// What must be on stable storage before any message that depends on it is
// sent (Raft §5, Figure 2: currentTerm, votedFor; commit is kept so that a
// restart can apply without waiting for a leader).
struct HardState {
  Term term;
  NodeId vote;  // zero: voted for nobody in `term`
  Index commit;
  bool operator==(const HardState&) const = default;
};

// A cluster configuration. Voters elect and count for commitment; learners
// only replicate. Changes are one server at a time (Raft thesis §4.1): each
// ConfChange entry takes effect as soon as it is in a node's log.
struct ConfState {
  std::vector<NodeId> voters;    // sorted, unique
  std::vector<NodeId> learners;  // sorted, unique, disjoint from voters
  bool operator==(const ConfState&) const = default;

  bool is_voter(const NodeId& id) const;
  bool is_learner(const NodeId& id) const;
  bool contains(const NodeId& id) const { return is_voter(id) || is_learner(id); }
  size_t quorum() const { return voters.size() / 2 + 1; }
};

struct ConfChange {
  enum class Kind : uint8_t {
    kAddLearner = 0,      // a new member that replicates but does not vote
    kPromoteLearner = 1,  // learner -> voter
    kAddVoter = 2,        // a new member straight in as a voter
    kRemove = 3,          // voter or learner leaves the configuration
  };
  Kind kind = Kind::kAddLearner;
  NodeId node;
  bool operator==(const ConfChange&) const = default;
};

// Applies `cc` to `cs`. Returns nullopt (and leaves nothing changed) when the
// change makes no sense for `cs`: adding a member twice, promoting a
// non-learner, removing a stranger, or removing the last voter.
std::optional<ConfState> apply_conf_change(const ConfState& cs, const ConfChange& cc);

struct SnapshotMeta {
  Index index;  // the last entry the snapshot covers
  Term term;    // that entry's term
  ConfState conf;
  bool operator==(const SnapshotMeta&) const = default;
};

// A state-machine image plus where it stands in the log. `data` is opaque to
// Raft; the state machine produces and consumes it.
struct Snapshot {
  SnapshotMeta meta;
  std::vector<uint8_t> data;
  bool empty() const { return meta.index.value() == 0; }
};

std::string to_string(Term t);
std::string to_string(Index i);

}  // namespace shoal::raft
