// Loading an agent's whole configuration (DESIGN.md §2): the command-line
// flags, the environment, the --config YAML file and the secret files, then
// finalize(). The CLI runs it once at start; the agent runs it again on
// SIGHUP (node/agent.h) to pick up what can change live.
//
// Precedence, highest first:
//   1. flags on the command line;
//   2. $SHOAL_ENCRYPT and $SHOAL_API_TOKEN, for a secret no flag gave;
//   3. the --config file, for every key neither gave. A flag (or variable)
//      hides its whole group in the file: --encrypt-file on the command line
//      wins over `encrypt:` in the file, just as over `encrypt-file:`;
//   4. built-in defaults and finalize()'s derived values.
//
// The file takes exactly the flags' names without dashes (node/config/agent_flags.h):
//
//   name: web1
//   data-dir: /var/lib/shoal
//   bind: 10.0.0.1
//   encrypt-file: /etc/shoal/cluster.key
//   join: [10.0.0.2, 10.0.0.3]     # repeatable flags take a list (or one value)
//   attr: [zone=eu-1, storage=ssd]
//   bootstrap-expect: 3
//
// An unknown key, a value of the wrong type or a list for a single-valued
// flag is an error naming the file and the key. --encrypt-file and
// --api-token-file hold the secret alone (surrounding whitespace ignored);
// a secret file, or a config file holding a secret, that other users can read
// earns a warning (AgentConfig::warnings).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "core/status.h"
#include "node/config/agent_config.h"

namespace shoal::node {

inline constexpr std::string_view kEncryptEnv = "SHOAL_ENCRYPT";
inline constexpr std::string_view kApiTokenEnv = "SHOAL_API_TOKEN";
// Config and secret files larger than this are refused.
inline constexpr size_t kMaxConfigFileBytes = 1 << 20;

// getenv() in the agent; a map in tests.
using EnvLookup = std::function<std::optional<std::string>(std::string_view name)>;

// Step 2: takes $SHOAL_ENCRYPT / $SHOAL_API_TOKEN into `flags` where no flag
// of that group was given, and marks them explicit. Returns the names of the
// variables it took (the CLI then removes them from its environment, so that
// nothing the agent starts inherits them).
std::vector<std::string> apply_environment(AgentConfig& flags, const EnvLookup& env);

// A secret file's content without surrounding whitespace (--encrypt-file,
// --api-token-file, `shoal keyring install --key-file`). Errors name the
// file: missing, unreadable, larger than kMaxConfigFileBytes, or empty.
[[nodiscard]] Result<std::string> read_secret(const std::string& path);

// Step 3 on the text of a config file (`source` names it in errors): sets
// every key that `config` does not have explicitly and marks it explicit.
[[nodiscard]] Status apply_config_text(std::string_view text, std::string_view source,
                                       AgentConfig& config);

// Steps 3 and 4: reads flags.config_file (if any) and the secret files, then
// finalize()s. Errors are kInvalidArgument and name the file or the flag.
[[nodiscard]] Result<AgentConfig> load_agent_config(AgentConfig flags);

}  // namespace shoal::node
