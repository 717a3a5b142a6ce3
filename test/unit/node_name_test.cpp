#include "convoy/node_name.hpp"

#include <gtest/gtest.h>

#include <sstream>

namespace convoy {
namespace {

struct PortCase {
  const char* name;
  std::uint16_t port;
  const char* alive;
  const char* host;
};

class NodeNamePort : public testing::TestWithParam<PortCase> {};

TEST_P(NodeNamePort, FollowsCaravansRule) {
  const auto& c = GetParam();
  auto n = NodeName::parse(c.name);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->port(), c.port);
  EXPECT_EQ(n->alive(), c.alive);
  EXPECT_EQ(n->host(), c.host);
  EXPECT_EQ(n->str(), c.name);
}

INSTANTIATE_TEST_SUITE_P(
    Table, NodeNamePort,
    testing::Values(PortCase{"app-4371@h", 4371, "app-4371", "h"},
                    PortCase{"web2@h", 2, "web2", "h"}, PortCase{"web@h", 4370, "web", "h"},
                    PortCase{"a-1-22@h", 22, "a-1-22", "h"},
                    PortCase{"cnode-4370@127.0.0.1", 4370, "cnode-4370", "127.0.0.1"},
                    PortCase{"x-65535@host.example.com", 65535, "x-65535", "host.example.com"},
                    PortCase{"n-007@h", 7, "n-007", "h"},
                    PortCase{"Web_Node-1@h", 1, "Web_Node-1", "h"}));

class NodeNameInvalid : public testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(NodeNameInvalid, IsRejectedWithAReason) {
  const auto& [text, reason] = GetParam();
  auto n = NodeName::parse(text);
  ASSERT_FALSE(n.ok()) << text;
  EXPECT_EQ(n.error().code, make_error_code(Errc::invalid_argument));
  EXPECT_NE(n.error().message.find(reason), std::string::npos) << n.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Table, NodeNameInvalid,
    testing::Values(std::pair{"nohost", "expected alive@host"}, std::pair{"@host", "empty name"},
                    std::pair{"name@", "empty host"}, std::pair{"", "expected alive@host"},
                    std::pair{"a@b@c", "more than one"}, std::pair{"app-0@h", "is 0"},
                    std::pair{"app-65536@h", "above 65535"},
                    std::pair{"app-99999999999999999999@h", "above 65535"},
                    std::pair{"my app@h", "illegal character ' '"},
                    std::pair{"app@h/x", "illegal character '/'"},
                    std::pair{"a\x01pp@h", "illegal character"}));

TEST(NodeName, RejectsOverlongNames) {
  const std::string text = std::string(300, 'a') + "@h";
  auto n = NodeName::parse(text);
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.error().message.find("255"), std::string::npos);
}

TEST(NodeName, FromPartsBuildsCaravansPeerName) {
  auto n = NodeName::from_parts("app", 4371, "10.0.0.5");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(n->str(), "app-4371@10.0.0.5");
  EXPECT_EQ(n->port(), 4371);
  EXPECT_FALSE(NodeName::from_parts("app", 0, "h").ok());
}

TEST(NodeName, IsRegularComparableAndPrintable) {
  auto a = *NodeName::parse("a-1@h");
  auto b = *NodeName::parse("b-1@h");
  auto a2 = a;
  EXPECT_EQ(a, a2);
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  std::ostringstream os;
  os << a;
  EXPECT_EQ(os.str(), "a-1@h");
  EXPECT_EQ(std::hash<NodeName>{}(a), std::hash<NodeName>{}(a2));
}

}  // namespace
}  // namespace convoy
