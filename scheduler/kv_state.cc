#include "scheduler/kv_state.h"

#include "core/fnv.h"
#include "core/msg_types.h"
#include "core/wire.h"

namespace shoal::scheduler {

namespace {

constexpr uint8_t kVersion = 1;

void pack_str(wire::Packer& p, std::string_view s) {
  p.pack_str(static_cast<uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_bin(wire::Packer& p, const std::vector<uint8_t>& b) {
  p.pack_bin(static_cast<uint32_t>(b.size()));
  p.pack_bin_body(reinterpret_cast<const char*>(b.data()), static_cast<uint32_t>(b.size()));
}

// RFC 3629 UTF-8: no overlongs, no surrogates, nothing above U+10FFFF.
bool valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<uint8_t>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    for (size_t k = 1; k <= n; ++k) {
      if (i + k >= s.size()) return false;
      const auto cc = static_cast<uint8_t>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

Status validate_command(const KvCommand& c) {
  SHOAL_RETURN_IF_ERROR(validate_key(c.key));
  if (c.value.size() > kMaxValueBytes) {
    return Status::too_large("kv: a value is at most 524288 bytes, got " +
                             std::to_string(c.value.size()));
  }
  if (c.op == KvCommand::Op::kDeleteTree && c.cas) {
    return Status::invalid_argument("kv: cas does not apply to a recursive delete");
  }
  if (c.op != KvCommand::Op::kPut && !c.value.empty()) {
    return Status::invalid_argument("kv: a delete carries no value");
  }
  return Status::ok();
}

}  // namespace

Status validate_key(std::string_view key) {
  if (key.empty()) return Status::invalid_argument("kv: the key is empty");
  if (key.size() > kMaxKeyBytes) {
    return Status::too_large("kv: a key is at most 512 bytes, got " + std::to_string(key.size()));
  }
  if (key.front() == '/') return Status::invalid_argument("kv: a key must not start with '/'");
  if (key.find('\0') != std::string_view::npos) {
    return Status::invalid_argument("kv: a key must not contain NUL");
  }
  if (!valid_utf8(key)) return Status::invalid_argument("kv: the key is not valid UTF-8");
  return Status::ok();
}

std::vector<uint8_t> encode(const KvCommand& cmd) {
  return wire::encode_envelope(MsgType::kStateKvCommand, kKvCommandVersion, [&](wire::Packer& p) {
    p.pack_array(4);
    p.pack_uint8(static_cast<uint8_t>(cmd.op));
    pack_str(p, cmd.key);
    pack_bin(p, cmd.value);
    if (cmd.cas) {
      p.pack_uint64(*cmd.cas);
    } else {
      p.pack_nil();
    }
  });
}

Result<KvCommand> decode_kv_command(std::span<const uint8_t> bytes) {
  wire::DecodeLimits lim;
  lim.max_bytes = kMaxValueBytes + kMaxKeyBytes + 64;
  lim.max_bin = kMaxValueBytes;
  lim.max_str = kMaxKeyBytes;
  lim.max_array = 8;
  lim.max_map = 0;
  lim.max_depth = 3;
  auto env = wire::decode_envelope(bytes, lim);
  if (!env) return env.status();
  if (env->type() != MsgType::kStateKvCommand) {
    return Status::decode("kv_command: wrong envelope type");
  }
  if (env->version() == 0) return Status::decode("kv_command: version 0");
  auto r = wire::FieldReader::open(env->body(), "kv_command");
  if (!r) return r.status();
  KvCommand c;
  uint8_t op = 0;
  SHOAL_RETURN_IF_ERROR(r->uint(0, op));
  if (op > static_cast<uint8_t>(KvCommand::Op::kDeleteTree)) {
    return Status::decode("kv_command field 0: unknown op " + std::to_string(op));
  }
  c.op = static_cast<KvCommand::Op>(op);
  SHOAL_RETURN_IF_ERROR(r->str(1, c.key, kMaxKeyBytes));
  SHOAL_RETURN_IF_ERROR(r->bin(2, c.value, kMaxValueBytes));
  if (!r->has(3)) return Status::decode("kv_command field 3: missing");
  if (r->at(3).type != msgpack::type::NIL) {
    uint64_t cas = 0;
    SHOAL_RETURN_IF_ERROR(r->u64(3, cas));
    c.cas = cas;
  }
  Status st = validate_command(c);
  if (!st.is_ok()) return Status::decode("kv_command: " + st.message());
  return c;
}

KvOutcome KvState::apply(uint64_t index, const KvCommand& cmd) {
  SHOAL_CHECK_MSG(index > applied_, "kv: entries applied out of order");
  applied_ = index;
  if (!validate_command(cmd).is_ok()) return KvOutcome::kInvalid;
  switch (cmd.op) {
    case KvCommand::Op::kPut: {
      auto it = entries_.find(cmd.key);
      if (cmd.cas) {
        const bool holds = *cmd.cas == 0
                               ? it == entries_.end()
                               : it != entries_.end() && it->second.modify_index == *cmd.cas;
        if (!holds) return KvOutcome::kCasFailed;
      }
      if (it == entries_.end()) {
        entries_.emplace(cmd.key, Value{cmd.value, index, index});
      } else {
        it->second.value = cmd.value;
        it->second.modify_index = index;
      }
      index_ = index;
      return KvOutcome::kApplied;
    }
    case KvCommand::Op::kDelete: {
      auto it = entries_.find(cmd.key);
      if (cmd.cas && (it == entries_.end() || it->second.modify_index != *cmd.cas)) {
        return KvOutcome::kCasFailed;
      }
      if (it == entries_.end()) return KvOutcome::kNotFound;
      entries_.erase(it);
      index_ = index;
      return KvOutcome::kApplied;
    }
    case KvCommand::Op::kDeleteTree: {
      auto it = entries_.lower_bound(cmd.key);
      bool any = false;
      while (it != entries_.end() && it->first.starts_with(cmd.key)) {
        it = entries_.erase(it);
        any = true;
      }
      if (!any) return KvOutcome::kNotFound;
      index_ = index;
      return KvOutcome::kApplied;
    }
  }
  return KvOutcome::kInvalid;
}

KvOutcome KvState::apply_bytes(uint64_t index, std::span<const uint8_t> bytes) {
  auto cmd = decode_kv_command(bytes);
  if (!cmd) {
    SHOAL_CHECK_MSG(index > applied_, "kv: entries applied out of order");
    applied_ = index;
    return KvOutcome::kInvalid;
  }
  return apply(index, *cmd);
}

std::optional<KvEntry> KvState::get(std::string_view key) const {
  auto it = entries_.find(key);
  if (it == entries_.end()) return std::nullopt;
  return KvEntry{it->first, it->second.value, it->second.create_index, it->second.modify_index};
}

std::vector<KvEntry> KvState::list(std::string_view prefix, size_t limit) const {
  std::vector<KvEntry> out;
  for (auto it = entries_.lower_bound(prefix);
       it != entries_.end() && it->first.starts_with(prefix) && out.size() < limit; ++it) {
    out.push_back(
        KvEntry{it->first, it->second.value, it->second.create_index, it->second.modify_index});
  }
  return out;
}

std::vector<uint8_t> KvState::snapshot() const {
  return wire::encode_envelope(MsgType::kStateKvSnapshot, kVersion, [&](wire::Packer& p) {
    p.pack_array(3);
    p.pack_uint64(index_);
    p.pack_uint64(applied_);
    p.pack_array(static_cast<uint32_t>(entries_.size()));
    for (const auto& [k, v] : entries_) {
      p.pack_array(4);
      pack_str(p, k);
      pack_bin(p, v.value);
      p.pack_uint64(v.create_index);
      p.pack_uint64(v.modify_index);
    }
  });
}

Result<KvState> KvState::restore(std::span<const uint8_t> bytes) {
  wire::DecodeLimits lim;
  lim.max_bytes = bytes.size();
  lim.max_bin = kMaxValueBytes;
  lim.max_str = kMaxKeyBytes;
  lim.max_array = 1u << 26;
  lim.max_map = 0;
  lim.max_depth = 4;
  auto env = wire::decode_envelope(bytes, lim);
  if (!env) return env.status();
  if (env->type() != MsgType::kStateKvSnapshot) {
    return Status::decode("kv_snapshot: wrong envelope type");
  }
  auto r = wire::FieldReader::open(env->body(), "kv_snapshot");
  if (!r) return r.status();
  KvState s;
  SHOAL_RETURN_IF_ERROR(r->u64(0, s.index_));
  SHOAL_RETURN_IF_ERROR(r->u64(1, s.applied_));
  wire::FieldReader list;
  SHOAL_RETURN_IF_ERROR(r->array(2, list, "kv_snapshot entries"));
  std::string prev;
  for (size_t i = 0; i < list.size(); ++i) {
    wire::FieldReader e;
    SHOAL_RETURN_IF_ERROR(list.array(i, e, "kv_snapshot entry"));
    std::string key;
    Value v;
    SHOAL_RETURN_IF_ERROR(e.str(0, key, kMaxKeyBytes));
    SHOAL_RETURN_IF_ERROR(e.bin(1, v.value, kMaxValueBytes));
    SHOAL_RETURN_IF_ERROR(e.u64(2, v.create_index));
    SHOAL_RETURN_IF_ERROR(e.u64(3, v.modify_index));
    if (!validate_key(key).is_ok() || (i > 0 && key <= prev) || v.create_index > v.modify_index ||
        v.modify_index > s.index_) {
      return Status::decode("kv_snapshot entry " + std::to_string(i) + ": inconsistent");
    }
    prev = key;
    s.entries_.emplace_hint(s.entries_.end(), std::move(key), std::move(v));
  }
  if (s.index_ > s.applied_) return Status::decode("kv_snapshot: index beyond applied");
  return s;
}

uint64_t KvState::hash() const {
  Fnv1a h;
  h.u64(index_);
  for (const auto& [k, v] : entries_) {
    h.str(k);
    h.bin(v.value);
    h.u64(v.create_index);
    h.u64(v.modify_index);
  }
  return h.value();
}

}  // namespace shoal::scheduler
