/*
 * runtime.c — the public API of vm.h: runtimes, thread states, running a
 * module, calling an entry function, and the live-object count.
 *
 * Live objects: every thread state counts the objects it allocates and frees;
 * when a thread state is freed its counts are folded into the runtime. The
 * live count is the folded sums plus the counts of the thread states still
 * alive. An object made by one thread and freed by another still balances,
 * because only the sums matter.
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* ---- the list of live thread states ---------------------------------------------------- */

static void threads_lock(struct vm_runtime *rt)
{
    /* acquire: pairs with threads_unlock's release, so the list seen here is
       the one the previous holder left. */
    while (atomic_flag_test_and_set_explicit(&rt->threads_lock, memory_order_acquire))
        sched_yield();
}

static void threads_unlock(struct vm_runtime *rt)
{
    atomic_flag_clear_explicit(&rt->threads_lock, memory_order_release);
}

/* ---- globals --------------------------------------------------------------------------------- */

static struct vm_object *global_get(struct vm_thread *ts, int slot)
{
    struct vm_runtime *rt = ts->rt;
    vm_objlock(ts, &rt->globals_lock);
    struct vm_object *v = rt->globals[slot];
    if (v)
        vm_incref(ts, v);
    vm_objunlock(ts, &rt->globals_lock);
    return v;
}

static void global_set(struct vm_thread *ts, int slot, struct vm_object *v)
{
    struct vm_runtime *rt = ts->rt;
    if (v)
        vm_incref(ts, v);
    vm_objlock(ts, &rt->globals_lock);
    struct vm_object *old = rt->globals[slot];
    rt->globals[slot] = v;
    vm_objunlock(ts, &rt->globals_lock);
    vm_xdecref(ts, old);
}

static void globals_clear(struct vm_thread *ts)
{
    for (int i = 0; i < ts->rt->prog->nslots; i++)
        global_set(ts, i, NULL);
}

static int find_slot(const struct vm_program *p, const char *name)
{
    for (int i = 0; i < p->nslots; i++)
        if (strcmp(p->slot_names[i], name) == 0)
            return i;
    return -1;
}

/* ---- runtimes ------------------------------------------------------------------------------- */

enum vm_result vm_runtime_new(struct vm_program *p, struct gil *g, FILE *out, struct vm_runtime **rtp,
                              struct vm_error *err)
{
    memset(err, 0, sizeof *err);
    struct vm_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        goto fail;
    rt->globals = calloc((size_t)(p->nslots ? p->nslots : 1), sizeof *rt->globals);
    if (!rt->globals)
        goto fail;
    rt->prog = p;
    rt->gil = g;
    rt->out = out ? out : stdout;
    atomic_init(&rt->globals_lock, 0);
    atomic_flag_clear(&rt->threads_lock);
    atomic_init(&rt->folded_allocs, 0);
    atomic_init(&rt->folded_frees, 0);
    atomic_init(&rt->lists_lock, 0);
    atomic_init(&rt->gc_lock, 0);
    atomic_init(&rt->gc_enabled, true);
    *rtp = rt;
    return VM_OK;
fail:
    if (rt)
        free(rt->globals);
    free(rt);
    snprintf(err->msg, sizeof err->msg, "MemoryError: out of memory making a runtime");
    return VM_RUNTIME_ERROR;
}

static void thread_release(struct vm_thread *ts)
{
    vm_int_freelist_clear(ts);
    struct vm_chunk *c = ts->chunk_head;
    while (c) {
        struct vm_chunk *n = c->next;
        free(c);
        c = n;
    }
    ts->chunk_head = ts->chunk = NULL;
    free(ts->repr_stack);
    ts->repr_stack = NULL;
    free(ts->tb);
    ts->tb = NULL;
    ts->ntb = ts->captb = 0;
    free(ts->opcounts);
    ts->opcounts = NULL;
}

/* The program is over, as at interpreter exit: drop the module's globals,
   break reference cycles (emptying immortal containers too), then free the
   objects made immortal (immortal.c), so every object the run made is freed. */
static void end_run(struct vm_thread *ts)
{
    globals_clear(ts);
    vm_break_cycles(ts);
    vm_immortals_free(ts);
}

void vm_runtime_end(struct vm_runtime *rt)
{
    /* Every VM thread is gone: a private thread state frees what globals hold,
       and its counts join the runtime's, so vm_live_objects sees the frees. */
    struct vm_thread *ts = calloc(1, sizeof *ts);
    if (!ts)
        return;   /* no memory: what the run made stays (reported as live objects) */
    ts->rt = rt;
    ts->safety = GIL_VM_SERIAL;   /* single-threaded now; the joins ordered all else */
    end_run(ts);
    thread_release(ts);
    /* relaxed: see vm_live_objects. */
    atomic_fetch_add_explicit(&rt->folded_allocs, ts->allocs, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->folded_frees, ts->frees, memory_order_relaxed);
    free(ts);
}

void vm_runtime_free(struct vm_runtime *rt)
{
    if (!rt)
        return;
    vm_runtime_end(rt);
    free(rt->immortals);   /* NULL once ended; not when the end had no memory */
    free(rt->globals);
    free(rt);
}

long vm_live_objects(struct vm_runtime *rt)
{
    /* relaxed: callers read this only when no VM thread runs (after joins,
       which order every earlier update). */
    long n = atomic_load_explicit(&rt->folded_allocs, memory_order_relaxed) -
             atomic_load_explicit(&rt->folded_frees, memory_order_relaxed);
    threads_lock(rt);
    for (struct vm_thread *t = rt->threads; t; t = t->next_live)
        n += t->allocs - t->frees;
    threads_unlock(rt);
    return n;
}

/* ---- thread states ---------------------------------------------------------------------------- */

enum vm_result vm_thread_new(struct vm_runtime *rt, int id, struct trace_buf *trace, struct vm_thread **out,
                             struct vm_error *err)
{
    memset(err, 0, sizeof *err);
    int rc = 0;
    struct vm_thread *ts = calloc(1, sizeof *ts);
    if (!ts)
        goto fail;
    rc = gil_thread_init(rt->gil, &ts->gt, id, trace);
    if (rc != 0)
        goto fail;
    ts->rt = rt;
    ts->safety = rt->gil->vm_safety;
    threads_lock(rt);
    ts->next_live = rt->threads;
    rt->threads = ts;
    threads_unlock(rt);
    *out = ts;
    return VM_OK;
fail:
    free(ts);
    if (rc != 0)
        snprintf(err->msg, sizeof err->msg, "cannot set up lock state for thread %d: %s", id, strerror(rc));
    else
        snprintf(err->msg, sizeof err->msg, "MemoryError: out of memory making a thread state");
    return VM_RUNTIME_ERROR;
}

void vm_thread_free(struct vm_thread *ts)
{
    if (!ts)
        return;
    struct vm_runtime *rt = ts->rt;
    gil_thread_fini(&ts->gt);
    thread_release(ts);
    threads_lock(rt);
    for (struct vm_thread **p = &rt->threads; *p; p = &(*p)->next_live) {
        if (*p == ts) {
            *p = ts->next_live;
            break;
        }
    }
    /* relaxed: see vm_live_objects. */
    atomic_fetch_add_explicit(&rt->folded_allocs, ts->allocs, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->folded_frees, ts->frees, memory_order_relaxed);
    threads_unlock(rt);
    free(ts);
}

bool vm_thread_alone(struct vm_thread *ts)
{
    threads_lock(ts->rt);
    bool alone = ts->rt->threads == ts && ts->next_live == NULL;
    threads_unlock(ts->rt);
    return alone;
}

struct gil_thread *vm_thread_gil(struct vm_thread *ts)
{
    return &ts->gt;
}

int vm_thread_count_ops(struct vm_thread *ts)
{
    if (!ts->opcounts)
        ts->opcounts = calloc(VM_OPCODE_SLOTS, sizeof *ts->opcounts);
    return ts->opcounts ? 0 : -1;
}

const uint64_t *vm_thread_opcounts(const struct vm_thread *ts)
{
    return ts->opcounts;
}

/* ---- running --------------------------------------------------------------------------------- */

/* An error raised before any frame ran (no traceback to show). */
static enum vm_result plain_error(struct vm_thread *ts, struct vm_error *err)
{
    snprintf(err->msg, sizeof err->msg, "%s: %s", vm_exc_name(ts->exc), ts->exc_msg);
    vm_clear_error(ts);
    return VM_RUNTIME_ERROR;
}

static enum vm_result run_module(struct vm_thread *ts, struct vm_object *name, struct vm_error *err)
{
    struct vm_program *p = ts->rt->prog;
    global_set(ts, p->slot_dunder_name, name);
    struct vm_frame *f = vm_frame_push(ts, p->codes[0]);
    if (!f)
        return plain_error(ts, err);
    struct vm_object *res = NULL;
    enum vm_result r = vm_eval(ts, f, &res, err);
    if (r == VM_OK)
        vm_decref(ts, res);
    return r;
}

enum vm_result vm_run_main(struct vm_runtime *rt, struct vm_thread *ts, struct vm_error *err)
{
    memset(err, 0, sizeof *err);
    gil_take(&ts->gt);
    enum vm_result r = run_module(ts, rt->prog->str_main, err);
    end_run(ts);
    gil_drop(&ts->gt);
    return r;
}

enum vm_result vm_load_module(struct vm_runtime *rt, struct vm_thread *ts, struct vm_error *err)
{
    memset(err, 0, sizeof *err);
    gil_take(&ts->gt);
    enum vm_result r = run_module(ts, rt->prog->str_modname, err);
    gil_drop(&ts->gt);
    return r;
}

/* "count, main" — the module's functions, for an unknown-entry message. */
static void function_names(struct vm_runtime *rt, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < rt->prog->nslots && n < cap; i++) {
        struct vm_object *v = rt->globals[i];
        if (v && v->type == &vm_function_type)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", rt->prog->slot_names[i]);
    }
    if (n == 0)
        snprintf(buf, cap, "(none)");
}

enum vm_result vm_call(struct vm_runtime *rt, struct vm_thread *ts, const char *name, const int64_t *args,
                       int nargs, char *repr, size_t repr_cap, struct vm_error *err)
{
    char *whole = NULL;
    enum vm_result r = vm_call_repr(rt, ts, name, args, nargs, repr && repr_cap ? &whole : NULL, err);
    if (repr && repr_cap)
        snprintf(repr, repr_cap, "%s", whole ? whole : "");
    free(whole);
    return r;
}

enum vm_result vm_call_repr(struct vm_runtime *rt, struct vm_thread *ts, const char *name,
                            const int64_t *args, int nargs, char **repr, struct vm_error *err)
{
    memset(err, 0, sizeof *err);
    if (repr)
        *repr = NULL;
    struct vm_program *p = rt->prog;
    gil_take(&ts->gt);
    int slot = find_slot(p, name);
    struct vm_object *fn = slot >= 0 ? global_get(ts, slot) : NULL;
    enum vm_result r;
    if (!fn || fn->type != &vm_function_type) {
        char names[512];
        function_names(rt, names, sizeof names);
        if (fn)
            snprintf(err->msg, sizeof err->msg, "%s: '%s' is a %s, not a function; functions: %s",
                     p->filename, name, fn->type->name, names);
        else
            snprintf(err->msg, sizeof err->msg, "%s: no function named '%s'; functions: %s", p->filename,
                     name, names);
        vm_xdecref(ts, fn);
        r = VM_USAGE_ERROR;
        goto out;
    }
    struct vm_code *code = ((struct vm_function *)fn)->code;
    if (nargs != code->argcount) {
        char msg[400];
        vm_arity_message(code, nargs, msg, sizeof msg);
        snprintf(err->msg, sizeof err->msg, "TypeError: %s", msg);
        vm_decref(ts, fn);
        r = VM_USAGE_ERROR;
        goto out;
    }
    struct vm_frame *f = vm_frame_push(ts, code);
    if (!f) {
        vm_decref(ts, fn);
        r = plain_error(ts, err);
        goto out;
    }
    for (int i = 0; i < nargs; i++) {
        f->fast[i] = vm_int_new(ts, args[i]);
        if (!f->fast[i])
            break;
    }
    if (ts->exc != VM_EXC_NONE ||
        (code->ncells + code->nfrees && vm_frame_derefs(ts, f, (struct vm_function *)fn) < 0)) {
        for (int k = 0; k < code->nlocalsplus; k++)
            vm_xdecref(ts, f->fast[k]);
        vm_frame_pop(ts, f);
        vm_decref(ts, fn);
        r = plain_error(ts, err);
        goto out;
    }
    struct vm_object *res = NULL;
    r = vm_eval(ts, f, &res, err);
    vm_decref(ts, fn);
    if (r == VM_OK) {
        if (repr) {
            struct vm_buf b = {0};
            if (vm_repr_into(ts, &b, res) == 0 && b.p)
                *repr = b.p;   /* handed over whole */
            else {
                vm_clear_error(ts);   /* a result too big to show is not an error of the call */
                vm_buf_free(&b);
            }
        }
        vm_decref(ts, res);
    }
out:
    gil_drop(&ts->gt);
    return r;
}

int vm_function_arity(struct vm_runtime *rt, const char *name)
{
    int slot = find_slot(rt->prog, name);
    if (slot < 0)
        return -1;
    struct vm_object *v = rt->globals[slot];
    if (!v || v->type != &vm_function_type)
        return -1;
    return ((struct vm_function *)v)->code->argcount;
}
