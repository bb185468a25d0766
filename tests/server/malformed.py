#!/usr/bin/env python3
"""Malformed-request test of the kv cache server (examples/kv).

    malformed.py --server PATH_TO_KVSERVER_BINARY

Starts the server on a free port with a short --timeout-ms, checks a few
well-formed requests, then sends a corpus of bad requests (each on a fresh
connection) and checks that each gets the status the spec gives it, that
closing errors carry "Connection: close" and are followed by a close, and that
non-closing errors keep the connection usable. Afterwards the server must
still serve the documents stored at the start, its /stats must count the bad
requests and the timeouts, and SIGTERM must make it exit with status 0 (under
ASan, LeakSanitizer turns a leak into a non-zero status).

Prints one line per case ("ok  name" / "FAIL name: expected X got Y") and
exits 1 if any case failed. Python 3 standard library only.
"""

import argparse
import json
import os
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TIMEOUT_MS = 300                  # --timeout-ms given to the server
TIMEOUT_S = TIMEOUT_MS / 1000.0
IDLE_S = 10 * TIMEOUT_S           # idle keep-alive connections closed after this
IO_TIMEOUT = 5.0                  # any single read/write of the test (slow sanitizer builds)
START_TIMEOUT = 30.0              # the "listening on" line
EXIT_TIMEOUT = 30.0               # exit after SIGTERM
WATCHDOG_S = 150                  # the whole test, whatever happens
CAPACITY = 1000
MAX_BODY = 1048576
MEMORY_LIMIT = 512 << 20          # GYRE_MEMORY_LIMIT given to the server

CLOSING_STATUSES = (400, 408, 411, 413, 414, 431, 501, 505)


# --------------------------------------------------------------- results ---

class Results:
    def __init__(self):
        self.lock = threading.Lock()
        self.failed = []
        self.count = 0

    def ok(self, name, detail=None):
        with self.lock:
            self.count += 1
            print("ok  " + name + ("" if detail is None else " (%s)" % detail), flush=True)

    def fail(self, name, expected, got):
        with self.lock:
            self.count += 1
            self.failed.append(name)
            print("FAIL %s: expected %s got %s" % (name, expected, got), flush=True)

    def check(self, name, cond, expected, got, show=False):
        """show: print got on the ok line too (measured values)."""
        if cond:
            self.ok(name, got if show else None)
        else:
            self.fail(name, expected, got)
        return cond


R = Results()


class Tally:
    """What the test sent, for the /stats checks at the end."""
    def __init__(self):
        self.lock = threading.Lock()
        self.closing_errors = 0   # requests the parser must reject (closing errors, truncations)
        self.answered = 0         # well-formed requests answered with 2xx/404/405
        self.r2xx = 0
        self.r404 = 0
        self.connections = 0      # connections the server certainly accepted

    def add(self, **kw):
        with self.lock:
            for k, v in kw.items():
                setattr(self, k, getattr(self, k) + v)


T = Tally()


# ---------------------------------------------------------- HTTP client ---

class Got(Exception):
    """Something other than a well-formed response arrived; str() says what."""


class Response:
    def __init__(self, status, reason, headers, body, head):
        self.status = status
        self.reason = reason
        self.headers = headers    # list of (lowercased name, value)
        self.body = body
        self.head = head

    def header(self, name):
        vals = [v for (n, v) in self.headers if n == name.lower()]
        return vals[0] if vals else None

    def closes(self):
        v = self.header("connection")
        return v is not None and v.strip().lower() == "close"

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __str__(self):
        s = "%d %s" % (self.status, self.reason)
        if self.closes():
            s += " (Connection: close)"
        if self.body:
            b = self.body[:80]
            s += " body %r%s" % (b, "..." if len(self.body) > 80 else "")
        return s


STATUS_RE = re.compile(rb"^HTTP/1\.1 ([1-5][0-9][0-9]) ([^\r\n]+)$")


class Conn:
    def __init__(self, port, timeout=IO_TIMEOUT, count=True):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.eof = False
        self.log = []             # what read_response got, for messages
        if count:
            T.add(connections=1)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()

    def send(self, data):
        """Sends all of data; False if the server had already closed."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def shut_wr(self):
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def _fill(self, what):
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise Got("no %s within %.1fs" % (what, self.sock.gettimeout()))
        except ConnectionResetError:
            raise Got("connection reset (%s)" % what)
        if not chunk:
            self.eof = True
        self.buf += chunk
        return chunk

    def read_response(self):
        try:
            r = self._read_response()
        except Got as e:
            self.log.append(str(e))
            raise
        self.log.append(str(r))
        return r

    def trail(self):
        """Everything read on this connection so far, for a failure message."""
        return " / ".join(self.log)

    def _read_response(self):
        while b"\r\n\r\n" not in self.buf:
            if self.eof:
                if self.buf:
                    raise Got("close after partial response %r" % self.buf[:200])
                raise Got("closed without a response")
            if len(self.buf) > 65536:
                raise Got("response head over 64 KiB")
            self._fill("response")
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.split(b"\r\n")
        m = STATUS_RE.match(lines[0])
        if not m:
            raise Got("malformed status line %r" % lines[0])
        headers = []
        for ln in lines[1:]:
            name, colon, value = ln.partition(b":")
            if not colon or not name or name != name.strip():
                raise Got("malformed response header %r" % ln)
            headers.append((name.decode("latin-1").lower(),
                            value.strip().decode("latin-1")))
        cls = [v for (n, v) in headers if n == "content-length"]
        if len(cls) != 1 or not cls[0].isdigit():
            raise Got("response without exactly one valid Content-Length: %r" % head)
        n = int(cls[0])
        self.buf = rest
        while len(self.buf) < n:
            if self.eof:
                raise Got("close in the middle of a %d-byte body" % n)
            self._fill("response body")
        body, self.buf = self.buf[:n], self.buf[n:]
        r = Response(int(m.group(1)), m.group(2).decode("latin-1"), headers, body, head)
        problems = format_problems(r)
        if problems:
            raise Got("badly formed response (%s): %s" % ("; ".join(problems), r))
        return r

    def wait_closed(self, timeout=IO_TIMEOUT):
        """'closed' (EOF), 'reset', or a description of what happened instead."""
        if self.buf:
            return "unexpected data %r" % self.buf[:100]
        if self.eof:
            return "closed"
        old = self.sock.gettimeout()
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return "connection still open after %.1fs" % timeout
        except ConnectionResetError:
            return "reset"
        finally:
            self.sock.settimeout(old)
        if data:
            return "unexpected data %r" % data[:100]
        self.eof = True
        return "closed"


def format_problems(r):
    """Spec: "HTTP/1.1 <code> <reason>", Content-Length, Content-Type iff JSON body."""
    p = []
    ct = r.header("content-type")
    if ct is not None:
        if ct.split(";")[0].strip().lower() != "application/json":
            p.append("Content-Type %r" % ct)
        else:
            try:
                r.json()
            except ValueError:
                p.append("Content-Type application/json but body is not JSON")
    if r.status in (200,) and r.body and ct is None:
        p.append("200 with a body but no Content-Type")
    if r.status in (201, 204) and r.body:
        p.append("%d with a non-empty body" % r.status)
    if r.status == 405 and r.header("allow") is None:
        p.append("405 without Allow")
    return p


def req(method, target, body=None, headers=(), version="HTTP/1.1"):
    h = "%s %s %s\r\nHost: 127.0.0.1\r\n" % (method, target, version)
    for x in headers:
        h += x + "\r\n"
    if body is not None:
        h += "Content-Length: %d\r\n" % len(body)
    return h.encode("latin-1") + b"\r\n" + (body or b"")


def put(key, body, **kw):
    if isinstance(body, str):
        body = body.encode("utf-8")
    return req("PUT", "/kv/" + key, body, **kw)


def get(key, **kw):
    return req("GET", "/kv/" + key, **kw)


def count_answer(status):
    if 200 <= status < 300:
        T.add(answered=1, r2xx=1)
    elif status == 404:
        T.add(answered=1, r404=1)
    elif status == 405:
        T.add(answered=1)


def roundtrip(conn, data):
    """Sends one request, returns the response (raises Got)."""
    if not conn.send(data):
        raise Got("server closed before the request was sent")
    r = conn.read_response()
    count_answer(r.status)
    return r


# ------------------------------------------------------------- documents ---

# Stored at the start and checked again at the end (the model of the cache).
DOCS = {
    "doc1": {"name": "gyre", "list": [1, 2, 3], "nested": {"a": None, "b": True, "f": 1.5}},
    "doc2": [1, "two", 3.25, False, None, {"x": []}, [], {}, -0.0, 1e-7, -2.5e+300, 9007199254740992],
    "doc3": "a string with \"quotes\", \\ backslash, / slash, \t tab, caf\u00e9 \u2713 \U0001F600",
    "doc4": 12345,
    "Doc.5_~-z9": {"escaped \u00e9\U0001F600": ["\u0001\u001f", "\n\r\b\f"], "": ""},
    "k" * 200: {"long key": True},
}
ASCII_JSON = {"doc1", "doc3", "Doc.5_~-z9"}   # sent with \u escapes; the others as raw UTF-8

MODEL = {}   # key -> document the server must hold


def doc_bytes(key):
    return json.dumps(DOCS[key], ensure_ascii=key in ASCII_JSON).encode("utf-8")


FOLLOWUP_KEY = "doc1"    # read on kept connections after an error


def check_followup(conn):
    """The connection still works: GET of a known document on it. '' or what went wrong."""
    try:
        r = roundtrip(conn, get(FOLLOWUP_KEY))
    except Got as e:
        return "follow-up GET on the same connection: %s" % e
    if r.status != 200 or r.json() != MODEL[FOLLOWUP_KEY]:
        return "follow-up GET on the same connection: %s" % r
    return ""


# ---------------------------------------------------------------- corpus ---
#
# (name, bytes sent on a fresh connection, expectation)
#   "NNN close"  response NNN with Connection: close, then the server closes
#   "NNN keep"   response NNN without Connection: close, and the connection
#                still answers a GET afterwards
#   "silent"     the client half-closes after sending; the server must close
#                without sending anything (a client that closes mid-request)

BIG = "x" * 9000

CORPUS = [
    # request line
    ("garbage",                  b"@#$%^&*()!\r\n\r\n",                              "400 close"),
    ("garbage words",            b"hello there this is not http\r\n\r\n",            "400 close"),
    ("binary with NULs",         b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x00\x00\r\n\r\n", "400 close"),
    ("NUL in request target",    b"GET /kv/a\x00b HTTP/1.1\r\nHost: x\r\n\r\n",      "400 close"),
    ("empty request line",       b"\r\nGET /kv/doc1 HTTP/1.1\r\n\r\n",               "400 close"),
    ("missing version",          b"GET /kv/doc1\r\n\r\n",                            "400 close"),
    ("missing target",           b"GET HTTP/1.1\r\n\r\n",                            "400 close"),
    ("space in method",          b"G ET /kv/doc1 HTTP/1.1\r\n\r\n",                  "400 close"),
    ("double space",             b"GET  /kv/doc1 HTTP/1.1\r\n\r\n",                  "400 close"),
    ("trailing space",           b"GET /kv/doc1 HTTP/1.1 \r\n\r\n",                  "400 close"),
    ("tab separator",            b"GET\t/kv/doc1\tHTTP/1.1\r\n\r\n",                 "400 close"),
    ("space in target",          b"GET /kv/a b HTTP/1.1\r\n\r\n",                    "400 close"),
    ("HTTP/2.0",                 b"GET /kv/doc1 HTTP/2.0\r\n\r\n",                   "505 close"),
    ("HTTP/1.2",                 b"GET /kv/doc1 HTTP/1.2\r\n\r\n",                   "505 close"),
    ("HTTP/1.x",                 b"GET /kv/doc1 HTTP/1.x\r\n\r\n",                   "400 close"),
    ("HTTP/9.9",                 b"GET /kv/doc1 HTTP/9.9\r\n\r\n",                   "505 close"),
    ("HTTP/0.9",                 b"GET /kv/doc1 HTTP/0.9\r\n\r\n",                   "505 close"),
    ("huge request line (414)",  ("GET /kv/%s HTTP/1.1\r\n\r\n" % ("a" * 2100)).encode(), "414 close"),
    # line endings
    ("bare LF everywhere",       b"GET /kv/doc1 HTTP/1.1\nHost: x\n\n",              "400 close"),
    ("bare LF after header",     b"GET /kv/doc1 HTTP/1.1\r\nHost: x\n\r\n",          "400 close"),
    ("bare CR in header",        b"GET /kv/doc1 HTTP/1.1\r\nHost: x\ry\r\n\r\n",     "400 close"),
    # header lines
    ("header without colon",     b"GET /kv/doc1 HTTP/1.1\r\nHost x\r\n\r\n",         "400 close"),
    ("header name with space",   b"GET /kv/doc1 HTTP/1.1\r\nHo st: x\r\n\r\n",       "400 close"),
    ("space before colon",       b"GET /kv/doc1 HTTP/1.1\r\nHost : x\r\n\r\n",       "400 close"),
    ("empty header name",        b"GET /kv/doc1 HTTP/1.1\r\n: x\r\n\r\n",            "400 close"),
    ("obs-fold continuation",    b"GET /kv/doc1 HTTP/1.1\r\nX-A: a\r\n b\r\n\r\n",   "400 close"),
    ("control char in value",    b"GET /kv/doc1 HTTP/1.1\r\nX-A: a\x01b\r\n\r\n",    "400 close"),
    ("NUL in header value",      b"GET /kv/doc1 HTTP/1.1\r\nX-A: a\x00b\r\n\r\n",    "400 close"),
    ("DEL in header name",       b"GET /kv/doc1 HTTP/1.1\r\nX-\x7f: a\r\n\r\n",      "400 close"),
    ("huge header section (431)",
        ("GET /kv/doc1 HTTP/1.1\r\nX-Big: %s\r\n\r\n" % BIG).encode(),               "431 close"),
    ("huge header, unterminated (431)",
        ("GET /kv/doc1 HTTP/1.1\r\nX-Big: %s" % BIG).encode(),                       "431 close"),
    ("65 headers (431)",
        b"GET /kv/doc1 HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(65)) + b"\r\n",
                                                                                     "431 close"),
    # bodies and their framing
    ("Content-Length negative",  b"PUT /kv/cl HTTP/1.1\r\nContent-Length: -1\r\n\r\n1", "400 close"),
    ("Content-Length non-numeric", b"PUT /kv/cl HTTP/1.1\r\nContent-Length: abc\r\n\r\n1", "400 close"),
    ("Content-Length empty",     b"PUT /kv/cl HTTP/1.1\r\nContent-Length: \r\n\r\n",  "400 close"),
    ("Content-Length plus sign", b"PUT /kv/cl HTTP/1.1\r\nContent-Length: +1\r\n\r\n1", "400 close"),
    ("Content-Length two numbers", b"PUT /kv/cl HTTP/1.1\r\nContent-Length: 1 1\r\n\r\n1", "400 close"),
    ("Content-Length hex",       b"PUT /kv/cl HTTP/1.1\r\nContent-Length: 0x1\r\n\r\n1", "400 close"),
    ("Content-Length duplicate different",
        b"PUT /kv/cl HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n12",  "400 close"),
    # RFC 9112 6.3: copies that agree may be accepted, and are.
    ("Content-Length duplicate same",
        b"GET /kv/doc1 HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n1", "200 keep"),
    ("Content-Length list",      b"PUT /kv/cl HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n1", "400 close"),
    ("Content-Length 1 MiB + 1 (413)",
        b"PUT /kv/cl HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n",                   "413 close"),
    ("Content-Length 2^64 + 1 (413)",
        b"PUT /kv/cl HTTP/1.1\r\nContent-Length: 18446744073709551617\r\n\r\n",     "413 close"),
    ("PUT without Content-Length (411)", b"PUT /kv/cl HTTP/1.1\r\nHost: x\r\n\r\n", "411 close"),
    ("Transfer-Encoding chunked (501)",
        b"PUT /kv/cl HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n1\r\n0\r\n\r\n", "501 close"),
    ("Transfer-Encoding on GET (501)",
        b"GET /kv/doc1 HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n",             "501 close"),
    ("Transfer-Encoding + Content-Length (501)",
        b"PUT /kv/cl HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n1", "501 close"),
    # clients that close mid-request
    ("truncated body then close", b"PUT /kv/cl HTTP/1.1\r\nContent-Length: 100\r\n\r\n[1,2,3]", "silent"),
    ("truncated headers then close", b"GET /kv/doc1 HTTP/1.1\r\nHost: 127.0", "silent"),
    ("truncated request line then close", b"GET /kv/do", "silent"),

    # errors that keep the connection: invalid JSON bodies
    ("JSON unterminated string", put("badjson", '"abc'),                              "400 keep"),
    ("JSON unterminated object", put("badjson", '{"a": 1'),                           "400 keep"),
    ("JSON trailing comma array", put("badjson", "[1,2,]"),                           "400 keep"),
    ("JSON trailing comma object", put("badjson", '{"a":1,}'),                        "400 keep"),
    ("JSON depth 33",            put("badjson", "[" * 33 + "]" * 33),                 "400 keep"),
    ("JSON depth 40",            put("badjson", "[" * 40 + "]" * 40),                 "400 keep"),
    ("JSON depth 40 objects",    put("badjson", '{"a":' * 40 + "1" + "}" * 40),      "400 keep"),
    ("JSON depth 40 unclosed",   put("badjson", "[" * 40),                            "400 keep"),
    ("JSON bad escape",          put("badjson", r'"a\x41"'),                          "400 keep"),
    ("JSON bad \\u hex",         put("badjson", r'"\u12G4"'),                         "400 keep"),
    ("JSON short \\u",           put("badjson", r'"\u12"'),                           "400 keep"),
    ("JSON raw newline in string", put("badjson", '"a\nb"'),                          "400 keep"),
    ("JSON raw control in string", put("badjson", '"a\x01b"'),                        "400 keep"),
    ("JSON NaN",                 put("badjson", "NaN"),                               "400 keep"),
    ("JSON Infinity",            put("badjson", "[Infinity]"),                        "400 keep"),
    ("JSON leading zero",        put("badjson", "01"),                                "400 keep"),
    ("JSON leading zero in array", put("badjson", "[1, 01]"),                         "400 keep"),
    ("JSON minus alone",         put("badjson", "-"),                                 "400 keep"),
    ("JSON dot without digits",  put("badjson", "1."),                                "400 keep"),
    ("JSON leading dot",         put("badjson", ".5"),                                "400 keep"),
    ("JSON exponent without digits", put("badjson", "1e"),                            "400 keep"),
    ("JSON plus sign",           put("badjson", "+1"),                                "400 keep"),
    ("JSON hex number",          put("badjson", "0x10"),                              "400 keep"),
    ("JSON empty body",          put("badjson", ""),                                  "400 keep"),
    ("JSON whitespace only",     put("badjson", "  \r\n "),                           "400 keep"),
    ("JSON two values",          put("badjson", "1 2"),                               "400 keep"),
    ("JSON trailing garbage",    put("badjson", '{"a":1}x'),                          "400 keep"),
    ("JSON truncated true",      put("badjson", "tru"),                               "400 keep"),
    ("JSON capital True",        put("badjson", "True"),                              "400 keep"),
    ("JSON single quotes",       put("badjson", "{'a': 1}"),                          "400 keep"),
    ("JSON unquoted key",        put("badjson", "{a: 1}"),                            "400 keep"),
    ("JSON missing colon",       put("badjson", '{"a" 1}'),                           "400 keep"),
    ("JSON number key",          put("badjson", "{1: 2}"),                            "400 keep"),
    ("JSON comment",             put("badjson", "[1 /* c */]"),                       "400 keep"),
    ("JSON invalid UTF-8 bytes", put("badjson", b'"\xff\xfe"'),                       "400 keep"),
    ("JSON UTF-8-encoded surrogate", put("badjson", b'"\xed\xa0\x80"'),              "400 keep"),
    ("JSON overlong UTF-8",      put("badjson", b'"\xc0\xaf"'),                       "400 keep"),
    ("JSON truncated UTF-8",     put("badjson", b'"\xe2\x82"'),                       "400 keep"),
    ("JSON UTF-8 above U+10FFFF", put("badjson", b'"\xf4\x90\x80\x80"'),             "400 keep"),
    ("JSON NUL byte",            put("badjson", b'"a\x00b"'),                         "400 keep"),
    # errors that keep the connection: keys, paths, methods
    ("empty key",                get(""),                                             "400 keep"),
    ("key %20",                  get("a%20b"),                                        "400 keep"),
    ("key %00",                  get("%00"),                                          "400 keep"),
    ("key with slash",           get("a/b"),                                          "400 keep"),
    ("key of 201 bytes",         get("k" * 201),                                      "400 keep"),
    ("key of 2044 bytes (target 2048)", get("k" * 2044),                              "400 keep"),
    ("PUT empty key",            put("", "1"),                                        "400 keep"),
    ("PUT key of 201 bytes",     put("k" * 201, "1"),                                 "400 keep"),
    ("DELETE bad key",           req("DELETE", "/kv/a%2Fb"),                          "400 keep"),
    ("unknown path /",           req("GET", "/"),                                     "404 keep"),
    ("unknown path /kv",         req("GET", "/kv"),                                   "404 keep"),
    ("unknown path /kvx/a",      req("GET", "/kvx/a"),                                "404 keep"),
    ("unknown path /stats/x",    req("GET", "/stats/x"),                              "404 keep"),
    ("absent key 404",           get("no-such-key"),                                  "404 keep"),
    ("200-byte absent key 404",  get("z" * 200),                                      "404 keep"),
    ("POST /kv/x (405)",         req("POST", "/kv/x"),                                "405 keep"),
    ("POST /kv/x with body (405)", req("POST", "/kv/x", b'{"a":1}'),                  "405 keep"),
    ("HEAD /kv/doc1 (405)",      req("HEAD", "/kv/doc1"),                             "405 keep"),
    ("OPTIONS /kv/doc1 (405)",   req("OPTIONS", "/kv/doc1"),                          "405 keep"),
    ("PUT /stats (405)",         req("PUT", "/stats", b"{}"),                         "405 keep"),
    # RFC 9110 would make "get" a valid, unknown method (405 here); the spec's
    # author counts it as a malformed request line, as the server does.
    ("lowercase method",         req("get", "/kv/doc1"),                              "400 close"),
    ("method with digits",       req("G3T", "/kv/doc1"),                              "400 close"),
    # well-formed edge cases that must work
    ("64 headers",               b"GET /kv/doc1 HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(64)) + b"\r\n", "200 keep"),
    ("header section of 8000 bytes",
        ("GET /kv/doc1 HTTP/1.1\r\nX-Big: %s\r\n\r\n" % ("y" * (8000 - 40))).encode(), "200 keep"),
    ("target of 2048 bytes",     req("GET", "/" + "p" * 2047),                        "404 keep"),
    ("GET with a body",          req("GET", "/kv/doc1", b"ignored"),                  "200 keep"),
    ("DELETE absent",            req("DELETE", "/kv/no-such-key"),                    "404 keep"),
    ("header value with tab",    b"GET /kv/doc1 HTTP/1.1\r\nX-A: a\tb\r\n\r\n",       "200 keep"),
    ("header without space",     b"GET /kv/doc1 HTTP/1.1\r\nX-A:b\r\nHOST:x\r\n\r\n", "200 keep"),
    ("HTTP/1.0 with keep-alive", get("doc1", version="HTTP/1.0", headers=["Connection: keep-alive"]), "200 keep"),
    ("HTTP/1.0 (closes)",        get("doc1", version="HTTP/1.0"),                     "200 close"),
    ("Connection: close",        get("doc1", headers=["Connection: close"]),          "200 close"),
]


def responsive(port):
    """After a failure: does the server still answer a GET /stats at all?"""
    try:
        with Conn(port, count=False) as c:
            c.send(req("GET", "/stats"))
            c.read_response()
            return True
    except (Got, OSError):
        return False


def run_corpus_case(port, name, data, expect):
    code = None
    if expect == "silent":
        want = "no response and a close"
    else:
        code, mode = expect.split()
        code = int(code)
        want = "%d%s" % (code, " + Connection: close + close" if mode == "close"
                         else " with the connection kept")
    with Conn(port) as c:
        sent = c.send(data)
        if expect == "silent":
            c.shut_wr()
            got = c.wait_closed()
            T.add(closing_errors=1)
            return R.check(name, got == "closed", want, got)
        try:
            r = c.read_response()
        except Got as e:
            return R.fail(name, want, "%s%s" % (e, "" if sent else " (send failed)"))
        count_answer(r.status)
        if mode == "close" and code in CLOSING_STATUSES:
            T.add(closing_errors=1)
        if r.status != code:
            return R.fail(name, want, str(r))
        if mode == "close":
            if not r.closes():
                return R.fail(name, want, "%s without Connection: close" % r)
            got = c.wait_closed()
            if got not in ("closed", "reset"):
                return R.fail(name, want, "%s, then %s" % (r, got))
            return R.ok(name)
        if r.closes():
            return R.fail(name, want, str(r))
        problem = check_followup(c)
        if problem:
            return R.fail(name, want, "%s, then %s" % (r, problem))
        return R.ok(name)


# ------------------------------------------------------- stateful cases ---

def case_sanity(port):
    ok = True
    with Conn(port) as c:
        for key in DOCS:
            try:
                r = roundtrip(c, put(key, doc_bytes(key)))
            except Got as e:
                return R.fail("sanity PUT " + key[:20], "201", e)
            if R.check("sanity PUT " + key[:20], r.status == 201 and not r.closes(), "201", r):
                MODEL[key] = DOCS[key]
            else:
                ok = False
        for key in DOCS:
            for suffix in ("", "?critical"):
                name = "sanity GET " + key[:20] + suffix
                try:
                    r = roundtrip(c, get(key + suffix))
                    doc = r.json() if r.status == 200 else None
                except (Got, ValueError) as e:
                    return R.fail(name, "200 + the document", e)
                ok &= R.check(name, r.status == 200 and doc == DOCS[key],
                              "200 + %s" % json.dumps(DOCS[key])[:60], r)
        try:
            r = roundtrip(c, put("doc4", "[4]"))
            ok &= R.check("sanity PUT replace", r.status == 200, "200", r)
            MODEL["doc4"] = [4]
            r1 = roundtrip(c, req("DELETE", "/kv/doc4"))
            r2 = roundtrip(c, get("doc4"))
            r3 = roundtrip(c, req("DELETE", "/kv/doc4"))
            del MODEL["doc4"]
            ok &= R.check("sanity DELETE", (r1.status, r2.status, r3.status) == (204, 404, 404),
                          "204, then 404 on GET and DELETE",
                          "%s / %s / %s" % (r1, r2, r3))
            for text, doc in (("1", 1), ('"s"', "s"), ("true", True), ("false", False),
                              ("null", None), ("-0", 0), ("1E5", 1e5), ("-1.5e-3", -1.5e-3),
                              ("  [ 1 ,\t{ \"a\" : [ ] } ]\r\n", [1, {"a": []}]),
                              ("[" * 32 + "]" * 32, json.loads("[" * 32 + "]" * 32))):
                key = "scalar-" + str(len(MODEL))
                r1 = roundtrip(c, put(key, text))
                r2 = roundtrip(c, get(key))
                good = r1.status == 201 and r2.status == 200 and r2.json() == doc
                if good:
                    MODEL[key] = doc
                ok &= R.check("sanity JSON %r" % text[:20], good, "201, then 200 + %r" % (doc,),
                              "%s / %s" % (r1, r2))
            r = roundtrip(c, req("GET", "/stats"))
            st = r.json() if r.status == 200 else None
            ok &= R.check("sanity /stats", isinstance(st, dict), "200 + a JSON object", r)
        except (Got, ValueError) as e:
            ok = R.fail("sanity", "well-formed responses", e)
    return ok


def case_slow_client(port, out):
    """Half a request, then nothing: 408 + close after about --timeout-ms."""
    name = "slow client (408)"
    want = "408 + Connection: close + close after ~%.1fs" % TIMEOUT_S
    try:
        with Conn(port) as c:
            t0 = time.monotonic()
            c.send(b"GET /kv/doc1 HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            r = c.read_response()
            dt = time.monotonic() - t0
            closed = c.wait_closed()
            T.add(closing_errors=1)
            out[name] = R.check(name, r.status == 408 and r.closes() and closed in ("closed", "reset")
                                and TIMEOUT_S * 0.8 <= dt < IDLE_S * 0.8,
                                want, "%s after %.2fs, then %s" % (r, dt, closed), show=True)
    except Got as e:
        out[name] = R.fail(name, want, e)


def case_slowloris(port, out):
    """A request dribbled a byte every 50 ms: the timeout runs from its start."""
    name = "slowloris (408)"
    want = "408 + close about %.1fs after the first byte" % TIMEOUT_S
    data = b"GET /kv/doc1 HTTP/1.1\r\nX-Slow: " + b"a" * 200
    try:
        with Conn(port) as c:
            t0 = time.monotonic()
            i = 0
            while i < len(data) and time.monotonic() - t0 < 4 * TIMEOUT_S + 1.0:
                if not c.send(data[i:i + 1]):
                    break
                i += 1
                rl, _, _ = select.select([c.sock], [], [], 0.05)
                if rl:
                    break
            r = c.read_response()
            dt = time.monotonic() - t0
            closed = c.wait_closed()
            T.add(closing_errors=1)
            out[name] = R.check(name, r.status == 408 and r.closes() and closed in ("closed", "reset")
                                and TIMEOUT_S * 0.8 <= dt < 2 * TIMEOUT_S + 1.0,
                                want, "%s after %.2fs, then %s" % (r, dt, closed), show=True)
    except Got as e:
        out[name] = R.fail(name, want, e)


def case_idle(port, out, after_request):
    """Nothing pending: closed silently after about 10 * --timeout-ms."""
    name = "idle connection closed silently" + (" (after a request)" if after_request else "")
    want = "a close without a response after ~%.1fs" % IDLE_S
    try:
        with Conn(port, timeout=IDLE_S * 4) as c:
            if after_request:
                r = roundtrip(c, get("doc1"))
                if r.status != 200:
                    out[name] = R.fail(name, "200 first", r)
                    return
            t0 = time.monotonic()
            got = c.wait_closed(timeout=IDLE_S * 3)
            dt = time.monotonic() - t0
            out[name] = R.check(name, got == "closed" and IDLE_S * 0.8 <= dt <= IDLE_S * 2.5, want,
                                "%s after %.2fs" % (got, dt), show=True)
    except Got as e:
        out[name] = R.fail(name, want, e)


def case_pipelined(port):
    ok = True
    name = "pipelined GETs"
    with Conn(port) as c:
        try:
            c.send(get("doc1") + get("doc2"))
            r1 = c.read_response()
            r2 = c.read_response()
            count_answer(r1.status)
            count_answer(r2.status)
            ok &= R.check(name, r1.status == 200 and r1.json() == MODEL["doc1"] and
                          r2.status == 200 and r2.json() == MODEL["doc2"],
                          "200 doc1 then 200 doc2", "%s / %s" % (r1, r2))
        except (Got, ValueError) as e:
            ok = R.fail(name, "two responses in order", c.trail() if c.log else e)
        name = "pipelined PUT/GET/DELETE/GET"
        try:
            c.send(put("pipe", '{"p":1}') + get("pipe") + req("DELETE", "/kv/pipe") + get("pipe")
                   + req("GET", "/nowhere") + get("doc2"))
            rs = [c.read_response() for _ in range(6)]
            for r in rs:
                count_answer(r.status)
            ok &= R.check(name, [r.status for r in rs] == [201, 200, 204, 404, 404, 200]
                          and rs[1].json() == {"p": 1} and rs[5].json() == MODEL["doc2"],
                          "201 200 204 404 404 200", " / ".join(map(str, rs)))
        except (Got, ValueError) as e:
            ok = R.fail(name, "six responses in order", c.trail() if c.log else e)
    name = "pipelined GET then garbage"
    with Conn(port) as c:
        try:
            c.send(get("doc1") + b"garbage\r\n\r\n" + get("doc1"))
            r1 = c.read_response()
            count_answer(r1.status)
            r2 = c.read_response()
            T.add(closing_errors=1)
            closed = c.wait_closed()
            ok &= R.check(name, r1.status == 200 and r2.status == 400 and r2.closes()
                          and closed in ("closed", "reset"),
                          "200, then 400 + Connection: close + close (nothing for the 3rd)",
                          "%s / %s / %s" % (r1, r2, closed))
        except Got as e:
            ok = R.fail(name, "200 then 400 + close", c.trail() if c.log else e)
    name = "pipelined bad JSON then GET"
    with Conn(port) as c:
        try:
            c.send(put("badjson", "[1,") + get("doc1"))
            r1 = c.read_response()
            r2 = c.read_response()
            count_answer(r2.status)
            ok &= R.check(name, r1.status == 400 and not r1.closes() and r2.status == 200
                          and r2.json() == MODEL["doc1"], "400 then 200 doc1", "%s / %s" % (r1, r2))
        except (Got, ValueError) as e:
            ok = R.fail(name, "400 then 200", c.trail() if c.log else e)
    return ok


def case_escaped_surrogates(port):
    """Lone surrogate escapes fit the JSON grammar (RFC 8259 8.2 leaves them
    to the parser): either a 400 with the connection kept, or stored and
    given back so that json.loads of it equals json.loads of what was PUT."""
    ok = True
    for i, text in enumerate((r'"\ud800x"', r'"\udc00"', r'"\ud800\u0041"', r'["\udbff"]')):
        name = "JSON escaped lone surrogate %s" % text
        key = "surrogate%d" % i
        want = "400 (kept) or 201 + an equal document on GET"
        with Conn(port) as c:
            try:
                r1 = roundtrip(c, put(key, text))
                if r1.status == 400 and not r1.closes():
                    problem = check_followup(c)
                    ok &= R.check(name, not problem, want, "%s, then %s" % (r1, problem))
                    continue
                r2 = roundtrip(c, get(key))
                good = r1.status == 201 and r2.status == 200 and r2.json() == json.loads(text)
                if r2.status == 200:
                    MODEL[key] = json.loads(text)
                ok &= R.check(name, good, want, "%s / %s" % (r1, r2))
            except (Got, ValueError) as e:
                ok = R.fail(name, want, c.trail() if c.log else e)
    return ok


def case_pretty_printed(port):
    """Line feeds inside a body are JSON whitespace, not HTTP line ends."""
    ok = True
    doc = {"pretty": [1, {"a": "b"}], "x": None}
    text = json.dumps(doc, indent=2) + "\n"
    name = "PUT of a pretty-printed body (LF in the body)"
    want = "201, then 200 + the document"
    with Conn(port) as c:
        try:
            r1 = roundtrip(c, put("pretty", text))
            r2 = roundtrip(c, get("pretty"))
            good = r1.status == 201 and r2.status == 200 and r2.json() == doc
            if r2.status == 200:
                MODEL["pretty"] = r2.json()
            ok &= R.check(name, good, want, "%s / %s" % (r1, r2))
        except (Got, ValueError) as e:
            ok = R.fail(name, want, c.trail() if c.log else e)
    name = "pipelined GET then PUT with LF in the body"
    want = "200 doc1, then 201"
    with Conn(port) as c:
        try:
            c.send(get("doc1") + put("pretty2", "[\n1\n]"))
            r1 = c.read_response()
            count_answer(r1.status)
            r2 = c.read_response()
            count_answer(r2.status)
            if r2.status in (200, 201):
                MODEL["pretty2"] = [1]
            ok &= R.check(name, r1.status == 200 and r1.json() == MODEL["doc1"] and r2.status == 201,
                          want, "%s / %s" % (r1, r2))
        except (Got, ValueError) as e:
            ok = R.fail(name, want, c.trail() if c.log else e)
    return ok


def case_byte_by_byte(port):
    name = "request split byte by byte"
    body = b'{"split":[1,2]}'
    data = put("split", body)
    want = "201, then 200 + the document"
    with Conn(port) as c:
        try:
            t0 = time.monotonic()
            for i in range(len(data)):
                if not c.send(data[i:i + 1]):
                    return R.fail(name, want, "server closed at byte %d" % i)
                time.sleep(0.001)
            dt = time.monotonic() - t0
            r1 = c.read_response()
            count_answer(r1.status)
            r2 = roundtrip(c, get("split"))
            good = r1.status == 201 and r2.status == 200 and r2.json() == {"split": [1, 2]}
            if good:
                MODEL["split"] = {"split": [1, 2]}
            return R.check(name, good, want, "%s / %s (sending took %.2fs)" % (r1, r2, dt))
        except (Got, ValueError) as e:
            return R.fail(name, want, c.trail() if c.log else e)


def case_max_body(port):
    """A body of exactly 1 MiB is accepted."""
    name = "body of exactly 1 MiB"
    doc = "m" * (MAX_BODY - 2)
    data = put("big", json.dumps(doc))
    want = "201, then 200 + the document, then 204"
    with Conn(port) as c:
        try:
            r1 = roundtrip(c, data)
            r2 = roundtrip(c, get("big"))
            r3 = roundtrip(c, req("DELETE", "/kv/big"))
            return R.check(name, r1.status == 201 and r2.status == 200 and r2.json() == doc
                           and r3.status == 204, want,
                           "%s / %s / %s" % (r1, str(r2)[:60], r3))
        except (Got, ValueError) as e:
            return R.fail(name, want, c.trail() if c.log else e)


def case_many_connections(port, n=200):
    name = "%d connections opened and dropped" % n
    socks = []
    err = None
    try:
        for i in range(n):
            s = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
            socks.append(s)
            if i % 3 == 1:
                s.sendall(b"GET /kv/doc1 HTTP/1.1\r\nHo")          # partial request
            elif i % 3 == 2:
                s.sendall(get("doc1") + get("doc2"))                 # full, never read
            if i % 2 == 0:                                           # half of them reset
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    except OSError as e:
        err = "connect/send failed after %d connections: %s" % (len(socks), e)
    for s in socks:
        s.close()
    if err:
        return R.fail(name, "all connections accepted", err)
    # The server must still answer promptly.
    time.sleep(0.1)
    with Conn(port) as c:
        try:
            r = roundtrip(c, get("doc1"))
            return R.check(name, r.status == 200 and r.json() == MODEL["doc1"],
                           "200 doc1 afterwards", r)
        except (Got, ValueError) as e:
            return R.fail(name, "200 doc1 afterwards", e)


def case_final(port, manager):
    """The server still works, the documents are intact, /stats adds up."""
    ok = True

    def one(data):
        """A request on its own connection: the response, or what went wrong (a str)."""
        try:
            with Conn(port) as c:
                return roundtrip(c, data)
        except Got as e:
            return str(e)

    def doc_of(r):
        try:
            return r.json()
        except ValueError:
            return "(not JSON)"

    fresh = {"fresh": [True, None, "x"]}
    r1 = one(put("fresh", json.dumps(fresh)))
    r2 = one(get("fresh"))
    good = (not isinstance(r1, str) and not isinstance(r2, str) and r1.status == 201
            and r2.status == 200 and doc_of(r2) == fresh)
    if not isinstance(r2, str) and r2.status == 200:
        MODEL["fresh"] = fresh
    ok &= R.check("final PUT/GET round trip", good, "201 then 200 + the document", "%s / %s" % (r1, r2))
    bad = []
    for key, doc in MODEL.items():
        r = one(get(key))
        if isinstance(r, str) or r.status != 200 or doc_of(r) != doc:
            bad.append("%s: %s" % (key[:20], r))
    ok &= R.check("final documents intact (%d)" % len(MODEL), not bad,
                  "200 + the stored document for each", "; ".join(bad))
    for key in ("badjson", "cl", "pipe", "x", "big"):
        r = one(get(key))
        ok &= R.check("final no document under %r" % key, not isinstance(r, str) and r.status == 404,
                      "404", r)
    r = one(req("GET", "/stats"))
    st = None if isinstance(r, str) or r.status != 200 else doc_of(r)
    if not R.check("final /stats", isinstance(st, dict), "200 + a JSON object", r):
        return False

    def field(*path):
        v = st
        for p in path:
            if not isinstance(v, dict) or p not in v:
                return None
            v = v[p]
        return v

    def num(v):
        return isinstance(v, (int, float)) and not isinstance(v, bool)

    checks = [
        ("stats manager", field("manager") == manager, repr(manager), field("manager")),
        ("stats threads", field("threads") == 2, "2", field("threads")),
        ("stats bad_requests", num(field("bad_requests")) and field("bad_requests") >= T.closing_errors,
         ">= %d" % T.closing_errors, field("bad_requests")),
        ("stats closed_slow", num(field("closed_slow")) and field("closed_slow") >= 2,
         ">= 2 (the 408s and the idle closes)", field("closed_slow")),
        ("stats requests", num(field("requests")) and field("requests") >= T.answered,
         ">= %d" % T.answered, field("requests")),
        ("stats responses 2xx", num(field("responses", "2xx")) and field("responses", "2xx") >= T.r2xx,
         ">= %d" % T.r2xx, field("responses", "2xx")),
        ("stats responses 404", num(field("responses", "404")) and field("responses", "404") >= T.r404,
         ">= %d" % T.r404, field("responses", "404")),
        ("stats responses 4xx", num(field("responses", "4xx")) and field("responses", "4xx") >= 1,
         ">= 1", field("responses", "4xx")),
        ("stats connections", num(field("connections")) and field("connections") >= T.connections,
         ">= %d" % T.connections, field("connections")),
        ("stats cache entries", field("cache", "entries") == len(MODEL), str(len(MODEL)),
         field("cache", "entries")),
        ("stats cache capacity", field("cache", "capacity") == CAPACITY, str(CAPACITY),
         field("cache", "capacity")),
        ("stats critical requests", num(field("critical", "requests")) and field("critical", "requests") >= len(DOCS),
         ">= %d" % len(DOCS), field("critical", "requests")),
        ("stats gc", (field("gc") is None) == (manager in ("glibc", "jemalloc")),
         "null iff a malloc manager", "%.60r" % (field("gc"),)),
        # gyre's memory limit, as the environment set it, and what gyre
        # holds under it.
        ("stats memory limit", manager != "gyre" or
         (field("gc", "controls", "memory_limit") == MEMORY_LIMIT and
          num(field("gc", "controls", "memory_total")) and
          0 < field("gc", "controls", "memory_total") < MEMORY_LIMIT and
          all(num(field("gc", "controls", k)) for k in
              ("limit_reached", "limit_exceeded", "limit_held_ms", "limit_refused"))),
         "memory_limit %d, 0 < memory_total < it, the counters for gyre" % MEMORY_LIMIT,
         "%.200r" % (field("gc", "controls"),)),
        # gyre's index of recent PUTs, through weak references: the
        # documents still cached (the last PUT's at least) are in memory.
        ("stats recent_puts", (field("recent_puts") is None) == (manager != "gyre") and
         (manager != "gyre" or (num(field("recent_puts", "tracked")) and
                                field("recent_puts", "tracked") >= 1 and
                                1 <= field("recent_puts", "in_memory") <= field("recent_puts", "tracked"))),
         "an object with 1 <= in_memory <= tracked for gyre, null otherwise",
         "%.80r" % (field("recent_puts"),)),
    ]
    for name, cond, want, got in checks:
        ok &= R.check(name, cond, want, got) if name in ("stats gc", "stats recent_puts",
                                                         "stats memory limit") else \
            R.check(name, cond, want, "%s, expected %s" % (got, want) if cond else got, show=True)
    return ok


# ---------------------------------------------------------------- server ---

class Server:
    def __init__(self, path):
        self.stderr = tempfile.TemporaryFile()
        # gyre's memory limit, for /stats to show (the other managers
        # ignore it).
        env = dict(os.environ, GYRE_MEMORY_LIMIT=str(MEMORY_LIMIT))
        self.proc = subprocess.Popen(
            [path, "--port", "0", "--threads", "2", "--capacity", str(CAPACITY),
             "--prefill", "0", "--timeout-ms", str(TIMEOUT_MS)],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self.stderr, env=env)

    def read_listening(self):
        """(manager, port) from the first stdout line, or raises Got."""
        fd = self.proc.stdout.fileno()
        buf = b""
        deadline = time.monotonic() + START_TIMEOUT
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Got("no line on stdout within %.0fs (so far %r)" % (START_TIMEOUT, buf))
            r, _, _ = select.select([fd], [], [], left)
            if r:
                chunk = os.read(fd, 4096)
                if not chunk:
                    raise Got("stdout closed (exit status %s), output %r" % (self.proc.wait(), buf))
                buf += chunk
        line, _, self.extra_stdout = buf.partition(b"\n")
        m = re.fullmatch(rb"kvserver (gyre|boehm|jemalloc|glibc) listening on 127\.0\.0\.1:([0-9]+)", line)
        if not m:
            raise Got("first line %r" % line)
        return m.group(1).decode(), int(m.group(2))

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """(exit status or None on timeout, stdout after the first line)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(EXIT_TIMEOUT)
        except subprocess.TimeoutExpired:
            status = None
            self.proc.kill()
            self.proc.wait()
        rest = self.extra_stdout + self.proc.stdout.read()
        return status, rest

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stderr_text(self):
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")


def print_stderr(server):
    text = server.stderr_text()
    print("---- server stderr (%d bytes) ----" % len(text))
    print(text[-20000:], end="" if text.endswith("\n") or not text else "\n")
    print("---- end of server stderr ----", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--server", required=True, help="path to a kvserver-* binary")
    args = ap.parse_args()
    if not os.access(args.server, os.X_OK):
        print("FAIL start: %s is not an executable" % args.server)
        return 1

    server = Server(args.server)

    def watchdog(signum, frame):
        print("FAIL watchdog: the test did not finish within %ds" % WATCHDOG_S, flush=True)
        server.kill()
        print_stderr(server)
        os._exit(1)
    signal.signal(signal.SIGALRM, watchdog)
    signal.alarm(WATCHDOG_S)

    t_start = time.monotonic()
    try:
        manager, port = server.read_listening()
        R.ok("start (%s on port %d)" % (manager, port))
    except Got as e:
        R.fail("start", '"kvserver <manager> listening on 127.0.0.1:<port>"', e)
        server.kill()
        print_stderr(server)
        return 1

    if not case_sanity(port) or not server.alive():
        # Without the documents the rest would only produce noise.
        print("(sanity failed: skipping the corpus)")
    else:
        # The timing cases run in the background while the corpus runs.
        timed = {}
        threads = [threading.Thread(target=case_idle, args=(port, timed, False)),
                   threading.Thread(target=case_idle, args=(port, timed, True)),
                   threading.Thread(target=case_slow_client, args=(port, timed)),
                   threading.Thread(target=case_slowloris, args=(port, timed))]
        for t in threads:
            t.start()
        usable = True
        for name, data, expect in CORPUS:
            before = len(R.failed)
            run_corpus_case(port, name, data, expect)
            if not server.alive():
                R.fail("server alive after " + repr(name), "running", "exit status %s" % server.proc.poll())
                usable = False
                break
            if len(R.failed) > before and not responsive(port):
                R.fail("server responsive after " + repr(name), "an answer to GET /stats", "none")
                usable = False
                break
        if usable:
            case_pipelined(port)
            case_escaped_surrogates(port)
            case_pretty_printed(port)
            case_byte_by_byte(port)
            case_max_body(port)
            case_many_connections(port)
        for t in threads:
            t.join()
        if not server.alive():
            R.fail("server alive", "running", "exit status %s" % server.proc.poll())
        elif usable:
            case_final(port, manager)

    status, rest = server.stop()
    R.check("exit status after SIGTERM", status == 0, "0",
            "no exit within %.0fs" % EXIT_TIMEOUT if status is None else status)
    R.check("nothing else on stdout", rest == b"", "nothing", repr(rest[:200]))
    signal.alarm(0)
    print("%d cases, %d failed, %.1fs" % (R.count, len(R.failed), time.monotonic() - t_start))
    if R.failed:
        print_stderr(server)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
