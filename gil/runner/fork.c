/*
 * fork.c — the fork scenario: copy-on-write after fork, as the kernel counts it.
 *
 * A pre-fork server (gunicorn, uWSGI, Instagram's Django fleet) builds its data
 * in a parent process and forks workers that share it copy-on-write. A worker
 * that only reads the data should leave every page shared. But in CPython, and
 * in gillab's VM under --refcount-policy plain, every read of an object writes
 * its reference count: the write faults and the kernel gives the worker a
 * private copy of the page. Objects made immortal before the fork (policy
 * immortal, vm_runtime_immortalize) never have their counts written, and their
 * pages stay shared. The parent reads each worker's /proc/PID/smaps_rollup and
 * the rows say which happened.
 *
 * One repetition, in the parent (the calling thread; no other thread runs):
 *   1. a fresh lock and runtime load the module; transparent huge pages are
 *      turned off for the process (below); what the process has freed is
 *      given back to the kernel (malloc_trim: an earlier repetition's
 *      structure would otherwise be reused unseen); the parent's smaps_rollup
 *      is read, the setup function called with the --arg values, and read
 *      again: heap_kb is what the setup added to the parent's anonymous
 *      memory, the structure;
 *   2. N workers could each end up with a private copy of all of it: more than
 *      the machine's MemAvailable is refused here, before any fork; under
 *      policy immortal the objects are made immortal now;
 *   3. SIGINT, SIGTERM and SIGHUP are blocked and caught ("Stopping"), stdio is
 *      flushed, and N workers are forked, each with a command pipe (parent ->
 *      worker: one byte "go", then end of file for "leave") and a report pipe
 *      (worker -> parent: one byte "ready", then one struct fork_report);
 *   4. each worker pins itself (--cpus), makes its own thread state and says
 *      "ready"; when all have, the parent reads every worker's smaps_rollup
 *      (before) and writes "go" to each;
 *   5. each worker calls the entry with no arguments, measuring its wall time,
 *      RUSAGE_SELF and lock counters, sends its report and waits for the end of
 *      its command pipe, then _exit(0)s;
 *   6. the parent polls the report pipes (with --sample-ms also waking at each
 *      interval to read the running workers' smaps_rollup); when a report
 *      arrives it reads that worker's smaps_rollup (after: the worker is
 *      waiting, its memory as its call left it), closes its command pipe and
 *      reaps it; a report pipe that ends without a report is a worker that
 *      died: it is reaped, and its signal or exit status kept;
 *   7. the sink gets one result per worker; every worker has been reaped.
 *
 * Stopping. While workers live, SIGINT, SIGTERM and SIGHUP are blocked except
 * inside ppoll, where a handler records the first that comes. Then every
 * worker is killed (SIGKILL) and reaped, the repetition reaches no sink (no
 * row), and RUN_INTERRUPTED goes back to the caller, which dies of the signal.
 * Workers ignore the three signals (a Ctrl-C at the terminal reaches the whole
 * process group: the parent decides), die with the parent (PR_SET_PDEATHSIG)
 * and leave when their command pipe ends, so none outlives the parent, however
 * it stops.
 *
 * Transparent huge pages. With THP the kernel may back 2 MB of the heap with
 * one huge page. Kernels before 5.8 copy the whole 2 MB on the first write
 * after fork, so one reference count written per 2 MB makes all of it private;
 * later kernels split the huge page and copy 4 kB, but the accounting of a
 * half-split region is no longer per page of the structure. The parent turns
 * THP off for itself (prctl PR_SET_THP_DISABLE, inherited by the workers)
 * before the setup, so the structure lives in 4 kB pages, the unit the lab
 * reports; the thp column records the kernel's mode and anon_huge_kb how much
 * of a worker's memory was in huge pages anyway (0 when the prctl worked).
 */
#include "runner/fork.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *const run_refcount_policies[RUN_REFCOUNT_POLICIES] = {"plain", "immortal"};

int run_refcount_policy_find(const char *name)
{
    for (int i = 0; i < RUN_REFCOUNT_POLICIES; i++)
        if (strcmp(run_refcount_policies[i], name) == 0)
            return i;
    return -1;
}

void run_refcount_policy_names(char *buf, size_t cap, const char *sep)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < RUN_REFCOUNT_POLICIES && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? sep : "", run_refcount_policies[i]);
}

/* ---- what the kernel says -------------------------------------------------------------- */

int run_smaps_read(int pid, struct run_smaps *out)
{
    char path[64];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/smaps_rollup");
    else
        snprintf(path, sizeof path, "/proc/%d/smaps_rollup", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return errno;
    const struct {
        const char *key;
        int64_t *field;
    } keys[] = {
        {"Rss:", &out->rss_kb},
        {"Pss:", &out->pss_kb},
        {"Shared_Clean:", &out->shared_clean_kb},
        {"Shared_Dirty:", &out->shared_dirty_kb},
        {"Private_Clean:", &out->private_clean_kb},
        {"Private_Dirty:", &out->private_dirty_kb},
        {"Anonymous:", &out->anonymous_kb},
        {"AnonHugePages:", &out->anon_huge_kb},
    };
    const size_t nkeys = sizeof keys / sizeof keys[0];
    size_t found = 0;
    char line[256];
    memset(out, 0, sizeof *out);
    while (fgets(line, sizeof line, f)) {
        for (size_t k = 0; k < nkeys; k++) {
            size_t len = strlen(keys[k].key);
            long long v;
            if (strncmp(line, keys[k].key, len) == 0 && sscanf(line + len, "%lld", &v) == 1) {
                *keys[k].field = v;
                found++;
            }
        }
    }
    fclose(f);
    return found == nkeys ? 0 : EINVAL;
}

/* MemAvailable from /proc/meminfo in kB, or -1. */
static int64_t mem_available_kb(void)
{
    FILE *f = fopen("/proc/meminfo", "re");
    if (!f)
        return -1;
    char line[256];
    long long v = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lld kB", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* The bracketed word of /sys/kernel/mm/transparent_hugepage/enabled
   ("always [madvise] never"), or "" when the kernel has no THP. */
static void thp_mode(char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "re");
    if (!f)
        return;
    char line[256];
    if (fgets(line, sizeof line, f)) {
        char *a = strchr(line, '['), *b = a ? strchr(a, ']') : NULL;
        if (a && b)
            snprintf(buf, cap, "%.*s", (int)(b - a - 1), a + 1);
    }
    fclose(f);
}

/* ---- pipes ------------------------------------------------------------------------------- */

/* Read exactly n bytes; returns how many came before the end of the file. */
static size_t read_full(int fd, void *buf, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

static int write_full(int fd, const void *buf, size_t n)
{
    size_t done = 0;
    while (done < n) {
        ssize_t w = write(fd, (const char *)buf + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        done += (size_t)w;
    }
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* ---- stopping ------------------------------------------------------------------------------ */

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NSTOP (sizeof stop_signals / sizeof stop_signals[0])
/* The first stop signal caught; written by the handler only (during ppoll,
   the only place the signals are unblocked), read by this thread after it. */
static volatile sig_atomic_t stop_caught;

static void on_stop(int sig)
{
    if (!stop_caught)
        stop_caught = sig;
}

int run_stop_signal(void) { return stop_caught; }

struct stop_guard {
    sigset_t old_mask;          /* the caller's mask */
    sigset_t poll_mask;         /* the caller's, with the stop signals deliverable */
    struct sigaction old[NSTOP];
};

static void stop_guard_begin(struct stop_guard *g)
{
    sigset_t block;
    sigemptyset(&block);
    for (size_t i = 0; i < NSTOP; i++)
        sigaddset(&block, stop_signals[i]);
    sigprocmask(SIG_BLOCK, &block, &g->old_mask);
    g->poll_mask = g->old_mask;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sa.sa_mask = block;
    for (size_t i = 0; i < NSTOP; i++) {
        sigaction(stop_signals[i], NULL, &g->old[i]);
        if (g->old[i].sa_handler == SIG_IGN)
            continue;   /* ignored by whoever started us (nohup, a background job): it stays so */
        sigaction(stop_signals[i], &sa, NULL);
        sigdelset(&g->poll_mask, stop_signals[i]);
    }
}

/* A stop signal that came while blocked outside ppoll counts as caught. */
static void stop_check_pending(void)
{
    sigset_t pending;
    if (stop_caught || sigpending(&pending) != 0)
        return;
    for (size_t i = 0; i < NSTOP; i++)
        if (sigismember(&pending, stop_signals[i])) {
            stop_caught = stop_signals[i];
            return;
        }
}

static void stop_guard_end(struct stop_guard *g)
{
    if (stop_caught) {
        /* Take a pending copy of the signal away, so that the caller, not the
           old disposition at unblocking, decides what it does. */
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, stop_caught);
        struct timespec zero = {0, 0};
        while (sigtimedwait(&one, NULL, &zero) > 0)
            ;
    }
    for (size_t i = 0; i < NSTOP; i++)
        sigaction(stop_signals[i], &g->old[i], NULL);
    sigprocmask(SIG_SETMASK, &g->old_mask, NULL);
}

/* ---- checking the options ------------------------------------------------------------------ */

int fork_prepare(struct run_config *c, char *err, size_t errcap)
{
    const char *sc = c->scenario->name;
    if (c->threads != 0) {
        snprintf(err, errcap, "--threads: not for --scenario %s (its workers are processes, "
                              "each running one VM thread: use --workers N)", sc);
        return -1;
    }
    if (c->workers == 0)
        c->workers = 1;
    if (c->workers < 1 || c->workers > RUN_MAX_WORKERS) {
        snprintf(err, errcap, "--workers %d: expected 1..%d", c->workers, RUN_MAX_WORKERS);
        return -1;
    }
    if (!c->setup) {
        snprintf(err, errcap, "--scenario %s needs --setup NAME: the function the parent calls "
                              "before it forks", sc);
        return -1;
    }
    struct rlimit nproc;
    if (getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_cur != RLIM_INFINITY &&
        (rlim_t)c->workers >= nproc.rlim_cur) {
        snprintf(err, errcap, "--workers %d: this user may run %llu processes at most (ulimit -u)",
                 c->workers, (unsigned long long)nproc.rlim_cur);
        return -1;
    }
    if (c->sample_ms < 0 || c->sample_ms > RUN_MAX_SAMPLE_MS) {
        snprintf(err, errcap, "--sample-ms %d: expected 0..%d", c->sample_ms, RUN_MAX_SAMPLE_MS);
        return -1;
    }
    if (c->trace || c->opstats) {
        snprintf(err, errcap, "%s: not for --scenario %s (its workers are processes; what they "
                              "count stays in them)", c->trace ? "--trace" : "--opstats", sc);
        return -1;
    }
    return 0;
}

/* ---- a worker ------------------------------------------------------------------------------- */

/* What a worker sends the parent when its call is over. */
struct fork_report {
    int32_t result;             /* enum vm_result of the call */
    int32_t pin_errno;          /* pinning to --cpus failed: nothing was called */
    struct run_thread_stats stats;
    cpu_set_t cpus;
    char text[4096];            /* the repr of the result, or the traceback (its end) */
};

struct slot {
    int pid;                    /* 0: not forked, or reaped */
    int cmd_fd;                 /* the parent's end of the command pipe, or -1 */
    int report_fd;              /* the parent's end of the report pipe, or -1 */
    bool ready, reported;
    struct fork_report report;
};

struct fork_job {
    const struct run_config *c;
    struct vm_runtime *rt;
    struct slot *slots;
    int n;
    int parent;
    sigset_t child_mask;        /* the caller's mask, for the workers */
};

static double tv_s(struct timeval tv) { return (double)tv.tv_sec + (double)tv.tv_usec / 1e6; }

/* The worker's side of steps 4 and 5; never returns. */
static _Noreturn void worker_main(struct fork_job *J, int id, int cmd_rd, int report_wr)
{
    /* The other workers' pipes: only the parent may hold their ends, or a
       worker would not see its command pipe end when the parent goes. */
    for (int j = 0; j < id; j++) {
        close_fd(&J->slots[j].cmd_fd);
        close_fd(&J->slots[j].report_fd);
    }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != J->parent)
        _exit(125);   /* the parent is already gone */
    for (size_t i = 0; i < NSTOP; i++)
        signal(stop_signals[i], SIG_IGN);
    sigprocmask(SIG_SETMASK, &J->child_mask, NULL);

    static struct fork_report rep;   /* static: 4 kB off this process's stack */
    memset(&rep, 0, sizeof rep);
    rep.pin_errno = run_cpus_pin_self(&J->c->cpus);
    if (rep.pin_errno == 0)
        rep.pin_errno = run_cpus_current(&rep.cpus);
    struct vm_thread *ts = NULL;
    struct vm_error verr;
    enum vm_result r = vm_thread_new(J->rt, id, NULL, &ts, &verr);
    char go;
    if (write_full(report_wr, "r", 1) != 0 || read_full(cmd_rd, &go, 1) != 1)
        _exit(125);   /* the parent is gone */

    char *repr = NULL;
    if (rep.pin_errno != 0) {
        r = VM_RUNTIME_ERROR;
        snprintf(verr.msg, sizeof verr.msg, "cannot pin worker %d to its CPUs: %s", id,
                 strerror(rep.pin_errno));
    } else if (r == VM_OK) {
        struct rusage r0, r1;
        getrusage(RUSAGE_SELF, &r0);
        uint64_t t0 = gil_now_ns();
        r = vm_call_repr(J->rt, ts, J->c->entry, NULL, 0, &repr, &verr);
        uint64_t t1 = gil_now_ns();
        getrusage(RUSAGE_SELF, &r1);
        gil_thread_finish(vm_thread_gil(ts), t1 - t0);
        rep.stats.gil = vm_thread_gil(ts)->st;
        rep.stats.wall_s = (double)(t1 - t0) / 1e9;
        rep.stats.user_s = tv_s(r1.ru_utime) - tv_s(r0.ru_utime);
        rep.stats.sys_s = tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
        rep.stats.ctx_voluntary = r1.ru_nvcsw - r0.ru_nvcsw;
        rep.stats.ctx_involuntary = r1.ru_nivcsw - r0.ru_nivcsw;
    }
    fflush(NULL);   /* what the entry printed; _exit flushes nothing */
    rep.result = (int32_t)r;
    const char *text = r == VM_OK ? (repr ? repr : "") : verr.msg;
    size_t len = strlen(text);
    if (len >= sizeof rep.text)   /* keep the end: a traceback's last line says what */
        text += len - (sizeof rep.text - 1);
    snprintf(rep.text, sizeof rep.text, "%s", text);
    if (write_full(report_wr, &rep, sizeof rep) != 0)
        _exit(125);
    while (read_full(cmd_rd, &go, 1) == 1)   /* until the parent closes it */
        ;
    _exit(0);
}

/* ---- the parent --------------------------------------------------------------------------------- */

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGKILL: return "SIGKILL";
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGABRT: return "SIGABRT";
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGQUIT: return "SIGQUIT";
    case SIGFPE: return "SIGFPE";
    case SIGILL: return "SIGILL";
    case SIGPIPE: return "SIGPIPE";
    default: return "a signal";
    }
}

/* Reap a worker that was told to leave or has died; how it ended goes to w
   unless its report says so. */
static void reap(struct slot *s, struct run_worker *w)
{
    int st = 0;
    while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
        ;
    s->pid = 0;
    if (s->reported)
        return;
    if (WIFSIGNALED(st)) {
        w->end = RUN_WORKER_SIGNAL;
        w->signal = WTERMSIG(st);
        snprintf(w->message, sizeof w->message, "killed by signal %d (%s)", w->signal,
                 signal_name(w->signal));
    } else {
        w->end = RUN_WORKER_EXIT;
        w->exit_status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        snprintf(w->message, sizeof w->message, "exited with status %d before it reported",
                 w->exit_status);
    }
}

/* Kill and reap every worker still there (a stop, or a failure of the parent's). */
static void kill_all(struct fork_job *J)
{
    for (int i = 0; i < J->n; i++) {
        struct slot *s = &J->slots[i];
        if (s->pid > 0)
            kill(s->pid, SIGKILL);
        close_fd(&s->cmd_fd);
        close_fd(&s->report_fd);
    }
    for (int i = 0; i < J->n; i++) {
        struct slot *s = &J->slots[i];
        int st;
        if (s->pid > 0)
            while (waitpid(s->pid, &st, 0) < 0 && errno == EINTR)
                ;
        s->pid = 0;
    }
}

static int check_function(struct vm_runtime *rt, const char *flag, const char *name, int nargs,
                          const char *how, const char *file, char *err, size_t errcap)
{
    int arity = vm_function_arity(rt, name);
    if (arity < 0) {
        snprintf(err, errcap, "%s %s: %s defines no function '%s'", flag, name, file, name);
        return -1;
    }
    if (arity != nargs) {
        snprintf(err, errcap, "%s %s: %s() takes %d argument%s, got %d (%s)", flag, name, name,
                 arity, arity == 1 ? "" : "s", nargs, how);
        return -1;
    }
    return 0;
}

struct samples {
    struct run_smaps_sample *v;
    size_t n, cap;
};

static int sample_add(struct samples *s, int worker, double t_ms, const struct run_smaps *m)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        struct run_smaps_sample *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return -1;
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = (struct run_smaps_sample){.worker = worker, .t_ms = t_ms, .m = *m};
    return 0;
}

static double ms_since(uint64_t t0) { return (double)(gil_now_ns() - t0) / 1e6; }

enum run_status fork_rep(const struct run_config *c, struct vm_program *prog, bool warmup, int rep,
                         run_sink *sink, void *ctx, char *err, size_t errcap)
{
    int n = c->workers;
    struct gil *g = NULL;
    struct vm_runtime *rt = NULL;
    struct vm_thread *loader = NULL;
    struct vm_error verr = {0};
    struct slot *slots = NULL;
    struct run_worker *w = NULL;
    struct samples samples = {0};
    struct stop_guard guard;
    bool guarded = false;
    char message[1024] = "", thp[32];
    enum run_status st = RUN_ERROR;
    int rc;

    if ((rc = gil_new(c->design, c->values, &g)) != 0) {
        snprintf(err, errcap, "--gil %s: cannot create the lock: %s", c->design->name, strerror(rc));
        goto out;
    }
    if (vm_runtime_new(prog, g, stdout, &rt, &verr) != VM_OK ||
        vm_thread_new(rt, n, NULL, &loader, &verr) != VM_OK) {
        snprintf(err, errcap, "%s", verr.msg);
        goto out;
    }
    thp_mode(thp, sizeof thp);
    prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);   /* see the essay; anon_huge_kb tells if it failed */
    struct run_rep res = {.warmup = warmup, .rep = rep, .started = (int64_t)time(NULL),
                          .message = message, .thp = thp[0] ? thp : NULL};
    enum vm_result lr = vm_load_module(rt, loader, &verr);
    if (lr == VM_OK) {
        if (check_function(rt, "--setup", c->setup, c->nargs, "--arg", c->file, err, errcap) != 0 ||
            check_function(rt, "--entry", c->entry, 0, "the fork scenario calls it with none",
                           c->file, err, errcap) != 0)
            goto out;
        /* Memory freed earlier in this process (an earlier repetition's
           structure) would be reused by the setup without growing the
           anonymous memory: give it back to the kernel first, so that what the
           setup adds is what it touches. */
        malloc_trim(0);
        struct run_smaps m0, m1;
        bool have0 = run_smaps_read(0, &m0) == 0;
        lr = vm_call(rt, loader, c->setup, c->args, c->nargs, NULL, 0, &verr);
        if (lr == VM_OK && have0 && run_smaps_read(0, &m1) == 0) {
            res.heap_kb = m1.anonymous_kb - m0.anonymous_kb;
            res.has_heap = true;
        }
    }
    if (lr == VM_RUNTIME_ERROR) {
        /* The module body or the setup raised before any worker was forked:
           the repetition failed, and says so in one row. */
        char last[900];
        run_last_line(verr.msg, last, sizeof last);
        snprintf(message, sizeof message, "%s%s", vm_function_arity(rt, c->setup) >= 0 ? "setup: " : "",
                 last);
        res.load_error = verr.msg;
        st = sink(ctx, c, &res, err, errcap) != 0 ? RUN_ERROR : RUN_FAILED;
        goto out;
    }
    if (lr != VM_OK) {
        snprintf(err, errcap, "%s", verr.msg);
        goto out;
    }

    /* Worst case: every worker ends with a private copy of the structure. */
    int64_t avail_kb = mem_available_kb();
    if (res.has_heap && avail_kb > 0 && res.heap_kb > 0 && (int64_t)n * res.heap_kb > avail_kb) {
        snprintf(err, errcap, "--workers %d: each worker may end with a private copy of what the "
                              "setup built (%.1f MB), %.1f GB for %d, and the machine has %.1f GB "
                              "available (MemAvailable): at most %lld fit",
                 n, (double)res.heap_kb / 1024, (double)n * (double)res.heap_kb / 1048576, n,
                 (double)avail_kb / 1048576, (long long)(avail_kb / res.heap_kb));
        goto out;
    }
    if (c->refcount_policy == RUN_REFCOUNTS_IMMORTAL && vm_runtime_immortalize(rt) < 0) {
        snprintf(err, errcap, "--refcount-policy immortal: out of memory making the objects immortal");
        goto out;
    }
    res.frozen_objects = vm_runtime_immortals(rt);
    /* No VM thread runs now; the first take in a worker is nobody's switch. */
    gil_forget_holder(g);

    slots = calloc((size_t)n, sizeof *slots);
    w = calloc((size_t)n, sizeof *w);
    if (!slots || !w) {
        snprintf(err, errcap, "--workers %d: %s", n, strerror(ENOMEM));
        goto out;
    }
    for (int i = 0; i < n; i++)
        slots[i].cmd_fd = slots[i].report_fd = -1;
    struct fork_job J = {.c = c, .rt = rt, .slots = slots, .n = n, .parent = (int)getpid()};
    stop_caught = 0;
    stop_guard_begin(&guard);
    guarded = true;
    J.child_mask = guard.old_mask;
    fflush(NULL);   /* nothing buffered is written twice */

    for (int i = 0; i < n; i++) {
        int cmd[2], report[2];
        if (pipe2(cmd, O_CLOEXEC) != 0) {
            snprintf(err, errcap, "--workers %d: cannot make a pipe for worker %d: %s", n, i, strerror(errno));
            goto fail;
        }
        if (pipe2(report, O_CLOEXEC) != 0) {
            snprintf(err, errcap, "--workers %d: cannot make a pipe for worker %d: %s", n, i, strerror(errno));
            close(cmd[0]);
            close(cmd[1]);
            goto fail;
        }
        int pid = fork();
        if (pid == 0) {
            close(cmd[1]);
            close(report[0]);
            worker_main(&J, i, cmd[0], report[1]);
        }
        close(cmd[0]);
        close(report[1]);
        slots[i].cmd_fd = cmd[1];
        slots[i].report_fd = report[0];
        if (pid < 0) {
            snprintf(err, errcap, "--workers %d: cannot fork worker %d: %s", n, i, strerror(errno));
            goto fail;
        }
        slots[i].pid = pid;
        w[i].pid = pid;
    }

    /* Step 4: every worker ready (or dead), then each one's memory, then go. */
    for (int i = 0; i < n; i++) {
        char r;
        if (read_full(slots[i].report_fd, &r, 1) == 1)
            slots[i].ready = true;
    }
    for (int i = 0; i < n; i++)
        if (slots[i].ready && run_smaps_read(slots[i].pid, &w[i].before) == 0) {
            w[i].has_before = true;
            if (sample_add(&samples, i, 0, &w[i].before) != 0)
                goto nomem;
        }
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    struct run_load load0 = run_load_read();
    uint64_t t0 = gil_now_ns();
    for (int i = 0; i < n; i++)
        if (slots[i].ready && write_full(slots[i].cmd_fd, "g", 1) != 0)
            slots[i].ready = false;   /* it died meanwhile: its pipe says so below */

    /* Step 6. */
    uint64_t every_ns = (uint64_t)c->sample_ms * 1000000u, next_ns = t0 + every_ns;
    int live = n;
    while (live > 0) {
        struct pollfd pfd[RUN_MAX_WORKERS];
        int which[RUN_MAX_WORKERS], np = 0;
        for (int i = 0; i < n; i++)
            if (slots[i].report_fd >= 0) {
                pfd[np] = (struct pollfd){.fd = slots[i].report_fd, .events = POLLIN};
                which[np++] = i;
            }
        struct timespec to, *top = NULL;
        if (every_ns) {
            uint64_t now = gil_now_ns(), left = next_ns > now ? next_ns - now : 0;
            to.tv_sec = (time_t)(left / 1000000000u);
            to.tv_nsec = (long)(left % 1000000000u);
            top = &to;
        }
        int got = ppoll(pfd, (nfds_t)np, top, &guard.poll_mask);
        if (stop_caught)
            goto interrupted;
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            snprintf(err, errcap, "fork: waiting for the workers: %s", strerror(errno));
            goto fail;
        }
        if (every_ns && gil_now_ns() >= next_ns) {
            double t_ms = ms_since(t0);
            for (int i = 0; i < n; i++) {
                struct run_smaps m;
                if (slots[i].report_fd >= 0 && run_smaps_read(slots[i].pid, &m) == 0 &&
                    sample_add(&samples, i, t_ms, &m) != 0)
                    goto nomem;
            }
            while (next_ns <= gil_now_ns())
                next_ns += every_ns;
        }
        for (int k = 0; k < np; k++) {
            if (!pfd[k].revents)
                continue;
            int i = which[k];
            struct slot *s = &slots[i];
            if (read_full(s->report_fd, &s->report, sizeof s->report) == sizeof s->report) {
                s->reported = true;
                if (run_smaps_read(s->pid, &w[i].after) == 0) {
                    w[i].has_after = true;
                    if (sample_add(&samples, i, ms_since(t0), &w[i].after) != 0)
                        goto nomem;
                }
            }
            close_fd(&s->cmd_fd);   /* leave */
            close_fd(&s->report_fd);
            if (!s->reported)   /* it died: its time is until the parent saw it */
                w[i].stats.wall_s = ms_since(t0) / 1e3;
            reap(s, &w[i]);
            live--;
        }
    }
    uint64_t t1 = gil_now_ns();
    getrusage(RUSAGE_SELF, &r1);
    struct run_load load1 = run_load_read();
    stop_check_pending();
    if (stop_caught)
        goto interrupted;

    /* Step 7. */
    double own_cpu_s = tv_s(r1.ru_utime) - tv_s(r0.ru_utime) + tv_s(r1.ru_stime) - tv_s(r0.ru_stime);
    res.ok = true;
    for (int i = 0; i < n; i++) {
        struct slot *s = &slots[i];
        if (s->reported) {
            const struct fork_report *fr = &s->report;
            w[i].stats = fr->stats;
            w[i].cpus = fr->cpus;
            own_cpu_s += fr->stats.user_s + fr->stats.sys_s;
            if (fr->result == VM_OK) {
                w[i].end = RUN_WORKER_OK;
                w[i].repr = fr->text;
            } else {
                w[i].end = RUN_WORKER_ERROR;
                w[i].error = fr->text;
                run_last_line(fr->text, w[i].message, sizeof w[i].message);
            }
        }
        if (w[i].end != RUN_WORKER_OK && res.ok) {
            res.ok = false;
            snprintf(message, sizeof message, "worker %d: %s", i, w[i].message);
        }
    }
    res.nworkers = n;
    res.workers = w;
    res.nthreads = 0;
    res.wall_s = (double)(t1 - t0) / 1e9;
    res.has_load = run_load_delta(load0, load1, own_cpu_s, &res.others_s, &res.steal_s);
    res.smaps_samples = samples.v;
    res.nsmaps_samples = samples.n;
    stop_guard_end(&guard);
    guarded = false;
    if (sink(ctx, c, &res, err, errcap) != 0)
        st = RUN_ERROR;
    else
        st = res.ok ? RUN_OK : RUN_FAILED;
    goto out;

nomem:
    snprintf(err, errcap, "fork: %s", strerror(ENOMEM));
fail:
    kill_all(&J);
    st = RUN_ERROR;
    goto out;
interrupted:
    kill_all(&J);
    snprintf(err, errcap, "interrupted by %s: the workers were stopped and reaped; the repetition "
                          "under way wrote no row, every row written before is whole",
             signal_name(stop_caught));
    st = RUN_INTERRUPTED;
out:
    if (guarded)
        stop_guard_end(&guard);
    free(samples.v);
    free(slots);
    free(w);
    if (loader)
        vm_thread_free(loader);
    if (rt)
        vm_runtime_free(rt);
    gil_free(g);
    return st;
}
