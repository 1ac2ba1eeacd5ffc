// vigil readiness --engine URL [--engine-token T] [--json]: the engine's
// continuous readiness (GET /v1/readiness; docs/runbook.md, "Readiness"):
// per plan, every item's state, since when, and what is wrong. Exit 0 when
// every plan is ready (every item ok, or only warning items failed), 1 when
// one is not (or the engine cannot tell), 2 on bad usage.
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <ostream>

#include "app/cli.hpp"
#include "app/cli_signing.hpp"
#include "app/commands.hpp"
#include "common/http_client.hpp"

namespace vigil::app {

using nlohmann::json;
using namespace std::chrono_literals;

int cmd_readiness(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{
      {"engine", "URL", "the engine's base URL", true},
      {"engine-token", "TOKEN", "bearer token for the engine's read routes (default $VIGIL_ENGINE_TOKEN)"},
      {"json", "", "print the engine's document as it is"},
      {"timeout", "DURATION", "HTTP timeout (default 10s)"},
  };
  const auto parsed = parse_args(args, specs);
  if (!parsed.args) {
    io.err << "vigil readiness: " << parsed.error << "\n";
    return exit_usage;
  }
  const parsed_args& a = *parsed.args;
  if (a.help) {
    io.out << "Usage: vigil readiness --engine URL [--engine-token T] [--json]\n\n"
              "Shows whether the failover and failback plans would work now: every readiness item the\n"
              "engine checks each readiness.interval (pre-checks, Aurora, ECS, ARC, Route 53, SSM, IAM,\n"
              "DR checks). Exit 0 when every item is ok (or only a warning item failed), 1 when one\n"
              "failed or is unknown.\n\n"
           << format_options(specs);
    return exit_ok;
  }
  const auto timeout = duration_arg(a, "timeout", 10s, "readiness", io);
  if (!timeout) return exit_usage;
  const char* env_token = std::getenv("VIGIL_ENGINE_TOKEN");
  const std::string token = a.get_or("engine-token", env_token != nullptr ? env_token : "");
  const std::string url = trim_url(a.get_or("engine", "")) + "/v1/readiness";
  std::vector<std::pair<std::string, std::string>> headers{{"Accept", "application/json"}};
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  const auto r = common::http_perform({"GET", url, std::move(headers), "", *timeout, std::min(*timeout, 5000ms)});
  if (!r.transport_ok() || r.status != 200) {
    io.err << "vigil readiness: GET " << url << ": "
           << (r.transport_ok() ? std::to_string(r.status) + " " + r.body : r.error) << "\n";
    return exit_failed;
  }
  const json doc = json::parse(r.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("plans") || !doc["plans"].is_object()) {
    io.err << "vigil readiness: the engine's answer is not a readiness document\n";
    return exit_failed;
  }
  bool all_ok = !doc["plans"].empty();
  for (const auto& [name, plan] : doc["plans"].items())
    all_ok = all_ok && plan.value("ok", false);
  if (a.has("json")) {
    io.out << doc.dump(2) << "\n";
    return all_ok ? exit_ok : exit_failed;
  }
  if (doc["plans"].empty()) io.out << "no readiness run yet (the engine checks every readiness.interval)\n";
  for (const auto& [name, plan] : doc["plans"].items()) {
    const json last = plan.value("last_run", json());
    io.out << "plan " << name << ": " << (plan.value("ok", false) ? "READY" : "NOT READY") << " (checked "
           << (last.is_string() ? last.get<std::string>() : "never") << ")\n";
    for (const auto& i : plan.value("items", json::array())) {
      const std::string st = i.value("state", "unknown");
      std::string state = st == "ok"                  ? "ok"
                          : st != "failed"            ? "unknown"
                          : i.value("warning", false) ? "WARNING"
                                                      : "FAILED";
      state.resize(8, ' ');
      io.out << "  " << state << i.value("id", "") << ": " << i.value("detail", "");
      if (st != "ok") io.out << " (since " << i.value("since", "") << ")";
      io.out << "\n";
    }
  }
  return all_ok ? exit_ok : exit_failed;
}

}  // namespace vigil::app
