#include "tests/integration/harness.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <system_error>
#include <thread>

extern char** environ;

namespace shoal::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string shoal_binary() { return SHOAL_BINARY; }

// ---------------------------------------------------------------- TempDir

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): no setenv
  std::string templ =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/shoal-itest-XXXXXX";
  std::vector<char> buf(templ.begin(), templ.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    throw std::runtime_error("mkdtemp " + templ + ": " +
                             std::error_code(errno, std::generic_category()).message());
  }
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

// ---------------------------------------------------------------- Process

std::string ExitStatus::describe() const {
  if (exited) return "exit code " + std::to_string(code);
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "still running";
}

namespace {

std::atomic<int> g_process_counter{0};

ExitStatus decode_wait_status(int status) {
  ExitStatus s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  return s;
}

// environ with the overrides applied ("NAME=value" replaces NAME).
std::vector<std::string> make_env(const std::vector<std::string>& overrides) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    const bool replaced = std::any_of(overrides.begin(), overrides.end(), [&](const auto& o) {
      return o.substr(0, o.find('=')) == name;
    });
    if (!replaced) env.push_back(std::move(entry));
  }
  env.insert(env.end(), overrides.begin(), overrides.end());
  return env;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

Process::Process(std::vector<std::string> argv, const std::filesystem::path& log_dir,
                 const std::vector<std::string>& env) {
  const int n = g_process_counter.fetch_add(1);
  out_path_ = log_dir / ("proc-" + std::to_string(n) + ".stdout");
  err_path_ = log_dir / ("proc-" + std::to_string(n) + ".stderr");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  // The child starts with default signal handling and nothing blocked, even
  // when the test runner ignores SIGINT (as background jobs do).
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t defaults;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGINT);
  sigaddset(&defaults, SIGTERM);
  sigaddset(&defaults, SIGPIPE);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigset_t empty;
  sigemptyset(&empty);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> envs = make_env(env);
  auto c_argv = c_strings(argv);
  auto c_env = c_strings(envs);
  const int rc = ::posix_spawn(&pid_, c_argv[0], &actions, &attr, c_argv.data(), c_env.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    pid_ = -1;
    throw std::runtime_error("posix_spawn " + argv[0] + ": " +
                             std::error_code(rc, std::generic_category()).message());
  }
}

Process::~Process() {
  if (pid_ > 0 && !status_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }
}

void Process::send_signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<ExitStatus> Process::wait_for(Millis timeout) {
  if (status_) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      status_ = decode_wait_status(status);
      return status_;
    }
    if (r < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

bool Process::running() { return !wait_for(0ms).has_value(); }

std::string Process::out() const { return read_file(out_path_); }
std::string Process::err() const { return read_file(err_path_); }

RunResult run_shoal(const std::vector<std::string>& args, const std::vector<std::string>& env,
                    Millis timeout) {
  TempDir logs;
  std::vector<std::string> argv{shoal_binary()};
  argv.insert(argv.end(), args.begin(), args.end());
  // A dev agent started by mistake (and then killed) leaves its data dir in
  // the temporary directory, not in /tmp.
  std::vector<std::string> full_env = env;
  if (std::none_of(env.begin(), env.end(),
                   [](const auto& e) { return e.starts_with("TMPDIR="); })) {
    full_env.push_back("TMPDIR=" + logs.path().string());
  }
  Process p(argv, logs.path(), full_env);
  RunResult r;
  auto status = p.wait_for(timeout);
  if (!status) {
    p.send_signal(SIGKILL);
    status = p.wait_for(10s);
  }
  r.status = status.value_or(ExitStatus{});
  r.out = p.out();
  r.err = p.err();
  return r;
}

// ---------------------------------------------------------------- HTTP

std::string HttpResult::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

HttpConnection::HttpConnection() : stream_(io_) {}

bool HttpConnection::connect(const std::string& host, uint16_t port, Millis timeout) {
  beast::error_code parse_ec;
  const auto address = asio::ip::make_address(host, parse_ec);
  if (parse_ec) return false;
  bool ok = false;
  stream_.expires_after(timeout);
  stream_.async_connect(asio::ip::tcp::endpoint(address, port),
                        [&](beast::error_code ec) { ok = !ec; });
  io_.restart();
  io_.run();
  return ok;
}

bool HttpConnection::send_raw(std::string_view bytes, Millis timeout) {
  bool ok = false;
  stream_.expires_after(timeout);
  asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                    [&](beast::error_code ec, size_t) { ok = !ec; });
  io_.restart();
  io_.run();
  return ok;
}

std::optional<HttpResult> HttpConnection::read_response(Millis timeout) {
  http::response<http::string_body> res;
  bool ok = false;
  stream_.expires_after(timeout);
  http::async_read(stream_, buffer_, res, [&](beast::error_code ec, size_t) { ok = !ec; });
  io_.restart();
  io_.run();
  if (!ok) return std::nullopt;
  HttpResult r;
  r.status = res.result_int();
  r.body = res.body();
  r.keep_alive = res.keep_alive();
  for (const auto& field : res) {
    std::string name(field.name_string().data(), field.name_string().size());
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    r.headers[name] = std::string(field.value().data(), field.value().size());
  }
  return r;
}

std::optional<HttpResult> HttpConnection::request(http::verb method, const std::string& target,
                                                  const std::string& body, bool keep_alive,
                                                  Millis timeout) {
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "shoal-test");
  req.keep_alive(keep_alive);
  if (!body.empty() || method == http::verb::post || method == http::verb::put) {
    req.body() = body;
    req.prepare_payload();
  }
  bool ok = false;
  stream_.expires_after(timeout);
  http::async_write(stream_, req, [&](beast::error_code ec, size_t) { ok = !ec; });
  io_.restart();
  io_.run();
  if (!ok) return std::nullopt;
  return read_response(timeout);
}

bool HttpConnection::closed_by_peer(Millis timeout) {
  char byte = 0;
  beast::error_code result;
  size_t got = 0;
  stream_.expires_after(timeout);
  stream_.async_read_some(asio::buffer(&byte, 1), [&](beast::error_code ec, size_t n) {
    result = ec;
    got = n;
  });
  io_.restart();
  io_.run();
  if (got > 0) return false;
  return result == asio::error::eof || result == asio::error::connection_reset;
}

std::optional<HttpResult> http_request(const std::string& host, uint16_t port, http::verb method,
                                       const std::string& target, Millis timeout) {
  HttpConnection c;
  if (!c.connect(host, port, timeout)) return std::nullopt;
  return c.request(method, target, {}, false, timeout);
}

std::optional<HttpResult> http_get(const std::string& host, uint16_t port,
                                   const std::string& target, Millis timeout) {
  return http_request(host, port, http::verb::get, target, timeout);
}

std::optional<HttpResult> http_post(const std::string& host, uint16_t port,
                                    const std::string& target, const std::string& body,
                                    Millis timeout) {
  HttpConnection c;
  if (!c.connect(host, port, timeout)) return std::nullopt;
  return c.request(http::verb::post, target, body, false, timeout);
}

// ---------------------------------------------------------------- misc

bool eventually(const std::function<bool()>& pred, Millis timeout, Millis interval) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (pred()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(interval);
  }
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<std::vector<uint8_t>> base64_decode(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<uint8_t> out;
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=') {
        // Padding only at the very end, at most two characters.
        if (i + 4 != text.size() || j < 2) return std::nullopt;
        ++pad;
        v[j] = 0;
        continue;
      }
      if (pad > 0) return std::nullopt;
      v[j] = value(c);
      if (v[j] < 0) return std::nullopt;
    }
    const auto n = static_cast<uint32_t>(v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3]);
    out.push_back(static_cast<uint8_t>(n >> 16));
    if (pad < 2) out.push_back(static_cast<uint8_t>(n >> 8));
    if (pad < 1) out.push_back(static_cast<uint8_t>(n));
  }
  return out;
}

std::vector<std::string> list_dir(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

void expect_usage_error(const RunResult& r, const std::string& must_mention) {
  EXPECT_EQ(r.status.describe(), "exit code 2") << r.err;
  auto err_lines = lines(r.err);
  ASSERT_EQ(err_lines.size(), 1u) << r.err;
  EXPECT_TRUE(err_lines[0].starts_with("shoal: ")) << err_lines[0];
  EXPECT_NE(err_lines[0].find(must_mention), std::string::npos)
      << "expected \"" << must_mention << "\" in: " << err_lines[0];
  EXPECT_EQ(r.out, "");
}

}  // namespace shoal::testing
