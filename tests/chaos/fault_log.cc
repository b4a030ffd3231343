// Writing and reading nemesis.log.
#include "tests/chaos/fault_log.h"

#include <fstream>
#include <nlohmann/json.hpp>

namespace shoal::chaos {

using nlohmann::json;

FaultLog::FaultLog(const std::filesystem::path& file) : file_(std::fopen(file.c_str(), "ae")) {}

FaultLog::~FaultLog() {
  if (file_ != nullptr) std::fclose(file_);
}

void FaultLog::write(const std::string& line) {
  if (file_ == nullptr) return;
  std::fputs(line.c_str(), file_);
  std::fputc('\n', file_);
  std::fflush(file_);
}

void FaultLog::start(const FaultRecord& f) {
  write(json{{"t", f.start},
             {"event", "start"},
             {"kind", f.kind},
             {"targets", f.targets},
             {"leader", f.leader},
             {"targeted", f.targeted},
             {"detail", f.detail}}
            .dump());
}

void FaultLog::heal(const FaultRecord& f) {
  write(json{{"t", f.heal.value_or(0)},
             {"event", "heal"},
             {"kind", f.kind},
             {"targets", f.targets},
             {"leader", f.leader}}
            .dump());
}

void FaultLog::note(int64_t t, const std::vector<std::string>& targets, const std::string& detail) {
  write(json{{"t", t},
             {"event", "note"},
             {"kind", ""},
             {"targets", targets},
             {"leader", ""},
             {"detail", detail}}
            .dump());
}

std::vector<FaultRecord> load_faults(const std::filesystem::path& file) {
  std::vector<FaultRecord> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    const json j = json::parse(line, nullptr, false);
    if (!j.is_object() || !j.contains("event") || !j.contains("t")) continue;
    try {
      const std::string event = j["event"].get<std::string>();
      if (event == "start") {
        FaultRecord f;
        f.kind = j.at("kind").get<std::string>();
        f.targets = j.value("targets", std::vector<std::string>{});
        f.leader = j.value("leader", "");
        f.targeted = j.value("targeted", false);
        f.detail = j.value("detail", "");
        f.start = j["t"].get<int64_t>();
        out.push_back(std::move(f));
      } else if (event == "heal" && !out.empty() && !out.back().heal) {
        out.back().heal = j["t"].get<int64_t>();
      }
    } catch (const json::exception&) {
      continue;
    }
  }
  return out;
}

}  // namespace shoal::chaos
