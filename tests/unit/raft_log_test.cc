// RaftLog: the core's view of stored, cached and unstable entries. Reads that
// span the three must return every entry once, in order, whatever the Ready
// cycle did in between (persist, truncate, compact, install a snapshot).
#include "raft/raft_log.h"

#include <gtest/gtest.h>

#include "raft/log_store.h"

namespace shoal::raft {
namespace {

Entry ent(uint64_t term, uint64_t index) {
  return Entry{Term(term), Index(index), EntryType::kNormal, {static_cast<uint8_t>(index)}};
}

std::vector<Entry> run(uint64_t term, uint64_t lo, uint64_t hi) {
  std::vector<Entry> out;
  for (uint64_t i = lo; i <= hi; ++i) out.push_back(ent(term, i));
  return out;
}

// Persists what the log handed out, as a host does, and advances it.
void persist(RaftLog& log, MemoryLogStore& store) {
  ASSERT_TRUE(store.save(std::nullopt, log.unstable(), true).is_ok());
  log.stable_and_applied(log.applied(), false);
}

std::vector<uint64_t> indexes(const std::vector<Entry>& ents) {
  std::vector<uint64_t> out;
  for (const Entry& e : ents) out.push_back(e.index.value());
  return out;
}

std::vector<uint64_t> range(uint64_t lo, uint64_t hi) {
  std::vector<uint64_t> out;
  for (uint64_t i = lo; i <= hi; ++i) out.push_back(i);
  return out;
}

TEST(RaftLog, ReadsSpanStoreCacheAndUnstableTail) {
  MemoryLogStore store;
  ASSERT_TRUE(store.save(std::nullopt, run(1, 1, 5), true).is_ok());  // stored, not cached
  RaftLog log(store, Index(0));
  log.append(run(1, 6, 10));
  persist(log, store);         // 6..10 now cached
  log.append(run(2, 11, 12));  // unstable
  EXPECT_EQ(indexes(*log.entries(Index(1), Index(13), 1 << 20)), range(1, 12));
  EXPECT_EQ(indexes(*log.entries(Index(7), Index(9), 1 << 20)), range(7, 8));    // inside the cache
  EXPECT_EQ(indexes(*log.entries(Index(3), Index(8), 1 << 20)), range(3, 7));    // store + cache
  EXPECT_EQ(indexes(*log.entries(Index(9), Index(13), 1 << 20)), range(9, 12));  // cache + tail
  EXPECT_EQ(indexes(*log.entries(Index(11), Index(12), 1 << 20)), range(11, 11));
  EXPECT_EQ(log.term(Index(8)).value(), Term(1));
  EXPECT_EQ(log.term(Index(12)).value(), Term(2));
  // max_bytes stops early but always returns at least one entry.
  EXPECT_EQ(indexes(*log.entries(Index(6), Index(13), 1)), range(6, 6));
  EXPECT_EQ(log.entries(Index(6), Index(13), 60)->size(), 2u);
}

TEST(RaftLog, TruncationIntoCachedEntriesDropsTheStaleOnes) {
  MemoryLogStore store;
  RaftLog log(store, Index(0));
  log.append(run(1, 1, 10));
  persist(log, store);
  // A new leader overwrites 7.. with its term.
  log.append(run(3, 7, 8));
  EXPECT_EQ(log.last_index(), Index(8));
  EXPECT_EQ(log.term(Index(7)).value(), Term(3));
  EXPECT_EQ(log.term(Index(6)).value(), Term(1));
  EXPECT_FALSE(log.term(Index(9)).is_ok());
  persist(log, store);
  EXPECT_EQ(store.last_index(), Index(8));
  auto all = *log.entries(Index(1), Index(9), 1 << 20);
  ASSERT_EQ(indexes(all), range(1, 8));
  EXPECT_EQ(all[6].term, Term(3));
  EXPECT_EQ(all[5].term, Term(1));
}

TEST(RaftLog, CompactedEntriesAreNotServedFromTheCache) {
  MemoryLogStore store;
  RaftLog log(store, Index(0));
  log.append(run(1, 1, 10));
  persist(log, store);
  log.commit_to(Index(10));
  Snapshot snap;
  snap.meta.index = Index(8);
  snap.meta.term = Term(1);
  ASSERT_TRUE(store.create_snapshot(snap, Index(8)).is_ok());
  EXPECT_EQ(log.first_index(), Index(9));
  EXPECT_FALSE(log.entries(Index(5), Index(10), 1 << 20).is_ok());
  EXPECT_EQ(log.term(Index(8)).value(), Term(1));  // the snapshot's own entry
  EXPECT_FALSE(log.term(Index(7)).is_ok());
  EXPECT_EQ(indexes(*log.entries(Index(9), Index(11), 1 << 20)), range(9, 10));
}

TEST(RaftLog, FindConflictByTermSkipsLaterTerms) {
  MemoryLogStore store;
  RaftLog log(store, Index(0));
  // Terms: 1 1 1 4 4 5 5 6 6 6
  std::vector<Entry> ents = run(1, 1, 3);
  for (uint64_t i : {4, 5}) ents.push_back(ent(4, i));
  for (uint64_t i : {6, 7}) ents.push_back(ent(5, i));
  for (uint64_t i : {8, 9, 10}) ents.push_back(ent(6, i));
  log.append(ents);
  EXPECT_EQ(log.find_conflict_by_term(Index(10), Term(6)), Index(10));
  EXPECT_EQ(log.find_conflict_by_term(Index(10), Term(5)), Index(7));
  EXPECT_EQ(log.find_conflict_by_term(Index(10), Term(3)), Index(3));
  EXPECT_EQ(log.find_conflict_by_term(Index(10), Term(0)), Index(0));
  EXPECT_EQ(log.find_conflict_by_term(Index(20), Term(4)), Index(5));  // beyond the end
}

}  // namespace
}  // namespace shoal::raft
