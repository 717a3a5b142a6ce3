// parse_srv_response: hand-written SRV answers byte by byte (compression, truncation,
// garbage), packets assembled with ldns for larger and rarer shapes, and rcode failures.
#include "convoy/dns.hpp"

// <stdbool.h> must precede ldns, whose common.h otherwise #defines bool/true/false (see
// src/ldns_resolver.cpp).
// clang-format off
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)
#include <ldns/ldns.h>
// clang-format on

#include <gtest/gtest.h>

#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace convoy {
namespace {

using Bytes = std::vector<std::uint8_t>;

// ---------------------------------------------------------------------------------------
// Canned answers, byte by byte. A tiny writer keeps offsets right so compression pointers
// can be aimed at earlier names.

class Wire {
 public:
  Wire& u8(std::uint8_t v) {
    b_.push_back(v);
    return *this;
  }
  Wire& u16(std::uint16_t v) { return u8(static_cast<std::uint8_t>(v >> 8)).u8(v & 0xff); }
  Wire& u32(std::uint32_t v) { return u16(static_cast<std::uint16_t>(v >> 16)).u16(v & 0xffff); }
  // Labels, then either the root label or a compression pointer to `pointer`.
  Wire& name(std::initializer_list<std::string_view> labels, int pointer = -1) {
    for (auto l : labels) {
      u8(static_cast<std::uint8_t>(l.size()));
      for (char c : l) u8(static_cast<std::uint8_t>(c));
    }
    if (pointer >= 0) return u16(static_cast<std::uint16_t>(0xC000 | pointer));
    return u8(0);
  }
  std::size_t size() const { return b_.size(); }
  // Reserves RDLENGTH; end_rdata() fills it in.
  Wire& begin_rdata() {
    rdlen_at_ = b_.size();
    return u16(0);
  }
  Wire& end_rdata() {
    const auto len = b_.size() - rdlen_at_ - 2;
    b_[rdlen_at_] = static_cast<std::uint8_t>(len >> 8);
    b_[rdlen_at_ + 1] = static_cast<std::uint8_t>(len & 0xff);
    return *this;
  }
  const Bytes& bytes() const { return b_; }

 private:
  Bytes b_;
  std::size_t rdlen_at_ = 0;
};

constexpr std::uint16_t kTypeA = 1, kTypeCname = 5, kTypeAaaa = 28, kTypeSrv = 33, kClassIn = 1;

// web.service.consul SRV: two Consul-style records, a CNAME and a "no service" SRV in the
// answer; an A and an AAAA in the additional section.
Bytes consul_answer(bool compress) {
  Wire w;
  w.u16(0xbeef).u16(0x8500);  // QR AA RD, NOERROR
  w.u16(1).u16(4).u16(0).u16(2);
  const auto qname = static_cast<int>(w.size());
  w.name({"web", "service", "consul"}).u16(kTypeSrv).u16(kClassIn);
  const int consul = qname + 4 + 8;  // "consul" inside the question name
  auto owner = [&] {
    if (compress) {
      w.name({}, qname);
    } else {
      w.name({"web", "service", "consul"});
    }
  };
  // A CNAME first: the SRV set that follows is what counts.
  owner();
  w.u16(kTypeCname).u16(kClassIn).u32(0).begin_rdata();
  compress ? w.name({"alias"}, qname) : w.name({"alias", "web", "service", "consul"});
  w.end_rdata();
  owner();
  w.u16(kTypeSrv).u16(kClassIn).u32(0).begin_rdata().u16(1).u16(1).u16(4371);
  const auto target1 = static_cast<int>(w.size());
  compress ? w.name({"0a000105", "addr", "dc1"}, consul)
           : w.name({"0a000105", "addr", "dc1", "consul"});
  w.end_rdata();
  owner();
  w.u16(kTypeSrv).u16(kClassIn).u32(0).begin_rdata().u16(2).u16(10).u16(4372);
  compress ? w.name({"0a000106"}, target1 + 9) : w.name({"0a000106", "addr", "dc1", "consul"});
  w.end_rdata();
  owner();
  w.u16(kTypeSrv).u16(kClassIn).u32(0).begin_rdata().u16(0).u16(0).u16(0).name({}).end_rdata();
  compress ? w.name({}, target1) : w.name({"0a000105", "addr", "dc1", "consul"});
  w.u16(kTypeA).u16(kClassIn).u32(0).begin_rdata().u8(10).u8(0).u8(1).u8(5).end_rdata();
  compress ? w.name({"0a000106"}, target1 + 9) : w.name({"0a000106", "addr", "dc1", "consul"});
  w.u16(kTypeAaaa).u16(kClassIn).u32(0).begin_rdata();
  for (int i = 0; i < 15; ++i) w.u8(i == 0 ? 0xfd : 0);
  w.u8(6).end_rdata();
  return w.bytes();
}

void expect_consul_answer(const Result<SrvAnswer>& a) {
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->records, (std::vector<SrvRecord>{{1, 1, 4371, "0a000105.addr.dc1.consul"},
                                                {2, 10, 4372, "0a000106.addr.dc1.consul"}}));
  EXPECT_EQ(a->additional, (std::vector<AddressRecord>{{"0a000105.addr.dc1.consul", "10.0.1.5"},
                                                       {"0a000106.addr.dc1.consul", "fd00::6"}}));
  EXPECT_FALSE(a->truncated);
}

TEST(ParseSrvResponse, HandWrittenPacketWithCompression) {
  const auto wire = consul_answer(true);
  expect_consul_answer(parse_srv_response(wire));
}

TEST(ParseSrvResponse, HandWrittenPacketWithoutCompression) {
  const auto wire = consul_answer(false);
  ASSERT_GT(wire.size(), consul_answer(true).size());
  expect_consul_answer(parse_srv_response(wire));
}

TEST(ParseSrvResponse, EveryTruncatedPrefixIsACleanError) {
  for (bool compress : {true, false}) {
    const auto wire = consul_answer(compress);
    for (std::size_t len = 0; len < wire.size(); ++len) {
      auto a = parse_srv_response(std::span(wire.data(), len));
      ASSERT_FALSE(a.ok()) << "prefix of " << len << " bytes parsed";
      EXPECT_EQ(a.error().code, make_error_code(Errc::dns_error));
      EXPECT_NE(a.error().message.find("malformed DNS answer"), std::string::npos)
          << a.error().message;
    }
  }
}

TEST(ParseSrvResponse, QueryIsRejected) {
  auto wire = consul_answer(true);
  wire[2] &= 0x7f;  // clear QR
  auto a = parse_srv_response(wire);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, make_error_code(Errc::dns_error));
  EXPECT_NE(a.error().message.find("malformed DNS answer"), std::string::npos);
  EXPECT_NE(a.error().message.find("QR"), std::string::npos) << a.error().message;
}

TEST(ParseSrvResponse, OtherOpcodeIsRejected) {
  auto wire = consul_answer(true);
  wire[2] = static_cast<std::uint8_t>((wire[2] & 0x87) | (5 << 3));  // UPDATE
  auto a = parse_srv_response(wire);
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("opcode 5"), std::string::npos) << a.error().message;
}

TEST(ParseSrvResponse, PointerLoopIsAnError) {
  Wire w;
  w.u16(1).u16(0x8180).u16(1).u16(1).u16(0).u16(0);
  w.name({"a"}).u16(kTypeSrv).u16(kClassIn);
  const auto self = static_cast<int>(w.size());
  w.name({}, self);  // a name pointing at itself
  w.u16(kTypeSrv).u16(kClassIn).u32(0).u16(0);
  auto a = parse_srv_response(w.bytes());
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.error().message.find("malformed DNS answer"), std::string::npos);
}

TEST(ParseSrvResponse, GarbageIsAnError) {
  std::vector<Bytes> inputs{{}, {0x00}, {0xff, 0xff, 0xff, 0xff, 0xff}, Bytes(100, 0xff)};
  // Header says 0xffff answers, nothing follows.
  inputs.push_back({0, 1, 0x81, 0x80, 0, 0, 0xff, 0xff, 0, 0, 0, 0});
  std::srand(42);
  for (int i = 0; i < 200; ++i) {
    Bytes b(static_cast<std::size_t>(std::rand() % 600));
    for (auto& x : b) x = static_cast<std::uint8_t>(std::rand());
    b.resize(std::max<std::size_t>(b.size(), 12));
    b[2] |= 0x80;  // claims to be a response
    b[6] = 0xff;   // with far more answers than bytes
    inputs.push_back(std::move(b));
  }
  for (const auto& in : inputs) {
    auto a = parse_srv_response(in);
    ASSERT_FALSE(a.ok()) << in.size() << " bytes parsed";
    EXPECT_EQ(a.error().code, make_error_code(Errc::dns_error));
    EXPECT_NE(a.error().message.find("malformed DNS answer"), std::string::npos)
        << a.error().message;
  }
}

// ---------------------------------------------------------------------------------------
// Packets assembled with ldns itself, for the larger and rarer shapes.

struct PacketSpec {
  ldns_pkt_rcode rcode = LDNS_RCODE_NOERROR;
  bool tc = false;
  std::vector<std::string> answer{};
  std::vector<std::string> authority{};
  std::vector<std::string> additional{};
};

Bytes build(const PacketSpec& spec, const char* qname = "web.service.consul.") {
  ldns_pkt* p = ldns_pkt_new();
  ldns_pkt_set_id(p, 4242);
  ldns_pkt_set_qr(p, true);
  ldns_pkt_set_aa(p, true);
  ldns_pkt_set_rd(p, true);
  ldns_pkt_set_tc(p, spec.tc);
  ldns_pkt_set_rcode(p, static_cast<std::uint8_t>(spec.rcode));
  auto push = [&](ldns_pkt_section section, const std::string& text) {
    ldns_rr* rr = nullptr;
    const auto st = section == LDNS_SECTION_QUESTION
                        ? ldns_rr_new_question_frm_str(&rr, text.c_str(), nullptr, nullptr)
                        : ldns_rr_new_frm_str(&rr, text.c_str(), 0, nullptr, nullptr);
    if (st != LDNS_STATUS_OK) throw std::runtime_error("bad test RR: " + text);
    ldns_pkt_push_rr(p, section, rr);
  };
  push(LDNS_SECTION_QUESTION, std::string(qname) + " IN SRV");
  for (const auto& rr : spec.answer) push(LDNS_SECTION_ANSWER, rr);
  for (const auto& rr : spec.authority) push(LDNS_SECTION_AUTHORITY, rr);
  for (const auto& rr : spec.additional) push(LDNS_SECTION_ADDITIONAL, rr);
  std::uint8_t* raw = nullptr;
  std::size_t size = 0;
  const auto st = ldns_pkt2wire(&raw, p, &size);
  ldns_pkt_free(p);
  if (st != LDNS_STATUS_OK) throw std::runtime_error("ldns_pkt2wire failed");
  Bytes out(raw, raw + size);
  std::free(raw);
  return out;
}

TEST(ParseSrvResponse, NxdomainIsAnEmptySuccess) {
  const auto wire = build({.rcode = LDNS_RCODE_NXDOMAIN,
                           .authority = {"consul. 0 IN SOA ns.consul. hostmaster.consul. 1 3600 "
                                         "600 86400 0"}});
  auto a = parse_srv_response(wire);
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->records.empty());
  EXPECT_TRUE(a->additional.empty());
}

TEST(ParseSrvResponse, NoerrorWithoutRecordsIsAnEmptySuccess) {
  auto a = parse_srv_response(build({}));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->records.empty());
  EXPECT_FALSE(a->truncated);
}

class ParseSrvFailure : public testing::TestWithParam<std::pair<ldns_pkt_rcode, const char*>> {};

TEST_P(ParseSrvFailure, NamesTheRcode) {
  const auto& [rcode, name] = GetParam();
  auto a = parse_srv_response(build({.rcode = rcode}));
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().code, make_error_code(Errc::dns_error));
  EXPECT_NE(a.error().message.find(name), std::string::npos) << a.error().message;
}

INSTANTIATE_TEST_SUITE_P(Rcodes, ParseSrvFailure,
                         testing::Values(std::pair{LDNS_RCODE_SERVFAIL, "SERVFAIL"},
                                         std::pair{LDNS_RCODE_REFUSED, "REFUSED"},
                                         std::pair{LDNS_RCODE_FORMERR, "FORMERR"},
                                         std::pair{LDNS_RCODE_NOTIMPL, "NOTIMP"},
                                         std::pair{LDNS_RCODE_NOTAUTH, "NOTAUTH"},
                                         std::pair{static_cast<ldns_pkt_rcode>(11), "rcode 11"}));

TEST(ParseSrvResponse, TwoHundredRecordsWithAddresses) {
  PacketSpec spec;
  for (int i = 0; i < 200; ++i) {
    const auto target = "node-" + std::to_string(i) + ".node.dc1.consul.";
    spec.answer.push_back("web.service.consul. 0 IN SRV 1 1 " + std::to_string(20000 + i) + " " +
                          target);
    spec.additional.push_back(target + " 0 IN A 10.0." + std::to_string(i / 250) + "." +
                              std::to_string(i % 250 + 1));
  }
  const auto wire = build(spec);
  ASSERT_GT(wire.size(), 4096u);  // more than even an EDNS0 UDP answer carries
  auto a = parse_srv_response(wire);
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_EQ(a->records.size(), 200u);
  ASSERT_EQ(a->additional.size(), 200u);
  for (int i = 0; i < 200; ++i) {
    EXPECT_EQ(a->records[i].port, 20000 + i);
    EXPECT_EQ(a->records[i].target, "node-" + std::to_string(i) + ".node.dc1.consul");
  }
  EXPECT_EQ(a->additional[199].address, "10.0.0.200");
}

TEST(ParseSrvResponse, TargetsLoseTheirTrailingDot) {
  auto a = parse_srv_response(build({.answer = {
                                         "web.service.consul. 0 IN SRV 1 1 4371 127.0.0.1.",
                                         "web.service.consul. 0 IN SRV 1 1 4372 host.example.",
                                         "web.service.consul. 0 IN SRV 1 1 4373 bare",
                                         "web.service.consul. 0 IN SRV 1 1 4374 .",
                                     }}));
  ASSERT_TRUE(a.ok()) << a.error().message;
  ASSERT_EQ(a->records.size(), 3u);  // "." means "no service" and is skipped
  EXPECT_EQ(a->records[0].target, "127.0.0.1");
  EXPECT_EQ(a->records[1].target, "host.example");
  EXPECT_EQ(a->records[2].target, "bare");
}

TEST(ParseSrvResponse, ConsulAddrTargetsWithAdditionalAddresses) {
  auto a = parse_srv_response(build({
      .answer = {"web.service.consul. 0 IN SRV 1 1 4371 0a000105.addr.dc1.consul.",
                 "web.service.consul. 0 IN SRV 1 1 4372 0a000106.addr.dc1.consul."},
      .additional = {"0a000105.addr.dc1.consul. 0 IN A 10.0.1.5",
                     "0a000105.addr.dc1.consul. 0 IN TXT \"consul-network-segment=\"",
                     "0a000106.addr.dc1.consul. 0 IN A 10.0.1.6"},
  }));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_EQ(a->records, (std::vector<SrvRecord>{{1, 1, 4371, "0a000105.addr.dc1.consul"},
                                                {1, 1, 4372, "0a000106.addr.dc1.consul"}}));
  EXPECT_EQ(a->additional, (std::vector<AddressRecord>{{"0a000105.addr.dc1.consul", "10.0.1.5"},
                                                       {"0a000106.addr.dc1.consul", "10.0.1.6"}}));
}

TEST(ParseSrvResponse, TruncationFlagIsKept) {
  auto a = parse_srv_response(
      build({.tc = true, .answer = {"web.service.consul. 0 IN SRV 1 1 4371 a.node.dc1.consul."}}));
  ASSERT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(a->truncated);
  EXPECT_EQ(a->records.size(), 1u);
  auto empty = parse_srv_response(build({.tc = true}));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->truncated);
}

TEST(ParseSrvResponse, LdnsBuiltPrefixesAreCleanErrors) {
  PacketSpec spec;
  for (int i = 0; i < 20; ++i) {
    const auto target = "n" + std::to_string(i) + ".node.dc1.consul.";
    spec.answer.push_back("web.service.consul. 0 IN SRV 1 1 4371 " + target);
    spec.additional.push_back(target + " 0 IN AAAA fd00::" + std::to_string(i + 1));
  }
  const auto wire = build(spec);
  ASSERT_TRUE(parse_srv_response(wire).ok());
  for (std::size_t len = 0; len < wire.size(); ++len) {
    // A fresh heap copy of exactly `len` bytes, so a sanitizer sees any read past the end.
    const Bytes prefix(wire.begin(), wire.begin() + static_cast<std::ptrdiff_t>(len));
    ASSERT_FALSE(parse_srv_response(prefix).ok()) << len;
  }
}

}  // namespace
}  // namespace convoy
