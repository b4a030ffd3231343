// fork/exec with appended logs, a process group and a parent-death signal;
// waiting with deadlines.
#include "tests/chaos/child_process.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace shoal::chaos {

namespace {

using namespace std::chrono_literals;

ExitInfo decode(int status) {
  ExitInfo s;
  if (WIFEXITED(status)) {
    s.exited = true;
    s.code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    s.signal = WTERMSIG(status);
  }
  return s;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (auto& s : strings) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

bool on_main_thread() { return ::syscall(SYS_gettid) == ::getpid(); }

}  // namespace

std::string ExitInfo::describe() const {
  if (exited) return "exit code " + std::to_string(code);
  if (signal != 0) return "killed by signal " + std::to_string(signal);
  return "still running";
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0 && !status_) (void)kill_and_reap();
}

void ChildProcess::start(const std::vector<std::string>& argv_in,
                         const std::vector<std::string>& env_in,
                         const std::filesystem::path& out_file,
                         const std::filesystem::path& err_file) {
  if (!on_main_thread()) {
    throw std::logic_error("ChildProcess::start must run on the main thread (parent-death signal)");
  }
  if (pid_ > 0 && !status_) (void)kill_and_reap();
  pid_ = -1;
  status_.reset();
  // Everything the child needs is prepared before fork: after it, only
  // async-signal-safe calls.
  std::vector<std::string> argv = argv_in;
  std::vector<std::string> env = env_in;
  auto c_argv = c_strings(argv);
  auto c_env = c_strings(env);
  const std::string out_path = out_file.string();
  const std::string err_path = err_file.string();
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);  // the tool died before prctl
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; ++s) (void)::sigaction(s, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    const int in = ::open("/dev/null", O_RDONLY);
    const int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    const int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in < 0 || out < 0 || err < 0) ::_exit(127);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    for (int fd : {in, out, err}) {
      if (fd > 2) ::close(fd);
    }
    // Descriptors of the tool (sockets, the history file) must not leak into
    // agents; close_range is not in every libc, so close them one by one.
    const long max_fd = ::sysconf(_SC_OPEN_MAX);
    for (long fd = 3; fd < std::min(max_fd, 65536L); ++fd) ::close(static_cast<int>(fd));
    ::execve(c_argv[0], c_argv.data(), c_env.data());
    ::_exit(127);
  }
  pid_ = pid;
}

void ChildProcess::send_signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<ExitInfo> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  if (pid_ <= 0) return std::nullopt;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    int status = 0;
    const pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      status_ = decode(status);
      return status_;
    }
    if (r < 0 && errno != EINTR) {
      status_ = ExitInfo{};  // not our child any more: treat as gone
      return status_;
    }
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);
  }
}

bool ChildProcess::running() { return pid_ > 0 && !wait_for(0ms).has_value(); }

ExitInfo ChildProcess::kill_and_reap() {
  send_signal(SIGKILL);
  for (;;) {
    if (auto s = wait_for(10s)) return *s;
  }
}

std::vector<std::string> environment_with(const std::vector<std::string>& drop,
                                          const std::vector<std::string>& add) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string entry = *e;
    const std::string name = entry.substr(0, entry.find('='));
    const bool dropped = std::find(drop.begin(), drop.end(), name) != drop.end() ||
                         std::any_of(add.begin(), add.end(), [&](const std::string& a) {
                           return a.substr(0, a.find('=')) == name;
                         });
    if (!dropped) env.push_back(std::move(entry));
  }
  env.insert(env.end(), add.begin(), add.end());
  return env;
}

ExitInfo run_command(const std::vector<std::string>& argv, const std::filesystem::path& log_file,
                     std::chrono::milliseconds timeout) {
  ChildProcess p;
  p.start(argv, environment_with({}, {}), log_file, log_file);
  if (auto s = p.wait_for(timeout)) return *s;
  return p.kill_and_reap();
}

}  // namespace shoal::chaos
