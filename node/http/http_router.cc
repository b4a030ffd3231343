#include "node/http/http_router.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <boost/beast/core/string.hpp>
#include <exception>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/status.h"

namespace shoal::node {
namespace {

using Params = std::map<std::string, std::string, std::less<>>;

std::string method_name(HttpMethod method) {
  const auto name = boost::beast::http::to_string(method);  // a boost::string_view
  return {name.data(), name.size()};
}

// "/a/b/c" -> {"a", "b", "c"}; "/" -> {""}. The path must start with '/'.
std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  path.remove_prefix(1);
  for (;;) {
    const size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "a=1&b=&c" into decoded pairs; false on bad percent-encoding.
bool parse_query(std::string_view query, Params* out) {
  while (!query.empty()) {
    const size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    auto key = url_decode(pair.substr(0, eq), true);
    auto value =
        url_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!key || !value) return false;
    out->insert_or_assign(std::move(*key), std::move(*value));
  }
  return true;
}

}  // namespace

std::optional<std::string> url_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi << 4 | lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

HttpCancelSignal::Token HttpCancelSignal::on_cancel(std::function<void()> f) {
  {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
      const Token token = next_++;
      callbacks_.emplace(token, std::move(f));
      return token;
    }
  }
  f();
  return 0;
}

void HttpCancelSignal::forget(Token token) {
  std::function<void()> dropped;  // destroyed outside the lock: it may hold anything
  std::lock_guard lock(mu_);
  if (auto it = callbacks_.find(token); it != callbacks_.end()) {
    dropped = std::move(it->second);
    callbacks_.erase(it);
  }
}

bool HttpCancelSignal::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

void HttpCancelSignal::cancel() {
  std::map<Token, std::function<void()>> run;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    run.swap(callbacks_);
  }
  for (auto& [token, f] : run) f();
}

void HttpCancelSignal::clear() {
  std::map<Token, std::function<void()>> dropped;
  std::lock_guard lock(mu_);
  dropped.swap(callbacks_);
}

std::optional<std::string_view> HttpRequest::param(std::string_view name) const {
  auto it = params.find(name);
  if (it == params.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string_view> HttpRequest::query_value(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

HttpResponse HttpResponse::json(unsigned status, const nlohmann::json& value) {
  HttpResponse r;
  r.status = status;
  r.body = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  r.body += '\n';
  return r;
}

HttpResponse HttpResponse::error(unsigned status, std::string_view message,
                                 std::string_view field) {
  nlohmann::json body = {{"error", message}};
  if (!field.empty()) body["field"] = field;
  return json(status, body);
}

std::vector<Router::Segment> Router::parse_pattern(std::string_view pattern) {
  SHOAL_CHECK_MSG(pattern.starts_with('/'), "a route pattern starts with '/'");
  std::vector<Segment> segments;
  for (std::string_view part : split_path(pattern)) {
    SHOAL_CHECK_MSG(segments.empty() || segments.back().kind != Segment::Kind::kRest,
                    "'*name' must be the last segment of a route pattern");
    if (part.starts_with(':') || part.starts_with('*')) {
      SHOAL_CHECK_MSG(part.size() > 1, "a route parameter needs a name");
      segments.push_back({part[0] == ':' ? Segment::Kind::kParam : Segment::Kind::kRest,
                          std::string(part.substr(1))});
    } else {
      segments.push_back({Segment::Kind::kLiteral, std::string(part)});
    }
  }
  return segments;
}

void Router::add(HttpMethod method, std::string_view pattern, HttpHandler handler) {
  add_async(method, pattern,
            [handler = std::move(handler)](const HttpRequest& req, const HttpRespond& respond) {
              respond(handler(req));
            });
}

void Router::add_async(HttpMethod method, std::string_view pattern, HttpAsyncHandler handler) {
  for (const Route& r : routes_) {
    SHOAL_CHECK_MSG(!(r.method == method && r.pattern == pattern), "duplicate HTTP route");
  }
  routes_.push_back({method, std::string(pattern), parse_pattern(pattern), std::move(handler)});
}

bool Router::match(const Route& route, const std::vector<std::string_view>& path_segments,
                   Params* params) {
  params->clear();
  const auto& segs = route.segments;
  size_t i = 0;
  for (; i < segs.size(); ++i) {
    const Segment& seg = segs[i];
    if (seg.kind == Segment::Kind::kRest) {
      if (i >= path_segments.size()) return false;
      // The rest of the path, slashes included, must not be empty.
      std::string rest;
      for (size_t j = i; j < path_segments.size(); ++j) {
        if (j > i) rest += '/';
        rest += path_segments[j];
      }
      auto decoded = url_decode(rest);
      if (!decoded || decoded->empty()) return false;
      params->insert_or_assign(seg.text, std::move(*decoded));
      return true;
    }
    if (i >= path_segments.size()) return false;
    if (seg.kind == Segment::Kind::kLiteral) {
      if (path_segments[i] != seg.text) return false;
    } else {
      auto decoded = url_decode(path_segments[i]);
      if (!decoded || decoded->empty()) return false;
      params->insert_or_assign(seg.text, std::move(*decoded));
    }
  }
  return i == path_segments.size();
}

void Router::require_token(std::string token, std::vector<std::string> open_paths) {
  token_ = std::move(token);
  open_paths_ = std::move(open_paths);
}

bool Router::authorised(std::string_view path, const boost::beast::http::fields& headers,
                        uint8_t forwarded_hops) const {
  if (token_.empty() || forwarded_hops > 0) return true;
  for (const std::string& open : open_paths_) {
    if (path == open) return true;
  }
  auto it = headers.find(boost::beast::http::field::authorization);
  if (it == headers.end()) return false;
  std::string_view value(it->value().data(), it->value().size());
  // credentials = auth-scheme 1*SP token68; the scheme is case-insensitive.
  constexpr std::string_view kBearer = "bearer";
  if (value.size() <= kBearer.size() ||
      !boost::beast::iequals(boost::beast::string_view(value.data(), kBearer.size()),
                             boost::beast::string_view(kBearer.data(), kBearer.size())) ||
      value[kBearer.size()] != ' ') {
    return false;
  }
  value.remove_prefix(kBearer.size());
  while (value.starts_with(' ')) value.remove_prefix(1);
  if (value.size() != token_.size()) return false;
  // Constant time in the token's bytes: no early exit on the first mismatch.
  return sodium_memcmp(value.data(), token_.data(), token_.size()) == 0;
}

std::optional<HttpResponse> Router::check_token(std::string_view target,
                                                const boost::beast::http::fields& headers,
                                                uint8_t forwarded_hops) const {
  if (authorised(target.substr(0, target.find('?')), headers, forwarded_hops)) {
    return std::nullopt;
  }
  return HttpResponse::error(403, "missing or wrong API token (Authorization: Bearer ...)");
}

void Router::dispatch(HttpRequest request, HttpRespond respond) const {
  std::string_view target = request.target;
  if (!target.starts_with('/')) {
    respond(HttpResponse::error(400, "malformed request target"));
    return;
  }
  const size_t qmark = target.find('?');
  request.path = std::string(target.substr(0, qmark));
  request.query.clear();
  if (qmark != std::string_view::npos && !parse_query(target.substr(qmark + 1), &request.query)) {
    respond(HttpResponse::error(400, "malformed query string"));
    return;
  }

  if (auto refused = check_token(request.path, request.headers, request.forwarded_hops)) {
    respond(std::move(*refused));
    return;
  }

  const auto segments = split_path(request.path);
  const Route* found = nullptr;
  std::string allow;
  Params params;
  for (const Route& route : routes_) {
    if (!match(route, segments, &params)) continue;
    if (route.method == request.method) {
      found = &route;
      break;
    }
    const std::string name = method_name(route.method);
    if (allow.find(name) == std::string::npos) {
      if (!allow.empty()) allow += ", ";
      allow += name;
    }
  }
  if (found == nullptr) {
    if (!allow.empty()) {
      HttpResponse r = HttpResponse::error(
          405, "method " + method_name(request.method) + " is not allowed on " + request.path);
      r.headers.emplace_back("Allow", allow);
      respond(std::move(r));
    } else {
      respond(HttpResponse::error(404, "no such endpoint: " + request.path));
    }
    return;
  }
  request.params = std::move(params);

  // Guard the handler: one answer, and a 500 if it throws before answering.
  auto answered = std::make_shared<std::atomic<bool>>(false);
  HttpRespond once = [answered, respond = std::move(respond)](HttpResponse r) {
    if (answered->exchange(true)) return;
    respond(std::move(r));
  };
  try {
    found->handler(request, once);
  } catch (const std::exception& e) {
    // The detail is for the operator; a client learns nothing of the code.
    spdlog::error("http {} {}: handler failed: {}", method_name(request.method), request.path,
                  e.what());
    once(HttpResponse::error(500, "internal error"));
  } catch (...) {
    spdlog::error("http {} {}: handler failed with a non-standard exception",
                  method_name(request.method), request.path);
    once(HttpResponse::error(500, "internal error"));
  }
}

}  // namespace shoal::node
