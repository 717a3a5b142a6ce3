#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora (test/fuzz/corpus/<target>/) from first principles:
external term format, distribution handshake messages, DNS SRV responses, node names and
TOML. Deterministic; rerun after changing it and commit the output."""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def atom(a):
    b = a.encode()
    return bytes([119, len(b)]) + b  # SMALL_ATOM_UTF8_EXT


def small_int(n):
    return bytes([97, n])


def integer(n):
    return bytes([98]) + struct.pack(">i", n)


def tup(*els):
    return bytes([104, len(els)]) + b"".join(els)


def lst(*els, tail=b"\x6a"):
    return bytes([108]) + struct.pack(">I", len(els)) + b"".join(els) + tail


def binary(b):
    return bytes([109]) + struct.pack(">I", len(b)) + b


def string(s):
    return bytes([107]) + struct.pack(">H", len(s)) + s


def pid(node, num, serial=0, creation=1):
    return bytes([88]) + atom(node) + struct.pack(">III", num, serial, creation)


def ref(node, ids, creation=1):
    return bytes([90]) + struct.pack(">H", len(ids)) + atom(node) + struct.pack(">I", creation) + \
        b"".join(struct.pack(">I", i) for i in ids)


def mp(*kvs):
    return bytes([116]) + struct.pack(">I", len(kvs)) + b"".join(k + v for k, v in kvs)


def ext(t):
    return b"\x83" + t


PEER = "peer-2@127.0.0.1"
TARGET = "target-4370@127.0.0.1"
ME = pid(PEER, 1)
FAR = pid(TARGET, 3)
REF = ref(PEER, [1, 2, 3])

TERMS = {
    "atom": atom("hello"),
    "ints": lst(small_int(1), integer(-5), integer(1 << 30)),
    "bignum": bytes([110, 9, 0]) + bytes(range(1, 10)),
    "float": bytes([70]) + struct.pack(">d", 3.5),
    "binary": binary(b"bytes"),
    "bitstring": bytes([77]) + struct.pack(">I", 2) + bytes([3, 0xAB, 0xC0]),
    "string": string(b"charlist"),
    "improper": lst(atom("a"), tail=atom("b")),
    "tuple_map": tup(atom("ok"), mp((atom("k"), small_int(1)), (binary(b"b"), lst()))),
    "pid_ref": tup(ME, REF),
    "nested": tup(tup(tup(lst(lst(lst()))))),
    "export_fun": bytes([113]) + atom("lists") + atom("map") + small_int(2),
}

# Control messages (distribution protocol ops) with their payloads.
FRAMES = {
    "reg_send_echo": ext(tup(small_int(6), ME, atom(""), atom("echo"))) + ext(tup(ME, atom("hi"))),
    "gen_call": ext(tup(small_int(6), ME, atom(""), atom("c_node"))) +
    ext(tup(atom("$gen_call"), tup(ME, REF), tup(atom("echo"), binary(b"x")))),
    "send": ext(tup(small_int(2), atom(""), FAR)) + ext(atom("msg")),
    "link": ext(tup(small_int(1), ME, FAR)),
    "unlink_id": ext(tup(small_int(35), small_int(7), ME, FAR)),
    "exit2": ext(tup(small_int(8), ME, FAR, atom("kill"))),
    "monitor_name": ext(tup(small_int(19), ME, atom("c_node"), REF)),
    "demonitor": ext(tup(small_int(20), ME, atom("c_node"), REF)),
    "spawn_request": ext(tup(small_int(29), REF, ME, ME, tup(atom("c_node"), atom("echo"), small_int(1)), lst())) +
    ext(lst(atom("arg"))),
    "exit": ext(tup(small_int(3), ME, FAR, atom("normal"))),
}

HANDSHAKE = {
    # A name message (new style, 'N'), then a status and a challenge as an acceptor sees them.
    "name_n": struct.pack(">H", 1 + 8 + 4 + 2 + len(PEER)) + b"N" +
    struct.pack(">QIH", 0x3f7fffd | (1 << 32) | (1 << 34), 5, len(PEER)) + PEER.encode(),
    "status_ok": struct.pack(">H", 3) + b"sok",
    "challenge": struct.pack(">H", 1 + 8 + 4 + 4 + 2 + len(PEER)) + b"N" +
    struct.pack(">QIIH", 0x3f7fffd | (1 << 32), 1234, 5, len(PEER)) + PEER.encode(),
}


def dns_name(n):
    out = b""
    for part in n.split("."):
        out += bytes([len(part)]) + part.encode()
    return out + b"\x00"


def srv_response(targets, truncated=False):
    q = dns_name("app.service.consul") + struct.pack(">HH", 33, 1)
    flags = 0x8580 | (0x0200 if truncated else 0)
    answers = b""
    for i, (target, port) in enumerate(targets):
        rdata = struct.pack(">HHH", 1, 1, port) + dns_name(target)
        answers += b"\xc0\x0c" + struct.pack(">HHIH", 33, 1, 0, len(rdata)) + rdata
    header = struct.pack(">HHHHHH", 0x1234, flags, 1, len(targets), 0, 0)
    return header + q + answers


DNS = {
    "two_records": srv_response([("node1.node.dc1.consul", 4371), ("127.0.0.1", 4372)]),
    "empty": srv_response([]),
    "truncated": srv_response([("a.b", 1)], truncated=True),
}

NAMES = {
    "plain": b"app-4371@127.0.0.1",
    "no_port": b"app@host.example",
    "ipv6": b"app-1@::1",
    "bad": b"@@",
}

CONFIG = {
    "full": b'''name = "cnode-4370@10.0.0.1"
cookie = "secret"
consul_service = "app"
node_sname = "app"
nameservers = ["127.0.0.1:8600", ["10.0.0.2", "53"]]
poll_interval = 1000
net_ticktime = 20
prune_after = 3
host_from = "address"
max_decoded_bytes = 4194304
log_level = "debug"
''',
    "bad_type": b'poll_interval = "fast"\n',
}


def write(target, seeds):
    d = os.path.join(HERE, "corpus", target)
    os.makedirs(d, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)


def main():
    write("term_decode", {k: ext(v) for k, v in TERMS.items()})
    write("control_decode", FRAMES)
    write("dispatch", FRAMES)
    write("handshake", {k: b"\x00" + v for k, v in HANDSHAKE.items()})
    write("dns_answer", DNS)
    write("node_name", NAMES)
    write("config", CONFIG)
    return 0


if __name__ == "__main__":
    sys.exit(main())
