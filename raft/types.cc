#include "raft/types.h"

#include <algorithm>

#include "raft/message.h"

namespace shoal::raft {

namespace {

// Both lists are kept sorted so that membership is a binary search and two
// nodes holding the same configuration encode it to the same bytes.
void insert_sorted(std::vector<NodeId>& ids, const NodeId& id) {
  ids.insert(std::lower_bound(ids.begin(), ids.end(), id), id);
}

void erase_sorted(std::vector<NodeId>& ids, const NodeId& id) {
  auto it = std::lower_bound(ids.begin(), ids.end(), id);
  if (it != ids.end() && *it == id) ids.erase(it);
}

}  // namespace

bool ConfState::is_voter(const NodeId& id) const {
  return std::binary_search(voters.begin(), voters.end(), id);
}

bool ConfState::is_learner(const NodeId& id) const {
  return std::binary_search(learners.begin(), learners.end(), id);
}

std::optional<ConfState> apply_conf_change(const ConfState& cs, const ConfChange& cc) {
  // The zero id means "nobody" (HardState::vote), so it can never be a member.
  if (cc.node.is_zero()) return std::nullopt;
  ConfState next = cs;
  switch (cc.kind) {
    case ConfChange::Kind::kAddLearner:
      if (cs.contains(cc.node)) return std::nullopt;
      insert_sorted(next.learners, cc.node);
      return next;
    case ConfChange::Kind::kPromoteLearner:
      if (!cs.is_learner(cc.node)) return std::nullopt;
      erase_sorted(next.learners, cc.node);
      insert_sorted(next.voters, cc.node);
      return next;
    case ConfChange::Kind::kAddVoter:
      // A learner becomes a voter through kPromoteLearner, never by being added again.
      if (cs.contains(cc.node)) return std::nullopt;
      insert_sorted(next.voters, cc.node);
      return next;
    case ConfChange::Kind::kRemove:
      if (cs.is_voter(cc.node)) {
        // With no voters left nothing could ever be committed again.
        if (cs.voters.size() == 1) return std::nullopt;
        erase_sorted(next.voters, cc.node);
        return next;
      }
      if (cs.is_learner(cc.node)) {
        erase_sorted(next.learners, cc.node);
        return next;
      }
      return std::nullopt;
  }
  return std::nullopt;  // a Kind value outside the enum
}

std::string to_string(Term t) { return std::to_string(t.value()); }
std::string to_string(Index i) { return std::to_string(i.value()); }

const char* message_kind_name(MessageKind k) {
  switch (k) {
    case MessageKind::kPreVote:
      return "pre_vote";
    case MessageKind::kPreVoteResp:
      return "pre_vote_resp";
    case MessageKind::kVote:
      return "vote";
    case MessageKind::kVoteResp:
      return "vote_resp";
    case MessageKind::kAppend:
      return "append";
    case MessageKind::kAppendResp:
      return "append_resp";
    case MessageKind::kHeartbeat:
      return "heartbeat";
    case MessageKind::kHeartbeatResp:
      return "heartbeat_resp";
    case MessageKind::kSnapshot:
      return "snapshot";
    case MessageKind::kSnapshotResp:
      return "snapshot_resp";
    case MessageKind::kTimeoutNow:
      return "timeout_now";
    case MessageKind::kReadIndex:
      return "read_index";
    case MessageKind::kReadIndexResp:
      return "read_index_resp";
  }
  return "unknown";
}

}  // namespace shoal::raft
