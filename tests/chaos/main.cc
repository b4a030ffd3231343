// shoal-chaos: the chaos suite for real agents (see tests/chaos/README.md).
// So far only its checks' self-test.
#include <iostream>

#include "tests/chaos/options.h"
#include "tests/chaos/self_test.h"

int main(int argc, char** argv) {
  using namespace shoal::chaos;
  auto parsed = parse_options(argc, argv);
  if (const int* rc = std::get_if<int>(&parsed)) return *rc;
  if (std::get<ChaosOptions>(parsed).self_test) return run_self_test();
  std::cerr << "shoal-chaos: only --self-test so far\n";
  return 2;
}
