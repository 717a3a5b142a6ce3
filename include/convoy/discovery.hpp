#pragma once
// Peer discovery from Consul's DNS interface, with Caravan.Cluster.DnsStrategy's semantics:
// poll SRV records for a service, name each peer "<node_sname>-<srv port>@<srv target>",
// skip ourselves, and dial every peer the last answer lists and we have no link to. Beyond
// Caravan: EDNS0/TCP so every record is seen, DNS failures change nothing (logged once per
// outage), optionally closing the links of peers that left, reconnects with capped exponential
// backoff and jitter, and hosts taken from the answer's addresses when asked to.
//
// DnsSrvStrategy is pure decision logic (no I/O, no clock of its own) so it is unit-tested
// against a fake resolver; Discovery runs it: lookups on a resolver thread, decisions and
// dials on the node's event loop.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "convoy/clock.hpp"
#include "convoy/dns.hpp"
#include "convoy/node_name.hpp"
#include "convoy/result.hpp"

namespace convoy {

class Node;

enum class HostFrom {
  target,   // the SRV target name, as Caravan does
  address,  // the target's A/AAAA record from the Additional section, or the IP encoded in
            // Consul's "HEXIP.addr.DC.consul" targets (services registered with an address)
};

struct DnsSrvOptions {
  // The SRV name queried. A bare service ("app") means Consul's "app.service.consul".
  std::string consul_service;
  std::string node_sname;               // peers are "<node_sname>-<port>@<host>"
  std::vector<Nameserver> nameservers;  // empty: the system resolver
  std::chrono::milliseconds poll_interval{5000};
  // Only peers in the last successful answer are dialled (as Caravan). prune_after decides
  // what happens to the link of a peer that answer omits: 0 keeps it (Caravan never closes
  // links); N closes it once N consecutive successful answers omitted the peer. DNS
  // failures never count.
  int prune_after = 0;
  HostFrom host_from = HostFrom::target;
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};

  // The fully qualified SRV name for consul_service.
  std::string query_name() const;
  Status validate() const;
};

class DnsSrvStrategy {
 public:
  using time_point = Clock::time_point;
  using IsConnected = std::function<bool(const std::string& node)>;

  struct Plan {
    std::vector<NodeName> connect;        // dial these now
    std::vector<std::string> disconnect;  // pruned peers with a link
    std::vector<std::string> log_warn;    // outage start, records that form no valid name
    std::vector<std::string> log_info;    // outage end, peers found / pruned
  };

  DnsSrvStrategy(DnsSrvOptions options, NodeName self, std::uint64_t seed = std::random_device{}());

  // One poll's outcome.
  Plan on_answer(const Result<SrvAnswer>& answer, const IsConnected& connected, time_point now);
  // Peers known from DNS, without a link, whose backoff has expired.
  std::vector<NodeName> due(const IsConnected& connected, time_point now);
  // When the next peer comes out of backoff, if any is waiting.
  std::optional<time_point> next_due() const;

  void on_connected(const std::string& node);
  void on_connect_failed(const std::string& node, time_point now);
  void on_link_down(const std::string& node, time_point now);

  // The backoff before attempt number `failures + 1` (failures >= 1), jitter included:
  // uniformly within [d/2, d] where d = min(max, initial * 2^(failures-1)).
  std::chrono::milliseconds backoff(int failures);

  // Peers the last successful answer named (the desired membership).
  std::vector<std::string> known_peers() const;
  bool in_outage() const noexcept { return outage_; }
  const DnsSrvOptions& options() const noexcept { return options_; }
  // Takes new options with the same consul_service, node_sname and host_from (what names
  // the peers); the others apply from the next answer or dial on.
  void retune(const DnsSrvOptions& options);

 private:
  struct Peer {
    explicit Peer(NodeName n) : name(std::move(n)) {}
    NodeName name;
    int failures = 0;
    std::optional<time_point> retry_at;  // set while backing off
    int missing = 0;                     // consecutive successful answers without it
    bool listed = true;                  // in the last successful answer; only these are dialled
    bool dialling = false;
  };
  Result<NodeName> peer_name(const SrvRecord& r, const SrvAnswer& answer) const;
  bool may_dial(const Peer& p, time_point now) const;

  DnsSrvOptions options_;
  NodeName self_;
  std::mt19937_64 rng_;
  std::map<std::string, Peer> peers_;
  std::set<std::string> rejected_;  // bad records already reported: warn once, not per poll
  bool outage_ = false;
};

// How discovery has fared, for metrics and health checks. Times are the node's clock.
struct DiscoveryStats {
  std::uint64_t polls = 0;  // answers handled, failed ones included
  std::uint64_t failures = 0;
  std::uint64_t consecutive_failures = 0;  // 0 after a successful answer
  std::optional<Clock::time_point> last_success;
  Clock::time_point started{};
  std::string last_error;       // of the last failed poll
  std::size_t known_peers = 0;  // named by the last successful answer
};

// Runs a DnsSrvStrategy against a Node: the first lookup at once, then every poll_interval.
class Discovery {
 public:
  // `resolver` defaults to an LdnsResolver over options.nameservers.
  static Result<std::unique_ptr<Discovery>> start(Node& node, DnsSrvOptions options,
                                                  std::unique_ptr<SrvResolver> resolver = {});
  ~Discovery();  // stops the resolver thread; call on the loop thread or after the loop ended
  Discovery(const Discovery&) = delete;
  Discovery& operator=(const Discovery&) = delete;

  // Loop thread only, as the Node's members.
  DiscoveryStats stats() const;
  const DnsSrvOptions& options() const;
  // Applies what may change while running: nameservers (a new resolver), poll_interval (a
  // poll at once, then at the new pace), prune_after and the backoff. Changing what names
  // the peers (consul_service, node_sname, host_from) is refused, and nothing changes.
  Status reconfigure(DnsSrvOptions options);

  struct State;

 private:
  explicit Discovery(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace convoy
