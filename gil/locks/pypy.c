/*
 * pypy.c — PyPy's GIL: a word taken by one compare-and-swap, a stealer behind it.
 *
 * Models PyPy 7.3 rpython/translator/c/src/thread_gil.c (RPyGilAcquireSlowPath,
 * RPyGilYieldThread), threadlocal.h (_rpygil_acquire_fast_path, _RPyGilRelease),
 * thread_pthread.c (mutex1_t, mutex2_t, mutex2_lock_timeout) and the periodic
 * GILReleaseAction of pypy/module/thread/gil.py.
 *
 * Invariant: the GIL is two locks, and a thread holds it when both are locked:
 * the word `fastgil` (0 free, else the holder's id + 1) and `m2` (mutex_gil: the
 * flag m2_locked under m2_mut), which the fast path never unlocks. The two are
 * never both unlocked. Release around a blocking call is one store of 0 to the
 * word; taking it back is one compare-and-swap 0 -> id, and only a failed swap
 * goes on to the slow path.
 *
 * Who waits on what: the slow path counts itself in `waiting`, polls the word for
 * a short burst (40 to 400 pause-and-look tries, the count varied from call to
 * call; it stops early when `waiting` changes), then queues for the `stealer`
 * mutex: one stealer at a time, the others asleep behind it. The stealer
 * alternates a swap on the word with a 0.1 ms timed wait on m2_cond for
 * !m2_locked (absolute CLOCK_MONOTONIC deadline), until one of the two succeeds.
 * A waiter that wins the word during its burst unlocks m2 and queues anyway, so
 * the sleeping stealer goes first. The periodic yield of the holder, only when
 * `waiting` > 0: unlock m2 while keeping the word (the stealer wakes and takes
 * it, writing its own id), then go through the slow path like any waiter.
 *
 * Fairness: roughly FIFO behind the stealer mutex, but a blocking call's release
 * is a free-for-all: whoever swaps first, often the releaser itself a moment
 * later. A stealer polls every 0.1 ms, so a thread blocked on I/O is back within
 * a poll of the word being free, and beside a CPU-bound thread within one yield
 * interval. The price is ~10,000 timed waits a second from any stealer: voluntary
 * context switches, not futile wake-ups (the waits run out; nobody signals).
 *
 * Speed of the interpreter: PyPy's yield comes every `checkinterval` ticks of
 * its action counter (10000 x 100; PyPy3 maps sys.setswitchinterval(0.005) to
 * 10000), which JIT-compiled loops decrement by trace_length / 32 (at least 1,
 * at most 100) per iteration (pypy/module/pypyjit/interp_jit.py). On a tight
 * countdown loop that is one yield per million iterations, about 0.65 ms of
 * PyPy 7.3.11's machine code on this project's machine, where gillab's VM would need tens of milliseconds for
 * as many ticks. The model keeps the wall time instead: `interval_us` of holding
 * (the counter runs only while the holder runs bytecode, so time released in a
 * blocking call does not count). The holder reads the clock every
 * PYPY_CHECK_TICKS ticks, its stand-in for the per-iteration decrement. The
 * 0.1 ms stealer wait and the poll burst are wall time and kept as they are.
 * (Measured: PyPy 7.3.11 runs count.py's loop at 0.63 ns an iteration here, and
 * the lateness of convoy.py's I/O thread against its sleep length is a sawtooth
 * with a period of ~0.67 ms: the yield period, since waiter and holder lock into
 * phase. The model at 0.65 ms gives the same sawtooth, within ~40 us for
 * sleeps of 1.0 to 1.3 ms.)
 *
 * Counted: a timed wait that ran out is a time-out; a wait during which the
 * stealer really slept and that was woken is a wake-up, futile when it then
 * found both locks still taken; a periodic yield that released m2 is a yield.
 * Nobody asks the holder for anything: no drop requests.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "locks/gil.h"
#include "base/panic.h"
#include "trace/trace.h"

static const struct gil_param pypy_params[] = {
    {.name = "interval_us", .kind = GIL_PARAM_US, .unit = "us", .def = 650, .min = 10, .max = 10e6,
     .help = "holding time between periodic yields to a waiting stealer (PyPy's checkinterval "
             "10000: ~0.65 ms of its JIT-compiled countdown loop)",
     .sweep = "0.1ms 0.3ms 0.65ms 1ms 3ms 10ms"},
};

#define PYPY_CHECK_TICKS 1000         /* ticks between the holder's looks at the clock */
#define PYPY_STEAL_WAIT_NS 100000     /* mutex2_lock_timeout(&mutex_gil, 0.0001) */
#define PYPY_POKE_MIN 40              /* RPY_GIL_POKE_MIN */
#define PYPY_POKE_MAX 400             /* RPY_GIL_POKE_MAX */

struct pypy {
    struct gil base;                  /* first member; see gil.h (eval_breaker unused) */
    uint64_t interval_ns;             /* immutable after create */

    _Atomic long fastgil;             /* rpy_fastgil: 0 free, else holder id + 1 */
    _Atomic long waiting;             /* rpy_waiting_threads: threads in the slow path */
    _Atomic int early_poll_n;         /* rpy_early_poll_n: the burst length's running seed */
    pthread_mutex_t stealer;          /* mutex_gil_stealer: held by the one stealer */
    pthread_mutex_t m2_mut;           /* mutex_gil's mutex: guards m2_locked */
    pthread_cond_t m2_cond;           /* signalled when m2 is unlocked; the stealer wants !m2_locked */
    bool m2_locked;                   /* m2_mut: mutex_gil's flag */

    /* The action counter, as wall time; the GIL protects these (only the holder
       touches them; release/acquire on the word or m2_mut orders holders). */
    uint64_t ticker_deadline_ns;      /* GIL: when the holder's counter runs out */
    uint64_t ticker_left_ns;          /* GIL: what was left of it at the last release */
    bool yielding;                    /* GIL: the holder's next drop is a periodic yield */
};

static struct pypy *as_pypy(struct gil *g) { return (struct pypy *)g; }

static int pypy_create(const double *values, struct gil **out)
{
    struct pypy *p = calloc(1, sizeof *p);
    int rc, have_stealer = 0, have_m2 = 0;
    if (!p)
        return ENOMEM;
    p->interval_ns = (uint64_t)(values[0] * 1000.0);
    p->ticker_left_ns = p->interval_ns;
    atomic_init(&p->fastgil, 0);
    atomic_init(&p->waiting, 0);
    atomic_init(&p->early_poll_n, 0);
    p->m2_locked = true;              /* mutex2_init_locked: the GIL starts free by its word */
    if ((rc = pthread_mutex_init(&p->stealer, NULL)) != 0)
        goto fail;
    have_stealer = 1;
    if ((rc = pthread_mutex_init(&p->m2_mut, NULL)) != 0)
        goto fail;
    have_m2 = 1;
    if ((rc = gil_cond_init_monotonic(&p->m2_cond)) != 0)
        goto fail;
    *out = &p->base;
    return 0;

fail:
    if (have_m2)
        PT_CHECK(pthread_mutex_destroy(&p->m2_mut));
    if (have_stealer)
        PT_CHECK(pthread_mutex_destroy(&p->stealer));
    free(p);
    return rc;
}

static void pypy_destroy(struct gil *g)
{
    struct pypy *p = as_pypy(g);
    PT_CHECK(pthread_cond_destroy(&p->m2_cond));
    PT_CHECK(pthread_mutex_destroy(&p->m2_mut));
    PT_CHECK(pthread_mutex_destroy(&p->stealer));
    free(p);
}

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();           /* RPy_YieldProcessor */
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* _rpygil_acquire_fast_path: one compare-and-swap 0 -> me. */
static bool swap_in(struct pypy *p, long me)
{
    long expected = 0;
    /* acquire on success: pairs with the release store of the last holder's
       drop, so everything it did under the GIL happens before our hold.
       relaxed on failure: nothing was read that we act on. */
    return atomic_compare_exchange_strong_explicit(&p->fastgil, &expected, me, memory_order_acquire,
                                                   memory_order_relaxed);
}

static bool word_free(struct pypy *p)
{
    /* relaxed: a look before the swap, which is what orders (RPY_FASTGIL_LOCKED). */
    return atomic_load_explicit(&p->fastgil, memory_order_relaxed) == 0;
}

/* mutex2_unlock: the holder lets the stealer have the GIL by its second lock. */
static void m2_unlock(struct pypy *p)
{
    PT_CHECK(pthread_mutex_lock(&p->m2_mut));
    p->m2_locked = false;
    PT_CHECK(pthread_mutex_unlock(&p->m2_mut));
    PT_CHECK(pthread_cond_signal(&p->m2_cond));
}

/* RPyGilAcquireSlowPath. */
static void slow_path(struct pypy *p, struct gil_thread *t, long me)
{
    gil_wait_begin(t);
    /* relaxed: a count for the holder's "does anyone wait" and for the burst's
       "did anyone come or go"; both are hints, and no data is published
       through it (the stealer's 0.1 ms polls bound any wait it misleads). */
    long mine = atomic_fetch_add_explicit(&p->waiting, 1, memory_order_relaxed) + 1;

    /* The poll burst, its length varied by a shared seed. relaxed: as the
       original's unsynchronised int, a lost update only repeats a length. */
    int n = atomic_load_explicit(&p->early_poll_n, memory_order_relaxed) * 2 + 1;
    while (n >= PYPY_POKE_MAX)
        n -= PYPY_POKE_MAX - PYPY_POKE_MIN;
    atomic_store_explicit(&p->early_poll_n, n, memory_order_relaxed);
    while (n >= 0) {
        n--;
        /* relaxed: see above */
        if (atomic_load_explicit(&p->waiting, memory_order_relaxed) != mine)
            break;
        cpu_relax();
        if (word_free(p) && swap_in(p, me)) {
            /* Won the word before queueing: hand m2 to a sleeping stealer and
               queue anyway, for fairness (falls through if nobody waits). */
            m2_unlock(p);
            break;
        }
    }

    PT_CHECK(pthread_mutex_lock(&p->stealer));
    PT_CHECK(pthread_mutex_lock(&p->m2_mut));             /* mutex2_loop_start */
    bool woken = false;   /* the last wait was woken: useful or futile is told below */
    for (;;) {
        if (word_free(p) && swap_in(p, me))                /* point 8.A */
            break;
        if (p->m2_locked) {                                /* point 8.B: mutex2_lock_timeout */
            if (woken) {   /* woken, found both locks taken: back to sleep */
                gil_sleep_done(t, GIL_WOKEN, true);
                woken = false;
            }
            uint64_t at = gil_now_ns() + PYPY_STEAL_WAIT_NS;
            struct timespec until = {.tv_sec = (time_t)(at / 1000000000u), .tv_nsec = (long)(at % 1000000000u)};
            gil_sleep_begin(t);
            int rc = pthread_cond_timedwait(&p->m2_cond, &p->m2_mut, &until);
            if (rc == ETIMEDOUT) {
                gil_sleep_done(t, GIL_TIMED_OUT, false);
            } else {
                PT_CHECK(rc);
                woken = true;
            }
        }
        if (!p->m2_locked) {
            p->m2_locked = true;
            /* relaxed: the word goes from one holder's id to ours, never
               through 0, so no swap can succeed on it; the hand-over itself is
               ordered by m2_mut. */
            atomic_store_explicit(&p->fastgil, me, memory_order_relaxed);
            break;
        }
    }
    if (woken)
        gil_sleep_done(t, GIL_WOKEN, false);   /* the wake-up that got it */
    /* relaxed: see the increment */
    atomic_fetch_sub_explicit(&p->waiting, 1, memory_order_relaxed);
    PT_CHECK(pthread_mutex_unlock(&p->m2_mut));           /* mutex2_loop_stop */
    PT_CHECK(pthread_mutex_unlock(&p->stealer));
}

static void pypy_take(struct gil *g, struct gil_thread *t)
{
    struct pypy *p = as_pypy(g);
    long me = (long)t->id + 1;
    /* _RPyGilAcquire; after a periodic yield the word still holds our own id,
       so the swap fails and we queue like any waiter, as RPyGilYieldThread does. */
    if (!swap_in(p, me))
        slow_path(p, t, me);
    p->ticker_deadline_ns = gil_now_ns() + p->ticker_left_ns;
}

static void pypy_drop(struct gil *g, struct gil_thread *t)
{
    struct pypy *p = as_pypy(g);
    (void)t;
    uint64_t now = gil_now_ns();
    p->ticker_left_ns = p->ticker_deadline_ns > now ? p->ticker_deadline_ns - now : 0;
    if (p->yielding) {
        p->yielding = false;
        m2_unlock(p);                 /* RPyGilYieldThread: keep the word, free m2 */
    } else {
        /* _RPyGilRelease. release: publishes everything done under the GIL to
           the next holder, whose swap acquires. */
        atomic_store_explicit(&p->fastgil, 0, memory_order_release);
    }
}

/* The action counter ran out (a look at the clock every PYPY_CHECK_TICKS
   ticks): reset it, then RPyGilYieldThread if anyone waits. */
static void pypy_yield(struct gil *g, struct gil_thread *t)
{
    struct pypy *p = as_pypy(g);
    t->ticks = PYPY_CHECK_TICKS;
    uint64_t now = gil_now_ns();
    if (now < p->ticker_deadline_ns)
        return;
    p->ticker_deadline_ns = now + p->interval_ns;
    /* relaxed: see slow_path; a waiter we miss is seen one interval later. */
    if (atomic_load_explicit(&p->waiting, memory_order_relaxed) <= 0)
        return;
    t->st.yields++;
    p->yielding = true;
    gil_drop(t);
    gil_take(t);
}

const struct gil_design gil_design_pypy = {
    .name = "pypy",
    .summary = "PyPy's GIL: one compare-and-swap on a word; a polling burst, then one stealer "
               "that retries every 0.1 ms; periodic yield to the stealer only when someone waits",
    .models = "PyPy 7.3 rpython/translator/c/src/thread_gil.c (RPyGilAcquireSlowPath/RPyGilYieldThread) "
              "+ thread_pthread.c mutex2_t",
    .original = "pypy",
    .params = pypy_params,
    .nparams = sizeof pypy_params / sizeof pypy_params[0],
    .create = pypy_create,
    .destroy = pypy_destroy,
    .take = pypy_take,
    .drop = pypy_drop,
    .yield = pypy_yield,
};
