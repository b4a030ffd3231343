// RaftHost: see raft_host.h for the loop and its contract with the core.
#include "node/consensus/raft_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <limits>
#include <span>
#include <utility>

#include "core/crypto.h"
#include "node/consensus/asio_host_executor.h"
#include "raft/codec.h"
#include "raft/rocksdb_log_store.h"

namespace shoal::node {

using raft::Entry;
using raft::Index;
using raft::Message;
using raft::Term;

Result<std::unique_ptr<RaftHost>> RaftHost::open(RaftHostOptions options, Transport& transport,
                                                 StateMachine& sm, boost::asio::io_context* io) {
  // Checked before the store is opened (open_with() checks them again).
  if (options.raft.id.is_zero()) return Status::invalid_argument("raft host: no node id");
  if (options.tick.count() <= 0) return Status::invalid_argument("raft host: tick must be > 0");
  auto store = raft::RocksLogStore::open(options.data_dir, options.store);
  if (!store) return store.status();
  auto executor = io != nullptr ? std::make_unique<AsioHostExecutor>(*io)
                                : std::make_unique<AsioHostExecutor>();
  raft::RocksLogStore& s = **store;
  auto host = open_with(std::move(options), s, s, *executor, transport, sm);
  if (!host) return host.status();
  (*host)->own_executor_ = std::move(executor);
  (*host)->own_store_ = std::move(*store);
  return host;
}

Result<std::unique_ptr<RaftHost>> RaftHost::open_with(RaftHostOptions options,
                                                      raft::LogStore& store,
                                                      raft::LogWriter& writer,
                                                      HostExecutor& executor, Transport& transport,
                                                      StateMachine& sm) {
  if (options.raft.id.is_zero()) return Status::invalid_argument("raft host: no node id");
  if (options.tick.count() <= 0) return Status::invalid_argument("raft host: tick must be > 0");
  if (options.bootstrap && store.last_index().value() == 0 &&
      store.hard_state().term.value() == 0) {
    SHOAL_RETURN_IF_ERROR(raft::Raft::bootstrap(writer, store, *options.bootstrap));
  }
  auto snap = store.snapshot();
  if (!snap) return snap.status();

  std::unique_ptr<RaftHost> host(
      new RaftHost(std::move(options), store, writer, executor, transport, sm));
  Index applied = host->options_.raft.applied;
  if (!snap->empty()) {
    sm.restore(*snap);
    applied = std::max(applied, snap->meta.index);
    host->applied_conf_ = snap->meta.conf;
    host->last_compaction_ = snap->meta.index;
  }
  host->applied_ = applied;
  uint64_t seed = host->options_.rng_seed;
  if (seed == 0) {
    crypto::random_bytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(&seed), sizeof seed));
  }
  host->rng_ = std::make_unique<Rng>(seed);
  raft::Config cfg = host->options_.raft;
  cfg.applied = applied;
  host->raft_ = std::make_unique<raft::Raft>(cfg, host->store_, *host->rng_);
  host->term_.store(host->raft_->term().value());
  host->applied_index_.store(applied.value());
  return host;
}

RaftHost::RaftHost(RaftHostOptions options, raft::LogStore& store, raft::LogWriter& writer,
                   HostExecutor& executor, Transport& transport, StateMachine& sm)
    : options_(std::move(options)),
      id_(options_.raft.id),
      transport_(transport),
      sm_(sm),
      exec_(executor),
      store_(store),
      writer_(writer),
      tick_timer_(executor.make_timer()) {}

RaftHost::~RaftHost() { stop(); }

void RaftHost::start() {
  if (started_) return;
  started_ = true;
  exec_.post([this] {
    if (stopped_) return;
    next_tick_ = exec_.clock().now();
    arm_tick();
    // A restarted node may have committed entries to apply before any
    // message arrives.
    std::lock_guard lk(mu_);
    if (!stopping_ && !scheduled_ && raft_->has_ready()) schedule_locked();
  });
  if (own_executor_) own_executor_->start();
}

void RaftHost::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  // On the host's own thread, which then ends; else not started, or a
  // caller's executor driven by this very thread (or not running).
  if (own_executor_ && own_executor_->join([this] { shutdown_on_loop(); })) return;
  shutdown_on_loop();
}

void RaftHost::shutdown_on_loop() {
  stopped_ = true;
  tick_timer_->cancel();
  Mailbox left;
  {
    std::lock_guard lk(mu_);
    std::swap(left, inbox_);
  }
  const Status gone = Status::unavailable("raft host: stopped");
  for (Proposal& p : held_) p.done(gone, Index());
  held_.clear();
  held_bytes_ = 0;
  for (Proposal& p : left.proposals) p.done(gone, Index());
  for (ReadCallback& r : left.reads) r(gone);
  for (ConfProposal& c : left.conf_changes) c.done(gone, Index());
  for (Transfer& t : left.transfers) t.done(gone);
  for (Query& q : left.queries) q(/*stopped=*/true);
  fail_proposals("raft host: stopped, the proposal may or may not commit");
  auto reads = std::move(reads_);
  reads_.clear();
  for (auto& [ctx, cb] : reads) cb(gone);
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& [idx, cb] : waiting) cb(gone);
  is_leader_.store(false, std::memory_order_release);
}

// ---- the mailbox ----

void RaftHost::schedule_locked() {
  scheduled_ = true;
  exec_.post([this] { run_pass(); });
}

void RaftHost::deliver(Message m) {
  std::lock_guard lk(mu_);
  if (stopping_) return;
  inbox_.messages.push_back(std::move(m));
  if (!scheduled_) schedule_locked();
}

void RaftHost::propose(std::vector<uint8_t> data, ProposeCallback done) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      inbox_.proposals.push_back(Proposal{std::move(data), std::move(done)});
      if (!scheduled_) schedule_locked();
      return;
    }
  }
  done(Status::unavailable("raft host: stopped"), Index());
}

void RaftHost::read(ReadCallback done) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      inbox_.reads.push_back(std::move(done));
      if (!scheduled_) schedule_locked();
      return;
    }
  }
  done(Status::unavailable("raft host: stopped"));
}

void RaftHost::propose_conf_change(raft::ConfChange cc, ProposeCallback done) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      inbox_.conf_changes.push_back(ConfProposal{cc, std::move(done)});
      if (!scheduled_) schedule_locked();
      return;
    }
  }
  done(Status::unavailable("raft host: stopped"), Index());
}

void RaftHost::transfer_leader(raft::NodeId to, StatusCallback done) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      inbox_.transfers.push_back(Transfer{to, std::move(done)});
      if (!scheduled_) schedule_locked();
      return;
    }
  }
  done(Status::unavailable("raft host: stopped"));
}

void RaftHost::enqueue_query(Query q) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      inbox_.queries.push_back(std::move(q));
      if (!scheduled_) schedule_locked();
      return;
    }
  }
  q(/*stopped=*/true);
}

void RaftHost::status(std::function<void(RaftStatus)> done) {
  enqueue_query([this, done = std::move(done)](bool stopped) {
    if (!stopped) {
      done(make_status());
      return;
    }
    // Possibly off the loop thread: only what is safe to read anywhere.
    RaftStatus st;
    st.id = id_;
    st.term = term_.load(std::memory_order_relaxed);
    st.applied = applied_index_.load(std::memory_order_relaxed);
    done(std::move(st));
  });
}

void RaftHost::read_committed(uint64_t after, size_t max_bytes,
                              std::function<void(Result<LogFollowBatch>)> done) {
  enqueue_query([this, after, max_bytes, done = std::move(done)](bool stopped) {
    if (stopped) {
      done(Status::unavailable("raft host: stopped"));
      return;
    }
    done(make_follow_batch(after, max_bytes));
  });
}

void RaftHost::Mailbox::clear() {
  messages.clear();
  proposals.clear();
  reads.clear();
  conf_changes.clear();
  transfers.clear();
  queries.clear();
}

// ---- the loop ----

void RaftHost::run_pass() {
  if (stopped_) return;
  {
    std::lock_guard lk(mu_);
    scheduled_ = false;
    std::swap(inbox_, batch_);
  }
  step_messages(batch_.messages);
  hold_or_release(batch_);
  if (batch_.has_client_work()) feed_clients(batch_);
  if (raft_->has_ready()) handle_ready();
  // Queries last: after advance(), so they see this pass's state.
  for (Query& q : batch_.queries) q(/*stopped=*/false);
  batch_.clear();

  std::lock_guard lk(mu_);
  if (!stopping_ && !scheduled_ &&
      (!inbox_.empty() || raft_->has_ready() || (!held_.empty() && !must_hold()))) {
    schedule_locked();
  }
}

bool RaftHost::must_hold() const {
  // The batch in flight is the pending proposals of this term; its last one
  // is the newest entry this leader proposed.
  return options_.pace_proposals && raft_->role() == raft::Role::kLeader && !proposals_.empty() &&
         proposals_.back().term == raft_->term() && raft_->commit() < proposals_.back().index &&
         held_.size() < options_.max_held_proposals && held_bytes_ < options_.max_held_bytes;
}

void RaftHost::hold_or_release(Mailbox& batch) {
  if (held_.empty() && !must_hold()) return;  // nothing waits: feed as they are
  const size_t arrived = batch.proposals.size();
  for (Proposal& p : batch.proposals) {
    held_bytes_ += p.data.size();
    held_.push_back(std::move(p));
  }
  batch.proposals.clear();
  if (must_hold()) {
    stats_.held_proposals.fetch_add(arrived, std::memory_order_relaxed);
    return;
  }
  std::swap(batch.proposals, held_);
  held_bytes_ = 0;
  stats_.paced_batches.fetch_add(1, std::memory_order_relaxed);
}

void RaftHost::step_messages(std::vector<Message>& messages) {
  stats_.messages_in.fetch_add(messages.size(), std::memory_order_relaxed);
  const TimePoint now = exec_.clock().now();
  for (const Message& m : messages) {
    if (!m.from.is_zero()) last_heard_[m.from] = now;
    // A malformed message changes nothing in the core; a peer's bug is not
    // ours to die of.
    Status st = raft_->step(m);
    if (!st.is_ok()) {
      stats_.messages_rejected.fetch_add(1, std::memory_order_relaxed);
      spdlog::debug("raft: {} message from {} rejected: {}", raft::message_kind_name(m.kind),
                    m.from.short_string(), st.to_string());
    }
  }
  messages.clear();
}

void RaftHost::feed_clients(Mailbox& batch) {
  for (Proposal& p : batch.proposals) {
    auto r = raft_->propose(std::move(p.data));
    if (!r) {
      p.done(r.status(), Index());
      continue;
    }
    if (options_.negative_controls.ack_before_durable) {
      p.done(Status::ok(), r->first);  // the bug: its entry is not even written
      continue;
    }
    track_proposal(r->first, r->second, std::move(p.done));
  }
  for (ConfProposal& c : batch.conf_changes) {
    auto r = raft_->propose_conf_change(c.cc);
    if (!r) {
      c.done(r.status(), Index());
      continue;
    }
    track_proposal(r->first, r->second, std::move(c.done));
  }
  for (Transfer& t : batch.transfers) t.done(raft_->transfer_leader(t.to));
  for (ReadCallback& done : batch.reads) {
    const uint64_t ctx = ++next_read_;
    Status st = raft_->read_index(ctx);
    if (!st.is_ok()) {
      done(st);
      continue;
    }
    reads_.emplace(ctx, std::move(done));
  }
}

void RaftHost::track_proposal(Index index, Term term, ProposeCallback done) {
  if (!proposals_.empty() && proposals_term_ != term) {
    fail_proposals("raft: leadership lost, the proposal may or may not commit");
  }
  SHOAL_CHECK(proposals_.empty() || proposals_.back().index < index);
  proposals_term_ = term;
  proposals_.push_back(PendingProposal{index, term, std::move(done)});
}

RaftStatus RaftHost::make_status() const {
  RaftStatus st;
  st.id = id_;
  st.leader = raft_->leader();
  st.role = raft_->role();
  st.term = raft_->term().value();
  st.commit = raft_->commit().value();
  st.applied = applied_.value();
  st.first_index = raft_->first_index().value();
  st.last_index = raft_->last_index().value();
  st.conf = raft_->conf();
  st.conf_change_pending = raft_->last_conf_index() > applied_;
  if (st.role != raft::Role::kLeader) return st;
  const auto progress = raft_->progress();
  const TimePoint now = exec_.clock().now();
  auto add = [&](const raft::NodeId& id, bool learner) {
    if (id == id_) return;
    RaftPeerStatus p;
    p.id = id;
    p.learner = learner;
    if (auto it = progress.find(id); it != progress.end()) {
      p.match = it->second.match.value();
      p.next = it->second.next.value();
    }
    auto h = last_heard_.find(id);
    p.since_heard = h == last_heard_.end() ? std::chrono::nanoseconds::max() : now - h->second;
    st.peers.push_back(p);
  };
  for (const raft::NodeId& v : st.conf.voters) add(v, false);
  for (const raft::NodeId& l : st.conf.learners) add(l, true);
  std::sort(st.peers.begin(), st.peers.end(),
            [](const RaftPeerStatus& a, const RaftPeerStatus& b) { return a.id < b.id; });
  return st;
}

Result<LogFollowBatch> RaftHost::make_follow_batch(uint64_t after, size_t max_bytes) const {
  // At most this many entries per batch, bounding the work done on the loop.
  constexpr uint64_t kMaxEntries = 4096;
  LogFollowBatch batch;
  batch.commit = raft_->commit().value();
  Index from(after);  // the last index the caller has
  if (from + 1 < store_.first_index()) {
    auto snap = store_.snapshot();
    if (!snap) return snap.status();
    if (snap->empty() || snap->meta.index + 1 < store_.first_index()) {
      return Status::internal("raft host: the log is compacted but no snapshot covers it");
    }
    from = snap->meta.index;
    batch.snapshot = std::move(*snap);
  }
  // Only what is committed and stored: a follower's core may hold entries
  // not yet saved (and a commit index covering them).
  const Index last = std::min(raft_->commit(), store_.last_index());
  if (from >= last) return batch;
  const Index hi = std::min(last, from + kMaxEntries) + 1;
  // The store counts size_bytes() (data plus a fixed cost) against its
  // limit; give it room for the fixed cost and trim by data bytes below.
  const uint64_t count = (hi - 1).value() - from.value();
  constexpr size_t kNoLimit = std::numeric_limits<size_t>::max();
  const size_t room = max_bytes > kNoLimit - count * 64 ? kNoLimit : max_bytes + count * 64;
  auto ents = store_.entries(from + 1, hi, room);
  if (!ents) return ents.status();
  size_t bytes = 0;
  for (Entry& e : *ents) {
    // A stored entry the core's log disagrees with is about to be
    // overwritten (the core's entry at a committed index is the committed
    // one): stop before it.
    if (raft_->term_at(e.index) != e.term) break;
    if (!batch.entries.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    batch.entries.push_back(std::move(e));
  }
  return batch;
}

void RaftHost::handle_ready() {
  raft::Ready rd = raft_->take_ready();
  stats_.readies.fetch_add(1, std::memory_order_relaxed);

  // 0. A leader's appends go out before its own write, so that its fsync
  // and its followers' overlap (raft.h, thesis §10.2.1).
  for (const Message& m : rd.early_messages) transport_.send(m);
  stats_.messages_out.fetch_add(rd.early_messages.size(), std::memory_order_relaxed);

  // 1. Committed entries that are already durable here (below this Ready's
  // first new entry) need nothing from its write (raft.h): apply them first,
  // so that a leader's clients are answered without waiting for the fsync of
  // the batch that follows theirs. Those this Ready writes wait for it: a
  // leader counts its own copy toward the quorum as soon as it is appended.
  // A snapshot is restored before anything after it is applied. (The
  // negative control apply_before_persist applies them all here.)
  size_t early = 0;
  if (!rd.snapshot) {
    const bool all = rd.entries.empty() || options_.negative_controls.apply_before_persist;
    const uint64_t first_new =
        all ? std::numeric_limits<uint64_t>::max() : rd.entries.front().index.value();
    while (early < rd.committed.size() && rd.committed[early].index.value() < first_new) {
      apply_entry(rd.committed[early++]);
    }
  }

  // 2. Persist. The snapshot first: entries in the same Ready follow it.
  if (rd.snapshot) {
    Status st = writer_.save_snapshot(*rd.snapshot);
    if (!st.is_ok()) fatal("saving a snapshot", st);
  }
  if (rd.hard_state || !rd.entries.empty()) {
    const TimePoint t0 = exec_.clock().now();
    Status st = writer_.save(rd.hard_state, rd.entries, rd.must_sync);
    if (!st.is_ok()) fatal("saving the log", st);
    if (rd.must_sync) {
      const Duration ns = exec_.clock().now() - t0;
      stats_.synced_saves.fetch_add(1, std::memory_order_relaxed);
      stats_.synced_entries.fetch_add(rd.entries.size(), std::memory_order_relaxed);
      stats_.synced_save_ns.fetch_add(static_cast<uint64_t>(ns.count()), std::memory_order_relaxed);
    }
  }

  // 3. Send, now that what the messages promise is durable.
  for (const Message& m : rd.messages) transport_.send(m);
  stats_.messages_out.fetch_add(rd.messages.size(), std::memory_order_relaxed);

  // 4. Restore the snapshot, apply the rest, answer the reads now covered.
  if (rd.snapshot) {
    sm_.restore(*rd.snapshot);
    applied_ = rd.snapshot->meta.index;
    applied_conf_ = rd.snapshot->meta.conf;
    last_compaction_ = applied_;
    // Proposals the snapshot covers: whether they made it is unknown here.
    while (!proposals_.empty() && proposals_.front().index <= applied_) {
      PendingProposal p = std::move(proposals_.front());
      proposals_.pop_front();
      p.done(Status::outcome_unknown("raft: superseded by a snapshot"), p.index);
    }
  }
  for (size_t i = early; i < rd.committed.size(); ++i) apply_entry(rd.committed[i]);
  answer_reads(rd);

  // 5. Advance; only now may the core be looked at again.
  raft_->advance(rd);
  maybe_compact();
  after_advance(rd.role_changed);
}

void RaftHost::answer_reads(const raft::Ready& rd) {
  for (const raft::ReadState& rs : rd.read_states) {
    auto it = reads_.find(rs.context);
    if (it == reads_.end()) continue;
    waiting_.emplace(rs.index.value(), std::move(it->second));
    reads_.erase(it);
  }
  for (uint64_t ctx : rd.failed_reads) {
    auto it = reads_.find(ctx);
    if (it == reads_.end()) continue;
    ReadCallback cb = std::move(it->second);
    reads_.erase(it);
    cb(Status::unavailable("raft: read failed, leadership lost"));
  }
  serve_reads();
}

void RaftHost::maybe_compact() {
  // By count, or by size: a log of large entries (512 KiB KV values, job
  // specs) is compacted long before it has compact_every of them.
  const uint64_t every = options_.compact_every;
  const bool count_due = every != 0 && applied_.value() >= last_compaction_.value() + every;
  const bool by_size =
      options_.compact_bytes != 0 && applied_bytes_since_compaction_ >= options_.compact_bytes;
  if (!count_due && !by_size) return;
  const TimePoint now = exec_.clock().now();
  const bool by_count = count_due && (!last_compaction_at_ ||
                                      now - *last_compaction_at_ >= options_.compact_min_interval);
  if (!by_count && !by_size) return;
  raft::Snapshot snap;
  snap.meta.index = applied_;
  snap.meta.term = raft_->term_at(applied_);
  snap.meta.conf = applied_conf_;
  snap.data = sm_.snapshot();
  const uint64_t keep = options_.compact_keep;
  const Index floor = store_.first_index() - 1;
  const Index compact_to =
      std::max(Index(applied_.value() > keep ? applied_.value() - keep : 0), floor);
  Status st = writer_.create_snapshot(snap, compact_to);
  if (!st.is_ok()) fatal("compacting the log", st);
  last_compaction_ = applied_;
  last_compaction_at_ = now;
  applied_bytes_since_compaction_ = 0;
  stats_.compactions.fetch_add(1, std::memory_order_relaxed);
}

void RaftHost::apply_entry(const Entry& e) {
  if (e.type == raft::EntryType::kConfChange) {
    auto cs = raft::codec::decode_conf_state(e.data);
    SHOAL_CHECK_MSG(cs.is_ok(), "raft host: a committed configuration entry does not decode");
    applied_conf_ = std::move(*cs);
  }
  sm_.apply(e);
  applied_ = e.index;
  applied_bytes_since_compaction_ += e.size_bytes();
  stats_.applied.fetch_add(1, std::memory_order_relaxed);
  while (!proposals_.empty() && proposals_.front().index <= e.index) {
    PendingProposal p = std::move(proposals_.front());
    proposals_.pop_front();
    if (p.index == e.index && p.term == e.term) {
      p.done(Status::ok(), p.index);
    } else {
      // Another leader's entry took the index: ours can never commit.
      p.done(Status::unavailable("raft: proposal lost to another leader's entry"), p.index);
    }
  }
}

void RaftHost::serve_reads() {
  while (!waiting_.empty() && waiting_.begin()->first <= applied_.value()) {
    ReadCallback cb = std::move(waiting_.begin()->second);
    waiting_.erase(waiting_.begin());
    cb(Status::ok());
  }
}

void RaftHost::after_advance(bool role_changed) {
  const bool leader = raft_->role() == raft::Role::kLeader;
  const Term term = raft_->term();
  if (!proposals_.empty() && (!leader || term != proposals_term_)) {
    // The entries may still commit under the next leader; nobody here will
    // learn for sure in time, so the outcome is reported as unknown.
    fail_proposals("raft: leadership lost, the proposal may or may not commit");
  }
  is_leader_.store(leader, std::memory_order_release);
  term_.store(term.value(), std::memory_order_relaxed);
  applied_index_.store(applied_.value(), std::memory_order_relaxed);
  if (role_changed && options_.on_role_change) {
    options_.on_role_change(leader, term.value(), raft_->leader());
  }
}

void RaftHost::fail_proposals(const char* why) {
  // Every pending proposal is in this node's log already: it may commit
  // under another leader, or may not. The caller must not read this as
  // "nothing happened".
  auto failed = std::move(proposals_);
  proposals_.clear();
  for (PendingProposal& p : failed) p.done(Status::outcome_unknown(why), p.index);
}

void RaftHost::arm_tick() {
  // Missed ticks are dropped (a loop held up for a second does not then
  // tick ten times at once and call a spurious election).
  const TimePoint now = exec_.clock().now();
  next_tick_ += options_.tick;
  if (next_tick_ < now) next_tick_ = now + options_.tick;
  tick_timer_->arm(next_tick_, [this] { on_tick(); });
}

void RaftHost::on_tick() {
  if (stopped_) return;
  raft_->tick();
  {
    std::lock_guard lk(mu_);
    if (!stopping_ && !scheduled_ && raft_->has_ready()) schedule_locked();
  }
  arm_tick();
}

void RaftHost::fatal(const char* what, const Status& st) {
  // Fail-stop (log_store.h): after a failed write or fsync the disk may have
  // lost what it acknowledged; going on could ack a vote or an entry twice.
  spdlog::critical("raft {}: {} failed, stopping the process: {}", id_.short_string(), what,
                   st.to_string());
  spdlog::default_logger()->flush();
  std::abort();
}

}  // namespace shoal::node
