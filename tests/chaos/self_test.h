// shoal-chaos --self-test: proves the run's checks can fail. Hand-made
// histories (a stale read, a double-applied compare-and-set, a failed write
// that took effect, lost writes, an outage around a leader kill) go through
// the same check functions as a real run and must be flagged; a correct
// history with unknown writes must pass; history lines must survive a round
// trip through JSON.
#pragma once

namespace shoal::chaos {

// Prints one line per case; 0 when every case behaved, 1 otherwise.
int run_self_test();

}  // namespace shoal::chaos
