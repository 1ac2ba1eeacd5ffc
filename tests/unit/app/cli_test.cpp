// app/cli: the strict option parser every subcommand uses.
#include "app/cli.hpp"

#include <gtest/gtest.h>

namespace vigil::app {
namespace {

const std::vector<option_spec> specs{
    {"config", "FILE", "config file", true},
    {"vantage", "NAME", "vantage name"},
    {"json", "", "JSON output"},
    {"tag", "T", "a tag", false, true},
};

TEST(cli, parses_values_flags_and_positionals) {
  const auto r = parse_args({"--config", "a.yaml", "--json", "--vantage=eu-west-1", "pos"}, specs, 1);
  ASSERT_TRUE(r.args) << r.error;
  EXPECT_EQ(r.args->get("config"), "a.yaml");
  EXPECT_EQ(r.args->get("vantage"), "eu-west-1");
  EXPECT_TRUE(r.args->has("json"));
  EXPECT_FALSE(r.args->has("tag"));
  EXPECT_EQ(r.args->get_or("tag", "none"), "none");
  EXPECT_EQ(r.args->positional, std::vector<std::string>{"pos"});
}

TEST(cli, repeatable_options_collect_every_value) {
  const auto r = parse_args({"--config", "a", "--tag", "x", "--tag=y"}, specs);
  ASSERT_TRUE(r.args) << r.error;
  EXPECT_EQ(r.args->all("tag"), (std::vector<std::string>{"x", "y"}));
}

TEST(cli, double_dash_ends_options) {
  const auto r = parse_args({"--config", "a", "--", "--json"}, specs, 1);
  ASSERT_TRUE(r.args) << r.error;
  EXPECT_FALSE(r.args->has("json"));
  EXPECT_EQ(r.args->positional, std::vector<std::string>{"--json"});
}

TEST(cli, usage_errors_name_the_option) {
  EXPECT_EQ(parse_args({"--config", "a", "--nope"}, specs).error, "unknown option '--nope'");
  EXPECT_EQ(parse_args({"--config"}, specs).error, "option '--config' needs a value (FILE)");
  EXPECT_EQ(parse_args({"--vantage", "a"}, specs).error, "missing required option '--config'");
  EXPECT_EQ(parse_args({"--config", "a", "--json=1"}, specs).error, "option '--json' takes no value");
  EXPECT_EQ(parse_args({"--config", "a", "--config", "b"}, specs).error, "option '--config' given twice");
  EXPECT_EQ(parse_args({"--config", "a", "extra"}, specs).error, "unexpected argument 'extra'");
  EXPECT_EQ(parse_args({"--config", "a", "-x"}, specs).error, "unknown option '-x' (options are spelled --name)");
}

TEST(cli, help_skips_required_checks) {
  for (const char* h : {"--help", "-h"}) {
    const auto r = parse_args({h}, specs);
    ASSERT_TRUE(r.args) << r.error;
    EXPECT_TRUE(r.args->help);
  }
}

TEST(cli, format_options_lists_every_option) {
  const std::string text = format_options(specs);
  EXPECT_NE(text.find("--config FILE"), std::string::npos);
  EXPECT_NE(text.find("(required)"), std::string::npos);
  EXPECT_NE(text.find("--help"), std::string::npos);
}

}  // namespace
}  // namespace vigil::app
