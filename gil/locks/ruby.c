/*
 * ruby.c — the GVL of Ruby MRI 2.6 to 3.2: a FIFO queue, a waiter as the timer.
 *
 * Models Ruby 3.1 thread_pthread.c (gvl_acquire_common, gvl_release_common,
 * gvl_yield, do_gvl_timer, designate_timer_thread; 2.6-3.0 are the same code with
 * `vm->gvl`, 3.2 renames it thread_sched_to_running_common / thread_sched_yield)
 * and thread.c (rb_threadptr_execute_interrupts, rb_thread_schedule_limits).
 *
 * Invariant: `owner` is the thread holding the lock, NULL when it is free; it and
 * every other field below are read and written only under `lock` (gvl.lock). A
 * thread that finds the lock owned appends itself to the FIFO `waitq` and waits
 * on its own condition variable until `owner` is NULL. Release sets owner to NULL
 * and signals the head of the queue; a thread arriving while the lock is free
 * takes it at once, ahead of the woken head (barging).
 *
 * The timer: there is no timer thread while threads contend. One waiter is the
 * designated `timer`: instead of a plain wait it waits with a deadline one quantum
 * (100 ms, TIME_QUANTUM_USEC) away, and when that wait returns with the lock still
 * owned it sets the owner's timer interrupt. The deadline is one static value,
 * recomputed only when the previous timer wait timed out or the lock was last
 * taken uncontended (`timer_err`): a waiter that takes the timer role after a
 * wait that was woken early inherits the old deadline ("continue on old timeout").
 * After each acquisition with no timer, the tail of the queue is signalled to
 * take the role (designate_timer_thread).
 *
 * The holder sees its timer interrupt at its next interrupt check: the eval
 * breaker. The interrupt belongs to a thread, as Ruby's per-thread
 * interrupt_flag does; the breaker bit shows it while that thread owns the lock.
 * A thread not alone then yields (the first timer interrupt adds a whole quantum
 * to running_time_us, which meets the limit): release, and if a waiter was
 * signalled set `need_yield` and wait on `switch_cond` until a waiter has taken
 * the lock (it clears need_yield); then queue up again at the tail. A second
 * yielder meanwhile waits on `switch_wait_cond` for the first (`wait_yield`).
 *
 * Fairness: FIFO among waiters but for barging. Starvation: none while holders
 * run bytecode; each holder is interrupted within a quantum of a waiter arriving.
 * The pathology is the convoy effect at a hundred times CPython 3's interval: a
 * thread back from a 1 ms sleep beside one CPU-bound thread waits for the rest of
 * the quantum the timer began ~100 ms earlier, or a fresh one if the CPU thread
 * re-queued after the sleeper's release: 99.1 or 100.2 ms here, in Ruby 3.1.2
 * and in the model alike.
 *
 * Speed of the interpreter: none of this depends on it. Ruby's slice is wall
 * time (a timed wait), and so is the model's; the holder's check is the eval
 * breaker, seen within an instruction or two, as Ruby checks interrupts on every
 * backward branch and call. Left out: the UBF timer and signal delivery
 * (ubf_wakeup_all_threads, sigwait_fd) and thread priorities (limits_us shifted
 * by priority): gillab threads block only in time.sleep and have no priority.
 * Counted: a timer wait that ran out is a time-out; a timer interrupt set (not
 * already pending) is a drop request; a yield because of one is a drop honoured;
 * a real wake (a wait during which the thread slept, not a time-out) that finds
 * the lock owned is a futile wake-up (that includes the tail woken to take the
 * timer role: it too was woken and found the lock owned). A yielder's waits for
 * the hand-over are waits too (gil_wait_begin/gil_wait_end).
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "locks/gil.h"
#include "base/panic.h"
#include "trace/trace.h"

static const struct gil_param ruby_params[] = {
    {.name = "interval_us", .kind = GIL_PARAM_US, .unit = "us", .def = 100000, .min = 100, .max = 10e6,
     .help = "the time quantum: how long the timer waiter waits before interrupting the holder "
             "(TIME_QUANTUM_USEC; RUBY_THREAD_TIMESLICE in 3.4)",
     .sweep = "1ms 3ms 10ms 30ms 100ms 300ms"},
};

/* One per thread (gil_thread.design_data), made by thread_init. */
struct ruby_thread {
    pthread_cond_t gvlq;            /* this thread's own wait (nd->cond.gvlq): signalled to hand
                                       it the lock or the timer role */
    struct ruby_thread *prev, *next;/* lock: links in waitq while queued */
    bool timer_interrupt;           /* lock: the timer interrupted this thread; consumed at
                                       its next check */
    bool yielding;                  /* owner thread only: inside ruby_yield, between its drop
                                       and its take, which then share one hold of `lock` */
};

struct ruby {
    struct gil base;                /* first member; see gil.h. GIL_BREAKER_DROP of
                                       base.eval_breaker shows owner->timer_interrupt;
                                       set and cleared only under `lock` */
    uint64_t quantum_ns;            /* immutable after create */
    pthread_mutex_t lock;           /* gvl.lock: guards every field below */
    struct ruby_thread *owner;      /* lock: gvl.owner; NULL while free */
    struct ruby_thread *head, *tail;/* lock: gvl.waitq, oldest first */
    struct ruby_thread *timer;      /* lock: gvl.timer, the waiter doing the timed wait */
    int timer_err;                  /* lock: gvl.timer_err, how the last timer wait ended */
    uint64_t timer_deadline_ns;     /* lock: do_gvl_timer's static `abs` (CLOCK_MONOTONIC) */
    bool need_yield;                /* lock: a yielder waits until a waiter takes the lock */
    bool wait_yield;                /* lock: a yield is in progress */
    pthread_cond_t switch_cond;     /* yielder waits for !need_yield */
    pthread_cond_t switch_wait_cond;/* a second yielder waits for !wait_yield */
    int living;                     /* lock: threads set up and not yet finished;
                                       rb_thread_alone() is living == 1 */
};

static struct ruby *as_ruby(struct gil *g) { return (struct ruby *)g; }
static struct ruby_thread *rt_of(struct gil_thread *t) { return t->design_data; }

static int ruby_create(const double *values, struct gil **out)
{
    struct ruby *p = calloc(1, sizeof *p);
    int rc, have_lock = 0, have_switch = 0;
    if (!p)
        return ENOMEM;
    p->quantum_ns = (uint64_t)(values[0] * 1000.0);
    p->timer_err = ETIMEDOUT;       /* gvl_init: the first timer starts a fresh quantum */
    if ((rc = pthread_mutex_init(&p->lock, NULL)) != 0)
        goto fail;
    have_lock = 1;
    if ((rc = gil_cond_init_monotonic(&p->switch_cond)) != 0)
        goto fail;
    have_switch = 1;
    if ((rc = gil_cond_init_monotonic(&p->switch_wait_cond)) != 0)
        goto fail;
    *out = &p->base;
    return 0;

fail:
    if (have_switch)
        PT_CHECK(pthread_cond_destroy(&p->switch_cond));
    if (have_lock)
        PT_CHECK(pthread_mutex_destroy(&p->lock));
    free(p);
    return rc;
}

static void ruby_destroy(struct gil *g)
{
    struct ruby *p = as_ruby(g);
    PT_CHECK(pthread_cond_destroy(&p->switch_wait_cond));
    PT_CHECK(pthread_cond_destroy(&p->switch_cond));
    PT_CHECK(pthread_mutex_destroy(&p->lock));
    free(p);
}

static int ruby_thread_init(struct gil *g, struct gil_thread *t)
{
    struct ruby *p = as_ruby(g);
    struct ruby_thread *rt = calloc(1, sizeof *rt);
    int rc;
    if (!rt)
        return ENOMEM;
    if ((rc = gil_cond_init_monotonic(&rt->gvlq)) != 0) {
        free(rt);
        return rc;
    }
    t->design_data = rt;
    PT_CHECK(pthread_mutex_lock(&p->lock));
    p->living++;
    PT_CHECK(pthread_mutex_unlock(&p->lock));
    return 0;
}

static void ruby_thread_fini(struct gil *g, struct gil_thread *t)
{
    struct ruby *p = as_ruby(g);
    struct ruby_thread *rt = rt_of(t);
    PT_CHECK(pthread_mutex_lock(&p->lock));
    PANIC_IF(rt->prev || rt->next || p->head == rt, "ruby: thread %d finishes while queued", t->id);
    p->living--;
    PT_CHECK(pthread_mutex_unlock(&p->lock));
    PT_CHECK(pthread_cond_destroy(&rt->gvlq));
    free(rt);
    t->design_data = NULL;
}

/* ---- with p->lock held --------------------------------------------------------------- */

/* The breaker bit shows the owner's pending timer interrupt. */
static void show_interrupt(struct ruby *p)
{
    /* relaxed: the bit is written only under p->lock, which orders it; the
       atomic exists for the holder's lock-free peek in the eval loop, which
       only has to see it eventually and then re-reads it under p->lock. */
    if (p->owner && p->owner->timer_interrupt)
        atomic_fetch_or_explicit(&p->base.eval_breaker, GIL_BREAKER_DROP, memory_order_relaxed);
    else
        atomic_fetch_and_explicit(&p->base.eval_breaker, ~GIL_BREAKER_DROP, memory_order_relaxed);
}

static void waitq_add_tail(struct ruby *p, struct ruby_thread *rt)
{
    rt->next = NULL;
    rt->prev = p->tail;
    if (p->tail)
        p->tail->next = rt;
    else
        p->head = rt;
    p->tail = rt;
}

static void waitq_del(struct ruby *p, struct ruby_thread *rt)
{
    if (rt->prev)
        rt->prev->next = rt->next;
    else
        p->head = rt->next;
    if (rt->next)
        rt->next->prev = rt->prev;
    else
        p->tail = rt->prev;
    rt->prev = rt->next = NULL;
}

/* do_gvl_timer: be the timer for one timed wait, then interrupt the owner. */
static void do_gvl_timer(struct ruby *p, struct ruby_thread *rt, struct gil_thread *t)
{
    p->timer = rt;
    if (p->timer_err == ETIMEDOUT)
        p->timer_deadline_ns = gil_now_ns() + p->quantum_ns;
    struct timespec until = {.tv_sec = (time_t)(p->timer_deadline_ns / 1000000000u),
                             .tv_nsec = (long)(p->timer_deadline_ns % 1000000000u)};
    gil_sleep_begin(t);
    int rc = pthread_cond_timedwait(&rt->gvlq, &p->lock, &until);
    if (rc != ETIMEDOUT)
        PT_CHECK(rc);
    gil_sleep_done(t, rc == ETIMEDOUT ? GIL_TIMED_OUT : GIL_WOKEN, p->owner != NULL);
    p->timer_err = rc;
    /* Timeslice: whether the wait timed out or was woken, an owner is interrupted. */
    if (p->owner && !p->owner->timer_interrupt) {
        p->owner->timer_interrupt = true;
        show_interrupt(p);
        t->st.drop_requests++;
        trace_record(t->trace, TRACE_DROP_REQUEST);
    }
    p->timer = NULL;
}

/* gvl_acquire_common. */
static void acquire_common(struct ruby *p, struct ruby_thread *rt, struct gil_thread *t)
{
    if (p->owner) {
        gil_wait_begin(t);
        waitq_add_tail(p, rt);
        do {
            if (!p->timer) {
                do_gvl_timer(p, rt, t);
            } else {
                gil_sleep_begin(t);
                PT_CHECK(pthread_cond_wait(&rt->gvlq, &p->lock));
                gil_sleep_done(t, GIL_WOKEN, p->owner != NULL);
            }
        } while (p->owner);
        waitq_del(p, rt);
        if (p->need_yield) {
            p->need_yield = false;
            PT_CHECK(pthread_cond_signal(&p->switch_cond));
        }
    } else {
        p->timer_err = ETIMEDOUT;   /* uncontended: the next timer starts a fresh quantum */
    }
    p->owner = rt;
    show_interrupt(p);
    /* designate_timer_thread: the tail has waited longest for a turn as timer. */
    if (!p->timer && p->tail)
        PT_CHECK(pthread_cond_signal(&p->tail->gvlq));
}

/* gvl_release_common: free the lock and wake the head; returns the head. */
static struct ruby_thread *release_common(struct ruby *p)
{
    p->owner = NULL;
    show_interrupt(p);
    if (p->head)
        PT_CHECK(pthread_cond_signal(&p->head->gvlq));
    return p->head;
}

/* ---- the operations ------------------------------------------------------------------- */

static void ruby_take(struct gil *g, struct gil_thread *t)
{
    struct ruby *p = as_ruby(g);
    struct ruby_thread *rt = rt_of(t);
    if (!rt->yielding)
        PT_CHECK(pthread_mutex_lock(&p->lock));
    acquire_common(p, rt, t);
    rt->yielding = false;
    PT_CHECK(pthread_mutex_unlock(&p->lock));
}

static void ruby_drop(struct gil *g, struct gil_thread *t)
{
    struct ruby *p = as_ruby(g);
    struct ruby_thread *rt = rt_of(t);
    PT_CHECK(pthread_mutex_lock(&p->lock));
    struct ruby_thread *next = release_common(p);
    if (!rt->yielding) {
        PT_CHECK(pthread_mutex_unlock(&p->lock));
        return;
    }
    /* gvl_yield, after its release. The lock stays held on return: ruby_take
       queues this thread at the tail in the same hold, as gvl_yield does. */
    if (p->wait_yield) {
        /* another thread is yielding: let it finish its hand-over first */
        gil_wait_begin(t);
        while (p->wait_yield) {
            gil_sleep_begin(t);
            PT_CHECK(pthread_cond_wait(&p->switch_wait_cond, &p->lock));
            gil_sleep_done(t, GIL_WOKEN, p->wait_yield);
        }
        gil_wait_end(t);
    } else if (next) {
        /* wait until a waiter has taken the lock */
        p->need_yield = true;
        p->wait_yield = true;
        gil_wait_begin(t);
        while (p->need_yield) {
            gil_sleep_begin(t);
            PT_CHECK(pthread_cond_wait(&p->switch_cond, &p->lock));
            gil_sleep_done(t, GIL_WOKEN, p->need_yield);
        }
        gil_wait_end(t);
        p->wait_yield = false;
        PT_CHECK(pthread_cond_broadcast(&p->switch_wait_cond));
    } else {
        PT_CHECK(pthread_mutex_unlock(&p->lock));
        sched_yield();              /* native_thread_yield */
        PT_CHECK(pthread_mutex_lock(&p->lock));
        PT_CHECK(pthread_cond_broadcast(&p->switch_wait_cond));
    }
}

/* The holder's interrupt check (rb_threadptr_execute_interrupts with a timer
   interrupt, then rb_thread_schedule_limits): consume the interrupt and, unless
   alone, yield. */
static void ruby_yield(struct gil *g, struct gil_thread *t)
{
    struct ruby *p = as_ruby(g);
    struct ruby_thread *rt = rt_of(t);
    t->ticks = LONG_MAX;
    /* relaxed: a peek, as RUBY_VM_INTERRUPTED is; re-read under p->lock below. */
    if (!(atomic_load_explicit(&g->eval_breaker, memory_order_relaxed) & GIL_BREAKER_DROP))
        return;
    PT_CHECK(pthread_mutex_lock(&p->lock));
    bool interrupted = rt->timer_interrupt;
    rt->timer_interrupt = false;
    show_interrupt(p);
    bool alone = p->living <= 1;
    PT_CHECK(pthread_mutex_unlock(&p->lock));
    if (!interrupted || alone)
        return;
    t->st.drops_honoured++;
    t->st.yields++;
    rt->yielding = true;
    gil_drop(t);
    gil_take(t);
}

const struct gil_design gil_design_ruby = {
    .name = "ruby",
    .summary = "Ruby's GVL: FIFO queue; one waiter is the timer and interrupts the holder after a "
               "100 ms quantum; the holder hands over and re-queues at the tail",
    .models = "Ruby 3.1 thread_pthread.c (gvl_acquire_common/gvl_release_common/gvl_yield/do_gvl_timer), "
              "same in 2.6-3.2",
    .original = "ruby",
    .params = ruby_params,
    .nparams = sizeof ruby_params / sizeof ruby_params[0],
    .create = ruby_create,
    .destroy = ruby_destroy,
    .thread_init = ruby_thread_init,
    .thread_fini = ruby_thread_fini,
    .take = ruby_take,
    .drop = ruby_drop,
    .yield = ruby_yield,
};
