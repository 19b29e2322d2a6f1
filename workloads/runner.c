/*
 * runner.c — the scenario runner (see runner.h for the scenarios).
 *
 * One rep, step by step, all on the calling ("main") thread except step 4:
 *   1. a fresh lock and runtime; a loader thread state (id 0, no trace) loads
 *      the module and is freed; the lock's last_holder is reset, so the
 *      loader's acquisition counts as nobody's and the first worker's take is
 *      not a switch;
 *   2. one vm_thread per worker (id 0..n-1, with its trace buffer on the
 *      traced rep), then one pthread per worker;
 *   3. each worker pins itself (--cpus), reads its mask back, and waits at the
 *      start gate; when all are there the main thread snapshots RUSAGE_SELF and
 *      the clock and opens the gate;
 *   4. each worker snapshots RUSAGE_THREAD, calls its entry (seq: `threads`
 *      times) and snapshots again; in convoy the I/O worker first waits until
 *      every CPU worker has begun;
 *   5. the main thread joins them all, reads the clock and RUSAGE_SELF, then
 *      reads each thread's lock statistics (the join orders those reads after
 *      every write), and writes the row, the samples and the trace.
 *
 * The start gate is a mutex + condition variable rather than a
 * pthread_barrier: if starting thread k fails, the threads already waiting
 * must be told to give up, which a barrier cannot do.
 */
#include "runner.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "panic.h"
#include "trace.h"

const char *const wl_scenario_names[] = {"seq", "threads", "convoy", NULL};

#define REPR_CAP 4096               /* a CPU entry's result */
#define IO_REPR_CAP ((size_t)4 << 20) /* the I/O entry's list of latencies */

bool wl_design_single_thread(const struct gil_design *d)
{
    /* noop gives neither exclusion nor safe refcounts: one thread only. It is
       the only such design, and it says so in its own essay (noop.c). */
    return strcmp(d->name, "noop") == 0;
}

/* ---- output files that are written once, at the end (traces) --------------------- */

struct outfile {
    int fd;               /* -1 when not in use */
    const char *flag;     /* the option, for messages */
    const char *path;
    bool created;         /* this process created it (remove it if never written) */
    bool written;
};

static int outfile_open(struct outfile *o, const char *flag, const char *path, char *err,
                        size_t errcap)
{
    *o = (struct outfile){.fd = -1, .flag = flag, .path = path};
    if (!path)
        return 0;
    /* Not truncated yet: a run that fails leaves an existing file as it was. */
    o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (o->fd >= 0)
        o->created = true;
    else if (errno == EEXIST)
        o->fd = open(path, O_WRONLY | O_CLOEXEC);
    if (o->fd < 0) {
        snprintf(err, errcap, "%s %s: %s", flag, path, strerror(errno));
        return -1;
    }
    return 0;
}

static int outfile_write_trace(struct outfile *o, const struct trace *tr, bool json, char *err,
                               size_t errcap)
{
    int rc = 0;
    FILE *f = NULL;
    int fd = -1;
    if (ftruncate(o->fd, 0) != 0 || (fd = dup(o->fd)) < 0 || !(f = fdopen(fd, "w"))) {
        rc = errno;
        if (fd >= 0)
            close(fd);
    } else {
        rc = json ? trace_write_json(tr, f) : trace_write_csv(tr, f);
        if (fclose(f) != 0 && rc == 0)
            rc = errno;
    }
    if (rc != 0) {
        snprintf(err, errcap, "%s %s: %s", o->flag, o->path, strerror(rc));
        return -1;
    }
    o->written = true;
    return 0;
}

static void outfile_close(struct outfile *o)
{
    if (o->fd < 0)
        return;
    if (o->created && !o->written)
        unlink(o->path);
    close(o->fd);
    o->fd = -1;
}

/* ---- workers and the start gate ------------------------------------------------------ */

struct gate {
    pthread_mutex_t mu;
    pthread_cond_t cv;      /* broadcast on every change below; each waiter loops on its own predicate */
    int ready;              /* mu: workers pinned and waiting at the gate */
    bool open;              /* mu: the main thread released them */
    bool abort;             /* mu: start-up failed; workers return without running */
    int cpu_begun;          /* mu: convoy CPU workers that have begun their call */
};

/* A worker's fields are handed over, never shared: "set" fields are written by
   the main thread before pthread_create (which orders them before the worker's
   reads) and only read afterwards; "own" fields are written by the worker while
   it runs and read by the main thread after pthread_join (which orders every
   write before those reads). */
struct worker {
    struct gate *gate;          /* set; the gate's fields are guarded by gate->mu */
    struct vm_runtime *rt;      /* set; the VM serialises access per the lock design */
    const struct wl_cpus *cpus; /* set */
    int id;                     /* set */
    int ncpu_workers;           /* set: convoy CPU workers the I/O worker waits for */
    bool io;                    /* set: the convoy's I/O worker */
    bool cpu_in_convoy;         /* set: a convoy CPU worker, announces that it has begun */
    const char *entry;          /* set */
    const int64_t *args;        /* set */
    int nargs;                  /* set */
    int calls;                  /* set: seq runs the entry this many times in a row */
    struct vm_thread *ts;       /* set; then own while running */
    char *repr;                 /* set (the buffer); own (its contents) */
    size_t repr_cap;            /* set */
    struct vm_error err;        /* own */
    enum vm_result result;      /* own */
    int pin_errno;              /* own */
    struct wl_thread_stats stats; /* own (the lock counters are read from ts after join) */
    cpu_set_t cpus_used;        /* own */
    bool started;               /* main thread only: pthread_create succeeded */
    pthread_t tid;              /* main thread only */
};

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct rusage r0, r1;

    w->pin_errno = wl_cpus_pin_self(w->cpus);
    if (w->pin_errno == 0)
        w->pin_errno = wl_cpus_current(&w->cpus_used);

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
    if (w->cpu_in_convoy) {
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
    for (int c = 0; c < w->calls && w->result == VM_OK; c++)
        w->result = vm_call(w->rt, w->ts, w->entry, w->args, w->nargs, w->repr, w->repr_cap, &w->err);
    uint64_t t1 = gil_now_ns();
    getrusage(RUSAGE_THREAD, &r1);

    w->stats.wall_s = (double)(t1 - t0) / 1e9;
    w->stats.user_s = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
    w->stats.sys_s = tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
    w->stats.ctx_voluntary = r1.ru_nvcsw - r0.ru_nvcsw;
    w->stats.ctx_involuntary = r1.ru_nivcsw - r0.ru_nivcsw;
    return NULL;
}

/* ---- one invocation -------------------------------------------------------------------- */

struct runner {
    const struct wl_config *cfg;
    struct vm_program *prog;
    struct wl_csv csv, samples;
    bool have_csv, have_samples;
    struct outfile trace_csv, trace_json;
    wl_rep_fn *on_rep;
    void *ctx;
};

static void join_args(char *buf, size_t cap, const int64_t *args, int n)
{
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? " " : "", (long long)args[i]);
}

/* The last non-empty line of a traceback: "ZeroDivisionError: ...". */
static void last_line(const char *msg, char *out, size_t cap)
{
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
        n--;
    size_t start = n;
    while (start > 0 && msg[start - 1] != '\n')
        start--;
    snprintf(out, cap, "%.*s", (int)(n - start), msg + start);
}

static int check_entry(struct vm_runtime *rt, const char *flag, const char *name, int nargs,
                       const char *file, char *err, size_t errcap)
{
    int arity = vm_function_arity(rt, name);
    if (arity < 0) {
        snprintf(err, errcap, "%s %s: %s defines no function '%s'", flag, name, file, name);
        return -1;
    }
    if (arity != nargs) {
        snprintf(err, errcap, "%s %s: %s() takes %d argument%s, got %d (%s)", flag, name, name, arity,
                 arity == 1 ? "" : "s", nargs, strcmp(flag, "--entry") == 0 ? "--arg" : "--io-arg");
        return -1;
    }
    return 0;
}

static void fill_row(const struct wl_config *cfg, const struct wl_rep_result *res,
                     const struct wl_thread_stats *sum, struct wl_row *row)
{
    const char *slash = strrchr(cfg->file, '/');
    snprintf(row->design, sizeof row->design, "%s", cfg->design->name);
    row->gil = cfg->design;
    memcpy(row->values, cfg->values, sizeof row->values);
    snprintf(row->workload, sizeof row->workload, "%s", slash ? slash + 1 : cfg->file);
    /* Convoy rows name the CPU entry and its arguments, as the peer driver's do;
       the I/O entry's arguments are the lab script's settings. */
    snprintf(row->entry, sizeof row->entry, "%s", cfg->entry);
    join_args(row->args, sizeof row->args, cfg->args, cfg->nargs);
    snprintf(row->scenario, sizeof row->scenario, "%s", wl_scenario_names[cfg->scenario]);
    row->threads = cfg->threads;
    snprintf(row->cpus, sizeof row->cpus, "%s", cfg->cpus.requested);
    cpu_set_t used;
    CPU_ZERO(&used);
    for (int i = 0; i < res->nthreads; i++)
        CPU_OR(&used, &used, &res->threads[i].cpus);
    if (res->nthreads == 0)
        used = cfg->cpus.set;   /* no thread ran: the CPUs it would have had */
    row->ncpus = CPU_COUNT(&used);
    if (wl_cpus_format(&used, false, row->cpu_list, sizeof row->cpu_list) < 0)
        row->cpu_list[0] = '\0';
    row->rep = res->rep;
    row->wall_s = res->wall_s;
    row->user_s = res->user_s;
    row->sys_s = res->sys_s;
    wl_row_set_lock(row, &sum->gil);
    row->has_ctx = true;
    row->ctx_voluntary = sum->ctx_voluntary;
    row->ctx_involuntary = sum->ctx_involuntary;
    row->ok = res->ok;
}

/* The convoy's columns and samples from the I/O worker's returned list. On a
   malformed list the rep fails with a message in row->message. */
static void convoy_results(const struct worker *io, struct wl_rep_result *res, struct wl_row *row,
                           int64_t **samples, size_t *nsamples)
{
    if (io->result != VM_OK)
        return;
    int rc = wl_parse_int_list(io->repr, samples, nsamples);
    if (rc != 0) {
        res->ok = row->ok = false;
        snprintf(row->message, sizeof row->message,
                 "convoy: %s() must return a list of ints (its wake-up latencies in us); got %.80s%s",
                 io->entry, io->repr, strlen(io->repr) > 80 ? "..." : "");
        return;
    }
    struct wl_latency lat = {0};
    row->has_io = true;
    row->io_iters = (int64_t)*nsamples;
    row->io_iters_per_s = io->stats.wall_s > 0 ? (double)*nsamples / io->stats.wall_s : 0;
    if (wl_latency_summary(*samples, *nsamples, &lat) == 0) {
        row->latency_p50_us = lat.p50_us;
        row->latency_p90_us = lat.p90_us;
        row->latency_p99_us = lat.p99_us;
        row->latency_max_us = lat.max_us;
    }
}

/* Write a rep's row, samples and trace, then hand it to the caller. */
static enum wl_status finish_rep(struct runner *R, const struct wl_rep_result *res,
                                 const struct wl_row *row, const int64_t *samples, size_t nsamples,
                                 const struct trace *tr, char *err, size_t errcap)
{
    const struct wl_config *cfg = R->cfg;
    enum wl_status st = res->ok ? WL_OK : WL_RUNTIME_ERROR;
    if (!res->warmup && R->have_csv) {
        size_t cap = wl_csv_row_cap();
        char *line = malloc(cap);
        int len = line ? wl_csv_format_row(row, line, cap) : -1;
        if (len < 0 || wl_csv_append(&R->csv, line, (size_t)len, err, errcap) != 0) {
            if (len < 0)
                snprintf(err, errcap, "--csv %s: cannot format the row", cfg->csv_path);
            st = WL_USAGE_ERROR;
        }
        free(line);
    }
    if (st != WL_USAGE_ERROR && !res->warmup && R->have_samples && samples) {
        char *rows = NULL;
        size_t len = 0;
        if (wl_samples_format(row->run_id, row->design, row->rep, samples, nsamples, &rows, &len) != 0) {
            snprintf(err, errcap, "--samples-csv %s: %s", cfg->samples_csv_path, strerror(ENOMEM));
            st = WL_USAGE_ERROR;
        } else if (len > 0 && wl_csv_append(&R->samples, rows, len, err, errcap) != 0) {
            st = WL_USAGE_ERROR;
        }
        free(rows);
    }
    if (st != WL_USAGE_ERROR && tr) {
        if ((R->trace_csv.fd >= 0 && outfile_write_trace(&R->trace_csv, tr, false, err, errcap) != 0) ||
            (R->trace_json.fd >= 0 && outfile_write_trace(&R->trace_json, tr, true, err, errcap) != 0))
            st = WL_USAGE_ERROR;
    }
    if (R->on_rep)
        R->on_rep(R->ctx, cfg, res);
    return st;
}

static enum wl_status run_rep(struct runner *R, bool warmup, int rep, bool traced, char *err,
                              size_t errcap)
{
    const struct wl_config *cfg = R->cfg;
    int n = cfg->scenario == WL_SEQ ? 1 : cfg->threads;
    struct gil *g = NULL;
    struct vm_runtime *rt = NULL;
    struct vm_thread *loader = NULL;
    struct worker *w = NULL;
    struct wl_thread_result *tres = NULL;
    struct wl_row *row = NULL;
    int64_t *samples = NULL;
    size_t nsamples = 0;
    struct trace tr = {0};
    bool have_trace = false, gate_made = false;
    struct gate gate = {0};
    struct vm_error verr = {0};
    enum wl_status st = WL_USAGE_ERROR;
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
        /* The module body raised before any worker ran: the rep failed, and
           says so in its row like a failed thread would. */
        struct wl_rep_result res = {.warmup = warmup, .rep = rep, .error = verr.msg};
        struct wl_thread_stats none = {0};
        if (!(row = calloc(1, sizeof *row))) {
            snprintf(err, errcap, "--threads %d: cannot start the run: %s", cfg->threads, strerror(ENOMEM));
            goto out;
        }
        wl_row_stamp(row);
        fill_row(cfg, &res, &none, row);
        row->has_lock = row->has_ctx = false;
        last_line(verr.msg, row->message, sizeof row->message);
        res.row = warmup ? NULL : row;
        res.message = row->message;
        st = finish_rep(R, &res, row, NULL, 0, NULL, err, errcap);
        goto out;
    }
    if (lr != VM_OK) {
        snprintf(err, errcap, "%s", verr.msg);
        goto out;
    }
    if (check_entry(rt, "--entry", cfg->entry, cfg->nargs, cfg->file, err, errcap) != 0)
        goto out;
    if (cfg->scenario == WL_CONVOY &&
        check_entry(rt, "--io-entry", cfg->io_entry, cfg->nio_args, cfg->file, err, errcap) != 0)
        goto out;
    /* No thread runs now; the workers' pthread_create orders this store before
       their first take. */
    g->last_holder = -1;

    if (traced) {
        if ((rc = trace_init(&tr, n, TRACE_DEFAULT_CAP)) != 0) {
            snprintf(err, errcap, "--trace: cannot allocate the trace buffers: %s", strerror(rc));
            goto out;
        }
        have_trace = true;
    }
    w = calloc((size_t)n, sizeof *w);
    tres = calloc((size_t)n, sizeof *tres);
    row = calloc(1, sizeof *row);
    if (!w || !tres || !row) {
        snprintf(err, errcap, "--threads %d: cannot start the run: %s", cfg->threads, strerror(ENOMEM));
        goto out;
    }
    for (int i = 0; i < n; i++) {
        struct worker *x = &w[i];
        x->gate = &gate;
        x->rt = rt;
        x->cpus = &cfg->cpus;
        x->id = i;
        x->calls = cfg->scenario == WL_SEQ ? cfg->threads : 1;
        x->io = cfg->scenario == WL_CONVOY && i == n - 1;
        x->cpu_in_convoy = cfg->scenario == WL_CONVOY && !x->io;
        x->ncpu_workers = n - 1;
        x->entry = x->io ? cfg->io_entry : cfg->entry;
        x->args = x->io ? cfg->io_args : cfg->args;
        x->nargs = x->io ? cfg->nio_args : cfg->nargs;
        x->repr_cap = x->io ? IO_REPR_CAP : REPR_CAP;
        x->repr = malloc(x->repr_cap);
        if (!x->repr) {
            snprintf(err, errcap, "--threads %d: cannot start the run: %s", cfg->threads, strerror(ENOMEM));
            goto out;
        }
        x->repr[0] = '\0';
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
    wl_row_stamp(row);
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

    struct wl_rep_result res = {
        .warmup = warmup,
        .rep = rep,
        .nthreads = n,
        .threads = tres,
        .wall_s = (double)(t1 - t0) / 1e9,
        .user_s = tv_s(r1.ru_utime) - tv_s(r0.ru_utime),
        .sys_s = tv_s(r1.ru_stime) - tv_s(r0.ru_stime),
        .ok = true,
    };
    struct wl_thread_stats *per = calloc((size_t)n, sizeof *per), sum;
    if (!per) {
        snprintf(err, errcap, "--threads %d: cannot collect the run: %s", cfg->threads, strerror(ENOMEM));
        goto out;
    }
    for (int i = 0; i < n; i++) {
        w[i].stats.gil = vm_thread_gil(w[i].ts)->st;
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
            if (res.ok)
                last_line(w[i].err.msg, row->message, sizeof row->message);
            res.ok = false;
        }
    }
    wl_stats_sum(per, n, &sum);
    free(per);
    fill_row(cfg, &res, &sum, row);
    if (cfg->scenario == WL_CONVOY)
        convoy_results(&w[n - 1], &res, row, &samples, &nsamples);
    if (have_trace)
        res.trace_dropped = trace_dropped(&tr);
    res.row = warmup ? NULL : row;
    res.message = row->message;

    st = finish_rep(R, &res, row, samples, nsamples, have_trace ? &tr : NULL, err, errcap);

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
    free(row);
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

static enum wl_status check_config(const struct wl_config *c, char *err, size_t errcap)
{
    if (!c->file || !c->entry || !c->design) {
        snprintf(err, errcap, "run: a file, an entry and a design are required");
        return WL_USAGE_ERROR;
    }
    if (c->threads < 1 || c->threads > WL_MAX_THREADS) {
        snprintf(err, errcap, "--threads %d: expected 1..%d", c->threads, WL_MAX_THREADS);
        return WL_USAGE_ERROR;
    }
    if (c->scenario == WL_CONVOY && (c->threads < 2 || !c->io_entry)) {
        snprintf(err, errcap, "--scenario convoy: needs --threads 2..%d (CPU threads + 1 I/O thread) "
                 "and an --io-entry", WL_MAX_THREADS);
        return WL_USAGE_ERROR;
    }
    if (wl_design_single_thread(c->design) && (c->scenario == WL_CONVOY ||
                                                (c->scenario == WL_THREADS && c->threads > 1))) {
        snprintf(err, errcap, "--gil %s: %s is single-thread only; use --gil py26|py32|none",
                 c->design->name, c->design->name);
        return WL_USAGE_ERROR;
    }
    if (c->reps < 1 || c->warmup < 0) {
        snprintf(err, errcap, "--reps %d --warmup %d: expected reps >= 1 and warmup >= 0", c->reps,
                 c->warmup);
        return WL_USAGE_ERROR;
    }
    if (c->samples_csv_path && c->scenario != WL_CONVOY) {
        snprintf(err, errcap, "--samples-csv: only for --scenario convoy");
        return WL_USAGE_ERROR;
    }
    return WL_OK;
}

enum wl_status wl_run(const struct wl_config *cfg, wl_rep_fn *on_rep, void *ctx, char *err,
                      size_t errcap)
{
    struct runner R = {.cfg = cfg, .on_rep = on_rep, .ctx = ctx};
    struct vm_error verr = {0};
    enum wl_status st = check_config(cfg, err, errcap);
    char header[4096];
    R.trace_csv.fd = R.trace_json.fd = -1;
    if (st != WL_OK)
        return st;

    st = WL_USAGE_ERROR;
    if (vm_compile_file(cfg->file, &R.prog, &verr) != VM_OK) {
        snprintf(err, errcap, "%s", verr.msg);
        goto out;
    }
    if (cfg->csv_path) {
        if (wl_csv_header(header, sizeof header) < 0) {
            snprintf(err, errcap, "--csv %s: the header does not fit", cfg->csv_path);
            goto out;
        }
        if (wl_csv_open(&R.csv, "--csv", cfg->csv_path, header, err, errcap) != 0)
            goto out;
        R.have_csv = true;
    }
    if (cfg->samples_csv_path) {
        if (wl_csv_open(&R.samples, "--samples-csv", cfg->samples_csv_path, WL_SAMPLES_HEADER, err,
                        errcap) != 0)
            goto out;
        R.have_samples = true;
    }
    if (outfile_open(&R.trace_csv, "--trace", cfg->trace_csv_path, err, errcap) != 0 ||
        outfile_open(&R.trace_json, "--trace-json", cfg->trace_json_path, err, errcap) != 0)
        goto out;

    bool traced = cfg->trace_csv_path || cfg->trace_json_path;
    st = WL_OK;
    for (int i = 1; i <= cfg->warmup && st == WL_OK; i++)
        st = run_rep(&R, true, i, false, err, errcap);
    for (int i = 1; i <= cfg->reps && st == WL_OK; i++)
        st = run_rep(&R, false, i, traced && i == cfg->reps, err, errcap);

out:
    outfile_close(&R.trace_csv);
    outfile_close(&R.trace_json);
    if (R.have_csv)
        wl_csv_close(&R.csv);
    if (R.have_samples)
        wl_csv_close(&R.samples);
    if (R.prog)
        vm_program_free(R.prog);
    return st;
}

enum wl_status wl_run_main(const struct wl_config *cfg, uint64_t *opcounts, char *err, size_t errcap)
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
    if (ts && cfg->opstats && vm_thread_opcounts(ts))
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
    return r == VM_OK ? WL_OK : r == VM_RUNTIME_ERROR ? WL_RUNTIME_ERROR : WL_USAGE_ERROR;
}
