/*
 * gil.h — the one small interface between the eval loop and a lock design.
 *
 * A design is one file in gil/locks/ that exports one `struct gil_design` (an
 * operations table plus its parameter list) and is named in the registry
 * (gil/locks/registry.c). The VM never names a design: it holds a `struct gil *`
 * and a per-thread `struct gil_thread`, and calls only the gil_* functions below.
 *
 * The eval loop's cost per instruction is the inline gil_should_yield(): one
 * decrement of a thread-private tick countdown and one relaxed atomic load of the
 * eval breaker. Everything else is the slow path, gil_yield(), which calls the
 * active design.
 */
#ifndef GIL_H
#define GIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct gil;
struct gil_thread;
struct trace_buf;

/* ---- parameters ------------------------------------------------------------ */

enum gil_param_kind {
    GIL_PARAM_COUNT,    /* a whole number: "100" */
    GIL_PARAM_US,       /* a duration, canonical unit microseconds: "5ms", "250us", "0.1ms", "5000" */
    GIL_PARAM_BOOL,     /* on|off|true|false|1|0 */
    GIL_PARAM_ENUM,     /* one of `choices`, stored as its index */
};

struct gil_param {
    const char *name;          /* as on the command line and in the CSV, e.g. "check_interval" */
    enum gil_param_kind kind;
    double def;                /* default, in the canonical unit (enum: index) */
    double min, max;           /* accepted range, canonical unit (ignored for BOOL/ENUM) */
    const char *choices;       /* ENUM only: "sem|condvar" */
    const char *help;          /* one line */
};

#define GIL_MAX_PARAMS 8

/* ---- per-thread statistics --------------------------------------------------- */

/* Written only by the owning thread while it runs; read by others after join. */
struct gil_stats {
    uint64_t acquisitions;    /* times this thread took the lock */
    uint64_t releases;        /* times it gave the lock up */
    uint64_t switches;        /* acquisitions where the previous holder was another thread */
    uint64_t futile_wakeups;  /* woken while waiting, found the lock taken, waited again */
    uint64_t timeouts;        /* timed waits that ran out */
    uint64_t drop_requests;   /* drop requests this thread made (as a waiter) */
    uint64_t drops_honoured;  /* drops this thread made because of a request (as holder) */
    uint64_t yields;          /* slow-path checks that released and re-took the lock */
    uint64_t blocks;          /* blocking regions entered (time.sleep ...) */
    uint64_t wait_ns;         /* total time between asking for the lock and getting it */
    uint64_t wait_max_ns;     /* worst single wait */
    uint64_t hold_ns;         /* total time holding the lock */
};

/* ---- per-thread lock state --------------------------------------------------- */

struct gil_thread {
    struct gil *gil;            /* the lock this thread uses; set by gil_thread_init */
    int id;                     /* 0..n-1, stable for the run; set by gil_thread_init */
    long ticks;                 /* countdown to the next slow-path check; owner thread only */
    _Atomic int *breaker;       /* == &gil->eval_breaker; the pointer itself is immutable */
    bool holding;               /* owner thread only: does this thread hold the lock now */
    uint64_t hold_start_ns;     /* owner thread only: when the current hold began */
    struct gil_stats st;        /* owner thread only while running */
    struct trace_buf *trace;    /* owner thread only; NULL when tracing is off */
    void *design_data;          /* design-private per-thread data, or NULL */
};

/* ---- the operations table ----------------------------------------------------- */

struct gil_design {
    const char *name;           /* --gil NAME */
    const char *summary;        /* one line for `gillab designs` */
    const char *models;         /* the original, e.g. "CPython 3.2 Python/ceval_gil.h" */
    const struct gil_param *params;
    size_t nparams;
    /* true when the design gives no mutual exclusion: the VM must then make its
       shared state safe itself (atomic refcounts, per-object locks). */
    bool free_threaded;

    /* Make a lock. `values` holds one canonical value per entry of `params`.
       Returns 0 or an errno value; on failure *out is untouched. */
    int (*create)(const double *values, struct gil **out);
    void (*destroy)(struct gil *g);
    /* Per-thread set-up/tear-down (optional, may be NULL): called before the
       thread's first take and after its last drop. */
    int (*thread_init)(struct gil *g, struct gil_thread *t);
    void (*thread_fini)(struct gil *g, struct gil_thread *t);
    /* Block until t holds the lock / give it up. */
    void (*take)(struct gil *g, struct gil_thread *t);
    void (*drop)(struct gil *g, struct gil_thread *t);
    /* The eval loop's slow path: the tick countdown ran out or the eval breaker
       is set. The design may drop and re-take the lock here. It must reset
       t->ticks to the countdown it wants next. */
    void (*yield)(struct gil *g, struct gil_thread *t);
};

/* Every design's lock starts with this header (first member), so common code
   can reach the eval breaker and the design without knowing the rest. */
struct gil {
    const struct gil_design *design;   /* immutable after create */
    /* Non-zero asks the running thread to enter the slow path. Written by
       waiters (py32 drop request) and read by the holder on every instruction
       with a relaxed load: the load only has to notice the flag eventually;
       the state it guards is re-read under the design's own mutex. */
    _Atomic int eval_breaker;          /* bits: GIL_BREAKER_* below */
    double values[GIL_MAX_PARAMS];     /* immutable after create: parameter values */
    /* Immutable after create: what the VM must do for itself. */
    enum gil_vm_safety {
        GIL_VM_SERIAL = 0,      /* the lock serialises bytecode: plain refcounts suffice */
        GIL_VM_ATOMIC = 1,      /* no exclusion: atomic refcounts, per-object locks */
        GIL_VM_UNSAFE = 2,      /* no exclusion and plain refcounts: deliberately racy,
                                   for the race exercise that shows what the GIL prevents */
    } vm_safety;
    /* Id of the last thread that took the lock, -1 before the first take. Read
       and written only by the holder, so the lock protects it (serial designs
       only; see gil.c). */
    int last_holder;
};

/* Bits of struct gil's eval_breaker. */
#define GIL_BREAKER_DROP 0x1   /* a waiter asks the holder to drop the lock (py32, fifo) */

/* ---- registry and parameters (registry.c) ------------------------------------ */

/* NULL-terminated list of every design. */
extern const struct gil_design *const gil_designs[];
const struct gil_design *gil_design_find(const char *name);
/* "py26, py32, none" into buf. */
void gil_design_names(char *buf, size_t cap);
/* What `gillab designs` prints: each design, its summary, its original, and
   each parameter with default, unit, allowed values and help. */
void gil_designs_describe(FILE *out);

/* Parse "name=value" for design d into values[] (which must already hold the
   defaults, see gil_params_defaults). On error returns -1 and writes a message
   naming the parameter and the allowed names/values into err. Accepts the
   parameter's name or, for a unit-suffixed name like "interval_us", its stem
   ("interval=5ms"). */
int gil_param_set(const struct gil_design *d, double *values, const char *assignment,
                  char *err, size_t errcap);
void gil_params_defaults(const struct gil_design *d, double *values);
/* Format one value the way `--set` accepts it ("5ms", "100", "on", "condvar"). */
void gil_param_format(const struct gil_param *p, double value, char *buf, size_t cap);
/* The value to print in the CSV column of p: canonical unit, no suffix. */
void gil_param_format_csv(const struct gil_param *p, double value, char *buf, size_t cap);

/* ---- the calls the VM and the runner make --------------------------------------- */

/* Make a lock of design d with the given values (NULL: defaults). */
int gil_new(const struct gil_design *d, const double *values, struct gil **out);
void gil_free(struct gil *g);
int gil_thread_init(struct gil *g, struct gil_thread *t, int id, struct trace_buf *trace);
void gil_thread_fini(struct gil_thread *t);

void gil_take(struct gil_thread *t);
void gil_drop(struct gil_thread *t);
/* Around a blocking call (Py_BEGIN/END_ALLOW_THREADS): drop, then take again. */
void gil_block_enter(struct gil_thread *t);
void gil_block_leave(struct gil_thread *t);
/* The eval loop's slow path. */
void gil_yield(struct gil_thread *t);
/* A ready-made `yield` operation for designs driven by the drop request in the
   eval breaker (py32, fifo): the tick countdown never fires, and when a waiter
   has asked, the holder drops the lock and queues up for it again. */
void gil_yield_on_drop_request(struct gil *g, struct gil_thread *t);

/* The eval loop's per-instruction check: hot, inline, no calls. */
static inline bool gil_should_yield(struct gil_thread *t)
{
    /* relaxed: see struct gil's eval_breaker; a late sighting costs one more
       instruction, never correctness. */
    return --t->ticks < 0 || atomic_load_explicit(t->breaker, memory_order_relaxed) != 0;
}

/* Initialise a condition variable whose timed waits use CLOCK_MONOTONIC, as
   every condvar of the lab does. Returns 0 or an errno value. */
int gil_cond_init_monotonic(pthread_cond_t *c);

/* Sum b into a. */
void gil_stats_add(struct gil_stats *a, const struct gil_stats *b);
/* A monotonic clock in ns (CLOCK_MONOTONIC). */
uint64_t gil_now_ns(void);

#endif
