// The pure request/response modules of the HTTP API: blocking queries
// (node/http/blocking_query.h), members (members_http.h) and the cluster
// endpoints (cluster_views.h).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "node/http/blocking_query.h"
#include "node/http/cluster_views.h"
#include "node/http/members_http.h"
#include "scheduler/cluster_state.h"

namespace shoal::node {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

HttpRequest get(std::map<std::string, std::string, std::less<>> query) {
  HttpRequest r;
  r.query = std::move(query);
  return r;
}

std::string field_of(const HttpResponse& r) {
  return json::parse(r.body, nullptr, false).value("field", "");
}

TEST(BlockingQuery, WithoutAnIndexARequestDoesNotBlock) {
  auto q = parse_blocking_query(get({}));
  ASSERT_TRUE(std::holds_alternative<std::optional<BlockingQuery>>(q));
  EXPECT_FALSE(std::get<std::optional<BlockingQuery>>(q).has_value());
}

TEST(BlockingQuery, IndexAloneWaitsTheDefaultAndWaitIsCapped) {
  auto q = std::get<std::optional<BlockingQuery>>(parse_blocking_query(get({{"index", "42"}})));
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->index, 42u);
  EXPECT_EQ(q->wait, kDefaultBlockingWait);
  auto capped = std::get<std::optional<BlockingQuery>>(
      parse_blocking_query(get({{"index", "1"}, {"wait", "2h"}})));
  EXPECT_EQ(capped->wait, kMaxBlockingWait);
  auto short_wait = std::get<std::optional<BlockingQuery>>(
      parse_blocking_query(get({{"index", "1"}, {"wait", "250ms"}})));
  EXPECT_EQ(short_wait->wait, 250ms);
}

TEST(BlockingQuery, BadQueriesAre400NamingTheField) {
  const std::vector<std::pair<std::map<std::string, std::string, std::less<>>, std::string>> cases =
      {{{{"index", "x"}}, "index"},  {{{"index", ""}}, "index"},
       {{{"index", "-1"}}, "index"}, {{{"index", "18446744073709551616"}}, "index"},
       {{{"wait", "1s"}}, "wait"},   {{{"index", "1"}, {"wait", "soon"}}, "wait"}};
  for (const auto& [query, field] : cases) {
    auto q = parse_blocking_query(get(query));
    ASSERT_TRUE(std::holds_alternative<HttpResponse>(q)) << field;
    const auto& r = std::get<HttpResponse>(q);
    EXPECT_EQ(r.status, 400u);
    EXPECT_EQ(field_of(r), field) << r.body;
  }
}

TEST(BlockingQuery, AnswersCarryTheIndexAndRefusalsSayWhen) {
  HttpResponse r = with_index(HttpResponse::json(200, json::array()), 7);
  ASSERT_EQ(r.headers.size(), 1u);
  EXPECT_EQ(r.headers[0], std::make_pair(std::string("X-Shoal-Index"), std::string("7")));
  HttpResponse busy = too_many_blocking_queries(3);
  EXPECT_EQ(busy.status, 429u);
  EXPECT_NE(busy.body.find("the most is 3"), std::string::npos) << busy.body;
  EXPECT_EQ(field_of(busy), "index");
}

TEST(MembersHttp, MembersRenderAsAnArrayWithTheirPorts) {
  gossip::Member m;
  m.meta.name = "n1";
  m.meta.gossip = gossip::Address{"127.0.0.1", 7782};
  m.meta.http_port = 7780;
  m.meta.attrs["zone"] = "a";
  HttpResponse r = render_members({m});
  EXPECT_EQ(r.status, 200u);
  auto j = json::parse(r.body);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "n1");
  EXPECT_EQ(j[0]["ports"]["http"], 7780);
  EXPECT_EQ(j[0]["attrs"]["zone"], "a");
  EXPECT_EQ(json::parse(render_members({}).body), json::array());
}

TEST(MembersHttp, JoinBodiesAreCheckedWithTheField) {
  auto ok = parse_join_body(R"({"addrs": ["127.0.0.2", "127.0.0.3:9000"]})", 7782);
  ASSERT_TRUE(std::holds_alternative<std::vector<gossip::Address>>(ok));
  const auto& addrs = std::get<std::vector<gossip::Address>>(ok);
  ASSERT_EQ(addrs.size(), 2u);
  EXPECT_EQ(addrs[0].port, 7782);
  EXPECT_EQ(addrs[1].port, 9000);
  for (const char* body : {"nope", "[]", R"({"addrs": []})", R"({"addrs": [1]})",
                           R"({"addrs": ["127.0.0.1:99999"]})"}) {
    auto bad = parse_join_body(body, 7782);
    ASSERT_TRUE(std::holds_alternative<HttpResponse>(bad)) << body;
    EXPECT_EQ(std::get<HttpResponse>(bad).status, 400u) << body;
  }
  json many = {{"addrs", json::array()}};
  for (size_t i = 0; i <= kMaxJoinAddrs; ++i) many["addrs"].push_back("127.0.0.1");
  auto too_many = parse_join_body(many.dump(), 7782);
  ASSERT_TRUE(std::holds_alternative<HttpResponse>(too_many));
  EXPECT_EQ(field_of(std::get<HttpResponse>(too_many)), "addrs");
}

TEST(ClusterViews, TransferBodiesNameAVoterOrNone) {
  EXPECT_EQ(std::get<std::string>(parse_transfer_body("")), "");
  EXPECT_EQ(std::get<std::string>(parse_transfer_body("{}")), "");
  EXPECT_EQ(std::get<std::string>(parse_transfer_body(R"({"to": "n2"})")), "n2");
  for (const char* body : {"x", "[]", R"({"to": 3})"}) {
    auto bad = parse_transfer_body(body);
    ASSERT_TRUE(std::holds_alternative<HttpResponse>(bad)) << body;
    EXPECT_EQ(std::get<HttpResponse>(bad).status, 400u);
    EXPECT_EQ(field_of(std::get<HttpResponse>(bad)), "to");
  }
}

TEST(ClusterViews, OnlyARealImageUnderTheLimitIsRestored) {
  scheduler::ClusterState empty;
  const std::vector<uint8_t> image = empty.snapshot();
  EXPECT_FALSE(check_restore_body(std::string(image.begin(), image.end())).has_value());
  auto garbage = check_restore_body("not an image");
  ASSERT_TRUE(garbage.has_value());
  EXPECT_EQ(garbage->status, 400u);
  EXPECT_EQ(field_of(*garbage), "body");
  auto huge = check_restore_body(std::string(scheduler::kMaxRestoreBytes + 1, 'x'));
  ASSERT_TRUE(huge.has_value());
  EXPECT_EQ(huge->status, 413u);

  HttpResponse saved = render_snapshot(image, 9);
  EXPECT_EQ(saved.content_type, "application/octet-stream");
  EXPECT_EQ(saved.body.size(), image.size());
  EXPECT_EQ(saved.headers.back().second, "9");
  EXPECT_EQ(json::parse(render_restored(9).body)["index"], 9);
}

TEST(ClusterViews, PeersAndStatusRenderEveryField) {
  PeersView v;
  v.leader = "id1";
  v.leader_name = "n1";
  v.voters.push_back(PeerView{"id1", "n1", "127.0.0.1:7781", "a", true});
  v.observers.push_back(PeerView{"id2", "n2", "", "", false});
  json j = raft_peers_json(v);
  EXPECT_EQ(j["leader_name"], "n1");
  EXPECT_EQ(j["voters"][0]["address"], "127.0.0.1:7781");
  EXPECT_EQ(j["learners"], json::array());
  EXPECT_EQ(j["observers"][0]["alive"], false);

  StatusView s;
  s.role = "voter";
  s.nodes = 3;
  json st = json::parse(render_status(s).body);
  for (const char* k : {"cluster_id", "leader", "leader_name", "term", "commit_index",
                        "applied_index", "role", "members_alive", "voters", "bootstrap",
                        "upgrade_required", "nodes", "jobs", "allocs_running"}) {
    EXPECT_TRUE(st.contains(k)) << k;
  }
  EXPECT_EQ(st["nodes"], 3);
}

}  // namespace
}  // namespace shoal::node
