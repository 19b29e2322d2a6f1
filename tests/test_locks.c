/*
 * test_locks.c — the contract every lock design in gil_designs[] must keep.
 *
 * Each behavioural test walks the registry and runs once per configuration of a
 * design (its enum and bool parameters in every combination, where the test says
 * so). Anything that takes a lock runs in a forked child under alarm(), so a hang
 * becomes a failure instead of a stuck suite. Worker threads only record; the
 * child's main thread joins them and copies what they saw into shared memory; the
 * parent (the cmocka test) asserts on it. Nothing here depends on timing: the
 * bounds are counted in instructions, and the only clock is the watchdog.
 *
 * Designs that give no mutual exclusion (vm_safety != GIL_VM_SERIAL) skip the
 * exclusion-specific tests; a design that allows one thread at most (max_threads,
 * e.g. the "noop" baseline) is skipped by every multi-thread test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "locks/gil.h"
#include "base/panic.h"

#define MAX_THREADS 4
#define MAX_CFGS 16
#define WATCHDOG_S 60u          /* per forked run; every run normally ends in well under 1 s */
#define STARVATION_BOUND_S 30u  /* the starvation test's stated bound */

/* ---- configurations ------------------------------------------------------------- */

struct cfg {
    const struct gil_design *d;
    double values[GIL_MAX_PARAMS];
    char label[192];
};

enum {
    VARY_ENUMS = 1,   /* every choice of every enum parameter */
    VARY_BOOLS = 2,   /* both values of every bool parameter */
    MIN_NUMBERS = 4,  /* counts and durations at their smallest allowed value */
};

static int varies(const struct gil_param *p, unsigned how)
{
    return (p->kind == GIL_PARAM_ENUM && (how & VARY_ENUMS)) ||
           (p->kind == GIL_PARAM_BOOL && (how & VARY_BOOLS));
}

static int choices(const struct gil_param *p)
{
    if (p->kind == GIL_PARAM_BOOL)
        return 2;
    int n = 1;
    for (const char *c = p->choices; *c; c++)
        n += *c == '|';
    return n;
}

/* Every configuration of d that `how` asks for; returns how many. */
static int cfgs_for(const struct gil_design *d, unsigned how, struct cfg *out)
{
    int digit[GIL_MAX_PARAMS] = {0};
    int n = 0;
    for (;;) {
        struct cfg *c = &out[n];
        size_t len;
        c->d = d;
        gil_params_defaults(d, c->values);
        len = (size_t)snprintf(c->label, sizeof c->label, "%s", d->name);
        for (size_t i = 0; i < d->nparams; i++) {
            const struct gil_param *p = &d->params[i];
            char v[48];
            if ((how & MIN_NUMBERS) && gil_param_numeric(p))
                c->values[i] = p->min;
            if (varies(p, how))
                c->values[i] = digit[i];
            gil_param_format(p, c->values[i], v, sizeof v);
            len += (size_t)snprintf(c->label + len, sizeof c->label - len, " %s=%s", p->name, v);
        }
        if (++n == MAX_CFGS)
            return n;
        /* next combination: a mixed-radix counter over the varied parameters */
        size_t i = 0;
        for (; i < d->nparams; i++) {
            if (!varies(&d->params[i], how))
                continue;
            if (++digit[i] < choices(&d->params[i]))
                break;
            digit[i] = 0;
        }
        if (i == d->nparams)
            return n;
    }
}

static int param_index(const struct gil_design *d, const char *name)
{
    for (size_t i = 0; i < d->nparams; i++)
        if (strcmp(d->params[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The py26 family: the holder yields every countdown + 1 checks, the countdown
   being check_interval x tick_scale (where the design scales its ticks). */
static long tick_bound(const struct cfg *c)
{
    int i = param_index(c->d, "check_interval"), k = param_index(c->d, "tick_scale");
    if (i < 0)
        return -1;
    double ticks = c->values[i] * (k < 0 ? 1.0 : c->values[k]);
    return (ticks < 1 ? 1 : (long)(ticks + 0.5)) + 1;
}

static bool is_serial(const struct gil_design *d)
{
    struct gil *g = NULL;
    PANIC_IF(gil_new(d, NULL, &g) != 0, "gil_new(%s) failed", d->name);
    bool serial = g->vm_safety == GIL_VM_SERIAL;
    gil_free(g);
    return serial;
}

/* A design that lets only one thread run at a time (noop): no multi-thread test. */
static bool single_thread_only(const struct gil_design *d) { return !gil_design_allows(d, 2); }

/* ---- forked runs ------------------------------------------------------------------ */

/* What a child saw, in memory shared with the parent. */
struct outcome {
    int rc;                             /* 0, or the errno of a failed set-up */
    int nthreads;
    struct gil_stats st[MAX_THREADS];   /* per thread, copied after join */
    long long counter;                  /* the plain counter of the exclusion test */
    long checks[MAX_THREADS];           /* should_yield checks made by each thread */
    long slow_paths[MAX_THREADS];       /* checks that returned true */
    long bad_ticks;                     /* yields that left a negative countdown or no lock */
    long missed;                        /* breaker seen set, yet the check said "no" */
    long max_gap;                       /* most checks between two slow paths */
    long countdown[MAX_THREADS];        /* the tick countdown each thread's first slow path set */
    int waiter_got;                     /* the waiter of the drop-request test got the lock */
};

struct run {
    const struct cfg *c;
    struct gil *g;
    struct outcome *o;
    int nthreads;
    pthread_barrier_t start;
    long k;                     /* iterations (or rounds) per thread */
    long checks;                /* churn: checks per hold */
    int counter;                /* plain int: only the lock under test protects it */
    _Atomic int arrived;        /* starvation test: threads that got the lock once */
    _Atomic int holding;        /* drop-request test: the holder has the lock */
    _Atomic int waiter_got;     /* drop-request test: the waiter has had the lock */
};

struct worker {
    struct run *r;
    struct gil_thread t;
    int idx;
    long checks, slow_paths, bad_ticks, missed, max_gap, countdown;   /* see struct outcome */
};

typedef void *(*worker_fn)(void *);

/* Runs fn in n threads of a fresh lock of configuration c. Child side only. */
static void run_threads(struct run *r, int n, worker_fn fn)
{
    struct worker w[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    memset(w, 0, sizeof w);
    r->nthreads = n;
    r->o->nthreads = n;
    if ((r->o->rc = gil_new(r->c->d, r->c->values, &r->g)) != 0)
        return;
    PT_CHECK(pthread_barrier_init(&r->start, NULL, (unsigned)n));
    for (int i = 0; i < n; i++) {
        w[i].r = r;
        w[i].idx = i;
        PANIC_IF(gil_thread_init(r->g, &w[i].t, i, NULL) != 0, "gil_thread_init");
    }
    for (int i = 0; i < n; i++)
        PT_CHECK(pthread_create(&tid[i], NULL, fn, &w[i]));
    for (int i = 0; i < n; i++)
        PT_CHECK(pthread_join(tid[i], NULL));
    for (int i = 0; i < n; i++) {
        gil_thread_fini(&w[i].t);
        r->o->st[i] = w[i].t.st;
        r->o->checks[i] = w[i].checks;
        r->o->slow_paths[i] = w[i].slow_paths;
        r->o->countdown[i] = w[i].countdown;
        r->o->bad_ticks += w[i].bad_ticks;
        r->o->missed += w[i].missed;
        if (w[i].max_gap > r->o->max_gap)
            r->o->max_gap = w[i].max_gap;
    }
    r->o->counter = r->counter;
    r->o->waiter_got = atomic_load(&r->waiter_got);
    PT_CHECK(pthread_barrier_destroy(&r->start));
    gil_free(r->g);
}

typedef void (*child_fn)(struct run *r);

/* Forks, runs fn(r) in the child under a watchdog, and returns the child's
   outcome (munmap it with free_outcome). Fails the test if the child hangs,
   crashes or panics. */
static struct outcome *run_forked(const struct cfg *c, child_fn fn, unsigned watchdog_s)
{
    struct outcome *o = mmap(NULL, sizeof *o, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(o != MAP_FAILED);
    memset(o, 0, sizeof *o);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct run r;
        memset(&r, 0, sizeof r);
        r.c = c;
        r.o = o;
        alarm(watchdog_s);
        fn(&r);
        _exit(0);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        assert_int_equal(errno, EINTR);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
        fail_msg("%s: no progress within the %us watchdog (deadlock or starvation)", c->label, watchdog_s);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("%s: child died (%s %d)", c->label, WIFSIGNALED(status) ? "signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    if (o->rc != 0)
        fail_msg("%s: gil_new failed: %s", c->label, strerror(o->rc));
    return o;
}

static void free_outcome(struct outcome *o) { munmap(o, sizeof *o); }

/* Fails the test naming the configuration, the condition and the details. */
#define EXPECT(cond, c, ...)                                                   \
    do {                                                                       \
        if (!(cond)) {                                                         \
            char why_[256];                                                    \
            snprintf(why_, sizeof why_, __VA_ARGS__);                          \
            fail_msg("%s: expected %s: %s", (c)->label, #cond, why_);          \
        }                                                                      \
    } while (0)

/* One check of the eval loop's hot path, with the bookkeeping the tests need. */
static void check_once(struct worker *w, long *since_slow)
{
    struct gil_thread *t = &w->t;
    /* relaxed: the same load gil_should_yield makes; read first so that a set
       bit seen here must be seen by the check below (coherence of one atomic). */
    int pending = atomic_load_explicit(t->breaker, memory_order_relaxed) & GIL_BREAKER_DROP;
    w->checks++;
    ++*since_slow;
    if (gil_should_yield(t)) {
        w->slow_paths++;
        if (w->slow_paths > 1 && *since_slow > w->max_gap)
            w->max_gap = *since_slow;
        *since_slow = 0;
        gil_yield(t);
        if (t->ticks < 0 || !t->holding)
            w->bad_ticks++;
        if (w->slow_paths == 1)
            w->countdown = t->ticks;
    } else if (pending) {
        w->missed++;
    }
}

/* ---- registry and parameters ------------------------------------------------------ */

static void test_registry_finds_every_design_and_no_unknown_one(void **state)
{
    (void)state;
    char names[512];
    gil_design_names(names, sizeof names, ", ", 1);
    int n = 0;
    for (const struct gil_design *const *d = gil_designs; *d; d++, n++) {
        assert_ptr_equal(gil_design_find((*d)->name), *d);
        assert_non_null(strstr(names, (*d)->name));
    }
    assert_true(n >= 4);
    static const char *required[] = {"py26", "py32", "none", "noop"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        assert_non_null(gil_design_find(required[i]));
    assert_null(gil_design_find("py27"));
    assert_null(gil_design_find(""));
    assert_null(gil_design_find("PY26"));
}

static void test_every_design_declares_sane_parameters(void **state)
{
    (void)state;
    for (const struct gil_design *const *dp = gil_designs; *dp; dp++) {
        const struct gil_design *d = *dp;
        assert_true(d->name[0] && d->summary[0] && d->models[0]);
        assert_true(d->nparams <= GIL_MAX_PARAMS);
        assert_non_null(d->create);
        assert_non_null(d->destroy);
        assert_non_null(d->take);
        assert_non_null(d->drop);
        assert_non_null(d->yield);
        for (size_t i = 0; i < d->nparams; i++) {
            const struct gil_param *p = &d->params[i];
            assert_true(p->help && p->help[0]);
            if (p->kind == GIL_PARAM_ENUM)
                assert_true(p->choices && p->def >= 0 && p->def < choices(p));
            if (gil_param_numeric(p))
                assert_true(p->min <= p->def && p->def <= p->max);
        }
        struct gil *g = NULL;
        assert_int_equal(gil_new(d, NULL, &g), 0);
        assert_ptr_equal(g->design, d);
        double v[GIL_MAX_PARAMS];
        gil_params_defaults(d, v);
        assert_int_equal(g->vm_safety, d->vm_safety ? d->vm_safety(v) : GIL_VM_SERIAL);
        assert_true(d->max_threads >= 0);
        for (size_t i = 0; i < d->nparams; i++) {
            assert_non_null(d->params[i].unit);
            if (!d->params[i].sweep)
                continue;
            /* every value the sweep runs is one that --set accepts */
            char *copy = strdup(d->params[i].sweep), *save = NULL;
            for (char *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
                char assignment[128], err[256];
                snprintf(assignment, sizeof assignment, "%s=%s", d->params[i].name, tok);
                gil_params_defaults(d, v);
                if (gil_param_set(d, v, assignment, err, sizeof err) != 0)
                    fail_msg("%s: sweep value refused: %s", d->name, err);
            }
            free(copy);
        }
        gil_free(g);
    }
}

static void test_design_safety_matches_parameters(void **state)
{
    (void)state;
    const struct gil_design *none = gil_design_find("none");
    double v[GIL_MAX_PARAMS];
    char err[256];
    struct gil *g = NULL;
    assert_non_null(none);
    assert_non_null(none->vm_safety);
    assert_int_equal(none->max_threads, 0);
    assert_int_equal(gil_new(none, NULL, &g), 0);
    assert_int_equal(g->vm_safety, GIL_VM_ATOMIC);
    gil_free(g);
    gil_params_defaults(none, v);
    assert_int_equal(gil_param_set(none, v, "refcounts=plain", err, sizeof err), 0);
    assert_int_equal(gil_new(none, v, &g), 0);
    assert_int_equal(g->vm_safety, GIL_VM_UNSAFE);
    assert_false(g->immortal_at_start);
    gil_free(g);
    assert_non_null(strstr(none->params[0].help, "racy"));
    /* biased, then with the objects alive at the start made immortal: the
       flag is split off the kind (gil_new), and named after it */
    gil_params_defaults(none, v);
    assert_int_equal(gil_param_set(none, v, "refcounts=biased", err, sizeof err), 0);
    assert_int_equal(none->vm_safety(v), GIL_VM_BIASED);
    assert_string_equal(gil_vm_safety_name(none->vm_safety(v)), "biased");
    assert_int_equal(gil_param_set(none, v, "immortal_at_start=on", err, sizeof err), 0);
    assert_int_equal(gil_vm_safety_kind(none->vm_safety(v)), GIL_VM_BIASED);
    assert_string_equal(gil_vm_safety_name(none->vm_safety(v)), "biased+immortal");
    assert_int_equal(gil_new(none, v, &g), 0);
    assert_int_equal(g->vm_safety, GIL_VM_BIASED);
    assert_true(g->immortal_at_start);
    /* without a lock that serialises, each thread reads a breaker of its own */
    struct gil_thread a, b;
    assert_int_equal(gil_thread_init(g, &a, 0, NULL), 0);
    assert_int_equal(gil_thread_init(g, &b, 1, NULL), 0);
    assert_ptr_equal(a.breaker, &a.own_breaker);
    assert_ptr_equal(b.breaker, &b.own_breaker);
    gil_thread_fini(&a);
    gil_thread_fini(&b);
    gil_free(g);

    static const char *serial[] = {"py26", "py32"};
    for (size_t i = 0; i < 2; i++) {
        const struct gil_design *d = gil_design_find(serial[i]);
        assert_null(d->vm_safety);
        assert_int_equal(gil_new(d, NULL, &g), 0);
        assert_int_equal(g->vm_safety, GIL_VM_SERIAL);
        assert_false(g->immortal_at_start);
        /* a serialising lock: one breaker, where waiters ask for drops */
        struct gil_thread t;
        assert_int_equal(gil_thread_init(g, &t, 0, NULL), 0);
        assert_ptr_equal(t.breaker, &g->eval_breaker);
        gil_thread_fini(&t);
        gil_free(g);
    }
}

static double set_ok(const char *design, const char *assignment)
{
    const struct gil_design *d = gil_design_find(design);
    double v[GIL_MAX_PARAMS];
    char err[256] = "";
    gil_params_defaults(d, v);
    int rc = gil_param_set(d, v, assignment, err, sizeof err);
    if (rc != 0)
        fail_msg("%s %s rejected: %s", design, assignment, err);
    const char *eq = strchr(assignment, '=');
    for (size_t i = 0; i < d->nparams; i++) {
        size_t plen = strlen(d->params[i].name);
        if (strncmp(d->params[i].name, assignment, (size_t)(eq - assignment)) == 0 &&
            (plen == (size_t)(eq - assignment) || strcmp(d->params[i].name + (eq - assignment), "_us") == 0))
            return v[i];
    }
    fail_msg("%s %s: no parameter took the value", design, assignment);
    return -1;
}

static void test_param_set_accepts_names_stems_units_and_choices(void **state)
{
    (void)state;
    assert_true(set_ok("py26", "check_interval=100") == 100);
    assert_true(set_ok("py26", "check_interval=1") == 1);
    assert_true(set_ok("py26", "lock=condvar") == 1);
    assert_true(set_ok("py26", "lock=sem") == 0);
    assert_true(set_ok("py32", "interval=5ms") == 5000);
    assert_true(set_ok("py32", "interval_us=250") == 250);
    assert_true(set_ok("py32", "interval=0.1ms") == 100);
    assert_true(set_ok("py32", "interval=10s") == 10e6);
    assert_true(set_ok("py32", "force_switching=off") == 0);
    assert_true(set_ok("py32", "force_switching=on") == 1);
    assert_true(set_ok("none", "refcounts=plain") == 2);
    assert_true(set_ok("none", "refcounts=biased") == 1);
    assert_true(set_ok("none", "refcounts=atomic") == 0);
    assert_true(set_ok("none", "immortal_at_start=on") == 1);
    assert_true(set_ok("none", "immortal_at_start=off") == 0);
}

/* The assignment is rejected, leaves the values alone, and the message holds
   every one of the NULL-terminated words. */
static void expect_rejected(const char *design, const char *assignment, ...)
{
    const struct gil_design *d = gil_design_find(design);
    double v[GIL_MAX_PARAMS], before[GIL_MAX_PARAMS];
    char err[512] = "";
    va_list ap;
    gil_params_defaults(d, v);
    memcpy(before, v, sizeof v);
    if (gil_param_set(d, v, assignment, err, sizeof err) != -1)
        fail_msg("%s %s accepted", design, assignment);
    assert_memory_equal(v, before, sizeof v);
    va_start(ap, assignment);
    for (const char *w = va_arg(ap, const char *); w; w = va_arg(ap, const char *))
        if (!strstr(err, w))
            fail_msg("%s %s: message lacks '%s': %s", design, assignment, w, err);
    va_end(ap);
}

static void test_param_set_rejects_unknown_names_bad_and_out_of_range_values(void **state)
{
    (void)state;
    /* unknown names: the message lists the valid parameters */
    expect_rejected("py26", "checkinterval=5", "checkinterval", "check_interval", "lock", NULL);
    expect_rejected("py32", "interval_ms=5", "interval_us", "force_switching", NULL);
    expect_rejected("py32", "check_interval=5", "interval_us", NULL);
    expect_rejected("none", "lock=sem", "refcounts", NULL);
    expect_rejected("noop", "x=1", "none", NULL);
    expect_rejected("py32", "interval", "interval_us", NULL);
    /* bad values: the message gives the allowed values */
    expect_rejected("py26", "check_interval=abc", "1 to 1000000", NULL);
    expect_rejected("py26", "check_interval=1.5", "1 to 1000000", NULL);
    expect_rejected("py26", "lock=mutex", "sem|condvar", NULL);
    expect_rejected("py32", "interval=5parsecs", "1us", "10s", NULL);
    expect_rejected("py32", "force_switching=maybe", "on or off", NULL);
    expect_rejected("none", "refcounts=deferred", "atomic|biased|plain", NULL);
    expect_rejected("none", "immortal_at_start=sometimes", "on or off", NULL);
    /* out of range */
    expect_rejected("py26", "check_interval=0", "1 to 1000000", NULL);
    expect_rejected("py26", "check_interval=1000001", "1 to 1000000", NULL);
    expect_rejected("py32", "interval=0", "1us", NULL);
    expect_rejected("py32", "interval=500ns", "1us", NULL);
    expect_rejected("py32", "interval=11s", "10s", NULL);
    expect_rejected("py32", "interval_us=-5", "1us", NULL);
}

static void test_describe_lists_every_design_original_and_parameter(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    gil_designs_describe(f);
    assert_int_equal(fclose(f), 0);
    for (const struct gil_design *const *dp = gil_designs; *dp; dp++) {
        const struct gil_design *d = *dp;
        assert_non_null(strstr(text, d->name));
        assert_non_null(strstr(text, d->summary));
        assert_non_null(strstr(text, d->models));
        for (size_t i = 0; i < d->nparams; i++) {
            char def[48];
            gil_param_format(&d->params[i], d->params[i].def, def, sizeof def);
            assert_non_null(strstr(text, d->params[i].name));
            assert_non_null(strstr(text, d->params[i].help));
            assert_non_null(strstr(text, def));
        }
    }
    assert_non_null(strstr(text, "sem|condvar"));
    assert_non_null(strstr(text, "1 to 1000000"));
    assert_non_null(strstr(text, "default 5ms"));
    free(text);
}

/* ---- a lone thread ------------------------------------------------------------------ */

#define LONE_CHECKS 1000

static void *lone_worker(void *arg)
{
    struct worker *w = arg;
    long since = 0;
    gil_take(&w->t);
    for (int i = 0; i < LONE_CHECKS; i++)
        check_once(w, &since);
    gil_drop(&w->t);
    return NULL;
}

static void lone_child(struct run *r) { run_threads(r, 1, lone_worker); }

static void test_lone_thread_yield_resets_ticks_and_never_waits_or_switches(void **state)
{
    (void)state;
    struct cfg cfgs[MAX_CFGS];
    for (const struct gil_design *const *dp = gil_designs; *dp; dp++) {
        int n = cfgs_for(*dp, VARY_ENUMS | VARY_BOOLS, cfgs);
        for (int i = 0; i < n; i++) {
            const struct cfg *c = &cfgs[i];
            struct outcome *o = run_forked(c, lone_child, WATCHDOG_S);
            const struct gil_stats *s = &o->st[0];
            long bound = tick_bound(c);
            EXPECT(o->bad_ticks == 0, c, "%ld yields left a bad countdown", o->bad_ticks);
            EXPECT(o->checks[0] == LONE_CHECKS, c, "%ld", o->checks[0]);
            /* gil_thread_init starts the countdown at 0: the first check is slow.
               Alone, nothing sets the eval breaker, so the slow path runs again
               only when the countdown the design set runs out (py26: every
               check_interval + 1 checks; the request-driven designs: never). */
            long every = o->countdown[0] == LONG_MAX ? LONG_MAX : o->countdown[0] + 1;
            EXPECT(o->slow_paths[0] == 1 + (LONE_CHECKS - 1) / every, c, "%ld slow paths, countdown %ld",
                   o->slow_paths[0], o->countdown[0]);
            if (bound > 0)
                EXPECT(every == bound, c, "countdown %ld, check_interval + 1 = %ld", o->countdown[0], bound);
            EXPECT(s->acquisitions == s->releases, c, "%lu vs %lu", (unsigned long)s->acquisitions,
                   (unsigned long)s->releases);
            EXPECT(s->acquisitions == 1 + s->yields, c, "%lu", (unsigned long)s->acquisitions);
            EXPECT(s->switches == 0, c, "%lu", (unsigned long)s->switches);
            EXPECT(s->futile_wakeups == 0 && s->timeouts == 0, c, "futile %lu timeouts %lu",
                   (unsigned long)s->futile_wakeups, (unsigned long)s->timeouts);
            EXPECT(s->drop_requests == 0 && s->drops_honoured == 0, c, "requests %lu honoured %lu",
                   (unsigned long)s->drop_requests, (unsigned long)s->drops_honoured);
            if (bound < 0)  /* no tick-driven release: alone, nobody asks or waits to be yielded to */
                EXPECT(s->yields == 0, c, "%lu", (unsigned long)s->yields);
            free_outcome(o);
        }
    }
}

/* ---- mutual exclusion ------------------------------------------------------------------ */

/* Tick-driven designs yield every few checks at the smallest interval, so few
   checks give many hand-overs. Request-driven ones switch only when a timed wait
   runs out (tens of microseconds at best, given the kernel's timer slack), so
   each thread needs a long run to be pre-empted a few times. */
#define EXCL_THREADS 4
#define EXCL_K_TICKS 20000L
#define EXCL_K_REQUESTS 1000000L

static void *exclusion_worker(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    long since = 0;
    int rc = pthread_barrier_wait(&r->start);
    PANIC_IF(rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD, "pthread_barrier_wait: %d", rc);
    gil_take(&w->t);
    for (long k = 0; k < r->k; k++) {
        r->counter++;   /* plain read-modify-write: exact only under exclusion */
        check_once(w, &since);
    }
    gil_drop(&w->t);
    return NULL;
}

static long exclusion_k(const struct cfg *c) { return tick_bound(c) > 0 ? EXCL_K_TICKS : EXCL_K_REQUESTS; }

static void exclusion_child(struct run *r)
{
    r->k = exclusion_k(r->c);
    run_threads(r, EXCL_THREADS, exclusion_worker);
}

static void test_mutual_exclusion_plain_counter_exact_with_4_threads(void **state)
{
    (void)state;
    struct cfg cfgs[MAX_CFGS];
    for (const struct gil_design *const *dp = gil_designs; *dp; dp++) {
        if (single_thread_only(*dp) || !is_serial(*dp))
            continue;
        int n = cfgs_for(*dp, MIN_NUMBERS | VARY_ENUMS | VARY_BOOLS, cfgs);
        for (int i = 0; i < n; i++) {
            struct outcome *o = run_forked(&cfgs[i], exclusion_child, WATCHDOG_S);
            long long want = EXCL_THREADS * exclusion_k(&cfgs[i]);
            EXPECT(o->counter == want, &cfgs[i], "counter %lld, want %lld", o->counter, want);
            EXPECT(o->bad_ticks == 0, &cfgs[i], "%ld", o->bad_ticks);
            free_outcome(o);
        }
    }
}

/* ---- a drop request is honoured within a bounded number of instructions ------------- */

static void *holder_worker(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    long since = 0;
    gil_take(&w->t);
    /* release: orders our acquisition before the waiter's request for the lock */
    atomic_store_explicit(&r->holding, 1, memory_order_release);
    /* acquire: pairs with the waiter's release store below */
    while (!atomic_load_explicit(&r->waiter_got, memory_order_acquire))
        check_once(w, &since);
    gil_drop(&w->t);
    return NULL;
}

static void *waiter_worker(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    /* acquire: pairs with the holder's release store; then sched_yield is only
       politeness, the loop is bounded by the holder's first instructions. */
    while (!atomic_load_explicit(&r->holding, memory_order_acquire))
        sched_yield();
    gil_take(&w->t);
    /* release: the holder leaves its loop only after we have held the lock */
    atomic_store_explicit(&r->waiter_got, 1, memory_order_release);
    gil_drop(&w->t);
    return NULL;
}

static void *request_worker(void *arg)
{
    struct worker *w = arg;
    return w->idx == 0 ? holder_worker(arg) : waiter_worker(arg);
}

static void request_child(struct run *r) { run_threads(r, 2, request_worker); }

static void test_drop_request_honoured_within_bounded_instructions(void **state)
{
    (void)state;
    struct cfg cfgs[MAX_CFGS];
    for (const struct gil_design *const *dp = gil_designs; *dp; dp++) {
        if (single_thread_only(*dp) || !is_serial(*dp))
            continue;
        /* Bools stay at their defaults: py32 without forced switching may, by
           design, let the holder win the lock back forever. */
        int n = cfgs_for(*dp, VARY_ENUMS, cfgs);
        for (int i = 0; i < n; i++) {
            const struct cfg *c = &cfgs[i];
            struct outcome *o = run_forked(c, request_child, WATCHDOG_S);
            long bound = tick_bound(c);
            EXPECT(o->waiter_got == 1, c, "the waiter never got the lock");
            EXPECT(o->bad_ticks == 0, c, "%ld", o->bad_ticks);
            /* bound 1: a breaker seen set is acted on at that very check */
            EXPECT(o->missed == 0, c, "%ld checks ignored a set eval breaker", o->missed);
            if (bound > 0) {
                /* py26: the holder offers the lock every check_interval + 1 checks */
                EXPECT(o->max_gap <= bound, c, "gap %ld > %ld", o->max_gap, bound);
            }
            /* The waiter can only have had the lock through the holder's slow
               path: the holder gave it up there at least once. */
            EXPECT(o->st[0].yields >= 1, c, "the holder never gave the lock up in its slow path");
            /* A drop honoured answers a request the waiter made, and a holder
               whose every yield was a drop honoured (py32, fifo, ruby) was asked. */
            EXPECT(o->st[0].drops_honoured <= o->st[1].drop_requests, c, "%lu honoured, %lu requested",
                   (unsigned long)o->st[0].drops_honoured, (unsigned long)o->st[1].drop_requests);
            if (o->st[0].yields == o->st[0].drops_honoured)
                EXPECT(o->st[1].drop_requests >= 1, c, "the waiter never asked");
            free_outcome(o);
        }
    }
}

/* ---- a blocking region hands the lock to a waiter ---------------------------------------- */

static void *blocker_worker(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    gil_take(&w->t);
    /* release: orders our acquisition before the waiter's request */
    atomic_store_explicit(&r->holding, 1, memory_order_release);
    /* Around a blocking call, never reaching a check: the lock can reach the
       waiter only through the release itself. */
    gil_block_enter(&w->t);
    /* acquire: pairs with the waiter's release store */
    while (!atomic_load_explicit(&r->waiter_got, memory_order_acquire))
        sched_yield();
    gil_block_leave(&w->t);
    gil_drop(&w->t);
    return NULL;
}

static void *block_request_worker(void *arg)
{
    struct worker *w = arg;
    return w->idx == 0 ? blocker_worker(arg) : waiter_worker(arg);
}

static void block_child(struct run *r) { run_threads(r, 2, block_request_worker); }

static void test_blocking_region_hands_the_lock_to_a_waiter(void **state)
{
    (void)state;
    struct cfg cfgs[MAX_CFGS];
    for (const struct gil_design *const *dp = gil_designs; *dp; dp++) {
        if (single_thread_only(*dp) || !is_serial(*dp))
            continue;
        int n = cfgs_for(*dp, VARY_ENUMS | VARY_BOOLS, cfgs);
        for (int i = 0; i < n; i++) {
            const struct cfg *c = &cfgs[i];
            struct outcome *o = run_forked(c, block_child, WATCHDOG_S);
            EXPECT(o->waiter_got == 1, c, "the waiter never got the lock");
            EXPECT(o->st[0].blocks == 1 && o->st[0].yields == 0, c, "blocks %lu yields %lu",
                   (unsigned long)o->st[0].blocks, (unsigned long)o->st[0].yields);
            EXPECT(o->st[0].drops_honoured == 0, c, "%lu", (unsigned long)o->st[0].drops_honoured);
            EXPECT(o->st[1].acquisitions == 1 && o->st[0].acquisitions == 2, c, "acquisitions %lu, %lu",
                   (unsigned long)o->st[0].acquisitions, (unsigned long)o->st[1].acquisitions);
            free_outcome(o);
        }
    }
}

/* ---- no starvation ------------------------------------------------------------------------ */

#define STARVE_THREADS 3

static void *starve_worker(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    long since = 0;
    int rc = pthread_barrier_wait(&r->start);
    PANIC_IF(rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD, "pthread_barrier_wait: %d", rc);
    gil_take(&w->t);
    /* relaxed: a counter; the holder only has to see the last increment eventually */
    atomic_fetch_add_explicit(&r->arrived, 1, memory_order_relaxed);
    /* CPU-bound until every thread has had the lock: it gives the lock up only
       when the design makes it. */
    while (atomic_load_explicit(&r->arrived, memory_order_relaxed) < r->nthreads)
        check_once(w, &since);
    gil_drop(&w->t);
    return NULL;
}

static void starve_child(struct run *r) { run_threads(r, STARVE_THREADS, starve_worker); }

/* The stated bound: with 3 CPU-bound threads at default parameters, every
   waiting thread gets the lock within STARVATION_BOUND_S (30 s) — thousands of
   intervals; a run normally takes milliseconds. */
static void test_no_starvation_3_cpu_bound_threads_each_acquire_within_30s(void **state)
{
    (void)state;
    struct cfg cfgs[MAX_CFGS];
    for (const struct gil_design *const *dp = gil_designs; *dp; dp++) {
        if (single_thread_only(*dp))
            continue;
        int n = cfgs_for(*dp, VARY_ENUMS, cfgs);
        for (int i = 0; i < n; i++) {
            struct outcome *o = run_forked(&cfgs[i], starve_child, STARVATION_BOUND_S);
            for (int t = 0; t < STARVE_THREADS; t++)
                EXPECT(o->st[t].acquisitions >= 1, &cfgs[i], "thread %d", t);
            free_outcome(o);
        }
    }
}

/* ---- threads exiting while others wait, and the stats they leave ------------------------ */

/* Thread i holds the lock (i + 1) * CHURN_ROUNDS times; each hold is long
   enough (in request-driven designs) for waiters to time out and ask. */
#define CHURN_THREADS 4
#define CHURN_ROUNDS 5L
static long churn_checks(const struct cfg *c) { return tick_bound(c) > 0 ? 200 : 20000; }

static void *churn_worker(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    long since = 0;
    int rc = pthread_barrier_wait(&r->start);
    PANIC_IF(rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD, "pthread_barrier_wait: %d", rc);
    /* thread i works (i + 1) * r->k rounds, so the threads leave one by one
       while the others still take, drop, block and wait */
    for (long round = 0; round < (w->idx + 1) * r->k; round++) {
        gil_take(&w->t);
        for (long i = 0; i < r->checks; i++)
            check_once(w, &since);
        if (round % 2) {
            gil_block_enter(&w->t);
            sched_yield();
            gil_block_leave(&w->t);
        }
        gil_drop(&w->t);
    }
    return NULL;
}

static void churn_child(struct run *r)
{
    r->k = CHURN_ROUNDS;
    r->checks = churn_checks(r->c);
    run_threads(r, CHURN_THREADS, churn_worker);
}

static void test_threads_exiting_while_others_wait_never_deadlock(void **state)
{
    (void)state;
    struct cfg cfgs[MAX_CFGS];
    for (const struct gil_design *const *dp = gil_designs; *dp; dp++) {
        if (single_thread_only(*dp))
            continue;
        int n = cfgs_for(*dp, VARY_ENUMS | VARY_BOOLS, cfgs);
        for (int i = 0; i < n; i++) {
            struct outcome *o = run_forked(&cfgs[i], churn_child, WATCHDOG_S);
            for (int t = 0; t < CHURN_THREADS; t++)
                EXPECT(o->checks[t] == (t + 1) * CHURN_ROUNDS * churn_checks(&cfgs[i]), &cfgs[i],
                       "thread %d: %ld checks", t, o->checks[t]);
            free_outcome(o);
        }
    }
}

static void expect_stats_consistent(const struct cfg *c, const struct gil_stats *s, const char *who)
{
    EXPECT(s->acquisitions == s->releases, c, "%s: %lu acquisitions, %lu releases", who,
           (unsigned long)s->acquisitions, (unsigned long)s->releases);
    EXPECT(s->switches <= s->acquisitions, c, "%s", who);
    EXPECT(s->yields <= s->acquisitions, c, "%s", who);
    EXPECT(s->wait_max_ns <= s->wait_ns, c, "%s", who);
    /* Time-outs and futile wake-ups happen inside waits: a thread that never
       waited for the lock counts none. */
    if (s->timeouts || s->futile_wakeups)
        EXPECT(s->wait_ns > 0, c, "%s: %lu time-outs, %lu futile wake-ups, no wait", who,
               (unsigned long)s->timeouts, (unsigned long)s->futile_wakeups);
}

static void test_stats_add_up_per_thread_and_summed(void **state)
{
    (void)state;
    struct cfg cfgs[MAX_CFGS];
    for (const struct gil_design *const *dp = gil_designs; *dp; dp++) {
        if (single_thread_only(*dp))
            continue;
        int n = cfgs_for(*dp, MIN_NUMBERS | VARY_ENUMS | VARY_BOOLS, cfgs);
        for (int i = 0; i < n; i++) {
            const struct cfg *c = &cfgs[i];
            struct outcome *o = run_forked(c, churn_child, WATCHDOG_S);
            struct gil_stats sum;
            memset(&sum, 0, sizeof sum);
            for (int t = 0; t < o->nthreads; t++) {
                char who[32];
                snprintf(who, sizeof who, "thread %d", t);
                expect_stats_consistent(c, &o->st[t], who);
                EXPECT(o->st[t].acquisitions >= (uint64_t)((t + 1) * CHURN_ROUNDS), c, "thread %d", t);
                EXPECT(o->st[t].blocks == (uint64_t)((t + 1) * CHURN_ROUNDS / 2), c, "thread %d: %lu blocks", t,
                       (unsigned long)o->st[t].blocks);
                gil_stats_add(&sum, &o->st[t]);
            }
            expect_stats_consistent(c, &sum, "sum");
            EXPECT(sum.drops_honoured <= sum.drop_requests, c, "%lu honoured, %lu requested",
                   (unsigned long)sum.drops_honoured, (unsigned long)sum.drop_requests);
            EXPECT(sum.switches < sum.acquisitions, c, "the first acquisition is never a switch");
            free_outcome(o);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry_finds_every_design_and_no_unknown_one),
        cmocka_unit_test(test_every_design_declares_sane_parameters),
        cmocka_unit_test(test_design_safety_matches_parameters),
        cmocka_unit_test(test_param_set_accepts_names_stems_units_and_choices),
        cmocka_unit_test(test_param_set_rejects_unknown_names_bad_and_out_of_range_values),
        cmocka_unit_test(test_describe_lists_every_design_original_and_parameter),
        cmocka_unit_test(test_lone_thread_yield_resets_ticks_and_never_waits_or_switches),
        cmocka_unit_test(test_mutual_exclusion_plain_counter_exact_with_4_threads),
        cmocka_unit_test(test_drop_request_honoured_within_bounded_instructions),
        cmocka_unit_test(test_blocking_region_hands_the_lock_to_a_waiter),
        cmocka_unit_test(test_no_starvation_3_cpu_bound_threads_each_acquire_within_30s),
        cmocka_unit_test(test_threads_exiting_while_others_wait_never_deadlock),
        cmocka_unit_test(test_stats_add_up_per_thread_and_summed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
