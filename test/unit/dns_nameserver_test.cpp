// DNS configuration checks: Nameserver::parse (address and optional port, rejected inputs
// with a reason) and make_ldns_resolver's option and name validation (no network).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>

#include "convoy/dns.hpp"

namespace convoy {
namespace {

// ---------------------------------------------------------------------------------------
// Nameserver::parse

struct NameserverCase {
  const char* text;
  const char* ip;
  std::uint16_t port;
  const char* printed;
};

class NameserverParse : public testing::TestWithParam<NameserverCase> {};

TEST_P(NameserverParse, AcceptsAddressAndOptionalPort) {
  const auto& c = GetParam();
  auto ns = Nameserver::parse(c.text);
  ASSERT_TRUE(ns.ok()) << c.text << ": " << ns.error().message;
  EXPECT_EQ(ns->ip, c.ip);
  EXPECT_EQ(ns->port, c.port);
  EXPECT_EQ(ns->to_string(), c.printed);
  // What to_string prints parses back to the same value.
  auto again = Nameserver::parse(ns->to_string());
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(*again, *ns);
}

INSTANTIATE_TEST_SUITE_P(
    Table, NameserverParse,
    testing::Values(NameserverCase{"127.0.0.1:8600", "127.0.0.1", 8600, "127.0.0.1:8600"},
                    NameserverCase{"127.0.0.1", "127.0.0.1", 53, "127.0.0.1:53"},
                    NameserverCase{"10.0.0.2:1", "10.0.0.2", 1, "10.0.0.2:1"},
                    NameserverCase{"10.0.0.2:65535", "10.0.0.2", 65535, "10.0.0.2:65535"},
                    NameserverCase{"10.0.0.2:053", "10.0.0.2", 53, "10.0.0.2:53"},
                    NameserverCase{"[::1]:5353", "::1", 5353, "[::1]:5353"},
                    NameserverCase{"[::1]", "::1", 53, "[::1]:53"},
                    NameserverCase{"::1", "::1", 53, "[::1]:53"},
                    NameserverCase{"[fd00::a:1]:8600", "fd00::a:1", 8600, "[fd00::a:1]:8600"}));

class NameserverInvalid : public testing::TestWithParam<std::pair<const char*, const char*>> {};

TEST_P(NameserverInvalid, IsRejectedWithAReason) {
  const auto& [text, reason] = GetParam();
  auto ns = Nameserver::parse(text);
  ASSERT_FALSE(ns.ok()) << text << " parsed as " << ns->to_string();
  EXPECT_EQ(ns.error().code, make_error_code(Errc::invalid_argument));
  EXPECT_NE(ns.error().message.find(reason), std::string::npos) << ns.error().message;
  EXPECT_EQ(ns.error().message.find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Table, NameserverInvalid,
    testing::Values(
        std::pair{"", "empty address"}, std::pair{":53", "empty address"},
        std::pair{"localhost", "not an IP address"},
        std::pair{"consul.service:8600", "not an IP address"},
        std::pair{"300.1.1.1", "not an IP address"}, std::pair{"1.2.3:53", "not an IP address"},
        std::pair{" 127.0.0.1", "not an IP address"}, std::pair{"127.0.0.1:0", "port is 0"},
        std::pair{"127.0.0.1:00000", "port is 0"}, std::pair{"127.0.0.1:65536", "above 65535"},
        std::pair{"127.0.0.1:99999999999", "above 65535"}, std::pair{"127.0.0.1:", "empty port"},
        std::pair{"127.0.0.1:abc", "not a number"}, std::pair{"127.0.0.1:+53", "not a number"},
        std::pair{"127.0.0.1: 53", "not a number"}, std::pair{"[::1", "missing ']'"},
        std::pair{"[::1]53", "expected ':PORT'"}, std::pair{"[::1]:", "empty port"},
        std::pair{"[::1]:0", "port is 0"}, std::pair{"[127.0.0.1]:53", "not an IPv6 address"},
        std::pair{"fe80::1%eth0", "expected IPv4[:PORT], IPv6"},
        std::pair{"::g", "expected IPv4[:PORT], IPv6"}));

// ---------------------------------------------------------------------------------------
// make_ldns_resolver's argument checks (no network: they fail before any query).

TEST(MakeLdnsResolver, RejectsBadOptions) {
  auto bad_timeout = make_ldns_resolver({.timeout = std::chrono::milliseconds(0)});
  ASSERT_FALSE(bad_timeout.ok());
  EXPECT_EQ(bad_timeout.error().code, make_error_code(Errc::invalid_argument));
  auto huge_timeout = make_ldns_resolver({.timeout = std::chrono::hours(2)});
  ASSERT_FALSE(huge_timeout.ok());
  EXPECT_EQ(huge_timeout.error().code, make_error_code(Errc::invalid_argument));
  auto too_many_retries = make_ldns_resolver({.retries = 255});
  ASSERT_FALSE(too_many_retries.ok());
  auto bad_retries = make_ldns_resolver({.retries = -1});
  ASSERT_FALSE(bad_retries.ok());
  EXPECT_EQ(bad_retries.error().code, make_error_code(Errc::invalid_argument));
  auto bad_ns = make_ldns_resolver({.nameservers = {Nameserver{"not-an-ip", 53}}});
  ASSERT_FALSE(bad_ns.ok());
  EXPECT_EQ(bad_ns.error().code, make_error_code(Errc::invalid_argument));
  auto port_zero = make_ldns_resolver({.nameservers = {Nameserver{"127.0.0.1", 0}}});
  ASSERT_FALSE(port_zero.ok());
  EXPECT_NE(port_zero.error().message.find("port is 0"), std::string::npos);
}

TEST(MakeLdnsResolver, RejectsAnInvalidName) {
  auto r = make_ldns_resolver({.nameservers = {Nameserver{"127.0.0.1", 9}}});
  ASSERT_TRUE(r.ok()) << r.error().message;
  for (const char* name : {"", "a..b", "x.\\"}) {
    auto a = (*r)->resolve(name);
    ASSERT_FALSE(a.ok()) << name;
    EXPECT_EQ(a.error().code, make_error_code(Errc::invalid_argument)) << name;
  }
  auto long_label = (*r)->resolve(std::string(64, 'a') + ".consul");
  ASSERT_FALSE(long_label.ok());
  EXPECT_EQ(long_label.error().code, make_error_code(Errc::invalid_argument));
}

}  // namespace
}  // namespace convoy
