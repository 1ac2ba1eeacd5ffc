#include <curl/curlver.h>
#include <openssl/opensslv.h>
#include <spdlog/version.h>
#include <yaml-cpp/yaml.h>

#include <boost/version.hpp>
#include <nlohmann/json.hpp>
#include <ostream>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "common/build_info.hpp"

namespace vigil::app {

int cmd_version(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{{"json", "", "print as JSON"}};
  auto parsed = parse_args(args, specs);
  if (!parsed.args) {
    io.err << "vigil version: " << parsed.error << "\n";
    return exit_usage;
  }
  if (parsed.args->help) {
    io.out << "Usage: vigil version [--json]\n\n" << format_options(specs);
    return exit_ok;
  }
  const nlohmann::json v{
      {"version", common::build_info::version},
      {"git_revision", common::build_info::git_revision},
      {"build_type", common::build_info::build_type},
      {"compiler", common::build_info::compiler},
      {"libraries",
       {{"libcurl", LIBCURL_VERSION},
        {"openssl", OPENSSL_VERSION_TEXT},
        {"boost", std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) + "." +
                      std::to_string(BOOST_VERSION % 100)},
        {"spdlog", std::to_string(SPDLOG_VER_MAJOR) + "." + std::to_string(SPDLOG_VER_MINOR) + "." +
                       std::to_string(SPDLOG_VER_PATCH)},
        {"nlohmann_json", std::to_string(NLOHMANN_JSON_VERSION_MAJOR) + "." +
                              std::to_string(NLOHMANN_JSON_VERSION_MINOR) + "." +
                              std::to_string(NLOHMANN_JSON_VERSION_PATCH)}}}};
  if (parsed.args->has("json")) {
    io.out << v.dump(2) << "\n";
    return exit_ok;
  }
  io.out << "vigil " << common::build_info::version << " (" << common::build_info::git_revision << ", "
         << common::build_info::build_type << ", " << common::build_info::compiler << ")\n";
  for (const auto& [name, ver] : v["libraries"].items())
    io.out << "  " << name << " " << ver.get<std::string>() << "\n";
  return exit_ok;
}

}  // namespace vigil::app
