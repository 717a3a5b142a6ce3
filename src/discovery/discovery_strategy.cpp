#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <stdexcept>
#include <utility>

#include "convoy/discovery.hpp"

namespace convoy {
namespace {

// Consul's "<hex-ip>.addr.<dc>.consul" targets: 8 hex digits for IPv4, 32 for IPv6.
std::optional<std::string> decode_addr_target(std::string_view target) {
  const auto dot = target.find('.');
  if (dot == std::string_view::npos || target.substr(dot, 6) != ".addr.") return std::nullopt;
  const auto hex = target.substr(0, dot);
  if ((hex.size() != 8 && hex.size() != 32) ||
      !std::all_of(hex.begin(), hex.end(), [](char c) { return std::isxdigit(c); })) {
    return std::nullopt;
  }
  auto byte = [&](std::size_t i) {
    return std::stoi(std::string(hex.substr(2 * i, 2)), nullptr, 16);
  };
  if (hex.size() == 8) return fmt::format("{}.{}.{}.{}", byte(0), byte(1), byte(2), byte(3));
  std::string out;
  for (std::size_t i = 0; i < 16; i += 2) {
    if (!out.empty()) out += ':';
    out += fmt::format("{:x}", (byte(i) << 8) | byte(i + 1));
  }
  return out;
}

}  // namespace

std::string DnsSrvOptions::query_name() const {
  if (consul_service.find('.') != std::string::npos) return consul_service;
  return consul_service + ".service.consul";
}

Status DnsSrvOptions::validate() const {
  if (consul_service.empty()) return make_error(Errc::invalid_argument, "consul_service is empty");
  if (node_sname.empty()) return make_error(Errc::invalid_argument, "node_sname is empty");
  if (auto n = NodeName::from_parts(node_sname, 1, "h"); !n) {
    return make_error(
        Errc::invalid_argument,
        fmt::format("node_sname '{}' cannot form node names: {}", node_sname, n.error().message));
  }
  if (poll_interval < std::chrono::milliseconds(10)) {
    return make_error(Errc::invalid_argument, "poll_interval must be at least 10 ms");
  }
  if (prune_after < 0) return make_error(Errc::invalid_argument, "prune_after must be >= 0");
  if (backoff_initial <= std::chrono::milliseconds(0) || backoff_max < backoff_initial) {
    return make_error(Errc::invalid_argument, "backoff needs 0 < initial <= max");
  }
  return {};
}

DnsSrvStrategy::DnsSrvStrategy(DnsSrvOptions options, NodeName self, std::uint64_t seed)
    : options_(std::move(options)), self_(std::move(self)), rng_(seed) {}

void DnsSrvStrategy::retune(const DnsSrvOptions& options) {
  if (options.consul_service != options_.consul_service ||
      options.node_sname != options_.node_sname || options.host_from != options_.host_from) {
    throw std::logic_error("DnsSrvStrategy::retune: the peers' names cannot change");
  }
  options_ = options;
}

Result<NodeName> DnsSrvStrategy::peer_name(const SrvRecord& r, const SrvAnswer& answer) const {
  std::string host = r.target;
  if (options_.host_from == HostFrom::address) {
    if (auto ip = decode_addr_target(r.target)) {
      host = *ip;
    } else {
      const auto it = std::find_if(answer.additional.begin(), answer.additional.end(),
                                   [&](const AddressRecord& a) { return a.name == r.target; });
      if (it == answer.additional.end()) {
        return make_error(
            Errc::invalid_argument,
            fmt::format("no address for SRV target '{}' (host_from = address)", r.target));
      }
      host = it->address;
    }
  }
  return NodeName::from_parts(options_.node_sname, r.port, host);
}

bool DnsSrvStrategy::may_dial(const Peer& p, time_point now) const {
  return !p.dialling && (!p.retry_at || now >= *p.retry_at);
}

DnsSrvStrategy::Plan DnsSrvStrategy::on_answer(const Result<SrvAnswer>& answer,
                                               const IsConnected& connected, time_point now) {
  Plan plan;
  if (!answer) {
    // A failed lookup says nothing about membership: keep every link, log once per outage.
    if (!outage_) {
      outage_ = true;
      plan.log_warn.push_back(
          fmt::format("DNS lookup of {} failed: {}; keeping {} known peer(s) until it recovers",
                      options_.query_name(), answer.error().message, peers_.size()));
    }
    return plan;
  }
  if (outage_) {
    outage_ = false;
    plan.log_info.push_back(fmt::format("DNS lookup of {} works again", options_.query_name()));
  }
  std::set<std::string> seen;
  for (const auto& r : answer->records) {
    auto name = peer_name(r, *answer);
    if (!name) {
      auto text = fmt::format("{} {} {} {}", r.priority, r.weight, r.port, r.target);
      if (rejected_.insert(text).second) {
        plan.log_warn.push_back(
            fmt::format("ignoring SRV record {}: {}", text, name.error().message));
      }
      continue;
    }
    if (*name == self_) continue;
    seen.insert(name->str());
    auto [it, fresh] = peers_.try_emplace(name->str(), *name);
    it->second.missing = 0;
    it->second.listed = true;
    if (fresh) plan.log_info.push_back(fmt::format("discovered {}", name->str()));
  }
  // A successful answer is the membership: only what it lists is dialled. A peer it omits
  // keeps an existing link (until prune_after answers in a row omit it) but is never
  // redialled, and one that comes back starts afresh, without its old backoff.
  for (auto it = peers_.begin(); it != peers_.end();) {
    Peer& p = it->second;
    if (seen.contains(it->first)) {
      if (!connected(it->first) && may_dial(p, now)) {
        p.dialling = true;
        plan.connect.push_back(p.name);
      }
      ++it;
      continue;
    }
    const bool was_listed = std::exchange(p.listed, false);
    ++p.missing;
    const bool linked = connected(it->first);
    if (!linked) {
      if (was_listed) {
        plan.log_info.push_back(fmt::format("{} is no longer in {}: not dialled any more",
                                            it->first, options_.query_name()));
      }
      it = peers_.erase(it);
      continue;
    }
    if (options_.prune_after > 0 && p.missing >= options_.prune_after) {
      plan.log_info.push_back(fmt::format("{} left {} ({} answers without it): closing its link",
                                          it->first, options_.query_name(), p.missing));
      plan.disconnect.push_back(it->first);
      it = peers_.erase(it);
      continue;
    }
    if (was_listed) {
      plan.log_info.push_back(fmt::format(
          "{} is no longer in {}: its link is kept{}, but it will not be redialled", it->first,
          options_.query_name(),
          options_.prune_after > 0 ? fmt::format(" for up to {} answers", options_.prune_after)
                                   : std::string(" (prune_after = 0)")));
    }
    ++it;
  }
  return plan;
}

std::vector<NodeName> DnsSrvStrategy::due(const IsConnected& connected, time_point now) {
  std::vector<NodeName> out;
  for (auto& [name, p] : peers_) {
    if (p.listed && p.retry_at && !connected(name) && may_dial(p, now)) {
      p.dialling = true;
      out.push_back(p.name);
    }
  }
  return out;
}

std::optional<DnsSrvStrategy::time_point> DnsSrvStrategy::next_due() const {
  std::optional<time_point> next;
  for (const auto& [name, p] : peers_) {
    if (p.listed && p.retry_at && !p.dialling && (!next || *p.retry_at < *next)) next = p.retry_at;
  }
  return next;
}

void DnsSrvStrategy::on_connected(const std::string& node) {
  if (auto it = peers_.find(node); it != peers_.end()) {
    it->second.failures = 0;
    it->second.retry_at.reset();
    it->second.dialling = false;
  }
}

void DnsSrvStrategy::on_connect_failed(const std::string& node, time_point now) {
  if (auto it = peers_.find(node); it != peers_.end()) {
    Peer& p = it->second;
    p.dialling = false;
    p.retry_at = now + backoff(++p.failures);
  }
}

void DnsSrvStrategy::on_link_down(const std::string& node, time_point now) {
  auto it = peers_.find(node);
  if (it == peers_.end()) return;
  if (!it->second.listed) {
    peers_.erase(it);  // it left DNS while linked: its link was all that kept it
    return;
  }
  if (!it->second.dialling) {
    it->second.retry_at = now + backoff(++it->second.failures);
  }
}

std::chrono::milliseconds DnsSrvStrategy::backoff(int failures) {
  const auto cap = options_.backoff_max.count();
  long long d = options_.backoff_initial.count();
  for (int i = 1; i < failures && d < cap; ++i) d *= 2;
  d = std::min<long long>(d, cap);
  // Jitter spreads the reconnects of many nodes that lost the same peer at the same moment.
  std::uniform_int_distribution<long long> jitter(d / 2, d);
  return std::chrono::milliseconds(jitter(rng_));
}

std::vector<std::string> DnsSrvStrategy::known_peers() const {
  std::vector<std::string> out;
  for (const auto& [name, p] : peers_) {
    if (p.listed) out.push_back(name);
  }
  return out;
}

}  // namespace convoy
