// `vigil replay --config FILE --record FILE [--json]`: feeds an observation
// record (decision/record.hpp, written by the engine's `record:` option)
// through the decision core on the recorded times and prints the timeline.
// Bad lines exit 2 with file:line and the reason.
#include <fstream>
#include <ostream>
#include <stdexcept>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "app/validated_config.hpp"
#include "common/config_load.hpp"
#include "common/topology.hpp"
#include "decision/core.hpp"
#include "decision/record.hpp"
#include "decision/timeline.hpp"

namespace vigil::app {

int cmd_replay(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{{"config", "FILE", "configuration the record was taken with", true},
                                       {"record", "FILE", "JSONL observation record", true},
                                       {"json", "", "print the timeline as JSON"}};
  auto parsed = parse_args(args, specs);
  if (!parsed.args) {
    io.err << "vigil replay: " << parsed.error << "\n";
    return exit_usage;
  }
  if (parsed.args->help) {
    io.out << "Usage: vigil replay --config FILE --record FILE [--json]\n\n" << format_options(specs);
    return exit_ok;
  }
  const auto loaded = load_validated_config(*parsed.args->get("config"));
  if (!loaded.ok()) {
    for (const auto& d : loaded.diagnostics)
      io.err << d.format() << "\n";
    return exit_usage;
  }
  decision::topology topo;
  try {
    topo = common::make_topology(*loaded.value);
  } catch (const std::invalid_argument& e) {
    io.err << e.what() << "\n";
    return exit_usage;
  }
  const std::string path = *parsed.args->get("record");
  std::ifstream in(path);
  if (!in) {
    io.err << path << ": cannot read the file\n";
    return exit_usage;
  }
  decision::core core(topo);
  core.set_leader(true);  // replay shows what the leader would have decided
  const auto tick = topo.p.tick;
  decision::timeline tl;
  std::optional<decision::time_point> start;
  decision::time_point next_tick{};
  decision::time_point last{};
  auto run_ticks_until = [&](decision::time_point t) {
    while (next_tick <= t) {
      core.tick(next_tick);
      for (const auto& e : core.take_output())
        decision::append_timeline(tl, e, *start);
      next_tick += tick;
    }
  };
  std::string line;
  int line_no = 0;
  std::size_t records = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const auto r = decision::parse_record_line(line, topo);
    if (!r.error.empty()) {
      io.err << path << ":" << line_no << ": " << r.error << "\n";
      return exit_usage;
    }
    if (!r.value) continue;
    const auto t = decision::record_time(*r.value);
    if (!start) {
      start = std::chrono::floor<std::chrono::seconds>(t);
      next_tick = *start;
      last = t;
    }
    if (t + std::chrono::minutes{1} < last) {
      io.err << path << ":" << line_no << ": record goes back in time by more than a minute\n";
      return exit_usage;
    }
    // Everything up to t has been decided before this record arrives.
    run_ticks_until(t - decision::duration{1});
    last = std::max(last, t);
    std::visit(
        [&](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, decision::observation>) {
            core.ingest(x);
          } else if constexpr (std::is_same_v<T, decision::report_record>) {
            core.vantage_report(x.vantage, x.at);
          } else {
            core.ingest_lag(x);
          }
        },
        *r.value);
    ++records;
  }
  if (start) run_ticks_until(last + tick);
  if (parsed.args->has("json")) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& e : tl)
      out.push_back(decision::to_json(e));
    io.out
        << nlohmann::json{{"records", records}, {"timeline", out}, {"status", decision::to_json(core.status())}}.dump(2)
        << "\n";
  } else {
    io.out << "replayed " << records << " records from " << path << "\n";
    for (const auto& e : tl)
      io.out << decision::to_text(e) << "\n";
  }
  return exit_ok;
}

}  // namespace vigil::app
