// Helpers for integration tests, which run real `shoal` processes (and
// in-process servers) on loopback: temporary directories, spawning with
// captured output, waiting with deadlines, signals, a small HTTP client on
// Boost.Beast, and polling until a condition holds. Readiness is always
// polled against a deadline, never assumed after a fixed sleep.
//
// Each test uses its own loopback addresses (127.0.2.N here) and ports, so
// ctest can run the tests in parallel.
#pragma once

#include <sys/types.h>

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::testing {

using namespace std::chrono_literals;
using Millis = std::chrono::milliseconds;

// The shoal binary under test (SHOAL_BINARY from the build).
std::string shoal_binary();

// A fresh directory under $TMPDIR (or /tmp), removed with its contents when
// the object goes away.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

struct ExitStatus {
  bool exited = false;  // exited normally with code; otherwise killed by signal
  int code = -1;
  int signal = 0;
  bool ok() const { return exited && code == 0; }
  // "exit code 2" or "killed by signal 9", for assertion messages.
  std::string describe() const;
};

// A child process with stdout and stderr captured to files and stdin from
// /dev/null. The destructor kills (SIGKILL) and reaps a process still running.
class Process {
 public:
  // argv[0] is the program path. env entries "NAME=value" are added to (or
  // replace entries of) this process's environment.
  Process(std::vector<std::string> argv, const std::filesystem::path& log_dir,
          const std::vector<std::string>& env = {});
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();

  pid_t pid() const { return pid_; }
  void send_signal(int sig);
  // The exit status once the process has ended, or nullopt if it is still
  // running when the timeout passes.
  std::optional<ExitStatus> wait_for(Millis timeout);
  bool running();
  // Everything the process has written so far.
  std::string out() const;
  std::string err() const;

 private:
  pid_t pid_ = -1;
  std::optional<ExitStatus> status_;
  std::filesystem::path out_path_;
  std::filesystem::path err_path_;
};

// `shoal args...` from start to finish; a run longer than timeout is killed
// (and then reports the signal). Unless env sets TMPDIR, the run gets a
// temporary directory of its own as TMPDIR.
struct RunResult {
  ExitStatus status;
  std::string out;
  std::string err;
};
RunResult run_shoal(const std::vector<std::string>& args, const std::vector<std::string>& env = {},
                    Millis timeout = 10s);

struct HttpResult {
  unsigned status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  bool keep_alive = false;
  std::string header(const std::string& lower_name) const;
};

// One client connection, for tests that care about connection behaviour
// (keep-alive, timeouts, shutdown). Every call has its own timeout.
class HttpConnection {
 public:
  HttpConnection();
  bool connect(const std::string& host, uint16_t port, Millis timeout = 2s);
  // Sends a request and reads the response; nullopt on any failure.
  std::optional<HttpResult> request(boost::beast::http::verb method, const std::string& target,
                                    const std::string& body = {}, bool keep_alive = true,
                                    Millis timeout = 5s);
  bool send_raw(std::string_view bytes, Millis timeout = 2s);
  std::optional<HttpResult> read_response(Millis timeout = 5s);
  // True when the server closes the connection (EOF or reset) within timeout
  // without sending anything more.
  bool closed_by_peer(Millis timeout);

 private:
  boost::asio::io_context io_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
};

// A request on a fresh connection; nullopt when it cannot connect or answer.
std::optional<HttpResult> http_request(const std::string& host, uint16_t port,
                                       boost::beast::http::verb method, const std::string& target,
                                       Millis timeout = 5s);
std::optional<HttpResult> http_get(const std::string& host, uint16_t port,
                                   const std::string& target, Millis timeout = 5s);
std::optional<HttpResult> http_post(const std::string& host, uint16_t port,
                                    const std::string& target, const std::string& body,
                                    Millis timeout = 5s);

// A CLI usage error as DESIGN.md §3 wants it: exit code 2, exactly one line
// "shoal: ..." on stderr that mentions `must_mention`, nothing on stdout.
// Records gtest failures.
void expect_usage_error(const RunResult& r, const std::string& must_mention);

// Calls pred every interval until it returns true (then true) or the timeout
// passes (then false).
bool eventually(const std::function<bool()>& pred, Millis timeout, Millis interval = 20ms);

// Text split at newlines; a final newline does not start an empty line.
std::vector<std::string> lines(const std::string& text);
std::string read_file(const std::filesystem::path& path);
// Standard base64 with padding; nullopt when malformed.
std::optional<std::vector<uint8_t>> base64_decode(std::string_view text);
// Entries of a directory (names only), sorted.
std::vector<std::string> list_dir(const std::filesystem::path& dir);

}  // namespace shoal::testing
