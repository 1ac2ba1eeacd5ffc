#include "decision/canonical_json.hpp"

#include <stdexcept>

#include "decision/sha256.hpp"

namespace vigil::decision {

namespace {

void write_canonical(const nlohmann::json& j, std::string& out) {
  switch (j.type()) {
    case nlohmann::json::value_t::object: {
      // nlohmann::json's default object is a std::map: keys already sorted bytewise.
      out.push_back('{');
      bool first = true;
      for (const auto& [key, value] : j.items()) {
        if (!first) out.push_back(',');
        first = false;
        out += nlohmann::json(key).dump();
        out.push_back(':');
        write_canonical(value, out);
      }
      out.push_back('}');
      return;
    }
    case nlohmann::json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& value : j) {
        if (!first) out.push_back(',');
        first = false;
        write_canonical(value, out);
      }
      out.push_back(']');
      return;
    }
    case nlohmann::json::value_t::number_float:
      throw std::invalid_argument("canonical_json: floating-point numbers have no canonical form");
    default:
      out += j.dump();
      return;
  }
}

}  // namespace

std::string canonical_json(const nlohmann::json& j) {
  std::string out;
  write_canonical(j, out);
  return out;
}

std::string canonical_hash(const nlohmann::json& j) {
  return sha256_hex(canonical_json(j));
}

}  // namespace vigil::decision
