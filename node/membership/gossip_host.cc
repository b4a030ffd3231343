#include "node/membership/gossip_host.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cmath>

#include "node/host/atomic_file.h"

namespace shoal::node {

namespace asio = boost::asio;
using Kind = gossip::Event::Kind;

namespace {

constexpr size_t kMaxMembersFileBytes = 64 << 20;
// The steady clock starts at 1 s, so TimePoint{} can mean "never" in the core.
constexpr Duration kClockOffset = std::chrono::seconds(1);
// The timer never sleeps longer than this, whatever next_deadline() says.
constexpr Duration kMaxTimerSleep = std::chrono::seconds(60);

std::string describe(const gossip::Member& m) {
  return m.meta.name + " (" + m.id.short_string() + " at " + m.meta.gossip.to_string() + ")";
}

const char* stream_kind_name(gossip::StreamRequest::Kind kind) {
  switch (kind) {
    case gossip::StreamRequest::Kind::kPushPull:
      return "push-pull";
    case gossip::StreamRequest::Kind::kJoin:
      return "join";
    case gossip::StreamRequest::Kind::kProbe:
      return "fallback probe";
  }
  return "stream";
}

}  // namespace

GossipHost::GossipHost(asio::io_context& io, GossipChannel& channel, GossipHostOptions options)
    : io_(io),
      channel_(channel),
      options_(std::move(options)),
      clock_(options_.clock ? options_.clock : std::make_shared<SteadyClock>()),
      rng_(options_.rng_seed),
      timer_(io),
      persist_timer_(io),
      leave_timer_(io) {
  core_ =
      std::make_unique<gossip::Gossip>(options_.config, options_.self, options_.meta, rng_, now());
  transport_ = std::make_unique<GossipTransport>(
      io, channel, options_.transport,
      [this](const gossip::Address& from, std::vector<uint8_t> plaintext) {
        on_packet(from, std::move(plaintext));
      },
      [this](const gossip::Address& from, std::vector<uint8_t> plaintext) {
        return on_stream(from, std::move(plaintext));
      },
      [this](uint64_t id, Result<std::vector<uint8_t>> reply) { on_reply(id, std::move(reply)); });
}

GossipHost::~GossipHost() { stop(); }

TimePoint GossipHost::now() const { return clock_->now() + kClockOffset; }

bool GossipHost::is_self(const gossip::Address& addr) const {
  if (addr == options_.meta.gossip) return true;
  const auto& bind = options_.transport.bind;
  return addr.port == options_.transport.port &&
         (addr.ip == bind.to_string() || (bind.is_unspecified() && addr.ip == "127.0.0.1"));
}

std::vector<gossip::Address> GossipHost::without_self(const std::vector<gossip::Address>& seeds,
                                                      std::vector<gossip::Address>* dropped) const {
  std::vector<gossip::Address> out;
  for (const auto& s : seeds) {
    if (!is_self(s)) {
      out.push_back(s);
    } else if (dropped != nullptr) {
      dropped->push_back(s);
    }
  }
  return out;
}

Status GossipHost::start(const std::vector<gossip::Address>& seeds) {
  SHOAL_RETURN_IF_ERROR(transport_->listen());
  restore_members();
  std::vector<gossip::Address> own;
  const auto others = without_self(seeds, &own);
  for (const auto& a : own) {
    spdlog::info("gossip: not joining {}: it is this agent's own address", a.to_string());
  }
  if (!others.empty()) core_->join(now(), others);
  drain();
  return Status::ok();
}

void GossipHost::stop() {
  if (stopped_) return;
  transport_->stop();
  timer_.cancel();
  persist_timer_.cancel();
  leave_timer_.cancel();
  if (members_dirty_) save_members();
  stopped_ = true;
  // Answer everything still waiting, so that no HTTP request hangs.
  auto joins = std::move(joins_);
  for (auto& [id, j] : joins) {
    j.deadline->cancel();
    j.done({503, j.answered.size(), "the agent is shutting down"});
  }
  auto queries = std::move(queries_);
  for (auto& [id, q] : queries) q.on_done(true);
  auto leaves = std::move(leave_done_);
  for (auto& done : leaves) done();
}

// ---------------------------------------------------------------- the loop

void GossipHost::drain() {
  if (draining_ || stopped_) return;  // the outer drain() picks the new output up
  draining_ = true;
  for (;;) {
    gossip::Ready ready = core_->take_ready();
    if (ready.empty()) break;
    if (ready.persist_members) schedule_persist();
    for (const auto& p : ready.packets) transport_->send(p);
    for (const auto& s : ready.streams) {
      streams_[s.id] = OpenStream{s.kind, s.to};
      transport_->open_stream(s);
    }
    for (const auto& e : ready.events) handle_event(e);
    if (stopped_) break;
  }
  draining_ = false;
  // Outside the loop over the core's output, so that what a subscriber
  // wakes may read the core.
  if (view_dirty_ && !stopped_) {
    view_dirty_ = false;
    for (const auto& f : view_subscribers_) f(view_index_);
  }
  arm_timer();
}

void GossipHost::update_meta(gossip::NodeMeta meta) {
  if (stopped_) return;
  options_.meta = meta;
  core_->update_meta(now(), std::move(meta));
  view_changed();
  drain();
}

void GossipHost::arm_timer() {
  if (stopped_) return;
  const TimePoint t = now();
  TimePoint deadline = core_->next_deadline();
  if (deadline > t + kMaxTimerSleep) deadline = t + kMaxTimerSleep;
  if (deadline == timer_at_) return;  // already armed for it
  timer_at_ = deadline;
  const uint64_t generation = ++timer_generation_;
  const Duration wait = deadline > t ? deadline - t : Duration::zero();
  timer_.expires_after(wait);
  timer_.async_wait([this, generation](const boost::system::error_code& ec) {
    if (ec || generation != timer_generation_) return;
    on_timer();
  });
}

void GossipHost::on_timer() {
  if (stopped_) return;
  timer_at_ = TimePoint::max();
  core_->tick(now());
  drain();
}

void GossipHost::on_packet(const gossip::Address& from, std::vector<uint8_t> plaintext) {
  if (stopped_) return;
  Status st = core_->on_packet(now(), from, plaintext);
  if (!st.is_ok()) {
    channel_.count_reject(st.code());
    spdlog::debug("gossip: packet from {} rejected: {}", from.to_string(), st.to_string());
  }
  drain();
}

Result<std::vector<uint8_t>> GossipHost::on_stream(const gossip::Address& from,
                                                   std::vector<uint8_t> plaintext) {
  if (stopped_) return Status::unavailable("shutting down");
  auto reply = core_->on_stream(now(), from, plaintext);
  drain();
  return reply;
}

void GossipHost::on_reply(uint64_t id, Result<std::vector<uint8_t>> reply) {
  if (stopped_) return;
  auto it = streams_.find(id);
  if (it != streams_.end()) {
    const OpenStream s = it->second;
    streams_.erase(it);
    if (!reply.is_ok()) {
      if (s.kind == gossip::StreamRequest::Kind::kJoin) {
        spdlog::info("gossip: join through {} failed: {}", s.to.to_string(),
                     reply.status().message());
      } else {
        spdlog::debug("gossip: {} with {} failed: {}", stream_kind_name(s.kind), s.to.to_string(),
                      reply.status().message());
      }
    }
    if (s.kind == gossip::StreamRequest::Kind::kJoin) note_join_attempt(s.to, reply.status());
  }
  core_->on_stream_reply(now(), id, std::move(reply));
  drain();
}

void GossipHost::on_view_change(std::function<void(uint64_t)> f) {
  view_subscribers_.push_back(std::move(f));
}

void GossipHost::view_changed() {
  ++view_index_;
  view_dirty_ = true;  // subscribers hear of it at the end of drain()
}

void GossipHost::handle_event(const gossip::Event& e) {
  const gossip::Member& m = e.member;
  switch (e.kind) {
    case Kind::kJoin:
    case Kind::kUpdate:
    case Kind::kSuspect:
    case Kind::kAlive:
    case Kind::kDead:
    case Kind::kLeft:
    case Kind::kReaped:
    case Kind::kJoined:
      view_changed();
      break;
    default:
      break;
  }
  switch (e.kind) {
    case Kind::kJoin:
      spdlog::info("gossip: member {} joined", describe(m));
      break;
    case Kind::kUpdate:
      spdlog::info("gossip: member {} updated its metadata (incarnation {})", describe(m),
                   m.incarnation);
      break;
    case Kind::kSuspect:
      spdlog::info("gossip: member {} is suspect", describe(m));
      break;
    case Kind::kAlive:
      spdlog::info("gossip: member {} is alive again (incarnation {})", describe(m), m.incarnation);
      break;
    case Kind::kDead:
      spdlog::info("gossip: member {} is dead", describe(m));
      break;
    case Kind::kLeft:
      spdlog::info("gossip: member {} left", describe(m));
      break;
    case Kind::kReaped:
      spdlog::info("gossip: forgot member {}", describe(m));
      break;
    case Kind::kJoined:
      spdlog::info("gossip: joined the cluster ({} members alive)", core_->alive_count());
      break;
    case Kind::kQuery: {
      auto it = query_handlers_.find(e.query.name);
      if (it == query_handlers_.end()) {
        spdlog::debug("gossip: no handler for query \"{}\"", e.query.name);
        break;
      }
      std::vector<uint8_t> answer = it->second(e.query);
      if (stopped_) break;
      core_->respond(now(), e.query, std::move(answer));
      break;
    }
    case Kind::kQueryResponse: {
      auto it = queries_.find(e.query.id);
      if (it != queries_.end()) it->second.on_response(e.query.responder, e.query.response);
      break;
    }
    case Kind::kQueryDone: {
      auto it = queries_.find(e.query.id);
      if (it != queries_.end()) {
        PendingQuery q = std::move(it->second);
        queries_.erase(it);
        q.on_done(false);
      }
      break;
    }
  }
}

// ---------------------------------------------------------------- persistence

void GossipHost::schedule_persist() {
  if (options_.members_path.empty()) return;
  members_dirty_ = true;
  if (persist_armed_) return;
  persist_armed_ = true;
  persist_timer_.expires_after(options_.persist_debounce);
  persist_timer_.async_wait([this](const boost::system::error_code& ec) {
    persist_armed_ = false;
    if (ec || stopped_) return;
    save_members();
  });
}

void GossipHost::save_members() {
  if (options_.members_path.empty()) return;
  members_dirty_ = false;
  const auto bytes = gossip::Gossip::encode_members(core_->members());
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  if (Status st = write_file_atomic(options_.members_path, text, 0600); !st.is_ok()) {
    spdlog::warn("gossip: cannot save the member list: {}", st.message());
  }
}

void GossipHost::restore_members() {
  if (options_.members_path.empty()) return;
  const std::string path = options_.members_path.string();
  auto text = read_small_file(options_.members_path, kMaxMembersFileBytes);
  if (!text.is_ok()) {
    spdlog::warn("gossip: ignoring the remembered members: {}", text.status().message());
    return;
  }
  if (!text->has_value()) return;
  const auto& data = **text;
  auto members = gossip::Gossip::decode_members(
      std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(data.data()), data.size()));
  if (!members.is_ok()) {
    spdlog::warn("gossip: ignoring {}: {}", path, members.status().message());
    return;
  }
  // Our own record comes along: the core starts above our previous incarnation.
  const auto others = std::count_if(members->begin(), members->end(),
                                    [&](const gossip::Member& m) { return m.id != options_.self; });
  if (others > 0) {
    spdlog::info("gossip: rejoining through {} remembered member(s) from {}", others, path);
  }
  core_->restore(now(), *members);
}

// ---------------------------------------------------------------- join

void GossipHost::join(const std::vector<gossip::Address>& seeds,
                      std::function<void(JoinOutcome)> done) {
  if (stopped_) {
    done({503, 0, "the agent is shutting down"});
    return;
  }
  std::vector<gossip::Address> own;
  const auto others = without_self(seeds, &own);
  if (others.empty()) {
    done({400, 0, own.front().to_string() + " is this agent's own gossip address"});
    return;
  }
  const uint64_t id = next_join_++;
  PendingJoin& j = joins_[id];
  j.seeds.insert(others.begin(), others.end());
  j.done = std::move(done);
  j.deadline = std::make_unique<asio::steady_timer>(io_);
  j.deadline->expires_after(options_.join_limit);
  j.deadline->async_wait([this, id](const boost::system::error_code& ec) {
    if (!ec) settle_joins(true, id);
  });
  core_->join(now(), others);
  drain();
}

void GossipHost::note_join_attempt(const gossip::Address& to, const Status& outcome) {
  for (auto& [id, j] : joins_) {
    if (!j.seeds.contains(to)) continue;
    if (outcome.is_ok()) {
      j.answered.insert(to);
      j.failed.erase(to);
    } else if (!j.answered.contains(to)) {
      j.failed[to] = outcome.message();
    }
  }
  settle_joins(false);
}

void GossipHost::settle_joins(bool deadline_passed, uint64_t only) {
  for (auto it = joins_.begin(); it != joins_.end();) {
    PendingJoin& j = it->second;
    const bool mine = only == 0 || it->first == only;
    const bool complete = j.answered.size() + j.failed.size() >= j.seeds.size();
    if (!complete && !(deadline_passed && mine)) {
      ++it;
      continue;
    }
    JoinOutcome out;
    out.joined = j.answered.size();
    if (out.joined == 0) {
      std::string why;
      for (const auto& [addr, msg] : j.failed) {
        if (!why.empty()) why += "; ";
        why += msg;
      }
      if (complete) {
        out.http_status = 503;
        out.error = "no seed answered: " + why + " (the agent keeps retrying in the background)";
      } else {
        out.http_status = 504;
        out.error = "no seed answered within " + format_duration(options_.join_limit) +
                    " (the agent keeps retrying in the background)";
      }
    }
    j.deadline->cancel();
    auto done = std::move(j.done);
    it = joins_.erase(it);
    done(std::move(out));
  }
}

// ---------------------------------------------------------------- leave

void GossipHost::leave(std::function<void()> done) {
  if (stopped_) {
    done();
    return;
  }
  leave_done_.push_back(std::move(done));
  if (leaving_) return;
  leaving_ = true;
  spdlog::info("gossip: leaving the cluster");
  core_->leave(now());
  drain();
  leave_deadline_ = now() + options_.leave_drain_limit;
  check_leave();
}

void GossipHost::check_leave() {
  if (stopped_ || leave_done_.empty()) return;
  size_t others = 0;
  for (const auto& m : core_->members()) {
    if (m.id == options_.self) continue;
    if (m.status == gossip::MemberStatus::kAlive || m.status == gossip::MemberStatus::kSuspect) {
      ++others;
    }
  }
  const bool drained = core_->broadcasts_pending() == 0 || others == 0;
  if (drained || now() >= leave_deadline_) {
    if (!drained) spdlog::warn("gossip: leaving before the broadcast drained");
    auto callbacks = std::move(leave_done_);
    for (auto& cb : callbacks) cb();
    return;
  }
  leave_timer_.expires_after(std::chrono::milliseconds(20));
  leave_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) check_leave();
  });
}

// ---------------------------------------------------------------- queries

void GossipHost::set_query_handler(std::string name, QueryHandler handler) {
  query_handlers_[std::move(name)] = std::move(handler);
}

void GossipHost::start_query(std::string name, std::vector<uint8_t> payload, Duration timeout,
                             QueryResponse on_response, QueryDone on_done) {
  if (stopped_) {
    on_done(true);
    return;
  }
  const uint64_t id = core_->start_query(now(), std::move(name), std::move(payload), timeout);
  queries_[id] = PendingQuery{std::move(on_response), std::move(on_done)};
  drain();
}

Duration GossipHost::query_timeout() const {
  const double n = static_cast<double>(core_->alive_count());
  const double scale = std::max(1.0, std::ceil(std::log10(n + 1)));
  const Duration t =
      std::chrono::duration_cast<Duration>(options_.config.gossip_interval * 16 * scale);
  return std::max<Duration>(t, std::chrono::milliseconds(500));
}

}  // namespace shoal::node
