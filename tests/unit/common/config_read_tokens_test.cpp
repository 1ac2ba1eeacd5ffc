// engine.read_tokens_file: one bearer token per line, bounded, errors at the key.
#include <gtest/gtest.h>

#include "common/config_load.hpp"
#include "config_test_util.hpp"

namespace vigil::common {
namespace {

using test::base_yaml;
using test::fake_world;
using test::has_error;

const std::string with_tokens = base_yaml + "engine:\n  read_tokens_file: keys/tokens\n";  // value at 14:21

config_load_result load_tokens(const std::string& text) {
  fake_world w;
  w.files["conf/keys/tokens"] = text;
  return w.load(with_tokens);
}

TEST(config_read_tokens, one_per_line_without_blanks_comments_or_surrounding_space) {
  const auto r =
      load_tokens("# status page\n0123456789abcdef\n\n  # cli\n\tsecond-token_0123/+=  \r\nlast-token-without-newline");
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_EQ(r.value->engine.read_tokens_file, "conf/keys/tokens");
  EXPECT_EQ(r.value->engine.read_tokens,
            (std::vector<std::string>{"0123456789abcdef", "second-token_0123/+=", "last-token-without-newline"}));
}

TEST(config_read_tokens, absent_means_no_token) {
  const auto r = fake_world{}.load(base_yaml);
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_TRUE(r.value->engine.read_tokens.empty());
}

TEST(config_read_tokens, bad_lines_are_named_by_number_and_never_quoted) {
  auto r = load_tokens("# a comment\nshort-token\n");
  EXPECT_TRUE(has_error(r, "14:21", "engine.read_tokens_file",
                        "\"conf/keys/tokens\": line 2: a token of 11 characters; expected 16..256"));
  EXPECT_EQ(test::all_diagnostics(r).find("short-token"), std::string::npos);
  EXPECT_TRUE(has_error(load_tokens("0123456789abcdef\n" + std::string(257, 'a') + "\n"), "14:21",
                        "engine.read_tokens_file", "line 2: a token of 257 characters"));
  r = load_tokens("0123456789abcdef\nwith a space 0123456789\n");
  EXPECT_TRUE(has_error(r, "14:21", "engine.read_tokens_file",
                        "line 2: a token is printable ASCII without spaces (value not shown)"));
  EXPECT_EQ(test::all_diagnostics(r).find("with a space"), std::string::npos);
  EXPECT_TRUE(has_error(load_tokens("caf\xc3\xa9-0123456789abcdef\n"), "14:21", "engine.read_tokens_file",
                        "line 1: a token is printable ASCII"));
}

TEST(config_read_tokens, at_most_64_tokens_and_at_least_one) {
  std::string text;
  for (int i = 0; i < 64; ++i)
    text += "token-number-" + std::to_string(1000 + i) + "\n";
  auto r = load_tokens(text);
  ASSERT_TRUE(r.ok()) << test::all_diagnostics(r);
  EXPECT_EQ(r.value->engine.read_tokens.size(), 64U);
  EXPECT_TRUE(has_error(load_tokens(text + "# one more\ntoken-number-9999\n"), "14:21", "engine.read_tokens_file",
                        "line 66: more than 64 tokens"));
  EXPECT_TRUE(
      has_error(load_tokens("# nothing but comments\n\n"), "14:21", "engine.read_tokens_file", "holds no token"));
}

TEST(config_read_tokens, an_unreadable_file_is_an_error_at_the_key) {
  EXPECT_TRUE(has_error(fake_world{}.load(with_tokens), "14:21", "engine.read_tokens_file",
                        "cannot read token file \"conf/keys/tokens\": No such file or directory"));
}

}  // namespace
}  // namespace vigil::common
