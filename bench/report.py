#!/usr/bin/env python3
"""report.py: the reporting half of bench/run.sh.

Reads the raw runs that run.sh collected (one line per run: case, run
number, latency file or '-', then the workload's JSON object), writes them
all as one JSON array, prints the comparison table (medians per workload
and manager, with ratios to gyre) and draws the plots with gnuplot: the
collectors' pause-time distributions and the churn latency CDF.

Usage: report.py RAW OUT_JSON PLOT_DIR "MANAGERS"
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
                r["latency_file"] = lat
            runs.append(r)
    return runs


def median(rs, key):
    vals = [r[key] for r in rs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def fmt(v, spec, width):
    return f"{'-':>{width}}" if v is None else f"{v:>{width}{spec}}"


def table(runs, cases, managers):
    """One row per workload and manager. "x gyre" is time relative to gyre
    (wall time, or for churn time per operation): above 1 is slower."""
    print(f"\n{'workload':<16}{'manager':<10}{'wall s':>8}{'kops/s':>9}"
          f"{'x gyre':>8}{'p99 us':>9}{'p99.9 us':>10}{'max ms':>9}"
          f"{'RSS MiB':>9}{'x gyre':>8}{'GCs':>7}{'pause max ms':>14}")
    for case in cases:
        by = {mm: [r for r in runs if r["case"] == case and r["mm"] == mm]
              for mm in managers}
        churn = case == "churn"
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
            print(f"{case:<16}{mm:<10}"
                  f"{fmt(None if churn else v, '.3f', 8)}"
                  f"{fmt(v / 1e3 if churn else None, '.1f', 9)}"
                  f"{ratio:>8.2f}"
                  f"{fmt(median(rs, 'p99_us') if churn else None, '.1f', 9)}"
                  f"{fmt(median(rs, 'p999_us') if churn else None, '.1f', 10)}"
                  f"{fmt(median(rs, 'max_us') / 1e3 if churn else None, '.1f', 9)}"
                  f"{rss / 1024:>9.1f}{rss / gyre_rss:>8.2f}"
                  f"{median(rs, 'gc_count'):>7g}"
                  f"{fmt(pmax / 1e3 if pmax is not None else None, '.1f', 14)}")


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
    subprocess.run(["gnuplot"], input="\n".join(g) + "\n", text=True,
                   check=True)
    print(f"plots: {out}/pauses.png {out}/churn-latency-cdf.png "
          f"{out}/churn-latency-tail.png")


def main():
    raw, out_json, plot_dir, managers = sys.argv[1:5]
    managers = managers.split()
    runs = load(raw)
    with open(out_json, "w") as f:
        f.write("[\n" + ",\n".join(json.dumps(r) for r in runs) + "\n]\n")
    cases = list(dict.fromkeys(r["case"] for r in runs))
    n = max(r["run"] for r in runs)
    print(f"\nmedian of {n} run(s) per workload and manager ({out_json})")
    table(runs, cases, managers)
    print("\nx gyre: wall time (churn: time per operation) and peak RSS "
          "relative to gyre; above 1 is worse.\nGCs and pause max are "
          "medians; Boehm's pause is a whole collection (GC_EVENT_START to "
          "END).")
    plots(runs, cases, managers, plot_dir)


main()
