#include "metrics.hpp"

#include <prometheus/metric_family.h>
#include <prometheus/text_serializer.h>

#include <sstream>
#include <vector>

#include "convoy/version.hpp"

namespace convoy {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

ClientMetric value_of(MetricType type, double v, std::vector<ClientMetric::Label> labels = {}) {
  ClientMetric m;
  m.label = std::move(labels);
  if (type == MetricType::Counter) {
    m.counter.value = v;
  } else {
    m.gauge.value = v;
  }
  return m;
}

class Families {
 public:
  void add(const std::string& name, MetricType type, const std::string& help, double v) {
    out_.push_back({"convoy_" + name, help, type, {value_of(type, v)}});
  }
  // One series per reason; `reasons` empty still names the family, so it is scrapeable (and
  // alertable) before the first event.
  void by_reason(const std::string& name, const std::string& help, const NodeStats::ByReason& r) {
    MetricFamily f{"convoy_" + name, help, MetricType::Counter, {}};
    for (const auto& [reason, n] : r) {
      f.metric.push_back(
          value_of(MetricType::Counter, static_cast<double>(n), {{"reason", reason}}));
    }
    out_.push_back(std::move(f));
  }
  void labelled(const std::string& name, MetricType type, const std::string& help,
                std::vector<ClientMetric> series) {
    out_.push_back({"convoy_" + name, help, type, std::move(series)});
  }
  const std::vector<MetricFamily>& families() const { return out_; }

 private:
  std::vector<MetricFamily> out_;
};

double d(std::uint64_t v) { return static_cast<double>(v); }

}  // namespace

std::string metrics_text(const MetricsSnapshot& s) {
  const NodeStats& n = s.stats;
  constexpr auto counter = MetricType::Counter;
  constexpr auto gauge = MetricType::Gauge;
  Families f;
  f.labelled("info", gauge, "The node's name and convoy's version",
             {value_of(gauge, 1, {{"node", s.node}, {"version", CONVOY_VERSION}})});
  f.add("peers_connected", gauge, "Nodes with a link up", d(n.peers_connected));
  f.add("processes", gauge, "Local processes, built-in services included", d(n.processes));
  f.add("pending_messages", gauge, "Messages waiting for a link to their peer to come up",
        d(n.pending_messages));
  f.add("pending_bytes", gauge, "Bytes of the messages waiting for a link", d(n.pending_bytes));
  f.add("links_up_total", counter, "Links that came up", d(n.links_up));
  f.by_reason("links_down_total", "Up links that went down, by reason (closed: by either side)",
              n.links_down);
  f.add("tick_timeouts_total", counter,
        "Links closed because the peer was silent past net_ticktime", d(n.tick_timeouts));
  f.add("handshakes_accepted_total", counter, "Inbound handshakes that proved the cookie",
        d(n.handshakes_accepted));
  f.by_reason("handshakes_refused_total",
              "Inbound connections that did not become links, by reason", n.handshakes_refused);
  f.by_reason("dials_failed_total", "Connections to peers that failed, by reason", n.dials_failed);
  f.add("messages_received_total", counter, "Data frames received (ticks excluded)",
        d(n.messages_in));
  f.add("messages_sent_total", counter, "Data frames sent or queued (ticks excluded)",
        d(n.messages_out));
  f.add("received_bytes_total", counter, "Bytes of the data frames received", d(n.bytes_in));
  f.add("sent_bytes_total", counter, "Bytes of the data frames sent or queued", d(n.bytes_out));
  f.add("frames_over_decode_limit_total", counter,
        "Messages over max_decoded_bytes (each closed its link)", d(n.frames_over_decode_limit));
  f.add("spoofed_frames_total", counter, "Frames dropped: their sender was not the link's node",
        d(n.spoofed_frames));
  f.labelled("read_pauses_total", counter, "Back-pressure: times reading paused",
             {value_of(counter, d(n.link_read_pauses), {{"scope", "link"}}),
              value_of(counter, d(n.node_read_pauses), {{"scope", "node"}})});
  if (s.discovery) {
    const DiscoveryStats& ds = *s.discovery;
    f.add("dns_polls_total", counter, "DNS SRV polls answered or failed", d(ds.polls));
    f.add("dns_poll_failures_total", counter, "DNS SRV polls that failed", d(ds.failures));
    f.add("dns_consecutive_failures", gauge, "DNS SRV polls failed in a row",
          d(ds.consecutive_failures));
    // Since discovery started while no poll has succeeded yet: the age only grows in an outage.
    const auto since = ds.last_success.value_or(ds.started);
    f.add("dns_last_success_age_seconds", gauge,
          "Seconds since the last successful DNS SRV poll (since start if none)",
          std::chrono::duration<double>(s.now - since).count());
    f.add("dns_known_peers", gauge, "Peers named by the last successful DNS answer",
          d(ds.known_peers));
  }
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, f.families());
  return out.str();
}

}  // namespace convoy
