#include "tests/sim/raft_kv_machine.h"

#include <cstddef>

#include "core/status.h"

namespace shoal::sim::raft_sim {
namespace {

enum CmdOp : uint8_t { kCmdPut = 1, kCmdDelete = 2 };

std::vector<uint8_t> encode_cmd(CmdOp op, const std::string& key, const std::string& value) {
  SHOAL_CHECK(key.size() < 256);
  std::vector<uint8_t> out;
  out.push_back(op);
  out.push_back(static_cast<uint8_t>(key.size()));
  out.insert(out.end(), key.begin(), key.end());
  out.insert(out.end(), value.begin(), value.end());
  return out;
}

void put_u32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

uint32_t get_u32(const std::vector<uint8_t>& in, size_t& at) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(in.at(at++)) << (8 * i);
  return v;
}

std::string get_string(const std::vector<uint8_t>& in, size_t& at) {
  const uint32_t n = get_u32(in, at);
  SHOAL_CHECK(at + n <= in.size());
  std::string s(in.begin() + static_cast<std::ptrdiff_t>(at),
                in.begin() + static_cast<std::ptrdiff_t>(at + n));
  at += n;
  return s;
}

}  // namespace

std::vector<uint8_t> KvMachine::put_command(const std::string& key, const std::string& value) {
  return encode_cmd(kCmdPut, key, value);
}

std::vector<uint8_t> KvMachine::delete_command(const std::string& key) {
  return encode_cmd(kCmdDelete, key, "");
}

void KvMachine::apply(const raft::Entry& e) {
  if (hooks_.on_apply) hooks_.on_apply(e);
  applied_ = e.index;
  if (e.type != raft::EntryType::kNormal) return;
  const std::vector<uint8_t>& d = e.data;
  SHOAL_CHECK(d.size() >= 2 && d.size() >= 2u + d[1]);
  std::string key(d.begin() + 2, d.begin() + 2 + d[1]);
  if (d[0] == kCmdPut) {
    kv_[key] = std::string(d.begin() + 2 + d[1], d.end());
  } else {
    kv_.erase(key);
  }
}

std::vector<uint8_t> KvMachine::snapshot() {
  std::vector<uint8_t> out;
  put_u32(out, static_cast<uint32_t>(kv_.size()));
  for (const auto& kv : kv_) {
    put_u32(out, static_cast<uint32_t>(kv.first.size()));
    out.insert(out.end(), kv.first.begin(), kv.first.end());
    put_u32(out, static_cast<uint32_t>(kv.second.size()));
    out.insert(out.end(), kv.second.begin(), kv.second.end());
  }
  return out;
}

void KvMachine::restore(const raft::Snapshot& snap) {
  if (hooks_.on_restore) hooks_.on_restore(snap);
  kv_.clear();
  applied_ = snap.meta.index;
  const std::vector<uint8_t>& in = snap.data;
  if (in.empty()) return;
  size_t at = 0;
  const uint32_t n = get_u32(in, at);
  for (uint32_t i = 0; i < n; ++i) {
    std::string k = get_string(in, at);
    kv_.emplace(std::move(k), get_string(in, at));
  }
}

std::optional<std::string> KvMachine::get(const std::string& key) const {
  auto it = kv_.find(key);
  if (it == kv_.end()) return std::nullopt;
  return it->second;
}

}  // namespace shoal::sim::raft_sim
