// main() of the `shoal` binary: builds the CLI11 app from the subcommands,
// turns every parse problem into one "shoal: ..." line and exit code 2, and
// runs the chosen subcommand.
#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/command.h"
#include "node/version.h"

namespace {

using shoal::cli::Command;
using shoal::cli::fail;
using shoal::cli::kExitFailure;
using shoal::cli::kExitUsage;

// "shoal agent" for a parsed subcommand, "shoal" otherwise.
std::string command_path(const std::vector<std::unique_ptr<Command>>& commands) {
  for (const auto& c : commands) {
    if (c->app().parsed()) return "shoal " + c->app().get_name();
  }
  return "shoal";
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
    return fail(kExitUsage, reason + " (see " + command_path(commands) + " --help)");
  }

  if (!app.remaining().empty()) return unknown_argument(app.remaining().front(), "shoal", true);
  for (const auto& c : commands) {
    if (!c->app().parsed()) continue;
    if (!c->app().remaining().empty()) {
      return unknown_argument(c->app().remaining().front(), "shoal " + c->app().get_name(), false);
    }
    return c->run();
  }
  // No subcommand: the help is the most useful answer, but it is still bad usage.
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
