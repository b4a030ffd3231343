// shoal-chaos: the chaos suite for real agents (see tests/chaos/README.md).
// tests/chaos/run.sh finds the binary in the build and passes its arguments.
#include <iostream>

#include "tests/chaos/options.h"
#include "tests/chaos/runner.h"
#include "tests/chaos/self_test.h"

int main(int argc, char** argv) {
  using namespace shoal::chaos;
  auto parsed = parse_options(argc, argv);
  if (const int* rc = std::get_if<int>(&parsed)) return *rc;
  const ChaosOptions& options = std::get<ChaosOptions>(parsed);
  try {
    if (options.self_test) return run_self_test();
    if (options.check_only) return check_only(options);
    return run_chaos(options);
  } catch (const std::exception& e) {
    std::cerr << "shoal-chaos: " << e.what() << "\n";
    return 1;
  }
}
