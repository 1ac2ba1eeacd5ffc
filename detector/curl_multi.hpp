#pragma once
// libcurl's multi "socket action" interface on a Boost.Asio io_context.
//
// curl says which sockets it wants watched (CURLMOPT_SOCKETFUNCTION) and when
// to call it back (CURLMOPT_TIMERFUNCTION). Each socket gets a non-owning
// posix::stream_descriptor (curl opens and closes the fd; we release it on
// CURL_POLL_REMOVE, which curl issues before it closes), and one steady_timer
// serves the whole multi handle.
//
// Keeping an idle kept-alive socket registered instead (parking it until
// curl's close-socket callback) was measured and reverted: fewer epoll_ctl,
// but more epoll_wait wake-ups from the idle sockets' edges and more CPU per
// probe (bench/RESULTS.md, HTTP probing).
//
// Readiness is level-triggered for curl but asio's epoll reactor is
// edge-triggered: a wait started after an edge was consumed (curl left bytes
// in the socket, or a socket that stays writable) would never complete. So
// every (re)arm first polls the fd with a zero timeout and, when it is already
// ready, posts the action instead of waiting.
//
// Thread affinity: single-threaded, on the io_context's thread. Handlers keep
// the loop alive with a weak_ptr and bail out once shutdown() has run.

#include <curl/curl.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <unordered_map>

namespace vigil::detector::curl {

class multi_loop : public std::enable_shared_from_this<multi_loop> {
 public:
  /// Called once per finished transfer, after the easy handle was removed
  /// from the multi handle; the callee owns `easy` again.
  using completion_fn = std::function<void(CURL* easy, CURLcode result)>;

  /// Throws std::runtime_error when curl cannot create a multi handle.
  static std::shared_ptr<multi_loop> create(boost::asio::io_context& io, completion_fn on_done);
  ~multi_loop();
  multi_loop(const multi_loop&) = delete;
  multi_loop& operator=(const multi_loop&) = delete;

  /// Starts a configured easy handle; false (and an unchanged handle) on error.
  [[nodiscard]] bool add(CURL* easy);
  /// Removes a running transfer without calling completion.
  void remove(CURL* easy);
  /// Stops everything: no completion runs afterwards. Remove or finish the easy
  /// handles first. Idempotent; the destructor calls it.
  void shutdown();

  [[nodiscard]] CURLM* handle() const { return multi_; }

  struct watched;  // one per socket curl told us about

 private:
  multi_loop(boost::asio::io_context& io, completion_fn on_done);

  static int on_socket(CURL* easy, curl_socket_t s, int what, void* userp, void* socketp);
  static int on_timer(CURLM* multi, long timeout_ms, void* userp);

  void update_socket(curl_socket_t s, int what);
  void arm(const std::shared_ptr<watched>& w);
  void ready(const std::shared_ptr<watched>& w, int direction, bool error);
  void action(curl_socket_t s, int mask);
  void drain_done();

  boost::asio::io_context& io_;
  boost::asio::steady_timer timer_;
  completion_fn on_done_;
  CURLM* multi_ = nullptr;
  bool zero_timeout_posted_ = false;  ///< a 0 ms timeout action is queued on io_
  std::unordered_map<curl_socket_t, std::shared_ptr<watched>> sockets_;
};

}  // namespace vigil::detector::curl
