#!/bin/sh
# bench/run.sh: runs every macro benchmark against every memory manager and
# prints one comparison table. It (re)builds the release build in
# build/release, runs each workload N times for each manager, interleaved
# (run 1 of every workload and manager, then run 2, ...) so that machine
# noise such as frequency changes or a busy neighbour falls on all of them
# alike, keeps every run in build/release/bench-results.json, reports
# medians with ratios to gyre, and draws plots into build/release/plots/.
# Then it runs the microbenchmarks of bench/micro/ (RUNS repetitions each,
# Google Benchmark's medians), keeps their JSON in build/release/bench-micro/
# and a summary in build/release/bench-micro.json, and prints a second table.
#
# Usage: bench/run.sh [-n RUNS] [--quick] [--no-micro] [--cases "CASES"]
#                     [-- GCBENCH-ARGS...]
#   e.g. bench/run.sh -n 3 -- --depth 18
#   --quick: small sizes and one run (unless -n is given), a smoke run; the
#            microbenchmarks run for 0.01 s per configuration.
#   --no-micro: skip the microbenchmarks (bench-micro* is left as it was).
#   --cases: only these macro cases (of those listed in $cases below), e.g.
#            --cases shrink.
set -eu

usage() {
	echo "usage: $0 [-n RUNS] [--quick] [--no-micro] [--cases \"CASES\"]" \
		"[-- GCBENCH-ARGS...]" >&2
	exit 2
}

runs=
quick=false
micro=true
only=
while [ $# -gt 0 ]; do
	case $1 in
	-n) [ $# -ge 2 ] || usage; runs=$2; shift 2 ;;
	-n*) runs=${1#-n}; shift ;;
	--quick) quick=true; shift ;;
	--no-micro) micro=false; shift ;;
	--cases) [ $# -ge 2 ] || usage; only=$2; shift 2 ;;
	--) shift; break ;;
	*) usage ;;
	esac
done
if [ -z "$runs" ]; then
	if $quick; then runs=1; else runs=5; fi
fi
case $runs in
'' | *[!0-9]* | 0) usage ;;
esac

cd "$(dirname "$0")/.."
# Boehm GC, Google Benchmark and gnuplot, like the rest, come from Debian.
./dev deps
build=build/release
managers="gyre boehm jemalloc glibc"

# Each case: name, binary, arguments. The full sizes are each workload's
# defaults (every manager runs for a second or more); --quick shrinks them.
if $quick; then
	gcbench_args="--depth 16"
	bt_args="--depth 14"
	churn_args="--table-mb 32 --seconds 1"
	churn_small_args="--table-mb 32 --seconds 1"
	mutator_args="--live-mb 16 --seconds 1"
	build_args="--live-mb 32 --seconds 1"
	weaktable_args="--entries 100000 --seconds 1"
	shrink_args="--live-mb 128 --seconds 1"
else
	gcbench_args=""
	bt_args=""
	churn_args=""
	# Issue 16's small-entry churn: 2,000,000 entries of four small
	# objects (about 416 MB live), 2 threads, 10 s.
	churn_small_args="--table-mb 400 --seconds 10"
	mutator_args=""
	build_args="--live-mb 256 --seconds 1"
	weaktable_args=""
	shrink_args=""
fi
cases="gcbench binarytrees-t1 binarytrees-t2 churn churn-small mutator-t1 mutator-t2 mutator-t4 mutator-t2-inplace mutator-build mutator-build-inplace weaktable shrink shrink-collect"
if [ -n "$only" ]; then
	for c in $only; do
		case " $cases " in
		*" $c "*) ;;
		*) echo "$0: no case $c (cases: $cases)" >&2; exit 2 ;;
		esac
	done
	cases=$only
fi
# mutator drops objects others may still point at, and weaktable needs
# weak references: the collectors only. shrink-collect asks for a
# collection after the drop, which only the collectors have.
case_managers() { # case -> the managers that run it
	case $1 in
	mutator-* | weaktable | shrink-collect) echo "gyre boehm" ;;
	*) echo "$managers" ;;
	esac
}
case_cmd() { # case manager -> the command line, binary from $bin
	case $1 in
	gcbench) echo "$bin/gcbench-$2 --json $gcbench_args $gcbench_extra" ;;
	binarytrees-t1) echo "$bin/binarytrees-$2 --json --threads 1 $bt_args" ;;
	binarytrees-t2) echo "$bin/binarytrees-$2 --json --threads 2 $bt_args" ;;
	churn) echo "$bin/churn-$2 --json $churn_args" ;;
	churn-small) echo "$bin/churn-$2 --json --small --threads 2 $churn_small_args" ;;
	# gyre with promote_in_place (Boehm ignores the variable), and the
	# graph built at once (build_s): 256 MiB on one thread.
	mutator-t2-inplace) echo "env GYRE_PROMOTE_IN_PLACE=1 $bin/mutator-$2 --json --threads 2 $mutator_args" ;;
	mutator-build) echo "$bin/mutator-$2 --json --threads 1 $build_args" ;;
	mutator-build-inplace) echo "env GYRE_PROMOTE_IN_PLACE=1 $bin/mutator-$2 --json --threads 1 $build_args" ;;
	mutator-t*) echo "$bin/mutator-$2 --json --threads ${1#mutator-t} $mutator_args" ;;
	weaktable) echo "$bin/weaktable-$2 --json $weaktable_args" ;;
	shrink) echo "$bin/shrink-$2 --json $shrink_args" ;;
	shrink-collect) echo "$bin/shrink-$2 --json --collect $shrink_args" ;;
	esac
}
gcbench_extra="$*"

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
for wl in gcbench binarytrees churn shrink; do
	for mm in $managers; do
		cp "$build/bench/$wl-$mm" "$bin/"
	done
done
cp "$build/bench/mutator-gyre" "$build/bench/mutator-boehm" "$bin/"
cp "$build/bench/weaktable-gyre" "$build/bench/weaktable-boehm" "$bin/"
# The microbenchmarks: one binary per manager, built from bench/micro/.
micros="micro-alloc-gyre micro-alloc-boehm micro-alloc-malloc micro-store
micro-collect-gyre micro-collect-boehm micro-weak-gyre micro-weak-boehm"
if $micro; then
	for m in $micros; do
		cp "$build/bench/micro/$m" "$bin/"
	done
fi

# Every run appends "case run latency-file json" to $raw (for shrink, the
# file of its RSS samples).
raw=$build/bench-results.jsonl
lat=$build/bench-latency
rm -rf "$lat"
mkdir -p "$lat"
: >"$raw"
i=1
while [ "$i" -le "$runs" ]; do
	for c in $cases; do
		for mm in $(case_managers "$c"); do
			cmd=$(case_cmd "$c" "$mm")
			lf=-
			if [ "$c" = churn ]; then
				lf=$lat/churn-$mm-$i.txt
				cmd="$cmd --latency-file $lf"
			elif [ "${c%-collect}" = shrink ]; then
				lf=$lat/$c-$mm-$i.txt
				cmd="$cmd --rss-file $lf"
			fi
			echo "run $i/$runs: $cmd" >&2
			printf '%s %s %s ' "$c" "$i" "$lf" >>"$raw"
			# shellcheck disable=SC2086 # word splitting wanted
			if ! $cmd >>"$raw"; then
				echo "$0: $c-$mm failed" >&2
				exit 1
			fi
		done
	done
	i=$((i + 1))
done

# The microbenchmarks, after the macro series: Google Benchmark repeats each
# configuration RUNS times itself and reports the median (with one
# repetition, the single run). Their console tables go to stderr, like the
# macro command lines; the JSON goes to $build/bench-micro/<binary>.json.
micro_args=
if $micro; then
	mdir=$build/bench-micro
	rm -rf "$mdir"
	mkdir -p "$mdir"
	if $quick; then
		mtime=--benchmark_min_time=0.01
	else
		mtime=
	fi
	for m in $micros; do
		echo "micro: $m, $runs repetition(s)" >&2
		# shellcheck disable=SC2086 # $mtime: empty or one word
		if ! "$bin/$m" $mtime --benchmark_repetitions="$runs" \
			--benchmark_report_aggregates_only=true \
			--benchmark_out="$mdir/$m.json" \
			--benchmark_out_format=json >&2; then
			echo "$0: $m failed" >&2
			exit 1
		fi
	done
	micro_args="$mdir $build/bench-micro.json"
fi

# shellcheck disable=SC2086 # $micro_args: empty or two words
python3 bench/report.py "$raw" "$build/bench-results.json" \
	"$build/plots" "$managers" $micro_args
rm -f "$raw"
