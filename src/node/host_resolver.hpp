#pragma once
// HostResolver: host name lookups for dials, off the loop thread. A lookup (getaddrinfo)
// blocks for as long as the system resolver takes — 10 s and more when it is down — so it
// runs on a few worker threads and its answer is posted back to the loop. Lookups of one
// host share one request; the number of hosts waiting is bounded, and past it a lookup
// fails at once rather than queueing without end.
//
// The loop side (resolve(), the callbacks) is loop-thread only. Destroying the resolver
// drops the answers still in flight: a worker stuck in a lookup finishes it on its own and
// touches nothing of the loop afterwards.
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "convoy/result.hpp"
#include "node/event_loop.hpp"

namespace convoy::node {

class HostResolver {
 public:
  // Blocking; called on a worker thread, so it must be thread-safe.
  using Lookup = std::function<Result<std::string>(const std::string& host)>;
  using Done = std::function<void(Result<std::string> address)>;

  struct Options {
    std::size_t max_threads = 4;
    std::size_t max_hosts = 256;  // distinct hosts waiting or being looked up
  };

  HostResolver(EventLoop& loop, Lookup lookup, Options options);
  ~HostResolver();
  HostResolver(const HostResolver&) = delete;
  HostResolver& operator=(const HostResolver&) = delete;

  // `done` runs on the loop thread with the address, or why there is none — later, never
  // within this call.
  void resolve(const std::string& host, Done done);
  // Hosts waiting for or in a lookup.
  std::size_t in_flight() const { return waiting_.size(); }

 private:
  struct Shared;
  void answered(const std::string& host, Result<std::string> address);

  EventLoop& loop_;
  Options options_;
  std::shared_ptr<Shared> shared_;
  std::unordered_map<std::string, std::vector<Done>> waiting_;  // loop thread only
};

}  // namespace convoy::node
