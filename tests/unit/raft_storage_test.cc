// Raft storage (raft/log_store.h): the same behaviour tests against the
// in-memory double and the RocksDB store, then crash tests of both with
// simulated power cuts (MemoryLogStore::power_cut, FaultFs for RocksDB).
// Every crash test has a negative control: with syncs skipped, the check
// that passes normally must fail, which proves the crash test can fail.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/options.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "raft/fault_fs.h"
#include "raft/log_store.h"
#include "raft/rocksdb_log_store.h"
#include "tests/unit/temp_dir.h"

namespace shoal::raft {
namespace {

Entry make_entry(uint64_t index, uint64_t term, size_t data_size = 8) {
  Entry e;
  e.index = Index(index);
  e.term = Term(term);
  e.type = EntryType::kNormal;
  e.data.resize(data_size);
  for (size_t k = 0; k < data_size; ++k) e.data[k] = static_cast<uint8_t>(index * 31 + k);
  return e;
}

// Entries [from, to] of one term.
std::vector<Entry> make_entries(uint64_t from, uint64_t to, uint64_t term, size_t data_size = 8) {
  std::vector<Entry> out;
  for (uint64_t i = from; i <= to; ++i) out.push_back(make_entry(i, term, data_size));
  return out;
}

HardState make_hs(uint64_t term, uint64_t commit) {
  return HardState{Term(term), NodeId(7, term), Index(commit)};
}

Snapshot make_snapshot(uint64_t index, uint64_t term) {
  Snapshot s;
  s.meta.index = Index(index);
  s.meta.term = Term(term);
  s.meta.conf.voters = {NodeId(0, 1), NodeId(0, 2), NodeId(0, 3)};
  s.data = {1, 2, 3, static_cast<uint8_t>(index)};
  return s;
}

// One directory per test (tests/unit/temp_dir.h).
struct TempDir : test::TempDir {
  TempDir() : test::TempDir("shoal-raft-store") {}
};

// The log holds exactly `want` from first_index() on (and nothing after).
template <class Store>
::testing::AssertionResult log_is(const Store& s, const std::vector<Entry>& want) {
  if (want.empty()) {
    if (s.last_index() + 1 != s.first_index()) {
      return ::testing::AssertionFailure() << "log not empty: last " << s.last_index().value();
    }
    return ::testing::AssertionSuccess();
  }
  if (s.first_index() != want.front().index) {
    return ::testing::AssertionFailure()
           << "first_index " << s.first_index().value() << ", want " << want.front().index.value();
  }
  if (s.last_index() != want.back().index) {
    return ::testing::AssertionFailure()
           << "last_index " << s.last_index().value() << ", want " << want.back().index.value();
  }
  auto got = s.entries(want.front().index, want.back().index + 1, SIZE_MAX);
  if (!got.is_ok()) return ::testing::AssertionFailure() << got.status().to_string();
  if (*got != want) return ::testing::AssertionFailure() << "entries differ";
  for (const Entry& e : want) {
    auto t = s.term(e.index);
    if (!t.is_ok() || *t != e.term) {
      return ::testing::AssertionFailure() << "term(" << e.index.value() << ") wrong";
    }
  }
  return ::testing::AssertionSuccess();
}

// --- Backends for the shared behaviour tests ---

// "Reopening" the memory store is a power cut: every write in these tests is
// synced, so it must change nothing.
struct MemoryBackend {
  MemoryLogStore store;
  MemoryLogStore& s() { return store; }
  void reopen() { store.power_cut(); }
};

struct RocksBackend {
  TempDir dir;
  std::unique_ptr<RocksLogStore> store;
  RocksBackend() { open(); }
  void open() {
    auto r = RocksLogStore::open(dir.path() + "/db");
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    store = std::move(r).value();
  }
  RocksLogStore& s() { return *store; }
  void reopen() {
    store.reset();
    open();
  }
};

template <class Backend>
class LogStoreTest : public ::testing::Test {
 protected:
  Backend b;
  auto& s() { return b.s(); }
  void append(std::vector<Entry> es, std::optional<HardState> hs = std::nullopt) {
    ASSERT_TRUE(s().save(hs, es, /*sync=*/true).is_ok());
  }
};

using Backends = ::testing::Types<MemoryBackend, RocksBackend>;
class BackendNames {
 public:
  template <class T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemoryBackend> ? "Memory" : "Rocks";
  }
};
TYPED_TEST_SUITE(LogStoreTest, Backends, BackendNames);

TYPED_TEST(LogStoreTest, FreshStoreIsEmpty) {
  auto& s = this->s();
  EXPECT_EQ(s.first_index(), Index(1));
  EXPECT_EQ(s.last_index(), Index(0));
  ASSERT_TRUE(s.term(Index(0)).is_ok());
  EXPECT_EQ(*s.term(Index(0)), Term(0));
  EXPECT_EQ(s.term(Index(1)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.hard_state(), HardState{});
  ASSERT_TRUE(s.snapshot().is_ok());
  EXPECT_TRUE(s.snapshot()->empty());
  auto es = s.entries(Index(1), Index(1), 100);
  ASSERT_TRUE(es.is_ok());
  EXPECT_TRUE(es->empty());
  this->b.reopen();
  EXPECT_EQ(this->s().last_index(), Index(0));
}

TYPED_TEST(LogStoreTest, AppendAndRead) {
  this->append(make_entries(1, 5, 1));
  auto& s = this->s();
  EXPECT_TRUE(log_is(s, make_entries(1, 5, 1)));
  auto mid = s.entries(Index(2), Index(4), SIZE_MAX);
  ASSERT_TRUE(mid.is_ok());
  EXPECT_EQ(*mid, make_entries(2, 3, 1));
  EXPECT_EQ(s.term(Index(6)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.entries(Index(0), Index(3), SIZE_MAX).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.entries(Index(1), Index(7), SIZE_MAX).status().code(), StatusCode::kNotFound);
  // Appending at last + 1 extends the log.
  this->append(make_entries(6, 8, 2));
  EXPECT_EQ(*this->s().term(Index(8)), Term(2));
  this->b.reopen();
  std::vector<Entry> want = make_entries(1, 5, 1);
  for (Entry& e : make_entries(6, 8, 2)) want.push_back(e);
  EXPECT_TRUE(log_is(this->s(), want));
}

TYPED_TEST(LogStoreTest, EntriesRespectMaxBytes) {
  this->append(make_entries(1, 10, 1, /*data_size=*/100));  // 124 bytes each
  auto& s = this->s();
  auto count = [&](size_t max_bytes) {
    auto r = s.entries(Index(1), Index(11), max_bytes);
    EXPECT_TRUE(r.is_ok());
    return r.is_ok() ? r->size() : 0;
  };
  EXPECT_EQ(count(0), 1u);  // at least one entry, always
  EXPECT_EQ(count(123), 1u);
  EXPECT_EQ(count(124), 1u);
  EXPECT_EQ(count(247), 1u);
  EXPECT_EQ(count(248), 2u);
  EXPECT_EQ(count(371), 2u);
  EXPECT_EQ(count(372), 3u);
  EXPECT_EQ(count(SIZE_MAX), 10u);
  auto r = s.entries(Index(4), Index(11), 248);
  ASSERT_TRUE(r.is_ok());
  EXPECT_EQ(*r, make_entries(4, 5, 1, 100));
}

TYPED_TEST(LogStoreTest, SaveTruncatesConflictingSuffix) {
  this->append(make_entries(1, 10, 1));
  // A shorter overwrite: entries 7..10 of term 1 go, 5..6 of term 2 come.
  this->append(make_entries(5, 6, 2));
  std::vector<Entry> want = make_entries(1, 4, 1);
  for (Entry& e : make_entries(5, 6, 2)) want.push_back(e);
  EXPECT_TRUE(log_is(this->s(), want));
  EXPECT_EQ(this->s().term(Index(7)).status().code(), StatusCode::kNotFound);
  // A longer overwrite.
  this->append(make_entries(3, 12, 3));
  want = make_entries(1, 2, 1);
  for (Entry& e : make_entries(3, 12, 3)) want.push_back(e);
  EXPECT_TRUE(log_is(this->s(), want));
  this->b.reopen();
  EXPECT_TRUE(log_is(this->s(), want));
  // Appending past the truncated end works after reopen too.
  this->append(make_entries(13, 13, 3));
  EXPECT_EQ(this->s().last_index(), Index(13));
}

TYPED_TEST(LogStoreTest, SaveRejectsGapsAndDisorder) {
  this->append(make_entries(1, 3, 1));
  auto& s = this->s();
  auto gap = make_entries(5, 6, 1);
  EXPECT_EQ(s.save(std::nullopt, gap, true).code(), StatusCode::kInvalidArgument);
  std::vector<Entry> disorder = {make_entry(4, 1), make_entry(6, 1)};
  EXPECT_EQ(s.save(std::nullopt, disorder, true).code(), StatusCode::kInvalidArgument);
  std::vector<Entry> zero = {make_entry(0, 1)};
  EXPECT_EQ(s.save(std::nullopt, zero, true).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(log_is(s, make_entries(1, 3, 1)));
}

TYPED_TEST(LogStoreTest, HardState) {
  this->append({}, make_hs(3, 0));
  EXPECT_EQ(this->s().hard_state(), make_hs(3, 0));
  // Entries without a hard state keep it; a new one replaces it atomically.
  this->append(make_entries(1, 2, 3));
  EXPECT_EQ(this->s().hard_state(), make_hs(3, 0));
  this->append(make_entries(3, 3, 4), make_hs(4, 2));
  EXPECT_EQ(this->s().hard_state(), make_hs(4, 2));
  this->b.reopen();
  EXPECT_EQ(this->s().hard_state(), make_hs(4, 2));
  EXPECT_EQ(this->s().last_index(), Index(3));
}

TYPED_TEST(LogStoreTest, CreateSnapshotCompactsToSnapshot) {
  this->append(make_entries(1, 10, 1));
  auto& s = this->s();
  ASSERT_TRUE(s.create_snapshot(make_snapshot(5, 1), Index(5)).is_ok());
  EXPECT_TRUE(log_is(s, make_entries(6, 10, 1)));
  EXPECT_EQ(*s.term(Index(5)), Term(1));  // first_index - 1, from the snapshot
  EXPECT_EQ(s.term(Index(4)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.entries(Index(5), Index(8), SIZE_MAX).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(s.snapshot().is_ok());
  EXPECT_EQ(s.snapshot()->meta, make_snapshot(5, 1).meta);
  EXPECT_EQ(s.snapshot()->data, make_snapshot(5, 1).data);
  this->b.reopen();
  EXPECT_TRUE(log_is(this->s(), make_entries(6, 10, 1)));
  EXPECT_EQ(*this->s().term(Index(5)), Term(1));
  EXPECT_EQ(this->s().snapshot()->meta, make_snapshot(5, 1).meta);
}

TYPED_TEST(LogStoreTest, CreateSnapshotKeepsEntriesAfterCompactTo) {
  this->append(make_entries(1, 5, 1));
  this->append(make_entries(6, 10, 2));
  auto& s = this->s();
  ASSERT_TRUE(s.create_snapshot(make_snapshot(8, 2), Index(3)).is_ok());
  EXPECT_EQ(s.first_index(), Index(4));
  EXPECT_EQ(s.last_index(), Index(10));
  ASSERT_TRUE(s.term(Index(3)).is_ok());
  EXPECT_EQ(*s.term(Index(3)), Term(1));  // known though the snapshot is at 8
  EXPECT_EQ(s.term(Index(2)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*s.term(Index(8)), Term(2));
  EXPECT_EQ(s.snapshot()->meta.index, Index(8));
  // Compacting further, up to the snapshot.
  ASSERT_TRUE(s.create_snapshot(make_snapshot(8, 2), Index(8)).is_ok());
  EXPECT_EQ(s.first_index(), Index(9));
  EXPECT_EQ(*s.term(Index(8)), Term(2));
  this->b.reopen();
  EXPECT_TRUE(log_is(this->s(), make_entries(9, 10, 2)));
  EXPECT_EQ(*this->s().term(Index(8)), Term(2));
}

TYPED_TEST(LogStoreTest, CreateSnapshotPartialCompactionSurvivesReopen) {
  this->append(make_entries(1, 10, 1));
  ASSERT_TRUE(this->s().create_snapshot(make_snapshot(9, 1), Index(4)).is_ok());
  this->b.reopen();
  auto& s = this->s();
  EXPECT_TRUE(log_is(s, make_entries(5, 10, 1)));
  EXPECT_EQ(*s.term(Index(4)), Term(1));
  EXPECT_EQ(s.snapshot()->meta.index, Index(9));
  // A conflicting append that truncates back to the log start still works.
  this->append(make_entries(5, 6, 2));
  EXPECT_TRUE(log_is(this->s(), make_entries(5, 6, 2)));
}

TYPED_TEST(LogStoreTest, CreateSnapshotRejectsBadArguments) {
  this->append(make_entries(1, 10, 1));
  auto& s = this->s();
  EXPECT_EQ(s.create_snapshot(make_snapshot(5, 1), Index(6)).code(),
            StatusCode::kInvalidArgument);  // compact_to > index
  EXPECT_EQ(s.create_snapshot(make_snapshot(5, 2), Index(5)).code(),
            StatusCode::kInvalidArgument);  // wrong term
  EXPECT_EQ(s.create_snapshot(make_snapshot(11, 1), Index(5)).code(),
            StatusCode::kInvalidArgument);  // past the log
  ASSERT_TRUE(s.create_snapshot(make_snapshot(7, 1), Index(7)).is_ok());
  EXPECT_EQ(s.create_snapshot(make_snapshot(8, 1), Index(3)).code(), StatusCode::kOk);
  EXPECT_EQ(s.first_index(), Index(8));  // never un-compacts
  EXPECT_EQ(s.create_snapshot(make_snapshot(7, 1), Index(7)).code(), StatusCode::kConflict);
}

TYPED_TEST(LogStoreTest, SaveSnapshotDropsDisagreeingLog) {
  this->append(make_entries(1, 5, 1), make_hs(1, 3));
  auto& s = this->s();
  ASSERT_TRUE(s.save_snapshot(make_snapshot(10, 3)).is_ok());
  EXPECT_EQ(s.first_index(), Index(11));
  EXPECT_EQ(s.last_index(), Index(10));
  EXPECT_EQ(*s.term(Index(10)), Term(3));
  EXPECT_EQ(s.term(Index(5)).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(s.hard_state(), make_hs(1, 3));  // untouched
  this->append(make_entries(11, 12, 3));
  this->b.reopen();
  EXPECT_TRUE(log_is(this->s(), make_entries(11, 12, 3)));
  EXPECT_EQ(*this->s().term(Index(10)), Term(3));
  EXPECT_EQ(this->s().snapshot()->meta, make_snapshot(10, 3).meta);
  EXPECT_EQ(this->s().snapshot()->data, make_snapshot(10, 3).data);
}

TYPED_TEST(LogStoreTest, SaveSnapshotKeepsMatchingSuffix) {
  this->append(make_entries(1, 10, 1));
  ASSERT_TRUE(this->s().save_snapshot(make_snapshot(6, 1)).is_ok());
  EXPECT_TRUE(log_is(this->s(), make_entries(7, 10, 1)));
  EXPECT_EQ(*this->s().term(Index(6)), Term(1));
  this->b.reopen();
  EXPECT_TRUE(log_is(this->s(), make_entries(7, 10, 1)));
}

TYPED_TEST(LogStoreTest, SaveSnapshotDropsSuffixOfAnotherTerm) {
  this->append(make_entries(1, 10, 1));
  ASSERT_TRUE(this->s().save_snapshot(make_snapshot(6, 2)).is_ok());
  EXPECT_EQ(this->s().first_index(), Index(7));
  EXPECT_EQ(this->s().last_index(), Index(6));
  EXPECT_EQ(*this->s().term(Index(6)), Term(2));
  this->b.reopen();
  EXPECT_EQ(this->s().last_index(), Index(6));
  // An older snapshot is refused.
  EXPECT_EQ(this->s().save_snapshot(make_snapshot(5, 1)).code(), StatusCode::kConflict);
}

TYPED_TEST(LogStoreTest, AppendSkipsEntriesCoveredBySnapshot) {
  this->append(make_entries(1, 10, 1));
  ASSERT_TRUE(this->s().create_snapshot(make_snapshot(5, 1), Index(5)).is_ok());
  this->append(make_entries(4, 12, 1));
  EXPECT_TRUE(log_is(this->s(), make_entries(6, 12, 1)));
}

// --- Crash tests: MemoryLogStore ---

TEST(MemoryLogStoreCrash, SyncedWritesSurvivePowerCut) {
  MemoryLogStore s;
  ASSERT_TRUE(s.save(make_hs(1, 0), make_entries(1, 5, 1), true).is_ok());
  s.power_cut();
  EXPECT_TRUE(log_is(s, make_entries(1, 5, 1)));
  EXPECT_EQ(s.hard_state(), make_hs(1, 0));
}

TEST(MemoryLogStoreCrash, UnsyncedWritesAreLostUntilASyncFollows) {
  MemoryLogStore s;
  ASSERT_TRUE(s.save(make_hs(1, 0), make_entries(1, 5, 1), true).is_ok());
  ASSERT_TRUE(s.save(make_hs(2, 0), make_entries(6, 8, 2), false).is_ok());
  s.power_cut();
  EXPECT_TRUE(log_is(s, make_entries(1, 5, 1)));
  EXPECT_EQ(s.hard_state(), make_hs(1, 0));
  // A synced write makes the earlier unsynced ones durable too.
  ASSERT_TRUE(s.save(std::nullopt, make_entries(6, 6, 2), false).is_ok());
  ASSERT_TRUE(s.save(std::nullopt, make_entries(7, 7, 2), true).is_ok());
  s.power_cut();
  EXPECT_EQ(s.last_index(), Index(7));
}

TEST(MemoryLogStoreCrash, AnEmptySyncedSaveMakesEarlierWritesDurable) {
  MemoryLogStore s;
  ASSERT_TRUE(s.save(std::nullopt, make_entries(1, 5, 1), false).is_ok());
  ASSERT_TRUE(s.save(std::nullopt, {}, true).is_ok());
  s.power_cut();
  EXPECT_TRUE(log_is(s, make_entries(1, 5, 1)));
}

TEST(MemoryLogStoreCrash, NegativeControlSkipSyncIsDetected) {
  MemoryLogStore s;
  s.set_skip_sync(true);
  ASSERT_TRUE(s.save(make_hs(1, 0), make_entries(1, 5, 1), true).is_ok());
  s.power_cut();
  // The check SyncedWritesSurvivePowerCut relies on must fail here.
  EXPECT_FALSE(log_is(s, make_entries(1, 5, 1)));
  EXPECT_NE(s.hard_state(), make_hs(1, 0));
}

// --- Crash tests: RocksLogStore on FaultFs ---

class RocksCrashTest : public ::testing::Test {
 protected:
  TempDir dir;
  std::shared_ptr<FaultFs> fs = std::make_shared<FaultFs>();
  std::unique_ptr<RocksLogStore> store;

  RocksLogStoreOptions options(bool skip_sync = false) {
    RocksLogStoreOptions o;
    o.env = FaultFs::make_env(fs);
    o.skip_sync = skip_sync;
    return o;
  }
  void open(bool skip_sync = false) {
    auto r = RocksLogStore::open(dir.path() + "/db", options(skip_sync));
    ASSERT_TRUE(r.is_ok()) << r.status().to_string();
    store = std::move(r).value();
  }
  // The process dies with the power, then the machine restarts.
  void crash_and_reopen() {
    fs->freeze();
    store.reset();
    fs->power_cut();
    open();
  }

  // Writes 1..n one synced save at a time (term = index / 10 + 1), with a
  // hard state committing the previous entry, as a Raft follower would.
  std::vector<Entry> write_synced(uint64_t n) {
    std::vector<Entry> all;
    for (uint64_t i = 1; i <= n; ++i) {
      std::vector<Entry> one = {make_entry(i, i / 10 + 1, 16 + i % 7)};
      EXPECT_TRUE(store->save(make_hs(i / 10 + 1, i - 1), one, true).is_ok());
      all.push_back(one[0]);
    }
    return all;
  }
};

TEST_F(RocksCrashTest, SyncedWritesSurvivePowerCut) {
  open();
  const std::vector<Entry> written = write_synced(50);
  crash_and_reopen();
  EXPECT_TRUE(log_is(*store, written));
  EXPECT_EQ(store->hard_state(), make_hs(50 / 10 + 1, 49));
}

TEST_F(RocksCrashTest, NegativeControlSkipSyncIsDetected) {
  open(/*skip_sync=*/true);
  const std::vector<Entry> written = write_synced(50);
  crash_and_reopen();
  // The check of SyncedWritesSurvivePowerCut must fail: the crash test can
  // tell a store that syncs from one that does not.
  EXPECT_FALSE(log_is(*store, written));
  EXPECT_NE(store->hard_state(), make_hs(50 / 10 + 1, 49));
  EXPECT_GT(fs->dropped_bytes(), 0u);
}

// crash() is a power cut in a live process (the chaos suite's power-cut
// mode): with the database still open, what was synced stays and what was
// only written goes, although the page cache still held it.
TEST_F(RocksCrashTest, ACrashInALiveProcessDropsWhatWasNotSynced) {
  GTEST_FLAG_SET(death_test_style, "fast");  // the child must see this dir
  std::vector<Entry> synced;
  for (uint64_t i = 1; i <= 20; ++i) synced.push_back(make_entry(i, 1, 16));
  EXPECT_EXIT(
      {
        open();
        for (const Entry& e : synced) {
          if (!store->save(make_hs(1, e.index.value() - 1), {{e}}, true).is_ok()) _exit(2);
        }
        if (!store->save(std::nullopt, make_entries(21, 30, 1, 16), false).is_ok()) _exit(3);
        fs->crash();
        _exit(7);  // the store is never closed: its threads hang in their next I/O
      },
      ::testing::ExitedWithCode(7), "");
  fs = std::make_shared<FaultFs>();  // the child's tracking died with it
  open();
  EXPECT_TRUE(log_is(*store, synced));
}

TEST_F(RocksCrashTest, CleanCloseThenPowerCutKeepsSyncedWrites) {
  // Sanity of the harness: a clean close followed by power_cut() keeps what
  // was synced (and loses nothing that is required).
  open();
  const std::vector<Entry> written = write_synced(5);
  store.reset();
  fs->power_cut();
  open();
  EXPECT_TRUE(log_is(*store, written));
}

TEST_F(RocksCrashTest, UnsyncedWritesLeaveAPrefixConsistentLog) {
  open();
  std::vector<Entry> written = write_synced(10);
  // Many small unsynced saves: any prefix of them may survive, nothing else.
  for (uint64_t i = 11; i <= 210; ++i) {
    std::vector<Entry> one = {make_entry(i, 3, 1 + i % 50)};
    ASSERT_TRUE(store->save(std::nullopt, one, /*sync=*/false).is_ok());
    written.push_back(one[0]);
  }
  crash_and_reopen();
  const Index last = store->last_index();
  EXPECT_GE(last, Index(10));
  EXPECT_LT(last, Index(210));  // the FaultFs did drop the unsynced tail
  std::vector<Entry> prefix(written.begin(),
                            written.begin() + static_cast<ptrdiff_t>(last.value()));
  EXPECT_TRUE(log_is(*store, prefix));
  EXPECT_GT(fs->dropped_bytes(), 0u);
}

TEST_F(RocksCrashTest, AnEmptySyncedSaveMakesEarlierWritesDurable) {
  open();
  std::vector<Entry> written = write_synced(3);
  for (Entry& e : make_entries(4, 9, 2)) {
    ASSERT_TRUE(store->save(std::nullopt, std::vector<Entry>{e}, /*sync=*/false).is_ok());
    written.push_back(e);
  }
  ASSERT_TRUE(store->save(std::nullopt, {}, /*sync=*/true).is_ok());
  crash_and_reopen();
  EXPECT_TRUE(log_is(*store, written));
}

TEST_F(RocksCrashTest, OneSaveIsAtomic) {
  open();
  std::vector<Entry> written = write_synced(10);
  const std::vector<Entry> batch = make_entries(11, 1010, 4, 64);
  ASSERT_TRUE(store->save(make_hs(4, 10), batch, /*sync=*/false).is_ok());
  crash_and_reopen();
  // All of the batch or none of it, with its hard state.
  if (store->last_index() == Index(10)) {
    EXPECT_TRUE(log_is(*store, written));
    EXPECT_EQ(store->hard_state(), make_hs(2, 9));
  } else {
    for (const Entry& e : batch) written.push_back(e);
    EXPECT_TRUE(log_is(*store, written));
    EXPECT_EQ(store->hard_state(), make_hs(4, 10));
  }
}

TEST_F(RocksCrashTest, ATruncationIsAtomicAndDurable) {
  open();
  write_synced(20);
  // A leader overwrites 15..20 with a shorter suffix of a later term.
  const std::vector<Entry> replacement = make_entries(15, 16, 9);
  ASSERT_TRUE(store->save(make_hs(9, 14), replacement, true).is_ok());
  crash_and_reopen();
  EXPECT_EQ(store->last_index(), Index(16));
  EXPECT_EQ(*store->term(Index(16)), Term(9));
  EXPECT_EQ(store->term(Index(17)).status().code(), StatusCode::kNotFound);
}

TEST_F(RocksCrashTest, SnapshotsSurvivePowerCut) {
  open();
  write_synced(30);
  ASSERT_TRUE(store->create_snapshot(make_snapshot(25, 3), Index(20)).is_ok());
  ASSERT_TRUE(store->save(std::nullopt, make_entries(31, 40, 4), false).is_ok());
  crash_and_reopen();
  EXPECT_EQ(store->first_index(), Index(21));
  EXPECT_EQ(*store->term(Index(20)), Term(3));
  EXPECT_EQ(store->last_index(), Index(30));
  EXPECT_EQ(store->snapshot()->meta, make_snapshot(25, 3).meta);
  ASSERT_TRUE(store->save_snapshot(make_snapshot(100, 7)).is_ok());
  crash_and_reopen();
  EXPECT_EQ(store->first_index(), Index(101));
  EXPECT_EQ(store->last_index(), Index(100));
  EXPECT_EQ(store->snapshot()->meta, make_snapshot(100, 7).meta);
}

TEST_F(RocksCrashTest, OneSyncPerSave) {
  open();
  write_synced(1);  // the first synced write also syncs the new WAL's directory
  const uint64_t before = fs->file_syncs();
  ASSERT_TRUE(store->save(make_hs(5, 1), make_entries(2, 101, 5), true).is_ok());
  EXPECT_EQ(fs->file_syncs() - before, 1u);  // group commit: 100 entries, one fsync
  ASSERT_TRUE(store->save(std::nullopt, make_entries(102, 110, 5), false).is_ok());
  EXPECT_EQ(fs->file_syncs() - before, 1u);
}

TEST_F(RocksCrashTest, FailingSyncIsFatal) {
  open();
  write_synced(3);
  fs->set_fail_syncs(true);
  const Status st = store->save(make_hs(2, 3), make_entries(4, 4, 2), true);
  EXPECT_FALSE(st.is_ok());
  EXPECT_EQ(st.code(), StatusCode::kIoError);
  EXPECT_FALSE(store->failure().is_ok());
  EXPECT_EQ(store->last_index(), Index(3));  // the failed write is not visible
  fs->set_fail_syncs(false);
  // Fail-stop: the store refuses every later write.
  EXPECT_FALSE(store->save(std::nullopt, make_entries(4, 4, 2), true).is_ok());
  EXPECT_FALSE(store->create_snapshot(make_snapshot(3, 1), Index(3)).is_ok());
  store.reset();
}

TEST(RocksLogStoreCorruption, UndecodableEntryIsADecodeError) {
  TempDir dir;
  const std::string path = dir.path() + "/db";
  {
    auto s = RocksLogStore::open(path);
    ASSERT_TRUE(s.is_ok());
    ASSERT_TRUE((*s)->save(std::nullopt, make_entries(1, 5, 1), true).is_ok());
  }
  // Overwrite entry 3 with bytes no codec accepts.
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), path, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    const char key[9] = {1, 0, 0, 0, 0, 0, 0, 0, 3};
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), rocksdb::Slice(key, 9), "\xc1\xc1").ok());
  }
  auto s = RocksLogStore::open(path);
  ASSERT_TRUE(s.is_ok()) << s.status().to_string();
  EXPECT_EQ((*s)->entries(Index(1), Index(6), SIZE_MAX).status().code(), StatusCode::kDecode);
  EXPECT_EQ((*s)->term(Index(3)).status().code(), StatusCode::kDecode);
  EXPECT_EQ(*(*s)->term(Index(2)), Term(1));
}

TEST(RocksLogStoreCorruption, UndecodableLastEntryFailsOpen) {
  TempDir dir;
  const std::string path = dir.path() + "/db";
  {
    auto s = RocksLogStore::open(path);
    ASSERT_TRUE(s.is_ok());
    ASSERT_TRUE((*s)->save(std::nullopt, make_entries(1, 5, 1), true).is_ok());
  }
  {
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), path, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    const char key[9] = {1, 0, 0, 0, 0, 0, 0, 0, 5};
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), rocksdb::Slice(key, 9), "\xc1").ok());
  }
  auto s = RocksLogStore::open(path);
  EXPECT_EQ(s.status().code(), StatusCode::kDecode);
}

}  // namespace
}  // namespace shoal::raft
