// main() of the `shoal` binary: builds the CLI11 app from the subcommands,
// turns every parse problem into one "shoal: ..." line and exit code 2, and
// runs the chosen subcommand.
#include <CLI/CLI.hpp>
#include <cctype>
#include <cstddef>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cli/api_client.h"
#include "cli/command.h"
#include "node/host/version.h"

namespace {

using shoal::cli::Command;
using shoal::cli::fail;
using shoal::cli::kExitFailure;
using shoal::cli::kExitUsage;

// Every subcommand of app, parsed or not.
std::vector<CLI::App*> subcommands_of(CLI::App& app) {
  return app.get_subcommands([](CLI::App*) { return true; });
}

// The parsed chain of subcommands: {agent}, {kv, get}, or empty.
std::vector<CLI::App*> parsed_chain(const std::vector<std::unique_ptr<Command>>& commands) {
  std::vector<CLI::App*> chain;
  for (const auto& c : commands) {
    if (!c->app().parsed()) continue;
    CLI::App* cur = &c->app();
    while (cur != nullptr) {
      chain.push_back(cur);
      CLI::App* next = nullptr;
      for (CLI::App* sub : subcommands_of(*cur)) {
        if (sub->parsed()) next = sub;
      }
      cur = next;
    }
    break;
  }
  return chain;
}

// "shoal kv get" for a parsed subcommand chain, "shoal" otherwise.
std::string command_path(const std::vector<CLI::App*>& chain) {
  std::string path = "shoal";
  for (const CLI::App* a : chain) path += " " + a->get_name();
  return path;
}

// Adds --token to every subcommand below app that talks to the agent (all
// but `agent`, `keygen` and the offline `raft recover`); the last value given
// anywhere ends up in token.
void add_token_flags(CLI::App& app, std::optional<std::string>& token, bool top_level) {
  for (CLI::App* sub : subcommands_of(app)) {
    const std::string& name = sub->get_name();
    if (top_level && (name == "agent" || name == "keygen")) continue;
    if (!top_level && name == "recover" && app.get_name() == "raft") continue;
    sub->add_option_function<std::string>(
           "--token", [&token](const std::string& t) { token = t; },
           "API token sent to the agent (default: $SHOAL_TOKEN)")
        ->type_name("TOKEN");
    add_token_flags(*sub, token, false);
  }
}

// An argument nobody claimed: a flag we do not have, or a stray word.
int unknown_argument(const std::string& arg, const std::string& where, bool top_level) {
  const std::string hint = " (see " + where + " --help)";
  if (arg.starts_with("-")) {
    const std::string flag = arg.substr(0, arg.find('='));
    return fail(kExitUsage, "unknown flag " + flag + hint);
  }
  if (top_level) return fail(kExitUsage, "unknown command \"" + arg + "\"" + hint);
  return fail(kExitUsage, "unexpected argument \"" + arg + "\"" + hint);
}

int run(int argc, char** argv) {
  CLI::App app{"Shoal: a masterless workload orchestrator.", "shoal"};
  app.set_version_flag("--version", "shoal " + std::string(shoal::version()),
                       "Print the version and exit");
  app.require_subcommand(0, 1);
  app.allow_extras();
  app.footer("Run 'shoal COMMAND --help' for the flags of a command.");

  std::vector<std::unique_ptr<Command>> commands;
  commands.push_back(shoal::cli::add_agent_command(app));
  commands.push_back(shoal::cli::add_keygen_command(app));
  commands.push_back(shoal::cli::add_members_command(app));
  commands.push_back(shoal::cli::add_join_command(app));
  commands.push_back(shoal::cli::add_leave_command(app));
  commands.push_back(shoal::cli::add_keyring_command(app));
  commands.push_back(shoal::cli::add_status_command(app));
  commands.push_back(shoal::cli::add_kv_command(app));
  commands.push_back(shoal::cli::add_raft_command(app));
  commands.push_back(shoal::cli::add_snapshot_command(app));
  std::optional<std::string> token;
  add_token_flags(app, token, true);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version arrive as "errors" with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    std::string reason = e.what();
    // "Could not convert" -> "could not convert", but "KEY is required" stays.
    if (reason.size() > 1 && !std::isupper(static_cast<unsigned char>(reason[1]))) {
      reason[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(reason[0])));
    }
    return fail(kExitUsage, reason + " (see " + command_path(parsed_chain(commands)) + " --help)");
  }
  shoal::cli::set_token_flag(token);

  if (!app.remaining().empty()) return unknown_argument(app.remaining().front(), "shoal", true);
  const std::vector<CLI::App*> chain = parsed_chain(commands);
  for (size_t i = 0; i < chain.size(); ++i) {
    if (!chain[i]->remaining().empty()) {
      const std::vector<CLI::App*> upto(chain.begin(),
                                        chain.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      return unknown_argument(chain[i]->remaining().front(), command_path(upto), false);
    }
  }
  for (const auto& c : commands) {
    if (c->app().parsed()) return c->run();
  }
  // No subcommand: the help is the most useful answer, but it is still bad
  // usage.
  std::cerr << app.help();
  return kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    return fail(kExitFailure, std::string("internal error: ") + e.what());
  }
}
