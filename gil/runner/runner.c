/*
 * runner.c — the scenario runner (see runner.h): what it may touch is the VM's
 * public face (vm/vm.h), the lock layer's calls (locks/gil.h) and the trace
 * buffers; it opens no files and prints nothing.
 *
 * One repetition, step by step, all on the calling ("main") thread except step 4:
 *   1. a fresh lock and runtime; a loader thread state loads the module and is
 *      freed; the lock forgets its holder (gil_forget_holder), so the loader's
 *      acquisition counts as nobody's and the first worker's take is not a switch;
 *      under a policy with GIL_VM_IMMORTAL_AT_START every object the module's
 *      globals reach is made immortal (vm_runtime_immortalize);
 *   2. one vm_thread per worker (id 0..n-1, with its trace buffer on the traced
 *      repetition), then one pthread per worker;
 *   3. each worker pins itself (--cpus), reads its mask back, and waits at the
 *      start gate; when all are there the main thread snapshots RUSAGE_SELF and
 *      the clock and opens the gate;
 *   4. each worker snapshots RUSAGE_THREAD, calls its entry (sequential
 *      scenarios: `threads` times) and snapshots again; an I/O worker first
 *      waits until every CPU worker has begun;
 *   5. the main thread joins them all, reads the clock and RUSAGE_SELF, then
 *      reads each thread's lock statistics (the join orders those reads after
 *      every write), and hands the results to the sink.
 *
 * The start gate is a mutex + condition variable rather than a
 * pthread_barrier: if starting thread k fails, the threads already waiting
 * must be told to give up, which a barrier cannot do.
 */
#include "runner/runner.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/panic.h"
#include "runner/fork.h"

#define DEFAULT_IO_ENTRY "io"

/* ---- checking a configuration ------------------------------------------------------------ */

int run_prepare(struct run_config *c, char *err, size_t errcap)
{
    if (!c->file || !c->entry || !c->design) {
        snprintf(err, errcap, "run: a file, an entry and a design are required");
        return -1;
    }
    if (!c->scenario)
        c->scenario = scenario_default;
    const struct scenario *s = c->scenario;
    if (s->forks && fork_prepare(c, err, errcap) != 0)
        return -1;
    if (c->threads == 0)
        c->threads = s->default_threads;
    if (c->threads < s->min_threads || c->threads > RUN_MAX_THREADS) {
        snprintf(err, errcap, "--threads %d: expected %d..%d%s%s%s", c->threads, s->min_threads,
                 RUN_MAX_THREADS, s->min_threads > 1 ? " (" : "",
                 s->min_threads > 1 ? s->threads_means : "", s->min_threads > 1 ? ")" : "");
        return -1;
    }
    if (!gil_design_allows(c->design, scenario_concurrency(s, c->threads))) {
        char others[256];
        gil_design_names(others, sizeof others, "|", scenario_concurrency(s, c->threads));
        snprintf(err, errcap, "--gil %s: %s runs at most %d thread%s at once; use --gil %s",
                 c->design->name, c->design->name, c->design->max_threads,
                 c->design->max_threads == 1 ? "" : "s", others);
        return -1;
    }
    unsigned refused = c->scn_options & ~s->options;
    if (refused) {
        char which[128];
        scenario_names(which, sizeof which, "|", refused);
        snprintf(err, errcap, "%s: only for --scenario %s", c->scn_option_flag ? c->scn_option_flag : "run",
                 which[0] ? which : "(none)");
        return -1;
    }
    if (s->io_thread && !c->io_entry)
        c->io_entry = DEFAULT_IO_ENTRY;
    if (c->reps == 0)
        c->reps = 1;
    if (c->first_rep == 0)
        c->first_rep = 1;
    if (c->reps < 1 || c->reps > RUN_MAX_REPS) {
        snprintf(err, errcap, "--reps %d: expected 1..%d", c->reps, RUN_MAX_REPS);
        return -1;
    }
    if (c->warmup < 0 || c->warmup > RUN_MAX_REPS) {
        snprintf(err, errcap, "--warmup %d: expected 0..%d", c->warmup, RUN_MAX_REPS);
        return -1;
    }
    if (c->first_rep < 1 || c->first_rep > RUN_MAX_REPS) {
        snprintf(err, errcap, "--first-rep %d: expected 1..%d", c->first_rep, RUN_MAX_REPS);
        return -1;
    }
    if (c->cpus.mode == RUN_CPUS_UNSET && run_cpus_parse("all", &c->cpus, err, errcap) != 0)
        return -1;
    c->prepared = true;
    return 0;
}

/* ---- workers and the start gate ------------------------------------------------------ */

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* broadcast on every change below; each waiter loops on its own predicate */
    int ready;              /* mu: workers pinned and waiting at the gate */
    bool open;              /* mu: the main thread released them */
    bool abort;             /* mu: start-up failed; workers return without running */
    int cpu_begun;          /* mu: CPU workers (beside an I/O worker) that have begun their call */
};

/* A worker's fields are handed over, never shared: "set" fields are written by
   the main thread before pthread_create (which orders them before the worker's
   reads) and only read afterwards; "own" fields are written by the worker while
   it runs and read by the main thread after pthread_join (which orders every
   write before those reads). */
struct worker {
    struct gate *gate;          /* set; the gate's fields are guarded by gate->mu */
    struct vm_runtime *rt;      /* set; the VM serialises access per the lock design */
    const struct run_cpus *cpus; /* set */
    int id;                     /* set */
    int ncpu_workers;           /* set: the CPU workers the I/O worker waits for */
    bool io;                    /* set: the I/O worker (a scenario with io_thread) */
    bool cpu_beside_io;         /* set: a CPU worker beside an I/O worker; announces that it has begun */
    const char *entry;          /* set */
    const int64_t *args;        /* set */
    int nargs;                  /* set */
    int calls;                  /* set: a sequential scenario calls the entry this many times */
    struct vm_thread *ts;       /* set; then own while running */
    char *repr;                 /* own: its last result's whole repr (malloc'd), or NULL */
    struct vm_error err;        /* own */
    uint64_t ended_ns;          /* own: when its last call returned (or failed) */
    enum vm_result result;      /* own */
    int pin_errno;              /* own */
    struct run_thread_stats stats; /* own (the lock counters are read from ts after join) */
    cpu_set_t cpus_used;        /* own */
    bool started;               /* main thread only: pthread_create succeeded */
    pthread_t tid;              /* main thread only */
};

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct rusage r0, r1;

    w->pin_errno = run_cpus_pin_self(w->cpus);
    if (w->pin_errno == 0)
        w->pin_errno = run_cpus_current(&w->cpus_used);

    PT_CHECK(pthread_mutex_lock(&w->gate->mu));
    w->gate->ready++;
    PT_CHECK(pthread_cond_broadcast(&w->gate->cv));
    while (!w->gate->open && !w->gate->abort)
        PT_CHECK(pthread_cond_wait(&w->gate->cv, &w->gate->mu));
    bool aborted = w->gate->abort;
    PT_CHECK(pthread_mutex_unlock(&w->gate->mu));
    if (aborted)
        return NULL;

    if (w->pin_errno != 0) {
        w->result = VM_RUNTIME_ERROR;
        snprintf(w->err.msg, sizeof w->err.msg, "cannot pin thread %d to its CPUs: %s", w->id,
                 strerror(w->pin_errno));
    }
    if (w->cpu_beside_io) {
        PT_CHECK(pthread_mutex_lock(&w->gate->mu));
        w->gate->cpu_begun++;
        PT_CHECK(pthread_cond_broadcast(&w->gate->cv));
        PT_CHECK(pthread_mutex_unlock(&w->gate->mu));
    }
    if (w->io) {
        PT_CHECK(pthread_mutex_lock(&w->gate->mu));
        while (w->gate->cpu_begun < w->ncpu_workers)
            PT_CHECK(pthread_cond_wait(&w->gate->cv, &w->gate->mu));
        PT_CHECK(pthread_mutex_unlock(&w->gate->mu));
    }
    if (w->pin_errno != 0)
        return NULL;

    getrusage(RUSAGE_THREAD, &r0);
    uint64_t t0 = gil_now_ns();
    w->result = VM_OK;
    for (int c = 0; c < w->calls && w->result == VM_OK; c++) {
        free(w->repr);
        w->result = vm_call_repr(w->rt, w->ts, w->entry, w->args, w->nargs, &w->repr, &w->err);
    }
    uint64_t t1 = gil_now_ns();
    getrusage(RUSAGE_THREAD, &r1);
    gil_thread_finish(vm_thread_gil(w->ts), t1 - t0);
    w->ended_ns = t1;

    w->stats.wall_s = (double)(t1 - t0) / 1e9;
    w->stats.user_s = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
    w->stats.sys_s = tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
    w->stats.ctx_voluntary = r1.ru_nvcsw - r0.ru_nvcsw;
    w->stats.ctx_involuntary = r1.ru_nivcsw - r0.ru_nivcsw;
    return NULL;
}

/* ---- one run ----------------------------------------------------------------------------- */

struct runner {
    const struct run_config *cfg;
    struct vm_program *prog;
    run_sink *sink;
    void *ctx;
};

void run_last_line(const char *msg, char *out, size_t cap)
{
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
        n--;
    size_t start = n;
    while (start > 0 && msg[start - 1] != '\n')
        start--;
    snprintf(out, cap, "%.*s", (int)(n - start), msg + start);
}

static int check_entry(struct vm_runtime *rt, const char *flag, const char *argflag, const char *name,
                       int nargs, const char *file, char *err, size_t errcap)
{
    int arity = vm_function_arity(rt, name);
    if (arity < 0) {
        snprintf(err, errcap, "%s %s: %s defines no function '%s'", flag, name, file, name);
        return -1;
    }
    if (arity != nargs) {
        snprintf(err, errcap, "%s %s: %s() takes %d argument%s, got %d (%s)", flag, name, name, arity,
                 arity == 1 ? "" : "s", nargs, argflag);
        return -1;
    }
    return 0;
}

/* The I/O worker's returned list as samples. On a malformed list the
   repetition fails with a message. */
static void io_results(const char *scenario, const struct worker *io, struct run_rep *res,
                       int64_t **samples, char *message, size_t cap)
{
    size_t n = 0;
    if (io->result != VM_OK)
        return;
    if (!io->repr || run_parse_int_list(io->repr, samples, &n) != 0) {
        if (res->ok)
            snprintf(message, cap,
                     "%s: %s() must return a list of ints (its wake-up latencies in us); got %.80s%s",
                     scenario, io->entry, io->repr ? io->repr : "(a result too big to format)",
                     io->repr && strlen(io->repr) > 80 ? "..." : "");
        res->ok = false;
        return;
    }
    res->has_io = true;
    res->samples = *samples;
    res->nsamples = n;
    res->io_wall_s = io->stats.wall_s;
}

static enum run_status run_rep(struct runner *R, bool warmup, int rep, bool traced, char *err,
                               size_t errcap)
{
    const struct run_config *cfg = R->cfg;
    const struct scenario *sc = cfg->scenario;
    int n = scenario_concurrency(sc, cfg->threads);
    struct gil *g = NULL;
    struct vm_runtime *rt = NULL;
    struct vm_thread *loader = NULL;
    struct worker *w = NULL;
    struct run_thread_result *tres = NULL;
    struct run_thread_stats *per = NULL;
    int64_t *samples = NULL;
    struct trace tr = {0};
    bool have_trace = false, gate_made = false;
    struct gate gate = {0};
    struct vm_error verr = {0};
    char message[1024] = "";
    enum run_status st = RUN_ERROR;
    int rc;

    if ((rc = gil_new(cfg->design, cfg->values, &g)) != 0) {
        snprintf(err, errcap, "--gil %s: cannot create the lock: %s", cfg->design->name, strerror(rc));
        goto out;
    }
    if (vm_runtime_new(R->prog, g, stdout, &rt, &verr) != VM_OK ||
        vm_thread_new(rt, 0, NULL, &loader, &verr) != VM_OK) {
        snprintf(err, errcap, "%s", verr.msg);
        goto out;
    }
    enum vm_result lr = vm_load_module(rt, loader, &verr);
    vm_thread_free(loader);
    loader = NULL;
    if (lr == VM_RUNTIME_ERROR) {
        /* The module body raised before any worker ran: the repetition failed,
           and says so like a failed thread would. */
        run_last_line(verr.msg, message, sizeof message);
        struct run_rep res = {.warmup = warmup, .rep = rep, .started = (int64_t)time(NULL),
                              .message = message, .load_error = verr.msg};
        st = R->sink(R->ctx, cfg, &res, err, errcap) != 0 ? RUN_ERROR : RUN_FAILED;
        goto out;
    }
    if (lr != VM_OK) {
        snprintf(err, errcap, "%s", verr.msg);
        goto out;
    }
    if (check_entry(rt, "--entry", "--arg", cfg->entry, cfg->nargs, cfg->file, err, errcap) != 0)
        goto out;
    if (sc->io_thread && check_entry(rt, "--io-entry", "--io-arg", cfg->io_entry, cfg->nio_args,
                                     cfg->file, err, errcap) != 0)
        goto out;
    /* No thread runs now; the workers' pthread_create orders this before
       their first take (and before their first look at an object made
       immortal here). */
    gil_forget_holder(g);
    if (g->immortal_at_start) {
        vm_runtime_settle(rt);
        if (vm_runtime_immortalize(rt) < 0) {
            snprintf(err, errcap, "--set immortal_at_start=on: out of memory making the module's "
                                  "objects immortal");
            goto out;
        }
    }

    if (traced) {
        if ((rc = trace_init(&tr, n, TRACE_DEFAULT_CAP)) != 0) {
            snprintf(err, errcap, "--trace: cannot allocate the trace buffers: %s", strerror(rc));
            goto out;
        }
        have_trace = true;
    }
    w = calloc((size_t)n, sizeof *w);
    tres = calloc((size_t)n, sizeof *tres);
    per = calloc((size_t)n, sizeof *per);
    if (!w || !tres || !per) {
        snprintf(err, errcap, "--threads %d: cannot start the run: %s", cfg->threads, strerror(ENOMEM));
        goto out;
    }
    for (int i = 0; i < n; i++) {
        struct worker *x = &w[i];
        x->gate = &gate;
        x->rt = rt;
        x->cpus = &cfg->cpus;
        x->id = i;
        x->calls = sc->sequential ? cfg->threads : 1;
        x->io = sc->io_thread && i == n - 1;
        x->cpu_beside_io = sc->io_thread && !x->io;
        x->ncpu_workers = n - 1;
        x->entry = x->io ? cfg->io_entry : cfg->entry;
        x->args = x->io ? cfg->io_args : cfg->args;
        x->nargs = x->io ? cfg->nio_args : cfg->nargs;
        if (vm_thread_new(rt, i, have_trace ? &tr.bufs[i] : NULL, &x->ts, &verr) != VM_OK) {
            snprintf(err, errcap, "%s", verr.msg);
            goto out;
        }
        if (cfg->opstats && vm_thread_count_ops(x->ts) != 0) {
            snprintf(err, errcap, "--opstats: cannot count opcodes: %s", strerror(ENOMEM));
            goto out;
        }
    }

    PT_CHECK(pthread_mutex_init(&gate.mu, NULL));
    PT_CHECK(pthread_cond_init(&gate.cv, NULL));
    gate_made = true;
    for (int i = 0; i < n; i++) {
        rc = pthread_create(&w[i].tid, NULL, worker_main, &w[i]);
        if (rc != 0) {
            snprintf(err, errcap, "--threads %d: cannot start thread %d: %s", cfg->threads, i, strerror(rc));
            PT_CHECK(pthread_mutex_lock(&gate.mu));
            gate.abort = true;
            PT_CHECK(pthread_cond_broadcast(&gate.cv));
            PT_CHECK(pthread_mutex_unlock(&gate.mu));
            goto out;
        }
        w[i].started = true;
    }

    struct rusage r0, r1;
    PT_CHECK(pthread_mutex_lock(&gate.mu));
    while (gate.ready < n)
        PT_CHECK(pthread_cond_wait(&gate.cv, &gate.mu));
    int64_t started = (int64_t)time(NULL);
    struct run_load load0 = run_load_read();
    getrusage(RUSAGE_SELF, &r0);
    uint64_t t0 = gil_now_ns();
    if (have_trace)
        tr.t0_ns = t0;
    gate.open = true;
    PT_CHECK(pthread_cond_broadcast(&gate.cv));
    PT_CHECK(pthread_mutex_unlock(&gate.mu));
    for (int i = 0; i < n; i++) {
        PT_CHECK(pthread_join(w[i].tid, NULL));
        w[i].started = false;
    }
    uint64_t t1 = gil_now_ns();
    getrusage(RUSAGE_SELF, &r1);
    struct run_load load1 = run_load_read();
    if (have_trace)
        trace_stop(&tr);

    struct run_rep res = {
        .warmup = warmup,
        .rep = rep,
        .started = started,
        .nthreads = n,
        .threads = tres,
        .wall_s = (double)(t1 - t0) / 1e9,
        .user_s = tv_s(r1.ru_utime) - tv_s(r0.ru_utime),
        .sys_s = tv_s(r1.ru_stime) - tv_s(r0.ru_stime),
        .ok = true,
        .message = message,
        .trace = have_trace ? &tr : NULL,
    };
    res.has_load = run_load_delta(load0, load1, res.user_s + res.sys_s, &res.others_s, &res.steal_s);
    int first_failed = -1;   /* the thread whose error came first in time */
    for (int i = 0; i < n; i++) {
        w[i].stats.gil = vm_thread_gil(w[i].ts)->st;
        w[i].stats.vm = *vm_thread_stats(w[i].ts);
        tres[i].entry = w[i].entry;
        tres[i].result = w[i].result;
        tres[i].stats = w[i].stats;
        tres[i].cpus = w[i].cpus_used;
        tres[i].opcounts = vm_thread_opcounts(w[i].ts);
        per[i] = w[i].stats;
        if (w[i].result == VM_OK) {
            tres[i].repr = w[i].repr;
        } else {
            tres[i].error = w[i].err.msg;
            if (first_failed < 0 || w[i].ended_ns < w[first_failed].ended_ns)
                first_failed = i;
            res.ok = false;
        }
    }
    if (first_failed >= 0)
        run_last_line(w[first_failed].err.msg, message, sizeof message);
    run_stats_sum(per, n, &res.sum);
    if (sc->io_thread)
        io_results(sc->name, &w[n - 1], &res, &samples, message, sizeof message);

    if (R->sink(R->ctx, cfg, &res, err, errcap) != 0)
        st = RUN_ERROR;
    else
        st = res.ok ? RUN_OK : RUN_FAILED;

out:
    if (w) {
        for (int i = 0; i < n; i++)
            if (w[i].started)
                PT_CHECK(pthread_join(w[i].tid, NULL));
        for (int i = 0; i < n; i++) {
            if (w[i].ts)
                vm_thread_free(w[i].ts);
            free(w[i].repr);
        }
    }
    if (gate_made) {
        PT_CHECK(pthread_cond_destroy(&gate.cv));
        PT_CHECK(pthread_mutex_destroy(&gate.mu));
    }
    free(w);
    free(tres);
    free(per);
    free(samples);
    if (have_trace)
        trace_free(&tr);
    if (loader)
        vm_thread_free(loader);
    if (rt)
        vm_runtime_free(rt);
    gil_free(g);
    return st;
}

enum run_status run(const struct run_config *cfg, run_sink *sink, void *ctx, char *err, size_t errcap)
{
    struct runner R = {.cfg = cfg, .sink = sink, .ctx = ctx};
    struct vm_error verr = {0};
    PANIC_IF(!cfg->prepared, "run: the configuration was not prepared (run_prepare)");

    if (vm_compile_file(cfg->file, &R.prog, &verr) != VM_OK) {
        snprintf(err, errcap, "%s", verr.msg);
        return RUN_ERROR;
    }
    /* Every repetition runs, whatever became of the ones before; a failed one
       makes the whole run RUN_FAILED, a sink or set-up error stops it. */
    enum run_status worst = RUN_OK;
    for (int i = 0; i < cfg->warmup + cfg->reps && worst < RUN_ERROR; i++) {
        bool warmup = i < cfg->warmup;
        int rep = warmup ? i + 1 : cfg->first_rep + (i - cfg->warmup);
        bool traced = cfg->trace && i == cfg->warmup + cfg->reps - 1;
        enum run_status st = cfg->scenario->forks
                                 ? fork_rep(cfg, R.prog, warmup, rep, sink, ctx, err, errcap)
                                 : run_rep(&R, warmup, rep, traced, err, errcap);
        if (st > worst)
            worst = st;
    }
    vm_program_free(R.prog);
    return worst;
}

enum run_status run_main(const struct run_config *cfg, uint64_t *opcounts, char *err, size_t errcap)
{
    struct vm_error verr = {0};
    struct vm_program *prog = NULL;
    struct vm_runtime *rt = NULL;
    struct vm_thread *ts = NULL;
    struct gil *g = NULL;
    enum vm_result r;
    int rc;

    r = vm_compile_file(cfg->file, &prog, &verr);
    if (r != VM_OK)
        goto out;
    if ((rc = gil_new(cfg->design, cfg->values, &g)) != 0) {
        snprintf(verr.msg, sizeof verr.msg, "--gil %s: cannot create the lock: %s", cfg->design->name,
                 strerror(rc));
        r = VM_USAGE_ERROR;
        goto out;
    }
    r = vm_runtime_new(prog, g, stdout, &rt, &verr);
    if (r == VM_OK)
        r = vm_thread_new(rt, 0, NULL, &ts, &verr);
    if (r == VM_OK && cfg->opstats && vm_thread_count_ops(ts) != 0) {
        snprintf(verr.msg, sizeof verr.msg, "--opstats: cannot count opcodes: %s", strerror(ENOMEM));
        r = VM_USAGE_ERROR;
    }
    if (r == VM_OK)
        r = vm_run_main(rt, ts, &verr);
    if (ts && cfg->opstats && opcounts && vm_thread_opcounts(ts))
        memcpy(opcounts, vm_thread_opcounts(ts), sizeof *opcounts * VM_OPCODE_SLOTS);
out:
    if (r != VM_OK)
        snprintf(err, errcap, "%s", verr.msg);
    if (ts)
        vm_thread_free(ts);
    if (rt)
        vm_runtime_free(rt);
    gil_free(g);
    if (prog)
        vm_program_free(prog);
    return r == VM_OK ? RUN_OK : r == VM_RUNTIME_ERROR ? RUN_FAILED : RUN_ERROR;
}
