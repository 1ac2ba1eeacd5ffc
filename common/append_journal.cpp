#include "common/append_journal.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace vigil::common {

namespace {

[[noreturn]] void fail(const std::filesystem::path& p, std::string_view what) {
  throw std::runtime_error(p.string() + ": " + std::string(what) + ": " + std::strerror(errno));
}

void write_all(int fd, std::string_view data, const std::filesystem::path& p) {
  std::size_t off = 0;
  while (off < data.size()) {
    const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(p, "write");
    off += static_cast<std::size_t>(n);
  }
}

void fsync_dir(const std::filesystem::path& file) {
  const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) fail(dir, "open directory");
  const int rc = ::fsync(dfd);
  ::close(dfd);
  if (rc != 0) fail(dir, "fsync directory");
}

}  // namespace

append_journal::append_journal(std::filesystem::path file) : file_(std::move(file)) {
  open_locked();
}

append_journal::~append_journal() {
  if (fd_ >= 0) ::close(fd_);  // releases the flock
}

void append_journal::open_locked() {
  struct stat before {};
  const bool existed = ::stat(file_.c_str(), &before) == 0;
  fd_ = ::open(file_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (fd_ < 0) fail(file_, "open");
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    ::close(fd_);
    fd_ = -1;
    errno = e;
    fail(file_, "locked by another process (is another vigil engine using this state directory?)");
  }
  if (!existed) fsync_dir(file_);
  std::string data;
  std::array<char, 65536> buf{};
  for (off_t off = 0;;) {
    const ssize_t n = ::pread(fd_, buf.data(), buf.size(), off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail(file_, "read");
    if (n == 0) break;
    data.append(buf.data(), static_cast<std::size_t>(n));
    off += n;
  }
  const auto last_nl = data.rfind('\n');
  const std::size_t complete = last_nl == std::string::npos ? 0 : last_nl + 1;
  if (complete < data.size()) {
    torn_ = data.size() - complete;
    if (::ftruncate(fd_, static_cast<off_t>(complete)) != 0 || ::fsync(fd_) != 0) fail(file_, "truncate torn tail");
  }
  std::size_t start = 0;
  while (start < complete) {
    const auto nl = data.find('\n', start);
    if (nl > start) initial_.emplace_back(data.substr(start, nl - start));
    start = nl + 1;
  }
}

void append_journal::append(std::string_view line) {
  if (line.find('\n') != std::string_view::npos) throw std::invalid_argument("journal lines cannot contain newlines");
  std::string rec(line);
  rec += '\n';
  write_all(fd_, rec, file_);
  if (::fdatasync(fd_) != 0) fail(file_, "fdatasync");
}

void append_journal::rewrite(const std::vector<std::string>& lines) {
  auto tmp = file_;
  tmp += ".tmp";
  // The new file is locked before it becomes visible under the journal's
  // name, and this descriptor becomes the journal's: no window for another
  // process to take it.
  const int tfd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (tfd < 0) fail(tmp, "open");
  std::string data;
  for (const auto& l : lines) {
    data += l;
    data += '\n';
  }
  try {
    if (::flock(tfd, LOCK_EX | LOCK_NB) != 0) fail(tmp, "lock");
    write_all(tfd, data, tmp);
    if (::fsync(tfd) != 0) fail(tmp, "fsync");
    if (::rename(tmp.c_str(), file_.c_str()) != 0) fail(file_, "rename compacted journal");
    fsync_dir(file_);
  } catch (...) {
    ::close(tfd);
    throw;
  }
  ::close(fd_);
  fd_ = tfd;
}

}  // namespace vigil::common
