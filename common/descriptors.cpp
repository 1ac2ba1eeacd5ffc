#include "common/descriptors.hpp"

#include <curl/curl.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace vigil::common {

bool set_cloexec(int fd) noexcept {
  if (fd < 0) return true;
  const int flags = ::fcntl(fd, F_GETFD);
  return flags >= 0 && ::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) == 0;
}

int open_max() noexcept {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < (1U << 20)) {
    return static_cast<int>(rl.rlim_cur);
  }
  return 1 << 20;
}

void close_fds_from(int first, int max_fd) noexcept {
#ifdef SYS_close_range
  if (::syscall(SYS_close_range, static_cast<unsigned>(first), ~0U, 0U) == 0) return;
#endif
  for (int fd = first; fd < max_fd; ++fd)
    ::close(fd);
}

namespace {

curl_socket_t open_cloexec(void* /*clientp*/, curlsocktype /*purpose*/, curl_sockaddr* a) {
  return ::socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

}  // namespace

void curl_sockets_cloexec(void* curl_easy) noexcept {
  curl_easy_setopt(static_cast<CURL*>(curl_easy), CURLOPT_OPENSOCKETFUNCTION, &open_cloexec);
}

append_file::~append_file() {
  close();
}

bool append_file::open(const std::string& path) {
  close();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) (void)::fchmod(fd, 0600);
  f_ = ::fdopen(fd, "a");
  if (f_ == nullptr) ::close(fd);
  return f_ != nullptr;
}

void append_file::write_line(std::string_view line) {
  if (f_ == nullptr) return;
  std::fwrite(line.data(), 1, line.size(), f_);
  std::fputc('\n', f_);
}

void append_file::flush() {
  if (f_ != nullptr) std::fflush(f_);
}

void append_file::close() {
  if (f_ != nullptr) std::fclose(f_);
  f_ = nullptr;
}

}  // namespace vigil::common
