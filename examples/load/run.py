#!/usr/bin/env python3
"""Load-test the kvserver example under each memory manager and compare them.

For each manager (gyre, boehm, jemalloc by default) in turn, this starts
BUILD/examples/kv/kvserver-<manager> on a free port, drives it with wrk and
examples/load/mix.lua (74% GET, 1% GET ?critical, 20% PUT of 200..400-byte
JSON documents, 5% DELETE, over twice as many keys as the cache holds),
reads its GET /stats, stops it with SIGTERM and requires exit status 0.
It then prints one table row per manager, the ratios of gyre to the others,
and whether gyre meets its targets against jemalloc:

    req/s >= 0.9x jemalloc's, p99 latency <= 1.5x, peak RSS <= 2x, 0 errors

Errors are wrk's connect/read/write/timeout errors plus the server's 5xx,
its 4xx other than 404, and its bad_requests. 404s (GET or DELETE of an
absent key) are the expected cache misses, shown in their own column.

The row gyre-prefork runs kvserver-gyre --workers THREADS --threads 1:
the cache filled and frozen (gyre_freeze) in a parent, served by THREADS
forked worker processes. Its memory column is the sum of the processes'
Pss (proportional set size: a page shared by n processes counts 1/n in
each) after the load, not a peak; its /stats figures (pauses, misses)
are one worker's.

The exit status is non-zero when a server fails to start, crashes, exits
with a non-zero status or answers with errors, or wrk fails; an unmet
performance target alone does not make it fail. Standard library only.

    examples/load/run.py --build build/release [--json out.json]
    examples/load/run.py --build build/release --quick     # smoke test
"""

import argparse
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MIX_LUA = os.path.join(HERE, "mix.lua")

START_TIMEOUT_S = 60    # the prefill of --capacity documents takes a moment
STOP_TIMEOUT_S = 30
WRK_GRACE_S = 60        # on top of --seconds before wrk is deemed hung

TARGETS = {             # gyre against jemalloc
    "req_per_s": 0.9,   # at least this fraction
    "p99": 1.5,         # at most this multiple
    "rss_peak": 2.0,    # at most this multiple
}


class RunError(Exception):
    """A server or wrk failed: the run cannot be trusted."""


# ---------------------------------------------------------------------------
# Server process

def start_server(binary, args, log, prefork=False):
    """Start the server; return (process, port) once it has said it listens."""
    threads = ["--workers", str(args.threads), "--threads", "1"] if prefork \
        else ["--threads", str(args.threads)]
    cmd = [binary, "--port", "0"] + threads + ["--capacity", str(args.capacity)]
    print("  $ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log,
                            stdin=subprocess.DEVNULL)
    try:
        line = read_line(proc, START_TIMEOUT_S)
    except RunError:
        stop_hard(proc)
        raise
    words = line.split()
    # "kvserver <manager> listening on 127.0.0.1:<port>"
    if len(words) != 5 or words[0] != "kvserver" or words[2:4] != ["listening", "on"]:
        stop_hard(proc)
        raise RunError("unexpected first line from the server: %r" % line)
    return proc, int(words[4].rsplit(":", 1)[1])


def read_line(proc, timeout):
    """The first line of proc's stdout, within timeout seconds."""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    data = b""
    while b"\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RunError("the server did not say it listens within %d s" % timeout)
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                proc.wait()
                raise RunError("the server exited before listening (status %s)"
                               % describe_status(proc.returncode))
            data += chunk
        elif proc.poll() is not None:
            raise RunError("the server exited before listening (status %s)"
                           % describe_status(proc.returncode))
    return data.split(b"\n", 1)[0].decode(errors="replace").strip()


def stop_server(proc):
    """SIGTERM the server and return its exit status; RunError unless 0."""
    if proc.poll() is not None:
        raise RunError("the server died during the run (status %s)"
                       % describe_status(proc.returncode))
    proc.send_signal(signal.SIGTERM)
    try:
        status = proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        stop_hard(proc)
        raise RunError("the server did not exit within %d s of SIGTERM" % STOP_TIMEOUT_S)
    if status != 0:
        raise RunError("the server exited with status %s after SIGTERM"
                       % describe_status(status))
    return status


def stop_hard(proc):
    if proc.poll() is None:
        proc.kill()
        proc.wait()


def describe_status(status):
    if status is not None and status < 0:
        try:
            return "%d (%s)" % (status, signal.Signals(-status).name)
        except ValueError:
            pass
    return str(status)


def pss_kb(pid):
    """Pss of pid and its children (a pre-fork server's workers), in KiB."""
    pids = [pid]
    for entry in os.listdir("/proc"):
        try:
            with open("/proc/%s/stat" % entry) as f:
                if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                    pids.append(int(entry))
        except (OSError, ValueError, IndexError):
            pass
    total = 0
    for p in pids:
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                total += sum(int(l.split()[1]) for l in f if l.startswith("Pss:"))
        except OSError:
            pass
    return total


def get_stats(port):
    url = "http://127.0.0.1:%d/stats" % port
    try:
        with urllib.request.urlopen(url, timeout=10) as resp:
            return json.loads(resp.read())
    except (OSError, ValueError) as e:
        raise RunError("GET /stats failed: %s" % e)


# ---------------------------------------------------------------------------
# wrk

def run_wrk(port, args):
    """Run wrk with mix.lua against the port; return its WRKJSON object."""
    cmd = [args.wrk, "-t", str(args.wrk_threads), "-c", str(args.connections),
           "-d", "%ds" % args.seconds, "--timeout", "2s", "-s", MIX_LUA,
           "http://127.0.0.1:%d" % port, "--", "keys=%d" % args.keys]
    print("  $ " + " ".join(cmd), flush=True)
    try:
        out = subprocess.run(cmd, capture_output=True, text=True,
                             timeout=args.seconds + WRK_GRACE_S)
    except subprocess.TimeoutExpired:
        raise RunError("wrk did not finish within %d s" % (args.seconds + WRK_GRACE_S))
    if out.returncode != 0:
        raise RunError("wrk exited with status %d: %s"
                       % (out.returncode, (out.stderr or out.stdout).strip()[-500:]))
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            try:
                return json.loads(line[len("WRKJSON "):])
            except ValueError as e:
                raise RunError("bad WRKJSON line (%s): %s" % (e, line))
    raise RunError("wrk printed no WRKJSON line:\n" + out.stdout + out.stderr)


# ---------------------------------------------------------------------------
# One manager

def run_manager(manager, args):
    """Run the load against one manager; return its record (raw figures)."""
    prefork = manager == "gyre-prefork"
    binary = os.path.join(args.build, "examples", "kv",
                          "kvserver-" + ("gyre" if prefork else manager))
    record = {"manager": manager, "binary": binary, "ok": False}
    print("%s:" % manager, flush=True)
    if not os.access(binary, os.X_OK):
        record["failure"] = "no executable " + binary
        print("  FAILED: " + record["failure"], flush=True)
        return record
    with tempfile.TemporaryFile() as log:
        proc = None
        try:
            proc, port = start_server(binary, args, log, prefork)
            record["stats_before"] = get_stats(port)
            record["wrk"] = run_wrk(port, args)
            if proc.poll() is None:
                record["stats"] = get_stats(port)
                if prefork:
                    record["pss_kb"] = pss_kb(proc.pid)
            record["exit_status"] = stop_server(proc)
            record["ok"] = True
        except RunError as e:
            record["failure"] = str(e)
            if proc is not None:
                stop_hard(proc)
                record["exit_status"] = proc.returncode
        record["stderr_tail"] = tail(log)
    if not record["ok"]:
        print("  FAILED: " + record["failure"], flush=True)
        if record["stderr_tail"]:
            print("  server stderr (last lines):\n    "
                  + record["stderr_tail"].rstrip().replace("\n", "\n    "), flush=True)
    return record


def tail(f, lines=20, limit=8192):
    """The last lines of the server's stderr log."""
    f.seek(0, os.SEEK_END)
    f.seek(max(0, f.tell() - limit))
    return "\n".join(f.read().decode(errors="replace").splitlines()[-lines:])


# ---------------------------------------------------------------------------
# Figures derived from a record

def errors(record):
    """Errors in a run: wrk socket errors and timeouts, server errors."""
    e = record["wrk"]["errors"]
    n = e["connect"] + e["read"] + e["write"] + e["timeout"]
    stats = record.get("stats")
    if stats:
        r = stats["responses"]
        n += r["5xx"] + r["4xx"] + stats["bad_requests"]
    return n


def load_pauses(before, after):
    """Pauses during the load alone: the difference of two log2 histograms
    (bucket i counts pauses in [2^i, 2^(i+1)) us), which leaves out the
    collections of the start-up fill. Returns (count, p99 ms, max ms), the
    last two as upper bucket edges; (None,)*3 without a histogram."""
    if not before or not after:
        return None, None, None
    hist = [a - b for a, b in zip(after["histogram_us"], before["histogram_us"])]
    total = sum(hist)
    if total == 0:
        return 0, 0.0, 0.0
    edge = lambda i: (2 << i) / 1000.0
    seen, p99 = 0, None
    for i, n in enumerate(hist):
        seen += n
        if p99 is None and seen >= 0.99 * total:
            p99 = edge(i)
    top = max(i for i, n in enumerate(hist) if n)
    return total, p99, edge(top)


def figures(record):
    """The table's figures for a completed record (None where not known)."""
    w, s = record["wrk"], record.get("stats") or {}
    lat = w["latency_us"]
    gc = s.get("gc") or {}
    gc0 = (record.get("stats_before") or {}).get("gc") or {}
    pauses = load_pauses(
        gc0 and {"histogram_us": gc0["pause_histogram_us"]},
        gc and {"histogram_us": gc["pause_histogram_us"]})
    minors = load_pauses(gc0.get("minor"), gc.get("minor"))
    return {
        "req_per_s": w["req_per_s"],
        "p50": lat["p50"] / 1000.0,
        "p99": lat["p99"] / 1000.0,
        "p999": lat["p999"] / 1000.0,
        "errors": errors(record),
        "misses": s.get("responses", {}).get("404"),
        "rss_peak": record["pss_kb"] / 1024.0 if "pss_kb" in record else
                    s["rss_peak_kb"] / 1024.0 if "rss_peak_kb" in s else None,
        "pauses": pauses[0],
        "pause_p99": pauses[1],
        "pause_max": pauses[2],
        "minors": minors[0],
        "minor_p99": minors[1],
        "minor_max": minors[2],
        "critical": s.get("critical", {}).get("requests"),
        "critical_gc": s.get("critical", {}).get("collections_inside"),
    }


# ---------------------------------------------------------------------------
# Report

COLUMNS = [  # (heading, figure, format)
    ("req/s", "req_per_s", "%.0f"),
    ("p50 ms", "p50", "%.2f"),
    ("p99 ms", "p99", "%.2f"),
    ("p99.9 ms", "p999", "%.2f"),
    ("errors", "errors", "%d"),
    ("404s", "misses", "%d"),
    ("RSS MiB", "rss_peak", "%.1f"),
    ("pauses", "pauses", "%d"),
    ("p99 <ms", "pause_p99", "%.3f"),
    ("max <ms", "pause_max", "%.3f"),
    ("minors", "minors", "%d"),
    ("p99 <ms", "minor_p99", "%.3f"),
    ("max <ms", "minor_max", "%.3f"),
    ("crit", "critical", "%d"),
    ("GC in crit", "critical_gc", "%d"),
]


def cell(value, fmt):
    return "-" if value is None else fmt % value


def print_table(records):
    heads = ["manager"] + [h for h, _, _ in COLUMNS]
    rows = []
    for r in records:
        if r["ok"]:
            f = figures(r)
            rows.append([r["manager"]] + [cell(f[k], fmt) for _, k, fmt in COLUMNS])
        else:
            rows.append([r["manager"], "FAILED: " + r["failure"]])
    full = [heads] + [row for row in rows if len(row) == len(heads)]
    widths = [max(len(row[i]) for row in full) for i in range(len(heads))]
    widths[0] = max(len(row[0]) for row in [heads] + rows)
    print()
    print("  ".join(h.rjust(w) for h, w in zip(heads, widths)))
    for row in rows:
        if len(row) == len(heads):
            print("  ".join(c.rjust(w) for c, w in zip(row, widths)))
        else:
            print(row[0].rjust(widths[0]) + "  " + row[1])
    print("latency: wrk's, corrected for coordinated omission (a stall of T ms "
          "also counts the requests a connection would have sent meanwhile)\n"
          "errors: wrk connect/read/write/timeout + server 5xx, non-404 4xx and "
          "bad_requests; 404s are cache misses, not errors\n"
          "pauses: collections during the load (not the start-up fill), with "
          "the upper edges of the log2 histogram buckets of their p99 and max; "
          "minors: the minor collections among them\n"
          "crit: ?critical GETs; GC in crit: collections that ran inside one")


def ratio(a, b):
    return a / b if a is not None and b else None


def print_ratios(by_name):
    gyre = by_name.get("gyre")
    if not gyre:
        return
    g = figures(gyre)
    others = [(name, rec) for name, rec in by_name.items() if name != "gyre"]
    if others:
        print()
    for name, rec in others:
        o = figures(rec)
        print("gyre / %-9s req/s %s  p99 %s  peak RSS %s" % (
            name,
            cell(ratio(g["req_per_s"], o["req_per_s"]), "%.2fx"),
            cell(ratio(g["p99"], o["p99"]), "%.2fx"),
            cell(ratio(g["rss_peak"], o["rss_peak"]), "%.2fx")))


def check_targets(by_name):
    """Print each target of gyre against jemalloc as met / not met."""
    print()
    if "gyre" not in by_name or "jemalloc" not in by_name:
        print("targets: not checked (they need completed gyre and jemalloc runs)")
        return
    g, j = figures(by_name["gyre"]), figures(by_name["jemalloc"])
    checks = [
        ("req/s >= %.1fx jemalloc" % TARGETS["req_per_s"],
         ratio(g["req_per_s"], j["req_per_s"]), lambda x: x >= TARGETS["req_per_s"]),
        ("p99 <= %.1fx jemalloc" % TARGETS["p99"],
         ratio(g["p99"], j["p99"]), lambda x: x <= TARGETS["p99"]),
        ("peak RSS <= %.1fx jemalloc" % TARGETS["rss_peak"],
         ratio(g["rss_peak"], j["rss_peak"]), lambda x: x <= TARGETS["rss_peak"]),
    ]
    print("targets (gyre):")
    for label, value, test in checks:
        verdict = "unknown" if value is None else ("met" if test(value) else "NOT MET")
        print("  %-30s %-8s %s" % (label, cell(value, "%.2fx"), verdict))
    print("  %-30s %-8s %s" % ("zero errors", g["errors"],
                               "met" if g["errors"] == 0 else "NOT MET"))
    if g["critical_gc"] is not None:
        print("  %-30s %-8s %s" % ("no GC inside ?critical (spec)", g["critical_gc"],
                                   "met" if g["critical_gc"] == 0 else "NOT MET"))


# ---------------------------------------------------------------------------

def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", required=True, help="meson build directory, e.g. build/release")
    p.add_argument("--managers", default="gyre,gyre-prefork,boehm,jemalloc",
                   help="comma-separated (default gyre,gyre-prefork,boehm,jemalloc)")
    p.add_argument("--seconds", type=int, help="wrk run per manager (default 8)")
    p.add_argument("--threads", type=int, default=2, help="server event-loop threads (default 2)")
    p.add_argument("--connections", type=int, default=32, help="wrk connections (default 32)")
    p.add_argument("--wrk-threads", type=int, default=1, help="wrk threads (default 1)")
    p.add_argument("--capacity", type=int, help="cache capacity = prefill (default 100000)")
    p.add_argument("--keys", type=int, help="key space (default 2 x capacity)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: 2 s per manager, capacity 5000")
    p.add_argument("--json", metavar="OUT", help="write every raw figure to OUT")
    p.add_argument("--wrk", default="wrk", help="wrk executable (default: wrk on PATH)")
    args = p.parse_args(argv)
    if args.seconds is None:
        args.seconds = 2 if args.quick else 8
    if args.capacity is None:
        args.capacity = 5000 if args.quick else 100000
    if args.keys is None:
        args.keys = 2 * args.capacity
    args.managers = [m for m in args.managers.split(",") if m]
    if args.connections < args.wrk_threads:
        p.error("--connections must be at least --wrk-threads")
    if shutil.which(args.wrk) is None:
        p.error("wrk not found: " + args.wrk)
    return args


def main(argv):
    args = parse_args(argv)
    records = [run_manager(m, args) for m in args.managers]
    by_name = {r["manager"]: r for r in records if r["ok"]}
    print_table(records)
    print_ratios(by_name)
    check_targets(by_name)
    if args.json:
        config = {k: v for k, v in vars(args).items() if k != "json"}
        with open(args.json, "w") as f:
            json.dump({"config": config, "runs": records}, f, indent=1)
            f.write("\n")
        print("\nraw figures: " + args.json)
    # Errors under load are a failure, not a missed target: the server
    # must answer every well-formed request.
    failed = [r["manager"] for r in records if not r["ok"] or errors(r) > 0]
    if failed:
        print("\nFAILED: " + ", ".join(failed), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
