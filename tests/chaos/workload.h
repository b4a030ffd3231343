// The clients of a chaos run: concurrent threads, spread round-robin over all
// agents, doing gets, puts and compare-and-sets on a small pool of keys that
// is renewed every few seconds, and recording every operation (see
// history.h). A client that sees an unknown outcome carries on under a new
// client id, as Jepsen's do; after a definite failure it backs off briefly so
// that a dead agent is not spun on.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/chaos/history.h"
#include "tests/chaos/http_client.h"
#include "tests/chaos/run_clock.h"

namespace shoal::chaos {

inline constexpr std::chrono::milliseconds kRequestTimeout{6000};

// SplitMix64: seeds of independent streams derived from one seed.
uint64_t mix_seed(uint64_t seed, uint64_t stream);

// The active keys (chaos/<seed>/k<N>) and every key ever used.
class KeyPool {
 public:
  KeyPool(uint64_t seed, int active);
  std::string pick(std::mt19937_64& rng) const;
  // Retires one active key and adds a fresh one.
  void rotate(std::mt19937_64& rng);
  std::vector<std::string> all_keys() const;

 private:
  std::string make_key();

  mutable std::mutex mu_;
  uint64_t seed_;
  uint64_t next_ = 0;
  std::vector<std::string> active_;
  std::vector<std::string> all_;
};

// One KV request and how it ended, as the history records it.
class KvClient {
 public:
  KvClient(std::string node, const std::string& ip, const RunClock& clock);
  // GET /v1/kv/<key>; *modify_index is the entry's index (0 when absent).
  OpRecord get(uint64_t client, const std::string& key, uint64_t* modify_index = nullptr);
  // PUT /v1/kv/<key>[?cas=N].
  OpRecord put(uint64_t client, const std::string& key, const std::string& value);
  OpRecord cas(uint64_t client, const std::string& key, const std::string& expect,
               uint64_t modify_index, const std::string& value);
  const std::string& node() const { return node_; }

 private:
  std::string node_;
  HttpClient http_;
  const RunClock& clock_;
};

class Workload {
 public:
  // agents: (name, ip) of every agent, clients are spread over them in order.
  Workload(uint64_t seed, int clients, std::vector<std::pair<std::string, std::string>> agents,
           HistoryLog& history, const RunClock& clock);
  Workload(const Workload&) = delete;
  Workload& operator=(const Workload&) = delete;
  ~Workload();

  void start();
  // Stops the key rotation and the clients; each finishes its operation.
  void stop();
  // Reads every key ever used through any agent, retrying until each read
  // has a definite answer or the deadline passes; the reads join the history
  // as gets of a final client. False if some key could not be read.
  bool final_reads(std::chrono::milliseconds timeout, std::string* why);
  std::vector<std::string> keys() const { return keys_.all_keys(); }
  uint64_t new_client_id() { return next_client_.fetch_add(1); }

 private:
  void client_loop(int index);
  void rotate_loop();

  uint64_t seed_;
  int clients_;
  std::vector<std::pair<std::string, std::string>> agents_;
  HistoryLog& history_;
  const RunClock& clock_;
  KeyPool keys_;
  std::atomic<uint64_t> next_client_;
  std::atomic<bool> stop_{false};
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::vector<std::thread> threads_;
};

}  // namespace shoal::chaos
