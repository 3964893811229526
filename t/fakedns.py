#!/usr/bin/python3
# t/fakedns.py ADDR PORT: a name server that misbehaves on purpose, for
# t/46-srv-dns.t (test scaffolding, not a DNS client: the product parses
# answers with glibc's libresolv). UDP only, so that a truncated answer
# cannot be completed over TCP. The zone is "test."; what a name answers
# depends on its second-level label:
#   ok       two targets, t1 (A and AAAA) and t2 (A), priority/weight set
#   trunc    the TC bit, and only the first of three SRV records
#   huge     200 SRV records (h0..h199, each with an A record)
#   silent   nothing, ever
#   loop     a CNAME to a name whose CNAME points back
#   noaddr   one target that does not exist (NXDOMAIN)
#   badname  a target whose label holds a space and a control character
#   mcast    targets that resolve to 224.0.0.1 and 0.0.0.0, and one good
#   dot      the single target "." (the service is not offered)
import socket
import struct
import sys


def name(n):
    out = b""
    for label in n.rstrip(".").split("."):
        b = label.encode("latin-1")
        out += bytes([len(b)]) + b
    return out + b"\0"


def rr(owner, rtype, rdata, ttl=60):
    return name(owner) + struct.pack("!HHIH", rtype, 1, ttl, len(rdata)) + rdata


def srv(owner, prio, weight, port, target):
    return rr(owner, 33, struct.pack("!HHH", prio, weight, port) + name(target))


def a(owner, ip):
    return rr(owner, 1, socket.inet_pton(socket.AF_INET, ip))


def aaaa(owner, ip):
    return rr(owner, 28, socket.inet_pton(socket.AF_INET6, ip))


def cname(owner, target):
    return rr(owner, 5, name(target))


def parse_q(msg):
    i, labels = 12, []
    while msg[i]:
        labels.append(msg[i + 1:i + 1 + msg[i]].decode("latin-1"))
        i += 1 + msg[i]
    qtype, = struct.unpack("!H", msg[i + 1:i + 3])
    return ".".join(labels).lower(), qtype, msg[12:i + 5]


def answer(q, qtype):
    """(records, rcode, tc) or None for silence."""
    parts = q.split(".")
    zone = parts[-2] if len(parts) >= 2 else ""
    srvq = qtype == 33 and q.startswith("_p._tcp.")
    if zone == "silent":
        return None
    if zone == "ok":
        if srvq:
            return [srv(q, 10, 60, 1343, "t1.ok.test"),
                    srv(q, 10, 40, 1343, "t2.ok.test"),
                    srv(q, 20, 0, 1343, "t1.ok.test")], 0, False
        if q == "t1.ok.test" and qtype == 1:
            return [a(q, "10.77.0.1")], 0, False
        if q == "t1.ok.test" and qtype == 28:
            return [aaaa(q, "fd77::1")], 0, False
        if q == "t2.ok.test" and qtype == 1:
            return [a(q, "10.77.0.2")], 0, False
        return [], 0, False
    if zone == "trunc" and srvq:
        return [srv(q, 10, 10, 1343, "t1.ok.test")], 0, True
    if zone == "huge":
        if srvq:
            return [srv(q, 10, 1, 1343, "h%d.huge.test" % k)
                    for k in range(200)], 0, False
        if qtype == 1 and parts[0].startswith("h"):
            k = int(parts[0][1:])
            return [a(q, "10.78.%d.%d" % (k // 250, k % 250 + 1))], 0, False
        return [], 0, False
    if zone == "loop" and qtype == 33:
        return [cname("_p._tcp.loop.test", "a.loop.test"),
                cname("a.loop.test", "_p._tcp.loop.test")], 0, False
    if zone == "noaddr":
        if srvq:
            return [srv(q, 10, 10, 1343, "nx.noaddr.test")], 0, False
        return [], 3, False
    if zone == "badname" and srvq:
        return [srv(q, 10, 10, 1343, "a b\x01.badname.test")], 0, False
    if zone == "mcast":
        if srvq:
            return [srv(q, 10, 10, 1343, "m.mcast.test"),
                    srv(q, 10, 10, 1343, "z.mcast.test"),
                    srv(q, 10, 10, 1343, "g.mcast.test")], 0, False
        if qtype == 1:
            ip = {"m": "224.0.0.1", "z": "0.0.0.0", "g": "10.79.0.1"}
            return [a(q, ip.get(parts[0], "10.79.0.9"))], 0, False
        return [], 0, False
    if zone == "dot" and srvq:
        return [srv(q, 0, 0, 0, ".")], 0, False
    return [], 3, False


def main():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], int(sys.argv[2])))
    print("listening", flush=True)
    while True:
        msg, peer = s.recvfrom(4096)
        if len(msg) < 17:
            continue
        q, qtype, question = parse_q(msg)
        print("query %s %d" % (q, qtype), flush=True)
        res = answer(q, qtype)
        if res is None:
            continue
        records, rcode, tc = res
        flags = 0x8000 | 0x0400 | 0x0100 | 0x0080 | rcode | (0x0200 if tc else 0)
        hdr = msg[:2] + struct.pack("!HHHHH", flags, 1, len(records), 0, 0)
        s.sendto(hdr + question + b"".join(records), peer)


main()
