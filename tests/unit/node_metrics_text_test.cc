#include <gtest/gtest.h>

#include "node/http/metrics_text.h"

namespace shoal::node {
namespace {

TEST(MetricsTextTest, WritesFamiliesAndSamples) {
  MetricsText m;
  m.family("shoal_gossip_packets_rejected_total", "counter", "Dropped packets");
  m.sample("shoal_gossip_packets_rejected_total", {{"reason", "auth"}}, 3);
  m.sample("shoal_gossip_packets_rejected_total", {{"reason", "replay"}}, 0);
  m.gauge("shoal_gossip_health_score", "Lifeguard score", 2);
  m.counter("shoal_x_total", "Big", 12345678901234.0);
  m.gauge("shoal_ratio", "A ratio", 0.25);
  m.sample("shoal_multi", {{"a", "1"}, {"b", "2"}}, 1);
  EXPECT_EQ(m.text(),
            "# HELP shoal_gossip_packets_rejected_total Dropped packets\n"
            "# TYPE shoal_gossip_packets_rejected_total counter\n"
            "shoal_gossip_packets_rejected_total{reason=\"auth\"} 3\n"
            "shoal_gossip_packets_rejected_total{reason=\"replay\"} 0\n"
            "# HELP shoal_gossip_health_score Lifeguard score\n"
            "# TYPE shoal_gossip_health_score gauge\n"
            "shoal_gossip_health_score 2\n"
            "# HELP shoal_x_total Big\n"
            "# TYPE shoal_x_total counter\n"
            "shoal_x_total 12345678901234\n"
            "# HELP shoal_ratio A ratio\n"
            "# TYPE shoal_ratio gauge\n"
            "shoal_ratio 0.25\n"
            "shoal_multi{a=\"1\",b=\"2\"} 1\n");
}

TEST(MetricsTextTest, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(escape_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  MetricsText m;
  m.family("x", "gauge", "line one\nback\\slash");
  m.sample("x", {{"name", "q\"uote"}}, 1);
  EXPECT_EQ(m.text(),
            "# HELP x line one\\nback\\\\slash\n# TYPE x gauge\nx{name=\"q\\\"uote\"} 1\n");
}

}  // namespace
}  // namespace shoal::node
