/*
 * gbench.cc: the C interface of gbench.h over Google Benchmark 1.7. Each
 * function forwards to the one Google Benchmark call its comment in gbench.h
 * names; the only logic of its own is the thread hooks, which rely on where
 * State::KeepRunningInternal waits on the threads' start/stop barrier: in
 * the first call (not started yet) and in the call made once the planned
 * iterations are used up (iterations() >= max_iterations). Every other call
 * only decrements a counter and never waits.
 */
#include "gbench.h"

#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

/* A registered benchmark: Google Benchmark's object and what our wrapper
 * calls around the C function. */
struct gbench_bm {
	benchmark::internal::Benchmark *b; /* owned by Google Benchmark */
	gbench_fn fn;                      /* the C benchmark function */
	gbench_hook enter;                 /* after the start barrier, or NULL */
	gbench_hook leave;                 /* before the stop barrier, or NULL */
};

/* One thread's run of a benchmark; lives on that thread's stack for the
 * duration of the call to the C function. */
struct gbench_state {
	benchmark::State *st;  /* this thread's Google Benchmark state */
	const gbench_bm *bm;   /* the benchmark being run */
	bool entered;          /* the enter hook ran (start barrier passed) */
	bool left;             /* the leave hook ran */
};

/* Every gbench_bm made, freed at exit. Registration happens on the main
 * thread before gbench_main, so no lock. */
static std::vector<std::unique_ptr<gbench_bm>> all_benchmarks;

/* Runs a hook with the timer stopped, so that attaching or detaching a
 * thread does not count as benchmark time. */
static void run_hook(gbench_state *s, gbench_hook hook)
{
	if (hook == nullptr)
		return;
	if (s->st->error_occurred()) {
		hook(s);
		return;
	}
	s->st->PauseTiming();
	hook(s);
	s->st->ResumeTiming();
}

/* The keep-running step with the hooks around the two barrier waits. */
static bool keep_running(gbench_state *s, int64_t n)
{
	benchmark::State &st = *s->st;

	if (s->entered && st.iterations() < st.max_iterations)
		return n == 1 ? st.KeepRunning() : st.KeepRunningBatch(n);
	if (s->entered && !s->left) {
		s->left = true;
		run_hook(s, s->bm->leave);
	}
	bool more = n == 1 ? st.KeepRunning() : st.KeepRunningBatch(n);
	if (more && !s->entered) {
		s->entered = true;
		run_hook(s, s->bm->enter);
	}
	return more;
}

extern "C" {

gbench_bm *gbench_register(const char *name, gbench_fn fn)
{
	all_benchmarks.emplace_back(new gbench_bm{nullptr, fn, nullptr, nullptr});
	gbench_bm *bm = all_benchmarks.back().get();
	bm->b = benchmark::RegisterBenchmark(name, [bm](benchmark::State &st) {
		gbench_state s = {&st, bm, false, false};
		bm->fn(&s);
		if (s.entered && !s.left && bm->leave != nullptr)
			bm->leave(&s);
	});
	return bm;
}

gbench_bm *gbench_arg(gbench_bm *b, int64_t x)
{
	b->b->Arg(x);
	return b;
}

gbench_bm *gbench_args2(gbench_bm *b, int64_t x, int64_t y)
{
	b->b->Args({x, y});
	return b;
}

gbench_bm *gbench_range_arg(gbench_bm *b, int64_t lo, int64_t hi)
{
	b->b->Range(lo, hi);
	return b;
}

gbench_bm *gbench_range_multiplier(gbench_bm *b, int multiplier)
{
	b->b->RangeMultiplier(multiplier);
	return b;
}

gbench_bm *gbench_dense_range(gbench_bm *b, int64_t lo, int64_t hi, int step)
{
	b->b->DenseRange(lo, hi, step);
	return b;
}

gbench_bm *gbench_arg_name(gbench_bm *b, const char *name)
{
	b->b->ArgName(name);
	return b;
}

gbench_bm *gbench_arg_names2(gbench_bm *b, const char *first,
                             const char *second)
{
	b->b->ArgNames({first, second});
	return b;
}

gbench_bm *gbench_threads(gbench_bm *b, int n)
{
	b->b->Threads(n);
	return b;
}

gbench_bm *gbench_use_real_time(gbench_bm *b)
{
	b->b->UseRealTime();
	return b;
}

gbench_bm *gbench_use_manual_time(gbench_bm *b)
{
	b->b->UseManualTime();
	return b;
}

gbench_bm *gbench_min_time(gbench_bm *b, double seconds)
{
	b->b->MinTime(seconds);
	return b;
}

gbench_bm *gbench_fixed_iterations(gbench_bm *b, int64_t n)
{
	b->b->Iterations(n);
	return b;
}

gbench_bm *gbench_thread_hooks(gbench_bm *b, gbench_hook enter,
                               gbench_hook leave)
{
	b->enter = enter;
	b->leave = leave;
	return b;
}

bool gbench_keep_running(gbench_state *st)
{
	return keep_running(st, 1);
}

bool gbench_keep_running_batch(gbench_state *st, int64_t n)
{
	return keep_running(st, n);
}

int64_t gbench_range(const gbench_state *st, int i)
{
	return st->st->range(i);
}

int64_t gbench_iterations(const gbench_state *st)
{
	return st->st->iterations();
}

int gbench_thread_index(const gbench_state *st)
{
	return st->st->thread_index();
}

int gbench_thread_count(const gbench_state *st)
{
	return st->st->threads();
}

void gbench_pause_timing(gbench_state *st)
{
	st->st->PauseTiming();
}

void gbench_resume_timing(gbench_state *st)
{
	st->st->ResumeTiming();
}

void gbench_set_iteration_time(gbench_state *st, double seconds)
{
	st->st->SetIterationTime(seconds);
}

void gbench_skip_with_error(gbench_state *st, const char *message)
{
	st->st->SkipWithError(message);
}

void gbench_counter(gbench_state *st, const char *name, double value,
                    unsigned flags, int thousand)
{
	int f = benchmark::Counter::kDefaults;

	if (flags & GBENCH_COUNTER_RATE)
		f |= benchmark::Counter::kIsRate;
	if (flags & GBENCH_COUNTER_AVG_THREADS)
		f |= benchmark::Counter::kAvgThreads;
	if (flags & GBENCH_COUNTER_PER_ITERATION)
		f |= benchmark::Counter::kAvgIterations;
	if (flags & GBENCH_COUNTER_INVERT)
		f |= benchmark::Counter::kInvert;
	st->st->counters[name] = benchmark::Counter(value,
		static_cast<benchmark::Counter::Flags>(f),
		thousand == 1024 ? benchmark::Counter::kIs1024
		                 : benchmark::Counter::kIs1000);
}

void gbench_set_items_processed(gbench_state *st, int64_t items)
{
	st->st->SetItemsProcessed(items);
}

void gbench_set_bytes_processed(gbench_state *st, int64_t bytes)
{
	st->st->SetBytesProcessed(bytes);
}

void gbench_set_label(gbench_state *st, const char *label)
{
	st->st->SetLabel(label);
}

int gbench_main(int argc, char **argv)
{
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	size_t ran = benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	return ran > 0 ? 0 : 1;
}

} /* extern "C" */
