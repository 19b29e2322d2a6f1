/*
 * trace.h — lock event recording.
 *
 * Each VM thread owns one preallocated buffer; recording an event is a bounds
 * check and three stores into that buffer, with no lock and no allocation. When
 * a buffer is full further events are counted as dropped (never fatal). After all
 * threads are joined the buffers are merged by timestamp and exported as tidy
 * CSV or Chrome trace-event JSON (one track per thread plus a "lock holder"
 * track; Perfetto opens it).
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
    uint64_t t_ns;      /* CLOCK_MONOTONIC */
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
    uint64_t t0_ns;          /* start of the run; exported times are relative to it */
};

#define TRACE_DEFAULT_CAP ((size_t)1 << 20)  /* events per thread */

int trace_init(struct trace *tr, int nthreads, size_t cap_per_thread);
void trace_free(struct trace *tr);
const char *trace_kind_name(enum trace_kind k);

static inline void trace_record(struct trace_buf *b, enum trace_kind k, uint64_t t_ns)
{
    if (!b)
        return;
    if (b->len == b->cap) {
        b->dropped++;
        return;
    }
    struct trace_event *e = &b->ev[b->len++];
    e->t_ns = t_ns;
    e->thread = b->thread;
    e->kind = (uint32_t)k;
}

uint64_t trace_dropped(const struct trace *tr);
/* Export after every thread is joined. Return 0 or an errno value. */
int trace_write_csv(const struct trace *tr, FILE *out);   /* t_ns,thread,event */
int trace_write_json(const struct trace *tr, FILE *out);

#endif
