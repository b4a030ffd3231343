// The Prometheus text exposition format (version 0.0.4) for GET /v1/metrics:
// one "# HELP" and "# TYPE" header per metric family, then its samples.
//
//   MetricsText m;
//   m.family("shoal_gossip_packets_rejected_total", "counter", "Packets dropped");
//   m.sample("shoal_gossip_packets_rejected_total", {{"reason", "auth"}}, 3);
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shoal::node {

inline constexpr std::string_view kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

class MetricsText {
 public:
  // type: "counter" or "gauge".
  void family(std::string_view name, std::string_view type, std::string_view help);
  void sample(std::string_view name, const MetricLabels& labels, double value);
  void sample(std::string_view name, double value) { sample(name, {}, value); }

  // A family with a single unlabelled sample.
  void counter(std::string_view name, std::string_view help, double value);
  void gauge(std::string_view name, std::string_view help, double value);

  const std::string& text() const { return out_; }

 private:
  std::string out_;
};

// Label values escape '\\', '"' and newlines; HELP text escapes '\\' and newlines.
std::string escape_label_value(std::string_view value);

}  // namespace shoal::node
