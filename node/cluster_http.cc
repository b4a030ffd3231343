// AgentCluster's HTTP endpoints (DESIGN.md §4): status, Raft peers and
// leadership transfer, the KV store and the snapshot. What needs the leader
// is forwarded to it (cluster_rpc_service.cc).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "node/agent_cluster_impl.h"
#include "node/kv_http.h"

namespace shoal::node {

namespace asio = boost::asio;
using nlohmann::json;
using namespace std::chrono_literals;

namespace {

constexpr auto kTransferWait = 5s;

HttpResponse unavailable(std::string_view why) {
  HttpResponse r = HttpResponse::error(503, why);
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

}  // namespace

void AgentCluster::Impl::add_routes(const std::shared_ptr<Router>& shared) {
  router = shared;
  Router& r = *shared;

  r.add(HttpMethod::get, "/v1/status", [this](const HttpRequest&) {
    size_t alive = 0;
    for (const auto& [id, p] : peers) alive += p.alive ? 1 : 0;
    json out = {
        {"cluster_id", cluster_id},
        {"leader", leader.is_zero() ? "" : leader.to_string()},
        {"leader_name", leader.is_zero() ? "" : name_of(leader)},
        {"term", term},
        {"commit_index", std::max(status ? status->commit : 0, machine.applied())},
        {"applied_index", machine.applied()},
        {"role", role_name(role())},
        {"members_alive", alive},
        {"voters", conf.voters.size()},
        {"bootstrap", bootstrap_status},
        {"upgrade_required", machine.upgrade_required()},
        // Nodes in the replicated registry (the leader's NodeUpsert entries).
        {"nodes",
         machine.read([](const scheduler::ClusterState& st) { return st.nodes().size(); })},
        {"jobs", 0},
        {"allocs_running", 0},
    };
    return HttpResponse::json(200, out);
  });

  r.add(HttpMethod::get, "/v1/raft/peers", [this](const HttpRequest&) {
    auto describe = [this](const NodeId& id) {
      json j = {{"id", id.to_string()}, {"name", name_of(id)}};
      if (auto it = peers.find(id); it != peers.end()) {
        j["address"] = format_host_port(it->second.address, it->second.rpc_port);
        j["zone"] = it->second.zone;
        j["alive"] = it->second.alive;
      } else {
        j["address"] = "";
        j["zone"] = "";
        j["alive"] = false;
      }
      return j;
    };
    json voters = json::array(), learners = json::array(), observers = json::array();
    for (const NodeId& id : conf.voters) voters.push_back(describe(id));
    for (const NodeId& id : conf.learners) learners.push_back(describe(id));
    for (const auto& [id, p] : peers) {
      if (conf.contains(id) || !p.alive || p.cluster_id != cluster_id || cluster_id.empty()) {
        continue;
      }
      observers.push_back(describe(id));
    }
    return HttpResponse::json(200, {{"leader", leader.is_zero() ? "" : leader.to_string()},
                                    {"leader_name", leader.is_zero() ? "" : name_of(leader)},
                                    {"voters", voters},
                                    {"learners", learners},
                                    {"observers", observers}});
  });

  r.add_async(
      HttpMethod::post, "/v1/raft/transfer-leader",
      [this](const HttpRequest& req, HttpRespond respond) {
        if (!is_leader || !raft) {
          forward(req, std::move(respond));
          return;
        }
        std::string wanted;
        if (!req.body.empty()) {
          auto j = json::parse(req.body, nullptr, false);
          if (j.is_discarded() || !j.is_object() || (j.contains("to") && !j["to"].is_string())) {
            respond(HttpResponse::error(400, "the body must be {\"to\": \"NODE\"}", "to"));
            return;
          }
          if (j.contains("to")) wanted = j["to"].get<std::string>();
        }
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
            respond(HttpResponse::json(200,
                                       {{"leader", to.to_string()}, {"leader_name", config.name}}));
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
            // Answer once the new leader is known here (or give up).
            auto timer = std::make_shared<asio::steady_timer>(io);
            auto deadline = std::chrono::steady_clock::now() + kTransferWait;
            auto poll = std::make_shared<std::function<void()>>();
            *poll = [this, to, timer, deadline, poll, shared_respond] {
              if (stopped) return;
              if (!leader.is_zero() && leader != identity.id) {
                (*shared_respond)(HttpResponse::json(
                    200, {{"leader", leader.to_string()}, {"leader_name", name_of(leader)}}));
                *poll = nullptr;
                return;
              }
              if (std::chrono::steady_clock::now() > deadline) {
                (*shared_respond)(HttpResponse::error(
                    504, "leadership did not move to " + name_of(to) + " within 5s"));
                *poll = nullptr;
                return;
              }
              refresh_status();
              timer->expires_after(50ms);
              timer->async_wait([poll](const boost::system::error_code& ec) {
                if (!ec && *poll) (*poll)();
              });
            };
            (*poll)();
          });
        });
      });

  // ---- KV ----
  auto kv = [this](const HttpRequest& req, HttpRespond respond) {
    auto parsed = parse_kv_request(req);
    if (auto* bad = std::get_if<HttpResponse>(&parsed)) {
      respond(std::move(*bad));
      return;
    }
    auto kreq = std::make_shared<KvHttpRequest>(std::move(std::get<KvHttpRequest>(parsed)));
    const bool write = kreq->op == KvHttpRequest::Op::kPut ||
                       kreq->op == KvHttpRequest::Op::kDelete ||
                       kreq->op == KvHttpRequest::Op::kDeleteTree;
    if (write) {
      if (!is_leader || !raft) {
        forward(req, std::move(respond));
        return;
      }
      raft->propose(
          scheduler::encode(kreq->command()), [this, respond](Status st, raft::Index index) {
            if (!st.is_ok()) {
              respond(unavailable("the write may not have been applied: " + st.message()));
              return;
            }
            auto outcome = machine.take_outcome(index.value());
            if (!outcome || outcome->kind != scheduler::ApplyResult::Kind::kKv) {
              respond(HttpResponse::error(500, "the write's outcome is unknown"));
              return;
            }
            respond(render_kv_write(outcome->kv, index.value()));
          });
      return;
    }
    auto read_local = [this, kreq, respond] {
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
    auto read = [this, req, kreq, respond, read_local]() mutable {
      if (kreq->stale) {
        read_local();
        return;
      }
      if (!raft) {
        forward(req, std::move(respond));
        return;
      }
      raft->read([this, req, respond, read_local](Status st) mutable {
        asio::post(io, [this, st, req, respond, read_local]() mutable {
          if (st.is_ok()) {
            read_local();
          } else if (req.forwarded_hops == 0 && !is_leader) {
            forward(req, std::move(respond));
          } else {
            respond(unavailable("no linearizable read now: " + st.message()));
          }
        });
      });
    };
    if (kreq->index && machine.kv_index() <= *kreq->index) {
      // A blocking query: wait for the KV index to pass the client's.
      auto timer = std::make_shared<asio::steady_timer>(io, kreq->wait);
      auto fired = std::make_shared<bool>(false);
      auto go = [fired, timer, read]() mutable {
        if (*fired) return;
        *fired = true;
        timer->cancel();
        read();
      };
      waiters.emplace(*kreq->index, Waiter{*kreq->index, go});
      waiter_count.store(waiters.size(), std::memory_order_release);
      // The index may have moved between the check above and now.
      if (machine.kv_index() > *kreq->index) wake_waiters();
      timer->async_wait([go](const boost::system::error_code& ec) mutable {
        if (!ec) go();
      });
      return;
    }
    read();
  };
  r.add_async(HttpMethod::get, "/v1/kv", kv);  // ?recurse from the root
  r.add_async(HttpMethod::get, "/v1/kv/*key", kv);
  r.add_async(HttpMethod::put, "/v1/kv/*key", kv);
  r.add_async(HttpMethod::delete_, "/v1/kv/*key", kv);

  // ---- snapshot ----
  r.add_async(HttpMethod::get, "/v1/snapshot", [this](const HttpRequest& req, HttpRespond respond) {
    auto save = [this, respond] {
      HttpResponse out;
      out.content_type = "application/octet-stream";
      const std::vector<uint8_t> image = machine.snapshot();
      out.body.assign(image.begin(), image.end());
      out.headers.emplace_back("X-Shoal-Index", std::to_string(machine.applied()));
      respond(std::move(out));
    };
    if (req.query_value("stale")) {
      save();
      return;
    }
    if (!raft) {
      forward(req, respond);
      return;
    }
    raft->read([this, save, respond](Status st) {
      asio::post(io, [st, save, respond] {
        if (st.is_ok()) {
          save();
        } else {
          respond(unavailable("no consistent snapshot now: " + st.message()));
        }
      });
    });
  });

  // Restore: the image goes through the log (one kStateRestore entry), so
  // every replica replaces its state at the same index.
  r.add_async(HttpMethod::put, "/v1/snapshot", [this](const HttpRequest& req, HttpRespond respond) {
    if (req.body.size() > scheduler::kMaxRestoreBytes) {
      respond(HttpResponse::error(413, "a snapshot to restore is at most 8 MiB"));
      return;
    }
    const std::span<const uint8_t> image(reinterpret_cast<const uint8_t*>(req.body.data()),
                                         req.body.size());
    if (auto check = scheduler::ClusterState::restore(image); !check) {
      respond(
          HttpResponse::error(400, "not a Shoal snapshot: " + check.status().message(), "body"));
      return;
    }
    if (!is_leader || !raft) {
      forward(req, std::move(respond));
      return;
    }
    raft->propose(scheduler::encode_restore(image), [this, respond](Status st, raft::Index index) {
      if (!st.is_ok()) {
        respond(unavailable("the restore may not have been applied: " + st.message()));
        return;
      }
      auto outcome = machine.take_outcome(index.value());
      if (!outcome || outcome->kind != scheduler::ApplyResult::Kind::kRestored) {
        respond(HttpResponse::error(500, "the restore entry was not applied"));
        return;
      }
      HttpResponse out = HttpResponse::json(200, {{"restored", true}, {"index", index.value()}});
      out.headers.emplace_back("X-Shoal-Index", std::to_string(index.value()));
      respond(std::move(out));
    });
  });
}

}  // namespace shoal::node
