// Fuzz target: every decoder of raft/codec.h on arbitrary bytes (they read
// peers' messages and a disk that may be corrupt). Invariants: no decoder
// crashes or throws; whatever one accepts re-encodes to bytes that decode to
// the same value, and re-encoding that value gives the same bytes again (the
// encoder's output is canonical).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <vector>

#include "raft/codec.h"

namespace {

using namespace shoal;
using namespace shoal::raft;

template <class Decode>
void check_round_trip(std::span<const uint8_t> input, Decode decode, const char* what) {
  auto first = decode(input);
  if (!first) {
    if (first.status().code() != StatusCode::kDecode &&
        first.status().code() != StatusCode::kTooLarge) {
      std::fprintf(stderr, "%s: unexpected status %s\n", what, first.status().to_string().c_str());
      std::abort();
    }
    return;
  }
  const std::vector<uint8_t> bytes = codec::encode(*first);
  auto second = decode(bytes);
  if (!second) {
    std::fprintf(stderr, "%s: re-encoding does not decode: %s\n", what,
                 second.status().to_string().c_str());
    std::abort();
  }
  if (!(*second == *first)) {
    std::fprintf(stderr, "%s: round trip changed the value\n", what);
    std::abort();
  }
  if (codec::encode(*second) != bytes) {
    std::fprintf(stderr, "%s: encoding is not canonical\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::span<const uint8_t> input(data, size);
  check_round_trip(input, codec::decode_message, "raft_message");
  check_round_trip(input, codec::decode_entry, "raft_entry");
  check_round_trip(input, codec::decode_hard_state, "raft_hard_state");
  check_round_trip(input, codec::decode_conf_state, "raft_conf_state");
  check_round_trip(input, codec::decode_snapshot_meta, "raft_snapshot_meta");

  // A kConfChange entry's data is itself a conf state: fuzz that nesting too.
  auto entry = codec::decode_entry(input);
  if (entry && entry->type == EntryType::kConfChange) {
    check_round_trip(entry->data, codec::decode_conf_state, "raft_entry conf change");
  }
  auto message = codec::decode_message(input);
  if (message) {
    for (const Entry& e : message->entries) {
      if (e.type == EntryType::kConfChange) {
        check_round_trip(e.data, codec::decode_conf_state, "raft_message conf change");
      }
    }
  }
  return 0;
}
