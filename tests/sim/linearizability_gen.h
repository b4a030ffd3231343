// Random KV histories for the linearizability checker: its tests
// (linearizability_test.cc) and `shoal-bench linearizability` time and check
// the same histories.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/sim/linearizability.h"

namespace shoal::sim {

struct GenOptions {
  int ops = 1000;
  int keys = 5;
  int clients = 8;
  int64_t max_latency = 40;  // time units either side of the effect
  double indeterminate = 0.02;
};

// Runs a sequential KV store: op i takes effect at time L_i (increasing), and
// its client's interval is stretched randomly around L_i without overlapping
// the client's previous op. Some writes become indeterminate (half of them
// took effect, half were lost); some reads time out. Every history generated
// is linearizable by construction; the same seed gives the same history.
// Keys are "k0", "k1", ...
std::vector<KvOp> generate_history(uint64_t seed, const GenOptions& opt);

// Appends, after everything else, a read of `key` returning the value of the
// first acknowledged put to it: stale for sure (the value is unique and later
// acknowledged writes overwrote it), but only a full search can tell. False
// when there is no acknowledged put to `key` (nothing appended).
bool append_stale_read(std::vector<KvOp>& h, const std::string& key);

}  // namespace shoal::sim
