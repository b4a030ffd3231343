// AgentCluster's RPC channels besides Raft: requests forwarded to the leader
// and the log that observers follow (node/cluster_rpc.h has the messages).
#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <boost/beast/http/field.hpp>

#include "node/agent_cluster_impl.h"
#include "raft/codec.h"

namespace shoal::node {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

constexpr auto kForwardTimeout = 15s;
// How long a request forwarded to a leader that has since been replaced
// may still wait for that leader's answer (one already on its way). Every
// millisecond here is unavailability when the old leader is paused or cut
// off: the chaos suite measured windows of 3.4-3.7 s with a whole second.
constexpr auto kOldLeaderGrace = 200ms;

// Whether a Raft frame's message is a request a member of the
// configuration sends to another: a leader's appends, a candidate's vote
// requests. Answers (to votes this agent asked for before it stepped out of
// Raft, say) never make it a member.
bool from_a_member(std::span<const uint8_t> body) {
  auto m = raft::codec::decode_message(body);
  if (!m) return false;
  switch (m->kind) {
    case raft::MessageKind::kAppend:
    case raft::MessageKind::kHeartbeat:
    case raft::MessageKind::kSnapshot:
    case raft::MessageKind::kPreVote:
    case raft::MessageKind::kVote:
      return true;
    default:
      return false;
  }
}

}  // namespace

// ---- inbound frames ----

void AgentCluster::Impl::on_server_frame(const NodeId& peer, std::vector<uint8_t> frame,
                                         RpcReply reply) {
  if (frame.empty()) return;
  if (frame.front() == kRaftRpcChannel) {
    if (RaftRpcReceiver* r = raft_receiver.load(std::memory_order_acquire)) {
      r->on_frame(peer, frame);
      return;
    }
  }
  asio::post(io, [this, peer, frame = std::move(frame), reply = std::move(reply)]() mutable {
    serve_frame(peer, std::move(frame), std::move(reply));
  });
}

void AgentCluster::Impl::serve_frame(const NodeId& peer, std::vector<uint8_t> frame,
                                     RpcReply reply) {
  if (stopped || frame.empty()) return;
  const uint8_t tag = frame.front();
  const std::span<const uint8_t> body(frame.data() + 1, frame.size() - 1);
  switch (tag) {
    case kRaftRpcChannel: {
      if (!raft) {
        // The leader added this observer as a learner: from now on it keeps
        // a Raft log of its own (or a candidate that formed the cluster
        // counts on its vote). Only a member of our own cluster may, and
        // only with a request (not a late answer to a vote this agent asked
        // for before it stepped out of Raft).
        auto it = peers.find(peer);
        if (stepping_out || cluster_id.empty() || it == peers.end() ||
            it->second.cluster_id != cluster_id || !from_a_member(body)) {
          frames_dropped_decode.fetch_add(1, std::memory_order_relaxed);
          return;
        }
        spdlog::info("raft: {} replicates to this node: it joins the configuration",
                     it->second.name);
        if (Status st = open_raft(std::nullopt); !st.is_ok()) {
          spdlog::error("raft: cannot open the log: {}", st.message());
          return;
        }
      }
      receiver->on_frame(peer, frame);
      return;
    }
    case kForwardRpcChannel: {
      auto req = decode_forward_request(body);
      if (!req) {
        frames_dropped_decode.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      serve_forward(std::move(*req), std::move(reply));
      return;
    }
    case kFollowRpcChannel: {
      auto req = decode_follow_request(body);
      if (!req) {
        frames_dropped_decode.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      serve_follow(*req, std::move(reply));
      return;
    }
    default:
      frames_dropped_decode.fetch_add(1, std::memory_order_relaxed);
  }
}

void AgentCluster::Impl::on_client_frame(const NodeId& peer, std::vector<uint8_t> frame) {
  if (stopped || frame.empty()) return;
  const std::span<const uint8_t> body(frame.data() + 1, frame.size() - 1);
  if (frame.front() == kForwardRpcChannel) {
    auto resp = decode_forward_response(body);
    if (!resp) {
      frames_dropped_decode.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto it = forwards.find(resp->id);
    if (it == forwards.end()) return;  // timed out already
    PendingForward pending = std::move(it->second);
    forwards.erase(it);
    if (pending.timer) pending.timer->cancel();
    HttpResponse r;
    r.status = resp->status;
    r.content_type = std::move(resp->content_type);
    r.body = std::move(resp->body);
    r.headers = std::move(resp->headers);
    if (r.status == 503 && pending.retry) {
      // The leader did nothing with it (it is stepping down, or lost its
      // quorum): wait for the next one, or answer its 503 at the deadline.
      await_leader(std::move(*pending.retry), std::move(pending.respond),
                   "the leader could not take the request", pending.leader, std::move(r));
      return;
    }
    pending.respond(std::move(r));
  } else if (frame.front() == kFollowRpcChannel) {
    auto resp = decode_follow_response(body);
    if (!resp) {
      frames_dropped_decode.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    on_follow_response(peer, std::move(*resp));
  } else {
    frames_dropped_decode.fetch_add(1, std::memory_order_relaxed);
  }
}

// ---- forwarding ----

void AgentCluster::Impl::serve_forward(ForwardRequest req, RpcReply reply) {
  auto r = router.lock();
  const auto method = boost::beast::http::string_to_verb(req.method);
  const uint64_t id = req.id;
  auto answer = [this, id, reply](HttpResponse resp) {
    ForwardResponse out;
    out.id = id;
    out.status = resp.status;
    out.content_type = std::move(resp.content_type);
    out.body = std::move(resp.body);
    out.headers = std::move(resp.headers);
    if (out.body.size() > kMaxForwardBody) {
      out.status = 500;
      out.content_type = "application/json";
      out.body = R"({"error":"the answer is too large to forward; ask the leader directly"})";
      out.headers.clear();
    }
    send_reply(reply, encode_frame(out));
  };
  if (!r || method == HttpMethod::unknown) {
    answer(HttpResponse::error(400, "unknown method " + req.method));
    return;
  }
  HttpRequest http;
  http.method = method;
  http.target = std::move(req.target);
  http.body = std::move(req.body);
  if (!req.content_type.empty()) {
    http.headers.set(boost::beast::http::field::content_type, req.content_type);
  }
  http.remote = "rpc";
  http.forwarded_hops = req.hops;
  r->dispatch(std::move(http), std::move(answer));
}

void AgentCluster::Impl::forward(const HttpRequest& req, HttpRespond respond) {
  if (stopped) {
    respond(unavailable("the agent is shutting down"));
    return;
  }
  // Only the agent the client asked waits for a leader; one that was
  // forwarded the request answers at once and lets that agent wait.
  const bool may_wait = req.forwarded_hops == 0;
  auto no_leader = [&](std::string why, NodeId avoid) {
    if (may_wait) {
      await_leader(req, std::move(respond), std::move(why), avoid);
    } else {
      respond(unavailable(why));
    }
  };
  if (req.forwarded_hops >= kMaxForwardHops) {
    respond(unavailable("leadership is changing; retry shortly"));
    return;
  }
  if (leader.is_zero()) {
    no_leader("no Raft leader is known right now; retry shortly", {});
    return;
  }
  if (leader == identity.id) {
    no_leader("leadership is changing; retry shortly", identity.id);
    return;
  }
  auto to = rpc_endpoint(leader);
  if (!to) {
    no_leader("the leader's RPC address is not known yet; retry shortly", {});
    return;
  }
  if (req.body.size() > kMaxForwardBody) {
    respond(HttpResponse::error(413, "the body is too large to forward to the leader"));
    return;
  }
  ForwardRequest f;
  f.id = next_forward_id++;
  f.hops = static_cast<uint8_t>(req.forwarded_hops + 1);
  f.method = std::string(boost::beast::http::to_string(req.method));
  f.target = req.target;
  f.body = req.body;
  if (auto ct = req.headers.find(boost::beast::http::field::content_type);
      ct != req.headers.end()) {
    f.content_type = std::string(ct->value());
  }
  // A blocking query may legitimately wait at the leader for its `wait`.
  Duration timeout = kForwardTimeout;
  if (auto w = req.query_value("wait"); w && req.query_value("index")) {
    timeout += std::chrono::minutes(10);
  }
  PendingForward pending;
  pending.respond = std::move(respond);
  pending.to = *to;
  pending.leader = leader;
  pending.releasable = !req.path.starts_with("/v1/raft/");
  if (may_wait) pending.retry = std::make_shared<HttpRequest>(req);
  pending.timer = std::make_unique<asio::steady_timer>(io);
  const uint64_t id = f.id;
  auto& timer = *pending.timer;
  forwards.emplace(id, std::move(pending));
  arm_forward_timer(id, timer, timeout, "the leader did not answer in time");
  send_rpc(*to, encode_frame(f), [this, id](const Status& st) {
    auto it = forwards.find(id);
    if (it == forwards.end()) return;
    PendingForward pending = std::move(it->second);
    forwards.erase(it);
    if (pending.timer) pending.timer->cancel();
    // Refused before anything was sent.
    std::string why = "cannot reach the leader: " + st.message();
    if (pending.retry) {
      await_leader(std::move(*pending.retry), std::move(pending.respond), std::move(why),
                   pending.leader);
    } else {
      pending.respond(unavailable(why));
    }
  });
}

void AgentCluster::Impl::send_reply(RpcReply reply, std::vector<uint8_t> frame) {
  // Handlers answer on the agent or the cluster thread; RpcReply belongs to
  // the cluster thread.
  asio::post(*rpc_io,
             [reply, frame = std::move(frame)]() mutable { (void)reply.send(std::move(frame)); });
}

void AgentCluster::Impl::send_rpc(const boost::asio::ip::tcp::endpoint& to,
                                  std::vector<uint8_t> frame,
                                  std::function<void(const Status&)> on_fail) {
  asio::post(*rpc_io, [this, to, frame = std::move(frame), on_fail = std::move(on_fail)]() mutable {
    Status st = client->send(to, std::move(frame));
    if (st.is_ok()) return;
    asio::post(io, [this, st, on_fail = std::move(on_fail)] {
      if (!stopped) on_fail(st);
    });
  });
}

void AgentCluster::Impl::on_client_failure(const boost::asio::ip::tcp::endpoint& peer,
                                           bool was_open) {
  // A connection that never opened sent nothing: its requests wait for a
  // leader again. Once it had opened, a request may have reached the leader
  // and a write may have been applied: 504, the outcome is unknown (a CAS
  // write tells a client that retries whether the first attempt landed).
  for (auto it = forwards.begin(); it != forwards.end();) {
    if (it->second.to != peer) {
      ++it;
      continue;
    }
    PendingForward pending = std::move(it->second);
    it = forwards.erase(it);
    if (pending.timer) pending.timer->cancel();
    if (was_open) {
      abandon_forward(std::move(pending),
                      "lost the connection to the leader; the request may or may not have been "
                      "applied");
    } else if (pending.retry) {
      await_leader(std::move(*pending.retry), std::move(pending.respond), "cannot reach the leader",
                   pending.leader);
    } else {
      pending.respond(unavailable("cannot reach the leader"));
    }
  }
  follow_peer_failed(peer);
}

void AgentCluster::Impl::arm_forward_timer(uint64_t id, asio::steady_timer& timer, Duration after,
                                           std::string why) {
  timer.expires_after(after);  // cancels an earlier wait
  timer.async_wait([this, id, why = std::move(why)](const boost::system::error_code& ec) {
    if (ec) return;
    auto it = forwards.find(id);
    if (it == forwards.end()) return;
    PendingForward pending = std::move(it->second);
    forwards.erase(it);
    abandon_forward(std::move(pending), why);
  });
}

void AgentCluster::Impl::release_forwards_to_old_leaders() {
  if (leader.is_zero()) return;  // nobody knows yet whether the old one is gone
  for (auto& [id, pending] : forwards) {
    if (pending.leader == leader || pending.released || !pending.timer) continue;
    // Leadership administration (a transfer answers once the new leader is
    // known) keeps its full timeout; everything else the old leader would
    // answer with 504 anyway once it sees the new term, or never if it is
    // paused or cut off.
    if (!pending.releasable) continue;
    pending.released = true;
    arm_forward_timer(id, *pending.timer, kOldLeaderGrace,
                      "leadership moved and the old leader did not answer; the request may or "
                      "may not have been applied");
  }
}

void AgentCluster::Impl::abandon_forward(PendingForward pending, const std::string& why) {
  const bool read = pending.retry && (pending.retry->method == HttpMethod::get ||
                                      pending.retry->method == HttpMethod::head);
  if (read) {
    await_leader(std::move(*pending.retry), std::move(pending.respond), why, pending.leader);
    return;
  }
  pending.respond(outcome_unknown(why));
}

}  // namespace shoal::node
