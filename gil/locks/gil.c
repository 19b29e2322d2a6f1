/*
 * gil.c — what every design shares: the calls the VM makes, wrapped around the
 * active design's operations so that acquisitions, releases, switches, waits,
 * wake-ups and the request/acquire/release trace events are counted the same
 * way for every design. A design counts only what is its own (time-outs seen as
 * such, drop requests) and tells this layer where it waits and sleeps.
 *
 * The cost on the paths that do not wait is what the lab must not add to what
 * it measures: a take that gets the lock at once, a drop and a periodic yield
 * read no clock and touch only the thread's own counters. A clock is read when
 * a take has to wait (gil_wait_begin, then at its end), around blocking calls,
 * and, with tracing on, for each event (the cheap trace clock, trace.h). Hold
 * time is therefore not timed per acquisition: it is the thread's run time less
 * the waits and blocking calls, which are timed (gil_thread_finish).
 */
#include "locks/gil.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/panic.h"
#include "trace/trace.h"

uint64_t gil_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int gil_new(const struct gil_design *d, const double *values, struct gil **out)
{
    double defaults[GIL_MAX_PARAMS];
    if (!values) {
        gil_params_defaults(d, defaults);
        values = defaults;
    }
    struct gil *g = NULL;
    int rc = d->create(values, &g);
    if (rc != 0)
        return rc;
    g->design = d;
    memcpy(g->values, values, sizeof(double) * d->nparams);
    atomic_init(&g->eval_breaker, 0);
    enum gil_vm_safety s = d->vm_safety ? d->vm_safety(values) : GIL_VM_SERIAL;
    g->vm_safety = gil_vm_safety_kind(s);
    g->immortal_at_start = (s & GIL_VM_IMMORTAL_AT_START) != 0;
    g->last_holder = -1;
    *out = g;
    return 0;
}

void gil_free(struct gil *g)
{
    if (g)
        g->design->destroy(g);
}

void gil_forget_holder(struct gil *g)
{
    g->last_holder = -1;
}

const char *gil_vm_safety_name(enum gil_vm_safety s)
{
    bool immortal = (s & GIL_VM_IMMORTAL_AT_START) != 0;
    switch (gil_vm_safety_kind(s)) {
    case GIL_VM_SERIAL: return immortal ? "serial+immortal" : "serial";
    case GIL_VM_ATOMIC: return immortal ? "atomic+immortal" : "atomic";
    case GIL_VM_UNSAFE: return immortal ? "unsafe+immortal" : "unsafe";
    case GIL_VM_BIASED: return immortal ? "biased+immortal" : "biased";
    default: return "?";
    }
}

const struct gil_stat_info gil_stat_infos[] = {
#define GIL_STAT_INFO(field, kind, column, help) \
    {#field, kind, #column, help, offsetof(struct gil_stats, field)},
    GIL_STATS(GIL_STAT_INFO)
#undef GIL_STAT_INFO
};
const size_t gil_nstats = sizeof gil_stat_infos / sizeof gil_stat_infos[0];

int gil_thread_init(struct gil *g, struct gil_thread *t, int id, struct trace_buf *trace)
{
    memset(t, 0, sizeof *t);
    t->gil = g;
    t->id = id;
    t->ticks = 0;   /* the first check calls the design's yield, which sets its own countdown */
    atomic_init(&t->own_breaker, 0);
    t->breaker = g->vm_safety == GIL_VM_SERIAL ? &g->eval_breaker : &t->own_breaker;
    t->sleep_mark = -1;
    t->trace = trace;
    if (trace)
        trace->thread = (uint32_t)id;
    if (g->design->thread_init)
        return g->design->thread_init(g, t);
    return 0;
}

void gil_thread_fini(struct gil_thread *t)
{
    PANIC_IF(t->holding, "gil_thread_fini: thread %d still holds the lock", t->id);
    if (t->gil && t->gil->design->thread_fini)
        t->gil->design->thread_fini(t->gil, t);
}

void gil_wait_begin(struct gil_thread *t)
{
    if (t->wait_start_ns == 0)
        t->wait_start_ns = gil_now_ns();
}

void gil_wait_end(struct gil_thread *t)
{
    if (t->wait_start_ns == 0)
        return;
    uint64_t waited = gil_now_ns() - t->wait_start_ns;
    t->wait_start_ns = 0;
    t->st.wait_ns += waited;
    if (waited > t->st.wait_max_ns)
        t->st.wait_max_ns = waited;
}

/* This thread's voluntary context switches so far, or -1. */
static long voluntary_switches(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_THREAD, &ru) == 0 ? ru.ru_nvcsw : -1;
}

void gil_sleep_begin(struct gil_thread *t)
{
    t->sleep_mark = voluntary_switches();
}

void gil_sleep_done(struct gil_thread *t, enum gil_sleep_end how, bool taken)
{
    long mark = t->sleep_mark;
    t->sleep_mark = -1;
    if (how == GIL_WOKEN && mark >= 0 && voluntary_switches() == mark) {
        t->st.unslept++;   /* the wait returned without ever sleeping */
        return;
    }
    if (how == GIL_TIMED_OUT) {
        t->st.timeouts++;
        trace_record(t->trace, TRACE_TIMEOUT);
        return;
    }
    t->st.wakeups++;
    if (taken) {
        t->st.futile_wakeups++;
        trace_record(t->trace, TRACE_FUTILE_WAKEUP);
    }
}

void gil_thread_finish(struct gil_thread *t, uint64_t run_ns)
{
    uint64_t away = t->st.wait_ns + t->st.block_ns;
    t->st.hold_ns = run_ns > away ? run_ns - away : 0;
}

void gil_take(struct gil_thread *t)
{
    PANIC_IF(t->holding, "gil_take: thread %d already holds the lock", t->id);
    uint64_t asked = 0;
    if (t->trace) {
        asked = trace_clock();
        trace_record_at(t->trace, TRACE_REQUEST, asked);
    }
    t->gil->design->take(t->gil, t);
    bool waited = t->wait_start_ns != 0;
    if (waited)
        gil_wait_end(t);
    t->holding = true;
    t->st.acquisitions++;
    /* A switch: the lock changed hands. Only meaningful where the lock
       serialises (last_holder is then protected by the lock itself). */
    if (t->gil->vm_safety == GIL_VM_SERIAL && t->gil->last_holder != t->id) {
        if (t->gil->last_holder >= 0)
            t->st.switches++;
        t->gil->last_holder = t->id;
    }
    /* An acquisition that did not wait carries its request's stamp: no
       second clock read on the path that the lab must keep cheap. */
    if (t->trace)
        trace_record_at(t->trace, TRACE_ACQUIRE, waited ? trace_clock() : asked);
}

void gil_drop(struct gil_thread *t)
{
    PANIC_IF(!t->holding, "gil_drop: thread %d does not hold the lock", t->id);
    t->holding = false;
    t->st.releases++;
    trace_record(t->trace, TRACE_RELEASE);
    t->gil->design->drop(t->gil, t);
}

void gil_block_enter(struct gil_thread *t)
{
    t->st.blocks++;
    trace_record(t->trace, TRACE_BLOCK_ENTER);
    gil_drop(t);
    t->block_start_ns = gil_now_ns();
}

void gil_block_leave(struct gil_thread *t)
{
    t->st.block_ns += gil_now_ns() - t->block_start_ns;
    gil_take(t);
    trace_record(t->trace, TRACE_BLOCK_EXIT);
}

void gil_yield(struct gil_thread *t)
{
    t->gil->design->yield(t->gil, t);
}

void gil_yield_on_drop_request(struct gil *g, struct gil_thread *t)
{
    t->ticks = LONG_MAX;
    /* relaxed: a peek; the design re-reads its state under its own mutex
       when it drops and takes. */
    if (atomic_load_explicit(&g->eval_breaker, memory_order_relaxed) & GIL_BREAKER_DROP) {
        t->st.drops_honoured++;
        t->st.yields++;
        gil_drop(t);
        gil_take(t);
    }
}

int gil_cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    int rc = pthread_condattr_init(&attr);
    if (rc != 0)
        return rc;
    rc = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (rc == 0)
        rc = pthread_cond_init(c, &attr);
    PT_CHECK(pthread_condattr_destroy(&attr));
    return rc;
}

void gil_stats_add(struct gil_stats *a, const struct gil_stats *b)
{
#define GIL_STAT_ADD(field, kind, column, help)                                  \
    if (kind == GIL_STAT_NS_MAX)                                                        \
        a->field = b->field > a->field ? b->field : a->field;                           \
    else                                                                                \
        a->field += b->field;
    GIL_STATS(GIL_STAT_ADD)
#undef GIL_STAT_ADD
}
