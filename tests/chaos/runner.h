// One chaos run from start to verdict: form the cluster, run clients and the
// nemesis for --minutes, heal, read every key, stop the agents, check, and
// report (stdout and <out>/summary.txt). Also the re-check of a kept run dir.
#pragma once

#include "tests/chaos/options.h"

namespace shoal::chaos {

// The process exit code: 0 when the run passed (or, with
// --expect-violation, when the injected fault was detected), 1 otherwise.
int run_chaos(const ChaosOptions& options);
// --check-only DIR: the checks on DIR/history.jsonl and DIR/nemesis.log.
int check_only(const ChaosOptions& options);

}  // namespace shoal::chaos
