// RocksLogStore: see rocksdb_log_store.h for the key layout and the
// durability contract.
#include "raft/rocksdb_log_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/slice.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <utility>

#include "raft/codec.h"

namespace shoal::raft {
namespace {

constexpr char kEntryTag = 0x01;
constexpr char kHardStateTag = 0x02;
constexpr char kSnapMetaTag = 0x03;
constexpr char kSnapDataTag = 0x04;
constexpr char kLogStartTag = 0x05;

constexpr size_t kEntryKeySize = 9;
using EntryKey = std::array<char, kEntryKeySize>;

void put_be64(char* out, uint64_t v) {
  for (int k = 7; k >= 0; --k) {
    out[k] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

uint64_t get_be64(const char* in) {
  uint64_t v = 0;
  for (int k = 0; k < 8; ++k) v = (v << 8) | static_cast<uint8_t>(in[k]);
  return v;
}

EntryKey entry_key(uint64_t i) {
  EntryKey k;
  k[0] = kEntryTag;
  put_be64(k.data() + 1, i);
  return k;
}

rocksdb::Slice as_slice(const EntryKey& k) { return {k.data(), k.size()}; }
rocksdb::Slice as_slice(const std::vector<uint8_t>& v) {
  return {reinterpret_cast<const char*>(v.data()), v.size()};
}
std::span<const uint8_t> as_bytes(const rocksdb::Slice& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

const rocksdb::Slice kHardStateKey(&kHardStateTag, 1);
const rocksdb::Slice kSnapMetaKey(&kSnapMetaTag, 1);
const rocksdb::Slice kSnapDataKey(&kSnapDataTag, 1);
const rocksdb::Slice kLogStartKey(&kLogStartTag, 1);

std::string encode_log_start(Index i, Term t) {
  std::string v(16, '\0');
  put_be64(v.data(), i.value());
  put_be64(v.data() + 8, t.value());
  return v;
}

Status from_rocks(const rocksdb::Status& s, const std::string& what) {
  std::string m = "raft log: " + what + ": " + s.ToString();
  if (s.IsNotFound()) return Status::not_found(std::move(m));
  if (s.IsCorruption()) return Status::decode(std::move(m));
  if (s.IsInvalidArgument()) return Status::invalid_argument(std::move(m));
  return Status::io_error(std::move(m));
}

Status decode_error(const std::string& what, const Status& inner) {
  return Status::decode("raft log: stored " + what + " does not decode: " + inner.to_string());
}

}  // namespace

RocksLogStore::RocksLogStore(std::unique_ptr<rocksdb::DB> db, std::shared_ptr<rocksdb::Env> env,
                             bool skip_sync)
    : env_(std::move(env)), db_(std::move(db)), skip_sync_(skip_sync) {}

RocksLogStore::~RocksLogStore() {
  if (db_) db_->Close().PermitUncheckedError();
}

Result<std::unique_ptr<RocksLogStore>> RocksLogStore::open(const std::string& dir,
                                                           const RocksLogStoreOptions& options) {
  rocksdb::Options o;
  o.create_if_missing = options.create_if_missing;
  o.env = options.env ? options.env.get() : rocksdb::Env::Default();
  // A log workload: sequential keys, small values, short-lived entries. The
  // WAL stays on and is flushed to the file on every write; sync is per
  // write (WriteOptions::sync).
  o.manual_wal_flush = false;
  o.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  o.compression = rocksdb::kNoCompression;
  o.write_buffer_size = 8u << 20;
  o.max_write_buffer_number = 2;
  o.recycle_log_file_num = 0;
  o.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  o.keep_log_file_num = 2;

  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(o, dir, &raw);
  if (!s.ok()) return from_rocks(s, "open " + dir);
  std::unique_ptr<RocksLogStore> store(
      new RocksLogStore(std::unique_ptr<rocksdb::DB>(raw), options.env, options.skip_sync));
  SHOAL_RETURN_IF_ERROR(store->recover());
  return store;
}

Status RocksLogStore::recover() {
  const rocksdb::ReadOptions ro;
  std::string v;

  rocksdb::Status s = db_->Get(ro, kHardStateKey, &v);
  if (s.ok()) {
    Result<HardState> hs = codec::decode_hard_state(as_bytes(v));
    if (!hs.is_ok()) return decode_error("hard state", hs.status());
    hs_ = *hs;
  } else if (!s.IsNotFound()) {
    return from_rocks(s, "read hard state");
  }

  s = db_->Get(ro, kLogStartKey, &v);
  if (s.ok()) {
    if (v.size() != 16) return Status::decode("raft log: stored log start is not 16 bytes");
    start_index_ = Index(get_be64(v.data()));
    start_term_ = Term(get_be64(v.data() + 8));
  } else if (!s.IsNotFound()) {
    return from_rocks(s, "read log start");
  }

  s = db_->Get(ro, kSnapMetaKey, &v);
  if (s.ok()) {
    Result<SnapshotMeta> meta = codec::decode_snapshot_meta(as_bytes(v));
    if (!meta.is_ok()) return decode_error("snapshot meta", meta.status());
    snap_index_ = meta->index;
  } else if (!s.IsNotFound()) {
    return from_rocks(s, "read snapshot meta");
  }
  if (start_index_ > snap_index_) {
    return Status::decode("raft log: log start " + to_string(start_index_) +
                          " is past the snapshot at " + to_string(snap_index_));
  }

  last_index_ = start_index_;
  last_term_ = start_term_;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  const EntryKey lo = entry_key(0);
  it->Seek(as_slice(lo));
  if (it->Valid() && it->key().size() > 0 && it->key()[0] == kEntryTag) {
    if (it->key().size() != kEntryKeySize) return Status::decode("raft log: malformed entry key");
    const Index first(get_be64(it->key().data() + 1));
    if (first != start_index_ + 1) {
      return Status::decode("raft log: first stored entry " + to_string(first) +
                            " does not follow the log start " + to_string(start_index_));
    }
    const EntryKey hi = entry_key(std::numeric_limits<uint64_t>::max());
    it->SeekForPrev(as_slice(hi));
    if (!it->Valid() || it->key().size() != kEntryKeySize || it->key()[0] != kEntryTag) {
      if (!it->status().ok()) return from_rocks(it->status(), "scan");
      return Status::decode("raft log: lost the last entry");
    }
    const Index last(get_be64(it->key().data() + 1));
    Result<Entry> e = codec::decode_entry(as_bytes(it->value()));
    if (!e.is_ok()) return decode_error("entry " + to_string(last), e.status());
    if (e->index != last) return Status::decode("raft log: entry stored under the wrong index");
    last_index_ = last;
    last_term_ = e->term;
  }
  if (!it->status().ok()) return from_rocks(it->status(), "scan");
  return Status::ok();
}

Result<Entry> RocksLogStore::read_entry(Index i) const {
  std::string v;
  const EntryKey k = entry_key(i.value());
  const rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), as_slice(k), &v);
  if (s.IsNotFound()) return Status::decode("raft log: entry " + to_string(i) + " is missing");
  if (!s.ok()) return from_rocks(s, "read entry " + to_string(i));
  Result<Entry> e = codec::decode_entry(as_bytes(v));
  if (!e.is_ok()) return decode_error("entry " + to_string(i), e.status());
  if (e->index != i) return Status::decode("raft log: entry stored under the wrong index");
  return e;
}

Result<Term> RocksLogStore::term(Index i) const {
  if (i == start_index_) return start_term_;
  if (i < start_index_)
    return Status::not_found("raft log: index " + to_string(i) + " is compacted");
  if (i > last_index_)
    return Status::not_found("raft log: index " + to_string(i) + " is past the end");
  if (i == last_index_) return last_term_;
  Result<Entry> e = read_entry(i);
  if (!e.is_ok()) return e.status();
  return e->term;
}

Result<std::vector<Entry>> RocksLogStore::entries(Index lo, Index hi, size_t max_bytes) const {
  if (lo < first_index()) {
    return Status::not_found("raft log: index " + to_string(lo) + " is compacted");
  }
  if (hi > last_index_ + 1) {
    return Status::not_found("raft log: index " + to_string(hi - 1) + " is past the end");
  }
  std::vector<Entry> out;
  if (lo >= hi) return out;

  const EntryKey lo_key = entry_key(lo.value());
  const EntryKey hi_key = entry_key(hi.value());
  const rocksdb::Slice upper = as_slice(hi_key);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
  size_t bytes = 0;
  Index want = lo;
  bool full = false;
  for (it->Seek(as_slice(lo_key)); it->Valid(); it->Next()) {
    if (it->key().size() != kEntryKeySize || it->key()[0] != kEntryTag ||
        Index(get_be64(it->key().data() + 1)) != want) {
      return Status::decode("raft log: entry " + to_string(want) + " is missing");
    }
    Result<Entry> e = codec::decode_entry(as_bytes(it->value()));
    if (!e.is_ok()) return decode_error("entry " + to_string(want), e.status());
    if (e->index != want) return Status::decode("raft log: entry stored under the wrong index");
    bytes += e->size_bytes();
    if (!out.empty() && bytes > max_bytes) {
      full = true;
      break;
    }
    out.push_back(std::move(*e));
    want = want + 1;
  }
  if (!it->status().ok()) return from_rocks(it->status(), "scan");
  if (!full && want != hi)
    return Status::decode("raft log: entry " + to_string(want) + " is missing");
  return out;
}

Result<Snapshot> RocksLogStore::snapshot() const {
  const rocksdb::ReadOptions ro;
  std::string v;
  rocksdb::Status s = db_->Get(ro, kSnapMetaKey, &v);
  if (s.IsNotFound()) return Snapshot{};
  if (!s.ok()) return from_rocks(s, "read snapshot meta");
  Result<SnapshotMeta> meta = codec::decode_snapshot_meta(as_bytes(v));
  if (!meta.is_ok()) return decode_error("snapshot meta", meta.status());
  Snapshot snap;
  snap.meta = std::move(*meta);
  s = db_->Get(ro, kSnapDataKey, &v);
  if (!s.ok() && !s.IsNotFound()) return from_rocks(s, "read snapshot data");
  if (s.ok()) snap.data.assign(v.begin(), v.end());
  return snap;
}

Status RocksLogStore::write(rocksdb::WriteBatch& batch, bool sync) {
  if (!failed_.is_ok()) return failed_;
  rocksdb::WriteOptions wo;
  wo.sync = sync && !skip_sync_;
  const rocksdb::Status s = db_->Write(wo, &batch);
  if (!s.ok()) {
    // Fail-stop: whatever happened on disk is unknown now.
    failed_ = Status::io_error("raft log: write failed, the host must stop: " + s.ToString());
    return failed_;
  }
  return Status::ok();
}

Status RocksLogStore::save(const std::optional<HardState>& hs, std::span<const Entry> entries,
                           bool sync) {
  if (!failed_.is_ok()) return failed_;
  SHOAL_RETURN_IF_ERROR(check_append(entries, last_index_));
  // Entries the snapshot already covers are dropped (as etcd-raft does).
  while (!entries.empty() && entries.front().index < first_index()) entries = entries.subspan(1);

  rocksdb::WriteBatch batch;
  if (hs) batch.Put(kHardStateKey, as_slice(codec::encode(*hs))).PermitUncheckedError();
  Index new_last = last_index_;
  Term new_last_term = last_term_;
  if (!entries.empty()) {
    for (const Entry& e : entries) {
      const EntryKey k = entry_key(e.index.value());
      batch.Put(as_slice(k), as_slice(codec::encode(e))).PermitUncheckedError();
    }
    new_last = entries.back().index;
    new_last_term = entries.back().term;
    if (new_last < last_index_) {
      // A conflicting suffix longer than what replaces it.
      const EntryKey from = entry_key(new_last.value() + 1);
      const EntryKey to = entry_key(last_index_.value() + 1);
      batch.DeleteRange(as_slice(from), as_slice(to)).PermitUncheckedError();
    }
  }
  if (batch.Count() == 0) {
    // Nothing new, but earlier unsynced writes must be durable on return.
    if (!sync || skip_sync_) return Status::ok();
    const rocksdb::Status s = db_->FlushWAL(/*sync=*/true);
    if (!s.ok()) {
      failed_ = Status::io_error("raft log: WAL sync failed, the host must stop: " + s.ToString());
      return failed_;
    }
    return Status::ok();
  }
  SHOAL_RETURN_IF_ERROR(write(batch, sync));
  if (hs) hs_ = *hs;
  last_index_ = new_last;
  last_term_ = new_last_term;
  return Status::ok();
}

Status RocksLogStore::save_snapshot(const Snapshot& snap) {
  if (!failed_.is_ok()) return failed_;
  if (snap.meta.index < snap_index_) {
    return Status::conflict("raft log: snapshot at " + to_string(snap.meta.index) +
                            " is older than the stored one at " + to_string(snap_index_));
  }
  // Keep the suffix after the snapshot only when the log agrees with it there.
  const Result<Term> t = term(snap.meta.index);
  const bool keep = t.is_ok() && *t == snap.meta.term;

  rocksdb::WriteBatch batch;
  batch.Put(kSnapMetaKey, as_slice(codec::encode(snap.meta))).PermitUncheckedError();
  batch.Put(kSnapDataKey, as_slice(snap.data)).PermitUncheckedError();
  batch.Put(kLogStartKey, encode_log_start(snap.meta.index, snap.meta.term)).PermitUncheckedError();
  const Index drop_to = keep ? snap.meta.index : last_index_;  // inclusive
  if (drop_to >= first_index()) {
    const EntryKey from = entry_key(first_index().value());
    const EntryKey to = entry_key(drop_to.value() + 1);
    batch.DeleteRange(as_slice(from), as_slice(to)).PermitUncheckedError();
  }
  SHOAL_RETURN_IF_ERROR(write(batch, /*sync=*/true));
  snap_index_ = snap.meta.index;
  start_index_ = snap.meta.index;
  start_term_ = snap.meta.term;
  if (!keep || last_index_ <= snap.meta.index) {
    last_index_ = snap.meta.index;
    last_term_ = snap.meta.term;
  }
  return Status::ok();
}

Status RocksLogStore::create_snapshot(const Snapshot& snap, Index compact_to) {
  if (!failed_.is_ok()) return failed_;
  if (snap.meta.index < snap_index_) {
    return Status::conflict("raft log: snapshot at " + to_string(snap.meta.index) +
                            " is older than the stored one at " + to_string(snap_index_));
  }
  if (compact_to > snap.meta.index) {
    return Status::invalid_argument("raft log: compact_to " + to_string(compact_to) +
                                    " is past the snapshot at " + to_string(snap.meta.index));
  }
  const Result<Term> snap_term = term(snap.meta.index);
  if (!snap_term.is_ok() && snap_term.status().code() != StatusCode::kNotFound) {
    return snap_term.status();
  }
  if (!snap_term.is_ok() || *snap_term != snap.meta.term) {
    return Status::invalid_argument("raft log: snapshot at " + to_string(snap.meta.index) +
                                    " does not match the log");
  }
  // Never un-compact: the new log start is at least the current one.
  const Index start = std::max(compact_to, start_index_);
  const Result<Term> start_term = term(start);
  if (!start_term.is_ok()) return start_term.status();

  rocksdb::WriteBatch batch;
  batch.Put(kSnapMetaKey, as_slice(codec::encode(snap.meta))).PermitUncheckedError();
  batch.Put(kSnapDataKey, as_slice(snap.data)).PermitUncheckedError();
  if (start > start_index_) {
    batch.Put(kLogStartKey, encode_log_start(start, *start_term)).PermitUncheckedError();
    const EntryKey from = entry_key(first_index().value());
    const EntryKey to = entry_key(start.value() + 1);
    batch.DeleteRange(as_slice(from), as_slice(to)).PermitUncheckedError();
  }
  SHOAL_RETURN_IF_ERROR(write(batch, /*sync=*/true));
  snap_index_ = snap.meta.index;
  start_index_ = start;
  start_term_ = *start_term;
  return Status::ok();
}

}  // namespace shoal::raft
