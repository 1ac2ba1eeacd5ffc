// The `vigil` binary: every subcommand is in vigil_app (app/commands.cpp).
#include <iostream>
#include <string>
#include <vector>

#include "app/commands.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  vigil::app::command_io io{std::cin, std::cout, std::cerr};
  try {
    return vigil::app::run_command(args, io);
  } catch (const std::exception& e) {
    std::cerr << "vigil: fatal: " << e.what() << "\n";
    return 70;  // EX_SOFTWARE: a bug, never an expected failure
  }
}
