/*
 * fifo.c — a fair lock: strict first-come, first-served hand-off.
 *
 * Models no interpreter release: it is the textbook ticket lock (Mellor-Crummey
 * and Scott, "Algorithms for Scalable Synchronization on Shared-Memory
 * Multiprocessors", ACM TOCS 1991), asked for the lock the way py32 asks, so the
 * lab can set fair hand-off beside py26's and py32's barging.
 *
 * Invariant: the thread whose ticket equals `now_serving` owns the lock; the lock
 * is free exactly when `now_serving == next_ticket`. Both counters are read and
 * written only under `mutex`. Tickets are handed out in arrival order, and a drop
 * passes ownership to the next ticket at once: nobody can barge in between.
 *
 * Who waits on what: a thread takes a ticket and waits on `cond` (under `mutex`)
 * for `now_serving == my ticket`, each wait bounded by one interval with an
 * absolute CLOCK_MONOTONIC deadline. A waiter that waited a whole interval while
 * `now_serving` did not move sets the drop request bit in the eval breaker, as
 * py32 does; the holder drops at its next check and takes a new ticket, which
 * puts it behind every thread already waiting. No forced-switch wait is needed.
 * The new owner clears the request when it takes the lock.
 *
 * Fairness: strict FIFO. A waiter with k threads ahead of it gets the lock after
 * at most k holds, each ended by a request within about one interval, so no
 * thread starves while the holders keep running bytecode.
 *
 * The price: every hand-over goes to a thread that is asleep, so the lock sits
 * idle for a wake-up latency on each switch (a lock convoy), where a barging lock
 * would let a running thread go on. One condition variable serves every ticket,
 * so a drop broadcasts and all waiters but the next one wake in vain (counted as
 * futile wake-ups); per-thread condition variables would avoid that.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "locks/gil.h"
#include "base/panic.h"
#include "trace/trace.h"

static const struct gil_param fifo_params[] = {
    {.name = "interval_us", .kind = GIL_PARAM_US, .unit = "us", .def = 5000, .min = 1, .max = 10e6,
     .help = "how long a waiter waits before asking the holder to hand the lock on",
     .sweep = "0.1ms 1ms 5ms 30ms"},
};

struct fifo {
    struct gil base;          /* first member; see gil.h. The drop request is the
                                 GIL_BREAKER_DROP bit of base.eval_breaker, set and
                                 cleared only under `mutex` */
    uint64_t interval_ns;     /* immutable after create */
    pthread_mutex_t mutex;    /* guards next_ticket, now_serving, the drop request bit */
    pthread_cond_t cond;      /* broadcast on each hand-over; waiters want their ticket served */
    uint64_t next_ticket;     /* mutex: the ticket the next arrival gets */
    uint64_t now_serving;     /* mutex: the owner's ticket (== next_ticket: free) */
};

static struct fifo *as_fifo(struct gil *g) { return (struct fifo *)g; }

static int fifo_create(const double *values, struct gil **out)
{
    struct fifo *p = calloc(1, sizeof *p);
    int rc;
    if (!p)
        return ENOMEM;
    p->interval_ns = (uint64_t)(values[0] * 1000.0);
    if (p->interval_ns < 1000)
        p->interval_ns = 1000;

    if ((rc = pthread_mutex_init(&p->mutex, NULL)) != 0)
        goto fail;
    if ((rc = gil_cond_init_monotonic(&p->cond)) != 0) {
        PT_CHECK(pthread_mutex_destroy(&p->mutex));
        goto fail;
    }
    *out = &p->base;
    return 0;

fail:
    free(p);
    return rc;
}

static void fifo_destroy(struct gil *g)
{
    struct fifo *p = as_fifo(g);
    PT_CHECK(pthread_cond_destroy(&p->cond));
    PT_CHECK(pthread_mutex_destroy(&p->mutex));
    free(p);
}

/* Called with p->mutex held. */
static bool drop_requested(struct fifo *p)
{
    /* relaxed: the bit is set and cleared only under p->mutex, which we hold;
       the atomic exists only for the holder's lock-free peek. */
    return (atomic_load_explicit(&p->base.eval_breaker, memory_order_relaxed) & GIL_BREAKER_DROP) != 0;
}

static void fifo_take(struct gil *g, struct gil_thread *t)
{
    struct fifo *p = as_fifo(g);
    PT_CHECK(pthread_mutex_lock(&p->mutex));
    uint64_t mine = p->next_ticket++;
    if (p->now_serving != mine)
        gil_wait_begin(t);
    while (p->now_serving != mine) {
        uint64_t saved = p->now_serving;
        uint64_t at = gil_now_ns() + p->interval_ns;
        struct timespec until = {.tv_sec = (time_t)(at / 1000000000u), .tv_nsec = (long)(at % 1000000000u)};
        gil_sleep_begin(t);
        int rc = pthread_cond_timedwait(&p->cond, &p->mutex, &until);
        if (rc != ETIMEDOUT)
            PT_CHECK(rc);
        gil_sleep_done(t, rc == ETIMEDOUT ? GIL_TIMED_OUT : GIL_WOKEN, p->now_serving != mine);
        /* A whole interval without a hand-over: ask the owner to move on. */
        if (rc == ETIMEDOUT && p->now_serving != mine && p->now_serving == saved && !drop_requested(p)) {
            /* relaxed: see drop_requested(); the holder only has to notice
               the bit eventually, then takes p->mutex to drop. */
            atomic_fetch_or_explicit(&p->base.eval_breaker, GIL_BREAKER_DROP, memory_order_relaxed);
            t->st.drop_requests++;
            trace_record(t->trace, TRACE_DROP_REQUEST);
        }
    }
    if (drop_requested(p)) {
        /* relaxed: under p->mutex, as for the set. */
        atomic_fetch_and_explicit(&p->base.eval_breaker, ~GIL_BREAKER_DROP, memory_order_relaxed);
    }
    PT_CHECK(pthread_mutex_unlock(&p->mutex));
}

static void fifo_drop(struct gil *g, struct gil_thread *t)
{
    struct fifo *p = as_fifo(g);
    (void)t;
    PT_CHECK(pthread_mutex_lock(&p->mutex));
    p->now_serving++;                       /* hand over to the oldest waiter, if any */
    if (p->now_serving != p->next_ticket)
        PT_CHECK(pthread_cond_broadcast(&p->cond));
    PT_CHECK(pthread_mutex_unlock(&p->mutex));
}


const struct gil_design gil_design_fifo = {
    .name = "fifo",
    .summary = "fair ticket lock: a waiter that timed out asks, and the holder hands over to the oldest waiter",
    .models = "the ticket lock (Mellor-Crummey & Scott, ACM TOCS 1991) with py32's drop request",
    .params = fifo_params,
    .nparams = sizeof fifo_params / sizeof fifo_params[0],
    .create = fifo_create,
    .destroy = fifo_destroy,
    .take = fifo_take,
    .drop = fifo_drop,
    .yield = gil_yield_on_drop_request,
};
