// vigil objectives [--engine URL] [--engine-token T] [--json]: the running
// engine's RTO estimate and RPO exposure against objectives.rto / .rpo, term
// by term, and the trend of the recent drills (GET /v1/objectives;
// docs/runbook.md, "Objectives").
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <ostream>

#include "app/cli.hpp"
#include "app/cli_signing.hpp"
#include "app/commands.hpp"
#include "common/http_client.hpp"
#include "decision/time_format.hpp"

namespace vigil::app {

namespace {

using nlohmann::json;

std::string secs_text(const json& v) {
  if (!v.is_number()) return "unknown";
  return decision::format_seconds(std::chrono::milliseconds(std::llround(v.get<double>() * 1000.0)));
}

std::string pad(std::string s, std::size_t n) {
  s.resize(std::max(s.size() + 1, n), ' ');
  return s;
}

void print_text(const json& doc, std::ostream& out) {
  const json rto = doc.value("rto", json::object());
  const bool has_objective = rto.value("objective_s", json(nullptr)).is_number();
  out << "RTO estimate " << secs_text(rto.value("estimate_s", json(nullptr)));
  if (has_objective) {
    out << " against objectives.rto " << secs_text(rto["objective_s"]) << ": "
        << (rto.value("exceeds", false) ? "EXCEEDS the objective" : "within");
  } else {
    out << " (no objectives.rto configured)";
  }
  out << "\n";
  for (const auto& t : rto.value("terms", json::array())) {
    std::string name = t.value("term", std::string{});
    if (t.contains("name")) name += " " + t.value("name", std::string{});
    std::string source = t.value("source", std::string{});
    if (t.value("samples", 0) > 0) source += " (" + std::to_string(t.value("samples", 0)) + ")";
    out << "  " << pad(name, 28) << pad(secs_text(t.value("seconds", json(nullptr))), 10) << pad(source, 16)
        << t.value("detail", std::string{}) << "\n";
  }
  const json rpo = doc.value("rpo", json::object());
  out << "RPO exposure " << secs_text(rpo.value("exposure_s", json(nullptr)));
  if (rpo.value("objective_s", json(nullptr)).is_number()) {
    out << " against objectives.rpo " << secs_text(rpo["objective_s"]) << ": "
        << (rpo.value("exceeds", false) ? "EXCEEDS the objective" : "within");
  }
  out << "\n";
  const json drills = doc.value("drills", json::object());
  out << "Drills";
  if (drills.value("schedule_s", json(nullptr)).is_number()) {
    out << " (scheduled every " << secs_text(drills["schedule_s"]) << ", next "
        << drills.value("next_at", std::string{"-"}) << ")";
  } else {
    out << " (no drill.schedule)";
  }
  const json trend = drills.value("trend", json::array());
  if (trend.empty()) {
    out << ": none recorded yet\n";
    return;
  }
  out << ", newest first:\n  " << pad("FINISHED", 27) << pad("KIND", 11) << pad("RESULT", 18) << "PLAN\n";
  for (const auto& d : trend) {
    out << "  " << pad(d.value("at", std::string{"-"}), 27)
        << pad(d.value("scheduled", false) ? "scheduled" : "manual", 11) << pad(d.value("result", std::string{}), 18)
        << secs_text(d.value("plan_s", json(nullptr))) << "\n";
  }
}

}  // namespace

int cmd_objectives(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{
      {"engine", "URL", "the engine's base URL (default http://127.0.0.1:9470)"},
      {"engine-token", "TOKEN", "bearer token for the engine's read routes (or $VIGIL_ENGINE_TOKEN)"},
      {"json", "", "print the engine's GET /v1/objectives document"},
      {"timeout", "DURATION", "HTTP timeout (default 10s)"},
  };
  const auto parsed = parse_args(args, specs);
  if (!parsed.args) {
    io.err << "vigil objectives: " << parsed.error << "\n";
    return exit_usage;
  }
  const parsed_args& a = *parsed.args;
  if (a.help) {
    io.out << "Usage: vigil objectives [--engine URL] [--engine-token T] [--json]\n\n"
              "The engine's RTO estimate (detection bound + median approval + each step's p90 or timeout)\n"
              "and RPO exposure against objectives.rto / objectives.rpo, and the recent drills.\n"
              "Exit 0 when within the objectives (or none is set), 1 when one is exceeded, 2 on errors.\n\n"
           << format_options(specs);
    return exit_ok;
  }
  const auto timeout = duration_arg(a, "timeout", std::chrono::seconds(10), "objectives", io);
  if (!timeout) return exit_usage;
  const char* env_token = std::getenv("VIGIL_ENGINE_TOKEN");
  const std::string token = a.get_or("engine-token", env_token != nullptr ? env_token : "");
  const std::string engine = trim_url(a.get_or("engine", "http://127.0.0.1:9470"));
  std::vector<std::pair<std::string, std::string>> headers{{"Accept", "application/json"}};
  if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
  const auto r = common::http_perform({"GET", engine + "/v1/objectives", std::move(headers), "", *timeout,
                                       std::min<std::chrono::milliseconds>(*timeout, std::chrono::seconds(5))});
  if (!r.success()) {
    io.err << "vigil objectives: GET " << engine
           << "/v1/objectives: " << (r.transport_ok() ? std::to_string(r.status) + " " + r.body : r.error) << "\n";
    return exit_usage;
  }
  const json doc = json::parse(r.body, nullptr, false);
  if (!doc.is_object()) {
    io.err << "vigil objectives: the engine's answer is not JSON\n";
    return exit_usage;
  }
  if (a.has("json")) {
    io.out << doc.dump(2) << "\n";
  } else {
    print_text(doc, io.out);
  }
  const bool exceeded = doc.value("rto", json::object()).value("exceeds", false) ||
                        doc.value("rpo", json::object()).value("exceeds", false);
  return exceeded ? exit_failed : exit_ok;
}

}  // namespace vigil::app
