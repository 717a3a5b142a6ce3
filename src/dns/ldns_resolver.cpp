// The ldns adapter: the only library file that includes <ldns/ldns.h>. It turns ldns packets into
// SrvAnswer values and ldns statuses into one-line dns_error messages, so nothing above it
// sees an ldns type or error code.

// <stdbool.h> must precede ldns: without it, ldns/common.h #defines bool, true and false as
// macros, which breaks standard headers included after it (<optional>'s operator<=>).
// clang-format off
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)
#include <ldns/ldns.h>
// clang-format on

#include <arpa/inet.h>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "convoy/dns.hpp"

namespace convoy {
namespace {

struct PktFree {
  void operator()(ldns_pkt* p) const noexcept { ldns_pkt_free(p); }
};
struct RdfFree {
  void operator()(ldns_rdf* r) const noexcept { ldns_rdf_deep_free(r); }
};
struct ResolverFree {
  void operator()(ldns_resolver* r) const noexcept { ldns_resolver_deep_free(r); }
};
struct CFree {
  void operator()(void* p) const noexcept { std::free(p); }
};
using PktPtr = std::unique_ptr<ldns_pkt, PktFree>;
using RdfPtr = std::unique_ptr<ldns_rdf, RdfFree>;
using ResolverPtr = std::unique_ptr<ldns_resolver, ResolverFree>;
using CString = std::unique_ptr<char, CFree>;

Error dns_error(std::string message) { return make_error(Errc::dns_error, std::move(message)); }

std::string strip_root_dot(std::string name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  return name;
}

// ldns_rdf2str allocates; an rdf it cannot print (never seen for A/AAAA/DNAME) yields "".
std::string rdf_text(const ldns_rdf* rdf) {
  if (rdf == nullptr) return {};
  CString s(ldns_rdf2str(rdf));
  return s ? std::string(s.get()) : std::string();
}

std::string rcode_name(unsigned rcode) {
  switch (rcode) {
    case LDNS_RCODE_FORMERR:
      return "FORMERR";
    case LDNS_RCODE_SERVFAIL:
      return "SERVFAIL";
    case LDNS_RCODE_NOTIMPL:
      return "NOTIMP";
    case LDNS_RCODE_REFUSED:
      return "REFUSED";
    case LDNS_RCODE_YXDOMAIN:
      return "YXDOMAIN";
    case LDNS_RCODE_YXRRSET:
      return "YXRRSET";
    case LDNS_RCODE_NXRRSET:
      return "NXRRSET";
    case LDNS_RCODE_NOTAUTH:
      return "NOTAUTH";
    case LDNS_RCODE_NOTZONE:
      return "NOTZONE";
    default:
      return fmt::format("rcode {}", rcode);
  }
}

// The decoding shared by parse_srv_response (canned bytes) and the resolver (packets ldns
// already decoded), so tests of the former cover the latter.
Result<SrvAnswer> answer_from_pkt(const ldns_pkt& pkt) {
  if (!ldns_pkt_qr(&pkt)) return dns_error("malformed DNS answer (a query, QR bit clear)");
  if (ldns_pkt_get_opcode(&pkt) != LDNS_PACKET_QUERY) {
    return dns_error(fmt::format("malformed DNS answer (opcode {})",
                                 static_cast<int>(ldns_pkt_get_opcode(&pkt))));
  }
  // EDNS0 extends the 4-bit header rcode with 8 more bits (BADVERS and friends).
  const unsigned rcode = (unsigned{ldns_pkt_edns_extended_rcode(&pkt)} << 4) |
                         static_cast<unsigned>(ldns_pkt_get_rcode(&pkt));
  SrvAnswer answer;
  answer.truncated = ldns_pkt_tc(&pkt);
  if (rcode == LDNS_RCODE_NXDOMAIN) return answer;
  if (rcode != LDNS_RCODE_NOERROR) {
    return dns_error(fmt::format("DNS server answered {}", rcode_name(rcode)));
  }
  if (const ldns_rr_list* rrs = ldns_pkt_answer(&pkt)) {
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(rrs); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(rrs, i);
      // CNAMEs (and anything else) may precede the SRV set; only the SRVs name instances.
      if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SRV || ldns_rr_rd_count(rr) != 4) continue;
      const ldns_rdf* target = ldns_rr_rdf(rr, 3);
      if (ldns_rdf_get_type(target) != LDNS_RDF_TYPE_DNAME) continue;
      SrvRecord rec;
      rec.priority = ldns_rdf2native_int16(ldns_rr_rdf(rr, 0));
      rec.weight = ldns_rdf2native_int16(ldns_rr_rdf(rr, 1));
      rec.port = ldns_rdf2native_int16(ldns_rr_rdf(rr, 2));
      rec.target = strip_root_dot(rdf_text(target));
      // RFC 2782: a target of "." means "no service here", not a host called "".
      if (rec.target.empty()) continue;
      answer.records.push_back(std::move(rec));
    }
  }
  if (const ldns_rr_list* rrs = ldns_pkt_additional(&pkt)) {
    for (std::size_t i = 0; i < ldns_rr_list_rr_count(rrs); ++i) {
      const ldns_rr* rr = ldns_rr_list_rr(rrs, i);
      const auto type = ldns_rr_get_type(rr);
      if ((type != LDNS_RR_TYPE_A && type != LDNS_RR_TYPE_AAAA) || ldns_rr_rd_count(rr) != 1) {
        continue;
      }
      answer.additional.push_back(
          AddressRecord{strip_root_dot(rdf_text(ldns_rr_owner(rr))), rdf_text(ldns_rr_rdf(rr, 0))});
    }
  }
  return answer;
}

class LdnsResolver final : public SrvResolver {
 public:
  explicit LdnsResolver(LdnsResolverOptions options) : options_(std::move(options)) {}

  // Stateless between calls: every query builds fresh ldns resolvers, one per nameserver.
  // ldns marks a nameserver "unreachable" in the resolver after one failed send and then
  // refuses to use it again ("no (valid) nameservers"); a resolver that outlives one query
  // would turn a DNS blip into a permanent failure.
  Result<SrvAnswer> resolve(const std::string& name) override {
    PktPtr query = name.empty() ? nullptr : make_query(name);
    if (!query) {
      return make_error(Errc::invalid_argument, fmt::format("invalid DNS name '{}'", name));
    }
    auto servers = options_.nameservers;
    if (servers.empty()) {
      auto system = system_nameservers();
      if (!system) return system.error();
      servers = std::move(*system);
    }
    std::string failures;
    for (const auto& ns : servers) {
      auto answer = query_one(name, *query, ns);
      if (answer) return answer;
      spdlog::debug("dns: {} for {}: {}", ns.to_string(), name, answer.error().message);
      failures += fmt::format("{}{}: {}", failures.empty() ? "" : "; ", ns.to_string(),
                              answer.error().message);
    }
    return dns_error(fmt::format("SRV lookup of {} failed: {}", name, failures));
  }

 private:
  // /etc/resolv.conf is read per query so that a container whose resolver changes at
  // runtime is followed, as libc does.
  static Result<std::vector<Nameserver>> system_nameservers() {
    ldns_resolver* raw = nullptr;
    const ldns_status st = ldns_resolver_new_frm_file(&raw, nullptr);
    ResolverPtr r(raw);
    if (st != LDNS_STATUS_OK || !r) {
      return dns_error(fmt::format("cannot read the system resolver configuration: {}",
                                   ldns_get_errorstr_by_id(st)));
    }
    std::vector<Nameserver> out;
    ldns_rdf** addrs = ldns_resolver_nameservers(r.get());
    for (std::size_t i = 0; i < ldns_resolver_nameserver_count(r.get()); ++i) {
      out.push_back(Nameserver{rdf_text(addrs[i]), ldns_resolver_port(r.get())});
    }
    if (out.empty()) return dns_error("the system resolver configuration lists no nameserver");
    return out;
  }

  Result<ResolverPtr> make_resolver(const Nameserver& ns) const {
    const bool v6 = ns.ip.find(':') != std::string::npos;
    RdfPtr addr(ldns_rdf_new_frm_str(v6 ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A, ns.ip.c_str()));
    if (!addr) return dns_error(fmt::format("nameserver '{}' is not an IP address", ns.ip));
    ResolverPtr r(ldns_resolver_new());
    if (!r || ldns_resolver_push_nameserver(r.get(), addr.get()) != LDNS_STATUS_OK) {
      return dns_error("out of memory creating an ldns resolver");
    }
    ldns_resolver_set_port(r.get(), ns.port);
    ldns_resolver_set_recursive(r.get(), true);
    const auto ms = options_.timeout.count();
    ldns_resolver_set_timeout(r.get(), timeval{static_cast<time_t>(ms / 1000),
                                               static_cast<suseconds_t>((ms % 1000) * 1000)});
    // retrans is a sleep(seconds) between nameservers; we walk them ourselves.
    ldns_resolver_set_retrans(r.get(), 0);
    // ldns' own TC fallback would add EDNS0 to a query that had none (hiding Caravan's
    // behaviour the edns_buffer=0 option exists to reproduce); we retry over TCP ourselves.
    ldns_resolver_set_fallback(r.get(), false);
    ldns_resolver_set_random(r.get(), false);
    ldns_resolver_set_fail(r.get(), false);
    ldns_resolver_set_usevc(r.get(), false);
    ldns_resolver_set_edns_udp_size(r.get(), options_.edns_buffer);
    return r;
  }

  PktPtr make_query(const std::string& name) const {
    ldns_rdf* qname = ldns_dname_new_frm_str(name.c_str());
    if (qname == nullptr) return nullptr;
    // ldns_pkt_query_new takes ownership of qname.
    PktPtr q(ldns_pkt_query_new(qname, LDNS_RR_TYPE_SRV, LDNS_RR_CLASS_IN, LDNS_RD));
    if (!q) return nullptr;
    if (options_.edns_buffer != 0) ldns_pkt_set_edns_udp_size(q.get(), options_.edns_buffer);
    return q;
  }

  std::string send_failure(ldns_status st, bool tcp, int attempts) const {
    const char* transport = tcp ? "TCP" : "UDP";
    switch (st) {
      case LDNS_STATUS_NETWORK_ERR:
        return fmt::format("no {} answer in {} attempt{} of {} ms", transport, attempts,
                           attempts == 1 ? "" : "s", options_.timeout.count());
      case LDNS_STATUS_ERR:
      case LDNS_STATUS_SOCKET_ERROR:
        return tcp ? "TCP connection failed" : "UDP send failed";
      default:
        // Whatever else ldns_send reports comes from decoding the bytes that came back.
        return fmt::format("malformed DNS answer over {} ({})", transport,
                           ldns_get_errorstr_by_id(st));
    }
  }

  Result<SrvAnswer> exchange(ldns_resolver* r, const ldns_pkt& query, bool tcp) const {
    // ldns' "retry" counts attempts, not extra ones. UDP datagrams get lost, so UDP gets
    // every attempt; TCP only follows a UDP answer from the same server, which is alive, and
    // one attempt keeps the TC path within ~2 timeouts (connect, then read) of the UDP walk.
    const int attempts = tcp ? 1 : options_.retries + 1;
    ldns_resolver_set_retry(r, static_cast<std::uint8_t>(attempts));
    ldns_resolver_set_usevc(r, tcp);
    ldns_pkt* raw = nullptr;
    const ldns_status st = ldns_send(&raw, r, &query);
    PktPtr reply(raw);
    if (st != LDNS_STATUS_OK || !reply) return dns_error(send_failure(st, tcp, attempts));
    // ldns reads UDP from an unconnected socket and does not match the reply to the query.
    if (ldns_pkt_id(reply.get()) != ldns_pkt_id(&query)) {
      return dns_error(fmt::format("answer over {} has ID {} instead of {}", tcp ? "TCP" : "UDP",
                                   ldns_pkt_id(reply.get()), ldns_pkt_id(&query)));
    }
    return answer_from_pkt(*reply);
  }

  Result<SrvAnswer> query_one(const std::string& name, ldns_pkt& query,
                              const Nameserver& ns) const {
    auto r = make_resolver(ns);
    if (!r) return r.error();
    // A fresh unpredictable ID per nameserver, as stub resolvers do.
    ldns_pkt_set_random_id(&query);
    auto answer = exchange(r->get(), query, false);
    if (!answer || !answer->truncated) return answer;
    // Only the TC bit says more records exist; Consul without EDNS0 drops records silently.
    spdlog::debug("dns: {} truncated the UDP answer for {}, retrying over TCP", ns.to_string(),
                  name);
    auto over_tcp = exchange(r->get(), query, true);
    if (!over_tcp) {
      return dns_error(fmt::format("UDP answer truncated and the TCP retry failed: {}",
                                   over_tcp.error().message));
    }
    return over_tcp;
  }

  LdnsResolverOptions options_;
};

}  // namespace

Result<SrvAnswer> parse_srv_response(std::span<const std::uint8_t> wire) {
  ldns_pkt* raw = nullptr;
  const ldns_status st = ldns_wire2pkt(&raw, wire.data(), wire.size());
  PktPtr pkt(raw);
  if (st != LDNS_STATUS_OK || !pkt) {
    return dns_error(fmt::format("malformed DNS answer ({} bytes: {})", wire.size(),
                                 ldns_get_errorstr_by_id(st)));
  }
  return answer_from_pkt(*pkt);
}

Result<std::unique_ptr<SrvResolver>> make_ldns_resolver(LdnsResolverOptions options) {
  // ldns turns the timeout into poll()'s int milliseconds; an hour is far beyond any use.
  if (options.timeout.count() <= 0 || options.timeout > std::chrono::hours(1)) {
    return make_error(Errc::invalid_argument, "DNS timeout must be between 1 ms and 1 h");
  }
  if (options.retries < 0 || options.retries > 254) {
    return make_error(Errc::invalid_argument, "DNS retries must be between 0 and 254");
  }
  for (const auto& ns : options.nameservers) {
    // Re-parsing the printed form validates values built without Nameserver::parse.
    auto checked = Nameserver::parse(ns.to_string());
    if (!checked) return checked.error();
  }
  return std::unique_ptr<SrvResolver>(std::make_unique<LdnsResolver>(std::move(options)));
}

}  // namespace convoy
