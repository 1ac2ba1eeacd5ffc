// Target: "no heap allocation per observation in steady state". This binary
// replaces the global operator new/delete with counting versions, which is
// why it is its own executable (registered in bench/CMakeLists.txt) and not
// part of vigil_unit_decision: the replacement must not leak into others.
#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>

#include "decision/core.hpp"

namespace {
std::atomic<bool> counting{false};
std::atomic<std::uint64_t> allocations{0};

void* counted_alloc(std::size_t n, std::size_t align) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (n == 0) n = 1;
  void* p =
      align > alignof(std::max_align_t) ? std::aligned_alloc(align, (n + align - 1) / align * align) : std::malloc(n);
  return p;
}
}  // namespace

void* operator new(std::size_t n) {
  if (void* p = counted_alloc(n, 0)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) {
  if (void* p = counted_alloc(n, 0)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, std::align_val_t a) {
  if (void* p = counted_alloc(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) {
  if (void* p = counted_alloc(n, static_cast<std::size_t>(a))) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n, 0);
}
void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
  return counted_alloc(n, 0);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept {
  std::free(p);
}

namespace {

using namespace vigil::decision;

const time_point start{std::chrono::milliseconds{1'795'000'000'000}};

topology make_topology(std::size_t services, std::size_t vantages) {
  topology t;
  t.deployment = "alloc";
  t.regions = {{"us-east-1", region_role::primary, {}, {}}, {"us-west-2", region_role::dr, {}, {}}};
  for (std::size_t v = 0; v < vantages; ++v)
    t.vantages.push_back(std::to_string(v));
  for (region_index r = 0; r < 2; ++r) {
    for (std::size_t s = 0; s < services; ++s) {
      std::string name = "svc";
      name += std::to_string(s);
      std::string id = name;  // appended piecewise: GCC 12 -O3 warns (-Wrestrict) on a + "@" + b
      id += '@';
      id += t.regions[r].name;
      t.checks.push_back(check_info{id, r, name, 0, false, check_role::classify, duration{2000}});
    }
  }
  t.index();
  return t;
}

class counter {
 public:
  counter() {
    allocations.store(0);
    counting.store(true);
  }
  ~counter() { counting.store(false); }
  std::uint64_t stop() {
    counting.store(false);
    return allocations.load();
  }
};

TEST(DecisionAlloc, CounterSeesAllocations) {
  // The replacement is really in effect (otherwise the zeros below prove nothing).
  counter c;
  auto* p = new std::string(100, 'x');
  const auto n = c.stop();
  delete p;
  EXPECT_GE(n, 1U);
}

TEST(DecisionAlloc, IngestInSteadyStateAllocatesNothing) {
  const auto t = make_topology(50, 5);
  core c(t);
  c.set_leader(true);
  time_point now = start;
  for (int round = 0; round < 4; ++round) {
    for (std::size_t vi = 0; vi < t.vantages.size(); ++vi) {
      const auto v = static_cast<vantage_index>(vi);
      for (check_index k = 0; k < t.checks.size(); ++k)
        c.ingest(observation{v, k, now, outcome::ok, 10.0F});
      c.vantage_report(v, now);
    }
    now += duration{1000};
    c.tick(now);
    (void)c.take_output();
  }
  counter n;
  std::uint64_t i = 0;
  for (int round = 0; round < 200; ++round) {
    now += duration{500};
    for (std::size_t vi = 0; vi < t.vantages.size(); ++vi) {
      const auto v = static_cast<vantage_index>(vi);
      for (check_index k = 0; k < t.checks.size(); ++k, ++i) {
        // Failures and recoveries move the hysteresis both ways; a few
        // out-of-range observations take the drop path.
        const outcome o = (i % 7 == 0 || i % 11 == 0) ? outcome::timeout : outcome::ok;
        c.ingest(observation{v, k, now, o, 12.5F});
      }
      c.ingest(observation{static_cast<vantage_index>(t.vantages.size()), 0, now, outcome::ok, 1.0F});
      c.ingest(observation{v, static_cast<check_index>(t.checks.size()), now, outcome::ok, 1.0F});
      c.vantage_report(v, now);
    }
    c.ingest_lag(lag_sample{now, duration{300}, std::nullopt});
  }
  const auto allocs = n.stop();
  EXPECT_EQ(allocs, 0U) << "allocations during " << i << " ingests";
  EXPECT_GT(c.dropped(), 0U);
}

}  // namespace
