#include <ostream>

#include "app/commands.hpp"

namespace vigil::app {
// Placeholder until the config loader lands (same commit series).
int cmd_check_config(const std::vector<std::string>&, command_io& io) {
  io.err << "vigil check-config: not built yet\n";
  return exit_usage;
}
}  // namespace vigil::app
