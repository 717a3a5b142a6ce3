// Typed control messages: every op round-trips through encode/decode_frame, and every
// malformed shape is refused with its own ControlErrc.
#include "dist/control.hpp"

#include <gtest/gtest.h>

namespace convoy::dist {
namespace {

using Bytes = std::vector<std::uint8_t>;

const Pid kA{"a-1@h", 1, 0, 5};
const Pid kB{"b-2@h", 7, 0, 9};
const Ref kRef{"a-1@h", 5, {1, 2, 3}};
const Term kToken = Term::atom("trace_token");

Bytes body_of(const Term& control, const Term* payload = nullptr) {
  Bytes out;
  encode_append(control, out);
  if (payload) encode_append(*payload, out);
  return out;
}

std::error_code error_of(const Bytes& body) {
  auto r = decode_frame(body);
  EXPECT_FALSE(r.ok()) << "decoded: " << (r.ok() ? to_string(r->control) : "");
  return r.ok() ? std::error_code() : r.error().code;
}

Term t(std::vector<Term> e) { return Term::tuple(std::move(e)); }
Term i(std::int64_t v) { return Term::integer(v); }

struct Case {
  ControlMessage message;
  std::optional<Term> payload;
  std::int64_t op;
};

class RoundTrip : public testing::TestWithParam<Case> {};

TEST_P(RoundTrip, EncodesTheOpAndDecodesToTheSameValue) {
  const Case& c = GetParam();
  EXPECT_EQ(op_of(c.message), c.op);
  EXPECT_EQ(*to_term(c.message).element(0), i(c.op));
  Bytes body;
  encode(c.message, body, c.payload ? &*c.payload : nullptr);
  auto frame = decode_frame(body);
  ASSERT_TRUE(frame.ok()) << frame.error().message;
  EXPECT_EQ(frame->control, c.message) << to_string(frame->control);
  EXPECT_EQ(frame->payload, c.payload);
}

const Term kMsg = Term::tuple({Term::atom("hello"), Term::integer(1)});

INSTANTIATE_TEST_SUITE_P(
    EveryOp, RoundTrip,
    testing::Values(
        Case{Link{kA, kB}, {}, op::kLink}, Case{Send{kB, {}, {}}, kMsg, op::kSend},
        Case{Send{kB, {}, kToken}, kMsg, op::kSendTT},
        Case{Send{kB, kA, {}}, kMsg, op::kSendSender},
        Case{Send{kB, kA, kToken}, kMsg, op::kSendSenderTT},
        Case{RegSend{kA, "echo", {}}, kMsg, op::kRegSend},
        Case{RegSend{kA, "echo", kToken}, kMsg, op::kRegSendTT},
        Case{Exit{kA, kB, Term::atom("boom"), {}}, {}, op::kExit},
        Case{Exit{kA, kB, Term::atom("boom"), kToken}, {}, op::kExitTT},
        Case{Exit2{kA, kB, Term::atom("kill"), {}}, {}, op::kExit2},
        Case{Exit2{kA, kB, Term::atom("kill"), kToken}, {}, op::kExit2TT},
        Case{Unlink{kA, kB}, {}, op::kUnlink}, Case{UnlinkId{i(42), kA, kB}, {}, op::kUnlinkId},
        Case{UnlinkId{Term::integer(std::uint64_t{1} << 63), kA, kB}, {}, op::kUnlinkId},
        Case{UnlinkIdAck{i(42), kB, kA}, {}, op::kUnlinkIdAck},
        Case{GroupLeader{kA, kB}, {}, op::kGroupLeader},
        Case{MonitorP{kA, Term::pid(kB), kRef}, {}, op::kMonitorP},
        Case{MonitorP{kA, Term::atom("c_node"), kRef}, {}, op::kMonitorP},
        Case{DemonitorP{kA, Term::atom("c_node"), kRef}, {}, op::kDemonitorP},
        Case{MonitorPExit{Term::atom("c_node"), kA, kRef, Term::atom("noproc")},
             {},
             op::kMonitorPExit},
        Case{SpawnRequest{kRef, kA, kA, "erpc", "execute_call", 4, {Term::atom("monitor")}, {}},
             Term::list({Term::atom("x")}), op::kSpawnRequest},
        Case{SpawnRequest{kRef, kA, kA, "erpc", "execute_cast", 3, {}, kToken}, Term::list({}),
             op::kSpawnRequestTT},
        Case{SpawnReply{kRef, kA, 2, Term::pid(kB), {}}, {}, op::kSpawnReply},
        Case{SpawnReply{kRef, kA, 0, Term::atom("notsup"), kToken}, {}, op::kSpawnReplyTT}));

TEST(ControlDecode, AControlMessageThatIsNotAnOpTupleIsNotATuple) {
  EXPECT_EQ(error_of(body_of(Term::atom("hello"))), ControlErrc::not_a_tuple);
  EXPECT_EQ(error_of(body_of(t({}))), ControlErrc::not_a_tuple);
  EXPECT_EQ(error_of(body_of(t({Term::atom("link"), Term::pid(kA)}))), ControlErrc::not_a_tuple);
}

TEST(ControlDecode, UnknownAndUnsupportedOpsAreToldApart) {
  EXPECT_EQ(error_of(body_of(t({i(999)}))), ControlErrc::unknown_op);
  EXPECT_EQ(error_of(body_of(t({i(0)}))), ControlErrc::unknown_op);
  EXPECT_EQ(error_of(body_of(t({i(5)}))), ControlErrc::unsupported_op);  // NODE_LINK
  EXPECT_EQ(error_of(body_of(t({i(op::kPayloadExit), Term::pid(kA), Term::pid(kB)}))),
            ControlErrc::unsupported_op);
  EXPECT_EQ(error_of(body_of(t({i(op::kAliasSend), Term::pid(kA), Term::ref(kRef)}))),
            ControlErrc::unsupported_op);
}

TEST(ControlDecode, WrongArityIsRefused) {
  EXPECT_EQ(error_of(body_of(t({i(op::kLink), Term::pid(kA)}))), ControlErrc::bad_arity);
  EXPECT_EQ(error_of(body_of(t({i(op::kLink), Term::pid(kA), Term::pid(kB), Term::pid(kB)}))),
            ControlErrc::bad_arity);
  EXPECT_EQ(error_of(body_of(t({i(op::kUnlinkId), i(1), Term::pid(kA)}))), ControlErrc::bad_arity);
  EXPECT_EQ(
      error_of(body_of(t({i(op::kMonitorPExit), Term::pid(kA), Term::pid(kB), Term::ref(kRef)}))),
      ControlErrc::bad_arity);
}

TEST(ControlDecode, WrongFieldTypesAreRefused) {
  EXPECT_EQ(error_of(body_of(t({i(op::kLink), Term::atom("x"), Term::pid(kB)}))),
            ControlErrc::bad_field);
  EXPECT_EQ(error_of(body_of(t({i(op::kExit), Term::pid(kA), i(3), Term::atom("r")}))),
            ControlErrc::bad_field);
  EXPECT_EQ(error_of(body_of(t({i(op::kMonitorP), Term::pid(kA), i(7), Term::ref(kRef)}))),
            ControlErrc::bad_field);
  EXPECT_EQ(error_of(body_of(t({i(op::kMonitorP), Term::pid(kA), Term::pid(kB), i(7)}))),
            ControlErrc::bad_field);
  EXPECT_EQ(
      error_of(body_of(t({i(op::kUnlinkId), Term::atom("id"), Term::pid(kA), Term::pid(kB)}))),
      ControlErrc::bad_field);
  const Term msg = Term::atom("m");
  EXPECT_EQ(error_of(body_of(t({i(op::kRegSend), Term::pid(kA), Term::atom(""), i(1)}), &msg)),
            ControlErrc::bad_field);
  const Term args = Term::list({});
  EXPECT_EQ(error_of(body_of(t({i(op::kSpawnRequest), Term::ref(kRef), Term::pid(kA), Term::pid(kA),
                                t({Term::atom("m"), Term::atom("f")}), Term::list({})}),
                             &args)),
            ControlErrc::bad_field);
  const Term not_a_list = Term::atom("args");
  EXPECT_EQ(error_of(body_of(t({i(op::kSpawnRequest), Term::ref(kRef), Term::pid(kA), Term::pid(kA),
                                t({Term::atom("m"), Term::atom("f"), i(0)}), Term::list({})}),
                             &not_a_list)),
            ControlErrc::bad_field);
}

TEST(ControlDecode, PayloadsMustBeWhereTheOpSays) {
  EXPECT_EQ(error_of(body_of(t({i(op::kSend), Term::atom(""), Term::pid(kB)}))),
            ControlErrc::missing_payload);
  const Term extra = Term::atom("extra");
  EXPECT_EQ(error_of(body_of(t({i(op::kLink), Term::pid(kA), Term::pid(kB)}), &extra)),
            ControlErrc::unexpected_payload);
  Bytes trailing = body_of(t({i(op::kSend), Term::atom(""), Term::pid(kB)}), &extra);
  trailing.push_back(0);
  EXPECT_EQ(error_of(trailing), ControlErrc::trailing_bytes);
}

TEST(ControlDecode, BytesThatAreNotTermsAreUndecodable) {
  EXPECT_EQ(error_of({}), ControlErrc::undecodable);
  EXPECT_EQ(error_of({131, 200, 1, 2}), ControlErrc::undecodable);
  Bytes cut = body_of(t({i(op::kSend), Term::atom(""), Term::pid(kB)}));
  cut.insert(cut.end(), {131, 109, 0, 0, 0, 50, 1});  // a binary cut short
  EXPECT_EQ(error_of(cut), ControlErrc::undecodable);
}

// What a message claims as its sender, for the check that the sending link's node owns it.
TEST(ControlSender, EveryMessageFromAProcessNamesItsSender) {
  for (const ControlMessage& m :
       {ControlMessage(Link{kA, kB}), ControlMessage(RegSend{kA, "echo", {}}),
        ControlMessage(Exit{kA, kB, Term::atom("boom"), {}}),
        ControlMessage(Exit2{kA, kB, Term::atom("kill"), {}}), ControlMessage(Unlink{kA, kB}),
        ControlMessage(UnlinkId{i(1), kA, kB}), ControlMessage(UnlinkIdAck{i(1), kA, kB}),
        ControlMessage(GroupLeader{kA, kB}), ControlMessage(MonitorP{kA, Term::pid(kB), kRef}),
        ControlMessage(DemonitorP{kA, Term::pid(kB), kRef}),
        ControlMessage(MonitorPExit{Term::pid(kA), kB, kRef, Term::atom("x")}),
        ControlMessage(SpawnRequest{kRef, kA, kA, "m", "f", 0, {}, {}}),
        ControlMessage(Send{kB, kA, {}})}) {
    const Pid* from = sender(m);
    ASSERT_NE(from, nullptr) << to_string(m);
    EXPECT_EQ(*from, kA) << to_string(m);
  }
  // No sender named: a plain SEND, a MONITOR_P_EXIT for a monitor by name, a spawn reply.
  EXPECT_EQ(sender(Send{kB, {}, {}}), nullptr);
  EXPECT_EQ(sender(MonitorPExit{Term::atom("c_node"), kB, kRef, Term::atom("x")}), nullptr);
  EXPECT_EQ(sender(SpawnReply{kRef, kA, 0, Term::pid(kB), {}}), nullptr);
}

TEST(ControlPrint, MessagesPrintAsTheirTerms) {
  EXPECT_EQ(to_string(Link{kA, kB}), "{1,<'a-1@h'.1.0>,<'b-2@h'.7.0>}");
}

}  // namespace
}  // namespace convoy::dist
