#pragma once
// A REAL PostgreSQL 15 primary and streaming standby (initdb, pg_basebackup -R)
// run as the `postgres` system user on free ports of 127.0.0.1, sockets in a
// temp dir, trust authentication. Stopped (immediate) on destruction.

#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "tests/support/aws_test_support.hpp"

namespace vigil::test_support {

inline const std::string pg_bin = env_or("VIGIL_PG_BIN", "/usr/lib/postgresql/15/bin");

// Commands run as `postgres` (PostgreSQL refuses to run as root).
inline std::string as_pg(const std::string& cmd) {
  return ::geteuid() == 0 ? "runuser -u postgres -- " + cmd : cmd;
}

class pg_pair {
 public:
  pg_pair() : dir_("pglag") {
    ::chmod(dir_.path().c_str(), 0777);
    primary_port_ = free_port();
    standby_port_ = free_port();
    const auto d = dir_.path().string();
    std::string out;
    if (run(as_pg(pg_bin + "/initdb -D " + d + "/primary -U postgres --auth=trust -N") + " 2>&1", &out) != 0) {
      error_ = "initdb: " + out;
      return;
    }
    write_file(dir_.path() / "primary" / "postgresql.auto.conf",
               "listen_addresses = '127.0.0.1'\nport = " + std::to_string(primary_port_) +
                   "\nunix_socket_directories = '" + d +
                   "'\nwal_level = replica\n"
                   "max_wal_senders = 5\nfsync = off\nsynchronous_commit = on\n");
    if (!start("primary")) return;
    if (run(as_pg(pg_bin + "/pg_basebackup -h 127.0.0.1 -p " + std::to_string(primary_port_) + " -U postgres -D " + d +
                  "/standby -R -X stream") +
                " 2>&1",
            &out) != 0) {
      error_ = "pg_basebackup: " + out;
      return;
    }
    // pg_basebackup -R wrote primary_conninfo into postgresql.auto.conf; move the standby's port.
    run("echo \"port = " + std::to_string(standby_port_) + "\" >> " + d + "/standby/postgresql.auto.conf");
    if (!start("standby")) return;
    ok_ = true;
  }
  ~pg_pair() {
    for (const char* n : {"standby", "primary"}) {
      run(as_pg(pg_bin + "/pg_ctl -D " + (dir_.path() / n).string() + " -m immediate stop") + " > /dev/null 2>&1");
    }
  }
  pg_pair(const pg_pair&) = delete;
  pg_pair& operator=(const pg_pair&) = delete;

  [[nodiscard]] bool ok() const { return ok_; }
  /// pg_ctl promote on the standby: it leaves recovery and accepts writes.
  bool promote_standby() {
    std::string out;
    return run(as_pg(pg_bin + "/pg_ctl -D " + (dir_.path() / "standby").string() + " -w -t 60 promote") + " 2>&1",
               &out) == 0;
  }
  [[nodiscard]] const std::string& error() const { return error_; }
  [[nodiscard]] std::string dsn(bool standby) const {
    return "host=127.0.0.1 port=" + std::to_string(standby ? standby_port_ : primary_port_) +
           " user=postgres dbname=postgres";
  }
  /// Runs SQL with psql; returns its trimmed output.
  std::string sql(bool standby, const std::string& q) const {
    std::string out;
    run("/usr/bin/psql -X -q -A -t -v ON_ERROR_STOP=1 \"" + dsn(standby) + "\" -c \"" + q + "\" 2>&1", &out);
    while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
      out.pop_back();
    return out;
  }

 private:
  bool start(const std::string& name) {
    std::string out;
    const auto d = (dir_.path() / name).string();
    if (run(as_pg(pg_bin + "/pg_ctl -D " + d + " -l " + d + ".log -w -t 60 start") + " 2>&1", &out) != 0) {
      error_ = "pg_ctl start " + name + ": " + out + read_file(d + ".log");
      return false;
    }
    return true;
  }

  temp_dir dir_;
  int primary_port_ = 0;
  int standby_port_ = 0;
  bool ok_ = false;
  std::string error_;
};

}  // namespace vigil::test_support
