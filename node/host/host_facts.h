// What the agent detects about its host: the automatic node attributes
// (os, arch, kernel.version, cpu.cores, memory.mb, hostname from uname(2),
// /proc and /sys), the default schedulable resources, and the default
// advertise address. The text parsers are separate so tests can feed them
// fixed /proc contents.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace shoal::node {

struct HostFacts {
  std::map<std::string, std::string> attrs;
  uint32_t cpu_mhz = 0;    // cores x per-core MHz
  uint32_t memory_mb = 0;  // MemTotal
};

HostFacts detect_host_facts();

// The MemTotal line of /proc/meminfo, in kB.
std::optional<uint64_t> parse_meminfo_total_kb(std::string_view meminfo);
// The first "cpu MHz" line of /proc/cpuinfo.
std::optional<double> parse_cpuinfo_mhz(std::string_view cpuinfo);

// The first IPv4 (else IPv6) address of an interface that is up and not
// loopback, or empty when there is none.
std::string first_non_loopback_address();

}  // namespace shoal::node
