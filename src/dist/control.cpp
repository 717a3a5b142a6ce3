#include "dist/control.hpp"

#include <fmt/format.h>

#include <type_traits>

#include "term/printed.hpp"

namespace convoy::dist {
namespace {

class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "convoy.control"; }
  std::string message(int ev) const override {
    switch (static_cast<ControlErrc>(ev)) {
      case ControlErrc::undecodable:
        return "undecodable control message";
      case ControlErrc::not_a_tuple:
        return "control message is not a tuple with an op code";
      case ControlErrc::unknown_op:
        return "unknown control op";
      case ControlErrc::unsupported_op:
        return "unsupported control op";
      case ControlErrc::bad_arity:
        return "control message of the wrong arity";
      case ControlErrc::bad_field:
        return "control message field of the wrong type";
      case ControlErrc::missing_payload:
        return "control message without its payload";
      case ControlErrc::unexpected_payload:
        return "payload after a control message that takes none";
      case ControlErrc::trailing_bytes:
        return "bytes after the frame's last term";
    }
    return "unknown control error";
  }
};

Error control_error(ControlErrc e, std::string message) {
  return Error{make_error_code(e), std::move(message)};
}

Term atom(std::string_view a) { return Term::atom(a); }
Term op_term(std::int64_t op) { return Term::integer(op); }

// Typed access to the elements of one control tuple; the first failure is kept.
class Fields {
 public:
  Fields(const Term& t, std::int64_t op) : t_(t), op_(op) {}

  Pid pid(std::size_t i, const char* what) {
    if (const Pid* p = t_.element(i)->as_pid()) return *p;
    bad(i, what, "a pid");
    return {};
  }
  Ref ref(std::size_t i, const char* what) {
    if (const Ref* r = t_.element(i)->as_ref()) return *r;
    bad(i, what, "a reference");
    return {};
  }
  std::string atom_name(std::size_t i, const char* what) {
    if (const Atom* a = t_.element(i)->as_atom()) return a->name;
    bad(i, what, "an atom");
    return {};
  }
  std::int64_t integer(std::size_t i, const char* what) {
    if (const std::int64_t* v = t_.element(i)->as_integer()) return *v;
    bad(i, what, "an integer");
    return 0;
  }
  // Integers of any size (unlink ids are 64-bit unsigned on BEAM).
  Term any_integer(std::size_t i, const char* what) {
    const Term& e = *t_.element(i);
    if (e.kind() == Term::Kind::integer || e.kind() == Term::Kind::big_integer) return e;
    bad(i, what, "an integer");
    return {};
  }
  // A pid or a registered name.
  Term process(std::size_t i, const char* what) {
    const Term& e = *t_.element(i);
    if (e.is_pid() || e.is_atom()) return e;
    bad(i, what, "a pid or an atom");
    return {};
  }
  Term any(std::size_t i) { return *t_.element(i); }

  const std::optional<Error>& error() const { return error_; }

 private:
  void bad(std::size_t i, const char* what, const char* expected) {
    if (error_) return;
    error_ = control_error(ControlErrc::bad_field,
                           fmt::format("op {}: element {} ({}) is not {}: {}", op_, i, what,
                                       expected, t_.element(i)->to_string(kLogTermChars)));
  }
  const Term& t_;
  std::int64_t op_;
  std::optional<Error> error_;
};

template <class T>
Result<ControlMessage> checked(const Fields& f, T value) {
  if (f.error()) return *f.error();
  return ControlMessage(std::move(value));
}

// The arity each op's tuple must have (0: op not decoded here).
std::size_t arity_of(std::int64_t op) {
  switch (op) {
    case op::kLink:
    case op::kSend:
    case op::kUnlink:
    case op::kGroupLeader:
    case op::kSendSender:
      return 3;
    case op::kExit:
    case op::kRegSend:
    case op::kExit2:
    case op::kSendTT:
    case op::kMonitorP:
    case op::kDemonitorP:
    case op::kUnlinkId:
    case op::kUnlinkIdAck:
    case op::kSendSenderTT:
      return 4;
    case op::kExitTT:
    case op::kRegSendTT:
    case op::kExit2TT:
    case op::kMonitorPExit:
    case op::kSpawnReply:
      return 5;
    case op::kSpawnRequest:
    case op::kSpawnReplyTT:
      return 6;
    case op::kSpawnRequestTT:
      return 7;
    default:
      return 0;
  }
}

bool takes_payload(std::int64_t op) {
  switch (op) {
    case op::kSend:
    case op::kSendTT:
    case op::kSendSender:
    case op::kSendSenderTT:
    case op::kRegSend:
    case op::kRegSendTT:
    case op::kSpawnRequest:
    case op::kSpawnRequestTT:
      return true;
    default:
      return false;
  }
}

Result<ControlMessage> decode_spawn_request(Fields& f, const Term& t, std::int64_t code) {
  SpawnRequest s;
  s.req_id = f.ref(1, "request id");
  s.from = f.pid(2, "from");
  s.group_leader = f.pid(3, "group leader");
  const Term& mfa = *t.element(4);
  if (!mfa.is_tuple(3) || !mfa.element(0)->is_atom() || !mfa.element(1)->is_atom() ||
      !mfa.element(2)->is_integer()) {
    return control_error(ControlErrc::bad_field,
                         fmt::format("op {}: element 4 is not {{Module, Function, Arity}}: {}",
                                     code, mfa.to_string(kLogTermChars)));
  }
  s.module = mfa.element(0)->as_atom()->name;
  s.function = mfa.element(1)->as_atom()->name;
  s.arity = *mfa.element(2)->as_integer();
  const Term& opts = *t.element(5);
  if (!opts.is_list() || !opts.list_tail().is_nil()) {
    return control_error(ControlErrc::bad_field,
                         fmt::format("op {}: element 5 (options) is not a proper list: {}", code,
                                     opts.to_string(kLogTermChars)));
  }
  s.options = opts.list_elements();
  if (code == op::kSpawnRequestTT) s.token = f.any(6);
  return checked(f, std::move(s));
}

}  // namespace

const std::error_category& control_category() noexcept {
  static const Category category;
  return category;
}

Result<ControlMessage> from_term(const Term& t) {
  if (!t.is_tuple() || t.elements().empty() || !t.element(0)->is_integer()) {
    return control_error(
        ControlErrc::not_a_tuple,
        fmt::format("control message is not {{Op, ...}}: {}", t.to_string(kLogTermChars)));
  }
  const std::int64_t code = *t.element(0)->as_integer();
  const std::size_t arity = arity_of(code);
  if (arity == 0) {
    const bool known = code >= op::kLink && code <= op::kUnlinkIdAck;
    return control_error(known ? ControlErrc::unsupported_op : ControlErrc::unknown_op,
                         fmt::format("{} control op {}", known ? "unsupported" : "unknown", code));
  }
  if (t.elements().size() != arity) {
    return control_error(ControlErrc::bad_arity, fmt::format("op {} takes {} elements, got {}",
                                                             code, arity, t.elements().size()));
  }
  Fields f(t, code);
  switch (code) {
    case op::kLink:
      return checked(f, Link{f.pid(1, "from"), f.pid(2, "to")});
    case op::kUnlink:
      return checked(f, Unlink{f.pid(1, "from"), f.pid(2, "to")});
    case op::kGroupLeader:
      return checked(f, GroupLeader{f.pid(1, "from"), f.pid(2, "to")});
    case op::kSend:
      return checked(f, Send{f.pid(2, "to"), std::nullopt, std::nullopt});
    case op::kSendTT:
      return checked(f, Send{f.pid(2, "to"), std::nullopt, f.any(3)});
    case op::kSendSender:
      return checked(f, Send{f.pid(2, "to"), f.pid(1, "from"), std::nullopt});
    case op::kSendSenderTT:
      return checked(f, Send{f.pid(2, "to"), f.pid(1, "from"), f.any(3)});
    case op::kRegSend:
      return checked(f, RegSend{f.pid(1, "from"), f.atom_name(3, "to name"), std::nullopt});
    case op::kRegSendTT:
      return checked(f, RegSend{f.pid(1, "from"), f.atom_name(3, "to name"), f.any(4)});
    case op::kExit:
      return checked(f, Exit{f.pid(1, "from"), f.pid(2, "to"), f.any(3), std::nullopt});
    case op::kExitTT:
      return checked(f, Exit{f.pid(1, "from"), f.pid(2, "to"), f.any(4), f.any(3)});
    case op::kExit2:
      return checked(f, Exit2{f.pid(1, "from"), f.pid(2, "to"), f.any(3), std::nullopt});
    case op::kExit2TT:
      return checked(f, Exit2{f.pid(1, "from"), f.pid(2, "to"), f.any(4), f.any(3)});
    case op::kMonitorP:
      return checked(f, MonitorP{f.pid(1, "from"), f.process(2, "to"), f.ref(3, "ref")});
    case op::kDemonitorP:
      return checked(f, DemonitorP{f.pid(1, "from"), f.process(2, "to"), f.ref(3, "ref")});
    case op::kMonitorPExit:
      return checked(f,
                     MonitorPExit{f.process(1, "from"), f.pid(2, "to"), f.ref(3, "ref"), f.any(4)});
    case op::kUnlinkId:
      return checked(f, UnlinkId{f.any_integer(1, "id"), f.pid(2, "from"), f.pid(3, "to")});
    case op::kUnlinkIdAck:
      return checked(f, UnlinkIdAck{f.any_integer(1, "id"), f.pid(2, "from"), f.pid(3, "to")});
    case op::kSpawnRequest:
    case op::kSpawnRequestTT:
      return decode_spawn_request(f, t, code);
    case op::kSpawnReply:
      return checked(f, SpawnReply{f.ref(1, "request id"), f.pid(2, "to"), f.integer(3, "flags"),
                                   f.process(4, "result"), std::nullopt});
    case op::kSpawnReplyTT:
      return checked(f, SpawnReply{f.ref(1, "request id"), f.pid(2, "to"), f.integer(3, "flags"),
                                   f.process(4, "result"), f.any(5)});
    default:
      break;
  }
  return control_error(ControlErrc::unknown_op, fmt::format("unknown control op {}", code));
}

Result<Frame> decode_frame(std::span<const std::uint8_t> body, const DecodeLimits& payload_limits) {
  std::size_t used = 0;
  auto control =
      decode(body, &used, {.max_depth = kMaxDecodeDepth, .max_bytes = payload_limits.max_bytes});
  if (!control) {
    if (control.error().code == make_error_code(Errc::limit_exceeded)) return control.error();
    return control_error(ControlErrc::undecodable,
                         fmt::format("control message: {}", control.error().message));
  }
  auto message = from_term(*control);
  if (!message) return message.error();
  const std::int64_t code = *control->element(0)->as_integer();
  const auto rest = body.subspan(used);
  if (!takes_payload(code)) {
    if (!rest.empty()) {
      return control_error(
          ControlErrc::unexpected_payload,
          fmt::format("op {} takes no payload; {} bytes follow", code, rest.size()));
    }
    return Frame{std::move(*message), std::nullopt};
  }
  if (rest.empty()) {
    return control_error(ControlErrc::missing_payload,
                         fmt::format("op {} without its payload", code));
  }
  auto payload = decode(rest, &used,
                        {.max_depth = payload_limits.max_depth + kEnvelopeDepth,
                         .max_bytes = payload_limits.max_bytes});
  if (!payload) {
    if (payload.error().code == make_error_code(Errc::limit_exceeded)) {
      return make_error(Errc::limit_exceeded,
                        fmt::format("payload of op {}: {}", code, payload.error().message));
    }
    return control_error(ControlErrc::undecodable,
                         fmt::format("payload of op {}: {}", code, payload.error().message));
  }
  if (used != rest.size()) {
    return control_error(
        ControlErrc::trailing_bytes,
        fmt::format("{} bytes after the payload of op {}", rest.size() - used, code));
  }
  if ((code == op::kSpawnRequest || code == op::kSpawnRequestTT) &&
      (!payload->is_list() || !payload->list_tail().is_nil())) {
    return control_error(ControlErrc::bad_field,
                         fmt::format("spawn request arguments are not a proper list: {}",
                                     payload->to_string(kLogTermChars)));
  }
  return Frame{std::move(*message), std::move(*payload)};
}

const Pid* sender(const ControlMessage& m) {
  return std::visit(
      [](const auto& msg) -> const Pid* {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (std::is_same_v<T, Send>) {
          return msg.from ? &*msg.from : nullptr;
        } else if constexpr (std::is_same_v<T, MonitorPExit>) {
          return msg.from.as_pid();
        } else if constexpr (std::is_same_v<T, SpawnReply>) {
          return nullptr;
        } else {
          return &msg.from;
        }
      },
      m);
}

std::int64_t op_of(const ControlMessage& m) {
  struct Visitor {
    std::int64_t operator()(const Link&) const { return op::kLink; }
    std::int64_t operator()(const Send& s) const {
      if (s.from) return s.token ? op::kSendSenderTT : op::kSendSender;
      return s.token ? op::kSendTT : op::kSend;
    }
    std::int64_t operator()(const RegSend& s) const {
      return s.token ? op::kRegSendTT : op::kRegSend;
    }
    std::int64_t operator()(const Exit& e) const { return e.token ? op::kExitTT : op::kExit; }
    std::int64_t operator()(const Exit2& e) const { return e.token ? op::kExit2TT : op::kExit2; }
    std::int64_t operator()(const Unlink&) const { return op::kUnlink; }
    std::int64_t operator()(const UnlinkId&) const { return op::kUnlinkId; }
    std::int64_t operator()(const UnlinkIdAck&) const { return op::kUnlinkIdAck; }
    std::int64_t operator()(const GroupLeader&) const { return op::kGroupLeader; }
    std::int64_t operator()(const MonitorP&) const { return op::kMonitorP; }
    std::int64_t operator()(const DemonitorP&) const { return op::kDemonitorP; }
    std::int64_t operator()(const MonitorPExit&) const { return op::kMonitorPExit; }
    std::int64_t operator()(const SpawnRequest& s) const {
      return s.token ? op::kSpawnRequestTT : op::kSpawnRequest;
    }
    std::int64_t operator()(const SpawnReply& s) const {
      return s.token ? op::kSpawnReplyTT : op::kSpawnReply;
    }
  };
  return std::visit(Visitor{}, m);
}

Term to_term(const ControlMessage& m) {
  const Term code = op_term(op_of(m));
  struct Visitor {
    const Term& code;
    Term operator()(const Link& l) const {
      return Term::tuple({code, Term::pid(l.from), Term::pid(l.to)});
    }
    Term operator()(const Send& s) const {
      std::vector<Term> e{code, s.from ? Term::pid(*s.from) : atom(""), Term::pid(s.to)};
      if (s.token) e.push_back(*s.token);
      return Term::tuple(std::move(e));
    }
    Term operator()(const RegSend& s) const {
      std::vector<Term> e{code, Term::pid(s.from), atom(""), atom(s.to_name)};
      if (s.token) e.push_back(*s.token);
      return Term::tuple(std::move(e));
    }
    Term operator()(const Exit& x) const {
      if (x.token)
        return Term::tuple({code, Term::pid(x.from), Term::pid(x.to), *x.token, x.reason});
      return Term::tuple({code, Term::pid(x.from), Term::pid(x.to), x.reason});
    }
    Term operator()(const Exit2& x) const {
      if (x.token)
        return Term::tuple({code, Term::pid(x.from), Term::pid(x.to), *x.token, x.reason});
      return Term::tuple({code, Term::pid(x.from), Term::pid(x.to), x.reason});
    }
    Term operator()(const Unlink& u) const {
      return Term::tuple({code, Term::pid(u.from), Term::pid(u.to)});
    }
    Term operator()(const UnlinkId& u) const {
      return Term::tuple({code, u.id, Term::pid(u.from), Term::pid(u.to)});
    }
    Term operator()(const UnlinkIdAck& u) const {
      return Term::tuple({code, u.id, Term::pid(u.from), Term::pid(u.to)});
    }
    Term operator()(const GroupLeader& g) const {
      return Term::tuple({code, Term::pid(g.from), Term::pid(g.to)});
    }
    Term operator()(const MonitorP& p) const {
      return Term::tuple({code, Term::pid(p.from), p.to, Term::ref(p.ref)});
    }
    Term operator()(const DemonitorP& p) const {
      return Term::tuple({code, Term::pid(p.from), p.to, Term::ref(p.ref)});
    }
    Term operator()(const MonitorPExit& p) const {
      return Term::tuple({code, p.from, Term::pid(p.to), Term::ref(p.ref), p.reason});
    }
    Term operator()(const SpawnRequest& s) const {
      std::vector<Term> e{code,
                          Term::ref(s.req_id),
                          Term::pid(s.from),
                          Term::pid(s.group_leader),
                          Term::tuple({atom(s.module), atom(s.function), Term::integer(s.arity)}),
                          Term::list(s.options)};
      if (s.token) e.push_back(*s.token);
      return Term::tuple(std::move(e));
    }
    Term operator()(const SpawnReply& s) const {
      std::vector<Term> e{code, Term::ref(s.req_id), Term::pid(s.to), Term::integer(s.flags),
                          s.result};
      if (s.token) e.push_back(*s.token);
      return Term::tuple(std::move(e));
    }
  };
  return std::visit(Visitor{code}, m);
}

void encode(const ControlMessage& m, std::vector<std::uint8_t>& out, const Term* payload) {
  encode_append(to_term(m), out);
  if (payload) encode_append(*payload, out);
}

std::string to_string(const ControlMessage& m) { return to_term(m).to_string(); }

std::string to_string(const ControlMessage& m, std::size_t max_chars) {
  return to_term(m).to_string(max_chars);
}

}  // namespace convoy::dist
