#!/usr/bin/env python3
"""report.py: the reporting half of bench/run.sh.

Reads the raw runs that run.sh collected (one line per run: case, run
number, latency file (shrink: RSS samples) or '-', then the workload's JSON
object), writes them all as one JSON array, prints the comparison table
(medians per workload and manager, with ratios to gyre) and draws the
plots with gnuplot: the collectors' pause-time distributions, the churn
latency CDF and shrink's RSS over time.

With MICRO_DIR, it also reads the microbenchmarks' Google Benchmark JSON
files there (micro-*.json), writes the median of each benchmark to
MICRO_JSON and prints a second table: allocation, thread scaling, stores
and collection pauses.

Usage: report.py RAW OUT_JSON PLOT_DIR "MANAGERS" [MICRO_DIR MICRO_JSON]
"""
import json
import os
import shutil
import statistics
import subprocess
import sys


def load(raw):
    runs = []
    with open(raw) as f:
        for line in f:
            if not line.strip():
                continue
            case, run, lat, obj = line.split(" ", 3)
            r = json.loads(obj)
            r["case"], r["run"] = case, int(run)
            if lat != "-":
                r["rss_file" if case.startswith("shrink") else
                  "latency_file"] = lat
            runs.append(r)
    return runs


def median(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec, width):
    return f"{'-':>{width}}" if v is None else f"{v:>{width}{spec}}"


def table(runs, cases, managers):
    """One row per workload and manager. "x gyre" is time relative to gyre
    (wall time, or for churn time per operation): above 1 is slower. The
    mutator and weaktable cases have tables of their own."""
    shown = [c for c in cases if not c.startswith(("mutator", "shrink"))
             and c != "weaktable"]
    if not shown:
        return False
    print(f"\n{'workload':<16}{'manager':<10}{'wall s':>8}{'kops/s':>9}"
          f"{'x gyre':>8}{'p99 us':>9}{'p99.9 us':>10}{'max ms':>9}"
          f"{'RSS MiB':>9}{'x gyre':>8}{'GCs':>7}{'pause max ms':>14}"
          f"{'minor p99 ms':>14}{'minor max ms':>14}")
    for case in shown:
        by = {mm: [r for r in runs if r["case"] == case and r["mm"] == mm]
              for mm in managers}
        churn = case.startswith("churn")
        key = "ops_per_s" if churn else "wall_s"
        gyre_v = median(by["gyre"], key)
        gyre_rss = median(by["gyre"], "peak_rss_kb")
        for mm in managers:
            rs = by[mm]
            if not rs:
                continue
            v, rss = median(rs, key), median(rs, "peak_rss_kb")
            ratio = gyre_v / v if churn else v / gyre_v
            pmax = median(rs, "pause_max_us")
            mp99, mmax = median(rs, "minor_p99_us_le"), median(rs, "minor_max_us")
            print(f"{case:<16}{mm:<10}"
                  f"{fmt(None if churn else v, '.3f', 8)}"
                  f"{fmt(v / 1e3 if churn else None, '.1f', 9)}"
                  f"{ratio:>8.2f}"
                  f"{fmt(median(rs, 'p99_us') if churn else None, '.1f', 9)}"
                  f"{fmt(median(rs, 'p999_us') if churn else None, '.1f', 10)}"
                  f"{fmt(median(rs, 'max_us') / 1e3 if churn else None, '.1f', 9)}"
                  f"{rss / 1024:>9.1f}{rss / gyre_rss:>8.2f}"
                  f"{median(rs, 'gc_count'):>7g}"
                  f"{fmt(pmax / 1e3 if pmax is not None else None, '.1f', 14)}"
                  f"{fmt(mp99 / 1e3 if mp99 is not None else None, '.3f', 14)}"
                  f"{fmt(mmax / 1e3 if mmax is not None else None, '.3f', 14)}")

    return True


def over_ms(hist):
    """Share of a log2 pause histogram (bucket b: [2^b, 2^(b+1)) us) at
    1.024 ms or more, in percent."""
    n = sum(hist)
    return 100.0 * sum(hist[10:]) / n if n else 0.0


def minor_runs(runs):
    """gyre's minor pauses per churn run: the whole run, and the timed
    phase alone (run_minor_*: the table's fill excluded)."""
    rs = [r for r in runs if r["case"] == "churn" and r["mm"] == "gyre"
          and r.get("minor_hist")]
    if not rs:
        return
    print("\nchurn, gyre's minor pauses per run: p99 bucket bound in us and "
          "the share over 1 ms, whole run / timed phase (fill excluded)")
    for r in rs:
        run_hist = r.get("run_minor_hist")
        timed = (f"{r['run_minor_p99_us_le']} us, {over_ms(run_hist):.2f}%"
                 if run_hist else "-")
        print(f"  run {r['run']}: {r['minor_p99_us_le']} us, "
              f"{over_ms(r['minor_hist']):.2f}% / {timed}")


def minor_split(rs):
    """gyre's minor pause time by phase, medians over the runs, in percent
    of the minor pauses' total ('-' for Boehm)."""
    parts = [r["run_minor_ms"] for r in rs if r.get("run_minor_ms")]
    if not parts:
        return "-"
    shares = [statistics.median(100 * p[k] / p["total"] for p in parts if p["total"])
              for k in ("stop", "roots", "copy", "release")]
    return "/".join(f"{v:.0f}" for v in shares)


def mutator_table(runs, managers):
    """The mutated-heap workload: throughput, the share of its timed phase
    spent in pauses, gyre's minor pauses there, and the build phase."""
    cases = sorted({r["case"] for r in runs if r["case"].startswith("mutator")})
    if not cases:
        return
    print(f"\n{'mutator':<22}{'manager':<9}{'kops/s':>8}{'x boehm':>9}"
          f"{'pauses %':>10}{'minor p99 ms':>14}{'build s':>9}{'live MiB':>10}"
          f"  minor time: stop/roots/copy/release %")
    for case in cases:
        by = {mm: [r for r in runs if r["case"] == case and r["mm"] == mm]
              for mm in managers}
        boehm = median(by.get("boehm", []), "ops_per_s")
        for mm in managers:
            rs = by[mm]
            if not rs:
                continue
            v = median(rs, "ops_per_s")
            p99 = median(rs, "run_minor_p99_us_le")
            print(f"{case:<22}{mm:<9}{v / 1e3:>8.1f}"
                  f"{fmt(v / boehm if boehm else None, '.2f', 9)}"
                  f"{100 * median(rs, 'run_pause_share'):>10.1f}"
                  f"{fmt(None if p99 is None else p99 / 1e3, '.3f', 14)}"
                  f"{median(rs, 'build_s'):>9.2f}"
                  f"{median(rs, 'live_found_mb'):>10.0f}"
                  f"  {minor_split(rs)}")


def weaktable_table(runs, managers):
    """The weak-keyed table under churn: throughput, pauses of the timed
    phase, memory, and how many dropped entries were found cleared."""
    rs_all = [r for r in runs if r["case"] == "weaktable"]
    if not rs_all:
        return
    print(f"\n{'weaktable':<11}{'kops/s':>8}{'x boehm':>9}{'pauses %':>10}"
          f"{'max ms':>9}{'p99 ms':>9}{'RSS MiB':>9}{'cleared %':>11}")
    by = {mm: [r for r in rs_all if r["mm"] == mm] for mm in managers}
    boehm = median(by.get("boehm", []), "ops_per_s")
    for mm in managers:
        rs = by[mm]
        if not rs:
            continue
        v = median(rs, "ops_per_s")
        cleared = statistics.median(100 * r["found_cleared"] / r["reused"]
                                    for r in rs if r["reused"])
        print(f"{mm:<11}{v / 1e3:>8.1f}"
              f"{fmt(v / boehm if boehm else None, '.2f', 9)}"
              f"{100 * median(rs, 'run_pause_share'):>10.1f}"
              f"{median(rs, 'run_pause_max_ms'):>9.2f}"
              f"{median(rs, 'run_pause_p99_us_le') / 1e3:>9.3f}"
              f"{median(rs, 'peak_rss_mb'):>9.1f}{cleared:>11.1f}")


def shrink_table(runs, managers, case):
    """Memory after the load drops (shrink, or shrink-collect: with a
    collection asked for after the drop): RSS at the peak, when the drop
    is done, 5 s after it and at the end (medians, MiB), when it first fell
    under the target (median of the runs that got there, and how many
    did), the throughput after the drop, and what gyre returned; then
    every run's RSS 5 s after the drop, as it varies with when the first
    collection after the drop comes."""
    rs_all = [r for r in runs if r["case"] == case]
    if not rs_all:
        return
    target = rs_all[0]["target_mb"]
    print(f"\n{case:<15}{'fill s':>8}{'peak':>8}{'drop':>8}{'+5 s':>8}"
          f"{'end':>8}{f'<{target} s':>10}{'kops/s':>9}{'returned':>10}"
          f"   RSS MiB; +5 s per run")
    for mm in managers:
        rs = [r for r in rs_all if r["mm"] == mm]
        if not rs:
            continue
        under = [r["below_target_s"] for r in rs
                 if r.get("below_target_s") is not None]
        below = (f"{statistics.median(under):.1f} {len(under)}/{len(rs)}"
                 if under else f"- 0/{len(rs)}")
        per_run = " ".join(fmt(r.get("rss_5s_mb"), ".0f", 1)
                           for r in sorted(rs, key=lambda r: r["run"]))
        print(f"{mm:<15}{median(rs, 'fill_s'):>8.2f}"
              f"{fmt(median(rs, 'rss_peak_mb'), '.0f', 8)}"
              f"{fmt(median(rs, 'rss_drop_mb'), '.0f', 8)}"
              f"{fmt(median(rs, 'rss_5s_mb'), '.0f', 8)}"
              f"{fmt(median(rs, 'rss_end_mb'), '.0f', 8)}{below:>10}"
              f"{median(rs, 'ops_per_s') / 1e3:>9.1f}"
              f"{fmt(median(rs, 'returned_mb'), '.0f', 10)}   {per_run}")


def pause_data(runs, cases, managers, out):
    """Per case and collector, pauses per run in each log2 bucket; returns
    the (case, manager, file) triples written. gcbench reports no pauses
    (its JSON has only the collection count), so it has no panel."""
    written = []
    for case in cases:
        for mm in managers:
            rs = [r for r in runs if r["case"] == case and r["mm"] == mm
                  and r.get("pause_hist")]
            if not rs:
                continue
            hist = [sum(r["pause_hist"][b] for r in rs) / len(rs)
                    for b in range(len(rs[0]["pause_hist"]))]
            path = os.path.join(out, f"pauses-{case}-{mm}.dat")
            with open(path, "w") as f:
                f.write("# bucket_lower_us pauses_per_run\n")
                for b, n in enumerate(hist):
                    if n:
                        f.write(f"{2 ** b} {n}\n")
            written.append((case, mm, path))
    return written


def median_run(rs, key):
    ordered = sorted(rs, key=lambda r: r[key])
    return ordered[(len(ordered) - 1) // 2]


def plots(runs, cases, managers, out):
    if shutil.which("gnuplot") is None:
        print("report.py: gnuplot not found, no plots", file=sys.stderr)
        return
    os.makedirs(out, exist_ok=True)
    pauses = pause_data(runs, cases, managers, out)
    colour = {"gyre": "#1b9e77", "boehm": "#d95f02", "jemalloc": "#7570b3",
              "glibc": "#e7298a"}
    shown = [c for c in cases if any(pc == c for pc, _, _ in pauses)]
    g = [f"set terminal pngcairo size {480 * len(shown) + 200},560 "
         "font 'sans,11'",
         f"set output '{out}/pauses.png'",
         f"set multiplot layout 1,{len(shown)} title 'GC pause times "
         "(pauses per run in each log2 bucket; malloc/free has none)'",
         "set logscale x 2", "set format x '%.0s%c'", "set grid",
         "set xlabel 'pause, us (bucket lower bound)'",
         "set ylabel 'pauses per run'", "set yrange [0:*]",
         "set key outside bottom center horizontal"]
    for case in shown:
        lines = [f"'{p}' using 1:2 with linespoints lw 2 pt 7 "
                 f"lc rgb '{colour[mm]}' title '{mm}'"
                 for c, mm, p in pauses if c == case]
        g.append(f"set title '{case}'")
        g.append("plot " + ", ".join(lines))
    g.append("unset multiplot")
    if not shown:
        g = []
    churn = [r for r in runs if r["case"] == "churn" and "latency_file" in r]
    lines = []
    for mm in managers:
        rs = [r for r in churn if r["mm"] == mm]
        if rs:
            r = median_run(rs, "ops_per_s")
            lines.append(f"'{r['latency_file']}' using 1:2 with steps lw 2 "
                         f"lc rgb '{colour[mm]}' title '{mm} "
                         f"(p99.9 {r['p999_us']:.0f} us, max "
                         f"{r['max_us'] / 1e3:.1f} ms)'")
    if lines:
        g += ["reset", "set terminal pngcairo size 1100,700 font 'sans,11'",
              f"set output '{out}/churn-latency-cdf.png'",
              "set title 'churn: operation latency CDF (median run by ops/s)'",
              "set logscale x 10", "set format x '10^{%T}'", "set grid",
              "set xlabel 'latency, us'",
              "set ylabel 'fraction of operations at or below'",
              "set yrange [0:1.02]", "set key bottom right",
              "plot " + ", ".join(lines),
              # The tail, where pauses show: 1 - CDF on a log scale.
              f"set output '{out}/churn-latency-tail.png'",
              "set title 'churn: latency tail, fraction of operations slower'",
              "set logscale y 10", "set format y '10^{%T}'",
              "set yrange [1e-7:1]", "set key top right",
              "set ylabel 'fraction of operations above'",
              "plot " + ", ".join(l.replace("using 1:2", "using 1:(1-$2)")
                                  for l in lines)]
    g += shrink_plot(runs, managers, out, colour)
    subprocess.run(["gnuplot"], input="\n".join(g) + "\n", text=True,
                   check=True)
    print(f"plots: {out}/pauses.png {out}/churn-latency-cdf.png "
          f"{out}/churn-latency-tail.png {out}/shrink-rss.png")


def shrink_plot(runs, managers, out, colour):
    """gnuplot lines for shrink's RSS over time, around the drop (the
    median run by RSS 5 s after it, per manager)."""
    lines = []
    for mm in managers:
        rs = [r for r in runs if r["case"] == "shrink" and r["mm"] == mm
              and "rss_file" in r and r.get("rss_5s_mb") is not None]
        if rs:
            r = median_run(rs, "rss_5s_mb")
            lines.append(f"'{r['rss_file']}' using 1:2 with lines lw 2 "
                         f"lc rgb '{colour[mm]}' title '{mm} (+5 s: "
                         f"{r['rss_5s_mb']:.0f} MiB)'")
    if not lines:
        return []
    return ["reset", "set terminal pngcairo size 1100,700 font 'sans,11'",
            f"set output '{out}/shrink-rss.png'",
            "set title 'shrink: resident memory as the load drops "
            "(median run by RSS 5 s after the drop)'",
            "set grid", "set xlabel 'seconds after the drop'",
            "set ylabel 'RSS, MiB'", "set yrange [0:*]",
            "set key top right", "plot " + ", ".join(lines)]


# Google Benchmark's time units, in nanoseconds.
UNIT_NS = {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}
# Fields of a benchmark entry that are not counters.
NOT_COUNTERS = {"name", "run_name", "run_type", "repetitions", "threads",
                "repetition_index", "family_index", "per_family_instance_index",
                "iterations", "real_time", "cpu_time", "time_unit",
                "aggregate_name", "aggregate_unit", "error_occurred",
                "error_message", "label"}


def micro_load(micro_dir):
    """Every micro-*.json in micro_dir -> {binary: {run_name: entry}}, an
    entry being the median: Google Benchmark's "median" aggregate when it
    ran repetitions, else the median of the single runs. Times are in ns
    (real_time_ns, cpu_time_ns); counters keep their names."""
    out = {}
    for fn in sorted(os.listdir(micro_dir)):
        if not (fn.startswith("micro-") and fn.endswith(".json")):
            continue
        with open(os.path.join(micro_dir, fn)) as f:
            data = json.load(f)
        groups = {}
        for b in data.get("benchmarks", []):
            if b.get("error_occurred"):
                continue
            groups.setdefault(b.get("run_name", b["name"]), []).append(b)
        res = {}
        for name, bs in groups.items():
            med = [b for b in bs if b.get("run_type") == "aggregate"
                   and b.get("aggregate_name") == "median"]
            its = [b for b in bs if b.get("run_type") != "aggregate"]
            if med:
                src, reps = [med[0]], med[0].get("repetitions", 1)
            elif its:
                src, reps = its, len(its)
            else:
                continue
            e = {"repetitions": reps}
            keys = ["real_time", "cpu_time"] + sorted(
                k for k in src[0] if k not in NOT_COUNTERS
                and isinstance(src[0][k], (int, float)))
            for k in keys:
                vals = [b[k] for b in src if isinstance(b.get(k), (int, float))]
                if not vals:
                    continue
                v = statistics.median(vals)
                if k in ("real_time", "cpu_time"):
                    e[k + "_ns"] = v * UNIT_NS[src[0].get("time_unit", "ns")]
                else:
                    e[k] = v
            res[name] = e
        out[fn[:-len(".json")]] = res
    return out


def micro_table(micro):
    """The second table, from micro_load's medians. Every time is Google
    Benchmark's real time; ratios are the other's time over gyre's."""
    def get(binary, name, key="real_time_ns"):
        return micro.get(binary, {}).get(name, {}).get(key)

    def ratio(a, b):
        return None if a is None or not b else a / b

    # name in the table, binary, benchmark family
    allocs = [("gyre bytes", "micro-alloc-gyre", "gyre_bytes"),
              ("gyre typed", "micro-alloc-gyre", "gyre_typed"),
              ("jemalloc", "micro-alloc-malloc", "jemalloc"),
              ("glibc", "micro-alloc-malloc", "glibc"),
              ("Boehm atomic", "micro-alloc-boehm", "boehm_atomic"),
              ("Boehm GC_MALLOC", "micro-alloc-boehm", "boehm_malloc")]
    print("\nmicrobenchmarks (bench/micro/), median of "
          f"{max((e['repetitions'] for r in micro.values() for e in r.values()), default=0)}"
          " repetition(s)")

    sizes = sorted({int(n.rsplit(":", 1)[1]) for n in
                    micro.get("micro-alloc-gyre", {})
                    if n.startswith("alloc/gyre_bytes/size:")})
    print("\nallocation, one thread, ns per object "
          "(ratio: that allocator's time / gyre's; above 1 is slower)")
    w = {a: max(10, len(a) + 2) for a, _, _ in allocs}
    print(f"{'size':<8}" + "".join(f"{a:>{w[a]}}" for a, _, _ in allocs)
          + f"{'jemalloc/':>11}{'glibc/':>9}{'atomic/':>10}{'GC_MALLOC/':>12}")
    print(f"{'':<8}" + " " * sum(w.values())
          + f"{'bytes':>11}{'bytes':>9}{'bytes':>10}{'typed':>12}")
    for size in sizes:
        t = {a: get(b, f"alloc/{fam}/size:{size}") for a, b, fam in allocs}
        print(f"{str(size) + ' B':<8}"
              + "".join(fmt(t[a], ".1f", w[a]) for a, _, _ in allocs)
              + fmt(ratio(t["jemalloc"], t["gyre bytes"]), ".2f", 11)
              + fmt(ratio(t["glibc"], t["gyre bytes"]), ".2f", 9)
              + fmt(ratio(t["Boehm atomic"], t["gyre bytes"]), ".2f", 10)
              + fmt(ratio(t["Boehm GC_MALLOC"], t["gyre typed"]), ".2f", 12))

    threads = sorted({int(n.rsplit(":", 1)[1]) for n in
                      micro.get("micro-alloc-gyre", {})
                      if n.startswith("alloc_threads/gyre_bytes/")})
    print("\nallocation of 64 B on several threads, ns per object "
          "(wall time / objects of all threads)")
    print(f"{'threads':<8}" + "".join(f"{a:>{w[a]}}" for a, _, _ in allocs))
    for n in threads:
        print(f"{n:<8}" + "".join(
            fmt(get(b, f"alloc_threads/{fam}/size:64/real_time/threads:{n}"),
                ".1f", w[a]) for a, b, fam in allocs))

    st = {k: get("micro-store", f"store/{k}")
          for k in ("plain", "GYRE_STORE", "GYRE_STORE_AT")}
    print("\npointer store, ns per store (ratio to plain)")
    print(f"{'':<8}" + "".join(f"{k:>15}" for k in st))
    print(f"{'ns':<8}" + "".join(fmt(v, ".2f", 15) for v in st.values()))
    print(f"{'x plain':<8}" + "".join(fmt(ratio(v, st["plain"]), ".2f", 15)
                                     for v in st.values()))

    lives = sorted({int(n.split("/")[1].split(":")[1]) for n in
                    micro.get("micro-collect-gyre", {})
                    if n.startswith("collect/live_MiB:")})
    print("\nfull collection against live data: pause (ms) and live MiB "
          "collected per second")
    print(f"{'live':<8}{'gyre ms':>10}{'Boehm ms':>10}{'Boehm/gyre':>12}"
          f"{'gyre MiB/s':>12}{'Boehm MiB/s':>13}")
    for mb in lives:
        name = f"collect/live_MiB:{mb}/manual_time"
        g, b = get("micro-collect-gyre", name), get("micro-collect-boehm", name)
        print(f"{str(mb) + ' MiB':<8}"
              f"{fmt(None if g is None else g / 1e6, '.2f', 10)}"
              f"{fmt(None if b is None else b / 1e6, '.2f', 10)}"
              f"{fmt(ratio(b, g), '.2f', 12)}"
              f"{fmt(get('micro-collect-gyre', name, 'MiB_per_s'), '.0f', 12)}"
              f"{fmt(get('micro-collect-boehm', name, 'MiB_per_s'), '.0f', 13)}")

    minor_micro_table(micro, get)
    weak_micro_table(micro, get)


def weak_micro_table(micro, get):
    """Weak references, ephemerons, finalizers (bench/micro/weak.c)."""
    if "micro-weak-gyre" not in micro:
        return
    print("\nweak references, ephemerons, finalizers: ns each "
          "(Boehm: a disappearing link in a cell, GC_register_finalizer)")
    print(f"{'':<16}{'gyre ns':>10}{'Boehm ns':>10}")
    for label, name in (("weak_new", "weak_new"), ("weak_get", "weak_get"),
                        ("ephemeron_new", "ephemeron_new"),
                        ("finalize", "finalize/min_time:1.000")):
        g, b = get("micro-weak-gyre", name), get("micro-weak-boehm", name)
        print(f"{label:<16}{fmt(g, '.1f', 10)}{fmt(b, '.1f', 10)}")
    rate = get("micro-weak-gyre", "finalize/min_time:1.000", "finalized_per_s")
    if rate is not None:
        print(f"gyre finalized per second: {rate / 1e6:.2f} M")
    pauses = [(n, get("micro-weak-gyre", n, "pause_us"))
              for n in micro["micro-weak-gyre"] if n.startswith("minor_old_weak/")]
    for n, us in pauses:
        print(f"{n.split('/iterations')[0]:<40}{fmt(us, '.1f', 10)} us minor pause")


def minor_micro_table(micro, get):
    """gyre's minor pause against the old generation's size and the share
    that survives, beside Boehm's full collection of the same heap."""
    names = [n for n in micro.get("micro-collect-gyre", {})
             if n.startswith("minor/") or n.startswith("minor_tables/")]
    if not names:
        return
    print("\nyoung collection against the old generation (lists, tables, or "
          "tables+w: one store into a table per collection): pause (us), "
          "gyre's minor and Boehm's full collection")
    print(f"{'old MiB':<9}{'of':>9}{'survive':>9}{'gyre us':>10}{'Boehm us':>11}")
    for name in names:
        fields = dict(f.split(":") for f in name.split("/")[1:3]
                      if ":" in f and not f.startswith("iterations"))
        tables = name.startswith("minor_tables/")
        mb = fields["tables_MiB" if tables else "old_MiB"]
        pct = "10" if tables else fields["survive_pct"]
        of = ("tables+w" if fields.get("written") == "1" else "tables") \
            if tables else "lists"
        g, b = get("micro-collect-gyre", name), get("micro-collect-boehm", name)
        print(f"{mb:<9}{of:>9}{pct + '%':>9}"
              f"{fmt(None if g is None else g / 1e3, '.1f', 10)}"
              f"{fmt(None if b is None else b / 1e3, '.1f', 11)}")


def main():
    if len(sys.argv) not in (5, 7):
        sys.exit(__doc__.split("Usage: ")[1].strip())
    raw, out_json, plot_dir, managers = sys.argv[1:5]
    managers = managers.split()
    runs = load(raw)
    with open(out_json, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(r) for r in runs) + "\n]\n")
    cases = list(dict.fromkeys(r["case"] for r in runs))
    n = max(r["run"] for r in runs)
    print(f"\nmedian of {n} run(s) per workload and manager ({out_json})")
    if table(runs, cases, managers):
        print("\nx gyre: wall time (churn: time per operation) and peak RSS "
              "relative to gyre; above 1 is worse.\nGCs and pause max are "
              "medians; Boehm's pause is a whole collection (GC_EVENT_START "
              "to END).\nminor p99: gyre's generation-0 and -1 pauses, upper "
              "bound of the log2 histogram bucket holding the 99th "
              "percentile.")
    minor_runs(runs)
    mutator_table(runs, managers)
    weaktable_table(runs, managers)
    shrink_table(runs, managers, "shrink")
    shrink_table(runs, managers, "shrink-collect")
    plots(runs, cases, managers, plot_dir)
    if len(sys.argv) == 7:
        micro_dir, micro_json = sys.argv[5:7]
        micro = micro_load(micro_dir)
        with open(micro_json, "w") as f:
            json.dump({"dir": micro_dir, "benchmarks": micro}, f, indent=1)
            f.write("\n")
        micro_table(micro)
        print(f"\nmicro medians: {micro_json}; Google Benchmark's JSON: "
              f"{micro_dir}/micro-*.json")


main()
