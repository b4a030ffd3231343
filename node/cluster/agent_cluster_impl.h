// The parts of AgentCluster (node/cluster/agent_cluster.h), shared by its three .cc
// files: agent_cluster.cc (lifecycle, formation, address book, autopilot,
// node registry), cluster_rpc_service.cc (forwarding and the followed log)
// and cluster_http.cc (the HTTP endpoints). Internal to node/.
#pragma once

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "core/time.h"
#include "node/cluster/agent_cluster.h"
#include "node/cluster/autopilot_loop.h"
#include "node/cluster/cluster_machine.h"
#include "node/cluster/cluster_rpc.h"
#include "node/cluster/follow_client.h"
#include "node/cluster/follow_holds.h"
#include "node/cluster/follow_plan.h"
#include "node/cluster/forward_router.h"
#include "node/cluster/replaced_voter.h"
#include "node/consensus/raft_host.h"
#include "node/consensus/raft_rpc.h"
#include "node/http/blocking_queries.h"
#include "node/http/cluster_views.h"
#include "node/net/rpc_transport.h"

namespace shoal::raft {
class FaultFs;
}  // namespace shoal::raft

namespace shoal::node {

// What this node is in the cluster, as published in gossip metadata.
enum class ClusterRole { kNone, kObserver, kLearner, kVoter };
const char* role_name(ClusterRole r);

// The two ways a request can fail for want of a leader (docs/api.md):
// 503 with Retry-After guarantees that nothing was done (no leader, the
// leader refused it, or it never reached the leader): retrying is safe.
// 504 says the request reached a leader that may have applied it (the leader
// was lost before the entry committed, or its answer never came back): a
// write may or may not have happened.
HttpResponse unavailable(std::string_view why);
HttpResponse outcome_unknown(std::string_view why);

// A voter holds at most this many follow requests (long polls); beyond, it
// answers at once and the observers ask again on their next tick.
inline constexpr size_t kMaxHeldFollows = 10000;

// A member as gossip shows it, with the fields the cluster needs.
struct PeerInfo {
  NodeId id;
  std::string name;
  std::string address;  // advertised IP
  uint16_t rpc_port = 0;
  bool alive = false;
  std::string role;  // from its metadata
  std::string cluster_id;
  std::string zone;
  bool may_vote = true;
  std::optional<uint32_t> state_schema;  // node/cluster/upgrade_gate.h
};

struct AgentCluster::Impl {
  Impl(boost::asio::io_context& io, const AgentConfig& config, const NodeIdentity& identity,
       std::filesystem::path data_dir, AgentGossip& gossip);

  // ---- agent_cluster.cc ----
  Status start();
  void stop();
  void on_tick();
  void arm_tick();
  void refresh_peers();
  void maybe_bootstrap();
  Status open_raft(std::optional<raft::ConfState> bootstrap);
  Status adopt_cluster_id(const std::string& id);
  void on_role_change(bool leader, uint64_t term, const NodeId& leader_id);
  void refresh_status();
  void publish_meta();
  void run_autopilot(const RaftStatus& st);
  void write_node_upserts();
  ClusterRole role() const;
  std::optional<boost::asio::ip::tcp::endpoint> rpc_endpoint(const NodeId& id) const;
  std::string name_of(const NodeId& id) const;
  // The upgrade rule: why `entry` must not be proposed yet (a voter does not
  // understand it), or nullopt.
  std::optional<std::string> upgrade_holdout(std::span<const uint8_t> entry) const;

  // A request forwarded to the leader or waiting for one (ForwardRouter's
  // handle): how to answer it and, for this agent's own client, the request
  // to dispatch again.
  struct ForwardCall {
    std::shared_ptr<HttpRequest> req;  // null for a request another agent forwarded here
    HttpRespond respond;
  };
  using Forwards = ForwardRouter<ForwardCall, HttpResponse, boost::asio::ip::tcp::endpoint>;

  // ---- cluster_rpc_service.cc ----
  // On the cluster thread: a Raft frame goes straight to the host; every
  // other frame is handed to the agent thread (serve_frame).
  void on_server_frame(const NodeId& peer, std::vector<uint8_t> frame, RpcReply reply);
  void serve_frame(const NodeId& peer, std::vector<uint8_t> frame, RpcReply reply);
  void on_client_frame(const NodeId& peer, std::vector<uint8_t> frame);
  // From the agent thread: sends `frame` to `to` on the cluster thread;
  // on_fail(why) runs on the agent thread if the client refuses it.
  void send_rpc(const boost::asio::ip::tcp::endpoint& to, std::vector<uint8_t> frame,
                std::function<void(const Status&)> on_fail);
  // From any thread: sends `frame` back on `reply`'s connection.
  void send_reply(RpcReply reply, std::vector<uint8_t> frame);
  void serve_forward(ForwardRequest req, RpcReply reply);
  // Sends an HTTP request to the leader; `respond` gets its answer, a 503
  // (nothing done) or a 504 (outcome unknown). A request from a client of
  // this agent (not itself forwarded) that finds no usable leader, or that
  // the leader answers 503, waits for one (await_leader).
  void forward(const HttpRequest& req, HttpRespond respond);
  // A connection to `peer` failed: its forwarded requests will get no
  // answer. Those it never sent (the connection never opened) wait for a
  // leader again; the others are abandoned (ForwardRouter::connection_failed).
  void on_client_failure(const boost::asio::ip::tcp::endpoint& peer, bool was_open);
  // Another node now leads: requests forwarded to an earlier leader get
  // kOldLeaderGrace more (ForwardRouter::on_leader).
  void release_forwards_to_old_leaders();
  // Carries out what the router decided (answers, dispatches again), then
  // re-arms forward_timer.
  void run_forwards(std::vector<Forwards::Action> actions);
  void run_forwards(std::optional<Forwards::Action> action);
  // Arms forward_timer at forward_router.next_deadline(), unless it is
  // armed for no later; it runs check_leader_waiters().
  void arm_forward_timer();

  // ---- waiting for a leader (cluster_http.cc) ----
  // Parks `req`, for which nothing was proposed or sent to a leader yet,
  // until this agent knows a leader it can use: itself, or another agent
  // whose RPC address it knows and which is not `avoid` (the leader that
  // just failed the request; it is tried again after kAvoidFor). Then the
  // request is dispatched again from the start, which cannot apply a write
  // twice. At req.leader_wait_until (now + kLeaderWait on its first wait)
  // it is answered 503 saying `why` (ForwardRouter::wait).
  void await_leader(HttpRequest req, HttpRespond respond, std::string why, NodeId avoid = {});
  // Runs what is due in forward_router: dispatches the waiters whose leader
  // is there, answers the expired ones and the forwards whose time is up;
  // on every leader change and from forward_timer.
  void check_leader_waiters();
  // What ForwardRouter decides on: who leads, whether it is reachable.
  LeaderView leader_view() const;

  // ---- the followed log (cluster_follow.cc) ----
  // A voter serving the log: answers at once, or holds a long poll
  // (FollowRequest::wait_ms) until wake_held_follows() finds it answerable.
  void serve_follow(const FollowRequest& req, RpcReply reply);
  void answer_follow(const FollowRequest& req, RpcReply reply);
  // What FollowHolds decides on: applied index, term, leader, serving.
  FollowView follow_view() const;
  // Answers the held requests that now have something (an entry applied, a
  // new leader or term), or whose time is up; all of them when stopping.
  void wake_held_follows();
  void arm_held_follow_timer();
  // An observer: sends the next follow request and the probes its
  // FollowClient wants (on every tick, answer and failure).
  void follow_step();
  // Sends FollowClient's requests; a failed one is reported back to it.
  void send_follow(std::vector<FollowClient::Send> sends);
  // `peer`: who answered. On a member of the configuration only probes
  // count: they tell whether the cluster replaced it (step_out_of_raft).
  void on_follow_response(const NodeId& peer, FollowResponse r);
  // A member that has known no leader for kLeaderlessProbeAfter asks the
  // voters it knows who leads, once per kLeaderlessProbeEvery.
  void probe_while_leaderless();
  // The cluster replaced this agent (node/cluster/replaced_voter.h): stops the Raft
  // host, moves <data-dir>/raft aside and goes on as an observer.
  void step_out_of_raft(const std::string& why);
  // The voters an observer may follow, in id order.
  std::vector<NodeId> follow_sources() const;
  // The connection to `peer` (an RPC endpoint) failed: a follow source or
  // the leader is gone, so ask the voters at once.
  void follow_peer_failed(const boost::asio::ip::tcp::endpoint& peer);

  // ---- cluster_http.cc ----
  void add_routes(const std::shared_ptr<Router>& router);
  // A write: on the leader, proposes `command` and answers with
  // render(outcome, index) once it is applied here (503 when the outcome is
  // unknown, 500 when the entry was not of the `expected` kind); elsewhere
  // forwards `req` to the leader.
  void propose_command(const HttpRequest& req, std::vector<uint8_t> command,
                       scheduler::ApplyResult::Kind expected,
                       std::function<HttpResponse(const scheduler::ApplyResult&, uint64_t)> render,
                       HttpRespond respond);
  // A read: calls `local` (which answers) at once with `stale`, else once a
  // ReadIndex round says the local state is current; forwards `req` to the
  // leader when this agent has no Raft log or its read fails.
  void read_consistent(const HttpRequest& req, bool stale, std::function<void()> local,
                       HttpRespond respond);
  // The endpoints (cluster_views.h says what each takes and answers).
  HttpResponse get_status() const;
  void get_raft_peers(const HttpRequest& req, HttpRespond respond);
  void post_transfer_leader(const HttpRequest& req, HttpRespond respond);
  void serve_kv(const HttpRequest& req, HttpRespond respond);
  void get_snapshot(const HttpRequest& req, HttpRespond respond);
  void put_snapshot(const HttpRequest& req, HttpRespond respond);
  // GET /v1/raft/peers as a view, and its local change counter: moved (and
  // its blocking queries woken) by note_peers_view() whenever the rendered
  // list differs from the last one, checked on every tick, on every gossip
  // view change and before each request.
  PeersView peers_view() const;
  void note_peers_view();
  // The highest commit index this agent has heard of: what the leader sent
  // it (voters and learners, via RaftStatus), or what the voter it follows
  // sent with the log (observers); never below the applied index.
  uint64_t known_commit() const;
  void await_new_leader(const NodeId& to, TimePoint deadline,
                        std::shared_ptr<boost::asio::steady_timer> timer, HttpRespond respond);

  // Fixed at construction.
  boost::asio::io_context& io;
  AgentConfig config;
  NodeIdentity identity;
  std::filesystem::path data_dir;
  AgentGossip& gossip;
  std::weak_ptr<Router> router;

  // The cluster thread. The RPC server and client, the Raft transport and
  // the Raft host live on rpc_io, run by rpc_thread: a Raft message goes
  // from the socket to the core, the disk and back out without a thread
  // hop, and a slow fsync never holds up gossip or HTTP on the agent thread.
  // Declared before the objects that use it, so that it outlives them.
  std::unique_ptr<boost::asio::io_context> rpc_io;
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>> rpc_work;
  std::thread rpc_thread;

  // RPC.
  std::unique_ptr<RpcServer> server;
  std::unique_ptr<RpcClient> client;
  std::unique_ptr<RaftRpcTransport> transport;

  // Raft and the state (the host is null on observers).
  ClusterMachine machine;
  std::unique_ptr<RaftHost> raft;
  std::unique_ptr<RaftRpcReceiver> receiver;
  // `receiver` for the cluster thread, set once the host is open.
  std::atomic<RaftRpcReceiver*> raft_receiver{nullptr};
  std::string cluster_id;
  std::string bootstrap_status;

  // What the agent thread knows of Raft (updated from on_role_change and
  // periodic status() calls).
  NodeId leader;
  uint64_t term = 0;
  bool is_leader = false;
  std::optional<RaftStatus> status;
  raft::ConfState conf;  // voters and learners, also known to observers

  // Gossip's view, refreshed every tick.
  std::map<NodeId, PeerInfo> peers;

  // The followed log (observers), and the probes of a member without a
  // leader.
  FollowClient follow;
  // Follow requests a voter holds (long polls), and its timer for them.
  FollowHolds<RpcReply> held_follows{kMaxHeldFollows};
  std::atomic<size_t> held_follow_count{0};  // read by the applying thread
  std::atomic<bool> held_follow_wake_posted{false};
  boost::asio::steady_timer held_follow_timer;

  // A member without a leader (probe_while_leaderless), and the step out.
  LeaderlessProbe leaderless;
  bool stepping_out = false;

  // Autopilot and the node registry (leader).
  AutopilotLoop autopilot;
  size_t upserts_inflight = 0;
  TimePoint last_upserts{};

  // Blocking queries, by the KV index they wait to see passed.
  BlockingQueries waiters;
  // Blocking queries on /v1/raft/peers, by the peers_index they have seen.
  BlockingQueries peers_waiters;
  uint64_t peers_index = 1;
  std::string peers_text;  // the list peers_index stands for
  void wake_waiters();

  std::atomic<bool> waiters_wake_posted{false};
  std::atomic<uint64_t> frames_dropped_decode{0};

  // Requests forwarded to the leader or waiting for one, and the one timer
  // that runs them (at forward_router.next_deadline(), the time it is set
  // for in forward_timer_at).
  Forwards forward_router;
  // The time the agent reads (a simulation may replace it).
  std::unique_ptr<Clock> clock = std::make_unique<SteadyClock>();
  boost::asio::steady_timer forward_timer;
  std::optional<TimePoint> forward_timer_at;

  // Test fault power-cut only: the file system the Raft log runs on.
  std::shared_ptr<raft::FaultFs> fault_fs;

  boost::asio::steady_timer tick_timer;
  bool stopped = false;
};

}  // namespace shoal::node
