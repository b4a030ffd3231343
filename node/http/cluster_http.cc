// AgentCluster's HTTP endpoints (DESIGN.md §4), one named handler each:
// status, Raft peers and leadership transfer, the KV store and the snapshot.
// Request and response shapes are pure (cluster_views.h, kv_http.h); what
// needs the leader is forwarded to it (cluster_rpc_service.cc).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "node/cluster/agent_cluster_impl.h"
#include "node/host/test_faults.h"
#include "node/http/blocking_query.h"
#include "node/http/cluster_views.h"
#include "node/http/kv_http.h"

namespace shoal::node {

namespace asio = boost::asio;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kTransferWait = 5s;

}  // namespace

HttpResponse unavailable(std::string_view why) {
  HttpResponse r = HttpResponse::error(503, why);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse outcome_unknown(std::string_view why) { return HttpResponse::error(504, why); }

void AgentCluster::Impl::add_routes(const std::shared_ptr<Router>& shared) {
  router = shared;
  Router& r = *shared;
  auto async = [this](void (Impl::*handler)(const HttpRequest&, HttpRespond)) {
    return [this, handler](const HttpRequest& req, HttpRespond respond) {
      (this->*handler)(req, std::move(respond));
    };
  };
  r.add(HttpMethod::get, "/v1/status", [this](const HttpRequest&) { return get_status(); });
  r.add_async(HttpMethod::get, "/v1/raft/peers", async(&Impl::get_raft_peers));
  r.add_async(HttpMethod::post, "/v1/raft/transfer-leader", async(&Impl::post_transfer_leader));
  r.add_async(HttpMethod::get, "/v1/kv", async(&Impl::serve_kv));  // ?recurse from the root
  r.add_async(HttpMethod::get, "/v1/kv/*key", async(&Impl::serve_kv));
  r.add_async(HttpMethod::put, "/v1/kv/*key", async(&Impl::serve_kv));
  r.add_async(HttpMethod::delete_, "/v1/kv/*key", async(&Impl::serve_kv));
  r.add_async(HttpMethod::get, "/v1/snapshot", async(&Impl::get_snapshot));
  r.add_async(HttpMethod::put, "/v1/snapshot", async(&Impl::put_snapshot));
}

HttpResponse AgentCluster::Impl::get_status() const {
  StatusView v;
  for (const auto& [id, p] : peers) v.members_alive += p.alive ? 1 : 0;
  v.cluster_id = cluster_id;
  v.leader = leader.is_zero() ? "" : leader.to_string();
  v.leader_name = leader.is_zero() ? "" : name_of(leader);
  v.term = term;
  v.commit_index = std::max(status ? status->commit : 0, machine.applied());
  v.applied_index = machine.applied();
  v.role = role_name(role());
  v.voters = conf.voters.size();
  v.bootstrap = bootstrap_status;
  v.upgrade_required = machine.upgrade_required();
  // Nodes in the replicated registry (the leader's NodeUpsert entries).
  v.nodes = machine.read([](const scheduler::ClusterState& st) { return st.nodes().size(); });
  return render_status(v);
}

PeersView AgentCluster::Impl::peers_view() const {
  auto describe = [this](const NodeId& id) {
    PeerView v{id.to_string(), name_of(id), "", "", false};
    if (auto it = peers.find(id); it != peers.end()) {
      v.address = format_host_port(it->second.address, it->second.rpc_port);
      v.zone = it->second.zone;
      v.alive = it->second.alive;
    }
    return v;
  };
  PeersView out;
  out.leader = leader.is_zero() ? "" : leader.to_string();
  out.leader_name = leader.is_zero() ? "" : name_of(leader);
  for (const NodeId& id : conf.voters) out.voters.push_back(describe(id));
  for (const NodeId& id : conf.learners) out.learners.push_back(describe(id));
  for (const auto& [id, p] : peers) {
    if (conf.contains(id) || !p.alive || p.cluster_id != cluster_id || cluster_id.empty()) {
      continue;
    }
    out.observers.push_back(describe(id));
  }
  return out;
}

void AgentCluster::Impl::note_peers_view() {
  const std::string text = raft_peers_json(peers_view()).dump();
  if (text == peers_text) return;
  peers_text = text;
  ++peers_index;
  peers_waiters.wake(peers_index);
}

void AgentCluster::Impl::get_raft_peers(const HttpRequest& req, HttpRespond respond) {
  note_peers_view();
  serve_indexed(
      req, peers_waiters, [this] { return peers_index; },
      [this] { return HttpResponse::json(200, raft_peers_json(peers_view())); },
      std::move(respond));
}

void AgentCluster::Impl::post_transfer_leader(const HttpRequest& req, HttpRespond respond) {
  if (!is_leader || !raft) {
    forward(req, std::move(respond));
    return;
  }
  auto parsed = parse_transfer_body(req.body);
  if (auto* bad = std::get_if<HttpResponse>(&parsed)) {
    respond(std::move(*bad));
    return;
  }
  const std::string& wanted = std::get<std::string>(parsed);
  NodeId to;
  if (!wanted.empty()) {
    for (const NodeId& v : conf.voters) {
      if (v.to_string() == wanted || name_of(v) == wanted) to = v;
    }
    if (to.is_zero()) {
      respond(HttpResponse::error(400, "\"" + wanted + "\" is not a voter", "to"));
      return;
    }
    if (to == identity.id) {
      respond(HttpResponse::json(200, {{"leader", to.to_string()}, {"leader_name", config.name}}));
      return;
    }
  } else if (status) {
    uint64_t best = 0;
    for (const RaftPeerStatus& p : status->peers) {
      if (!p.learner && p.match >= best) {
        best = p.match;
        to = p.id;
      }
    }
  }
  if (to.is_zero()) {
    respond(HttpResponse::error(409, "there is no other voter to transfer to"));
    return;
  }
  auto shared_respond = std::make_shared<HttpRespond>(std::move(respond));
  raft->transfer_leader(to, [this, to, shared_respond](Status st) {
    asio::post(io, [this, to, st, shared_respond] {
      if (!st.is_ok()) {
        (*shared_respond)(unavailable("transfer refused: " + st.message()));
        return;
      }
      await_new_leader(to, clock->now() + kTransferWait, std::make_shared<asio::steady_timer>(io),
                       *shared_respond);
    });
  });
}

void AgentCluster::Impl::get_snapshot(const HttpRequest& req, HttpRespond respond) {
  auto save = [this, respond] { respond(render_snapshot(machine.snapshot(), machine.applied())); };
  read_consistent(req, req.query_value("stale").has_value(), save, respond);
}

// Restore: the image goes through the log (one kStateRestore entry), so
// every replica replaces its state at the same index.
void AgentCluster::Impl::put_snapshot(const HttpRequest& req, HttpRespond respond) {
  if (auto bad = check_restore_body(req.body)) {
    respond(std::move(*bad));
    return;
  }
  const std::span<const uint8_t> image(reinterpret_cast<const uint8_t*>(req.body.data()),
                                       req.body.size());
  propose_command(
      req, scheduler::encode_restore(image), scheduler::ApplyResult::Kind::kRestored,
      [](const scheduler::ApplyResult&, uint64_t index) { return render_restored(index); },
      std::move(respond));
}

void AgentCluster::Impl::propose_command(
    const HttpRequest& req, std::vector<uint8_t> command, scheduler::ApplyResult::Kind expected,
    std::function<HttpResponse(const scheduler::ApplyResult&, uint64_t)> render,
    HttpRespond respond) {
  if (!is_leader || !raft) {
    forward(req, std::move(respond));
    return;
  }
  if (auto why = upgrade_holdout(command)) {
    respond(unavailable("upgrade in progress: " + *why));
    return;
  }
  // Kept while the proposal is out, to try again if it is refused: only for
  // this agent's own clients (a forwarded request is retried where it came
  // from).
  std::shared_ptr<HttpRequest> retry;
  if (req.forwarded_hops == 0) retry = std::make_shared<HttpRequest>(req);
  raft->propose(std::move(command), [this, expected, render = std::move(render), respond, retry](
                                        Status st, raft::Index index) {
    if (st.code() == StatusCode::kOutcomeUnknown) {
      respond(outcome_unknown("the write may or may not have been applied: " + st.message()));
      return;
    }
    if (!st.is_ok()) {
      // Nothing was proposed (this node no longer leads): wait for the next
      // leader and try again.
      std::string why = "the write was not applied: " + st.message();
      if (!retry) {
        respond(unavailable(why));
        return;
      }
      asio::post(io, [this, retry, respond, why = std::move(why)] {
        await_leader(std::move(*retry), respond, why, identity.id);
      });
      return;
    }
    auto outcome = machine.take_outcome(index.value());
    if (!outcome || outcome->kind != expected) {
      respond(HttpResponse::error(
          500, "the entry at " + std::to_string(index.value()) + " was not applied as expected"));
      return;
    }
    respond(render(*outcome, index.value()));
  });
}

void AgentCluster::Impl::read_consistent(const HttpRequest& req, bool stale,
                                         std::function<void()> local, HttpRespond respond) {
  if (stale) {
    local();
    return;
  }
  if (!raft) {
    forward(req, std::move(respond));
    return;
  }
  raft->read([this, req, local = std::move(local), respond](Status st) {
    asio::post(io, [this, st, req, local, respond] {
      if (st.is_ok()) {
        local();
      } else if (req.forwarded_hops == 0 && !is_leader) {
        forward(req, respond);
      } else if (req.forwarded_hops == 0) {
        await_leader(req, respond, "no linearizable read now: " + st.message(), identity.id);
      } else {
        respond(unavailable("no linearizable read now: " + st.message()));
      }
    });
  });
}

void AgentCluster::Impl::serve_kv(const HttpRequest& req, HttpRespond respond) {
  auto parsed = parse_kv_request(req);
  if (auto* bad = std::get_if<HttpResponse>(&parsed)) {
    respond(std::move(*bad));
    return;
  }
  auto kreq = std::make_shared<KvHttpRequest>(std::move(std::get<KvHttpRequest>(parsed)));
  if (kreq->op == KvHttpRequest::Op::kPut || kreq->op == KvHttpRequest::Op::kDelete ||
      kreq->op == KvHttpRequest::Op::kDeleteTree) {
    if (config.test_faults.ack_before_commit && is_leader && raft) {
      // Test fault: answered before any quorum has the entry.
      const scheduler::KvCommand cmd = kreq->command();
      const auto guess =
          machine.read([&](const scheduler::ClusterState& s) { return guess_kv_outcome(cmd, s); });
      respond(render_kv_write(guess, machine.applied()));
      raft->propose(scheduler::encode(cmd), [](Status, raft::Index) {});
      return;
    }
    propose_command(
        req, scheduler::encode(kreq->command()), scheduler::ApplyResult::Kind::kKv,
        [](const scheduler::ApplyResult& r, uint64_t index) {
          return render_kv_write(r.kv, index);
        },
        std::move(respond));
    return;
  }
  auto local = [this, kreq, respond] {
    std::vector<scheduler::KvEntry> found;
    const uint64_t index = machine.read([&](const scheduler::ClusterState& s) {
      if (kreq->op == KvHttpRequest::Op::kList) {
        found = s.kv().list(kreq->key);
      } else if (auto e = s.kv().get(kreq->key)) {
        found.push_back(std::move(*e));
      }
      return s.kv().index();
    });
    respond(render_kv_read(*kreq, found, index));
  };
  auto read = [this, req, kreq, local, respond] {
    read_consistent(req, kreq->stale, local, respond);
  };
  if (!kreq->index || machine.kv_index() > *kreq->index) {
    read();
    return;
  }
  // An index beyond the commit index this agent has heard of was not handed
  // out by this cluster's log as far as it knows (it predates a restore into
  // a new cluster, or comes from another cluster): waiting for it could take
  // the whole wait or forever. Answer now; the client sees an X-Shoal-Index
  // below its own and starts over from it. A commit this agent has not heard
  // of yet only costs such a client one early answer.
  if (*kreq->index > known_commit()) {
    read();
    return;
  }
  // A blocking query: read once the KV index passes the client's, at the end
  // of its wait, or never if the client goes away first. What waits keeps
  // only the request without its blocking part: the read after the wait
  // must not block again where it is forwarded (an observer forwards it to
  // the leader), and a waiter holds no body.
  auto after_wait = std::make_shared<HttpRequest>(without_blocking_query(req));
  auto read_after_wait = [this, after_wait, kreq, local, respond] {
    read_consistent(*after_wait, kreq->stale, local, respond);
  };
  if (!waiters.add(*kreq->index, kreq->wait, req.cancel, read_after_wait)) {
    respond(too_many_blocking_queries(waiters.max()));
    return;
  }
  // The index may have moved between the check above and now.
  if (machine.kv_index() > *kreq->index) wake_waiters();
}

uint64_t AgentCluster::Impl::known_commit() const {
  uint64_t commit = machine.applied();  // what is applied was committed
  if (raft && status) commit = std::max(commit, status->commit);
  if (!raft) commit = std::max(commit, follow.known().commit);
  return commit;
}

// ---- waiting for a leader ----

LeaderView AgentCluster::Impl::leader_view() const {
  return LeaderView{identity.id, leader, is_leader && raft != nullptr,
                    rpc_endpoint(leader).has_value()};
}

void AgentCluster::Impl::await_leader(HttpRequest req, HttpRespond respond, std::string why,
                                      NodeId avoid) {
  if (stopped) {
    respond(unavailable(why));
    return;
  }
  const std::optional<TimePoint> until = req.leader_wait_until;
  ForwardCall call{std::make_shared<HttpRequest>(std::move(req)), std::move(respond)};
  run_forwards(forward_router.wait(std::move(call), std::move(why), avoid, until, clock->now()));
}

void AgentCluster::Impl::check_leader_waiters() {
  auto gone = [](const ForwardCall& c) {
    return c.req && c.req->cancel && c.req->cancel->cancelled();
  };
  run_forwards(forward_router.take_due(clock->now(), leader_view(), gone));
}

// Polls every 50 ms until another node is known to lead (200 with it), the
// deadline passes (504) or the agent stops (503).
void AgentCluster::Impl::await_new_leader(const NodeId& to, TimePoint deadline,
                                          std::shared_ptr<asio::steady_timer> timer,
                                          HttpRespond respond) {
  if (stopped) return respond(unavailable("the agent is shutting down"));
  if (!leader.is_zero() && leader != identity.id) {
    return respond(HttpResponse::json(
        200, {{"leader", leader.to_string()}, {"leader_name", name_of(leader)}}));
  }
  if (clock->now() > deadline) {
    return respond(
        HttpResponse::error(504, "leadership did not move to " + name_of(to) + " within 5s"));
  }
  refresh_status();
  timer->expires_after(50ms);
  timer->async_wait([this, to, deadline, timer, respond](const boost::system::error_code& ec) {
    if (ec) return respond(unavailable("the agent is shutting down"));
    await_new_leader(to, deadline, timer, respond);
  });
}

}  // namespace shoal::node
