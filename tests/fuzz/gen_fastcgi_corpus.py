#!/usr/bin/env python3
"""Writes the seed corpus of fuzz_fastcgi to corpus/fastcgi/ (next to this script).

Each file is one configuration byte (see LLVMFuzzerTestOneInput: bits 0-1 pick the params bound,
0 = 1 MiB) followed by what a web server sends on one connection. Built from the FastCGI 1.0
specification, independently of the codec. Re-run after changing it and commit the files.
"""
import os
import struct

BEGIN, ABORT, END, PARAMS, STDIN, STDOUT, STDERR, DATA, GET_VALUES = range(1, 10)


def record(rtype, rid, content=b"", pad=None, version=1):
    if pad is None:
        pad = -len(content) % 8
    return struct.pack(">BBHHBx", version, rtype, rid, len(content), pad) + content + bytes(pad)


def length(n):
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def nv(name, value):
    return length(len(name)) + length(len(value)) + name + value


def begin(rid, role=1, keep=True):
    return record(BEGIN, rid, struct.pack(">HB5x", role, 1 if keep else 0))


def params(rid, pairs, split=None):
    body = b"".join(nv(n, v) for n, v in pairs)
    out = b""
    cuts = [0] + (split or []) + [len(body)]
    for a, b in zip(cuts, cuts[1:]):
        if b > a:
            out += record(PARAMS, rid, body[a:b])
    return out + record(PARAMS, rid)


def stdin(rid, body, chunk=65535):
    out = b"".join(record(STDIN, rid, body[i:i + chunk]) for i in range(0, len(body), chunk))
    return out + record(STDIN, rid)


NGINX = [
    (b"SCRIPT_FILENAME", b"/srv/www/index.php"),
    (b"QUERY_STRING", b"a=1&b=2"),
    (b"REQUEST_METHOD", b"GET"),
    (b"CONTENT_TYPE", b""),
    (b"CONTENT_LENGTH", b""),
    (b"SCRIPT_NAME", b"/index.php"),
    (b"REQUEST_URI", b"/index.php?a=1&b=2"),
    (b"DOCUMENT_ROOT", b"/srv/www"),
    (b"SERVER_PROTOCOL", b"HTTP/1.1"),
    (b"GATEWAY_INTERFACE", b"CGI/1.1"),
    (b"REMOTE_ADDR", b"127.0.0.1"),
    (b"SERVER_NAME", b"example.com"),
    (b"HTTP_HOST", b"example.com"),
]
POST = [(b"REQUEST_METHOD", b"POST"), (b"CONTENT_TYPE", b"application/x-www-form-urlencoded"),
        (b"CONTENT_LENGTH", b"11")]

SEEDS = {
    "get": begin(1) + params(1, NGINX) + stdin(1, b""),
    "get_close": begin(1, keep=False) + params(1, NGINX[:3]) + stdin(1, b""),
    "post": begin(1) + params(1, POST) + stdin(1, b"hello=world", chunk=4),
    "keep_conn_two_requests": begin(1) + params(1, NGINX) + stdin(1, b"") + begin(1) +
    params(1, POST) + stdin(1, b"hello=world"),
    "large_params_4byte": begin(2) + params(2, [(b"HTTP_COOKIE", b"c" * 300),
                                                (b"N" * 200, b"v")], split=[3, 150, 305]),
    "params_split_mid_pair": begin(1) + params(1, NGINX[:4], split=[1, 2, 17, 40]),
    "get_values": record(GET_VALUES, 0, nv(b"FCGI_MAX_CONNS", b"") + nv(b"FCGI_MAX_REQS", b"") +
                         nv(b"FCGI_MPXS_CONNS", b"")),
    "unknown_type": record(12, 0, b"abc") + record(BEGIN, 0, bytes(8)),
    "unknown_role": begin(1, role=2) + params(1, NGINX[:2]) + begin(2) + params(2, []),
    "cant_mpx": begin(1) + params(1, NGINX[:2]) + begin(2) + params(2, NGINX[:2]) +
    stdin(2, b"x") + stdin(1, b"y"),
    "abort": begin(3) + params(3, NGINX[:5]) + record(STDIN, 3, b"part") + record(ABORT, 3) +
    begin(4) + params(4, []),
    "padding_and_data": record(BEGIN, 1, struct.pack(">HB5x", 1, 1), pad=255) +
    record(PARAMS, 1, nv(b"A", b"b"), pad=3) + record(PARAMS, 1, pad=9) +
    record(DATA, 1, b"filter") + record(STDIN, 1, b"body", pad=0) + record(STDIN, 1),
    "other_ids": record(PARAMS, 9, nv(b"X", b"y")) + begin(1) + record(STDIN, 7, b"z") +
    params(1, []) + record(STDOUT, 5, b"o") + stdin(1, b""),
}
# A small params bound (config byte 1: 64 bytes) that the request exceeds.
SEEDS_CONFIG = {"params_bound": (1, begin(1) + params(1, NGINX))}


def main():
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fastcgi")
    os.makedirs(out, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(b"\x00" + data)
    for name, (config, data) in SEEDS_CONFIG.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(bytes([config]) + data)


if __name__ == "__main__":
    main()
