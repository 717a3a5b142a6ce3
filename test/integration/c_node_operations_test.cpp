// The c_node as an operator runs it: the cookie from a file or from RELEASE_COOKIE (never
// the command line), systemd's notify protocol (READY, watchdog pings, STOPPING).
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "harness.hpp"
#include "io/fd.hpp"

namespace convoy::test {
namespace {

using namespace std::chrono_literals;
using Kind = BeamNode::Kind;

struct ScratchDir {
  std::filesystem::path path =
      std::filesystem::temp_directory_path() /
      ("convoy-ops-" + std::to_string(::getpid()) + "-" + std::to_string(free_port()));
  ScratchDir() { std::filesystem::create_directories(path); }
  ~ScratchDir() { std::filesystem::remove_all(path); }
};

// A c_node with no --cookie, HOME pointing nowhere and no ERLANG_COOKIE: the cookie comes
// only from `args` and `env`.
struct Started {
  std::string name;
  std::uint16_t port;
  Process process;
};
Started start_without_cookie_flag(std::vector<std::string> args, std::vector<std::string> env) {
  const auto port = free_port();
  const std::string name = "ops-" + std::to_string(port) + "@127.0.0.1";
  std::vector<std::string> argv{c_node_binary(), "--name", name, "--listen-address", "127.0.0.1"};
  argv.insert(argv.end(), args.begin(), args.end());
  env.insert(env.end(), {"HOME=/nonexistent", "ERLANG_COOKIE="});
  return {name, port, Process(std::move(argv), std::move(env))};
}

bool pongs(const std::string& name) {
  auto r = run_client(Kind::erlang, "convoy_fixture:ping(" + erl_atom(name) + ", 5000), halt().");
  return r.output.find("PING pong") != std::string::npos;
}

TEST(CNodeOperations, CookieFromAFileAndFromReleaseCookie) {
  ScratchDir dir;
  const auto file = dir.path / "cookie";
  std::ofstream(file) << kCookie << "\n";
  std::filesystem::permissions(file, std::filesystem::perms::owner_read);

  auto from_file = start_without_cookie_flag({"--cookie-file", file.string()}, {});
  ASSERT_TRUE(wait_listening(from_file.port, 10s)) << from_file.process.output();
  EXPECT_TRUE(pongs(from_file.name)) << from_file.process.output();
  EXPECT_EQ(from_file.process.output().find("readable by"), std::string::npos);

  // What an Elixir release exports; the file, named on purpose, wins over it.
  auto from_env = start_without_cookie_flag({}, {"RELEASE_COOKIE=" + kCookie});
  ASSERT_TRUE(wait_listening(from_env.port, 10s)) << from_env.process.output();
  EXPECT_TRUE(pongs(from_env.name)) << from_env.process.output();
  auto both = start_without_cookie_flag({"--cookie-file", file.string()},
                                        {"RELEASE_COOKIE=not-the-cookie"});
  ASSERT_TRUE(wait_listening(both.port, 10s)) << both.process.output();
  EXPECT_TRUE(pongs(both.name)) << both.process.output();
  // Neither source reaches the log.
  for (auto* p : {&from_file, &from_env, &both}) {
    EXPECT_EQ(p->process.output().find(kCookie), std::string::npos) << p->process.output();
  }
}

TEST(CNodeOperations, ACookieFileOthersCanReadWorksWithAWarningAMissingOneIsAnError) {
  ScratchDir dir;
  const auto file = dir.path / "cookie";
  std::ofstream(file) << kCookie << "\n";
  ::chmod(file.c_str(), 0644);
  auto open = start_without_cookie_flag({"--cookie-file", file.string()}, {});
  ASSERT_TRUE(wait_listening(open.port, 10s)) << open.process.output();
  EXPECT_TRUE(open.process.wait_output("is readable by every local user (mode 644)", 5s))
      << open.process.output();
  EXPECT_TRUE(pongs(open.name));

  auto missing = start_without_cookie_flag({"--cookie-file", (dir.path / "absent").string()}, {});
  const auto code = missing.process.wait(5s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 2);
  EXPECT_NE(missing.process.output().find("cannot read cookie file"), std::string::npos)
      << missing.process.output();
}

TEST(CNodeOperations, CookieOnTheCommandLineIsWarnedAbout) {
  auto c = CNode::start();
  EXPECT_TRUE(c.process.wait_output("--cookie puts the cookie where every local user", 5s))
      << c.process.output();
}

// systemd's side of Type=notify, played by a datagram socket at $NOTIFY_SOCKET.
class FakeSystemd {
 public:
  explicit FakeSystemd(const std::filesystem::path& path) {
    fd_ = io::Fd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    if (!fd_.valid() || ::bind(fd_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      throw std::runtime_error("cannot bind " + path.string());
    }
  }
  // The next datagram, or "" after `limit`.
  std::string next(std::chrono::milliseconds limit) {
    pollfd p{fd_.get(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(limit.count())) != 1) return "";
    char buf[4096];
    const auto n = ::recv(fd_.get(), buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }
  // Datagrams until one contains `what` (returned), or "" after `limit`.
  std::string wait_for(const std::string& what, std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < until) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      auto m = next(std::max(left, 1ms));
      if (m.find(what) != std::string::npos) return m;
    }
    return "";
  }

 private:
  io::Fd fd_;
};

TEST(CNodeOperations, TellsSystemdWhenReadyPingsTheWatchdogAndSaysWhenStopping) {
  ScratchDir dir;
  FakeSystemd systemd(dir.path / "notify");
  const auto port = free_port();
  const std::string name = "sd-" + std::to_string(port) + "@127.0.0.1";
  Process c({c_node_binary(), "--name", name, "--listen-address", "127.0.0.1"},
            {"RELEASE_COOKIE=" + kCookie, "NOTIFY_SOCKET=" + (dir.path / "notify").string(),
             "WATCHDOG_USEC=400000"});
  const auto ready = systemd.wait_for("READY=1", 10s);
  ASSERT_NE(ready, "") << c.output();
  EXPECT_NE(ready.find("STATUS=member of the cluster as " + name), std::string::npos) << ready;
  // Ready means ready: the port already accepts.
  EXPECT_TRUE(wait_listening(port, 100ms));
  // Pings at half of WatchdogSec, from the loop.
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(systemd.wait_for("WATCHDOG=1", 2s), "WATCHDOG=1") << "ping " << i << c.output();
  }
  EXPECT_TRUE(c.wait_output("pinging the systemd watchdog every 200 ms", 1s)) << c.output();
  c.signal(SIGTERM);
  EXPECT_NE(systemd.wait_for("STOPPING=1", 5s), "") << c.output();
  const auto code = c.wait(5s);
  ASSERT_TRUE(code.has_value());
  EXPECT_EQ(*code, 0) << c.output();
}

}  // namespace
}  // namespace convoy::test
