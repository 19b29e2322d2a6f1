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
 * its own shared state safe, which is what `refcounts` chooses:
 *   atomic  atomic reference counts and per-object locks (GIL_VM_ATOMIC), the
 *           analogue of PEP 703's biased and atomic refcounting; it costs every
 *           single thread a little (published: roughly 5-10% in CPython 3.13).
 *   plain   plain, non-atomic reference counts (GIL_VM_UNSAFE): deliberately
 *           racy, so that a shared-object workload loses counts and ThreadSanitizer
 *           reports the data races a global lock would have prevented.
 *
 * Unlike "noop", this design makes the VM safe without exclusion (vm_safety is
 * not GIL_VM_SERIAL), so it sets no thread limit of its own.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "locks/gil.h"

enum none_refcounts { NONE_ATOMIC = 0, NONE_PLAIN = 1 };   /* index into "atomic|plain" */

static const struct gil_param none_params[] = {
    {.name = "refcounts", .kind = GIL_PARAM_ENUM, .unit = "", .def = NONE_ATOMIC,
     .choices = "atomic|plain",
     .help = "atomic: safe refcounts; plain: deliberately racy refcounts, for the race exercise"},
};

static enum gil_vm_safety none_vm_safety(const double *values)
{
    return values[0] == NONE_PLAIN ? GIL_VM_UNSAFE : GIL_VM_ATOMIC;
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
