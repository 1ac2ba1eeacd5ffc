#include "common/waiter.hpp"

namespace vigil::common {

using std::chrono::milliseconds;

void cv_waiter::wait_for(milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [&] { return notified_; });
  notified_ = false;
}

void cv_waiter::notify() {
  {
    std::lock_guard lock(mu_);
    notified_ = true;
  }
  cv_.notify_all();
}

}  // namespace vigil::common
