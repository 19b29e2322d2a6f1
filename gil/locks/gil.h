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
    GIL_PARAM_REAL,     /* a number: "1.75" */
    GIL_PARAM_US,       /* a duration, canonical unit microseconds: "5ms", "250us", "0.1ms", "5000" */
    GIL_PARAM_BOOL,     /* on|off|true|false|1|0 */
    GIL_PARAM_ENUM,     /* one of `choices`, stored as its index */
};

struct gil_param {
    const char *name;          /* as on the command line and as its CSV column, e.g. "check_interval" */
    enum gil_param_kind kind;
    const char *unit;          /* what a value counts, for people: "ticks", "us", "" */
    double def;                /* default, in the canonical unit (enum: index) */
    double min, max;           /* accepted range, canonical unit (ignored for BOOL/ENUM) */
    /* (gil_param_numeric(p) tells whether a kind has a range.) */
    const char *choices;       /* ENUM only: "sem|condvar" */
    const char *help;          /* one line */
    /* The design's main knob: the values `make sweep` runs it over, as --set
       takes them ("10 30 100"); NULL for the other parameters. */
    const char *sweep;
};

#define GIL_MAX_PARAMS 8

/* ---- per-thread statistics --------------------------------------------------- */

/* How a counter is combined over threads and shown. */
enum gil_stat_kind {
    GIL_STAT_COUNT,     /* events, summed; an integer column of the same name */
    GIL_STAT_NS_SUM,    /* nanoseconds, summed; a seconds column */
    GIL_STAT_NS_MAX,    /* nanoseconds, the worst over threads; a seconds column */
};

/* Every counter the lock layer keeps per thread: the field, its kind, its name
   (the CSV column and the heading of the per-thread table), and what it counts.
   The struct, the sums, the CSV columns and the table are all made from this
   one list, so a new counter is one line here (and the code that counts it). */
#define GIL_STATS(X)                                                                     \
    X(acquisitions, GIL_STAT_COUNT, acquisitions, "times the thread took the lock")      \
    X(releases, GIL_STAT_COUNT, releases, "times it gave the lock up")                   \
    X(switches, GIL_STAT_COUNT, switches,                                                \
      "acquisitions where the previous holder was another thread")                       \
    X(wakeups, GIL_STAT_COUNT, wakeups,                                                  \
      "returns from a real sleep while waiting for the lock, other than time-outs")      \
    X(futile_wakeups, GIL_STAT_COUNT, futile_wakeups,                                    \
      "wake-ups after which the thread found the lock taken and slept again")            \
    X(unslept, GIL_STAT_COUNT, unslept,                                                  \
      "condition-variable waits that returned without sleeping (a signal came first)")   \
    X(timeouts, GIL_STAT_COUNT, timeouts, "timed waits that ran out")                    \
    X(drop_requests, GIL_STAT_COUNT, drop_requests,                                      \
      "drop requests this thread made as a waiter")                                      \
    X(drops_honoured, GIL_STAT_COUNT, drops_honoured,                                    \
      "drops this thread made as holder because of a request")                           \
    X(yields, GIL_STAT_COUNT, yields,                                                    \
      "slow-path checks that released and re-took the lock")                             \
    X(blocks, GIL_STAT_COUNT, blocks,                                                    \
      "blocking regions entered (time.sleep), each releasing the lock")                  \
    X(wait_ns, GIL_STAT_NS_SUM, wait_s,                                                  \
      "time spent waiting for the lock: from the first failed attempt of a take to "     \
      "its success, and a holder's own waits for a hand-over")                           \
    X(wait_max_ns, GIL_STAT_NS_MAX, wait_max_s, "the worst single wait")                 \
    X(block_ns, GIL_STAT_NS_SUM, block_s, "time inside blocking calls, lock released")   \
    X(hold_ns, GIL_STAT_NS_SUM, hold_s,                                                  \
      "time holding the lock: the thread's run time less its waits and blocking calls")

/* Written only by the owning thread while it runs; read by others after join. */
struct gil_stats {
#define GIL_STAT_FIELD(field, kind, column, help) uint64_t field;
    GIL_STATS(GIL_STAT_FIELD)
#undef GIL_STAT_FIELD
};

/* The list above as data, for code that walks it (CSV, tables, tests). */
struct gil_stat_info {
    const char *field;         /* the struct gil_stats member */
    enum gil_stat_kind kind;
    const char *column;        /* CSV column, and the table's heading */
    const char *help;
    size_t offset;             /* of the member in struct gil_stats */
};
extern const struct gil_stat_info gil_stat_infos[];
extern const size_t gil_nstats;
/* The value of counter i of s. */
static inline uint64_t gil_stat_get(const struct gil_stats *s, size_t i)
{
    return *(const uint64_t *)((const char *)s + gil_stat_infos[i].offset);
}

/* ---- per-thread lock state --------------------------------------------------- */

struct gil_thread {
    struct gil *gil;            /* the lock this thread uses; set by gil_thread_init */
    int id;                     /* 0..n-1, stable for the run; set by gil_thread_init */
    long ticks;                 /* countdown to the next slow-path check; owner thread only */
    /* The eval breaker this thread reads on every tick; the pointer itself is
       immutable. Under a design whose lock serialises (vm_safety SERIAL) it is
       the lock's shared word, &gil->eval_breaker, where waiters set drop
       requests. Under the others nothing needs all threads at once, and it is
       &own_breaker: one word per thread, so that the VM can ask one thread for
       something (GIL_BREAKER_VM_* bits) without slowing the rest, and the tick
       still loads one word, from a line no other thread writes often. */
    _Atomic int *breaker;
    _Atomic int own_breaker;    /* written by any thread (fetch_or), cleared by the owner */
    bool holding;               /* owner thread only: does this thread hold the lock now */
    uint64_t wait_start_ns;     /* owner thread only: when the current wait began, 0: none */
    uint64_t block_start_ns;    /* owner thread only: when the current blocking call began */
    long sleep_mark;            /* owner thread only: voluntary switches before the current
                                   condvar wait (gil_sleep_begin), -1 when none */
    struct gil_stats st;        /* owner thread only while running */
    struct trace_buf *trace;    /* owner thread only; NULL when tracing is off */
    void *design_data;          /* design-private per-thread data, or NULL */
};

/* ---- the operations table ----------------------------------------------------- */

/* What the VM must do for itself under a design, decided by the design (and
   its parameters) before any thread runs. */
enum gil_vm_safety {
    GIL_VM_SERIAL = 0,      /* the lock serialises bytecode: plain refcounts suffice */
    GIL_VM_ATOMIC = 1,      /* no exclusion: atomic refcounts, per-object locks */
    GIL_VM_UNSAFE = 2,      /* no exclusion and plain refcounts: deliberately racy,
                               for the race exercise that shows what the GIL prevents */
    GIL_VM_BIASED = 3,      /* no exclusion: biased refcounts (the owner thread's plain,
                               the others' atomic, merged on demand), per-object locks */
    GIL_VM_SAFETY_MASK = 0x0f,
    /* A flag, or'ed into one of the above: every object alive when the worker
       threads start (reachable from the module's globals once the module body
       ran) is made immortal, its count never written again (PEP 683). */
    GIL_VM_IMMORTAL_AT_START = 0x10,
};
/* The kind without its flags: SERIAL, ATOMIC, UNSAFE or BIASED. */
static inline enum gil_vm_safety gil_vm_safety_kind(enum gil_vm_safety s)
{
    return (enum gil_vm_safety)(s & GIL_VM_SAFETY_MASK);
}
/* Their names, for `gillab designs` and its JSON: "serial", "atomic", "unsafe",
   "biased", with "+immortal" after the kind when the flag is set. */
const char *gil_vm_safety_name(enum gil_vm_safety s);

/* A design: everything the rest of the lab knows about it. The command line, the
   runner's checks, the CSV's parameter columns, the lab driver's list and the
   contract tests all read this table (via the registry) and nothing else. */
struct gil_design {
    const char *name;           /* --gil NAME */
    const char *summary;        /* one line for `gillab designs` */
    const char *models;         /* the original, e.g. "CPython 3.2 Python/ceval_gil.h" */
    /* The real interpreter that runs the original, as the lab names peers
       ("cpython-2.7" matches cpython-2.7.18, "pypy" matches pypy-7.3.11); the
       model is held against it by `make fidelity`. NULL: none to run. */
    const char *original;
    const struct gil_param *params;
    size_t nparams;
    /* How many threads may run under it at once: 0 no limit of its own, 1 for a
       design that neither excludes nor makes the VM safe (noop). */
    int max_threads;
    /* What the VM must do for itself with these parameter values (a kind,
       possibly with GIL_VM_IMMORTAL_AT_START); NULL means GIL_VM_SERIAL (the
       lock serialises bytecode). */
    enum gil_vm_safety (*vm_safety)(const double *values);

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
    /* Immutable after create: what the VM must do for itself (gil_new sets it
       from the design's vm_safety): the kind, and whether the objects alive
       when the worker threads start become immortal. */
    enum gil_vm_safety vm_safety;
    bool immortal_at_start;
    /* The lab's own record of the last thread that took the lock, for counting
       switches; -1 before the first take (and after gil_forget_holder). Kept by
       gil.c, not by the design: read and written only by the holder, so the lock
       protects it (serial designs only; see gil.c). A design that needs a last
       holder for its protocol keeps its own, under its own mutex (py32). */
    int last_holder;
};

/* Bits of an eval breaker. The lock layer's: */
#define GIL_BREAKER_DROP 0x1   /* a waiter asks the holder to drop the lock (py32, fifo) */
/* The VM's, set only in per-thread breakers (see gil_thread.breaker) and
   handled by the VM before it calls gil_yield; the lock layer never reads them. */
#define GIL_BREAKER_VM_MERGE 0x100  /* merge the reference counts queued for this thread */
#define GIL_BREAKER_VM_QSBR 0x200   /* report a quiescent state (deferred frees wait for it) */
#define GIL_BREAKER_VM_MASK 0xff00

/* ---- registry and parameters (registry.c) ------------------------------------ */

/* NULL-terminated list of every design. */
extern const struct gil_design *const gil_designs[];
/* The design a run uses when none is named. */
extern const struct gil_design *const gil_design_default;
const struct gil_design *gil_design_find(const char *name);
/* The designs' names separated by `sep` ("py26, py32, none"), into buf; only
   those that allow at least `min_threads` threads at once. */
void gil_design_names(char *buf, size_t cap, const char *sep, int min_threads);
/* Does design d let `threads` threads run at once? */
bool gil_design_allows(const struct gil_design *d, int threads);
/* What `gillab designs` prints: each design, its summary, its original, and
   each parameter with default, unit, allowed values and help. Returns 0 or -1
   when a write to out failed. */
int gil_designs_describe(FILE *out);
/* The same as JSON, for the lab driver and the figures. 0 or -1. */
int gil_designs_json(FILE *out);

/* Parse "name=value" for design d into values[] (which must already hold the
   defaults, see gil_params_defaults). On error returns -1 and writes a message
   naming the parameter and the allowed names/values into err. Accepts the
   parameter's name or, for a unit-suffixed name like "interval_us", its stem
   ("interval=5ms"). */
int gil_param_set(const struct gil_design *d, double *values, const char *assignment,
                  char *err, size_t errcap);
void gil_params_defaults(const struct gil_design *d, double *values);
/* Does p take a number with a range (COUNT, REAL, US)? */
bool gil_param_numeric(const struct gil_param *p);
/* Format one value the way `--set` accepts it ("5ms", "100", "on", "condvar"). */
void gil_param_format(const struct gil_param *p, double value, char *buf, size_t cap);
/* The value to print in the CSV column of p: canonical unit, no suffix. */
void gil_param_format_csv(const struct gil_param *p, double value, char *buf, size_t cap);

/* ---- the calls the VM and the runner make --------------------------------------- */

/* Make a lock of design d with the given values (NULL: defaults). */
int gil_new(const struct gil_design *d, const double *values, struct gil **out);
void gil_free(struct gil *g);
/* Start counting switches afresh: the next take is nobody's switch. Call only
   while no thread holds or waits for the lock (e.g. after a loader thread ran
   the module body and before the measured threads start). */
void gil_forget_holder(struct gil *g);
int gil_thread_init(struct gil *g, struct gil_thread *t, int id, struct trace_buf *trace);
void gil_thread_fini(struct gil_thread *t);

void gil_take(struct gil_thread *t);
void gil_drop(struct gil_thread *t);

/* Accounting for designs. No clock is read on a path that does not wait: a
   take that gets the lock at once, a drop, a yield that re-takes at once cost
   a few counter increments. A design calls gil_wait_begin(t) when a take finds
   the lock unavailable (before it polls or sleeps); gil_take ends that wait when
   the design returns. A holder that waits for a hand-over after it dropped
   (py32's forced switch) brackets that wait with gil_wait_begin/gil_wait_end.
   After every sleep, gil_sleep_done(t, how, taken) says how it ended. A design
   that knows whether it slept (a futex wait it makes itself) says so; one that
   waits on a condition variable, which may return without sleeping (glibc's
   condvar spins first and takes a signal that arrives meanwhile), calls
   gil_sleep_begin(t) before the wait: the return then counts as a wake-up only
   if the thread made a voluntary context switch during it (RUSAGE_THREAD, two
   readings on the waiting thread's slow path). */
void gil_wait_begin(struct gil_thread *t);
void gil_wait_end(struct gil_thread *t);
enum gil_sleep_end {
    GIL_WOKEN,        /* returned from a real sleep, not by a time-out */
    GIL_TIMED_OUT,    /* the timed wait ran out */
};
/* Count the end of a sleep; `taken`: the thread looked and found the lock
   still taken (a futile wake-up, when woken). */
void gil_sleep_begin(struct gil_thread *t);
void gil_sleep_done(struct gil_thread *t, enum gil_sleep_end how, bool taken);
/* After the thread's last call: it ran for run_ns in all (measured by its
   caller); its hold time is what its waits and blocking calls leave of that.
   Call once, with the thread no longer running (after join). */
void gil_thread_finish(struct gil_thread *t, uint64_t run_ns);
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
