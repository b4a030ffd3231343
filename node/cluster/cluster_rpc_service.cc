// AgentCluster's RPC channels besides Raft: requests forwarded to the leader
// and the log that observers follow (node/cluster/cluster_rpc.h has the messages).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/http/field.hpp>

#include "node/cluster/agent_cluster_impl.h"
#include "raft/codec.h"

namespace shoal::node {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Whether a Raft frame's message is a request a member of the
// configuration sends to another: a leader's appends, a candidate's vote
// requests. Answers (to votes this agent asked for before it stepped out of
// Raft, say) never make it a member.
bool from_a_member(std::span<const uint8_t> body) {
  auto m = raft::codec::decode_message(body);
  return m && opens_raft_log(*m);
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
    HttpResponse r;
    r.status = resp->status;
    r.content_type = std::move(resp->content_type);
    r.body = std::move(resp->body);
    r.headers = std::move(resp->headers);
    // A 503: the leader did nothing with it (it is stepping down, or lost
    // its quorum); this agent's own client waits for the next one, or gets
    // this 503 at the end of its wait.
    const bool refused = r.status == 503;
    run_forwards(forward_router.answered(resp->id, std::move(r), refused, clock->now()));
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
  const ForwardRoute route = route_forward(req.forwarded_hops, leader_view());
  switch (route.kind) {
    case ForwardRoute::Kind::kWait:
      await_leader(req, std::move(respond), route.why, route.avoid);
      return;
    case ForwardRoute::Kind::kUnavailable:
      respond(unavailable(route.why));
      return;
    case ForwardRoute::Kind::kSend:
      break;
  }
  const auto to = rpc_endpoint(leader);  // known: the route says so
  if (req.body.size() > kMaxForwardBody) {
    respond(HttpResponse::error(413, "the body is too large to forward to the leader"));
    return;
  }
  ForwardRequest f;
  f.hops = static_cast<uint8_t>(req.forwarded_hops + 1);
  f.method = std::string(boost::beast::http::to_string(req.method));
  f.target = req.target;
  f.body = req.body;
  if (auto ct = req.headers.find(boost::beast::http::field::content_type);
      ct != req.headers.end()) {
    f.content_type = std::string(ct->value());
  }
  Forwards::Forward sent;
  sent.leader = leader;
  sent.to = *to;
  // A blocking query may legitimately wait at the leader for its `wait`.
  if (auto w = req.query_value("wait"); w && req.query_value("index")) {
    sent.timeout += std::chrono::minutes(10);
  }
  sent.retryable = req.forwarded_hops == 0;
  sent.read = req.method == HttpMethod::get || req.method == HttpMethod::head;
  sent.releasable = !req.path.starts_with("/v1/raft/");
  sent.wait_until = req.leader_wait_until;
  ForwardCall call;
  if (sent.retryable) call.req = std::make_shared<HttpRequest>(req);
  call.respond = std::move(respond);
  const uint64_t id = forward_router.add(std::move(call), std::move(sent), clock->now());
  f.id = id;
  arm_forward_timer();
  send_rpc(*to, encode_frame(f), [this, id](const Status& st) {
    // Refused before anything was sent.
    run_forwards(forward_router.send_failed(id, st.message(), clock->now()));
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
  run_forwards(forward_router.connection_failed(peer, was_open, clock->now()));
  follow_peer_failed(peer);
}

void AgentCluster::Impl::release_forwards_to_old_leaders() {
  forward_router.on_leader(leader, clock->now());
  arm_forward_timer();
}

void AgentCluster::Impl::run_forwards(std::optional<Forwards::Action> action) {
  std::vector<Forwards::Action> actions;
  if (action) actions.push_back(std::move(*action));
  run_forwards(std::move(actions));
}

void AgentCluster::Impl::run_forwards(std::vector<Forwards::Action> actions) {
  using Kind = Forwards::Action::Kind;
  for (Forwards::Action& a : actions) {
    ForwardCall& call = a.handle;
    switch (a.kind) {
      case Kind::kDispatch: {
        auto r = router.lock();
        if (!r || stopped) {
          call.respond(unavailable("the agent is shutting down"));
          break;
        }
        call.req->leader_wait_until = a.wait_until;
        r->dispatch(std::move(*call.req), std::move(call.respond));
        break;
      }
      case Kind::kDeliver:
        call.respond(std::move(*a.response));
        break;
      case Kind::kUnavailable:
        call.respond(unavailable(a.why));
        break;
      case Kind::kOutcomeUnknown:
        call.respond(outcome_unknown(a.why));
        break;
    }
  }
  arm_forward_timer();
}

void AgentCluster::Impl::arm_forward_timer() {
  if (stopped) return;
  const auto next = forward_router.next_deadline();
  // Armed for no later: it looks again then, and re-arms.
  if (!next || (forward_timer_at && *forward_timer_at <= *next)) return;
  forward_timer_at = *next;
  forward_timer.expires_after(std::max(*next - clock->now(), Duration(0)));
  forward_timer.async_wait([this, at = *next](const boost::system::error_code& ec) {
    // Cancelled, or re-armed earlier since (then another wait is on).
    if (ec || stopped || forward_timer_at != at) return;
    forward_timer_at.reset();
    check_leader_waiters();
  });
}

}  // namespace shoal::node
