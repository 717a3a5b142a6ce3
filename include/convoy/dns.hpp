#pragma once
// SRV lookups, the way Consul's DNS interface answers them. SrvResolver is the seam the
// discovery strategy is tested through; LdnsResolver is the real one (ldns, UDP with EDNS0,
// TCP when truncated). Nothing here includes <ldns/ldns.h>.
#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "convoy/result.hpp"

namespace convoy {

struct SrvRecord {
  std::uint16_t priority = 0;
  std::uint16_t weight = 0;
  std::uint16_t port = 0;
  std::string target;  // without the trailing dot
  friend auto operator<=>(const SrvRecord&, const SrvRecord&) = default;
};

// An A/AAAA record from the Additional section (Consul puts the targets' addresses there).
struct AddressRecord {
  std::string name;     // without the trailing dot
  std::string address;  // textual IPv4 / IPv6
  friend auto operator<=>(const AddressRecord&, const AddressRecord&) = default;
};

// A successful answer. NXDOMAIN and NOERROR-without-records are successes with no records:
// "the service has no healthy instance" is information, not a failure.
struct SrvAnswer {
  std::vector<SrvRecord> records;
  std::vector<AddressRecord> additional;
  bool truncated = false;  // the final answer still had TC set (should not happen after TCP)
};

// A nameserver "ip:port" ("127.0.0.1:8600", "[::1]:53"); port defaults to 53.
struct Nameserver {
  std::string ip;
  std::uint16_t port = 53;
  static Result<Nameserver> parse(std::string_view text);
  std::string to_string() const;
  friend bool operator==(const Nameserver&, const Nameserver&) = default;
};

class SrvResolver {
 public:
  virtual ~SrvResolver() = default;
  // Blocking; called from discovery's resolver thread, never from the event loop.
  // Errors (SERVFAIL, REFUSED, timeout, unparseable answer) carry Errc::dns_error.
  virtual Result<SrvAnswer> resolve(const std::string& name) = 0;
};

struct LdnsResolverOptions {
  std::vector<Nameserver> nameservers{};    // empty: the system resolver (/etc/resolv.conf)
  std::chrono::milliseconds timeout{2000};  // per query attempt
  int retries = 1;                          // extra attempts per nameserver
  std::uint16_t edns_buffer = 4096;         // 0: plain UDP without EDNS0 (Caravan's way)
};

// Queries each nameserver in turn until one answers (an answer, NXDOMAIN included, ends the
// walk); retries over TCP when a UDP answer comes back truncated.
// SERVFAIL, REFUSED, a timeout or a malformed answer move on to the next nameserver; when all
// fail, the dns_error names each nameserver with its failure. One resolve() blocks at most
// about nameservers x (retries+1) x timeout, plus up to 2 x timeout (one TCP connect + read)
// for each nameserver that answered with TC set.
// Thread-safety: use one resolver object from one thread at a time (discovery's resolver
// thread). It keeps no ldns state between calls, so a failed query never poisons later ones.
// Bad options (timeout outside 1 ms..1 h, retries outside 0..254, a nameserver that is not
// an IP address or has port 0) are invalid_argument; so is an unparseable name in resolve().
Result<std::unique_ptr<SrvResolver>> make_ldns_resolver(LdnsResolverOptions options);

// Parses a DNS response in wire format into an SrvAnswer (or a dns_error for SERVFAIL,
// REFUSED, malformed packets). Exposed for tests with canned packets.
Result<SrvAnswer> parse_srv_response(std::span<const std::uint8_t> wire);

}  // namespace convoy
