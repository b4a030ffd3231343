#include "tests/sim/linearizability.h"

#include <algorithm>
#include <limits>
#include <map>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>

#include "core/rng.h"
#include "core/status.h"

namespace shoal::sim {

namespace {

using Kind = KvOp::Kind;

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();
constexpr int32_t kAbsent = -1;  // interned id of "no value"
constexpr size_t kMaxQuotedChars = 40;
constexpr size_t kMaxListedCandidates = 8;

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMaxQuotedChars; ++i) {
    const char c = s[i];
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c >= 0x20 && c < 0x7f) {
      out += c;
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      const auto u = static_cast<unsigned char>(c);
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  if (s.size() > kMaxQuotedChars) out += "...";
  out += '"';
  return out;
}

std::string quote_value(const std::optional<std::string>& v) {
  return v ? quote(*v) : std::string("absent");
}

// A Put or Delete: writes without looking at the current value.
bool is_blind_write(Kind kind) { return kind == Kind::kPut || kind == Kind::kDelete; }

// One op of the key being checked, with values interned to small ints.
struct KeyOp {
  Kind kind = Kind::kGet;
  bool completed = false;
  bool cas_ok = false;
  int32_t value = kAbsent;     // Put value / CAS new value
  int32_t expected = kAbsent;  // CAS
  int32_t observed = kAbsent;  // Get
  size_t index = 0;            // position in the caller's history
  int64_t invoke = 0;
  int64_t ret = kNever;
};

// The register model: the value after `op` runs on `state`, or nullopt if
// `op`'s recorded result is impossible from `state`.
std::optional<int32_t> step(const KeyOp& op, int32_t state) {
  switch (op.kind) {
    case Kind::kPut:
      return op.value;
    case Kind::kDelete:
      return kAbsent;
    case Kind::kGet:
      if (op.observed != state) return std::nullopt;
      return state;
    case Kind::kCas:
      if (!op.completed) return state == op.expected ? op.value : state;
      if (op.cas_ok) {
        if (state != op.expected) return std::nullopt;
        return op.value;
      }
      if (state == op.expected) return std::nullopt;
      return state;
  }
  return std::nullopt;
}

// Lowe's cache: the search states already explored. A state is the set of
// ops linearized plus the register value (and, right after an indeterminate
// write, the value before it). Sets are kept as 128-bit Zobrist fingerprints
// (XOR of two random words per op), maintained incrementally, so a state costs
// O(1) time and about 32 bytes whatever the history's length. Two different
// states collide with probability about 2^-128 per pair: with 50M states,
// about 1e-23 that any state is wrongly skipped.
class StateCache {
 public:
  StateCache() : table_(1024, 0) {}

  // Adds the state; false if it was already there.
  bool insert(uint64_t a, uint64_t b) {
    if ((entries_.size() + 1) * 2 > table_.size()) grow();
    const size_t mask = table_.size() - 1;
    size_t i = a & mask;
    while (const uint32_t slot = table_[i]) {
      const Entry& e = entries_[slot - 1];
      if (e.a == a && e.b == b) return false;
      i = (i + 1) & mask;
    }
    entries_.push_back({a, b});
    table_[i] = static_cast<uint32_t>(entries_.size());
    return true;
  }

 private:
  struct Entry {
    uint64_t a;
    uint64_t b;
  };

  void grow() {
    std::vector<uint32_t> bigger(table_.size() * 2, 0);
    const size_t mask = bigger.size() - 1;
    for (uint32_t slot = 1; slot <= entries_.size(); ++slot) {
      size_t i = entries_[slot - 1].a & mask;
      while (bigger[i] != 0) i = (i + 1) & mask;
      bigger[i] = slot;
    }
    table_ = std::move(bigger);
  }

  std::vector<uint32_t> table_;  // 0 = empty, else entry number + 1
  std::vector<Entry> entries_;
};

enum class Outcome { kLinearizable, kViolation, kGaveUp };

// The Wing-Gong search with Lowe's memoisation for one key.
//
// The history is a doubly linked list of events sorted by time: one call node
// per op and one return node per completed op (calls before returns at equal
// times, so touching intervals overlap). Walking from the head, every call
// seen before the first return node is a candidate to take effect next.
// Linearizing a candidate unlinks its nodes and restarts from the head; a
// return node reached means no candidate works, so the search backtracks.
//
// Indeterminate writes are only linearized where they are needed: an
// indeterminate write W taking the value from s to s' != s must be followed at
// once by an op N whose recorded result holds at s' but not at s (a Get of
// s', a CAS expecting s', a CAS that failed because the value was not s, or an
// indeterminate CAS taking effect). Any linearization can be brought to that
// form: drop W if it is a no-op or last or followed by a Put/Delete, and swap
// it with a following op that would hold at s anyway (a read, so both orders
// end at s'). This stops the search from forking on every indeterminate write
// that a history never shows. `before_indet` is s while the last op
// linearized is such a W.
class KeySearch {
 public:
  KeySearch(const std::vector<KvOp>& history, const std::vector<size_t>& idx, uint64_t budget)
      : history_(history), budget_(budget) {
    std::vector<size_t> order = idx;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return history[a].invoke < history[b].invoke; });
    ops_.reserve(order.size());
    for (size_t i : order) {
      const KvOp& src = history[i];
      KeyOp op;
      op.kind = src.kind;
      op.completed = src.ret.has_value();
      op.cas_ok = src.cas_ok;
      op.index = i;
      op.invoke = src.invoke;
      op.ret = src.ret.value_or(kNever);
      if (src.kind == Kind::kPut || src.kind == Kind::kCas) {
        op.value = intern(src.value);
      }
      if (src.kind == Kind::kCas) op.expected = intern(src.expected);
      if (src.kind == Kind::kGet) op.observed = intern(src.observed);
      ops_.push_back(op);
    }
  }

  // Catches reads of values never written, or read before any op writing
  // them was invoked, without a search (also the clearest explanation).
  std::optional<std::string> precheck() const;
  Outcome run();
  uint64_t states() const { return states_; }
  std::string explain() const;

 private:
  // Node numbering: 0 is the list's sentinel; op i has call node 1 + 2i and
  // (if completed) return node 2 + 2i.
  static uint32_t call_node(size_t op) { return static_cast<uint32_t>(1 + 2 * op); }
  static bool is_return(uint32_t node) { return node != 0 && node % 2 == 0; }
  static size_t op_of(uint32_t node) { return (node - 1) / 2; }

  int32_t intern(const std::optional<std::string>& v) {
    if (!v) return kAbsent;
    auto [it, inserted] = value_ids_.try_emplace(*v, static_cast<int32_t>(values_.size()));
    if (inserted) values_.push_back(*v);
    return it->second;
  }
  std::string value_text(int32_t id) const {
    return id == kAbsent ? std::string("absent") : quote(values_[id]);
  }
  std::string op_text(size_t op) const {
    return "#" + std::to_string(ops_[op].index) + " " + describe(history_[ops_[op].index]);
  }

  void unlink(uint32_t node) {
    next_[prev_[node]] = next_[node];
    prev_[next_[node]] = prev_[node];
  }
  void relink(uint32_t node) {
    next_[prev_[node]] = node;
    prev_[next_[node]] = node;
  }
  // Takes op's nodes out of the list; restore() undoes the latest lift.
  void lift(size_t op) {
    unlink(call_node(op));
    if (ops_[op].completed) unlink(call_node(op) + 1);
  }
  void restore(size_t op) {
    if (ops_[op].completed) relink(call_node(op) + 1);
    relink(call_node(op));
  }

  // Whether some op that may come next needs the value to be `produced`
  // (rather than `state`) for its recorded result to hold. Memoised per
  // search state (`visit`).
  bool needed(int32_t produced, int32_t state, uint64_t visit);
  void note_dead_end(uint32_t node, int32_t state, size_t done, std::optional<size_t> last,
                     size_t depth);

  const std::vector<KvOp>& history_;
  uint64_t budget_;
  std::vector<KeyOp> ops_;
  std::unordered_map<std::string, int32_t> value_ids_;
  std::vector<std::string> values_;
  std::vector<uint32_t> next_, prev_;
  size_t completed_ = 0;
  uint64_t needs_visit_ = ~uint64_t{0};
  bool needs_any_ = false;
  std::vector<int32_t> needs_;
  uint64_t states_ = 0;

  // The deepest dead end (most completed ops linearized), for explain().
  bool have_dead_end_ = false;
  size_t best_done_ = 0;
  size_t best_depth_ = 0;
  int32_t best_state_ = kAbsent;
  std::optional<size_t> best_last_;
  std::optional<size_t> best_block_;
  std::vector<size_t> best_candidates_;
  size_t best_candidate_count_ = 0;
};

Outcome KeySearch::run() {
  const size_t n = ops_.size();
  next_.assign(2 * n + 1, 0);
  prev_.assign(2 * n + 1, 0);
  struct Event {
    int64_t time;
    uint32_t node;
  };
  std::vector<Event> events;
  events.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    events.push_back({ops_[i].invoke, call_node(i)});
    if (ops_[i].completed) {
      events.push_back({ops_[i].ret, call_node(i) + 1});
      ++completed_;
    }
  }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    if (is_return(a.node) != is_return(b.node)) return !is_return(a.node);
    return a.node < b.node;
  });
  uint32_t tail = 0;
  for (const Event& e : events) {
    next_[tail] = e.node;
    prev_[e.node] = tail;
    tail = e.node;
  }
  next_[tail] = 0;
  prev_[0] = tail;

  // Indeterminate ops with the same effect are interchangeable: using a later
  // one where an earlier one is unused (or used later) can be swapped for the
  // earlier, so they are only linearized in invoke order. Ops are sorted by
  // invoke time already (see the constructor).
  std::vector<std::optional<size_t>> prev_same(n);
  {
    std::map<std::tuple<Kind, int32_t, int32_t>, size_t> last;
    for (size_t i = 0; i < n; ++i) {
      if (ops_[i].completed) continue;
      const KeyOp& op = ops_[i];
      const int32_t value = op.kind == Kind::kDelete ? kAbsent : op.value;
      const int32_t expected = op.kind == Kind::kCas ? op.expected : kAbsent;
      auto [it, inserted] = last.try_emplace({op.kind, value, expected}, i);
      if (!inserted) {
        prev_same[i] = it->second;
        it->second = i;
      }
    }
  }
  std::vector<bool> linearized(n, false);

  // Two Zobrist words per op; the fingerprint of a set XORs its ops' words.
  std::vector<std::pair<uint64_t, uint64_t>> zobrist(n);
  for (size_t i = 0; i < n; ++i) {
    zobrist[i] = {mix64(0x6c696e6561726973ULL, i), mix64(0x7a6f627269737432ULL, i)};
  }
  uint64_t fp_a = 0, fp_b = 0;
  auto toggle = [&](size_t op) {
    fp_a ^= zobrist[op].first;
    fp_b ^= zobrist[op].second;
  };
  StateCache cache;

  struct Frame {
    size_t op;
    int32_t state;
    std::optional<int32_t> before_indet;
  };
  std::vector<Frame> stack;
  int32_t state = kAbsent;
  std::optional<int32_t> before_indet;
  size_t remaining = completed_;
  uint32_t node = next_[0];
  uint64_t visit = 0;  // changes whenever the search state does
  while (true) {
    if (remaining == 0) return Outcome::kLinearizable;
    if (node == 0 || is_return(node)) {
      // Nothing invoked before this op's return can come next: backtrack.
      if (!before_indet) {
        note_dead_end(node, state, completed_ - remaining,
                      stack.empty() ? std::nullopt : std::optional<size_t>(stack.back().op),
                      stack.size());
      }
      if (stack.empty()) return Outcome::kViolation;
      const Frame f = stack.back();
      stack.pop_back();
      ++visit;
      toggle(f.op);
      state = f.state;
      before_indet = f.before_indet;
      restore(f.op);
      linearized[f.op] = false;
      if (ops_[f.op].completed) ++remaining;
      node = next_[call_node(f.op)];
      continue;
    }
    const size_t i = op_of(node);
    const KeyOp& op = ops_[i];
    // Right after an indeterminate write, only an op that needs it may come.
    const bool allowed = !before_indet || (op.completed ? !step(op, *before_indet).has_value()
                                                        : op.kind == Kind::kCas);
    const std::optional<int32_t> after = allowed ? step(op, state) : std::nullopt;
    // An indeterminate op that would change nothing is never needed, nor one
    // that no candidate for the next step needs.
    if (after && !op.completed &&
        (*after == state || (prev_same[i] && !linearized[*prev_same[i]]) ||
         !needed(*after, state, visit))) {
      node = next_[node];
      continue;
    }
    if (after) {
      const std::optional<int32_t> new_before =
          op.completed ? std::nullopt : std::optional<int32_t>(state);
      toggle(i);
      // States right after an indeterminate write are not cached: there is
      // one per (state, pending indeterminate write), most are dead ends found
      // in one step, and their successors are cached anyway. Chains of them
      // (indeterminate CASes) are cached so they cannot multiply.
      const uint64_t tag = (static_cast<uint64_t>(static_cast<uint32_t>(*after + 1)) << 32) |
                           (new_before ? static_cast<uint32_t>(*new_before + 2) : 0u);
      const bool fresh =
          (new_before && !before_indet) || cache.insert(fp_a ^ mix64(tag, 1), fp_b ^ mix64(tag, 2));
      if (fresh) {
        if (++states_ > budget_) return Outcome::kGaveUp;
        ++visit;
        stack.push_back({i, state, before_indet});
        state = *after;
        before_indet = new_before;
        lift(i);
        linearized[i] = true;
        if (op.completed) --remaining;
        node = next_[0];
        continue;
      }
      toggle(i);
    }
    node = next_[node];
  }
}

std::optional<std::string> KeySearch::precheck() const {
  // For each value, the earliest-invoked op writing it.
  std::vector<std::optional<size_t>> first_writer(values_.size());
  for (size_t i = 0; i < ops_.size(); ++i) {
    const KeyOp& op = ops_[i];
    if (op.kind != Kind::kPut && op.kind != Kind::kCas) continue;
    if (op.value == kAbsent) continue;
    std::optional<size_t>& w = first_writer[op.value];
    if (!w || op.invoke < ops_[*w].invoke) w = i;
  }
  for (size_t i = 0; i < ops_.size(); ++i) {
    const KeyOp& op = ops_[i];
    if (!op.completed) continue;
    int32_t read = kAbsent;
    if (op.kind == Kind::kGet) read = op.observed;
    if (op.kind == Kind::kCas && op.cas_ok) read = op.expected;
    if (read == kAbsent) continue;
    const std::string head = "key " + quote(history_[op.index].key) +
                             " is not linearizable: " + op_text(i) + " reads " + value_text(read) +
                             ", ";
    const std::optional<size_t>& w = first_writer[read];
    if (!w) return head + "which no op writes to this key.\n";
    if (op.ret < ops_[*w].invoke) {
      return head + "which is written first by " + op_text(*w) +
             ", invoked only after that read returned.\n";
    }
  }
  return std::nullopt;
}

bool KeySearch::needed(int32_t produced, int32_t state, uint64_t visit) {
  if (needs_visit_ != visit) {
    // What the candidates that fail at `state` would need the value to be.
    needs_visit_ = visit;
    needs_any_ = false;
    needs_.clear();
    for (uint32_t c = next_[0]; c != 0 && !is_return(c); c = next_[c]) {
      const KeyOp& op = ops_[op_of(c)];
      if (!op.completed) {
        // An indeterminate CAS applies after a write producing its expected.
        if (op.kind == Kind::kCas && op.expected != state) {
          needs_.push_back(op.expected);
        }
        continue;
      }
      if (step(op, state)) continue;
      if (op.kind == Kind::kGet) needs_.push_back(op.observed);
      if (op.kind == Kind::kCas && op.cas_ok) needs_.push_back(op.expected);
      // A CAS that failed although the value matches: any change explains it.
      if (op.kind == Kind::kCas && !op.cas_ok) needs_any_ = true;
    }
  }
  return needs_any_ || std::find(needs_.begin(), needs_.end(), produced) != needs_.end();
}

void KeySearch::note_dead_end(uint32_t node, int32_t state, size_t done, std::optional<size_t> last,
                              size_t depth) {
  if (have_dead_end_ && done <= best_done_) return;
  have_dead_end_ = true;
  best_done_ = done;
  best_depth_ = depth;
  best_state_ = state;
  best_last_ = last;
  best_block_ = node == 0 ? std::nullopt : std::optional<size_t>(op_of(node));
  best_candidates_.clear();
  best_candidate_count_ = 0;
  for (uint32_t c = next_[0]; c != node && c != 0; c = next_[c]) {
    if (is_return(c)) continue;
    ++best_candidate_count_;
    if (best_candidates_.size() < kMaxListedCandidates) {
      best_candidates_.push_back(op_of(c));
    }
  }
}

std::string KeySearch::explain() const {
  const KvOp& any = history_[ops_.front().index];
  std::string out = "key " + quote(any.key) + " is not linearizable. ";
  if (!have_dead_end_) return out + "(no dead end recorded)";
  out += "The longest linearizable prefix takes " + std::to_string(best_done_) + " of " +
         std::to_string(completed_) + " completed ops";
  if (best_depth_ > best_done_) {
    out += " (and " + std::to_string(best_depth_ - best_done_) + " indeterminate writes)";
  }
  out += " and leaves the value " + value_text(best_state_);
  if (best_last_) out += "; its last op: " + op_text(*best_last_);
  out += ".\n";
  if (best_block_) {
    out += op_text(*best_block_) + " must take effect by time " +
           std::to_string(ops_[*best_block_].ret) +
           ", but no op that can come first leads to a linearization:\n";
  }
  for (size_t c : best_candidates_) {
    out += "  " + op_text(c) + ": ";
    const std::optional<int32_t> after = step(ops_[c], best_state_);
    if (!after) {
      out += "impossible, the value is " + value_text(best_state_);
    } else if (!ops_[c].completed && *after == best_state_) {
      out += "would have no effect";
    } else {
      out += "possible, but nothing linearizable follows";
    }
    out += "\n";
  }
  if (best_candidate_count_ > best_candidates_.size()) {
    out +=
        "  ... and " + std::to_string(best_candidate_count_ - best_candidates_.size()) + " more\n";
  }
  return out;
}

}  // namespace

std::string describe(const KvOp& op) {
  std::string out = "client " + std::to_string(op.client) + " ";
  const std::string key = quote(op.key);
  switch (op.kind) {
    case Kind::kPut:
      out += "put(" + key + ", " + quote_value(op.value) + ")";
      break;
    case Kind::kGet:
      out += "get(" + key + ") -> " + (op.ret ? quote_value(op.observed) : "?");
      break;
    case Kind::kDelete:
      out += "delete(" + key + ")";
      break;
    case Kind::kCas:
      out += "cas(" + key + ", " + quote_value(op.expected) + " -> " + quote_value(op.value) +
             ") -> " + (op.ret ? (op.cas_ok ? "ok" : "failed") : "?");
      break;
  }
  out += " [" + std::to_string(op.invoke) + ", " +
         (op.ret ? std::to_string(*op.ret) : std::string("?")) + "]";
  return out;
}

KvHistory::OpId KvHistory::add(KvOp op) {
  ops_.push_back(std::move(op));
  closed_.push_back(false);
  failed_.push_back(false);
  return ops_.size() - 1;
}

KvOp& KvHistory::open_op(OpId id, Kind kind, int64_t now) {
  SHOAL_CHECK_MSG(id < ops_.size(), "unknown op id");
  SHOAL_CHECK_MSG(!closed_[id], "op already completed or failed");
  KvOp& op = ops_[id];
  SHOAL_CHECK_MSG(op.kind == kind, "completion does not match the op's kind");
  SHOAL_CHECK_MSG(now >= op.invoke, "op returns before it was invoked");
  closed_[id] = true;
  op.ret = now;
  return op;
}

KvHistory::OpId KvHistory::invoke_put(uint32_t client, std::string key, std::string value,
                                      int64_t now) {
  KvOp op;
  op.kind = Kind::kPut;
  op.client = client;
  op.key = std::move(key);
  op.value = std::move(value);
  op.invoke = now;
  return add(std::move(op));
}

KvHistory::OpId KvHistory::invoke_get(uint32_t client, std::string key, int64_t now) {
  KvOp op;
  op.kind = Kind::kGet;
  op.client = client;
  op.key = std::move(key);
  op.invoke = now;
  return add(std::move(op));
}

KvHistory::OpId KvHistory::invoke_delete(uint32_t client, std::string key, int64_t now) {
  KvOp op;
  op.kind = Kind::kDelete;
  op.client = client;
  op.key = std::move(key);
  op.invoke = now;
  return add(std::move(op));
}

KvHistory::OpId KvHistory::invoke_cas(uint32_t client, std::string key,
                                      std::optional<std::string> expected,
                                      std::optional<std::string> new_value, int64_t now) {
  KvOp op;
  op.kind = Kind::kCas;
  op.client = client;
  op.key = std::move(key);
  op.expected = std::move(expected);
  op.value = std::move(new_value);
  op.invoke = now;
  return add(std::move(op));
}

void KvHistory::complete(OpId id, int64_t now) {
  SHOAL_CHECK_MSG(id < ops_.size() && is_blind_write(ops_[id].kind),
                  "complete() is for Put and Delete");
  open_op(id, ops_[id].kind, now);
}

void KvHistory::complete_get(OpId id, std::optional<std::string> observed, int64_t now) {
  open_op(id, Kind::kGet, now).observed = std::move(observed);
}

void KvHistory::complete_cas(OpId id, bool succeeded, int64_t now) {
  open_op(id, Kind::kCas, now).cas_ok = succeeded;
}

void KvHistory::fail(OpId id) {
  SHOAL_CHECK_MSG(id < ops_.size(), "unknown op id");
  SHOAL_CHECK_MSG(!closed_[id], "op already completed or failed");
  closed_[id] = true;
  failed_[id] = true;
}

std::vector<KvOp> KvHistory::ops() const {
  std::vector<KvOp> out;
  out.reserve(ops_.size());
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (!failed_[i]) out.push_back(ops_[i]);
  }
  return out;
}

CheckResult check_linearizable(const std::vector<KvOp>& history, uint64_t max_states) {
  CheckResult result;
  std::map<std::string_view, std::vector<size_t>> by_key;
  for (size_t i = 0; i < history.size(); ++i) {
    const KvOp& op = history[i];
    if (op.ret && *op.ret < op.invoke) {
      result.linearizable = false;
      result.explanation = "malformed history: #" + std::to_string(i) + " " + describe(op) +
                           " returns before it is invoked";
      return result;
    }
    // An indeterminate read constrains nothing.
    if (op.kind == Kind::kGet && !op.ret) continue;
    by_key[op.key].push_back(i);
  }
  std::string gave_up_on;
  for (const auto& [key, idx] : by_key) {
    KeySearch search(history, idx, max_states);
    if (std::optional<std::string> bad = search.precheck()) {
      result.linearizable = false;
      result.gave_up = false;
      result.explanation = std::move(*bad);
      return result;
    }
    const Outcome outcome = search.run();
    result.states_explored += search.states();
    if (outcome == Outcome::kViolation) {
      result.linearizable = false;
      result.gave_up = false;
      result.explanation = search.explain();
      return result;
    }
    if (outcome == Outcome::kGaveUp) {
      result.linearizable = false;
      result.gave_up = true;
      if (!gave_up_on.empty()) gave_up_on += ", ";
      gave_up_on += quote(key);
    }
  }
  if (result.gave_up) {
    result.explanation = "search budget of " + std::to_string(max_states) +
                         " states per key exhausted on key(s) " + gave_up_on +
                         "; no violation found on the other keys";
  }
  return result;
}

}  // namespace shoal::sim
