// The plan steps that act from the engine's host: exec (a command with the
// recommendation in its environment), webhook (POST the plan context,
// HMAC-signed) and verify (the target region's checks are up by quorum), and
// the production step factory.
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <thread>

#include "actuators/plan_steps.hpp"
#include "common/crypto.hpp"
#include "common/descriptors.hpp"
#include "common/http_client.hpp"
#include "common/utf8.hpp"
#include "detector/expect.hpp"

extern char** environ;  // NOLINT: POSIX

namespace vigil::actuators {

using nlohmann::json;
using namespace std::chrono_literals;

std::string_view to_string(outcome_kind k) {
  switch (k) {
    case outcome_kind::done:
      return "done";
    case outcome_kind::already_done:
      return "already_done";
    case outcome_kind::failed:
      return "failed";
    case outcome_kind::unexpected_state:
      return "unexpected_state";
  }
  return "failed";
}

std::chrono::milliseconds step_context::remaining() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock.monotonic());
}

std::vector<std::string> exec_environment(const step_context& c) {
  std::vector<std::pair<std::string, std::string>> ours{
      {"VIGIL_ACTION", c.plan.action},
      {"VIGIL_FROM", c.plan.from},
      {"VIGIL_TO", c.plan.to},
      {"VIGIL_RECOMMENDATION_ID", c.plan.recommendation_id},
      {"VIGIL_RECOMMENDATION_HASH", c.plan.recommendation_hash},
      {"VIGIL_ALLOW_DATA_LOSS", c.plan.allow_data_loss ? "true" : "false"},
      {"VIGIL_STEP", c.step.name},
      {"VIGIL_IDEMPOTENCY_KEY", c.plan.recommendation_hash + "/" + c.step.name},
      {"VIGIL_RESUMED", c.resumed ? "1" : "0"},
  };
  if (const auto it = c.step.params.find("env"); it != c.step.params.end() && it->is_object()) {
    for (const auto& [k, v] : it->items())
      ours.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
  }
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv(*e);
    const std::string key = kv.substr(0, kv.find('='));
    const bool overridden = std::any_of(ours.begin(), ours.end(), [&](const auto& p) { return p.first == key; });
    if (!overridden) out.push_back(kv);
  }
  for (const auto& [k, v] : ours)
    out.emplace_back(k).append("=").append(v);
  return out;
}

std::string boot_id() {
  std::ifstream f("/proc/sys/kernel/random/boot_id");
  std::string id;
  std::getline(f, id);
  if (!id.empty()) return id;
  // Hidden (systemd ProcSubset=pid): the host name at least tells hosts
  // apart; kill_orphan_group's environment check guards against a reboot.
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  return std::string("host:") + host;
}

namespace {

/// The live (not zombie) processes of process group `pgid`, and whether one
/// of them has `env_entry` in its environment.
struct group_members {
  int live = 0;
  bool ours = false;
};

group_members scan_group(int pgid, const std::string& env_entry) {
  group_members m;
  DIR* d = ::opendir("/proc");
  if (d == nullptr) return m;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const std::string dir = std::string("/proc/") + e->d_name;
    std::ifstream st(dir + "/stat");
    const std::string stat((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
    const auto close = stat.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos) continue;
    // After the name: " <state> <ppid> <pgrp> ..."
    std::istringstream fields(stat.substr(close + 1));
    char state = 0;
    long ppid = 0;
    long pgrp = 0;
    if (!(fields >> state >> ppid >> pgrp) || pgrp != pgid) continue;
    if (state == 'Z') continue;
    ++m.live;
    std::ifstream env(dir + "/environ", std::ios::binary);
    std::string entry;
    while (!m.ours && std::getline(env, entry, '\0'))
      m.ours = entry == env_entry;
  }
  ::closedir(d);
  return m;
}

}  // namespace

std::string kill_orphan_group(int pgid, const std::string& boot, const std::string& idempotency_key) {
  const std::string what = "process group " + std::to_string(pgid);
  if (pgid <= 1) return what + ": not a step's group, left alone";
  if (boot != boot_id()) return what + " was recorded on another host or boot: left alone";
  const std::string entry = "VIGIL_IDEMPOTENCY_KEY=" + idempotency_key;
  const group_members before = scan_group(pgid, entry);
  if (before.live == 0) return what + " is gone";
  if (!before.ours) return what + " has no process of this step (a reused id): left alone";
  ::kill(-pgid, SIGKILL);
  for (int i = 0; i < 250; ++i) {
    if (scan_group(pgid, entry).live == 0)
      return what + " killed (" + std::to_string(before.live) + " process(es) left by the previous run)";
    std::this_thread::sleep_for(20ms);
  }
  return what + " sent SIGKILL, but " + std::to_string(scan_group(pgid, entry).live) + " process(es) remain";
}

json webhook_body(const step_context& c) {
  return {{"version", 1},
          {"step", c.step.name},
          {"idempotency_key", c.plan.recommendation_hash + "/" + c.step.name},
          {"resumed", c.resumed},
          {"recommendation_id", c.plan.recommendation_id},
          {"recommendation_hash", c.plan.recommendation_hash},
          {"action", c.plan.action},
          {"from", c.plan.from},
          {"to", c.plan.to},
          {"allow_data_loss", c.plan.allow_data_loss},
          {"approvers", c.plan.approvers}};
}

namespace {

std::string str(const json& p, const char* key, const std::string& fallback = {}) {
  const auto it = p.find(key);
  return it != p.end() && it->is_string() ? it->get<std::string>() : fallback;
}

std::string tail(const std::string& s, std::size_t n = 400) {
  std::string t = s.size() > n ? "..." + s.substr(s.size() - n) : s;
  while (!t.empty() && (t.back() == '\n' || t.back() == '\r'))
    t.pop_back();
  return t;
}

/// PATH lookup done before fork (execvp is not async-signal-safe).
std::string resolve(const std::string& cmd) {
  if (cmd.find('/') != std::string::npos) return cmd;
  const char* path = std::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const auto colon = dirs.find(':', start);
    const std::string dir = dirs.substr(start, colon == std::string::npos ? std::string::npos : colon - start);
    std::string candidate = (dir.empty() ? "." : dir) + "/" + cmd;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  return cmd;
}

// --- exec -------------------------------------------------------------------------

class exec_step final : public step_runner {
 public:
  explicit exec_step(const common::plan_step_config& s) : working_dir_(str(s.params, "working_dir")) {
    if (const auto it = s.params.find("command"); it != s.params.end() && it->is_array()) {
      for (const auto& a : *it)
        argv_.push_back(a.is_string() ? a.get<std::string>() : a.dump());
    }
  }

  // A command cannot be asked whether it already ran: it gets
  // VIGIL_IDEMPOTENCY_KEY and VIGIL_RESUMED and must be idempotent.
  step_outcome precheck(const step_context&) override { return step_outcome::done(); }

  step_outcome run(const step_context& c) override {
    if (argv_.empty()) return step_outcome::failed("exec: empty command");
    const std::string exe = resolve(argv_[0]);
    std::vector<std::string> env = exec_environment(c);
    std::vector<char*> args;
    for (auto& a : argv_)
      args.push_back(a.data());
    args.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(env.size() + 1);
    for (auto& e : env)
      envp.push_back(e.data());
    envp.push_back(nullptr);
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return step_outcome::failed(std::string("exec: pipe: ") + std::strerror(errno));
    const pid_t parent = ::getpid();
    const int max_fd = common::open_max();
    const pid_t pid = ::fork();
    if (pid < 0) {
      ::close(fds[0]);
      ::close(fds[1]);
      return step_outcome::failed(std::string("exec: fork: ") + std::strerror(errno));
    }
    if (pid == 0) {  // child: async-signal-safe calls only
      // Its own process group, which the engine kills on timeout, on stop and,
      // after a crash, when it resumes the plan (the pgid is journaled). The
      // leader dies with the thread that forked it (PDEATHSIG).
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(125);  // the engine died before prctl
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      const int devnull = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
      if (devnull >= 0) ::dup2(devnull, 0);
      common::close_fds_from(3, max_fd);  // stdio only: no socket, journal or audit file
      if (!working_dir_.empty() && ::chdir(working_dir_.c_str()) != 0) ::_exit(126);
      ::execve(exe.c_str(), args.data(), envp.data());
      ::_exit(127);
    }
    ::setpgid(pid, pid);
    ::close(fds[1]);
    if (c.on_process) {
      try {
        c.on_process(pid);
      } catch (const std::exception& e) {  // unjournaled, it must not run
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, nullptr, 0);
        ::close(fds[0]);
        return step_outcome::failed(std::string("exec: cannot journal the process group, killed it: ") + e.what());
      }
    }
    ::fcntl(fds[0], F_SETFL, ::fcntl(fds[0], F_GETFL) | O_NONBLOCK);
    std::string output;
    int status = 0;
    bool exited = false;
    std::string stop_reason;
    for (;;) {
      drain(fds[0], output);
      const pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid) {
        exited = true;
        break;
      }
      if (c.expired()) {
        stop_reason = "timed out after " + std::to_string(c.step.timeout.count()) + " ms";
        break;
      }
      if (!c.sleep(std::min(std::chrono::milliseconds(20), c.remaining()))) {
        stop_reason = "cancelled";
        break;
      }
    }
    if (!exited) {
      // The whole process group: a shell script's children go too.
      ::kill(-pid, SIGTERM);
      for (int i = 0; i < 100 && !exited; ++i) {
        if (::waitpid(pid, &status, WNOHANG) == pid)
          exited = true;
        else
          c.sleep(20ms);
      }
      if (!exited) {
        ::kill(-pid, SIGKILL);
        ::waitpid(pid, &status, 0);
      }
      drain(fds[0], output);
      ::close(fds[0]);
      return step_outcome::failed(argv_[0] + " " + stop_reason +
                                  "; its process group was killed. Output: " + tail(output));
    }
    drain(fds[0], output);
    ::close(fds[0]);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return step_outcome::done(argv_[0] + " exit 0: " + tail(output));
    if (WIFEXITED(status)) {
      const int code = WEXITSTATUS(status);
      return step_outcome::failed(argv_[0] + (code == 127 ? " could not be executed" : "") + " exit " +
                                  std::to_string(code) + ": " + tail(output));
    }
    return step_outcome::failed(argv_[0] + " killed by signal " + std::to_string(WTERMSIG(status)) + ": " +
                                tail(output));
  }

 private:
  static void drain(int fd, std::string& out) {
    char buf[4096];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n <= 0) return;
      out.append(buf, static_cast<std::size_t>(n));
      if (out.size() > 65536) out.erase(0, out.size() - 65536);
    }
  }

  std::vector<std::string> argv_;
  std::string working_dir_;
};

// --- webhook ---------------------------------------------------------------------

class webhook_step final : public step_runner {
 public:
  explicit webhook_step(const common::plan_step_config& s)
      : url_(str(s.params, "url")),
        method_(str(s.params, "method", "POST")),
        body_(str(s.params, "body")),
        secret_(str(s.params, "secret")) {
    if (const auto it = s.params.find("headers"); it != s.params.end() && it->is_object()) {
      for (const auto& [k, v] : it->items())
        headers_.emplace_back(k, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }

  // The receiver deduplicates on X-Vigil-Idempotency-Key.
  step_outcome precheck(const step_context&) override { return step_outcome::done(); }

  step_outcome run(const step_context& c) override {
    common::http_call call;
    call.method = method_;
    call.url = url_;
    call.body = body_.empty() ? webhook_body(c).dump() : body_;
    call.timeout = std::clamp(c.remaining(), std::chrono::milliseconds(100), std::chrono::milliseconds(30000));
    call.headers = {{"Content-Type", "application/json"},
                    {"X-Vigil-Idempotency-Key", c.plan.recommendation_hash + "/" + c.step.name},
                    {"X-Vigil-Resumed", c.resumed ? "true" : "false"}};
    if (!secret_.empty()) {
      const std::string ts =
          std::to_string(std::chrono::floor<std::chrono::seconds>(c.clock.wall()).time_since_epoch().count());
      call.headers.emplace_back("X-Vigil-Timestamp", ts);
      call.headers.emplace_back("X-Vigil-Signature", common::webhook_signature(secret_, ts, call.body));
    }
    for (const auto& h : headers_)
      call.headers.push_back(h);
    const common::http_reply r = common::http_perform(call);
    if (!r.transport_ok()) return step_outcome::failed(method_ + " " + url_ + ": " + r.error);
    if (!r.success()) {
      return step_outcome::failed(method_ + " " + url_ + " answered " + std::to_string(r.status) + ": " +
                                  tail(r.body, 200));
    }
    return step_outcome::done(method_ + " " + url_ + " answered " + std::to_string(r.status));
  }

 private:
  std::string url_, method_, body_, secret_;
  std::vector<std::pair<std::string, std::string>> headers_;
};

// --- verify ------------------------------------------------------------------------

class verify_step final : public step_runner {
 public:
  verify_step(const common::plan_step_config& s, std::function<json()> status)
      : region_(str(s.params, "region")), status_(std::move(status)) {
    if (const auto it = s.params.find("checks"); it != s.params.end() && it->is_array()) {
      for (const auto& id : *it)
        ids_.push_back(id.get<std::string>());
    }
    if (const auto it = s.params.find("http"); it != s.params.end() && it->is_array()) {
      for (const auto& p : *it) {
        probe pr{p.value("url", std::string{}), {}, {}};
        std::vector<detector::expectation> items;
        for (const auto& e : p.value("expect", json::array())) {
          auto parsed = detector::parse_expect(e.get<std::string>());
          if (auto* x = std::get_if<detector::expectation>(&parsed))
            items.push_back(*x);
          else
            pr.bad = "bad expect '" + e.get<std::string>() + "': " + std::get<detector::expect_error>(parsed).message;
        }
        pr.expect = detector::expect_set(std::move(items));
        probes_.push_back(std::move(pr));
      }
    }
    if (const auto it = s.params.find("within"); it != s.params.end() && it->is_number_integer()) {
      within_ = std::chrono::milliseconds{it->get<std::int64_t>()};
    }
  }

  // Read-only: re-running it is always safe.
  step_outcome precheck(const step_context&) override { return step_outcome::done(); }

  step_outcome run(const step_context& c) override {
    if (!status_) return step_outcome::failed("verify needs the engine's status and has none");
    const auto limit = within_ ? std::min(*within_, c.remaining()) : c.remaining();
    const auto until = c.clock.monotonic() + limit;
    for (;;) {
      std::string detail;
      if (look(detail)) return step_outcome::done(detail);
      if (c.clock.monotonic() >= until) return step_outcome::failed("not verified in time: " + detail);
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - c.clock.monotonic());
      if (!c.sleep(std::clamp(left, std::chrono::milliseconds(1), std::chrono::milliseconds(1000)))) {
        return step_outcome::failed("cancelled: " + detail);
      }
    }
  }

 private:
  struct probe {
    std::string url;
    detector::expect_set expect;
    std::string bad;
  };

  bool look(std::string& detail) {
    const json st = status_();
    if (!st.is_object() || !st.contains("checks")) {
      detail = "the engine's status is not available";
      return false;
    }
    int up = 0;
    std::vector<std::string> not_up;
    for (const auto& ch : st["checks"]) {
      const std::string id = ch.value("id", std::string{});
      const bool wanted = ids_.empty() ? ch.value("region", std::string{}) == region_ &&
                                             ch.value("role", std::string{"classify"}) == "classify"
                                       : std::find(ids_.begin(), ids_.end(), id) != ids_.end();
      if (!wanted) continue;
      if (ch.value("state", std::string{}) == "up")
        ++up;
      else
        not_up.push_back(id + "=" + ch.value("state", std::string{"?"}));
    }
    if (up == 0 && not_up.empty()) {
      detail = "no classify check of " + region_ + " is known to the engine";
      return false;
    }
    if (!not_up.empty()) {
      detail = std::to_string(not_up.size()) + " check(s) of " + region_ + " not up by quorum:";
      for (const auto& n : not_up)
        detail += " " + n;
      return false;
    }
    detail = std::to_string(up) + " check(s) of " + region_ + " up by quorum";
    for (const auto& p : probes_) {
      if (!p.bad.empty()) {
        detail = p.bad;
        return false;
      }
      common::http_call call;
      call.url = p.url;
      call.timeout = 5s;
      const common::http_reply r = common::http_perform(call);
      if (!r.transport_ok()) {
        detail += "; GET " + p.url + ": " + r.error;
        return false;
      }
      detector::response_view v;
      v.status = r.status;
      v.body = r.body;
      const auto verdict = p.expect.evaluate(v);
      if (verdict.result != decision::outcome::ok) {
        detail += "; GET " + p.url + ": " + verdict.detail;
        return false;
      }
      detail += "; GET " + p.url + " ok";
    }
    return true;
  }

  std::string region_;
  std::vector<std::string> ids_;
  std::vector<probe> probes_;
  std::optional<std::chrono::milliseconds> within_;
  std::function<json()> status_;
};

class unknown_step final : public step_runner {
 public:
  explicit unknown_step(std::string kind) : kind_(std::move(kind)) {}
  step_outcome precheck(const step_context&) override { return step_outcome::unexpected("unknown step kind " + kind_); }
  step_outcome run(const step_context& c) override { return precheck(c); }

 private:
  std::string kind_;
};

}  // namespace

std::unique_ptr<step_runner> make_local_step(const common::plan_step_config& s, const step_deps& d) {
  if (s.kind == "exec") return std::make_unique<exec_step>(s);
  if (s.kind == "webhook") return std::make_unique<webhook_step>(s);
  if (s.kind == "verify") return std::make_unique<verify_step>(s, d.engine_status);
  return nullptr;
}

step_factory make_step_factory(step_deps deps) {
  return [deps = std::move(deps)](const common::plan_step_config& s) -> std::unique_ptr<step_runner> {
    if (auto r = make_aws_step(s, deps)) return r;
    if (auto r = make_local_step(s, deps)) return r;
    return std::make_unique<unknown_step>(s.kind);
  };
}

}  // namespace vigil::actuators
