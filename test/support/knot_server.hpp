#pragma once
// KnotServer: a real authoritative DNS server (Knot DNS, `knotd`) on 127.0.0.1 standing in for
// Consul's DNS interface, for integration tests and the demo.
//
//   KnotServer knot(KnotServer::zone_header() +
//                   "web.service.consul. 0 IN SRV 1 1 4371 127.0.0.1.\n");
//   auto ns = convoy::Nameserver::parse(knot.address());       // "127.0.0.1:PORT"
//   knot.add_srv("web.service.consul.", 4372, "127.0.0.1.");   // visible on return
//   knot.remove_srv("web.service.consul.", 4371, "127.0.0.1.");
//   knot.stop();     // the port goes silent: UDP queries time out, TCP is refused
//   knot.restart();  // same port, same data (runtime changes included)
//
// What Knot does that a test may care about:
// - Answers over UDP larger than 512 bytes (no EDNS0) or than 1232 bytes (EDNS0, Knot's
//   default udp-max-payload, whatever buffer the client advertises) come back with TC set
//   and an empty answer section; TCP carries everything. Consul instead drops records
//   silently (see ldns-testns in dns_resolver_test.cpp for that behaviour).
// - In-zone SRV targets get their A/AAAA records in the Additional section, as Consul does.
// - Semantic checks are off, so a target of "127.0.0.1." (the host part of a BEAM node name
//   such as app-4371@127.0.0.1) is accepted.
// - An unknown name under the zone is NXDOMAIN with the SOA; $TTL 0 keeps caches out of it.
//
// Every wait is bounded; failures throw std::runtime_error carrying knotd's or knotc's output.
// knotd runs in its own process group and is SIGKILLed on destruction; the scratch directory
// (config, zone file, journal, control socket) is removed unless CONVOY_KEEP_LOGS is set.
// Not thread-safe: drive one KnotServer from one thread.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "harness.hpp"

namespace convoy::test {

class KnotServer {
 public:
  struct Options {
    std::string zone = "consul.";  // the zone's apex; zone_text is its zone file
    std::uint16_t port = 0;        // 0: a port free for both TCP and UDP
    bool ipv6 = false;             // also listen on [::1]:port
    std::chrono::milliseconds start_limit{15000};
  };

  // One runtime change; see update().
  struct Change {
    enum class Op { set, unset };
    Op op = Op::set;
    std::string owner{};  // absolute ("web.service.consul.") or relative to the zone
    std::string type{};   // "SRV", "A", ...; empty with unset: every type at owner
    std::string rdata{};  // "1 1 4371 127.0.0.1."; empty with unset: the whole RRset
    std::uint32_t ttl = 0;
  };

  // Writes the config (knot.conf.in next to this file, filled in) and `zone_text`
  // (zone-file syntax; $ORIGIN defaults to the zone),
  // starts knotd and returns once the zone is served over UDP and TCP.
  explicit KnotServer(const std::string& zone_text, Options options);
  explicit KnotServer(const std::string& zone_text) : KnotServer(zone_text, Options{}) {}
  ~KnotServer();
  KnotServer(const KnotServer&) = delete;
  KnotServer& operator=(const KnotServer&) = delete;

  std::uint16_t port() const { return port_; }
  std::string address() const;       // "127.0.0.1:PORT", Nameserver::parse syntax
  std::string address_ipv6() const;  // "[::1]:PORT" (only served with Options::ipv6)
  const std::string& zone() const { return options_.zone; }
  const std::filesystem::path& dir() const { return dir_; }

  // Applies `changes` as one transaction (knotc zone-begin, zone-set / zone-unset for each,
  // zone-commit; zone-abort if any step fails). The SOA serial is bumped by Knot. Changes are
  // journaled, so they survive stop()/restart() and a crash. Throws if knotd is not running
  // or rejects a change (e.g. unsetting a record that does not exist).
  void update(const std::vector<Change>& changes);
  void zone_set(const std::string& owner, const std::string& type, const std::string& rdata,
                std::uint32_t ttl = 0);
  void zone_unset(const std::string& owner, const std::string& type = "",
                  const std::string& rdata = "");
  // Consul-shaped shorthands: `service` is the full SRV owner ("web.service.consul."),
  // priority and weight 1 like Consul.
  void add_srv(const std::string& service, std::uint16_t port, const std::string& target);
  void remove_srv(const std::string& service, std::uint16_t port, const std::string& target);

  // SIGTERM, up to 5 s for a clean exit, then SIGKILL to the group. Idempotent.
  void stop();
  // stop() if running, then start again on the same port with the zone as last committed.
  void restart();
  bool running();
  // Everything knotd logged since it was last started.
  std::string log() const;

  // "$ORIGIN zone\n$TTL 0\n" plus SOA (negative TTL 0, as Consul), NS and the NS's A record:
  // what a zone needs before its SRV records.
  static std::string zone_header(const std::string& zone = "consul.");

 private:
  void start();
  // Runs knotc against this server's control socket; its output, or throws.
  std::string knotc(const std::vector<std::string>& args, bool check = true);

  Options options_;
  std::uint16_t port_ = 0;
  std::filesystem::path dir_;
  std::optional<Process> process_;
};

}  // namespace convoy::test
