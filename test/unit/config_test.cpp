#include "config.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace convoy {
namespace {

class ConfigFile : public testing::Test {
 protected:
  void TearDown() override { std::filesystem::remove(path_); }
  std::string write(const std::string& text) {
    std::ofstream(path_) << text;
    return path_.string();
  }
  std::filesystem::path path_ = std::filesystem::temp_directory_path() /
                                ("convoy-config-test-" + std::to_string(::getpid()) + ".toml");
};

TEST_F(ConfigFile, CaravanStyleKeysLoad) {
  auto c = load_config_file(write(R"(
name = "cnode-4370@10.0.0.1"
cookie = "secret"
consul_service = "app"
node_sname = "app"
nameservers = ["127.0.0.1:8600", "10.0.0.2:53"]
poll_interval = 1000
net_ticktime = 20
prune_after = 3
host_from = "address"
)"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->name, "cnode-4370@10.0.0.1");
  EXPECT_EQ(c->cookie, "secret");
  EXPECT_EQ(c->nameservers, (std::vector<std::string>{"127.0.0.1:8600", "10.0.0.2:53"}));
  EXPECT_EQ(c->poll_interval, 1000);
  auto d = to_discovery_options(*c);
  ASSERT_TRUE(d.ok()) << d.error().message;
  ASSERT_TRUE(d->has_value());
  EXPECT_EQ((*d)->query_name(), "app.service.consul");
  EXPECT_EQ((*d)->nameservers.size(), 2u);
  EXPECT_EQ((*d)->nameservers[0].port, 8600);
  EXPECT_EQ((*d)->prune_after, 3);
  EXPECT_EQ((*d)->host_from, HostFrom::address);
  auto n = to_node_options(*c);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->net_ticktime, std::chrono::seconds(20));
}

TEST_F(ConfigFile, LimitsAreSetFromTheFile) {
  auto c = load_config_file(write(R"(
name = "cnode-4370@10.0.0.1"
cookie = "secret"
max_frame_bytes = 1048576
max_decoded_bytes = 4194304
max_pending_bytes_per_peer = 65536
link_output_high_water = 131072
)"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  auto n = to_node_options(*c);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->limits.max_frame_bytes, 1048576u);
  EXPECT_EQ(n->limits.max_decoded_bytes, 4194304u);
  EXPECT_EQ(n->limits.max_pending_bytes_per_peer, 65536u);
  EXPECT_EQ(n->limits.link_output_high_water, 131072u);
  EXPECT_EQ(n->limits.node_output_high_water, Limits{}.node_output_high_water);
  auto bad = load_config_file(write("max_decoded_bytes = 10\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("'max_decoded_bytes' = 10 is out of range"), std::string::npos)
      << bad.error().message;
}

TEST_F(ConfigFile, MistakesAreReportedWithLineAndKey) {
  struct Case {
    const char* text;
    const char* expect;
  };
  for (const auto& c :
       {Case{"nmae = \"x\"\n", ":1: unknown key 'nmae'"},
        Case{"\npoll_interval = \"fast\"\n", ":2: 'poll_interval' must be an integer"},
        Case{"poll_interval = 0\n", "out of range"},
        Case{"max_decoded_bytes = 2499E094\n", "'max_decoded_bytes' must be an integer"},
        Case{"nameservers = \"127.0.0.1\"\n", "must be an array"}, Case{"name = \n", ":1:"}}) {
    auto r = load_config_file(write(c.text));
    ASSERT_FALSE(r.ok()) << c.text;
    EXPECT_NE(r.error().message.find(c.expect), std::string::npos) << r.error().message;
  }
  EXPECT_NE(load_config_file("/nonexistent/convoy.toml").error().message.find("cannot read"),
            std::string::npos);
}

TEST_F(ConfigFile, QueryIsCaravansNameForConsulService) {
  auto c = load_config_file(write("query = \"app.service.dc1.consul\"\n"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->consul_service, "app.service.dc1.consul");
  EXPECT_TRUE(load_config_file(write("query = \"app\"\nconsul_service = \"app\"\n")).ok());
  auto both = load_config_file(write("query = \"a\"\nconsul_service = \"b\"\n"));
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.error().message.find(":1: 'query' = \"a\" contradicts 'consul_service' = \"b\""),
            std::string::npos)
      << both.error().message;
}

TEST_F(ConfigFile, NameserversAlsoTakeCaravansHostPortPairs) {
  auto c = load_config_file(
      write("nameservers = [[\"10.0.0.1\", \"8600\"], [\"::1\", 53], \"127.0.0.1:5353\"]\n"));
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->nameservers,
            (std::vector<std::string>{"10.0.0.1:8600", "[::1]:53", "127.0.0.1:5353"}));
  for (const char* bad :
       {"nameservers = [[\"10.0.0.1\"]]\n", "nameservers = [[\"10.0.0.1\", \"x\"]]\n",
        "nameservers = [[\"10.0.0.1\", 70000]]\n", "nameservers = [[1, 2]]\n",
        "nameservers = [3]\n"}) {
    auto r = load_config_file(write(bad));
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find(":1: 'nameservers' entries are \"ip:port\" or [\"ip\", port]"),
              std::string::npos)
        << r.error().message;
  }
}

TEST_F(ConfigFile, LogLevelsAreTheListTheFlagTakes) {
  for (const auto& level : log_level_names()) {
    auto c = load_config_file(write("log_level = \"" + level + "\"\n"));
    EXPECT_TRUE(c.ok()) << level;
  }
  const auto& names = log_level_names();
  for (const char* expected : {"warn", "warning", "critical", "off"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), expected), names.end()) << expected;
  }
  auto r = load_config_file(write("log_level = \"loud\"\n"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find(":1: 'log_level' = \"loud\" is not one of trace, debug, info, "
                                   "warn, warning, error, critical, off"),
            std::string::npos)
      << r.error().message;
}

TEST(ConfigValidation, DiscoveryNeedsItsKeys) {
  Config c;
  c.nameservers = {"127.0.0.1:53"};
  EXPECT_FALSE(to_discovery_options(c).ok());  // nameservers without a service
  c.consul_service = "app";
  EXPECT_NE(to_discovery_options(c).error().message.find("node_sname"), std::string::npos);
  c.node_sname = "app";
  c.host_from = "dns";
  EXPECT_NE(to_discovery_options(c).error().message.find("host_from"), std::string::npos);
  c.host_from = "target";
  c.nameservers = {"not an address"};
  EXPECT_FALSE(to_discovery_options(c).ok());
  EXPECT_FALSE(to_discovery_options(Config{})->has_value());  // discovery off
}

TEST(ConfigValidation, CookieFallsBackToEnvironmentThenFile) {
  EXPECT_EQ(*resolve_cookie(std::string("flag")), "flag");
  EXPECT_FALSE(resolve_cookie(std::string("")).ok());
  ::setenv("ERLANG_COOKIE", "from-env", 1);
  EXPECT_EQ(*resolve_cookie(std::nullopt), "from-env");
  ::unsetenv("ERLANG_COOKIE");
  const auto home =
      std::filesystem::temp_directory_path() / ("convoy-home-" + std::to_string(::getpid()));
  std::filesystem::create_directories(home);
  const char* old_home = std::getenv("HOME");
  const std::string saved = old_home ? old_home : "";
  ::setenv("HOME", home.c_str(), 1);
  EXPECT_FALSE(resolve_cookie(std::nullopt).ok());
  std::ofstream(home / ".erlang.cookie") << "from-file\n";
  // As erl: a cookie file others can read is refused, not used.
  std::filesystem::permissions(home / ".erlang.cookie", std::filesystem::perms::owner_read |
                                                            std::filesystem::perms::owner_write |
                                                            std::filesystem::perms::group_read |
                                                            std::filesystem::perms::others_read);
  auto open_file = resolve_cookie(std::nullopt);
  ASSERT_FALSE(open_file.ok());
  EXPECT_NE(open_file.error().message.find("must be accessible by its owner only"),
            std::string::npos)
      << open_file.error().message;
  std::filesystem::permissions(home / ".erlang.cookie", std::filesystem::perms::owner_read);
  EXPECT_EQ(*resolve_cookie(std::nullopt), "from-file");
  ::setenv("HOME", saved.c_str(), 1);
  std::filesystem::remove_all(home);
}

TEST(ConfigValidation, NodeOptionsRejectBadValues) {
  Config c;
  c.cookie = "x";
  EXPECT_NE(to_node_options(c).error().message.find("--name"), std::string::npos);
  c.name = "bad";
  EXPECT_FALSE(to_node_options(c).ok());
  c.name = "a-1@h";
  c.net_ticktime = 0;
  EXPECT_FALSE(to_node_options(c).ok());
}

}  // namespace
}  // namespace convoy
