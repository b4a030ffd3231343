#include "cli/command.h"

#include <cstdio>
#include <string>

namespace shoal::cli {

int fail(int exit_code, std::string_view message) {
  std::string line = "shoal: ";
  for (char c : message) line += (c == '\n' || c == '\r') ? ' ' : c;
  while (line.back() == ' ') line.pop_back();
  line += '\n';
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
  return exit_code;
}

}  // namespace shoal::cli
