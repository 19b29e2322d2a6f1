/*
 * trace.h — lock event recording.
 *
 * Each VM thread owns one preallocated buffer; recording an event is one read of
 * the trace clock, a bounds check and three stores into that buffer, with no
 * lock and no allocation. When a buffer is full further events are counted as
 * dropped (never fatal). After all threads are joined the buffers are merged by
 * timestamp and exported as tidy CSV or Chrome trace-event JSON (one track per
 * thread plus a "lock holder" track; Perfetto opens it).
 *
 * The trace clock is the cheapest monotonic counter the machine has: the time
 * stamp counter on x86-64 (rdtsc, invariant on every CPU this lab targets),
 * the virtual counter on AArch64, CLOCK_MONOTONIC elsewhere. It is read raw
 * while threads run and turned into nanoseconds at export, from two readings
 * of both clocks (trace_init and trace_stop) that bracket the run.
 */
#ifndef TRACE_H
#define TRACE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define TRACE_EVENTS(X)                                                        \
    X(TRACE_REQUEST, "request")             /* asked for the lock */           \
    X(TRACE_ACQUIRE, "acquire")             /* got it */                       \
    X(TRACE_RELEASE, "release")             /* gave it up */                   \
    X(TRACE_DROP_REQUEST, "drop_request")   /* a waiter asked the holder to drop */ \
    X(TRACE_TIMEOUT, "timeout")             /* a timed wait ran out */         \
    X(TRACE_FUTILE_WAKEUP, "futile_wakeup") /* woken, lock still taken */      \
    X(TRACE_BLOCK_ENTER, "block_enter")     /* entered a blocking call */      \
    X(TRACE_BLOCK_EXIT, "block_exit")       /* left it */

enum trace_kind {
#define TRACE_ENUM(id, name) id,
    TRACE_EVENTS(TRACE_ENUM)
#undef TRACE_ENUM
    TRACE_NKINDS
};

struct trace_event {
    uint64_t t;         /* trace clock (trace_clock()); nanoseconds after export */
    uint32_t thread;    /* gil_thread id */
    uint32_t kind;      /* enum trace_kind */
};

struct trace_buf {
    struct trace_event *ev;  /* owner thread writes; read after join */
    size_t len, cap;         /* owner thread only */
    uint64_t dropped;        /* owner thread only: events that did not fit */
    uint32_t thread;         /* immutable: thread id stamped on each event */
};

/* A set of per-thread buffers for one run. */
struct trace {
    struct trace_buf *bufs;
    int nthreads;
    uint64_t t0_ns;          /* start of the run (CLOCK_MONOTONIC); exported times are relative to it */
    uint64_t clock0, ns0;    /* trace clock and CLOCK_MONOTONIC read together at trace_init */
    uint64_t clock1, ns1;    /* ... and at trace_stop; 0: not stopped yet */
};

#define TRACE_DEFAULT_CAP ((size_t)1 << 20)  /* events per thread */

int trace_init(struct trace *tr, int nthreads, size_t cap_per_thread);
void trace_free(struct trace *tr);
const char *trace_kind_name(enum trace_kind k);

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
static inline uint64_t trace_clock(void) { return __rdtsc(); }
#elif defined(__aarch64__)
static inline uint64_t trace_clock(void)
{
    uint64_t v;
    __asm__ volatile("mrs %0, cntvct_el0" : "=r"(v));
    return v;
}
#else
#include <time.h>
static inline uint64_t trace_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}
#endif

/* Record an event stamped t (a trace_clock() reading). */
static inline void trace_record_at(struct trace_buf *b, enum trace_kind k, uint64_t t)
{
    if (b->len == b->cap) {
        b->dropped++;
        return;
    }
    struct trace_event *e = &b->ev[b->len++];
    e->t = t;
    e->thread = b->thread;
    e->kind = (uint32_t)k;
}

/* Record an event stamped now; b NULL: tracing is off. */
static inline void trace_record(struct trace_buf *b, enum trace_kind k)
{
    if (b)
        trace_record_at(b, k, trace_clock());
}

uint64_t trace_dropped(const struct trace *tr);
/* After the run: read both clocks again and turn every event's stamp into
   CLOCK_MONOTONIC nanoseconds. Call once, after every recording thread is
   joined and before exporting. */
void trace_stop(struct trace *tr);
/* Export after every thread is joined (and, for stamps from trace_clock(),
   after trace_stop): the stamps are read as nanoseconds. Return 0 or an errno
   value. */
#define TRACE_CSV_HEADER "t_ns,thread,event\n"
int trace_write_csv(const struct trace *tr, FILE *out);   /* TRACE_CSV_HEADER, then events */
int trace_write_json(const struct trace *tr, FILE *out);

#endif
