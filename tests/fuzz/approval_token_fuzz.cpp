// libFuzzer target: the approval token parser and verifier
// (approvals/paseto.cpp, approval.cpp, approval_claims.cpp).
//
// Two modes, chosen by the first byte:
//   even: the input is a token, verified as the engine would (any outcome is
//         fine; crashes, sanitizer reports and accepted forgeries are not);
//   odd:  the rest is a claims payload, signed with a configured approver's
//         key and verified — this drives the claims parser behind a valid
//         signature, which random tokens almost never reach.
// An accepted token must round-trip: its claims re-parse to the same values.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>

#include "approvals/approval.hpp"
#include "approvals/paseto.hpp"
#include "common/base64.hpp"

namespace {

using namespace vigil::approvals;

struct memory_ledger final : jti_ledger {
  std::set<std::string> seen;
  bool try_consume(std::string_view jti, vigil::common::wall_time) override {
    return seen.insert(std::string(jti)).second;
  }
};

struct fixture {
  std::unique_ptr<ed25519_key> key;
  vigil::common::approvals_config cfg;
  memory_ledger ledger;
  std::unique_ptr<approval_verifier> verifier;
  fixture() {
    // A fixed key (the PASETO v4 test-vector seed) so that crashes reproduce.
    const std::uint8_t seed[32] = {0xb4, 0xcb, 0xfb, 0x43, 0xdf, 0x4c, 0xe2, 0x10, 0x72, 0x7d, 0x95,
                                   0x3e, 0x4a, 0x71, 0x33, 0x07, 0xfa, 0x19, 0xbb, 0x7d, 0x9f, 0x85,
                                   0x04, 0x14, 0x38, 0xd9, 0xe1, 0x1b, 0x94, 0x2a, 0x37, 0x74};
    key = std::move(ed25519_key::from_raw_private(seed).key);
    cfg.max_ttl = std::chrono::minutes(15);
    cfg.approvers.push_back({"alice", "alice.pub", key->public_pem(), {}});
    verifier = std::make_unique<approval_verifier>("prod", cfg, ledger);
  }
};

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming) // libFuzzer's entry point: the name is its ABI
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fixture f;
  if (size == 0) return 0;
  const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  const vigil::common::wall_time now{std::chrono::milliseconds{1'795'000'000'000}};
  std::string token;
  if ((data[0] & 1) == 0) {
    token = std::string(rest);
    (void)vigil::common::base64url_decode(rest);
  } else {
    if (rest.size() > 6000) return 0;
    token = paseto_v4_sign(*f.key, rest);
  }
  f.ledger.seen.clear();
  const auto r = f.verifier->verify(token, now);
  if (r.ok()) {
    const auto parts = paseto_v4_parse(token).parts;
    if (!parts) __builtin_trap();  // accepted but unparseable: the verifier and the parser disagree
    const auto again = parse_claims(parts->message);
    if (!again.claims || again.claims->jti != r.approval->jti || again.claims->subject != "alice") __builtin_trap();
  }
  return 0;
}
