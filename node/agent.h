// The daemon behind `shoal agent`: it owns the event loop, the data dir and
// its lock, the node identity, gossip membership (node/membership/agent_gossip.h), the
// cluster (node/cluster/agent_cluster.h) and the HTTP API.
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
