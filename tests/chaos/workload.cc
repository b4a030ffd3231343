// Chaos clients: the op mix, outcome classification and key rotation.
#include "tests/chaos/workload.h"

#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

#include "tests/chaos/agents.h"

namespace shoal::chaos {

namespace {

namespace http = boost::beast::http;
using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kActiveKeys = 5;
constexpr int kGetPercent = 40;
constexpr int kPutPercent = 30;  // the rest are compare-and-sets

// How a non-2xx answer (or no answer) counts. 503 (not applied, retry),
// 429 and other 4xx are definite failures; 504 (outcome unknown) and any
// other 5xx are unknown; so are a timeout and a connection lost after the
// request went out. No connection at all is a definite failure.
void classify_failure(const HttpOutcome& r, OpRecord* op) {
  op->ok = false;
  op->unknown = true;
  op->status = r.describe();
  switch (r.kind) {
    case HttpOutcome::Kind::kConnectFailed:
      op->unknown = false;
      return;
    case HttpOutcome::Kind::kLost:
    case HttpOutcome::Kind::kTimeout:
      return;
    case HttpOutcome::Kind::kResponse:
      break;
  }
  if (r.status == 503 || (r.status >= 400 && r.status < 500)) op->unknown = false;
}

std::string kv_target(const std::string& key) { return "/v1/kv/" + key; }

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

uint64_t mix_seed(uint64_t seed, uint64_t stream) {
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// ---------------------------------------------------------------- KeyPool

KeyPool::KeyPool(uint64_t seed, int active) : seed_(seed) {
  for (int i = 0; i < active; ++i) active_.push_back(make_key());
}

std::string KeyPool::make_key() {
  std::string k = "chaos/" + std::to_string(seed_) + "/k" + std::to_string(next_++);
  all_.push_back(k);
  return k;
}

std::string KeyPool::pick(std::mt19937_64& rng) const {
  std::lock_guard lock(mu_);
  return active_[std::uniform_int_distribution<size_t>(0, active_.size() - 1)(rng)];
}

void KeyPool::rotate(std::mt19937_64& rng) {
  std::lock_guard lock(mu_);
  const size_t victim = std::uniform_int_distribution<size_t>(0, active_.size() - 1)(rng);
  active_[victim] = make_key();
}

std::vector<std::string> KeyPool::all_keys() const {
  std::lock_guard lock(mu_);
  return all_;
}

// ---------------------------------------------------------------- KvClient

KvClient::KvClient(std::string node, const std::string& ip, const RunClock& clock)
    : node_(std::move(node)), http_(ip, kHttpPort), clock_(clock) {}

OpRecord KvClient::get(uint64_t client, const std::string& key, uint64_t* modify_index) {
  OpRecord op;
  op.client = client;
  op.kind = OpRecord::Kind::kGet;
  op.key = key;
  op.node = node_;
  op.call = clock_.now_ns();
  const HttpOutcome r = http_.request(http::verb::get, kv_target(key), {}, kRequestTimeout);
  op.ret = clock_.now_ns();
  if (modify_index != nullptr) *modify_index = 0;
  if (r.kind == HttpOutcome::Kind::kResponse && r.status == 404) {
    op.ok = true;
    op.status = "404";
    return op;
  }
  if (r.kind == HttpOutcome::Kind::kResponse && r.status == 200) {
    const json j = json::parse(r.body, nullptr, false);
    std::optional<std::string> value;
    if (j.is_object() && j.contains("value") && j["value"].is_string() &&
        j.contains("modify_index") && j["modify_index"].is_number_unsigned()) {
      value = base64_decode(j["value"].get<std::string>());
    }
    if (!value) {
      // An answer the client cannot understand tells it nothing.
      op.unknown = true;
      op.status = "200 with a malformed body: " + r.body.substr(0, 200);
      return op;
    }
    op.ok = true;
    op.read = std::move(value);
    op.status = "200";
    if (modify_index != nullptr) *modify_index = j["modify_index"].get<uint64_t>();
    return op;
  }
  classify_failure(r, &op);
  return op;
}

OpRecord KvClient::put(uint64_t client, const std::string& key, const std::string& value) {
  OpRecord op;
  op.client = client;
  op.kind = OpRecord::Kind::kPut;
  op.key = key;
  op.value = value;
  op.node = node_;
  op.call = clock_.now_ns();
  const HttpOutcome r = http_.request(http::verb::put, kv_target(key), value, kRequestTimeout);
  op.ret = clock_.now_ns();
  if (r.kind == HttpOutcome::Kind::kResponse && r.status / 100 == 2) {
    op.status = std::to_string(r.status);
    if (trimmed(r.body) == "true") {
      op.ok = true;
    } else {
      op.unknown = true;
      op.status += " with body " + r.body.substr(0, 200);
    }
    return op;
  }
  classify_failure(r, &op);
  return op;
}

OpRecord KvClient::cas(uint64_t client, const std::string& key, const std::string& expect,
                       uint64_t modify_index, const std::string& value) {
  OpRecord op;
  op.client = client;
  op.kind = OpRecord::Kind::kCas;
  op.key = key;
  op.value = value;
  op.expect = expect;
  op.node = node_;
  op.call = clock_.now_ns();
  const HttpOutcome r =
      http_.request(http::verb::put, kv_target(key) + "?cas=" + std::to_string(modify_index), value,
                    kRequestTimeout);
  op.ret = clock_.now_ns();
  if (r.kind == HttpOutcome::Kind::kResponse && r.status == 409) {
    op.ok = true;
    op.applied = false;
    op.status = "409";
    return op;
  }
  if (r.kind == HttpOutcome::Kind::kResponse && r.status / 100 == 2) {
    op.status = std::to_string(r.status);
    if (trimmed(r.body) == "true") {
      op.ok = true;
      op.applied = true;
    } else {
      op.unknown = true;
      op.status += " with body " + r.body.substr(0, 200);
    }
    return op;
  }
  classify_failure(r, &op);
  return op;
}

// ---------------------------------------------------------------- Workload

Workload::Workload(uint64_t seed, int clients,
                   std::vector<std::pair<std::string, std::string>> agents, HistoryLog& history,
                   const RunClock& clock)
    : seed_(seed),
      clients_(clients),
      agents_(std::move(agents)),
      history_(history),
      clock_(clock),
      keys_(seed, kActiveKeys),
      next_client_(static_cast<uint64_t>(clients)) {}

Workload::~Workload() { stop(); }

void Workload::start() {
  threads_.emplace_back([this] { rotate_loop(); });
  for (int i = 0; i < clients_; ++i) threads_.emplace_back([this, i] { client_loop(i); });
}

void Workload::stop() {
  {
    std::lock_guard lock(stop_mu_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

void Workload::rotate_loop() {
  std::mt19937_64 rng(mix_seed(seed_, 1000));
  std::unique_lock lock(stop_mu_);
  for (;;) {
    const auto wait =
        std::chrono::milliseconds(std::uniform_int_distribution<int>(2000, 4000)(rng));
    if (stop_cv_.wait_for(lock, wait, [this] { return stop_.load(); })) return;
    keys_.rotate(rng);
  }
}

void Workload::client_loop(int index) {
  std::mt19937_64 rng(mix_seed(seed_, static_cast<uint64_t>(index)));
  const auto& [node, ip] = agents_[static_cast<size_t>(index) % agents_.size()];
  KvClient kv(node, ip, clock_);
  auto client = static_cast<uint64_t>(index);
  uint64_t seq = 0;
  // Records op; true when the client may go on at once.
  auto record = [&](const OpRecord& op) {
    history_.append(op);
    if (op.unknown) {
      client = new_client_id();
    } else if (!op.ok) {
      std::unique_lock lock(stop_mu_);
      const auto backoff =
          std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 150)(rng));
      stop_cv_.wait_for(lock, backoff, [this] { return stop_.load(); });
    }
    return op.ok;
  };
  auto fresh_value = [&] { return "v" + std::to_string(client) + "-" + std::to_string(seq++); };
  while (!stop_) {
    const std::string key = keys_.pick(rng);
    const int dice = std::uniform_int_distribution<int>(0, 99)(rng);
    if (dice < kGetPercent) {
      record(kv.get(client, key));
    } else if (dice < kGetPercent + kPutPercent) {
      record(kv.put(client, key, fresh_value()));
    } else {
      // Compare-and-set: read the entry, then write iff it is unchanged.
      uint64_t index = 0;
      const OpRecord read = kv.get(client, key, &index);
      if (!record(read) || stop_) continue;
      record(kv.cas(client, key, read.read.value_or(""), index, fresh_value()));
    }
  }
}

bool Workload::final_reads(std::chrono::milliseconds timeout, std::string* why) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::unique_ptr<KvClient>> clients;
  for (const auto& [node, ip] : agents_)
    clients.push_back(std::make_unique<KvClient>(node, ip, clock_));
  uint64_t client = new_client_id();
  size_t next = 0;
  std::vector<std::string> unread;
  for (const std::string& key : keys_.all_keys()) {
    bool done = false;
    while (!done && std::chrono::steady_clock::now() < deadline) {
      KvClient& kv = *clients[next++ % clients.size()];
      OpRecord op = kv.get(client, key);
      op.final_read = true;
      history_.append(op);
      done = op.ok;
      if (op.unknown) client = new_client_id();
      if (!done) std::this_thread::sleep_for(100ms);
    }
    if (!done) unread.push_back(key);
  }
  if (!unread.empty()) {
    *why = std::to_string(unread.size()) + " keys could not be read at the end, e.g. " + unread[0];
    return false;
  }
  return true;
}

}  // namespace shoal::chaos
