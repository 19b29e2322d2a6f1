/*
 * py26.c — the check-interval lock of CPython 2.6 and 2.7.
 *
 * Models CPython 2.7 Python/ceval.c (the _Py_Ticker block at the top of the
 * dispatch loop) and Python/thread_pthread.h (PyThread_acquire_lock and
 * PyThread_release_lock: the USE_SEMAPHORES lock, and its mutex + condvar
 * fallback).
 *
 * Invariant: at most one thread holds the lock: in the `sem` variant a counting
 * semaphore that is 1 when free and 0 when held; in the `condvar` variant the
 * flag `locked`, read and written only under `mutex`.
 *
 * Who waits on what: a thread that finds the lock held sleeps on the semaphore,
 * or on `released` for `!locked`. Nobody asks the holder for anything: no
 * request, no hand-off. Every check interval the holder releases and at once
 * asks again, whether or not anyone waits (as in 2.7, the slow path runs when
 * the countdown goes below zero, i.e. every countdown + 1 ticks).
 *
 * Fairness: none; starvation is made unlikely by the scheduler, not excluded. The
 * pathology: on several cores the releaser is running and cache-hot, while the
 * waiter its release woke must first be scheduled; by then the lock is taken
 * again. Each interval can cost a futile wake-up and context switches, so two
 * CPU-bound threads run slower than one doing both jobs (Beazley, 2009-10).
 *
 * The semaphore. 2.7 on Linux uses glibc's sem_wait/sem_post, whose futex waits
 * happen inside glibc: a caller cannot see whether sem_wait slept or how often
 * it was woken. So `sem` is glibc's own algorithm (nptl's new semaphore: one
 * word holding the value and the number of sleepers; post adds one to the
 * value and wakes one sleeper if there are any; wait takes one with a
 * compare-and-swap, else registers as a sleeper and futex-waits while the value
 * is 0), written here on a futex this file calls itself. The lock behaves as
 * the original does, and every sleep and wake-up is seen: a wake-up is a
 * FUTEX_WAIT that returned 0 (woken) or EINTR; one that returned EAGAIN never
 * slept. A wake-up is futile when the thread goes back to sleep before it got
 * the lock. `condvar` waits in pthread_cond_wait, which spins before it
 * sleeps and may return having taken a signal without ever sleeping: such a
 * return is told apart by the thread's voluntary context switches (gil.h,
 * gil_sleep_begin) and counted as `unslept`, not as a wake-up.
 *
 * The interval in wall time. 2.7 counts ticks; gillab's VM runs a tick faster
 * than 2.7 does, so the same number of ticks is a shorter interval. The
 * countdown is check_interval x tick_scale, where tick_scale is how many of the
 * VM's ticks take the time of one of 2.7's on the same workload (measured by
 * `make fidelity` where CPython 2.7 is installed; the default was measured on
 * this project's machine with count.py). Which opcodes tick is 2.7's rule:
 * see the list in gil/vm/eval.c.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/panic.h"
#include "locks/gil.h"
#include "trace/trace.h"

enum py26_lock { PY26_SEM = 0, PY26_CONDVAR = 1 };   /* index into "sem|condvar" */

static const struct gil_param py26_params[] = {
    {.name = "check_interval", .kind = GIL_PARAM_COUNT, .unit = "ticks", .def = 100, .min = 1,
     .max = 1000000, .help = "CPython 2.7 ticks between forced release+re-acquire (sys.setcheckinterval)",
     .sweep = "10 30 100 300 1000 3000 10000"},
    {.name = "tick_scale", .kind = GIL_PARAM_REAL, .unit = "ticks", .def = 1.75, .min = 0.01, .max = 100,
     .help = "the VM's ticks per CPython 2.7 tick of the same wall time (count.py); the countdown is "
             "check_interval x tick_scale"},
    {.name = "lock", .kind = GIL_PARAM_ENUM, .unit = "", .def = PY26_SEM, .choices = "sem|condvar",
     .help = "the lock under the GIL: glibc's semaphore, or the locked flag + mutex + condvar"},
};

/* ---- the semaphore: glibc's algorithm on a futex of our own ---------------------- */

#define FSEM_VALUE_MASK 0xffffffffu
#define FSEM_ONE_WAITER ((uint64_t)1 << 32)

struct fsem {
    /* The value (low half) and the number of registered sleepers (high half)
       in one word, so that a post and a sleeper's registration are ordered by
       the word's own modification order: a post either sees the sleeper and
       wakes it, or the sleeper sees the value and does not sleep. */
    _Atomic uint64_t data;
};

/* The 32-bit half the futex waits on: the value. */
static uint32_t *fsem_futex_word(struct fsem *s)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (uint32_t *)(void *)&s->data;
#else
    return (uint32_t *)(void *)&s->data + 1;
#endif
}

static bool fsem_trywait(struct fsem *s)
{
    /* relaxed: a first look; the CAS below decides. */
    uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);
    while ((d & FSEM_VALUE_MASK) != 0)
        /* acquire: the previous holder's writes (released by its post) are
           visible once we own the lock. */
        if (atomic_compare_exchange_weak_explicit(&s->data, &d, d - 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return true;
    return false;
}

static void fsem_wait(struct fsem *s, struct gil_thread *t)
{
    if (fsem_trywait(s))
        return;
    gil_wait_begin(t);
    /* relaxed: the registration only has to be ordered with posts, which are
       read-modify-writes of the same word (see struct fsem). */
    uint64_t d = atomic_fetch_add_explicit(&s->data, FSEM_ONE_WAITER, memory_order_relaxed);
    bool woken = false;   /* a wake-up not yet known to be useful or futile */
    for (;;) {
        if ((d & FSEM_VALUE_MASK) == 0) {
            if (woken)
                gil_sleep_done(t, GIL_WOKEN, true);   /* woken, found it taken: back to sleep */
            long r = syscall(SYS_futex, fsem_futex_word(s), FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
            PANIC_IF(r != 0 && errno != EAGAIN && errno != EINTR, "futex wait: %s", strerror(errno));
            /* 0: woken by a post; EINTR: by a signal; EAGAIN: the value had
               changed, so this thread never slept. */
            woken = r == 0 || errno == EINTR;
            /* relaxed: re-read; the CAS below decides. */
            d = atomic_load_explicit(&s->data, memory_order_relaxed);
        } else if (atomic_compare_exchange_weak_explicit(&s->data, &d, d - 1 - FSEM_ONE_WAITER,
                                                         memory_order_acquire, memory_order_relaxed)) {
            /* acquire: as in fsem_trywait. The CAS also ends this thread's
               registration as a sleeper. */
            if (woken)
                gil_sleep_done(t, GIL_WOKEN, false);
            return;
        }
    }
}

static void fsem_post(struct fsem *s)
{
    /* release: publishes the holder's writes to the next thread that takes
       the value with an acquire CAS. */
    uint64_t d = atomic_fetch_add_explicit(&s->data, 1, memory_order_release);
    if ((d >> 32) > 0) {
        long r = syscall(SYS_futex, fsem_futex_word(s), FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        PANIC_IF(r < 0, "futex wake: %s", strerror(errno));
    }
}

/* ---- the design ------------------------------------------------------------------ */

struct py26 {
    struct gil base;            /* first member; see gil.h */
    long countdown;             /* immutable after create: check_interval x tick_scale, in ticks */
    enum py26_lock kind;        /* immutable after create */

    /* sem variant */
    struct fsem sem;            /* the lock itself: 1 free, 0 held; atomic */

    /* condvar variant */
    pthread_mutex_t mutex;      /* guards `locked` */
    pthread_cond_t released;    /* signalled after every release; waiters want !locked */
    bool locked;                /* mutex */
};

static struct py26 *as_py26(struct gil *g) { return (struct py26 *)g; }

static int py26_create(const double *values, struct gil **out)
{
    struct py26 *p = calloc(1, sizeof *p);
    int rc;
    if (!p)
        return ENOMEM;
    double ticks = round(values[0] * values[1]);
    /* the range of the two parameters keeps ticks below 1e8 */
    p->countdown = ticks < 1 ? 1 : (long)ticks;
    p->kind = values[2] == PY26_CONDVAR ? PY26_CONDVAR : PY26_SEM;
    atomic_init(&p->sem.data, 1);

    if (p->kind == PY26_CONDVAR) {
        /* The condvar is never waited on with a deadline; the monotonic clock
           is set anyway so that every condvar of the lab runs on one clock. */
        if ((rc = pthread_mutex_init(&p->mutex, NULL)) != 0)
            goto fail;
        if ((rc = gil_cond_init_monotonic(&p->released)) != 0) {
            PT_CHECK(pthread_mutex_destroy(&p->mutex));
            goto fail;
        }
    }
    *out = &p->base;
    return 0;

fail:
    free(p);
    return rc;
}

static void py26_destroy(struct gil *g)
{
    struct py26 *p = as_py26(g);
    if (p->kind == PY26_CONDVAR) {
        PT_CHECK(pthread_cond_destroy(&p->released));
        PT_CHECK(pthread_mutex_destroy(&p->mutex));
    }
    free(p);
}

static void cv_take(struct py26 *p, struct gil_thread *t)
{
    PT_CHECK(pthread_mutex_lock(&p->mutex));
    if (p->locked)
        gil_wait_begin(t);
    while (p->locked) {
        gil_sleep_begin(t);
        PT_CHECK(pthread_cond_wait(&p->released, &p->mutex));
        gil_sleep_done(t, GIL_WOKEN, p->locked);
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
        fsem_wait(&p->sem, t);
    else
        cv_take(p, t);
}

static void py26_drop(struct gil *g, struct gil_thread *t)
{
    struct py26 *p = as_py26(g);
    (void)t;
    if (p->kind == PY26_SEM)
        fsem_post(&p->sem);
    else
        cv_drop(p);
}

/* Every check interval: release and immediately ask again. Through the gil.c
   wrappers, so that releases, acquisitions, switches and trace events count. */
static void py26_yield(struct gil *g, struct gil_thread *t)
{
    t->ticks = as_py26(g)->countdown;
    t->st.yields++;
    gil_drop(t);
    gil_take(t);
}

const struct gil_design gil_design_py26 = {
    .name = "py26",
    .summary = "check interval: every N ticks the holder releases and re-acquires at once; no hand-off",
    .models = "CPython 2.7 Python/ceval.c (_Py_Ticker block) + Python/thread_pthread.h (USE_SEMAPHORES / condvar lock)",
    .original = "cpython-2.7",
    .params = py26_params,
    .nparams = sizeof py26_params / sizeof py26_params[0],
    .create = py26_create,
    .destroy = py26_destroy,
    .take = py26_take,
    .drop = py26_drop,
    .yield = py26_yield,
};
