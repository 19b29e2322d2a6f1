/*
 * noop.c — no lock at all, and no thread safety either.
 *
 * The baseline for measuring what a lock costs: take, drop and yield do
 * nothing, the tick countdown is set so far out that the eval loop never takes
 * the slow path, and the VM keeps its plain (non-atomic) reference counts as if
 * a lock serialised it. Correct for one thread only: max_threads is 1, and
 * the runner refuses more.
 * (Lua's lua_lock/lua_unlock hooks are no-ops in the same way by default.)
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>

#include "locks/gil.h"

static int noop_create(const double *values, struct gil **out)
{
    (void)values;
    struct gil *g = calloc(1, sizeof *g);
    if (!g)
        return ENOMEM;
    *out = g;
    return 0;
}

static void noop_destroy(struct gil *g) { free(g); }
static void noop_take(struct gil *g, struct gil_thread *t) { (void)g; (void)t; }
static void noop_drop(struct gil *g, struct gil_thread *t) { (void)g; (void)t; }
static void noop_yield(struct gil *g, struct gil_thread *t)
{
    (void)g;
    t->ticks = LONG_MAX;
}

const struct gil_design gil_design_noop = {
    .name = "noop",
    .summary = "no lock and no thread safety: one thread only, the baseline for lock overhead",
    .models = "Lua's default lua_lock/lua_unlock (no-op hooks)",
    .params = NULL,
    .nparams = 0,
    .max_threads = 1,   /* no exclusion and no safe refcounts */
    .create = noop_create,
    .destroy = noop_destroy,
    .take = noop_take,
    .drop = noop_drop,
    .yield = noop_yield,
};
