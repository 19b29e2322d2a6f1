/*
 * none.c — no global lock: threads run bytecode truly in parallel.
 *
 * Models what a free-threaded interpreter buys: CPython 3.13+ built with
 * --disable-gil (PEP 703; Python/ceval_gil.c keeps the GIL code but never
 * enables it), where the eval loop runs without any global lock.
 *
 * Invariant: none is kept here. take, drop and yield do nothing; the tick
 * countdown is pushed out so far that the eval loop never takes the slow path.
 * Nobody waits on anything, so there is nothing to be fair about and no thread
 * can starve for the lock (only for a core).
 *
 * The price is paid elsewhere: with no lock serialising bytecode, the VM must make
 * its own shared state safe, which is what `refcounts` chooses (gil/vm/core.h has
 * the object header each needs and what it costs):
 *   atomic  every reference count update is an atomic read-modify-write, and
 *           lists, dicts, cells and slotted instances take a per-object lock
 *           around writes (GIL_VM_ATOMIC): the Gilectomy's approach; it costs
 *           every single thread, and every object all threads touch becomes a
 *           cache line bouncing between cores.
 *   biased  biased reference counting (GIL_VM_BIASED), as CPython 3.13's
 *           free-threaded build (Include/object.h, Objects/object.c,
 *           Python/brc.c; Choi, Shull and Torrellas, PACT 2018): the thread that
 *           made an object counts with plain instructions, the others atomically
 *           in a second count, and the two are merged when the shared count
 *           would go negative (the owner, asked through its eval breaker, merges
 *           them at its next check). Per-object locks as under atomic.
 *   plain   plain, non-atomic reference counts and no object locks
 *           (GIL_VM_UNSAFE): deliberately racy, so that a shared-object workload
 *           loses counts and ThreadSanitizer reports the data races a global
 *           lock would have prevented.
 * `immortal_at_start=on` makes every object alive when the worker threads start
 * immortal (PEP 683): its count is never written again, so threads that only
 * read shared objects no longer write to their cache lines at all. Under every
 * policy, reads of lists and of the module globals take no lock (see the
 * essay on deferred releases in gil/vm/runtime.c).
 *
 * Unlike "noop", this design makes the VM safe without exclusion (vm_safety is
 * not GIL_VM_SERIAL), so it sets no thread limit of its own.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "locks/gil.h"

enum none_refcounts { NONE_ATOMIC = 0, NONE_BIASED = 1, NONE_PLAIN = 2 };   /* "atomic|biased|plain" */
enum none_param { P_REFCOUNTS, P_IMMORTAL_AT_START };

static const struct gil_param none_params[] = {
    [P_REFCOUNTS] = {.name = "refcounts", .kind = GIL_PARAM_ENUM, .unit = "", .def = NONE_ATOMIC,
                     .choices = "atomic|biased|plain",
                     .help = "atomic: every update atomic; biased: the owner thread's plain, "
                             "the others' atomic (CPython 3.13t); plain: deliberately racy, "
                             "for the race exercise"},
    [P_IMMORTAL_AT_START] = {.name = "immortal_at_start", .kind = GIL_PARAM_BOOL, .unit = "",
                             .def = 0,
                             .help = "on: every object alive when the worker threads start "
                                     "becomes immortal (PEP 683)"},
};

static enum gil_vm_safety none_vm_safety(const double *values)
{
    static const enum gil_vm_safety kinds[] = {
        [NONE_ATOMIC] = GIL_VM_ATOMIC, [NONE_BIASED] = GIL_VM_BIASED, [NONE_PLAIN] = GIL_VM_UNSAFE};
    enum gil_vm_safety s = kinds[(int)values[P_REFCOUNTS]];
    return values[P_IMMORTAL_AT_START] != 0 ? (enum gil_vm_safety)(s | GIL_VM_IMMORTAL_AT_START) : s;
}

static int none_create(const double *values, struct gil **out)
{
    (void)values;
    struct gil *g = calloc(1, sizeof *g);
    if (!g)
        return ENOMEM;
    *out = g;
    return 0;
}

static void none_destroy(struct gil *g) { free(g); }
static void none_take(struct gil *g, struct gil_thread *t) { (void)g; (void)t; }
static void none_drop(struct gil *g, struct gil_thread *t) { (void)g; (void)t; }

static void none_yield(struct gil *g, struct gil_thread *t)
{
    (void)g;
    t->ticks = LONG_MAX;
}

const struct gil_design gil_design_none = {
    .name = "none",
    .summary = "no global lock: threads run in parallel; the VM makes refcounts safe itself",
    .models = "CPython 3.13+ free-threaded build (PEP 703, --disable-gil)",
    .params = none_params,
    .nparams = sizeof none_params / sizeof none_params[0],
    .vm_safety = none_vm_safety,
    .create = none_create,
    .destroy = none_destroy,
    .take = none_take,
    .drop = none_drop,
    .yield = none_yield,
};
