/*
 * test_runner.c — the scenario runner (and the recorder behind it) against the
 * real VM: threads run the entry in every thread, seq runs it T times in one,
 * every rep starts from fresh module state, warm-ups are shown but written only
 * when they fail, a failing thread does not stop the others, still gives a row,
 * and does not stop the later repetitions, the I/O thread returns its samples,
 * pinning is applied, bad input is refused before any file is touched, and
 * the fork scenario's workers report their memory and are all reaped.
 *
 * Everything is recorded by the per-rep sink (which runs on this, the test
 * thread) and asserted afterwards.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "record/record.h"
#include "runner/runner.h"

static char dir[64];
static char wl_path[128];

static const char workload[] =
    "import time\n"
    "\n"
    "calls = 0\n"
    "entered = 0\n"
    "done = False\n"
    "\n"
    "\n"
    "def count(n):\n"
    "    while n > 0:\n"
    "        n -= 1\n"
    "    return n\n"
    "\n"
    "\n"
    "def bump():\n"
    "    global calls\n"
    "    calls += 1\n"
    "    return calls\n"
    "\n"
    "\n"
    "def fail(n):\n"
    "    global entered\n"
    "    entered += 1\n"
    "    me = entered\n"
    "    k = n\n"
    "    while k > 0:\n"
    "        k -= 1\n"
    "    if me == 2:\n"
    "        return 1 // 0\n"
    "    return me\n"
    "\n"
    "\n"
    "def io(n, sleep_us):\n"
    "    global done\n"
    "    lateness = []\n"
    "    for i in range(n):\n"
    "        t0 = time.perf_counter()\n"
    "        time.sleep(sleep_us / 1000000)\n"
    "        lateness.append(int((time.perf_counter() - t0) * 1000000) - sleep_us)\n"
    "    done = True\n"
    "    return lateness\n"
    "\n"
    "\n"
    "def cpu(limit):\n"
    "    n = 0\n"
    "    while not done and n < limit:\n"
    "        n += 1\n"
    "    return n\n"
    "\n"
    "\n"
    "data = []\n"
    "\n"
    "\n"
    "def build(n):\n"
    "    for i in range(n):\n"
    "        data.append([str(i * 1000 + 7) + '-padding-padding-padding', i * 1000, i * 0.5])\n"
    "    return len(data)\n"
    "\n"
    "\n"
    "def walk():\n"
    "    seen = 0\n"
    "    for row in data:\n"
    "        for x in row:\n"
    "            seen += 1\n"
    "    return seen\n"
    "\n"
    "\n"
    "def walk_off_the_end():\n"
    "    return data[len(data) + 5]\n";

/* What the callback saw. */
#define MAX_SEEN 8
struct seen_rep {
    bool warmup, ok, has_row;
    int rep, nthreads;
    char repr[MAX_SEEN][64];
    bool failed[MAX_SEEN];
    char message[256];
    struct rec_row row;
    uint64_t acq[MAX_SEEN], rel[MAX_SEEN], acq_sum;
    struct run_thread_stats st[MAX_SEEN];
    cpu_set_t cpus[MAX_SEEN];
};
static struct seen_rep seen[MAX_SEEN];
static int nseen;

static int64_t row_int(const struct rec_row *r, enum rec_col c) { return r->cells[c].i; }
static const char *row_text(const struct rec_row *r, enum rec_col c)
{
    return r->cells[c].text ? r->cells[c].text : "";
}
static bool row_set(const struct rec_row *r, enum rec_col c) { return r->cells[c].set; }

/* The sink: remember what the repetition gave, and write it with the recorder
   passed as ctx (NULL: no files). */
static int record(void *ctx, const struct run_config *cfg, const struct run_rep *r, char *err,
                  size_t errcap)
{
    if (ctx && rec_record(ctx, cfg, r, err, errcap) != 0)
        return -1;
    if (nseen == MAX_SEEN)
        return 0;
    struct seen_rep *s = &seen[nseen++];
    rec_row_free(&s->row);
    memset(s, 0, sizeof *s);
    s->warmup = r->warmup;
    s->ok = r->ok;
    s->rep = r->rep;
    s->nthreads = r->nthreads;
    snprintf(s->message, sizeof s->message, "%s", r->message ? r->message : "");
    for (int i = 0; i < r->nthreads && i < MAX_SEEN; i++) {
        const struct run_thread_result *t = &r->threads[i];
        s->failed[i] = t->error != NULL;
        snprintf(s->repr[i], sizeof s->repr[i], "%.63s", t->repr ? t->repr : "");
        s->acq[i] = t->stats.gil.acquisitions;
        s->rel[i] = t->stats.gil.releases;
        s->acq_sum += t->stats.gil.acquisitions;
        s->st[i] = t->stats;
        s->cpus[i] = t->cpus;
    }
    if (!r->warmup || !r->ok) {   /* what the recorder writes a row for */
        s->has_row = true;
        assert_int_equal(rec_row_from_run(&s->row, cfg, r), 0);
    }
    return 0;
}

/* Run c with a recorder for the given files (NULL: none). */
static enum run_status run_with(struct run_config *c, const struct rec_paths *paths, char *err,
                                size_t errcap)
{
    struct recorder rec;
    struct rec_paths none = {0};
    if (run_prepare(c, err, errcap) != 0)
        return RUN_ERROR;
    if (rec_open(&rec, paths ? paths : &none, err, errcap) != 0)
        return RUN_ERROR;
    enum run_status st = run(c, record, &rec, err, errcap);
    rec_close(&rec);
    return st;
}

static void config(struct run_config *c, const char *entry, const char *scenario, int threads)
{
    char err[256];
    memset(c, 0, sizeof *c);
    c->file = wl_path;
    c->entry = entry;
    c->design = gil_design_find("py32") ? gil_design_find("py32") : gil_designs[0];
    gil_params_defaults(c->design, c->values);
    c->scenario = scenario_find(scenario);
    assert_non_null(c->scenario);
    c->threads = threads;
    c->reps = 1;
    assert_int_equal(run_cpus_parse("all", &c->cpus, err, sizeof err), 0);
    for (int i = 0; i < nseen; i++)
        rec_row_free(&seen[i].row);
    nseen = 0;
}

static int count_lines(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    int n = 0, ch;
    while ((ch = fgetc(f)) != EOF)
        n += ch == '\n';
    fclose(f);
    return n;
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/gillab-test-runner-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(wl_path, sizeof wl_path, "%s/w.py", dir);
    FILE *f = fopen(wl_path, "w");
    if (!f)
        return -1;
    fputs(workload, f);
    return fclose(f);
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void threads_run_the_entry_in_every_thread(void **state)
{
    (void)state;
    struct run_config c;
    char err[4096] = "";
    config(&c, "count", "threads", 3);
    c.args[0] = 5000;
    c.nargs = 1;
    assert_int_equal(run_with(&c, NULL, err, sizeof err), RUN_OK);
    assert_int_equal(nseen, 1);
    assert_int_equal(seen[0].nthreads, 3);
    assert_true(seen[0].ok);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(seen[0].repr[i], "0");
        assert_true(seen[0].acq[i] >= 1);
        assert_int_equal(seen[0].acq[i], seen[0].rel[i]);
    }
    const struct rec_row *r = &seen[0].row;
    assert_true(seen[0].has_row);
    assert_int_equal(row_int(r, REC_threads), 3);
    assert_string_equal(row_text(r, REC_scenario), "threads");
    assert_string_equal(row_text(r, REC_placement), "all");
    assert_string_equal(row_text(r, REC_entry), "count");
    assert_string_equal(row_text(r, REC_args), "5000");
    assert_string_equal(row_text(r, REC_workload), "w.py");
    assert_int_equal(row_int(r, REC_GIL_acquisitions), (int64_t)seen[0].acq_sum);
    assert_string_equal(row_text(r, REC_status), "ok");
    assert_true(row_int(r, REC_ncpus) >= 1);
    assert_true(row_text(r, REC_cpu_list)[0] != '\0');
    assert_false(row_set(r, REC_io_iters));
}

static void seq_runs_the_entry_T_times_in_one_thread_from_fresh_state(void **state)
{
    (void)state;
    struct run_config c;
    char err[4096] = "";
    config(&c, "bump", "seq", 3);
    c.reps = 2;
    assert_int_equal(run_with(&c, NULL, err, sizeof err), RUN_OK);
    assert_int_equal(nseen, 2);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(seen[k].nthreads, 1);
        assert_string_equal(seen[k].repr[0], "3");   /* not 6: each rep has fresh globals */
        assert_int_equal(seen[k].rep, k + 1);
        assert_string_equal(row_text(&seen[k].row, REC_scenario), "seq");
        assert_int_equal(row_int(&seen[k].row, REC_threads), 3);
    }
}

static void warmups_are_shown_but_written_only_when_they_fail(void **state)
{
    (void)state;
    struct run_config c;
    char err[4096] = "", csv[160];
    snprintf(csv, sizeof csv, "%s/warm.csv", dir);
    struct rec_paths paths = {.csv = csv};
    config(&c, "count", "threads", 2);
    c.args[0] = 100;
    c.nargs = 1;
    c.warmup = 2;
    c.reps = 2;
    assert_int_equal(run_with(&c, &paths, err, sizeof err), RUN_OK);
    assert_int_equal(nseen, 4);
    assert_true(seen[0].warmup && seen[1].warmup);
    assert_false(seen[0].has_row || seen[1].has_row);
    assert_false(seen[2].warmup || seen[3].warmup);
    assert_int_equal(seen[2].rep, 1);
    assert_int_equal(seen[3].rep, 2);
    assert_int_equal(count_lines(csv), 3);   /* header + two rows */
    assert_string_not_equal(row_text(&seen[2].row, REC_run_id), row_text(&seen[3].row, REC_run_id));

    /* A warm-up that fails is written, without a repetition number. */
    config(&c, "fail", "seq", 2);
    c.args[0] = 10;
    c.nargs = 1;
    c.warmup = 1;
    c.reps = 1;
    assert_int_equal(run_with(&c, &paths, err, sizeof err), RUN_FAILED);
    assert_int_equal(nseen, 2);
    assert_true(seen[0].warmup && seen[0].has_row);
    assert_false(row_set(&seen[0].row, REC_rep));
    assert_non_null(strstr(row_text(&seen[0].row, REC_message), "warm-up 1: ZeroDivisionError"));
    assert_int_equal(count_lines(csv), 5);
}

static void measured_repetitions_are_numbered_from_first_rep(void **state)
{
    (void)state;
    struct run_config c;
    char err[4096] = "";
    config(&c, "count", "threads", 1);
    c.args[0] = 10;
    c.nargs = 1;
    c.reps = 2;
    c.first_rep = 4;
    assert_int_equal(run_with(&c, NULL, err, sizeof err), RUN_OK);
    assert_int_equal(seen[0].rep, 4);
    assert_int_equal(row_int(&seen[1].row, REC_rep), 5);
}

static void a_failing_thread_stops_neither_the_other_nor_the_later_reps(void **state)
{
    (void)state;
    struct run_config c;
    char err[4096] = "", csv[160];
    snprintf(csv, sizeof csv, "%s/fail.csv", dir);
    struct rec_paths paths = {.csv = csv};
    config(&c, "fail", "threads", 2);
    c.args[0] = 2000;
    c.nargs = 1;
    c.reps = 3;
    assert_int_equal(run_with(&c, &paths, err, sizeof err), RUN_FAILED);
    assert_int_equal(nseen, 3);   /* every requested repetition ran and was recorded */
    for (int k = 0; k < 3; k++) {
        assert_false(seen[k].ok);
        assert_int_equal(seen[k].rep, k + 1);
        assert_int_equal(seen[k].failed[0] + seen[k].failed[1], 1);
        int good = seen[k].failed[0] ? 1 : 0;
        assert_string_equal(seen[k].repr[good], "1");
        assert_string_equal(row_text(&seen[k].row, REC_status), "error");
        assert_non_null(strstr(row_text(&seen[k].row, REC_message), "ZeroDivisionError"));
        assert_null(strchr(row_text(&seen[k].row, REC_message), '\n'));
    }
    assert_int_equal(count_lines(csv), 4);
}

static void convoy_returns_the_io_threads_samples(void **state)
{
    (void)state;
    struct run_config c;
    char err[4096] = "", samples[160];
    snprintf(samples, sizeof samples, "%s/samples.csv", dir);
    config(&c, "cpu", "convoy", 3);
    c.args[0] = 100000000;
    c.nargs = 1;
    c.io_entry = "io";
    c.io_args[0] = 4;
    c.io_args[1] = 500;
    c.nio_args = 2;
    c.scn_options = SCN_OPT_IO | SCN_OPT_SAMPLES;
    struct rec_paths paths = {.samples_csv = samples};
    assert_int_equal(run_with(&c, &paths, err, sizeof err), RUN_OK);
    assert_int_equal(nseen, 1);
    assert_int_equal(seen[0].nthreads, 3);
    const struct rec_row *r = &seen[0].row;
    assert_true(row_set(r, REC_io_iters));
    assert_int_equal(row_int(r, REC_io_iters), 4);
    assert_true(row_int(r, REC_latency_p50_us) <= row_int(r, REC_latency_p90_us));
    assert_true(row_int(r, REC_latency_p90_us) <= row_int(r, REC_latency_p99_us));
    assert_true(row_int(r, REC_latency_p99_us) <= row_int(r, REC_latency_max_us));
    assert_string_equal(row_text(r, REC_entry), "cpu");
    assert_string_equal(row_text(r, REC_scenario), "convoy");
    assert_int_equal(seen[0].repr[2][0], '[');
    long cpu0 = strtol(seen[0].repr[0], NULL, 10);
    assert_true(cpu0 >= 0 && cpu0 < 100000000);   /* stopped by io() being done */
    assert_int_equal(count_lines(samples), 5);
}

static void a_module_body_that_raises_gives_an_error_row_and_runs_no_thread(void **state)
{
    (void)state;
    struct run_config c;
    char err[4096] = "", csv[160], path[160];
    snprintf(csv, sizeof csv, "%s/load.csv", dir);
    snprintf(path, sizeof path, "%s/load.py", dir);
    FILE *f = fopen(path, "w");
    fputs("x = 1 // 0\n\n\ndef f():\n    return 1\n", f);
    fclose(f);
    config(&c, "f", "threads", 2);
    c.file = path;
    c.reps = 2;
    struct rec_paths paths = {.csv = csv};
    assert_int_equal(run_with(&c, &paths, err, sizeof err), RUN_FAILED);
    assert_int_equal(nseen, 2);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(seen[k].nthreads, 0);
        assert_false(seen[k].ok);
        assert_string_equal(row_text(&seen[k].row, REC_status), "error");
        assert_false(row_set(&seen[k].row, REC_GIL_acquisitions));
        assert_non_null(strstr(row_text(&seen[k].row, REC_message), "ZeroDivisionError"));
    }
    assert_int_equal(count_lines(csv), 3);
}

static void threads_are_pinned_as_asked(void **state)
{
    (void)state;
    struct run_config c;
    char err[4096] = "";
    config(&c, "count", "threads", 2);
    c.args[0] = 100;
    c.nargs = 1;
    assert_int_equal(run_cpus_parse("1", &c.cpus, err, sizeof err), 0);
    assert_int_equal(run_with(&c, NULL, err, sizeof err), RUN_OK);
    assert_true(CPU_EQUAL(&seen[0].cpus[0], &c.cpus.set));
    assert_true(CPU_EQUAL(&seen[0].cpus[1], &c.cpus.set));
    assert_int_equal(row_int(&seen[0].row, REC_ncpus), 1);
    assert_string_equal(row_text(&seen[0].row, REC_cpus), "1");
    assert_string_equal(row_text(&seen[0].row, REC_placement), "one");
}

static void bad_input_is_refused_before_any_file_is_left(void **state)
{
    (void)state;
    struct run_config c;
    char err[4096] = "", csv[160], bad[160];
    snprintf(csv, sizeof csv, "%s/never.csv", dir);
    snprintf(bad, sizeof bad, "%s/bad.py", dir);
    FILE *f = fopen(bad, "w");
    fputs("def f(:\n    pass\n", f);
    fclose(f);

    struct rec_paths paths = {.csv = csv};
    config(&c, "nosuch", "threads", 2);
    assert_int_equal(run_with(&c, &paths, err, sizeof err), RUN_ERROR);
    assert_non_null(strstr(err, "--entry nosuch"));
    assert_int_equal(access(csv, F_OK), -1);
    assert_int_equal(nseen, 0);

    config(&c, "count", "threads", 2);
    c.file = bad;
    assert_int_equal(run_with(&c, &paths, err, sizeof err), RUN_ERROR);
    assert_non_null(strstr(err, "bad.py:1:"));
    assert_int_equal(access(csv, F_OK), -1);

    config(&c, "count", "threads", -1);
    assert_int_equal(run_with(&c, NULL, err, sizeof err), RUN_ERROR);
    assert_string_equal(err, "--threads -1: expected 1..256");
    config(&c, "count", "threads", RUN_MAX_THREADS + 1);
    assert_int_equal(run_with(&c, NULL, err, sizeof err), RUN_ERROR);
    config(&c, "count", "convoy", 1);
    assert_int_equal(run_with(&c, NULL, err, sizeof err), RUN_ERROR);
    assert_non_null(strstr(err, "--threads 1: expected 2..256"));
    config(&c, "count", "threads", 2);
    c.scn_options = SCN_OPT_SAMPLES;
    c.scn_option_flag = "--samples-csv";
    assert_int_equal(run_with(&c, NULL, err, sizeof err), RUN_ERROR);
    assert_string_equal(err, "--samples-csv: only for --scenario convoy");
    /* A design whose thread limit the scenario would exceed, found in the
       registry rather than by name. */
    for (const struct gil_design *const *d = gil_designs; *d; d++) {
        if ((*d)->max_threads != 1)
            continue;
        config(&c, "count", "threads", 2);
        c.design = *d;
        assert_int_equal(run_with(&c, NULL, err, sizeof err), RUN_ERROR);
        assert_non_null(strstr(err, "runs at most 1 thread at once"));
        config(&c, "count", "seq", 2);   /* one thread at a time: allowed */
        c.args[0] = 10;
        c.nargs = 1;
        c.design = *d;
        gil_params_defaults(c.design, c.values);
        assert_int_equal(run_with(&c, NULL, err, sizeof err), RUN_OK);
    }
}

static void the_trace_of_the_last_rep_is_written(void **state)
{
    (void)state;
    struct run_config c;
    char err[4096] = "", tcsv[160], tjson[160];
    snprintf(tcsv, sizeof tcsv, "%s/t.csv", dir);
    snprintf(tjson, sizeof tjson, "%s/t.json", dir);
    config(&c, "count", "threads", 2);
    c.args[0] = 1000;
    c.nargs = 1;
    c.reps = 2;
    c.trace = true;
    struct rec_paths paths = {.trace_csv = tcsv, .trace_json = tjson};
    assert_int_equal(run_with(&c, &paths, err, sizeof err), RUN_OK);
    assert_true(count_lines(tcsv) > 4);
    assert_true(count_lines(tjson) >= 1);
}

/* Every configuration of every design that runs two threads, with each enum
   parameter in every choice (py26: sem and condvar), two threads on every CPU:
   per thread, a futile wake-up is a wake-up, and a wake-up is a real sleep, so
   futile_wakeups <= wakeups <= ctx_voluntary. The slack: a futex wait woken
   between queueing and sleeping returns "woken" without a context switch
   (gil.h), a rare race; 2% + 3 covers it. */
static void wake_ups_are_real_sleeps(void **state)
{
    (void)state;
    char err[4096];
    for (const struct gil_design *const *d = gil_designs; *d; d++) {
        if (!gil_design_allows(*d, 2))
            continue;
        int enum_param = -1, nchoices = 1;
        for (size_t i = 0; i < (*d)->nparams; i++)
            if ((*d)->params[i].kind == GIL_PARAM_ENUM) {
                enum_param = (int)i;
                nchoices = 1;
                for (const char *c = (*d)->params[i].choices; *c; c++)
                    nchoices += *c == '|';
                break;
            }
        for (int k = 0; k < nchoices; k++) {
            struct run_config c;
            config(&c, "count", "threads", 2);
            c.design = *d;
            gil_params_defaults(c.design, c.values);
            if (enum_param >= 0)
                c.values[enum_param] = k;
            if (c.design->vm_safety && gil_vm_safety_kind(c.design->vm_safety(c.values)) == GIL_VM_UNSAFE)
                continue;   /* deliberately racy refcounts: the race exercise's, not this test's */
            c.args[0] = 3000000;
            c.nargs = 1;
            assert_int_equal(run_with(&c, NULL, err, sizeof err), RUN_OK);
            for (int i = 0; i < 2; i++) {
                const struct run_thread_stats *t = &seen[0].st[i];
                uint64_t slack = t->gil.wakeups / 50 + 3;
                if (t->gil.futile_wakeups > t->gil.wakeups ||
                    t->gil.wakeups > (uint64_t)t->ctx_voluntary + slack)
                    fail_msg("%s (choice %d) thread %d: futile %llu, wakeups %llu, voluntary switches %lld",
                             (*d)->name, k, i, (unsigned long long)t->gil.futile_wakeups,
                             (unsigned long long)t->gil.wakeups, (long long)t->ctx_voluntary);
            }
        }
    }
}

/* ---- the fork scenario -------------------------------------------------------------------- */

/* Sanitizers change what a walk writes (TSan records every access in shadow
   memory) and what a setup allocates (ASan's redzones and shadow): the share
   of pages a walk leaves shared is asserted in the plain build only. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define UNDER_SANITIZER 1
#endif
#endif
#ifndef UNDER_SANITIZER
#define UNDER_SANITIZER 0
#endif

struct seen_fork {
    int nreps, nworkers;
    bool ok, has_heap;
    int64_t heap_kb;
    long frozen;
    int pid[4];
    enum run_worker_end end[4];
    bool has_before[4], has_after[4];
    int64_t unshared_kb[4];
    char message[256];
    size_t nsamples;
};
static struct seen_fork fk;

static int fork_sink(void *ctx, const struct run_config *cfg, const struct run_rep *r, char *err,
                     size_t errcap)
{
    (void)ctx, (void)cfg, (void)err, (void)errcap;
    fk.nreps++;
    fk.ok = r->ok;
    fk.nworkers = r->nworkers;
    fk.has_heap = r->has_heap;
    fk.heap_kb = r->heap_kb;
    fk.frozen = r->frozen_objects;
    fk.nsamples = r->nsmaps_samples;
    snprintf(fk.message, sizeof fk.message, "%s", r->message ? r->message : "");
    for (int i = 0; i < r->nworkers && i < 4; i++) {
        const struct run_worker *w = &r->workers[i];
        fk.pid[i] = w->pid;
        fk.end[i] = w->end;
        fk.has_before[i] = w->has_before;
        fk.has_after[i] = w->has_after;
        fk.unshared_kb[i] = (w->before.shared_clean_kb + w->before.shared_dirty_kb) -
                            (w->after.shared_clean_kb + w->after.shared_dirty_kb);
    }
    return 0;
}

static enum run_status run_fork(const char *entry, int workers, enum run_refcount_policy policy,
                                int64_t rows, char *err, size_t errcap)
{
    struct run_config c;
    config(&c, entry, "fork", 0);
    c.setup = "build";
    c.args[0] = rows;
    c.nargs = 1;
    c.workers = workers;
    c.refcount_policy = policy;
    c.sample_ms = 1;
    memset(&fk, 0, sizeof fk);
    if (run_prepare(&c, err, errcap) != 0)
        return RUN_ERROR;
    return run(&c, fork_sink, NULL, err, errcap);
}

static bool reaped(int pid) { return kill(pid, 0) != 0 && errno == ESRCH; }

static void fork_workers_report_their_memory_and_are_reaped(void **state)
{
    (void)state;
    char err[1024] = "";
    /* 40000 rows of a str, an int and a float: about 5 MB. */
    for (int policy = 0; policy < RUN_REFCOUNT_POLICIES; policy++) {
        assert_int_equal(run_fork("walk", 2, (enum run_refcount_policy)policy, 40000, err, sizeof err),
                         RUN_OK);
        assert_int_equal(fk.nreps, 1);
        assert_int_equal(fk.nworkers, 2);
        if (!fk.ok || !fk.has_heap || (!UNDER_SANITIZER && fk.heap_kb < 2000))
            fail_msg("ok %d, heap %d, %lld kB: %s", fk.ok, fk.has_heap, (long long)fk.heap_kb, fk.message);
        assert_true(fk.nsamples >= 4);   /* before and after, per worker */
        assert_int_equal(fk.frozen > 0, policy == RUN_REFCOUNTS_IMMORTAL);
        for (int i = 0; i < 2; i++) {
            assert_int_equal(fk.end[i], RUN_WORKER_OK);
            assert_true(fk.has_before[i] && fk.has_after[i]);
            assert_true(reaped(fk.pid[i]));
            if (UNDER_SANITIZER)
                continue;
            /* plain: most of the structure made private; immortal: almost none. */
            if (policy == RUN_REFCOUNTS_PLAIN && fk.unshared_kb[i] < fk.heap_kb / 2)
                fail_msg("plain: worker %d unshared %lld of %lld kB", i, (long long)fk.unshared_kb[i],
                         (long long)fk.heap_kb);
            if (policy == RUN_REFCOUNTS_IMMORTAL && fk.unshared_kb[i] > fk.heap_kb / 10)
                fail_msg("immortal: worker %d unshared %lld of %lld kB", i,
                         (long long)fk.unshared_kb[i], (long long)fk.heap_kb);
        }
    }
}

static void a_worker_whose_call_raises_fails_its_row_only(void **state)
{
    (void)state;
    char err[1024] = "";
    assert_int_equal(run_fork("walk_off_the_end", 2, RUN_REFCOUNTS_PLAIN, 100, err, sizeof err),
                     RUN_FAILED);
    assert_int_equal(fk.nworkers, 2);
    assert_false(fk.ok);
    assert_int_equal(fk.end[0], RUN_WORKER_ERROR);
    assert_int_equal(fk.end[1], RUN_WORKER_ERROR);
    assert_string_equal(fk.message, "worker 0: IndexError: list index out of range");
    assert_true(reaped(fk.pid[0]) && reaped(fk.pid[1]));
}

static void fork_options_are_checked_before_anything_runs(void **state)
{
    (void)state;
    char err[1024] = "";
    assert_int_equal(run_fork("walk", -1, RUN_REFCOUNTS_PLAIN, 10, err, sizeof err), RUN_ERROR);
    assert_string_equal(err, "--workers -1: expected 1..256");
    assert_int_equal(run_fork("walk", RUN_MAX_WORKERS + 1, RUN_REFCOUNTS_PLAIN, 10, err, sizeof err),
                     RUN_ERROR);
    assert_string_equal(err, "--workers 257: expected 1..256");
    assert_int_equal(run_fork("count", 1, RUN_REFCOUNTS_PLAIN, 10, err, sizeof err), RUN_ERROR);
    assert_non_null(strstr(err, "--entry count: count() takes 1 argument, got 0"));
    struct run_config c;
    config(&c, "walk", "fork", 2);
    c.setup = "build";
    assert_int_equal(run_prepare(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "--threads: not for --scenario fork"));
    config(&c, "walk", "fork", 0);
    assert_int_equal(run_prepare(&c, err, sizeof err), -1);
    assert_non_null(strstr(err, "--scenario fork needs --setup NAME"));
    assert_int_equal(fk.nreps, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads_run_the_entry_in_every_thread),
        cmocka_unit_test(seq_runs_the_entry_T_times_in_one_thread_from_fresh_state),
        cmocka_unit_test(warmups_are_shown_but_written_only_when_they_fail),
        cmocka_unit_test(measured_repetitions_are_numbered_from_first_rep),
        cmocka_unit_test(a_failing_thread_stops_neither_the_other_nor_the_later_reps),
        cmocka_unit_test(convoy_returns_the_io_threads_samples),
        cmocka_unit_test(a_module_body_that_raises_gives_an_error_row_and_runs_no_thread),
        cmocka_unit_test(threads_are_pinned_as_asked),
        cmocka_unit_test(bad_input_is_refused_before_any_file_is_left),
        cmocka_unit_test(the_trace_of_the_last_rep_is_written),
        cmocka_unit_test(wake_ups_are_real_sleeps),
        cmocka_unit_test(fork_workers_report_their_memory_and_are_reaped),
        cmocka_unit_test(a_worker_whose_call_raises_fails_its_row_only),
        cmocka_unit_test(fork_options_are_checked_before_anything_runs),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
