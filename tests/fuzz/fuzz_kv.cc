// Fuzzes the replicated state machine's decoders (scheduler/): a KV command
// and a node upsert from a log entry, a KV snapshot, and a whole-state
// snapshot (ClusterState::restore); and ClusterState::apply on the input as
// one entry and as a log of entries. Whatever decodes must re-encode to
// something that decodes to the same value, and nothing may crash.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "scheduler/cluster_state.h"
#include "scheduler/kv_state.h"
#include "scheduler/node_registry.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shoal::scheduler;
  using Kind = ApplyResult::Kind;
  const std::span<const uint8_t> bytes(data, size);
  if (auto cmd = decode_kv_command(bytes); cmd.is_ok()) {
    auto again = decode_kv_command(encode(*cmd));
    if (!again.is_ok() || !(*again == *cmd)) std::abort();
    KvState s;
    if (s.apply(1, *cmd) == KvOutcome::kInvalid) std::abort();  // decoded means valid
  }
  if (auto st = KvState::restore(bytes); st.is_ok()) {
    auto again = KvState::restore(st->snapshot());
    if (!again.is_ok() || again->hash() != st->hash()) std::abort();
  }
  if (auto u = decode_node_upsert(bytes); u.is_ok()) {
    auto again = decode_node_upsert(encode(*u));
    if (!again.is_ok() || !(*again == *u)) std::abort();
    NodeRegistry reg;
    if (!reg.apply(1, *u) || reg.apply(2, *u) || reg.differs(u->node)) std::abort();
  }

  // The input as one entry: whatever happens, a snapshot restores to the
  // same state.
  {
    ClusterState s;
    const ApplyResult r = s.apply(1, bytes);
    if (r.kind == Kind::kUnknownType ? !s.upgrade_required() || s.applied() != 0
                                     : s.upgrade_required() || s.applied() != 1) {
      std::abort();
    }
    auto back = ClusterState::restore(s.snapshot());
    if (!back.is_ok() || back->hash() != s.hash() || back->applied() != s.applied() ||
        back->stalled_at() != s.stalled_at()) {
      std::abort();
    }
  }

  // The input as a log: each byte is a length of the next entry (0 = noop).
  {
    ClusterState s;
    uint64_t index = 0;
    size_t at = 0;
    while (at < size) {
      const size_t want = data[at++];
      const size_t len = std::min(want, size - at);
      ++index;
      if (len == 0) {
        s.skip(index);
        continue;
      }
      const uint64_t before = s.hash();
      const bool stalled = s.upgrade_required();
      const ApplyResult r = s.apply(index, bytes.subspan(at, len));
      at += len;
      if ((stalled && r.kind != Kind::kUnknownType) ||
          ((r.kind == Kind::kInvalid || r.kind == Kind::kUnknownType) && s.hash() != before)) {
        std::abort();
      }
    }
    auto back = ClusterState::restore(s.snapshot());
    if (!back.is_ok() || back->hash() != s.hash()) std::abort();
  }

  if (auto st = ClusterState::restore(bytes); st.is_ok()) {
    auto again = ClusterState::restore(st->snapshot());
    if (!again.is_ok() || again->hash() != st->hash() || again->applied() != st->applied() ||
        again->stalled_at() != st->stalled_at()) {
      std::abort();
    }
  }
  return 0;
}
