#pragma once
// Test helper: a child process (a fake receiver, a real server) whose first
// stdout line "PORT <n>" names the port it listens on; killed on destruction.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace vigil::testing {

class child_process {
 public:
  /// Runs argv; when `read_port`, waits for the "PORT <n>" line.
  explicit child_process(const std::vector<std::string>& argv, bool read_port = true) {
    int fds[2];
    if (::pipe(fds) != 0) throw std::runtime_error("pipe");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork");
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::close(fds[0]);
      ::close(fds[1]);
      ::setpgid(0, 0);
      std::vector<char*> args;
      args.reserve(argv.size() + 1);
      for (const auto& a : argv)
        args.push_back(const_cast<char*>(a.c_str()));
      args.push_back(nullptr);
      ::execvp(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = ::fdopen(fds[0], "r");
    if (read_port) {
      char line[256];
      while (std::fgets(line, sizeof line, out_)) {
        const std::string_view l(line);
        constexpr std::string_view tag = "PORT ";
        int p = 0;
        if (l.starts_with(tag) && std::from_chars(l.data() + tag.size(), l.data() + l.size(), p).ec == std::errc{}) {
          port_ = p;
          break;
        }
      }
      if (port_ == 0) throw std::runtime_error("child " + argv[0] + " printed no PORT line");
    }
  }
  ~child_process() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_) std::fclose(out_);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  [[nodiscard]] int port() const { return port_; }
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
  int port_ = 0;
};

/// The real interpreter behind `python3` (a pyenv shim costs a second per start).
inline std::string python() {
  static const std::string path = [] {
    std::string out;
    if (FILE* f = ::popen("python3 -c 'import sys; print(sys.executable)' 2>/dev/null", "r")) {
      char buf[512];
      if (std::fgets(buf, sizeof buf, f)) out = buf;
      ::pclose(f);
    }
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
      out.pop_back();
    return out.empty() ? std::string("python3") : out;
  }();
  return path;
}

inline std::string source_dir() {
  const char* s = std::getenv("VIGIL_SOURCE_DIR");
  return s ? s : VIGIL_SOURCE_DIR;
}

}  // namespace vigil::testing
