// The daemon behind `shoal agent`, and the one file at the top of node/: it
// wires the rooms together (docs/ARCHITECTURE.md §4). It owns the data dir
// and its lock, the node identity, the event loop on which the HTTP API,
// gossip membership (node/membership/agent_gossip.h) and the cluster control
// logic (node/cluster/agent_cluster.h) run; the RPC transport and the Raft
// host (node/consensus/) run on threads of their own.
//
// Signals: SIGINT or SIGTERM shut it down cleanly (so does POST
// /v1/agent/leave); a second one while that shutdown hangs exits at once.
// SIGHUP loads the configuration again (flags, environment, --config file,
// secret files) and applies what can change live: the log level and the API
// token; any other change is logged as "restart needed" and not applied.
#pragma once

#include <functional>
#include <memory>

#include "core/status.h"
#include "node/config/agent_config.h"

namespace shoal::node {

class Agent {
 public:
  // Loads the configuration again, for SIGHUP (node/config/agent_config_file.h
  // load_agent_config() with the original flags).
  using ConfigLoader = std::function<Result<AgentConfig>()>;

  // config must have gone through finalize(). Without a loader, SIGHUP is
  // logged and ignored.
  explicit Agent(AgentConfig config, ConfigLoader reload = {});
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
