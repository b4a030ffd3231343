// `shoal keygen`: prints a new random cluster key, base64 of 32 bytes, as one
// line, for --encrypt and `shoal keyring install`.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <string>

#include "cli/command.h"
#include "core/crypto.h"

namespace shoal::cli {
namespace {

class KeygenCommand final : public Command {
 public:
  explicit KeygenCommand(CLI::App& shoal)
      : app_(shoal.add_subcommand(
            "keygen", "Print a new random cluster key (base64, 32 bytes) for --encrypt")) {
    app_->allow_extras();
  }

  CLI::App& app() override { return *app_; }

  int run() override {
    crypto::init();
    const std::string line = crypto::ClusterKey::generate().to_base64() + "\n";
    if (std::fputs(line.c_str(), stdout) < 0 || std::fflush(stdout) != 0) {
      return fail(kExitFailure, "cannot write the key to stdout");
    }
    return kExitOk;
  }

 private:
  CLI::App* app_;
};

}  // namespace

std::unique_ptr<Command> add_keygen_command(CLI::App& shoal) {
  return std::make_unique<KeygenCommand>(shoal);
}

}  // namespace shoal::cli
