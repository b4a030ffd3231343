// The daemon behind `shoal agent`: it owns the event loop, the data dir and
// its lock, the node identity, gossip membership (node/agent_gossip.h) and
// the HTTP API, and shuts down cleanly on SIGINT or SIGTERM (or after POST
// /v1/agent/leave). Raft, the scheduler and DNS join it in later issues.
// Everything runs on one thread.
#pragma once

#include <memory>

#include "core/status.h"
#include "node/agent_config.h"

namespace shoal::node {

class Agent {
 public:
  // config must have gone through finalize().
  explicit Agent(AgentConfig config);
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;
  ~Agent();

  // Prepares the data dir (a temporary one with --dev, removed again before
  // returning), loads the identity, starts serving, and runs until stop() or
  // a signal. Returns an error if startup fails; ok after a clean shutdown.
  // Call it once.
  [[nodiscard]] Status run();

  // Asks run() to shut down; safe from any thread, and before run() starts.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal::node
