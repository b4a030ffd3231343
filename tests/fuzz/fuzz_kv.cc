// Fuzzes the KV state machine's decoders (scheduler/kv_state.h): a command
// from a log entry, and a whole-state snapshot. Whatever decodes must
// re-encode to something that decodes to the same value.
#include <cstdint>
#include <cstdlib>
#include <span>

#include "scheduler/kv_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shoal::scheduler;
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
  return 0;
}
