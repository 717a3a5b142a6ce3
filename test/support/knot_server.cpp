#include "knot_server.hpp"

#include <signal.h>
#include <stdlib.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace convoy::test {
namespace {

std::filesystem::path make_temp_dir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "convoy-knot-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  return tmpl;
}

void write_file(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + p.string());
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + p.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// `text` with every placeholder replaced; throws if one is left that `values` does not name.
std::string fill_template(std::string text,
                          const std::vector<std::pair<std::string, std::string>>& values) {
  for (const auto& [key, value] : values) {
    for (auto at = text.find(key); at != std::string::npos;
         at = text.find(key, at + value.size())) {
      text.replace(at, key.size(), value);
    }
  }
  static const std::regex left("@[A-Z_]+@");
  if (std::smatch m; std::regex_search(text, m, left)) {
    throw std::runtime_error("knot.conf template: nothing fills in " + m.str());
  }
  return text;
}

std::string zone_file_name(const std::string& zone) {
  std::string name = zone;
  while (!name.empty() && name.back() == '.') name.pop_back();
  return (name.empty() ? "root" : name) + ".zone";
}

// A port free for TCP (what free_port checks) that no UDP socket holds either.
std::uint16_t free_dns_port() {
  for (int attempt = 0; attempt < 20; ++attempt) {
    const auto port = free_port();
    if (!is_udp_bound(port)) return port;
  }
  throw std::runtime_error("no port free for both TCP and UDP");
}

}  // namespace

KnotServer::KnotServer(const std::string& zone_text, Options options)
    : options_(std::move(options)), dir_(make_temp_dir()) {
  try {
    port_ = options_.port != 0 ? options_.port : free_dns_port();
    std::filesystem::create_directory(dir_ / "db");  // knotd does not create it
    std::string listen = "127.0.0.1@" + std::to_string(port_);
    if (options_.ipv6) listen += ", ::1@" + std::to_string(port_);
    const std::string conf = fill_template(read_file(CONVOY_KNOT_CONF_TEMPLATE),
                                           {{"@DIR@", dir_.string()},
                                            {"@LISTEN@", listen},
                                            {"@ZONE@", options_.zone},
                                            {"@ZONE_FILE@", zone_file_name(options_.zone)}});
    write_file(dir_ / "knot.conf", conf);
    std::string text = zone_text;
    if (text.find("$ORIGIN") == std::string::npos) text = "$ORIGIN " + options_.zone + "\n" + text;
    write_file(dir_ / zone_file_name(options_.zone), text);
    start();
  } catch (...) {
    process_.reset();
    if (std::getenv("CONVOY_KEEP_LOGS") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
    }
    throw;
  }
}

KnotServer::~KnotServer() {
  process_.reset();  // SIGKILL to the group, then reap
  if (std::getenv("CONVOY_KEEP_LOGS") == nullptr) {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

std::string KnotServer::address() const { return "127.0.0.1:" + std::to_string(port_); }
std::string KnotServer::address_ipv6() const { return "[::1]:" + std::to_string(port_); }

void KnotServer::start() {
  // A stale pidfile naming a live unrelated process would make knotd refuse to start.
  std::error_code ec;
  std::filesystem::remove(dir_ / "knot.pid", ec);
  process_.emplace(std::vector<std::string>{"knotd", "-c", (dir_ / "knot.conf").string()});
  const auto deadline = std::chrono::steady_clock::now() + options_.start_limit;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(deadline -
                                                                 std::chrono::steady_clock::now());
  };
  bool ready = wait_udp_bound(port_, left()) && wait_listening(port_, left());
  // Sockets come before the zone is loaded; the zone is served once knotc can read its SOA.
  while (ready) {
    if (!process_->running()) {
      ready = false;
      break;
    }
    if (knotc({"zone-read", options_.zone, "@", "SOA"}, false).find(" SOA ") != std::string::npos) {
      break;
    }
    if (left().count() <= 0) {
      ready = false;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!ready) {
    const std::string output = log();
    process_.reset();
    throw std::runtime_error("knotd did not start on port " + std::to_string(port_) + ":\n" +
                             output);
  }
}

void KnotServer::stop() {
  if (!process_) return;
  process_->signal(SIGTERM);
  if (!process_->wait(std::chrono::seconds(5))) process_->kill_group();
  process_.reset();
}

void KnotServer::restart() {
  stop();
  start();
}

bool KnotServer::running() { return process_ && process_->running(); }

std::string KnotServer::log() const { return process_ ? process_->output() : std::string(); }

std::string KnotServer::knotc(const std::vector<std::string>& args, bool check) {
  std::vector<std::string> argv{
      "knotc", "-c", (dir_ / "knot.conf").string(), "-s", (dir_ / "knot.sock").string(), "-t", "5"};
  argv.insert(argv.end(), args.begin(), args.end());
  Process p(argv);
  const auto code = p.wait(std::chrono::seconds(10));
  const std::string out = p.output();
  if (check && code != 0) {
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    throw std::runtime_error("knotc" + cmd + " failed (" +
                             (code ? "exit " + std::to_string(*code) : std::string("timeout")) +
                             "): " + out);
  }
  return out;
}

void KnotServer::update(const std::vector<Change>& changes) {
  if (!running()) throw std::runtime_error("KnotServer::update: knotd is not running");
  knotc({"zone-begin", options_.zone});
  try {
    for (const auto& c : changes) {
      std::vector<std::string> args{c.op == Change::Op::set ? "zone-set" : "zone-unset",
                                    options_.zone, c.owner};
      if (c.op == Change::Op::set) args.push_back(std::to_string(c.ttl));
      if (!c.type.empty()) args.push_back(c.type);
      if (!c.rdata.empty()) args.push_back(c.rdata);
      knotc(args);
    }
    knotc({"zone-commit", options_.zone});
  } catch (...) {
    knotc({"zone-abort", options_.zone}, false);
    throw;
  }
}

void KnotServer::zone_set(const std::string& owner, const std::string& type,
                          const std::string& rdata, std::uint32_t ttl) {
  update({Change{Change::Op::set, owner, type, rdata, ttl}});
}

void KnotServer::zone_unset(const std::string& owner, const std::string& type,
                            const std::string& rdata) {
  update({Change{Change::Op::unset, owner, type, rdata, 0}});
}

void KnotServer::add_srv(const std::string& service, std::uint16_t port,
                         const std::string& target) {
  zone_set(service, "SRV", "1 1 " + std::to_string(port) + " " + target);
}

void KnotServer::remove_srv(const std::string& service, std::uint16_t port,
                            const std::string& target) {
  zone_unset(service, "SRV", "1 1 " + std::to_string(port) + " " + target);
}

std::string KnotServer::zone_header(const std::string& zone) {
  return "$ORIGIN " + zone + "\n$TTL 0\n" + "@ IN SOA ns." + zone + " hostmaster." + zone +
         " 1 3600 600 86400 0\n" + "@ IN NS ns." + zone + "\n" + "ns." + zone + " IN A 127.0.0.1\n";
}

}  // namespace convoy::test
