// Network partitions between agents with iptables. The suite's rules live in
// a chain of their own, SHOAL_CHAOS, jumped to from the top of INPUT; a
// partition is one DROP rule per ordered pair of addresses across the cut
// (any protocol: gossip is UDP and TCP, RPC is TCP). Loopback traffic passes
// INPUT too, and agents dial from their own bound address, so the rules
// match; clients connect from 127.0.0.1 and are never cut off.
//
// Every run first removes a chain left behind by a crashed run; the chain and
// its jump are removed again at exit (tests/chaos/run.sh does it once more in
// a trap, in case the tool itself is killed).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace shoal::chaos {

inline constexpr const char* kChainName = "SHOAL_CHAOS";

class Firewall {
 public:
  // Commands and their errors are appended to log_file.
  explicit Firewall(std::filesystem::path log_file);
  Firewall(const Firewall&) = delete;
  Firewall& operator=(const Firewall&) = delete;
  ~Firewall();

  // Removes a leftover chain and jump (quietly; nothing there is fine).
  void remove_leftovers();
  // Creates the chain and the jump; false (with the reason) if iptables is
  // missing or refuses.
  bool install(std::string* why);
  // Drops every packet between the two sides, both ways.
  bool cut(const std::vector<std::string>& side_a, const std::vector<std::string>& side_b);
  // Removes every partition rule.
  bool heal();
  // Removes the chain and its jump (also done by the destructor).
  void uninstall();

 private:
  std::filesystem::path log_file_;
  std::string binary_;
  bool installed_ = false;
};

}  // namespace shoal::chaos
