// vigil status --engine URL [--summary]: GET /v1/status of a running engine,
// printed as the engine sends it (JSON), with the read token when one is
// needed (--engine-token or $VIGIL_ENGINE_TOKEN; engine.read_tokens_file).
#include <algorithm>
#include <nlohmann/json.hpp>
#include <ostream>

#include "app/cli.hpp"
#include "app/cli_signing.hpp"
#include "app/commands.hpp"
#include "common/http_client.hpp"

namespace vigil::app {

using namespace std::chrono_literals;

int cmd_status(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{{"engine", "URL", "the engine's base URL", true},
                                       engine_token_spec(),
                                       {"summary", "", "regions, recommendation and gates only (?summary=1)"},
                                       {"timeout", "DURATION", "HTTP timeout (default 10s)"}};
  auto parsed = parse_args(args, specs);
  if (!parsed.args) {
    io.err << "vigil status: " << parsed.error << "\n";
    return exit_usage;
  }
  const auto& a = *parsed.args;
  if (a.help) {
    io.out << "Usage: vigil status --engine URL [--engine-token TOKEN] [--summary]\n\n"
              "Prints the engine's GET /v1/status (docs/design.md, \"HTTP API\") as JSON.\n"
              "Exit codes: 0 printed, 1 the engine refused or did not answer, 2 usage.\n\n"
           << format_options(specs);
    return exit_ok;
  }
  const auto timeout = duration_arg(a, "timeout", 10s, "status", io);
  if (!timeout) return exit_usage;
  const std::string url = trim_url(a.get_or("engine", "")) + "/v1/status" + (a.has("summary") ? "?summary=1" : "");
  std::vector<std::pair<std::string, std::string>> headers{{"Accept", "application/json"}};
  add_bearer(headers, engine_token(a));
  common::http_call call{"GET", url,      std::move(headers),
                         {},    *timeout, std::min<std::chrono::milliseconds>(*timeout, 5s)};
  call.max_response_bytes = std::size_t{256} * 1024 * 1024;
  const auto r = common::http_perform(call);
  if (!r.transport_ok()) {
    io.err << "vigil status: GET " << url << ": " << r.error << "\n";
    return exit_failed;
  }
  if (r.status != 200) {
    const auto answer = nlohmann::json::parse(r.body, nullptr, false);
    io.err << "vigil status: GET " << url << " answered " << r.status;
    if (answer.is_object() && answer.contains("reason")) io.err << " (" << answer.value("reason", "") << ")";
    if (r.status == 401) io.err << ": give the engine's read token with --engine-token or $VIGIL_ENGINE_TOKEN";
    io.err << "\n";
    return exit_failed;
  }
  io.out << r.body << "\n";
  return exit_ok;
}

}  // namespace vigil::app
