// vigil propose failback|failover --engine URL [--by NAME]: asks the engine
// to open a recommendation (POST /v1/propose). A failback is gated like any
// recommendation (old primary healthy, replication lag within budget,
// cooldown, not silenced, leader) and goes through the same approval
// (`vigil approve`) before its plan (plan.failback, switchover steps) runs.
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <ostream>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "common/http_client.hpp"

namespace vigil::app {

int cmd_propose(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> propose_options{
      {"engine", "URL", "the engine's base URL (http://127.0.0.1:9470)", true},
      {"by", "NAME", "who proposes (default: $USER)"},
  };
  const auto parsed = parse_args(args, propose_options, 1);
  if (!parsed.args) {
    io.err << "vigil propose: " << parsed.error << "\n";
    return exit_usage;
  }
  const parsed_args& a = *parsed.args;
  if (a.help) {
    io.out << "Usage: vigil propose failback|failover --engine URL [--by NAME]\n\n"
              "Asks the engine to create a recommendation. failback: back to the primary region, gated on it\n"
              "being healthy, replication towards it within budget and the cooldown; then approve it with\n"
              "`vigil approve`. Exit 0 when the engine created it, 1 when it refused (the reason is printed).\n\n"
           << format_options(propose_options);
    return exit_ok;
  }
  if (a.positional.size() != 1 || (a.positional[0] != "failback" && a.positional[0] != "failover")) {
    io.err << "vigil propose: expected the action: failback or failover\n";
    return exit_usage;
  }
  std::string url = *a.get("engine");
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  const char* user = std::getenv("USER");
  const std::string by = a.get_or("by", user != nullptr && *user != '\0' ? user : "operator");
  common::http_call call;
  call.method = "POST";
  call.url = url + "/v1/propose";
  call.headers = {{"Content-Type", "application/json"}};
  call.body = nlohmann::json{{"action", a.positional[0]}, {"by", by}}.dump();
  call.timeout = std::chrono::seconds(10);
  const auto r = common::http_perform(call);
  if (!r.transport_ok()) {
    io.err << "vigil propose: " << call.url << ": " << r.error << "\n";
    return exit_failed;
  }
  const auto body = nlohmann::json::parse(r.body, nullptr, false);
  if (!r.success()) {
    io.err << "vigil propose: the engine refused (" << r.status
           << "): " << (body.is_object() ? body.value("message", body.value("reason", r.body)) : r.body) << "\n";
    return r.status >= 400 && r.status < 500 && r.status != 409 ? exit_usage : exit_failed;
  }
  io.out << "proposed " << a.positional[0] << ": recommendation "
         << (body.is_object() ? body.value("recommendation_id", std::string{}) : std::string{}) << "\n"
         << "review and approve it: vigil approve --engine " << url << " --key YOU.key\n";
  return exit_ok;
}

}  // namespace vigil::app
