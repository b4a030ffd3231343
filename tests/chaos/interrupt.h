// SIGINT and SIGTERM of the chaos tool: the handler only raises a flag; the
// main thread notices it between steps, heals the cluster, stops the agents
// and removes the firewall chain before it exits.
#pragma once

#include <atomic>
#include <chrono>

namespace shoal::chaos {

void install_interrupt_handlers();
bool interrupted();
// Sleeps until the deadline, waking early (false) when interrupted.
bool sleep_until(std::chrono::steady_clock::time_point deadline);
bool sleep_for(std::chrono::milliseconds d);

}  // namespace shoal::chaos
