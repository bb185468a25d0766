/*
 * gbench.h: a small C interface to Google Benchmark (1.7), so that gyre's
 * microbenchmarks are written in C like the rest of the project while
 * keeping Google Benchmark's runner: its iteration-count estimation, its
 * --benchmark_* flags (filter, repetitions, JSON output, min time) and its
 * report formats. gbench.cc is the only C++ in bench/; it maps each function
 * below onto the matching Google Benchmark call one to one, so that
 * library's documentation describes what each one does in detail.
 *
 * A benchmark is a C function that loops while gbench_keep_running() is
 * true and does the measured work in the loop body:
 *
 *     static void bm_alloc(gbench_state *st)
 *     {
 *             size_t size = (size_t)gbench_range(st, 0);
 *
 *             while (gbench_keep_running(st))
 *                     consume(malloc(size));
 *             gbench_set_items_processed(st, gbench_iterations(st));
 *     }
 *
 *     int main(int argc, char **argv)
 *     {
 *             gbench_arg(gbench_register("alloc", bm_alloc), 64);
 *             return gbench_main(argc, argv);
 *     }
 *
 * Threads and runtimes that must not see a thread block. In a benchmark run
 * with several threads, every thread waits for all the others on a barrier
 * inside its first gbench_keep_running() call (before the timed loop) and
 * inside its last one (the call that returns false). A thread attached to a
 * stop-the-world collector must not wait there while attached: a thread
 * still in its loop may start a collection, which would wait for the one on
 * the barrier, which waits for it. gbench_thread_hooks() solves this: the
 * `enter` hook runs on each thread just after the first barrier and the
 * `leave` hook just before the last, so that between `leave` and `enter`
 * the thread is not attached (gyre_thread_attach / gyre_thread_detach, or
 * GC_register_my_thread / GC_unregister_my_thread).
 */
#ifndef GBENCH_H
#define GBENCH_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One running instance of a benchmark on one thread (Google Benchmark's
 * benchmark::State). Valid only during the call it is passed to. */
typedef struct gbench_state gbench_state;
/* A registered benchmark (benchmark::internal::Benchmark), to configure
 * before gbench_main(). */
typedef struct gbench_bm gbench_bm;

/* The function a benchmark runs, once per thread per run. */
typedef void (*gbench_fn)(gbench_state *st);
/* A hook run on a benchmark thread (see gbench_thread_hooks). */
typedef void (*gbench_hook)(gbench_state *st);

/* ------------------------------------------------------------ registering */

/* Registers `fn` as a benchmark named `name` (copied). Call before
 * gbench_main(). Never returns NULL (Google Benchmark aborts on failure).
 * Every configuration function below returns its `b`, so calls chain:
 * gbench_arg(gbench_arg(b, 16), 32). */
gbench_bm *gbench_register(const char *name, gbench_fn fn);

/* Adds one run with range(0) == x (Benchmark::Arg). */
gbench_bm *gbench_arg(gbench_bm *b, int64_t x);
/* Adds one run with range(0) == x and range(1) == y (Benchmark::Args). */
gbench_bm *gbench_args2(gbench_bm *b, int64_t x, int64_t y);
/* Adds runs for lo, hi and the powers of the range multiplier between them
 * (Benchmark::Range). */
gbench_bm *gbench_range_arg(gbench_bm *b, int64_t lo, int64_t hi);
/* Sets the multiplier gbench_range_arg steps by (default 8;
 * Benchmark::RangeMultiplier). Call before gbench_range_arg. */
gbench_bm *gbench_range_multiplier(gbench_bm *b, int multiplier);
/* Adds runs for lo, lo + step, ... up to hi (Benchmark::DenseRange). */
gbench_bm *gbench_dense_range(gbench_bm *b, int64_t lo, int64_t hi, int step);
/* Names the first argument in the report ("size:64"; Benchmark::ArgName). */
gbench_bm *gbench_arg_name(gbench_bm *b, const char *name);
/* Names the first two arguments ("old_MiB:64/survive_pct:10";
 * Benchmark::ArgNames). */
gbench_bm *gbench_arg_names2(gbench_bm *b, const char *first,
                             const char *second);

/* Adds a run of every configuration on `n` threads at once
 * (Benchmark::Threads); may be called several times. */
gbench_bm *gbench_threads(gbench_bm *b, int n);
/* Reports wall-clock time instead of the main thread's CPU time
 * (Benchmark::UseRealTime); what multi-threaded benchmarks want. */
gbench_bm *gbench_use_real_time(gbench_bm *b);
/* Reports the time given to gbench_set_iteration_time instead of measured
 * time (Benchmark::UseManualTime). */
gbench_bm *gbench_use_manual_time(gbench_bm *b);
/* Runs each configuration for at least `seconds` (Benchmark::MinTime);
 * --benchmark_min_time overrides it. */
gbench_bm *gbench_min_time(gbench_bm *b, double seconds);
/* Runs exactly `n` iterations instead of estimating a count
 * (Benchmark::Iterations). */
gbench_bm *gbench_fixed_iterations(gbench_bm *b, int64_t n);
/* Sets hooks run on each thread of each run: `enter` just after the start
 * barrier (before the first iteration), `leave` just before the stop barrier
 * (after the last iteration), or when the function returns if it never
 * reached that barrier. Either may be NULL. See the top of this file. */
gbench_bm *gbench_thread_hooks(gbench_bm *b, gbench_hook enter,
                               gbench_hook leave);

/* ---------------------------------------------------------------- running */

/* True while the benchmark should run one more iteration; the loop
 * condition of every benchmark (State::KeepRunning). The first call starts
 * the timer and the call that returns false stops it. */
bool gbench_keep_running(gbench_state *st);
/* As gbench_keep_running, but one call counts as `n` iterations
 * (State::KeepRunningBatch), so that a loop body doing n operations reports
 * the time of one operation and the per-call overhead is paid once per n.
 * The last batch may overshoot the planned count by up to n - 1. */
bool gbench_keep_running_batch(gbench_state *st, int64_t n);
/* The i-th argument of this run (State::range). */
int64_t gbench_range(const gbench_state *st, int i);
/* Iterations completed so far; after the loop, the total
 * (State::iterations). */
int64_t gbench_iterations(const gbench_state *st);
/* Index of the calling thread in [0, gbench_thread_count) (State::thread_index). */
int gbench_thread_index(const gbench_state *st);
/* Number of threads running this benchmark (State::threads). */
int gbench_thread_count(const gbench_state *st);

/* Stops and restarts the timer around untimed work inside the loop
 * (State::PauseTiming / ResumeTiming). Each costs a clock read or two, so
 * keep them out of loops measuring nanoseconds. */
void gbench_pause_timing(gbench_state *st);
void gbench_resume_timing(gbench_state *st);
/* With gbench_use_manual_time: the duration of the current iteration, in
 * seconds (State::SetIterationTime). */
void gbench_set_iteration_time(gbench_state *st, double seconds);
/* Ends the run with an error shown in the report (State::SkipWithError);
 * the loop then ends at its next gbench_keep_running call. */
void gbench_skip_with_error(gbench_state *st, const char *message);

/* ------------------------------------------------------------- reporting */

/* How a counter's value is reported (benchmark::Counter::Flags); combine
 * with |. */
enum gbench_counter_flags {
	GBENCH_COUNTER_DEFAULT = 0,       /* the value as set */
	GBENCH_COUNTER_RATE = 1 << 0,     /* divided by the run's time: per s */
	GBENCH_COUNTER_AVG_THREADS = 1 << 1, /* divided by the thread count */
	GBENCH_COUNTER_PER_ITERATION = 1 << 2, /* divided by the iterations */
	GBENCH_COUNTER_INVERT = 1 << 3,   /* 1 / value, after the above */
};

/* Sets the counter `name` of this thread to `value`; the report sums the
 * threads' values, then applies `flags` (enum gbench_counter_flags).
 * `thousand` is 1000 or 1024, the base of the k/M/G suffix shown. */
void gbench_counter(gbench_state *st, const char *name, double value,
                    unsigned flags, int thousand);
/* Reports items per second from the number of items processed in the run
 * (State::SetItemsProcessed). */
void gbench_set_items_processed(gbench_state *st, int64_t items);
/* Reports bytes per second from the bytes processed in the run
 * (State::SetBytesProcessed). */
void gbench_set_bytes_processed(gbench_state *st, int64_t bytes);
/* Appends `label` to this run's line in the report (State::SetLabel). */
void gbench_set_label(gbench_state *st, const char *label);

/* ------------------------------------------------------------------ main */

/* Parses the --benchmark_* flags in argv (removing them), runs every
 * registered benchmark that the filter selects, prints the report and
 * releases Google Benchmark's state. Returns 0, or 1 if argv holds an
 * argument it does not recognise or the filter selects no benchmark (so a
 * smoke test with a stale filter fails instead of passing empty). */
int gbench_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* GBENCH_H */
