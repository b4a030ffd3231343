#include "node/host/host_facts.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace shoal::node {
namespace {

std::string read_text(const char* path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// The value after "key:" on the first line that starts with key.
std::optional<std::string_view> field(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.starts_with(key)) continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    if (trim(line.substr(0, colon)) != key) continue;
    return trim(line.substr(colon + 1));
  }
  return std::nullopt;
}

unsigned online_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) == 0) {
    const int n = CPU_COUNT(&set);
    if (n > 0) return static_cast<unsigned>(n);
  }
  const long n = ::sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<unsigned>(n) : 1;
}

// Per-core MHz: the cpufreq maximum, else /proc/cpuinfo, else 1000.
double core_mhz() {
  const std::string max_khz = read_text("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq");
  const std::string_view digits = trim(max_khz);
  uint64_t khz = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), khz);
  if (!digits.empty() && ec == std::errc() && khz >= 1000) return static_cast<double>(khz) / 1000.0;
  if (auto mhz = parse_cpuinfo_mhz(read_text("/proc/cpuinfo")); mhz && *mhz >= 1.0) return *mhz;
  return 1000.0;
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

}  // namespace

std::optional<uint64_t> parse_meminfo_total_kb(std::string_view meminfo) {
  auto value = field(meminfo, "MemTotal");
  if (!value) return std::nullopt;
  std::string_view v = *value;
  if (v.ends_with("kB")) v = trim(v.substr(0, v.size() - 2));
  uint64_t kb = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), kb);
  if (v.empty() || ec != std::errc() || ptr != v.data() + v.size()) return std::nullopt;
  return kb;
}

std::optional<double> parse_cpuinfo_mhz(std::string_view cpuinfo) {
  auto value = field(cpuinfo, "cpu MHz");
  if (!value) return std::nullopt;
  const std::string text(*value);
  char* end = nullptr;
  const double mhz = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || *end != '\0' || !(mhz > 0)) return std::nullopt;
  return mhz;
}

HostFacts detect_host_facts() {
  HostFacts facts;
  struct utsname u {};
  if (::uname(&u) == 0) {
    facts.attrs["os"] = lower(u.sysname);
    facts.attrs["arch"] = u.machine;
    facts.attrs["kernel.version"] = u.release;
    facts.attrs["hostname"] = u.nodename;
  }
  const unsigned cores = online_cores();
  facts.attrs["cpu.cores"] = std::to_string(cores);
  facts.cpu_mhz = static_cast<uint32_t>(cores * core_mhz());
  if (auto kb = parse_meminfo_total_kb(read_text("/proc/meminfo"))) {
    facts.memory_mb = static_cast<uint32_t>(*kb / 1024);
    facts.attrs["memory.mb"] = std::to_string(facts.memory_mb);
  }
  return facts;
}

std::string first_non_loopback_address() {
  struct ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return {};
  std::string v4;
  std::string v6;
  for (const struct ifaddrs* ifa = list; ifa != nullptr; ifa = ifa->ifa_next) {
    if (ifa->ifa_addr == nullptr) continue;
    if ((ifa->ifa_flags & IFF_UP) == 0 || (ifa->ifa_flags & IFF_LOOPBACK) != 0) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (ifa->ifa_addr->sa_family == AF_INET && v4.empty()) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(ifa->ifa_addr);
      if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf) != nullptr) v4 = buf;
    } else if (ifa->ifa_addr->sa_family == AF_INET6 && v6.empty()) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(ifa->ifa_addr);
      // Link-local addresses need a scope; peers cannot use them as they are.
      if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr)) continue;
      if (::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf) != nullptr) v6 = buf;
    }
  }
  ::freeifaddrs(list);
  return v4.empty() ? v6 : v4;
}

}  // namespace shoal::node
