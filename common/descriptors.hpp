#pragma once
// Descriptor hygiene. Every descriptor the process opens is close-on-exec, so
// a child (an exec plan step) inherits only its stdio: without this an
// orphaned step would keep the engine's listening socket, and a restarted
// engine could not bind its address until the orphan exited.
//
// - Our own open()/pipe2()/accept: O_CLOEXEC / SOCK_CLOEXEC.
// - Boost.Asio 1.18 opens and accepts sockets without it: set_cloexec() on
//   the native handle right after open / accept.
// - libcurl 7.x sockets: curl_sockets_cloexec() installs an open-socket
//   callback that creates them with SOCK_CLOEXEC. libpq sets FD_CLOEXEC on its
//   own socket.
// - A child closes every descriptor above 2 before exec as well
//   (close_fds_from), so a descriptor some library opened without the flag
//   does not leak either.

#include <cstdio>
#include <string>
#include <string_view>

namespace vigil::common {

/// Sets FD_CLOEXEC on `fd` (ignores -1). Returns false when fcntl failed.
bool set_cloexec(int fd) noexcept;

/// Closes every descriptor >= `first`. Async-signal-safe (close_range(2),
/// else a loop up to `max_fd`, which the parent computes with open_max()).
void close_fds_from(int first, int max_fd) noexcept;
/// The highest descriptor number plus one (RLIMIT_NOFILE), for close_fds_from.
[[nodiscard]] int open_max() noexcept;

/// Makes the easy handle `curl_easy` (a CURL*) open its sockets close-on-exec.
void curl_sockets_cloexec(void* curl_easy) noexcept;

/// A file opened for appending, close-on-exec ("ae"), written line by line:
/// what std::ofstream cannot do (it has no way to ask for O_CLOEXEC).
class append_file {
 public:
  append_file() = default;
  ~append_file();
  append_file(const append_file&) = delete;
  append_file& operator=(const append_file&) = delete;

  /// Opens (creating, mode 0600: the audit log and the observation record
  /// name people, regions and reasons) `path` for appending; an existing file
  /// readable by group or others is narrowed to 0600. false on error.
  bool open(const std::string& path);
  [[nodiscard]] bool is_open() const { return f_ != nullptr; }
  /// Writes `line` and a newline (buffered).
  void write_line(std::string_view line);
  void flush();
  void close();

 private:
  std::FILE* f_ = nullptr;
};

}  // namespace vigil::common
