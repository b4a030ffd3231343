// Status and Result<T>: the error type returned across every I/O and decode
// boundary in Shoal. Modelled on rocksdb::Status: a code plus a human message,
// cheap to return on the success path, and [[nodiscard]] so that an ignored
// error is a compile warning. Broken invariants are not Statuses: they abort
// (see SHOAL_CHECK). Exceptions are reserved for startup and config errors.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace shoal {

enum class StatusCode : uint8_t {
  kOk = 0,
  kInvalidArgument,  // caller passed something malformed (a spec, a flag)
  kDecode,           // bytes from the network or disk that do not parse
  kAuth,             // authentication failed (wrong key, tampered bytes)
  kReplay,           // authenticated but replayed or from an older boot epoch
  kNotFound,
  kConflict,     // e.g. a failed check-and-set
  kTooLarge,     // a size or count limit was exceeded
  kUnavailable,  // try again later (no leader, not serving yet)
  kIoError,
  kInternal,
  // The operation was sent and may or may not have taken effect (a write
  // proposed to Raft whose leader was lost before it committed): retrying a
  // non-idempotent write blindly could apply it twice. kUnavailable, by
  // contrast, guarantees that nothing was done.
  kOutcomeUnknown,
};

// The short lower-case name of a code, used in metrics labels and logs.
const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }
  static Status invalid_argument(std::string m) {
    return {StatusCode::kInvalidArgument, std::move(m)};
  }
  static Status decode(std::string m) { return {StatusCode::kDecode, std::move(m)}; }
  static Status auth(std::string m) { return {StatusCode::kAuth, std::move(m)}; }
  static Status replay(std::string m) { return {StatusCode::kReplay, std::move(m)}; }
  static Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status conflict(std::string m) { return {StatusCode::kConflict, std::move(m)}; }
  static Status too_large(std::string m) { return {StatusCode::kTooLarge, std::move(m)}; }
  static Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status io_error(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status outcome_unknown(std::string m) {
    return {StatusCode::kOutcomeUnknown, std::move(m)};
  }

  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "decode: array of 10000000 elements exceeds the limit" style text.
  std::string to_string() const;

  // Marks an intentionally ignored status (e.g. best-effort cleanup).
  void ignore() const {}

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

// Either a value or a non-ok Status.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}        // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    if (std::get<Status>(v_).is_ok()) {
      std::fprintf(stderr, "Result constructed from an ok Status\n");
      std::abort();
    }
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }

  const Status& status() const {
    static const Status kOk;
    return is_ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->checked(); }
  T& operator*() & { return checked(); }
  const T& operator*() const& { return const_cast<Result*>(this)->checked(); }

 private:
  T& checked() {
    if (!is_ok()) {
      std::fprintf(stderr, "Result::value() on error: %s\n",
                   std::get<Status>(v_).to_string().c_str());
      std::abort();
    }
    return std::get<T>(v_);
  }
  std::variant<T, Status> v_;
};

[[noreturn]] void check_failed(const char* expr, const char* file, int line, const char* msg);

}  // namespace shoal

// Aborts with the expression and location when an invariant is broken. Used for
// programming errors only, never for bad input.
#define SHOAL_CHECK(cond)                                              \
  do {                                                                 \
    if (!(cond)) ::shoal::check_failed(#cond, __FILE__, __LINE__, ""); \
  } while (0)
#define SHOAL_CHECK_MSG(cond, msg)                                        \
  do {                                                                    \
    if (!(cond)) ::shoal::check_failed(#cond, __FILE__, __LINE__, (msg)); \
  } while (0)

// Returns early from the enclosing function when a Status-returning
// expression fails.
#define SHOAL_RETURN_IF_ERROR(expr) \
  do {                              \
    ::shoal::Status _st = (expr);   \
    if (!_st.is_ok()) return _st;   \
  } while (0)
