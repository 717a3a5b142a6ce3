#include "harness.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

extern char** environ;

namespace convoy::test {
namespace {

// Logs and working directory of every process one test binary starts; removed at exit
// unless CONVOY_KEEP_LOGS is set (the logs are what a failed test prints anyway).
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "convoy-it-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~ScratchDir() {
    if (std::getenv("CONVOY_KEEP_LOGS") == nullptr) {
      std::error_code ec;
      std::filesystem::remove_all(path_, ec);
    }
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

std::filesystem::path scratch_dir() {
  static const ScratchDir dir;
  return dir.path();
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string c_node_binary() {
  // CONVOY_C_NODE_UNDER_TEST runs the same tests against another build (e.g. an older one,
  // to see a regression test fail before its fix).
  if (const char* other = std::getenv("CONVOY_C_NODE_UNDER_TEST")) return other;
  return CONVOY_C_NODE_BINARY;
}
std::string fixture_ebin() { return CONVOY_FIXTURE_EBIN_DIR; }

std::uint16_t free_port() {
  // Ports handed out by the kernel for bind(0) sit in the ephemeral range; remembering what
  // we gave out avoids handing the same one to two nodes of one test.
  static std::vector<std::uint16_t> given;
  for (int attempt = 0; attempt < 100; ++attempt) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    const bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
                    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0;
    ::close(fd);
    if (!ok) continue;
    const auto port = ntohs(a.sin_port);
    if (std::find(given.begin(), given.end(), port) != given.end()) continue;
    given.push_back(port);
    return port;
  }
  throw std::runtime_error("no free port");
}

namespace {
// Scans /proc/net/<tables> for a local socket on `port`, optionally in one TCP state.
bool proc_net_has(std::initializer_list<const char*> tables, std::uint16_t port,
                  const char* state) {
  for (const char* table : tables) {
    std::ifstream in(table);
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream ls(line);
      std::string slot, local, remote, st;
      ls >> slot >> local >> remote >> st;
      const auto colon = local.rfind(':');
      if (colon == std::string::npos || (state && st != state)) continue;
      if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) return true;
    }
  }
  return false;
}
}  // namespace

bool is_listening(std::uint16_t port) {
  return proc_net_has({"/proc/net/tcp", "/proc/net/tcp6"}, port, "0A");
}

bool wait_listening(std::uint16_t port, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (is_listening(port)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return is_listening(port);
}

bool is_udp_bound(std::uint16_t port) {
  return proc_net_has({"/proc/net/udp", "/proc/net/udp6"}, port, nullptr);
}

bool wait_udp_bound(std::uint16_t port, std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (is_udp_bound(port)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return is_udp_bound(port);
}

Process::Process(std::vector<std::string> argv, std::vector<std::string> env) {
  static std::atomic<int> counter{0};
  log_ = scratch_dir() / ("proc-" + std::to_string(++counter) + ".log");
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  envs.push_back("ERL_CRASH_DUMP_SECONDS=0");
  for (auto& e : env) envs.push_back(e);
  std::vector<char*> cargv, cenv;
  for (auto& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  for (auto& e : envs) cenv.push_back(e.data());
  cenv.push_back(nullptr);
  const std::string log = log_.string();
  const std::string cwd = scratch_dir().string();
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::setpgid(0, 0);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    if (::chdir(cwd.c_str()) != 0) ::_exit(126);
    ::execvpe(cargv[0], cargv.data(), cenv.data());
    ::_exit(127);
  }
  ::setpgid(pid_, pid_);  // also from the parent, so the group exists before we might kill it
}

Process::Process(Process&& o) noexcept
    : pid_(std::exchange(o.pid_, -1)), status_(o.status_), log_(std::move(o.log_)) {}

Process::~Process() {
  if (pid_ <= 0) return;
  kill_group();
  wait(5s);
}

bool Process::running() {
  if (status_) return false;
  int st = 0;
  const pid_t r = ::waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = decode_status(st);
    return false;
  }
  return true;
}

std::optional<int> Process::wait(std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
  return status_;
}

void Process::signal(int sig) {
  if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

void Process::kill_group() {
  if (pid_ <= 0) return;
  ::kill(-pid_, SIGKILL);  // the group: erl's helpers (erl_child_setup, inet_gethost)
  ::kill(pid_, SIGKILL);
}

std::string Process::output() const { return read_file(log_); }

bool Process::wait_output(const std::string& text, std::chrono::milliseconds limit) const {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (output().find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return output().find(text) != std::string::npos;
}

std::vector<std::string> beam_flags() {
  return {"-start_epmd", "false",        "-epmd_module", "convoy_epmd",
          "-pa",         fixture_ebin(), "-kernel",      "inet_dist_use_interface",
          "{127,0,0,1}"};
}

std::vector<std::string> beam_argv(BeamNode::Kind kind, const std::string& name,
                                   const std::string& expr, const std::vector<std::string>& extra,
                                   const std::string& cookie) {
  std::vector<std::string> flags = beam_flags();
  flags.insert(flags.end(), extra.begin(), extra.end());
  if (kind == BeamNode::Kind::erlang) {
    std::vector<std::string> argv{"erl", "-name", name, "-setcookie", cookie, "-noshell"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    argv.insert(argv.end(), {"-eval", expr});
    return argv;
  }
  // elixir passes --erl on to erl word-split, so no flag may hold a space.
  std::string erl_flags;
  for (auto& f : flags) erl_flags += (erl_flags.empty() ? "" : " ") + f;
  return {"elixir", "--erl", erl_flags, "--name", name, "--cookie", cookie, "-e", expr};
}

BeamNode BeamNode::spawn(Kind kind, const std::string& sname, const std::string& expr,
                         const std::vector<std::string>& extra, const std::string& cookie) {
  const auto port = free_port();
  const std::string name = sname + "-" + std::to_string(port) + "@127.0.0.1";
  return BeamNode{name, port, Process(beam_argv(kind, name, expr, extra, cookie))};
}

BeamNode BeamNode::serve(Kind kind, const std::string& sname, const std::string& expr,
                         const std::vector<std::string>& extra, const std::string& cookie) {
  auto node = spawn(kind, sname, expr, extra, cookie);
  if (!node.process.wait_output("READY", 30s) || !wait_listening(node.port, 10s)) {
    throw std::runtime_error("BEAM node " + node.name + " did not start:\n" +
                             node.process.output());
  }
  return node;
}

BeamNode BeamNode::start(Kind kind, const std::string& sname, const std::string& cookie) {
  return serve(kind, sname,
               kind == Kind::erlang ? "convoy_fixture:serve()" : ":convoy_fixture.serve()", {},
               cookie);
}

ClientResult run_client(BeamNode::Kind kind, const std::string& expr,
                        std::chrono::milliseconds limit, const std::string& cookie) {
  auto client = BeamNode::spawn(kind, "client", expr, {}, cookie);
  auto code = client.process.wait(limit);
  return {code, client.process.output()};
}

CNode CNode::start(const std::string& cookie, std::vector<std::string> extra) {
  const auto port = free_port();
  const std::string name = "cnode-" + std::to_string(port) + "@127.0.0.1";
  std::vector<std::string> argv{c_node_binary(), "--name",           name,       "--cookie",
                                cookie,          "--listen-address", "127.0.0.1"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  CNode node{name, port, Process(std::move(argv))};
  if (!wait_listening(port, 10s)) {
    throw std::runtime_error("c_node did not start:\n" + node.process.output());
  }
  return node;
}

NodeOptions loopback_options(const std::string& sname, const std::string& cookie) {
  const auto port = free_port();
  auto name = NodeName::parse(sname + "-" + std::to_string(port) + "@127.0.0.1");
  if (!name) throw std::runtime_error(name.error().message);
  NodeOptions opts{.name = *name, .cookie = cookie};
  opts.listen_address = "127.0.0.1";
  return opts;
}

std::unique_ptr<Node> start_node(const std::string& sname, std::chrono::seconds ticktime,
                                 const std::string& cookie) {
  auto opts = loopback_options(sname, cookie);
  opts.net_ticktime = ticktime;
  auto node = Node::start(std::move(opts));
  if (!node) throw std::runtime_error(node.error().message);
  return std::move(*node);
}

std::unique_ptr<Node> local_node(const std::shared_ptr<Transport>& transport,
                                 const std::string& sname,
                                 const std::function<void(NodeOptions&)>& tweak) {
  static std::atomic<int> next_port{20000};
  auto name = NodeName::parse(sname + "-" + std::to_string(next_port++) + "@127.0.0.1");
  if (!name) throw std::runtime_error(name.error().message);
  NodeOptions opts{.name = *name, .cookie = kCookie};
  opts.transport = transport;
  if (tweak) tweak(opts);
  auto node = Node::start(std::move(opts));
  if (!node) throw std::runtime_error(node.error().message);
  return std::move(*node);
}

bool pump_both(Node& a, Node& b, const std::function<bool()>& done,
               std::chrono::milliseconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    a.run_until(done, 1ms);
    b.run_until(done, 1ms);
  }
  return done();
}

bool pump(Node& node, const std::function<bool()>& done, std::chrono::milliseconds limit) {
  std::uint64_t id = 0;
  std::function<void(Node&)> tick = [&](Node& n) { id = n.after(20ms, tick); };
  id = node.after(20ms, tick);
  const bool ok = node.run_until(done, limit);
  node.cancel_timer(id);
  return ok;
}

namespace {
template <class Target>
Result<Term> call_until_done(Node& node, const Target& to, const Term& req,
                             std::chrono::milliseconds timeout) {
  std::optional<Result<Term>> result;
  node.call(to, req, timeout, [&](Result<Term> r) { result = std::move(r); });
  // call() answers by its own timeout at the latest; the margin only guards the test.
  pump(
      node, [&] { return result.has_value(); }, timeout + 5s);
  if (!result) return make_error(Errc::timeout, "the test gave up waiting for call()'s callback");
  return *result;
}
}  // namespace

Result<Term> call_and_wait(Node& node, const RegName& to, const Term& req,
                           std::chrono::milliseconds timeout) {
  return call_until_done(node, to, req, timeout);
}

Result<Term> call_and_wait(Node& node, const Pid& to, const Term& req,
                           std::chrono::milliseconds timeout) {
  return call_until_done(node, to, req, timeout);
}

long proc_status_kib(int pid, const std::string& field) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  const std::string prefix = field + ":";
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(prefix, 0) == 0) return std::strtol(line.c_str() + prefix.size(), nullptr, 10);
  }
  return -1;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

}  // namespace convoy::test
