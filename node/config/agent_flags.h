// The settings of `shoal agent`, once: every flag's name, the AgentConfig
// field it sets, its help text, and whether SIGHUP can change it without a
// restart. The CLI registers its flags from this table and the --config file
// (node/config/agent_config_file.h) accepts exactly these keys, so a setting that
// exists on the command line exists in the file under the same name, and
// nothing else does (DESIGN.md §2).
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "node/config/agent_config.h"

namespace shoal::node {

struct AgentFlag {
  using Field = std::variant<std::string AgentConfig::*, int AgentConfig::*, bool AgentConfig::*,
                             std::vector<std::string> AgentConfig::*>;

  std::string_view name;  // "data-dir": --data-dir, and `data-dir:` in the file
  Field field;
  std::string_view help;
  // SIGHUP applies a new value at once; other changes wait for a restart.
  bool live = false;
  // A secret: never logged, and a warning when given on the command line,
  // where every local user can read it in /proc/PID/cmdline.
  bool secret = false;
  // Settings that are alternatives for one thing (the cluster key, the API
  // token) share a group: a flag given on the command line hides the whole
  // group in the config file, so the flag wins however the file spells it.
  std::string_view group;
};

// Every agent flag, in the order `shoal agent --help` lists them.
std::span<const AgentFlag> agent_flags();
// nullptr when no flag has that name (without dashes).
const AgentFlag* find_agent_flag(std::string_view name);

// The setting's value as text, for comparing two configs and for logs
// (lists joined with ","; booleans "true"/"false").
std::string flag_value_text(const AgentConfig& config, const AgentFlag& flag);

}  // namespace shoal::node
