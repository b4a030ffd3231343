// Plain-text tables for the CLI's human output: a header row and data rows,
// columns left-aligned and separated by two spaces.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace shoal::cli {

using TableRow = std::vector<std::string>;

std::string format_table(const TableRow& header, const std::vector<TableRow>& rows);

// A field of an agent's JSON answer as table text: strings as they are,
// unsigned numbers in decimal, missing or null as "", anything else as JSON.
std::string text_of(const nlohmann::json& j, const char* key);

// Writes text to stdout; false when stdout fails (a closed pipe).
bool write_stdout(const std::string& text);

}  // namespace shoal::cli
