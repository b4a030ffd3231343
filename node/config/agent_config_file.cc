#include "node/config/agent_config_file.h"

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <filesystem>
#include <set>
#include <system_error>

#include "node/config/agent_flags.h"
#include "node/host/atomic_file.h"

namespace shoal::node {
namespace {

Status file_error(std::string_view source, std::string_view message) {
  return Status::invalid_argument("config " + std::string(source) + ": " + std::string(message));
}

// A key the command line (or environment) already settled: itself, or any
// member of its group.
bool settled(const AgentConfig& config, const AgentFlag& flag) {
  if (config.is_explicit(flag.name)) return true;
  if (flag.group.empty()) return false;
  for (const AgentFlag& f : agent_flags()) {
    if (f.group == flag.group && config.is_explicit(f.name)) return true;
  }
  return false;
}

std::string yaml_where(const YAML::Node& node) {
  const YAML::Mark mark = node.Mark();
  return mark.line >= 0 ? " (line " + std::to_string(mark.line + 1) + ")" : std::string();
}

// One YAML value into the field `flag` names.
Status set_from_yaml(AgentConfig& config, const AgentFlag& flag, const YAML::Node& value,
                     std::string_view source) {
  const std::string key(flag.name);
  auto bad = [&](std::string_view what) {
    return file_error(source, key + ": " + std::string(what) + yaml_where(value));
  };
  if (auto* list = std::get_if<std::vector<std::string> AgentConfig::*>(&flag.field)) {
    std::vector<std::string> items;
    if (value.IsScalar()) {
      items.push_back(value.Scalar());
    } else if (value.IsSequence()) {
      for (const auto& item : value) {
        if (!item.IsScalar()) return bad("must be a list of strings");
        items.push_back(item.Scalar());
      }
    } else {
      return bad("must be a string or a list of strings");
    }
    config.*(*list) = std::move(items);
    return Status::ok();
  }
  if (!value.IsScalar()) return bad("must be a single value, not a list or a map");
  const std::string& text = value.Scalar();
  if (auto* str = std::get_if<std::string AgentConfig::*>(&flag.field)) {
    config.*(*str) = text;
  } else if (auto* num = std::get_if<int AgentConfig::*>(&flag.field)) {
    int n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size()) {
      return bad("\"" + text + "\" is not an integer");
    }
    config.*(*num) = n;
  } else if (auto* flag_bool = std::get_if<bool AgentConfig::*>(&flag.field)) {
    if (text == "true" || text == "yes" || text == "on") {
      config.*(*flag_bool) = true;
    } else if (text == "false" || text == "no" || text == "off") {
      config.*(*flag_bool) = false;
    } else {
      return bad("\"" + text + "\" is not true or false");
    }
  }
  return Status::ok();
}

bool readable_by_others(const std::filesystem::path& path) {
  std::error_code ec;
  const auto perms = std::filesystem::status(path, ec).permissions();
  if (ec) return false;
  using P = std::filesystem::perms;
  return (perms & (P::group_read | P::others_read)) != P::none;
}

// --encrypt-file / --api-token-file: read_secret() into `target`, with
// errors naming the flag and a warning when others can read the file.
Status read_secret_file(AgentConfig& config, std::string_view flag, const std::string& path,
                        std::string& target) {
  auto secret = read_secret(path);
  if (!secret.is_ok()) {
    return Status::invalid_argument("--" + std::string(flag) + ": " + secret.status().message());
  }
  target = std::move(secret).value();
  if (readable_by_others(path)) {
    config.warnings.push_back(path + " (" + std::string(flag) +
                              ") is readable by other users; chmod 600 it");
  }
  return Status::ok();
}

}  // namespace

Result<std::string> read_secret(const std::string& path) {
  auto text = read_small_file(path, kMaxConfigFileBytes);
  if (!text.is_ok()) return text.status();
  if (!text->has_value()) return Status::invalid_argument(path + " does not exist");
  const std::string& s = **text;
  const size_t begin = s.find_first_not_of(" \t\r\n");
  if (begin == std::string::npos) return Status::invalid_argument(path + " is empty");
  const size_t end = s.find_last_not_of(" \t\r\n");
  return s.substr(begin, end - begin + 1);
}

std::vector<std::string> apply_environment(AgentConfig& flags, const EnvLookup& env) {
  std::vector<std::string> taken;
  auto take = [&](std::string_view var, std::string_view key, std::string AgentConfig::*field) {
    auto value = env(var);
    if (!value || value->empty()) return;
    taken.emplace_back(var);
    if (settled(flags, *find_agent_flag(key))) return;
    flags.*field = *value;
    flags.mark_explicit(std::string(key));
  };
  take(kEncryptEnv, "encrypt", &AgentConfig::encrypt);
  take(kApiTokenEnv, "api-token", &AgentConfig::api_token);
  return taken;
}

Status apply_config_text(std::string_view text, std::string_view source, AgentConfig& config) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return file_error(
        source, "not valid YAML: " + e.msg + " (line " + std::to_string(e.mark.line + 1) + ")");
  }
  if (root.IsNull()) return Status::ok();  // an empty file
  if (!root.IsMap()) return file_error(source, "must be a map of settings (key: value)");
  // Keys first, so that a typo is reported even if it comes after a key the
  // command line overrides.
  std::vector<std::pair<const AgentFlag*, YAML::Node>> items;
  std::set<std::string, std::less<>> seen;
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) return file_error(source, "keys must be strings");
    const std::string key = kv.first.Scalar();
    if (key == "config") return file_error(source, "config: a config file cannot name another");
    const AgentFlag* flag = find_agent_flag(key);
    if (flag == nullptr) {
      return file_error(source, "unknown key \"" + key + "\"" + yaml_where(kv.first) +
                                    " (keys are the agent's flags without dashes, e.g. data-dir)");
    }
    if (!seen.insert(key).second) return file_error(source, key + ": given twice");
    items.emplace_back(flag, kv.second);
  }
  std::vector<std::string> set_here;
  for (const auto& [flag, value] : items) {
    if (settled(config, *flag)) continue;
    SHOAL_RETURN_IF_ERROR(set_from_yaml(config, *flag, value, source));
    set_here.emplace_back(flag->name);
  }
  for (auto& key : set_here) config.mark_explicit(std::move(key));
  return Status::ok();
}

Result<AgentConfig> load_agent_config(AgentConfig flags) {
  if (flags.is_explicit("config") && flags.config_file.empty()) {
    return Status::invalid_argument("--config: must not be empty");
  }
  if (!flags.config_file.empty()) {
    const std::string& path = flags.config_file;
    auto text = read_small_file(path, kMaxConfigFileBytes);
    if (!text.is_ok()) return Status::invalid_argument("--config: " + text.status().message());
    if (!text->has_value())
      return Status::invalid_argument("--config: " + path + " does not exist");
    SHOAL_RETURN_IF_ERROR(apply_config_text(**text, path, flags));
    const bool holds_secret = (flags.is_explicit("encrypt") && !flags.encrypt.empty()) ||
                              (flags.is_explicit("api-token") && !flags.api_token.empty());
    if (holds_secret && readable_by_others(path)) {
      flags.warnings.push_back(path +
                               " holds a secret and is readable by other users; chmod 600 it");
    }
  }

  // One source per secret.
  for (std::string_view group : {"key", "token"}) {
    std::vector<std::string> given;
    for (const AgentFlag& f : agent_flags()) {
      if (f.group == group && !flag_value_text(flags, f).empty()) {
        given.push_back("--" + std::string(f.name));
      }
    }
    if (given.size() > 1) {
      std::string names;
      for (const auto& g : given) names += (names.empty() ? "" : " and ") + g;
      return Status::invalid_argument(names + " are alternatives; give one");
    }
  }
  if (!flags.encrypt_file.empty()) {
    SHOAL_RETURN_IF_ERROR(
        read_secret_file(flags, "encrypt-file", flags.encrypt_file, flags.encrypt));
    flags.mark_explicit("encrypt");
  }
  if (!flags.api_token_file.empty()) {
    SHOAL_RETURN_IF_ERROR(
        read_secret_file(flags, "api-token-file", flags.api_token_file, flags.api_token));
    flags.mark_explicit("api-token");
  }
  return finalize(std::move(flags));
}

}  // namespace shoal::node
