/*
 * py26.c — the check-interval lock of CPython 2.6 and 2.7.
 *
 * Models CPython 2.7 Python/ceval.c (the _Py_Ticker / _Py_CheckInterval block of
 * the dispatch loop) and Python/thread_pthread.h (PyThread_acquire_lock and
 * PyThread_release_lock: the USE_SEMAPHORES lock and its mutex + condvar fallback).
 *
 * Invariant: at most one thread holds the lock: in the `sem` variant a POSIX
 * semaphore that is 1 when free and 0 when held; in the `condvar` variant the flag
 * `locked`, read and written only under `mutex`.
 *
 * Who waits on what: a thread that finds the lock held sleeps in sem_wait, or on
 * `released` for `!locked`. Nobody asks the holder for anything: no request, no
 * hand-off. Every check_interval ticks the holder releases and at once asks again,
 * whether or not anyone waits (gil_should_yield fires below zero, so as in 2.7 the
 * slow path runs every check_interval + 1 checks).
 *
 * Fairness: none; starvation is made unlikely by the scheduler, not excluded. The
 * pathology: on several cores the releaser is running and cache-hot, while the
 * waiter its release woke must first be scheduled; by then the lock is taken
 * again. Each interval costs a futile wake-up and context switches, so two
 * CPU-bound threads run slower than one doing both jobs (Beazley, 2009-10).
 *
 * Futile wake-ups. condvar: every return from pthread_cond_wait that finds
 * `locked` still set. sem: glibc retries inside sem_wait out of sight, so it is
 * inferred: when a thread releases while others wait and the next thread to take
 * the lock is that same releaser, the waiter the post woke must find it taken.
 * One futile wake-up is then counted in the stats of the releasing (and
 * re-taking) thread. It is an upper bound: a post made while the woken waiter is
 * still on its way back to sleep wakes no one, and the waiter count is a hint.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>

#include "locks/gil.h"
#include "base/panic.h"
#include "trace/trace.h"

enum py26_lock { PY26_SEM = 0, PY26_CONDVAR = 1 };   /* index into "sem|condvar" */

static const struct gil_param py26_params[] = {
    {.name = "check_interval", .kind = GIL_PARAM_COUNT, .unit = "ticks", .def = 100, .min = 1,
     .max = 1000000, .help = "ticks between forced release+re-acquire (sys.setcheckinterval)",
     .sweep = "10 30 100 300 1000 3000 10000"},
    {.name = "lock", .kind = GIL_PARAM_ENUM, .unit = "", .def = PY26_SEM, .choices = "sem|condvar",
     .help = "the lock under the GIL: POSIX semaphore, or the locked flag + mutex + condvar"},
};

struct py26 {
    struct gil base;            /* first member; see gil.h */
    long check_interval;        /* immutable after create */
    enum py26_lock kind;        /* immutable after create */

    /* sem variant */
    sem_t sem;                  /* the lock itself: 1 free, 0 held; sem_* are thread-safe */
    _Atomic int waiters;        /* threads that found the lock held and sleep in sem_wait;
                                   a hint for the futile wake-up estimate only */
    int released_by;            /* the lock (sem): id of the last releaser, -1 at start */
    bool released_with_waiters; /* the lock (sem): did that release see waiters */

    /* condvar variant */
    pthread_mutex_t mutex;      /* guards `locked` */
    pthread_cond_t released;    /* signalled after every release; waiters want !locked */
    bool locked;                /* mutex */
};

static struct py26 *as_py26(struct gil *g) { return (struct py26 *)g; }

static int py26_create(const double *values, struct gil **out)
{
    struct py26 *p = calloc(1, sizeof *p);
    int rc = ENOMEM, have_mutex = 0, have_sem = 0;
    if (!p)
        return ENOMEM;
    p->check_interval = (long)values[0];
    p->kind = values[1] == PY26_CONDVAR ? PY26_CONDVAR : PY26_SEM;
    p->released_by = -1;
    atomic_init(&p->waiters, 0);

    if (p->kind == PY26_SEM) {
        if (sem_init(&p->sem, 0, 1) != 0) {
            rc = errno;
            goto fail;
        }
        have_sem = 1;
    } else {
        /* The condvar is never waited on with a deadline; the monotonic clock
           is set anyway so that every condvar of the lab runs on one clock. */
        if ((rc = pthread_mutex_init(&p->mutex, NULL)) != 0)
            goto fail;
        have_mutex = 1;
        if ((rc = gil_cond_init_monotonic(&p->released)) != 0)
            goto fail;
    }
    *out = &p->base;
    return 0;

fail:
    if (have_mutex)
        PT_CHECK(pthread_mutex_destroy(&p->mutex));
    if (have_sem)
        PANIC_IF(sem_destroy(&p->sem) != 0, "sem_destroy: %s", strerror(errno));
    free(p);
    return rc;
}

static void py26_destroy(struct gil *g)
{
    struct py26 *p = as_py26(g);
    if (p->kind == PY26_SEM) {
        PANIC_IF(sem_destroy(&p->sem) != 0, "sem_destroy: %s", strerror(errno));
    } else {
        PT_CHECK(pthread_cond_destroy(&p->released));
        PT_CHECK(pthread_mutex_destroy(&p->mutex));
    }
    free(p);
}

static void sem_take(struct py26 *p, struct gil_thread *t)
{
    if (sem_trywait(&p->sem) != 0) {
        PANIC_IF(errno != EAGAIN && errno != EINTR, "sem_trywait: %s", strerror(errno));
        /* relaxed: the count is only a hint read by a releaser for a statistic;
           no data is published through it (the semaphore orders the lock's data). */
        atomic_fetch_add_explicit(&p->waiters, 1, memory_order_relaxed);
        while (sem_wait(&p->sem) != 0)
            PANIC_IF(errno != EINTR, "sem_wait: %s", strerror(errno));
        /* relaxed: as above. */
        atomic_fetch_sub_explicit(&p->waiters, 1, memory_order_relaxed);
    }
    /* We hold the semaphore: sem_post -> sem_wait orders the releaser's writes of
       released_by / released_with_waiters before these reads. */
    if (p->released_by == t->id && p->released_with_waiters) {
        t->st.futile_wakeups++;
        trace_record(t->trace, TRACE_FUTILE_WAKEUP, gil_now_ns());
    }
}

static void sem_drop(struct py26 *p, struct gil_thread *t)
{
    p->released_by = t->id;
    /* relaxed: a hint for the estimate; see struct py26. */
    p->released_with_waiters = atomic_load_explicit(&p->waiters, memory_order_relaxed) > 0;
    PANIC_IF(sem_post(&p->sem) != 0, "sem_post: %s", strerror(errno));
}

static void cv_take(struct py26 *p, struct gil_thread *t)
{
    PT_CHECK(pthread_mutex_lock(&p->mutex));
    while (p->locked) {
        PT_CHECK(pthread_cond_wait(&p->released, &p->mutex));
        if (p->locked) {
            t->st.futile_wakeups++;
            trace_record(t->trace, TRACE_FUTILE_WAKEUP, gil_now_ns());
        }
    }
    p->locked = true;
    PT_CHECK(pthread_mutex_unlock(&p->mutex));
}

static void cv_drop(struct py26 *p)
{
    PT_CHECK(pthread_mutex_lock(&p->mutex));
    p->locked = false;
    PT_CHECK(pthread_mutex_unlock(&p->mutex));
    /* Signalled after the unlock and whether or not anyone waits, as 2.x does:
       the woken thread then races the releaser for the mutex. */
    PT_CHECK(pthread_cond_signal(&p->released));
}

static void py26_take(struct gil *g, struct gil_thread *t)
{
    struct py26 *p = as_py26(g);
    if (p->kind == PY26_SEM)
        sem_take(p, t);
    else
        cv_take(p, t);
}

static void py26_drop(struct gil *g, struct gil_thread *t)
{
    struct py26 *p = as_py26(g);
    if (p->kind == PY26_SEM)
        sem_drop(p, t);
    else
        cv_drop(p);
}

/* Every check interval: release and immediately ask again. Through the gil.c
   wrappers, so that releases, acquisitions, switches and trace events count. */
static void py26_yield(struct gil *g, struct gil_thread *t)
{
    t->ticks = as_py26(g)->check_interval;
    t->st.yields++;
    gil_drop(t);
    gil_take(t);
}

const struct gil_design gil_design_py26 = {
    .name = "py26",
    .summary = "check interval: every N ticks the holder releases and re-acquires at once; no hand-off",
    .models = "CPython 2.7 Python/ceval.c (_Py_Ticker block) + Python/thread_pthread.h (USE_SEMAPHORES / condvar lock)",
    .params = py26_params,
    .nparams = sizeof py26_params / sizeof py26_params[0],
    .create = py26_create,
    .destroy = py26_destroy,
    .take = py26_take,
    .drop = py26_drop,
    .yield = py26_yield,
};
