// The ldns resolver against real DNS servers on 127.0.0.1: ldns-testns replaying Consul's
// answer shapes, and Knot DNS (KnotServer) for truncation, NXDOMAIN, failover and updates.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>

#include "canned_dns_server.hpp"
#include "convoy/dns.hpp"
#include "harness.hpp"
#include "knot_server.hpp"

namespace convoy::test {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

std::unique_ptr<SrvResolver> resolver(std::vector<std::string> nameservers,
                                      LdnsResolverOptions options = {}) {
  for (const auto& text : nameservers) {
    auto ns = Nameserver::parse(text);
    if (!ns) throw std::runtime_error(ns.error().message);
    options.nameservers.push_back(*ns);
  }
  auto r = make_ldns_resolver(std::move(options));
  if (!r) throw std::runtime_error(r.error().message);
  return std::move(*r);
}

LdnsResolverOptions quick(std::uint16_t edns_buffer = 4096) {
  return {.timeout = milliseconds(250), .retries = 1, .edns_buffer = edns_buffer};
}

// A port nothing is bound to: queries to it vanish (ICMP errors do not reach ldns'
// unconnected UDP socket), so the resolver sees a timeout, as with a dead host.
std::string dead_nameserver() {
  auto port = free_port();
  while (is_udp_bound(port)) port = free_port();
  return "127.0.0.1:" + std::to_string(port);
}

long elapsed_ms(Clock::time_point since) {
  return static_cast<long>(std::chrono::duration_cast<milliseconds>(Clock::now() - since).count());
}

// ----------------------------------------------------------------------------------------
// ldns-testns: canned answers, chosen by name, transport and EDNS0 presence.

std::string srv_lines(int from, int to) {
  std::ostringstream out;
  for (int i = from; i <= to; ++i) {
    out << "web.service.consul. 0 IN SRV 1 1 " << 4370 + i << " 0a00010" << i
        << ".addr.dc1.consul.\n";
  }
  return out.str();
}

std::string addr_lines(int from, int to) {
  std::ostringstream out;
  for (int i = from; i <= to; ++i) {
    out << "0a00010" << i << ".addr.dc1.consul. 0 IN A 10.0.1." << i << "\n";
  }
  return out.str();
}

// What Consul does: 7 healthy instances; plain UDP without EDNS0 gets 3 of them and no TC
// bit; EDNS0 or TCP gets all. Plus the failure shapes the resolver must walk past.
std::string consul_entries() {
  std::string e;
  e += "ENTRY_BEGIN\nMATCH opcode qtype qname noedns UDP\nADJUST copy_id\nREPLY QR AA RD NOERROR\n";
  e += "SECTION QUESTION\nweb.service.consul. IN SRV\nSECTION ANSWER\n" + srv_lines(1, 3);
  e += "SECTION ADDITIONAL\n" + addr_lines(1, 3) + "ENTRY_END\n";
  e += "ENTRY_BEGIN\nMATCH opcode qtype qname\nADJUST copy_id\nREPLY QR AA RD NOERROR\n";
  e += "SECTION QUESTION\nweb.service.consul. IN SRV\nSECTION ANSWER\n" + srv_lines(1, 7);
  e += "SECTION ADDITIONAL\n" + addr_lines(1, 7) + "ENTRY_END\n";
  for (const char* rcode : {"SERVFAIL", "REFUSED"}) {
    e += std::string("ENTRY_BEGIN\nMATCH opcode qtype qname\nADJUST copy_id\nREPLY QR RD ") +
         rcode + "\nSECTION QUESTION\n" + (rcode[0] == 'S' ? "failing" : "refused") +
         ".service.consul. IN SRV\nENTRY_END\n";
  }
  // Bytes that are no DNS message at all.
  e += "ENTRY_BEGIN\nMATCH opcode qtype qname\nSECTION QUESTION\n";
  e += "garbage.service.consul. IN SRV\nHEX_ANSWER_BEGIN\nde ad be ef 00 01 02\nHEX_ANSWER_END\n";
  e += "ENTRY_END\n";
  // Truncated over UDP, and a TCP side that never answers in time.
  e += "ENTRY_BEGIN\nMATCH opcode qtype qname UDP\nADJUST copy_id\nREPLY QR AA RD TC NOERROR\n";
  e += "SECTION QUESTION\nslowtcp.service.consul. IN SRV\nENTRY_END\n";
  e += "ENTRY_BEGIN\nMATCH opcode qtype qname TCP\nADJUST copy_id sleep=30\n";
  e += "REPLY QR AA RD NOERROR\nSECTION QUESTION\nslowtcp.service.consul. IN SRV\n";
  e += "SECTION ANSWER\nslowtcp.service.consul. 0 IN SRV 1 1 1 late.node.dc1.consul.\nENTRY_END\n";
  // A well-formed answer to some other query (its ID is not copied from ours).
  e += "ENTRY_BEGIN\nMATCH opcode qtype qname\nREPLY QR AA RD NOERROR\nSECTION QUESTION\n";
  e += "badid.service.consul. IN SRV\nSECTION ANSWER\n";
  e += "badid.service.consul. 0 IN SRV 1 1 1 wrong.node.dc1.consul.\nENTRY_END\n";
  return e;
}

// The Knot zone: 40 instances of svc (too many for a 512-byte or 1232-byte UDP answer), a
// BEAM-style 127.0.0.1. target, and the names ldns-testns fails on, so that a walk from
// ldns-testns to Knot has something to find.
std::string knot_zone() {
  std::ostringstream z;
  z << KnotServer::zone_header();
  for (int i = 1; i <= 40; ++i) {
    z << "svc.service.consul. 0 IN SRV 1 1 " << 10000 + i << " node-" << i << ".node.dc1.consul.\n";
    z << "node-" << i << ".node.dc1.consul. 0 IN A 127.0.0." << i << "\n";
  }
  z << "beam.service.consul. 0 IN SRV 1 1 4371 127.0.0.1.\n";
  for (const char* name : {"failing", "refused", "garbage", "badid", "slowtcp"}) {
    z << name << ".service.consul. 0 IN SRV 1 1 5353 from-knot.node.dc1.consul.\n";
  }
  return z.str();
}

// One raw UDP query without EDNS0, to see what the server itself sends back.
Result<SrvAnswer> raw_udp_query(std::uint16_t port, const std::string& name) {
  std::vector<std::uint8_t> q{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  std::istringstream labels(name);
  for (std::string label; std::getline(labels, label, '.');) {
    q.push_back(static_cast<std::uint8_t>(label.size()));
    q.insert(q.end(), label.begin(), label.end());
  }
  q.insert(q.end(), {0, 0, 33, 0, 1});
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  to.sin_port = htons(port);
  ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  pollfd p{fd, POLLIN, 0};
  std::vector<std::uint8_t> buf(65535);
  ssize_t n = -1;
  if (::poll(&p, 1, 2000) == 1) n = ::recv(fd, buf.data(), buf.size(), 0);
  ::close(fd);
  if (n < 0) return make_error(Errc::timeout, "no answer");
  buf.resize(static_cast<std::size_t>(n));
  return parse_srv_response(buf);
}

// ----------------------------------------------------------------------------------------

TEST(DnsConsulLike, PlainUdpWithoutEdnsSeesOnlyThreeOfSeven) {
  CannedDnsServer consul(consul_entries());
  // Caravan's way: no EDNS0. Consul answers with 3 records and no TC bit, so nothing tells
  // the client that 4 instances are missing.
  auto a = resolver({consul.address()}, quick(0))->resolve("web.service.consul");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->records.size(), 3u);
  EXPECT_FALSE(a->truncated);
}

TEST(DnsConsulLike, Edns0SeesAllSeven) {
  CannedDnsServer consul(consul_entries());
  auto a = resolver({consul.address()}, quick())->resolve("web.service.consul.");
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_EQ(a->records.size(), 7u);
  EXPECT_EQ(a->records[4], (SrvRecord{1, 1, 4375, "0a000105.addr.dc1.consul"}));
  ASSERT_EQ(a->additional.size(), 7u);
  EXPECT_EQ(a->additional[4], (AddressRecord{"0a000105.addr.dc1.consul", "10.0.1.5"}));
  // The default options are the EDNS0 ones.
  auto defaults = resolver({consul.address()})->resolve("web.service.consul");
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->records.size(), 7u);
}

TEST(DnsConsulLike, FailuresMoveOnToTheNextNameserver) {
  CannedDnsServer consul(consul_entries());
  KnotServer knot(knot_zone());
  auto r = resolver({consul.address(), knot.address()}, quick());
  for (const char* name : {"failing", "refused", "garbage", "badid"}) {
    auto a = r->resolve(std::string(name) + ".service.consul");
    ASSERT_TRUE(a.ok()) << name << ": " << a.error().message;
    EXPECT_EQ(a->records, (std::vector<SrvRecord>{{1, 1, 5353, "from-knot.node.dc1.consul"}}))
        << name;
  }
}

TEST(DnsConsulLike, ErrorNamesEachNameserverAndItsFailure) {
  CannedDnsServer consul(consul_entries());
  const auto dead = dead_nameserver();
  auto r = resolver({consul.address(), dead}, quick());
  struct Case {
    const char* name;
    const char* failure;
  };
  for (const Case c : {Case{"failing", "SERVFAIL"}, Case{"refused", "REFUSED"},
                       Case{"garbage", "malformed DNS answer"}, Case{"badid", "has ID"}}) {
    auto a = r->resolve(std::string(c.name) + ".service.consul");
    ASSERT_FALSE(a.ok()) << c.name;
    const auto& m = a.error().message;
    EXPECT_EQ(a.error().code, make_error_code(Errc::dns_error));
    EXPECT_NE(m.find(c.name), std::string::npos) << m;
    EXPECT_NE(m.find(consul.address() + ": "), std::string::npos) << m;
    EXPECT_NE(m.find(c.failure), std::string::npos) << m;
    EXPECT_NE(m.find(dead + ": no UDP answer in 2 attempts of 250 ms"), std::string::npos) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  }
}

TEST(DnsConsulLike, StalledTcpRetryIsBoundedAndMovesOn) {
  CannedDnsServer consul(consul_entries());
  KnotServer knot(knot_zone());
  auto r = resolver({consul.address(), knot.address()}, quick());
  const auto start = Clock::now();
  auto a = r->resolve("slowtcp.service.consul");
  const auto ms = elapsed_ms(start);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->records, (std::vector<SrvRecord>{{1, 1, 5353, "from-knot.node.dc1.consul"}}));
  // One TCP attempt: the connection is accepted, the read times out after 250 ms.
  EXPECT_GE(ms, 240);
  EXPECT_LT(ms, 1200);
  // ldns-testns answers one query at a time and is still asleep in that TCP exchange.
  CannedDnsServer fresh(consul_entries());
  auto alone = resolver({fresh.address()}, quick())->resolve("slowtcp.service.consul");
  ASSERT_FALSE(alone.ok());
  EXPECT_NE(alone.error().message.find(
                "UDP answer truncated and the TCP retry failed: no TCP answer in 1 attempt"),
            std::string::npos)
      << alone.error().message;
}

// ----------------------------------------------------------------------------------------

TEST(DnsKnot, TruncatedUdpAnswerIsRetriedOverTcp) {
  KnotServer knot(knot_zone());
  // What Knot itself sends over plain UDP: TC and not one record.
  auto raw = raw_udp_query(knot.port(), "svc.service.consul");
  ASSERT_TRUE(raw.ok()) << raw.error().message;
  EXPECT_TRUE(raw->truncated);
  EXPECT_TRUE(raw->records.empty());
  // So 40 records without EDNS0 can only have come over TCP.
  auto plain = resolver({knot.address()}, quick(0))->resolve("svc.service.consul");
  ASSERT_TRUE(plain.ok()) << plain.error().message;
  EXPECT_EQ(plain->records.size(), 40u);
  EXPECT_FALSE(plain->truncated);
  // Knot caps EDNS0 UDP answers at 1232 bytes, so a 4096-byte buffer gets TC as well.
  auto edns = resolver({knot.address()}, quick())->resolve("svc.service.consul");
  ASSERT_TRUE(edns.ok()) << edns.error().message;
  ASSERT_EQ(edns->records.size(), 40u);
  EXPECT_FALSE(edns->truncated);
  std::sort(edns->records.begin(), edns->records.end(),
            [](const SrvRecord& a, const SrvRecord& b) { return a.port < b.port; });
  EXPECT_EQ(edns->records[6], (SrvRecord{1, 1, 10007, "node-7.node.dc1.consul"}));
  ASSERT_EQ(edns->additional.size(), 40u);
  std::sort(edns->additional.begin(), edns->additional.end());
  EXPECT_NE(std::find(edns->additional.begin(), edns->additional.end(),
                      AddressRecord{"node-7.node.dc1.consul", "127.0.0.7"}),
            edns->additional.end());
}

TEST(DnsKnot, NxdomainIsAnEmptyAnswer) {
  KnotServer knot(knot_zone());
  auto a = resolver({knot.address()}, quick())->resolve("nobody.service.consul");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->records.empty());
}

TEST(DnsKnot, BeamStyleTargetHasNoTrailingDot) {
  KnotServer knot(knot_zone());
  auto a = resolver({knot.address()}, quick())->resolve("beam.service.consul");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->records, (std::vector<SrvRecord>{{1, 1, 4371, "127.0.0.1"}}));
}

TEST(DnsKnot, DeadFirstNameserverThenKnot) {
  KnotServer knot(knot_zone());
  auto r = resolver({dead_nameserver(), knot.address()}, quick());
  const auto start = Clock::now();
  auto a = r->resolve("svc.service.consul");
  const auto ms = elapsed_ms(start);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->records.size(), 40u);
  // The dead one costs its 2 attempts of 250 ms, then Knot answers (UDP, then TCP).
  EXPECT_GE(ms, 450);
  EXPECT_LT(ms, 1500);
  std::cout << "dead nameserver then Knot: " << ms << " ms\n";
}

TEST(DnsKnot, AllNameserversDeadIsABoundedError) {
  const auto a = dead_nameserver(), b = dead_nameserver();
  auto r = resolver({a, b}, quick());
  const auto start = Clock::now();
  auto answer = r->resolve("svc.service.consul");
  const auto ms = elapsed_ms(start);
  ASSERT_FALSE(answer.ok());
  EXPECT_EQ(answer.error().code, make_error_code(Errc::dns_error));
  const auto& m = answer.error().message;
  EXPECT_NE(m.find(a + ": no UDP answer"), std::string::npos) << m;
  EXPECT_NE(m.find(b + ": no UDP answer"), std::string::npos) << m;
  // 2 nameservers x 2 attempts x 250 ms.
  EXPECT_GE(ms, 950);
  EXPECT_LT(ms, 1600);
  RecordProperty("all_dead_ms", std::to_string(ms));
  std::cout << "all nameservers dead: " << ms << " ms: " << m << "\n";
}

TEST(DnsKnot, RuntimeUpdatesAreSeen) {
  KnotServer knot(KnotServer::zone_header() + "web.service.consul. 0 IN SRV 1 1 4371 127.0.0.1.\n");
  auto r = resolver({knot.address()}, quick());
  knot.add_srv("web.service.consul.", 4372, "127.0.0.1.");
  auto two = r->resolve("web.service.consul");
  ASSERT_TRUE(two.ok()) << two.error().message;
  std::sort(two->records.begin(), two->records.end());
  EXPECT_EQ(two->records,
            (std::vector<SrvRecord>{{1, 1, 4371, "127.0.0.1"}, {1, 1, 4372, "127.0.0.1"}}));
  knot.remove_srv("web.service.consul.", 4371, "127.0.0.1.");
  auto one = r->resolve("web.service.consul");
  ASSERT_TRUE(one.ok()) << one.error().message;
  EXPECT_EQ(one->records, (std::vector<SrvRecord>{{1, 1, 4372, "127.0.0.1"}}));
  // Several changes in one transaction, relative owner names included.
  knot.update({{.op = KnotServer::Change::Op::unset, .owner = "web.service"},
               {.owner = "api.service", .type = "SRV", .rdata = "1 1 4400 127.0.0.1."}});
  auto gone = r->resolve("web.service.consul");
  ASSERT_TRUE(gone.ok()) << gone.error().message;
  EXPECT_TRUE(gone->records.empty());  // NXDOMAIN: nothing registered
  auto api = r->resolve("api.service.consul");
  ASSERT_TRUE(api.ok()) << api.error().message;
  EXPECT_EQ(api->records.size(), 1u);
  // A rejected change leaves no transaction open behind it.
  EXPECT_THROW(knot.remove_srv("web.service.consul.", 1, "nowhere."), std::runtime_error);
  EXPECT_NO_THROW(knot.add_srv("web.service.consul.", 4373, "127.0.0.1."));
}

TEST(DnsKnot, SameResolverRecoversAfterServerRestart) {
  KnotServer knot(KnotServer::zone_header() + "web.service.consul. 0 IN SRV 1 1 4371 127.0.0.1.\n");
  auto r = resolver({knot.address()}, quick());
  ASSERT_TRUE(r->resolve("web.service.consul").ok());
  knot.add_srv("web.service.consul.", 4372, "127.0.0.1.");
  knot.stop();
  EXPECT_FALSE(knot.running());
  auto down = r->resolve("web.service.consul");
  ASSERT_FALSE(down.ok());
  EXPECT_NE(down.error().message.find("no UDP answer"), std::string::npos) << down.error().message;
  knot.restart();
  // ldns would remember the failure in a long-lived ldns_resolver; ours must not.
  auto up = r->resolve("web.service.consul");
  ASSERT_TRUE(up.ok()) << up.error().message;
  EXPECT_EQ(up->records.size(), 2u);  // the runtime change survived the restart
}

TEST(DnsKnot, Ipv6Nameserver) {
  if (!std::ifstream("/proc/net/if_inet6")) GTEST_SKIP() << "no IPv6 on this machine";
  KnotServer knot(knot_zone(), {.ipv6 = true});
  auto a = resolver({knot.address_ipv6()}, quick())->resolve("svc.service.consul");
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->records.size(), 40u);
}

}  // namespace
}  // namespace convoy::test
