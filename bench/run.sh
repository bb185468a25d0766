#!/bin/sh
# bench/run.sh: runs the macro benchmarks against every memory manager and
# prints one comparison table. It (re)builds the release build in
# build/release, runs each variant N times interleaved (gyre, boehm,
# jemalloc, gyre, ...) so that machine noise such as frequency changes or a
# busy neighbour falls on all three alike, keeps every run in
# build/release/bench-results.json, and reports medians with ratios to gyre.
#
# Usage: bench/run.sh [-n RUNS] [-- GCBENCH-ARGS...]
#   e.g. bench/run.sh -n 3 -- --depth 20
set -eu

usage() {
	echo "usage: $0 [-n RUNS] [-- GCBENCH-ARGS...]" >&2
	exit 2
}

runs=5
while getopts n:h opt; do
	case $opt in
	n) runs=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
case $runs in
'' | *[!0-9]* | 0) usage ;;
esac

cd "$(dirname "$0")/.."
build=build/release
managers="gyre boehm jemalloc"

# Timings from anything but an optimised build would mislead, so an existing
# directory configured otherwise is refused rather than silently used.
if [ ! -d "$build" ]; then
	meson setup "$build" --buildtype=release
fi
buildtype=$(meson introspect "$build" --buildoptions | python3 -c '
import json, sys
print(next(o["value"] for o in json.load(sys.stdin) if o["name"] == "buildtype"))')
if [ "$buildtype" != release ]; then
	echo "$0: $build has buildtype $buildtype, not release" >&2
	exit 1
fi
ninja -C "$build"

# Run copies of the binaries, so that a rebuild of $build while the series
# runs (another shell, ./dev test) cannot mix two versions into one table.
# gyre is linked statically, so the copies are self-contained.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
for mm in $managers; do
	cp "$build/bench/gcbench-$mm" "$bin/"
done

raw=$build/bench-results.jsonl
: >"$raw"
i=1
while [ "$i" -le "$runs" ]; do
	for mm in $managers; do
		echo "run $i/$runs: gcbench-$mm${*:+ $*}" >&2
		if ! "$bin/gcbench-$mm" --json "$@" >>"$raw"; then
			echo "$0: gcbench-$mm failed" >&2
			exit 1
		fi
	done
	i=$((i + 1))
done

# Every run, in the order they ran, as one JSON array; then the table.
python3 - "$raw" "$build/bench-results.json" "$managers" <<'EOF'
import json, statistics, sys

raw, out, managers = sys.argv[1], sys.argv[2], sys.argv[3].split()
with open(raw) as f:
    runs = [json.loads(line) for line in f if line.strip()]
with open(out, "w") as f:
    f.write("[\n" + ",\n".join(json.dumps(r) for r in runs) + "\n]\n")

def median(mm, key):
    return statistics.median(r[key] for r in runs if r["mm"] == mm)

wall = {mm: median(mm, "wall_s") for mm in managers}
rss = {mm: median(mm, "peak_rss_kb") / 1024 for mm in managers}
gcs = {mm: median(mm, "gc_count") for mm in managers}
first = runs[0]
print(f"\ngcbench --depth {first['depth']} --repeat {first['repeat']}: "
      f"median of {len(runs) // len(managers)} runs each ({out})\n")
print(f"{'manager':<10}{'wall s':>9}{'x gyre':>8}{'peak RSS MiB':>14}"
      f"{'x gyre':>8}{'GCs':>7}")
for mm in managers:
    print(f"{mm:<10}{wall[mm]:>9.3f}{wall[mm] / wall['gyre']:>8.2f}"
          f"{rss[mm]:>14.1f}{rss[mm] / rss['gyre']:>8.2f}{gcs[mm]:>7g}")
EOF
rm -f "$raw"
