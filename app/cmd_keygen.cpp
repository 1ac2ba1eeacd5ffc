// vigil keygen --out PREFIX [--force]: an Ed25519 key pair for approvals.
#include <filesystem>
#include <ostream>

#include "app/cli.hpp"
#include "app/commands.hpp"
#include "approvals/keys.hpp"

namespace vigil::app {

int cmd_keygen(const std::vector<std::string>& args, command_io& io) {
  const std::vector<option_spec> specs{
      {"out", "PREFIX", "write PREFIX.key (private, mode 0600) and PREFIX.pub (public)", true},
      {"force", "", "overwrite existing files"}};
  auto parsed = parse_args(args, specs);
  if (!parsed.args) {
    io.err << "vigil keygen: " << parsed.error << "\n";
    return exit_usage;
  }
  if (parsed.args->help) {
    io.out << "Usage: vigil keygen --out PREFIX [--force]\n\n"
              "Creates an Ed25519 key pair for signing approvals (docs/approvals.md).\n"
              "Keep PREFIX.key on your own machine; give PREFIX.pub to the vigil administrators.\n\n"
           << format_options(specs);
    return exit_ok;
  }
  const std::string prefix = *parsed.args->get("out");
  if (prefix.empty()) {
    io.err << "vigil keygen: --out needs a non-empty PREFIX\n";
    return exit_usage;
  }
  const std::filesystem::path priv = prefix + ".key";
  const std::filesystem::path pub = prefix + ".pub";
  const auto key = approvals::ed25519_key::generate();
  if (const auto err = approvals::write_key_pair(*key, priv, pub, parsed.args->has("force")); !err.empty()) {
    io.err << "vigil keygen: " << err << "\n";
    return exit_failed;
  }
  const auto id = std::filesystem::path(prefix).filename().string();
  io.out << "wrote " << priv.string() << " (private, mode 0600: keep it to yourself)\n"
         << "wrote " << pub.string() << " (public)\n"
         << "fingerprint " << key->fingerprint() << "\n\n"
         << "Give " << pub.string() << " to the vigil administrators; they add:\n"
         << "  approvals:\n    approvers:\n      - id: " << id << "\n        public_key_file: /etc/vigil/approvers/"
         << pub.filename().string() << "\n";
  return exit_ok;
}

}  // namespace vigil::app
