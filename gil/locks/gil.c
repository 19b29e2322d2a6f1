/*
 * gil.c — what every design shares: the calls the VM makes, wrapped around the
 * active design's operations so that acquisitions, releases, switches, wait and
 * hold times and the request/acquire/release trace events are counted the same
 * way for every design. A design counts only what is its own (futile wake-ups,
 * time-outs, drop requests).
 */
#include "locks/gil.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
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
    g->vm_safety = d->vm_safety ? d->vm_safety(values) : GIL_VM_SERIAL;
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
    switch (s) {
    case GIL_VM_SERIAL: return "serial";
    case GIL_VM_ATOMIC: return "atomic";
    case GIL_VM_UNSAFE: return "unsafe";
    }
    return "?";
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
    t->breaker = &g->eval_breaker;
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

static void note_acquired(struct gil_thread *t, uint64_t asked_ns)
{
    uint64_t now = gil_now_ns();
    uint64_t waited = now - asked_ns;
    t->holding = true;
    t->hold_start_ns = now;
    t->st.acquisitions++;
    /* A switch: the lock changed hands. Only meaningful where the lock
       serialises (last_holder is then protected by the lock itself). */
    if (t->gil->vm_safety == GIL_VM_SERIAL && t->gil->last_holder != t->id) {
        if (t->gil->last_holder >= 0)
            t->st.switches++;
        t->gil->last_holder = t->id;
    }
    t->st.wait_ns += waited;
    if (waited > t->st.wait_max_ns)
        t->st.wait_max_ns = waited;
    trace_record(t->trace, TRACE_ACQUIRE, now);
}

void gil_take(struct gil_thread *t)
{
    PANIC_IF(t->holding, "gil_take: thread %d already holds the lock", t->id);
    uint64_t asked = gil_now_ns();
    trace_record(t->trace, TRACE_REQUEST, asked);
    t->gil->design->take(t->gil, t);
    note_acquired(t, asked);
}

void gil_drop(struct gil_thread *t)
{
    PANIC_IF(!t->holding, "gil_drop: thread %d does not hold the lock", t->id);
    uint64_t now = gil_now_ns();
    t->holding = false;
    t->st.releases++;
    t->st.hold_ns += now - t->hold_start_ns;
    trace_record(t->trace, TRACE_RELEASE, now);
    t->gil->design->drop(t->gil, t);
}

void gil_block_enter(struct gil_thread *t)
{
    t->st.blocks++;
    trace_record(t->trace, TRACE_BLOCK_ENTER, gil_now_ns());
    gil_drop(t);
}

void gil_block_leave(struct gil_thread *t)
{
    gil_take(t);
    trace_record(t->trace, TRACE_BLOCK_EXIT, gil_now_ns());
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
