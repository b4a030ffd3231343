#include <algorithm>
#include <cstdio>

#include "tests/bench/bench.h"

namespace shoal::bench {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return -1;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return v[i];
}

ResultLine& ResultLine::add(std::string_view key, std::string_view value) {
  line_ += ' ';
  line_ += key;
  line_ += '=';
  line_ += value;
  return *this;
}

ResultLine& ResultLine::add(std::string_view key, uint64_t value) {
  return add(key, std::string_view(std::to_string(value)));
}

ResultLine& ResultLine::add(std::string_view key, int64_t value) {
  return add(key, std::string_view(std::to_string(value)));
}

ResultLine& ResultLine::add(std::string_view key, double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, value);
  return add(key, std::string_view(buf));
}

void ResultLine::print() const {
  std::fputs(line_.c_str(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace shoal::bench
