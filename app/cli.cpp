#include "app/cli.hpp"

#include <algorithm>

namespace vigil::app {

bool parsed_args::has(std::string_view name) const {
  return values.find(std::string(name)) != values.end();
}

std::optional<std::string> parsed_args::get(std::string_view name) const {
  const auto it = values.find(std::string(name));
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::string parsed_args::get_or(std::string_view name, std::string fallback) const {
  auto v = get(name);
  return v ? *v : std::move(fallback);
}

std::vector<std::string> parsed_args::all(std::string_view name) const {
  const auto it = values.find(std::string(name));
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

parse_result parse_args(const std::vector<std::string>& argv, const std::vector<option_spec>& specs,
                        std::size_t max_positional) {
  parsed_args out;
  bool options_done = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (options_done || a.size() < 2 || a[0] != '-' || a[1] != '-') {
      if (!options_done && a.size() > 1 && a[0] == '-' && a != "-") {
        if (a == "-h") {
          out.help = true;
          continue;
        }
        return {std::nullopt, "unknown option '" + a + "' (options are spelled --name)"};
      }
      out.positional.push_back(a);
      continue;
    }
    if (a == "--") {
      options_done = true;
      continue;
    }
    std::string name = a.substr(2);
    std::optional<std::string> inline_value;
    if (const auto eq = name.find('='); eq != std::string::npos) {
      inline_value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    if (name == "help") {
      out.help = true;
      continue;
    }
    const auto spec = std::find_if(specs.begin(), specs.end(), [&](const option_spec& s) { return s.name == name; });
    if (spec == specs.end()) return {std::nullopt, "unknown option '--" + name + "'"};
    if (spec->value_name.empty()) {
      if (inline_value) return {std::nullopt, "option '--" + name + "' takes no value"};
      out.values[name].emplace_back();
      continue;
    }
    std::string value;
    if (inline_value) {
      value = *inline_value;
    } else if (i + 1 < argv.size()) {
      value = argv[++i];
    } else {
      return {std::nullopt, "option '--" + name + "' needs a value (" + spec->value_name + ")"};
    }
    auto& slot = out.values[name];
    if (!slot.empty() && !spec->repeatable) return {std::nullopt, "option '--" + name + "' given twice"};
    slot.push_back(std::move(value));
  }
  if (out.help) return {std::move(out), {}};
  for (const auto& s : specs) {
    if (s.required && !out.has(s.name)) return {std::nullopt, "missing required option '--" + s.name + "'"};
  }
  if (out.positional.size() > max_positional) {
    return {std::nullopt, "unexpected argument '" + out.positional[max_positional] + "'"};
  }
  return {std::move(out), {}};
}

std::string format_options(const std::vector<option_spec>& specs) {
  std::string out = "Options:\n";
  for (const auto& s : specs) {
    std::string lhs = "  --" + s.name + (s.value_name.empty() ? "" : " " + s.value_name);
    if (lhs.size() < 28) lhs.resize(28, ' ');
    out += lhs + " " + s.help + (s.required ? " (required)" : "") + "\n";
  }
  out += "  --help                     show this help\n";
  return out;
}

}  // namespace vigil::app
