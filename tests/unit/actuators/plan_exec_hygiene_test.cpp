// Descriptor and process hygiene of exec steps: the command inherits stdio
// only (never the engine's sockets or journal), runs in its own process
// group, and a group left behind by a run that was killed mid-step is killed
// (and the kill journaled) before the resumed run re-runs the step.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <thread>

#include "actuators/plan_executor.hpp"
#include "common/waiter.hpp"
#include "tests/unit/actuators/plan_steps_rig.hpp"
#include "tests/unit/actuators/plan_test_support.hpp"

namespace vigil::actuators {
namespace {

using nlohmann::json;
using test_support::step;
using namespace std::chrono_literals;
using namespace plan_rig;

/// A live (not zombie) process.
bool alive(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = s.rfind(')');
  return close != std::string::npos && close + 2 < s.size() && s[close + 2] != 'Z';
}

bool wait_dead(pid_t pid) {
  for (int i = 0; i < 250 && alive(pid); ++i)
    std::this_thread::sleep_for(20ms);
  return !alive(pid);
}

std::vector<json> journal_records(const std::filesystem::path& file) {
  std::vector<json> out;
  std::ifstream f(file);
  for (std::string line; std::getline(f, line);)
    out.push_back(json::parse(line));
  return out;
}

TEST(plan_exec_hygiene, an_exec_step_sees_stdio_only) {
  // Descriptors opened without O_CLOEXEC, as a library might: still not inherited.
  const int leaky_file = ::open("/dev/null", O_RDONLY);
  const int leaky_socket = ::socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GT(leaky_file, 2);
  ASSERT_GT(leaky_socket, 2);
  exec_rig r(nullptr);
  // The shell becomes ls, which lists its descriptors: what the step was given
  // plus its own handle on the directory, the lowest free one (3 when only
  // stdio was inherited). No pipeline: a shell holds a pipe end while forking.
  const auto out = r.run({step("fds", "exec", {{"command", {"/bin/sh", "-c", "exec ls -m /proc/self/fd"}}})});
  ::close(leaky_file);
  ::close(leaky_socket);
  ASSERT_EQ(out.result, plan_result::done) << out.detail;
  const auto records = journal_records(r.dir.path() / "plan.jsonl");
  std::string detail;
  for (const auto& rec : records) {
    if (rec.value("type", "") == "result") detail = rec.value("detail", "");
  }
  EXPECT_EQ(detail, "/bin/sh exit 0: 0, 1, 2, 3");
}

TEST(plan_exec_hygiene, the_process_group_is_journaled_and_an_orphan_group_is_killed_only_when_it_is_the_steps) {
  exec_rig r(nullptr);
  const std::string pidfile = (r.dir.path() / "bg.pid").string();
  // The step exits at once, leaving a background child in its process group.
  const auto out = r.run({step("bg", "exec", {{"command", {"/bin/sh", "-c", "sleep 60 & echo $! > " + pidfile}}})});
  ASSERT_EQ(out.result, plan_result::done) << out.detail;
  const pid_t bg = std::stoi(test_support::read_file(pidfile));
  ASSERT_TRUE(alive(bg));
  int pgid = 0;
  for (const auto& rec : journal_records(r.dir.path() / "plan.jsonl")) {
    if (rec.value("type", "") == "process") {
      pgid = rec.value("pgid", 0);
      EXPECT_EQ(rec.value("boot_id", ""), boot_id());
      EXPECT_EQ(rec.value("step", ""), "bg");
    }
  }
  ASSERT_GT(pgid, 1);
  EXPECT_EQ(::getpgid(bg), pgid);
  const std::string key = req().ctx.recommendation_hash + "/bg";
  EXPECT_NE(kill_orphan_group(pgid, "another-boot", key).find("left alone"), std::string::npos);
  EXPECT_NE(kill_orphan_group(pgid, boot_id(), "other-hash/bg").find("reused id"), std::string::npos);
  EXPECT_TRUE(alive(bg));
  const std::string killed = kill_orphan_group(pgid, boot_id(), key);
  EXPECT_NE(killed.find("killed (1 process(es)"), std::string::npos) << killed;
  EXPECT_TRUE(wait_dead(bg));
  EXPECT_NE(kill_orphan_group(pgid, boot_id(), key).find("is gone"), std::string::npos);
}

TEST(plan_exec_hygiene, a_resumed_run_kills_the_group_of_the_step_in_flight_first) {
  test_support::temp_dir dir{"plan-orphan"};
  const std::string pidfile = (dir.path() / "bg.pid").string();
  const std::string runs = (dir.path() / "runs").string();
  common::plan_config plan;
  plan.dry_run = false;
  // First run: starts a background child and hangs; the resumed run only records itself.
  plan.steps = {step("work", "exec",
                     {{"command",
                       {"/bin/sh", "-c",
                        "echo $VIGIL_RESUMED >> " + runs + "; if [ $VIGIL_RESUMED = 0 ]; then sleep 60 & echo $! > " +
                            pidfile + "; sleep 60; fi"}}})};
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t engine = ::fork();
  ASSERT_GE(engine, 0);
  if (engine == 0) {  // the engine that dies mid-step
    ::close(fds[0]);
    common::real_clock clock;
    plan_journal journal(dir.path() / "plan.jsonl");
    common::cv_waiter wait;
    plan_executor exec(journal, make_step_factory({}), clock, wait, nullptr, executor_options{false, 0ms, 10ms, 50ms});
    executor_events ev;
    std::thread tell([&] {
      while (!std::filesystem::exists(pidfile) || test_support::read_file(pidfile).empty())
        std::this_thread::sleep_for(10ms);
      (void)!::write(fds[1], "x", 1);
    });
    tell.detach();
    const auto q = req();
    (void)exec.execute(plan, q, approval_ref{q.ctx.recommendation_hash, q.ctx.approvers}, ev);
    ::_exit(3);
  }
  ::close(fds[1]);
  char b = 0;
  ASSERT_EQ(::read(fds[0], &b, 1), 1);
  ::close(fds[0]);
  ::kill(engine, SIGKILL);
  ::waitpid(engine, nullptr, 0);
  const pid_t bg = std::stoi(test_support::read_file(pidfile));
  ASSERT_TRUE(alive(bg)) << "the orphan must outlive the engine for this test to mean anything";

  plan_journal journal(dir.path() / "plan.jsonl");
  common::real_clock clock;
  common::cv_waiter wait;
  plan_executor exec(journal, make_step_factory({}), clock, wait, nullptr, executor_options{false, 0ms, 10ms, 50ms});
  const auto plans = journal.plans();
  ASSERT_EQ(plans.size(), 1u);
  ASSERT_TRUE(plans[0].steps.at(0).pgid.has_value());
  const auto out = exec.execute(plan, plan_executor::request_from(plans[0]), plan_executor::approval_from(plans[0]));
  EXPECT_EQ(out.result, plan_result::done) << out.detail;
  EXPECT_TRUE(wait_dead(bg));
  EXPECT_EQ(test_support::read_file(runs), "0\n1\n");
  // The kill is journaled before the step's new intent.
  std::vector<std::string> types;
  for (const auto& rec : journal_records(dir.path() / "plan.jsonl")) {
    types.push_back(rec.value("type", ""));
    if (types.back() == "process_kill") {
      EXPECT_NE(rec.value("detail", "").find("killed"), std::string::npos) << rec;
    }
  }
  EXPECT_EQ(types, (std::vector<std::string>{"plan_begin", "intent", "process", "process_kill", "intent", "process",
                                             "result", "plan_end"}));
}

}  // namespace
}  // namespace vigil::actuators
