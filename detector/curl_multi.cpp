#include "detector/curl_multi.hpp"

#include <poll.h>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <stdexcept>
#include <utility>
#include <vector>

#include "detector/curl_easy.hpp"

namespace vigil::detector::curl {

namespace asio = boost::asio;
using boost::system::error_code;

struct multi_loop::watched {
  watched(asio::io_context& io, curl_socket_t s) : desc(io), fd(s) {}

  /// Stops watching without closing: the fd belongs to curl.
  void release() {
    if (gone) return;
    gone = true;
    if (desc.is_open()) (void)desc.release();  // aborts pending waits
  }

  asio::posix::stream_descriptor desc;
  curl_socket_t fd;
  int want = 0;  ///< CURL_POLL_IN / OUT / INOUT
  bool read_armed = false;
  bool write_armed = false;
  bool gone = false;
};

std::shared_ptr<multi_loop> multi_loop::create(asio::io_context& io, completion_fn on_done) {
  return std::shared_ptr<multi_loop>(new multi_loop(io, std::move(on_done)));
}

multi_loop::multi_loop(asio::io_context& io, completion_fn on_done)
    : io_(io), timer_(io), on_done_(std::move(on_done)) {
  global_init();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) throw std::runtime_error("curl_multi_init failed");
  multi_set(multi_, CURLMOPT_SOCKETFUNCTION, &multi_loop::on_socket);
  multi_set(multi_, CURLMOPT_SOCKETDATA, static_cast<void*>(this));
  multi_set(multi_, CURLMOPT_TIMERFUNCTION, &multi_loop::on_timer);
  multi_set(multi_, CURLMOPT_TIMERDATA, static_cast<void*>(this));
}

multi_loop::~multi_loop() {
  shutdown();
}

bool multi_loop::add(CURL* easy) {
  return multi_ != nullptr && curl_multi_add_handle(multi_, easy) == CURLM_OK;
}

void multi_loop::remove(CURL* easy) {
  if (multi_ != nullptr) curl_multi_remove_handle(multi_, easy);
}

void multi_loop::shutdown() {
  if (multi_ == nullptr) return;
  // Cleanup closes cached connections and reports CURL_POLL_REMOVE for them,
  // so the socket table must still be intact here.
  curl_multi_cleanup(multi_);
  multi_ = nullptr;
  for (auto& [fd, w] : sockets_)
    w->release();
  sockets_.clear();
  timer_.cancel();
  on_done_ = nullptr;
}

int multi_loop::on_socket(CURL* /*easy*/, curl_socket_t s, int what, void* userp, void* /*socketp*/) {
  static_cast<multi_loop*>(userp)->update_socket(s, what);
  return 0;
}

int multi_loop::on_timer(CURLM* /*multi*/, long timeout_ms, void* userp) {
  auto* self = static_cast<multi_loop*>(userp);
  if (timeout_ms < 0) {
    self->timer_.cancel();
    return 0;
  }
  // curl forbids calling socket_action from inside this callback: even a 0 ms
  // timeout runs later, from the event loop. A 0 ms timeout (curl asks for one
  // after every curl_multi_add_handle) is posted rather than put on the timer,
  // which saves a timer-queue round trip and often an epoll wakeup: 8-13 % less
  // CPU per probe at 2,000 checks (bench/RESULTS.md, HTTP probing). One post at
  // a time: a spare timeout action is harmless (curl only checks its deadlines).
  if (timeout_ms == 0) {
    self->timer_.cancel();
    if (!self->zero_timeout_posted_) {
      self->zero_timeout_posted_ = true;
      asio::post(self->io_, [weak = self->weak_from_this()] {
        auto loop = weak.lock();
        if (!loop) return;
        loop->zero_timeout_posted_ = false;
        if (loop->multi_ != nullptr) loop->action(CURL_SOCKET_TIMEOUT, 0);
      });
    }
    return 0;
  }
  self->timer_.expires_after(std::chrono::milliseconds(timeout_ms));
  self->timer_.async_wait([weak = self->weak_from_this()](const error_code& ec) {
    if (ec) return;  // operation_aborted: rescheduled or cancelled
    auto loop = weak.lock();
    if (!loop || loop->multi_ == nullptr) return;
    loop->action(CURL_SOCKET_TIMEOUT, 0);
  });
  return 0;
}

void multi_loop::update_socket(curl_socket_t s, int what) {
  if (what == CURL_POLL_REMOVE) {
    if (auto it = sockets_.find(s); it != sockets_.end()) {
      it->second->release();
      sockets_.erase(it);
    }
    return;
  }
  auto& w = sockets_[s];
  if (!w) {
    w = std::make_shared<watched>(io_, s);
    error_code ec;
    w->desc.assign(s, ec);
    if (ec) {
      // Cannot watch it (should not happen for a socket): fail the transfer
      // through curl rather than leave it hanging until its timeout.
      w->gone = true;
      sockets_.erase(s);
      asio::post(io_, [weak = weak_from_this(), s] {
        if (auto loop = weak.lock(); loop && loop->multi_ != nullptr) loop->action(s, CURL_CSELECT_ERR);
      });
      return;
    }
  }
  w->want = what;
  arm(w);
}

void multi_loop::arm(const std::shared_ptr<watched>& w) {
  if (w->gone) return;
  const bool need_in = (w->want & CURL_POLL_IN) != 0 && !w->read_armed;
  const bool need_out = (w->want & CURL_POLL_OUT) != 0 && !w->write_armed;
  if (!need_in && !need_out) return;

  // Level check first (see the header): one cheap syscall instead of a hang.
  pollfd p{};
  p.fd = w->fd;
  p.events = static_cast<short>((need_in ? POLLIN : 0) | (need_out ? POLLOUT : 0));
  const int n = ::poll(&p, 1, 0);
  const bool failed = n > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL)) != 0;
  const bool in_ready = n > 0 && ((p.revents & POLLIN) != 0 || failed);
  const bool out_ready = n > 0 && ((p.revents & POLLOUT) != 0 || failed);

  auto start = [this, &w](int direction, bool ready_now) {
    auto weak = weak_from_this();
    if (ready_now) {
      asio::post(io_, [weak, w, direction] {
        if (auto loop = weak.lock()) loop->ready(w, direction, false);
      });
      return;
    }
    const auto kind = direction == CURL_CSELECT_IN ? asio::posix::stream_descriptor::wait_read
                                                   : asio::posix::stream_descriptor::wait_write;
    w->desc.async_wait(kind, [weak, w, direction](const error_code& ec) {
      if (ec == asio::error::operation_aborted) {
        (direction == CURL_CSELECT_IN ? w->read_armed : w->write_armed) = false;
        return;
      }
      if (auto loop = weak.lock()) loop->ready(w, direction, static_cast<bool>(ec));
    });
  };
  if (need_in) {
    w->read_armed = true;
    start(CURL_CSELECT_IN, in_ready);
  }
  if (need_out) {
    w->write_armed = true;
    start(CURL_CSELECT_OUT, out_ready);
  }
}

void multi_loop::ready(const std::shared_ptr<watched>& w, int direction, bool error) {
  (direction == CURL_CSELECT_IN ? w->read_armed : w->write_armed) = false;
  if (w->gone || multi_ == nullptr) return;
  action(w->fd, direction | (error ? CURL_CSELECT_ERR : 0));
  arm(w);  // still wanted and not removed meanwhile: wait again
}

void multi_loop::action(curl_socket_t s, int mask) {
  int running = 0;
  curl_multi_socket_action(multi_, s, mask, &running);
  drain_done();
}

void multi_loop::drain_done() {
  std::vector<std::pair<CURL*, CURLcode>> finished;
  int left = 0;
  while (CURLMsg* m = curl_multi_info_read(multi_, &left)) {
    if (m->msg == CURLMSG_DONE) finished.emplace_back(m->easy_handle, m->data.result);
  }
  for (const auto& [easy, result] : finished) {
    if (multi_ == nullptr) return;  // a completion shut us down
    curl_multi_remove_handle(multi_, easy);
    if (on_done_) on_done_(easy, result);
  }
}

}  // namespace vigil::detector::curl
