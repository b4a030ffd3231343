#include "node/http/kv_http.h"

#include <sodium.h>

#include <charconv>
#include <nlohmann/json.hpp>

#include "core/time.h"

namespace shoal::node {

namespace {

using scheduler::KvCommand;

HttpResponse bad(std::string_view message, std::string_view field) {
  return HttpResponse::error(400, message, field);
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string base64(const std::vector<uint8_t>& b) {
  std::string out(sodium_base64_ENCODED_LEN(b.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), b.data(), b.size(), sodium_base64_VARIANT_ORIGINAL);
  out.resize(std::strlen(out.c_str()));
  return out;
}

}  // namespace

KvCommand KvHttpRequest::command() const {
  KvCommand c;
  c.key = key;
  c.cas = cas;
  switch (op) {
    case Op::kPut:
      c.op = KvCommand::Op::kPut;
      c.value = value;
      break;
    case Op::kDelete:
      c.op = KvCommand::Op::kDelete;
      break;
    case Op::kDeleteTree:
      c.op = KvCommand::Op::kDeleteTree;
      break;
    case Op::kGet:
    case Op::kList:
      SHOAL_CHECK_MSG(false, "kv: command() of a read");
  }
  return c;
}

std::variant<KvHttpRequest, HttpResponse> parse_kv_request(const HttpRequest& request) {
  KvHttpRequest r;
  auto key = request.param("key");
  r.key = key ? std::string(*key) : std::string();
  const bool recurse = request.query_value("recurse").has_value();
  r.raw = request.query_value("raw").has_value();
  r.stale = request.query_value("stale").has_value();
  if (auto cas = request.query_value("cas")) {
    r.cas = parse_u64(*cas);
    if (!r.cas) return bad("cas must be a non-negative integer (a modify index)", "cas");
  }
  switch (request.method) {
    case HttpMethod::get:
      r.op = recurse ? KvHttpRequest::Op::kList : KvHttpRequest::Op::kGet;
      // Nothing reads it, and a blocking query would hold it for minutes.
      if (!request.body.empty()) return bad("a GET takes no body", "body");
      if (r.cas) return bad("cas applies to PUT and DELETE", "cas");
      if (r.raw && recurse) return bad("raw reads one key, not a subtree", "raw");
      if (auto blocking = parse_blocking_query(request);
          auto* bad_query = std::get_if<HttpResponse>(&blocking)) {
        return std::move(*bad_query);
      } else if (const auto& q = std::get<std::optional<BlockingQuery>>(blocking)) {
        r.index = q->index;
        r.wait = q->wait;
      }
      break;
    case HttpMethod::put:
      r.op = KvHttpRequest::Op::kPut;
      if (recurse) return bad("recurse applies to GET and DELETE", "recurse");
      if (request.body.size() > scheduler::kMaxValueBytes) {
        return HttpResponse::error(413, "a value is at most 524288 bytes", "value");
      }
      r.value.assign(request.body.begin(), request.body.end());
      break;
    case HttpMethod::delete_:
      r.op = recurse ? KvHttpRequest::Op::kDeleteTree : KvHttpRequest::Op::kDelete;
      if (recurse && r.cas) return bad("cas does not apply to a recursive delete", "cas");
      break;
    default:
      return HttpResponse::error(405, "the KV API takes GET, PUT and DELETE");
  }
  // A list may start at the root; everything else names a valid key.
  if (!(r.op == KvHttpRequest::Op::kList && r.key.empty())) {
    Status st = scheduler::validate_key(r.key);
    if (!st.is_ok()) return bad(st.message(), "key");
  }
  return r;
}

HttpRequest without_blocking_query(const HttpRequest& req) {
  HttpRequest out;
  out.method = req.method;
  out.path = req.path;
  out.query = req.query;
  out.query.erase("index");
  out.query.erase("wait");
  out.params = req.params;
  out.headers = req.headers;
  out.remote = req.remote;
  out.forwarded_hops = req.forwarded_hops;
  out.cancel = req.cancel;
  // The target's query without index= and wait=, the rest kept as sent.
  const size_t qmark = req.target.find('?');
  out.target = req.target.substr(0, qmark);
  if (qmark != std::string::npos) {
    std::string_view rest = std::string_view(req.target).substr(qmark + 1);
    std::string kept;
    while (!rest.empty()) {
      const size_t amp = rest.find('&');
      const std::string_view pair = rest.substr(0, amp);
      rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
      const std::string_view key = pair.substr(0, pair.find('='));
      if (pair.empty() || key == "index" || key == "wait") continue;
      kept += kept.empty() ? "" : "&";
      kept += pair;
    }
    if (!kept.empty()) out.target += "?" + kept;
  }
  return out;
}

nlohmann::json kv_entry_json(const scheduler::KvEntry& e) {
  return nlohmann::json{{"key", e.key},
                        {"value", base64(e.value)},
                        {"create_index", e.create_index},
                        {"modify_index", e.modify_index}};
}

HttpResponse render_kv_read(const KvHttpRequest& req, const std::vector<scheduler::KvEntry>& found,
                            uint64_t index) {
  HttpResponse resp;
  if (found.empty()) {
    resp = HttpResponse::error(404, "no such key", "key");
  } else if (req.op == KvHttpRequest::Op::kGet && req.raw) {
    resp.content_type = "application/octet-stream";
    resp.body.assign(found.front().value.begin(), found.front().value.end());
  } else if (req.op == KvHttpRequest::Op::kGet) {
    resp = HttpResponse::json(200, kv_entry_json(found.front()));
  } else {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& e : found) list.push_back(kv_entry_json(e));
    resp = HttpResponse::json(200, list);
  }
  resp = with_index(std::move(resp), index);
  return resp;
}

HttpResponse render_kv_write(scheduler::KvOutcome outcome, uint64_t index) {
  HttpResponse resp;
  switch (outcome) {
    case scheduler::KvOutcome::kApplied:
      resp = HttpResponse::json(200, true);
      break;
    case scheduler::KvOutcome::kCasFailed:
      resp = HttpResponse::error(409, "check-and-set failed: the modify index differs", "cas");
      break;
    case scheduler::KvOutcome::kNotFound:
      resp = HttpResponse::error(404, "no such key", "key");
      break;
    case scheduler::KvOutcome::kInvalid:
      resp = HttpResponse::error(400, "the command was refused as invalid");
      break;
  }
  resp = with_index(std::move(resp), index);
  return resp;
}

}  // namespace shoal::node
