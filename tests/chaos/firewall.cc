// iptables commands for SHOAL_CHAOS, run with -w (wait for the xtables lock).
#include "tests/chaos/firewall.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <sstream>

#include "tests/chaos/child_process.h"

namespace shoal::chaos {

namespace {

using namespace std::chrono_literals;

// iptables on PATH, or in the usual sbin directories (PATH may lack them).
std::string find_iptables() {
  std::vector<std::string> dirs;
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe): read before threads
  std::istringstream in(path != nullptr ? path : "");
  for (std::string d; std::getline(in, d, ':');) {
    if (!d.empty()) dirs.push_back(d);
  }
  dirs.insert(dirs.end(), {"/usr/sbin", "/sbin", "/usr/local/sbin"});
  for (const auto& d : dirs) {
    const std::string p = d + "/iptables";
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

}  // namespace

Firewall::Firewall(std::filesystem::path log_file)
    : log_file_(std::move(log_file)), binary_(find_iptables()) {}

Firewall::~Firewall() { uninstall(); }

void Firewall::remove_leftovers() {
  if (binary_.empty()) return;
  // A crashed run may have left more than one jump.
  for (int i = 0; i < 10; ++i) {
    std::vector<std::string> argv{binary_, "-w", "5", "-D", "INPUT", "-j", kChainName};
    if (run_command(argv, "/dev/null", 15s).code != 0) break;
  }
  (void)run_command({binary_, "-w", "5", "-F", kChainName}, "/dev/null", 15s);
  (void)run_command({binary_, "-w", "5", "-X", kChainName}, "/dev/null", 15s);
}

bool Firewall::install(std::string* why) {
  if (binary_.empty()) {
    *why = "iptables not found (install it: deploy/setup.sh); partitions need it";
    return false;
  }
  remove_leftovers();
  if (run_command({binary_, "-w", "5", "-N", kChainName}, log_file_, 15s).code != 0 ||
      run_command({binary_, "-w", "5", "-I", "INPUT", "1", "-j", kChainName}, log_file_, 15s)
              .code != 0) {
    *why = "iptables could not create the " + std::string(kChainName) + " chain (see " +
           log_file_.string() + "; partitions need root)";
    remove_leftovers();
    return false;
  }
  installed_ = true;
  return true;
}

bool Firewall::cut(const std::vector<std::string>& side_a, const std::vector<std::string>& side_b) {
  bool ok = installed_;
  for (const auto& a : side_a) {
    for (const auto& b : side_b) {
      for (const auto& [src, dst] : {std::pair{a, b}, std::pair{b, a}}) {
        ok = run_command({binary_, "-w", "5", "-A", kChainName, "-s", src, "-d", dst, "-j", "DROP"},
                         log_file_, 15s)
                     .code == 0 &&
             ok;
      }
    }
  }
  return ok;
}

bool Firewall::heal() {
  if (!installed_) return true;
  return run_command({binary_, "-w", "5", "-F", kChainName}, log_file_, 15s).code == 0;
}

void Firewall::uninstall() {
  if (!installed_) return;
  installed_ = false;
  remove_leftovers();
}

}  // namespace shoal::chaos
