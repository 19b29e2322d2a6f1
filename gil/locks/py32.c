/*
 * py32.c — the switch-interval lock of CPython 3.2 and every version since.
 *
 * Models CPython 3.2 Python/ceval_gil.h (take_gil, drop_gil, FORCE_SWITCHING);
 * 3.12's Python/ceval_gil.c keeps the same protocol.
 *
 * Invariant: `locked` is true exactly while one thread holds the lock, and is read
 * and written only under `mutex`. `last_holder` and `switch_number` change only in
 * take, with both `mutex` and `switch_mutex` held, so either mutex reads them.
 *
 * Who waits on what: a thread that finds the lock held waits on `cond` (under
 * `mutex`) for `!locked`, each wait bounded by one interval (absolute
 * CLOCK_MONOTONIC deadline). If a wait times out, the lock is still held and
 * `switch_number` has not moved since the wait began, the holder has had a whole
 * interval: the waiter sets the drop request bit in the eval breaker. The holder
 * sees it at its next check and drops. A drop made while the request is set, with
 * force_switching on, then waits on `switch_cond` (under `switch_mutex`) until
 * `last_holder` is another thread, so the dropper cannot win the lock straight
 * back. The new holder clears the request when it takes the lock.
 *
 * Fairness: none. `cond` wakes an arbitrary waiter, and a thread arriving while
 * the lock is free barges in ahead of the sleepers; forced switching only makes
 * *some* other thread run after a requested drop. The pathology is the convoy
 * effect (bpo-7946): a thread that gives the lock up on each blocking call waits
 * a whole interval to get it back beside one CPU-bound thread.
 *
 * A lone thread never waits, never signals and never drops: nobody sets the
 * request, and the condition variables are signalled only when someone waits.
 *
 * What is counted, as seen: a time-out is a timed wait that returned
 * ETIMEDOUT; a wake-up is any other return from a wait during which the thread
 * really slept (told by its voluntary context switches: glibc's condvar spins
 * first and may return without sleeping, which counts as `unslept`); it is
 * futile when the lock is still held. A drop request is the bit this waiter set.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "locks/gil.h"
#include "base/panic.h"
#include "trace/trace.h"

static const struct gil_param py32_params[] = {
    {.name = "interval_us", .kind = GIL_PARAM_US, .unit = "us", .def = 5000, .min = 1, .max = 10e6,
     .help = "how long a waiter waits before asking the holder to drop (sys.setswitchinterval)",
     .sweep = "0.1ms 0.3ms 1ms 3ms 5ms 10ms 30ms 50ms"},
    {.name = "force_switching", .kind = GIL_PARAM_BOOL, .unit = "", .def = 1, .min = 0, .max = 1,
     .help = "after a requested drop, wait until another thread has taken the lock"},
};

struct py32 {
    struct gil base;              /* first member; see gil.h. The drop request is the
                                     GIL_BREAKER_DROP bit of base.eval_breaker, set and
                                     cleared only under `mutex` */
    uint64_t interval_ns;         /* immutable after create */
    bool force_switching;         /* immutable after create */

    pthread_mutex_t mutex;        /* guards locked, waiters, the drop request bit */
    pthread_cond_t cond;          /* signalled on release; waiters want !locked */
    bool locked;                  /* mutex */
    int waiters;                  /* mutex: threads inside take's wait loop */
    int last_holder;              /* written under mutex + switch_mutex; read under either */
    uint64_t switch_number;       /* as last_holder: changes of holder since create */

    pthread_mutex_t switch_mutex; /* guards switch_waiters; see last_holder */
    pthread_cond_t switch_cond;   /* signalled on a change of holder; forced droppers
                                     want last_holder != self */
    int switch_waiters;           /* switch_mutex: droppers waiting on switch_cond */
};

static struct py32 *as_py32(struct gil *g) { return (struct py32 *)g; }

static int py32_create(const double *values, struct gil **out)
{
    struct py32 *p = calloc(1, sizeof *p);
    int rc, have_mutex = 0, have_cond = 0, have_smutex = 0;
    if (!p)
        return ENOMEM;
    p->interval_ns = (uint64_t)(values[0] * 1000.0);
    if (p->interval_ns < 1000)
        p->interval_ns = 1000;
    p->force_switching = values[1] != 0;
    p->last_holder = -1;

    if ((rc = pthread_mutex_init(&p->mutex, NULL)) != 0)
        goto fail;
    have_mutex = 1;
    if ((rc = gil_cond_init_monotonic(&p->cond)) != 0)
        goto fail;
    have_cond = 1;
    if ((rc = pthread_mutex_init(&p->switch_mutex, NULL)) != 0)
        goto fail;
    have_smutex = 1;
    if ((rc = gil_cond_init_monotonic(&p->switch_cond)) != 0)
        goto fail;
    *out = &p->base;
    return 0;

fail:
    if (have_smutex)
        PT_CHECK(pthread_mutex_destroy(&p->switch_mutex));
    if (have_cond)
        PT_CHECK(pthread_cond_destroy(&p->cond));
    if (have_mutex)
        PT_CHECK(pthread_mutex_destroy(&p->mutex));
    free(p);
    return rc;
}

static void py32_destroy(struct gil *g)
{
    struct py32 *p = as_py32(g);
    PT_CHECK(pthread_cond_destroy(&p->switch_cond));
    PT_CHECK(pthread_mutex_destroy(&p->switch_mutex));
    PT_CHECK(pthread_cond_destroy(&p->cond));
    PT_CHECK(pthread_mutex_destroy(&p->mutex));
    free(p);
}

static struct timespec deadline_after(uint64_t ns)
{
    uint64_t at = gil_now_ns() + ns;
    struct timespec ts = {.tv_sec = (time_t)(at / 1000000000u), .tv_nsec = (long)(at % 1000000000u)};
    return ts;
}

/* Called with p->mutex held. */
static bool drop_requested(struct py32 *p)
{
    /* relaxed: the bit is set and cleared only under p->mutex, which we hold;
       the mutex orders it, the atomic is only for the holder's lock-free peek. */
    return (atomic_load_explicit(&p->base.eval_breaker, memory_order_relaxed) & GIL_BREAKER_DROP) != 0;
}

static void py32_take(struct gil *g, struct gil_thread *t)
{
    struct py32 *p = as_py32(g);
    PT_CHECK(pthread_mutex_lock(&p->mutex));
    if (p->locked) {
        gil_wait_begin(t);
        p->waiters++;
        while (p->locked) {
            uint64_t saved_switch = p->switch_number;
            struct timespec until = deadline_after(p->interval_ns);
            gil_sleep_begin(t);
            int rc = pthread_cond_timedwait(&p->cond, &p->mutex, &until);
            if (rc != ETIMEDOUT)
                PT_CHECK(rc);
            gil_sleep_done(t, rc == ETIMEDOUT ? GIL_TIMED_OUT : GIL_WOKEN, p->locked);
            /* A whole interval passed and the lock never changed hands. */
            if (rc == ETIMEDOUT && p->locked && p->switch_number == saved_switch && !drop_requested(p)) {
                /* relaxed: see drop_requested(); the holder only has to
                   notice the bit eventually, then takes p->mutex to drop. */
                atomic_fetch_or_explicit(&p->base.eval_breaker, GIL_BREAKER_DROP, memory_order_relaxed);
                t->st.drop_requests++;
                trace_record(t->trace, TRACE_DROP_REQUEST);
            }
        }
        p->waiters--;
    }
    p->locked = true;
    if (p->last_holder != t->id) {
        /* A change of holder: publish it to a forced dropper, which waits
           under switch_mutex alone. Lock order: mutex, then switch_mutex. */
        PT_CHECK(pthread_mutex_lock(&p->switch_mutex));
        p->last_holder = t->id;
        p->switch_number++;
        if (p->switch_waiters > 0)
            PT_CHECK(pthread_cond_signal(&p->switch_cond));
        PT_CHECK(pthread_mutex_unlock(&p->switch_mutex));
    }
    if (drop_requested(p)) {
        /* relaxed: under p->mutex, as for the set. */
        atomic_fetch_and_explicit(&p->base.eval_breaker, ~GIL_BREAKER_DROP, memory_order_relaxed);
    }
    PT_CHECK(pthread_mutex_unlock(&p->mutex));
}

static void py32_drop(struct gil *g, struct gil_thread *t)
{
    struct py32 *p = as_py32(g);
    PT_CHECK(pthread_mutex_lock(&p->mutex));
    p->locked = false;
    /* Set only by a waiter still inside take, which clears it when it gets the
       lock: while it is set, some other thread is bound to take the lock. */
    bool forced = drop_requested(p);
    if (p->waiters > 0)
        PT_CHECK(pthread_cond_signal(&p->cond));
    PT_CHECK(pthread_mutex_unlock(&p->mutex));

    if (forced && p->force_switching) {
        PT_CHECK(pthread_mutex_lock(&p->switch_mutex));
        if (p->last_holder == t->id) {
            gil_wait_begin(t);
            p->switch_waiters++;
            while (p->last_holder == t->id) {
                gil_sleep_begin(t);
                PT_CHECK(pthread_cond_wait(&p->switch_cond, &p->switch_mutex));
                gil_sleep_done(t, GIL_WOKEN, p->last_holder == t->id);
            }
            p->switch_waiters--;
            gil_wait_end(t);
        }
        PT_CHECK(pthread_mutex_unlock(&p->switch_mutex));
    }
}

const struct gil_design gil_design_py32 = {
    .name = "py32",
    .summary = "switch interval: a waiter that timed out asks the holder to drop; forced switch after the drop",
    .models = "CPython 3.2 Python/ceval_gil.h (take_gil/drop_gil), unchanged through 3.12 Python/ceval_gil.c",
    .original = "cpython-3",
    .params = py32_params,
    .nparams = sizeof py32_params / sizeof py32_params[0],
    .create = py32_create,
    .destroy = py32_destroy,
    .take = py32_take,
    .drop = py32_drop,
    .yield = gil_yield_on_drop_request,
};
