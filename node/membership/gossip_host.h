// GossipHost runs the pure gossip core (gossip/gossip.h) inside the agent:
// it owns the core, the transports and the core's timer, feeds the core
// `now`, opened packets and stream frames, and after every call drains
// take_ready(): persistence first (the member list, debounced, to
// <data-dir>/members), then packets, then streams, then events (logged;
// queries dispatched to handlers). It also carries the HTTP API's
// long-running operations: join (answered once every seed had one attempt),
// leave (answered once the "left" broadcast drained, or after a bound) and
// cluster-wide queries (answered at the query's deadline).
//
// Everything runs on the agent's io_context thread.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/rng.h"
#include "core/status.h"
#include "core/time.h"
#include "gossip/gossip.h"
#include "node/net/gossip_channel.h"
#include "node/net/gossip_transport.h"

namespace shoal::node {

inline constexpr std::string_view kMembersFile = "members";

struct GossipHostOptions {
  gossip::Config config;
  NodeId self;
  gossip::NodeMeta meta;
  std::filesystem::path members_path;  // <data-dir>/members
  GossipTransportOptions transport;
  uint64_t rng_seed = 0;
  std::chrono::milliseconds persist_debounce{1000};
  std::chrono::milliseconds leave_drain_limit{3000};
  std::chrono::milliseconds join_limit{20000};  // an HTTP join answers by then at the latest
  // The time the core is given and the leave deadline read; null: a
  // SteadyClock started with the host. A test may share a ManualClock.
  std::shared_ptr<const Clock> clock;
};

// How POST /v1/agent/join ends.
struct JoinOutcome {
  unsigned http_status = 200;  // 200, 503 (no seed answered), 504 (no answer in time)
  size_t joined = 0;           // seeds that answered
  std::string error;           // for non-200: which seeds failed and why
};

class GossipHost {
 public:
  using QueryHandler = std::function<std::vector<uint8_t>(const gossip::QueryInfo&)>;
  using QueryResponse = std::function<void(const NodeId& responder, std::vector<uint8_t> bytes)>;
  using QueryDone = std::function<void(bool cancelled)>;

  GossipHost(boost::asio::io_context& io, GossipChannel& channel, GossipHostOptions options);
  GossipHost(const GossipHost&) = delete;
  GossipHost& operator=(const GossipHost&) = delete;
  ~GossipHost();

  // Listens, restores the remembered members, and starts joining `seeds`
  // (retried by the core with backoff until one answers).
  [[nodiscard]] Status start(const std::vector<gossip::Address>& seeds);
  // Closes the transports, saves the member list, and answers every pending
  // join, leave and query (as cancelled). Idempotent.
  void stop();

  void join(const std::vector<gossip::Address>& seeds, std::function<void(JoinOutcome)> done);
  // Broadcasts that this node leaves; `done` runs once the broadcast drained
  // (or after leave_drain_limit).
  void leave(std::function<void()> done);
  bool leaving() const { return leaving_; }

  // Publishes new metadata for this node (gossip::Gossip::update_meta).
  void update_meta(gossip::NodeMeta meta);

  // Answers queries named `name` arriving from any member (ourselves included).
  void set_query_handler(std::string name, QueryHandler handler);
  // Sends a query to every member; responses arrive until the timeout, then done.
  void start_query(std::string name, std::vector<uint8_t> payload, Duration timeout,
                   QueryResponse on_response, QueryDone on_done);
  // How long a cluster-wide query gathers answers, for the current size.
  Duration query_timeout() const;

  const gossip::Gossip& core() const { return *core_; }

  // A local counter of the member view, for blocking queries on
  // /v1/members: it starts at 1 and grows whenever a member joins, changes
  // its metadata or status, or is forgotten, and when this agent changes its
  // own metadata. It means nothing on another agent, nor across a restart.
  uint64_t view_index() const { return view_index_; }
  // Calls `f` with the new view_index() after it moved (on the agent thread,
  // once per burst of changes).
  void on_view_change(std::function<void(uint64_t)> f);
  const GossipTransportStats& transport_stats() const { return transport_->stats(); }
  const std::string& profile_name() const { return profile_; }
  void set_profile_name(std::string name) { profile_ = std::move(name); }

 private:
  struct PendingJoin {
    std::set<gossip::Address> seeds;
    std::set<gossip::Address> answered;
    std::map<gossip::Address, std::string> failed;
    std::unique_ptr<boost::asio::steady_timer> deadline;
    std::function<void(JoinOutcome)> done;
  };
  struct PendingQuery {
    QueryResponse on_response;
    QueryDone on_done;
  };
  struct OpenStream {
    gossip::StreamRequest::Kind kind;
    gossip::Address to;
  };

  TimePoint now() const;
  bool is_self(const gossip::Address& addr) const;
  std::vector<gossip::Address> without_self(const std::vector<gossip::Address>& seeds,
                                            std::vector<gossip::Address>* dropped) const;
  void drain();
  void arm_timer();
  void on_timer();
  void on_packet(const gossip::Address& from, std::vector<uint8_t> plaintext);
  Result<std::vector<uint8_t>> on_stream(const gossip::Address& from,
                                         std::vector<uint8_t> plaintext);
  void on_reply(uint64_t id, Result<std::vector<uint8_t>> reply);
  void handle_event(const gossip::Event& event);
  void schedule_persist();
  void save_members();
  void restore_members();
  void note_join_attempt(const gossip::Address& to, const Status& outcome);
  void settle_joins(bool deadline_passed, uint64_t only = 0);
  void check_leave();

  boost::asio::io_context& io_;
  GossipChannel& channel_;
  GossipHostOptions options_;
  std::string profile_;
  std::shared_ptr<const Clock> clock_;
  Rng rng_;
  std::unique_ptr<gossip::Gossip> core_;
  std::unique_ptr<GossipTransport> transport_;
  boost::asio::steady_timer timer_;
  TimePoint timer_at_ = TimePoint::max();
  uint64_t timer_generation_ = 0;
  void view_changed();
  uint64_t view_index_ = 1;
  bool view_dirty_ = false;
  std::vector<std::function<void(uint64_t)>> view_subscribers_;
  boost::asio::steady_timer persist_timer_;
  bool persist_armed_ = false;
  bool members_dirty_ = false;
  boost::asio::steady_timer leave_timer_;
  TimePoint leave_deadline_{};
  std::vector<std::function<void()>> leave_done_;
  bool leaving_ = false;
  bool draining_ = false;
  bool stopped_ = false;
  std::map<uint64_t, OpenStream> streams_;
  std::map<uint64_t, PendingJoin> joins_;
  uint64_t next_join_ = 1;
  std::map<uint64_t, PendingQuery> queries_;
  std::map<std::string, QueryHandler, std::less<>> query_handlers_;
};

}  // namespace shoal::node
