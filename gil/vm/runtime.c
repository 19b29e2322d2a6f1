/*
 * runtime.c — the public API of vm.h: runtimes, thread states, running a
 * module, calling an entry function, and the live-object count.
 *
 * Live objects: every thread state counts the objects it allocates and frees;
 * when a thread state is freed its counts are folded into the runtime. The
 * live count is the folded sums plus the counts of the thread states still
 * alive. An object made by one thread and freed by another still balances,
 * because only the sums matter.
 *
 * Thread states are registered in the runtime's list (rt->threads, under
 * rt->threads_lock) from vm_thread_new to vm_thread_free. Under biased
 * counting each has an owner id, a fresh one while there are (then the
 * smallest no live thread state has); an exited owner's objects pass to a
 * thread state that gets its id again, which is safe because the id changes
 * hands under threads_lock (brc.c).
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* ---- the list of live thread states ---------------------------------------------------- */

void vm_threads_lock(struct vm_runtime *rt)
{
    /* acquire: pairs with vm_threads_unlock's release, so what the previous
       holder left (the list, the merge queues, the orphans) is seen whole. */
    while (atomic_flag_test_and_set_explicit(&rt->threads_lock, memory_order_acquire))
        sched_yield();
}

void vm_threads_unlock(struct vm_runtime *rt)
{
    atomic_flag_clear_explicit(&rt->threads_lock, memory_order_release);
}

static void threads_lock(struct vm_runtime *rt) { vm_threads_lock(rt); }
static void threads_unlock(struct vm_runtime *rt) { vm_threads_unlock(rt); }

struct vm_thread *vm_thread_by_owner(struct vm_runtime *rt, uint32_t owner_id)
{
    for (struct vm_thread *t = rt->threads; t; t = t->next_live)
        if (t->owner_id == owner_id)
            return t;
    return NULL;
}

/* ---- globals --------------------------------------------------------------------------------- */

static struct vm_object *global_get(struct vm_thread *ts, int slot)
{
    struct vm_object **g = &ts->rt->globals[slot];
    /* acquire: see LOAD_GLOBAL in eval.c. */
    struct vm_object *v = ts->mt ? __atomic_load_n(g, __ATOMIC_ACQUIRE) : *g;
    if (v)
        vm_incref(ts, v);
    return v;
}

bool vm_global_replace(struct vm_thread *ts, int slot, struct vm_object *v)
{
    struct vm_object **g = &ts->rt->globals[slot], *old;
    if (!ts->mt) {
        old = *g;
        *g = v;
        vm_xdecref(ts, old);
        return old != NULL;
    }
    /* acq_rel: the release half publishes v to the acquire loads of LOAD_GLOBAL;
       the acquire half orders the old value's last writer before our release
       of it. A reader may still be about to incref the old value: its
       reference goes after a grace period. */
    old = __atomic_exchange_n(g, v, __ATOMIC_ACQ_REL);
    if (old)
        vm_defer_decref(ts, old);
    return old != NULL;
}

static void global_set(struct vm_thread *ts, int slot, struct vm_object *v)
{
    if (v)
        vm_incref(ts, v);
    vm_global_replace(ts, slot, v);
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
    atomic_flag_clear(&rt->threads_lock);
    atomic_init(&rt->qsbr_seq, 1);
    rt->next_owner_id = 1;
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

/* The flags_owner word of a mortal object owned by `owner` (whatever the
   byte order). */
static uint32_t rc_word_of(uint16_t owner)
{
    struct vm_object o = {.flags = 0, .owner = owner};
    return o.flags_owner;
}

/* The policy's fields of a thread state, and its place in the runtime's list
   (with an owner id under BIASED). 0, or -1 when every owner id is taken. */
static int thread_register(struct vm_runtime *rt, struct vm_thread *ts)
{
    ts->rt = rt;
    ts->safety = gil_vm_safety_kind(rt->gil->vm_safety);
    ts->mt = ts->safety == GIL_VM_ATOMIC || ts->safety == GIL_VM_BIASED;
    ts->prefix = ts->safety == GIL_VM_BIASED ? (uint32_t)sizeof(struct vm_brc) : 0;
    ts->owner_id = ts->safety == GIL_VM_ATOMIC ? VM_OWNER_NOBODY : 0;
    ts->rc_word = rc_word_of(ts->owner_id);
    atomic_init(&ts->qsbr_seen, 0);   /* offline until it enters the VM */
    if (!ts->gt.breaker) {            /* a private thread state has no lock state */
        atomic_init(&ts->gt.own_breaker, 0);
        ts->gt.breaker = &ts->gt.own_breaker;
    }
    threads_lock(rt);
    if (ts->safety == GIL_VM_BIASED) {
        /* A fresh id, so that a worker does not inherit the objects of the
           thread that loaded the module (as in CPython, where that is the main
           thread); once all are used, the smallest no live thread state has.
           An id changes hands only here and in vm_thread_free, under this
           lock, which orders the old owner's last writes before the new one's. */
        uint32_t id = rt->next_owner_id++;
        if (id < 1 || id > VM_MAX_OWNER_ID || vm_thread_by_owner(rt, id)) {
            id = 1;
            while (id <= VM_MAX_OWNER_ID && vm_thread_by_owner(rt, id))
                id++;
            if (id > VM_MAX_OWNER_ID) {
                threads_unlock(rt);
                return -1;
            }
        }
        ts->owner_id = (uint16_t)id;
        ts->own_owner = (uint16_t)id;
        ts->rc_word = rc_word_of(ts->owner_id);
    }
    ts->next_live = rt->threads;
    rt->threads = ts;
    threads_unlock(rt);
    return 0;
}

/* Leave the runtime's list; the thread's counts join the runtime's. */
static void thread_unregister(struct vm_thread *ts)
{
    struct vm_runtime *rt = ts->rt;
    vm_qsbr_thread_exit(ts);
    vm_brc_thread_exit(ts);   /* leaves the list under threads_lock */
    /* relaxed: see vm_live_objects. */
    atomic_fetch_add_explicit(&rt->folded_allocs, ts->allocs, memory_order_relaxed);
    atomic_fetch_add_explicit(&rt->folded_frees, ts->frees, memory_order_relaxed);
}

/* A thread state for the runtime's own work while no VM thread runs
   (teardown, completing what threads left pending). NULL without memory. */
static struct vm_thread *private_thread(struct vm_runtime *rt)
{
    struct vm_thread *ts = calloc(1, sizeof *ts);
    if (ts && thread_register(rt, ts) != 0) {
        free(ts);
        ts = NULL;
    }
    return ts;
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

/* With no VM thread running (the joins ordered everything they did before
   this): complete what they left pending, counts queued for a merge and
   releases deferred to a grace period, until nothing is left. */
static void settle(struct vm_thread *ts)
{
    if (!ts->mt)
        return;
    for (int round = 0; round < 64; round++) {
        vm_brc_merge_all(ts);
        vm_qsbr_release_all(ts);
        bool pending = false;
        threads_lock(ts->rt);
        pending = ts->rt->qsbr_orphans != NULL;
        for (struct vm_thread *t = ts->rt->threads; t && !pending; t = t->next_live)
            pending = t->brc_queue || t->qsbr_open || t->qsbr_sealed;
        threads_unlock(ts->rt);
        if (!pending)
            return;   /* releasing may have queued or deferred more: go round */
    }
}

/* The program is over, as at interpreter exit: drop the module's globals,
   break reference cycles (emptying immortal containers too), then free the
   objects made immortal (immortal.c), so every object the run made is freed.
   Only ts runs. Under a multi-threaded policy what waited for a merge or a
   grace period is completed at each step (settle), so that no deferred
   release touches an object after the end freed it. */
static void end_run(struct vm_thread *ts)
{
    settle(ts);
    globals_clear(ts);
    settle(ts);
    vm_break_cycles(ts);
    settle(ts);
    vm_immortals_free(ts);
}

void vm_runtime_end(struct vm_runtime *rt)
{
    /* Every VM thread is gone: a private thread state frees what globals hold,
       under the runtime's own policy (the objects' headers are the policy's),
       and its counts join the runtime's, so vm_live_objects sees the frees. */
    struct vm_thread *ts = private_thread(rt);
    if (!ts)
        return;   /* no memory: what the run made stays (reported as live objects) */
    end_run(ts);
    thread_unregister(ts);
    thread_release(ts);
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

void vm_runtime_settle(struct vm_runtime *rt)
{
    struct vm_thread *ts = private_thread(rt);
    if (ts) {
        settle(ts);
        thread_unregister(ts);
        thread_release(ts);
        free(ts);
    }
}

long vm_live_objects(struct vm_runtime *rt)
{
    vm_runtime_settle(rt);
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
    if (thread_register(rt, ts) != 0) {
        gil_thread_fini(&ts->gt);
        free(ts);
        snprintf(err->msg, sizeof err->msg, "RuntimeError: more than %u thread states at once",
                 VM_MAX_OWNER_ID);
        return VM_RUNTIME_ERROR;
    }
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
    gil_thread_fini(&ts->gt);
    thread_unregister(ts);
    thread_release(ts);
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

const struct vm_stats *vm_thread_stats(const struct vm_thread *ts)
{
    return &ts->st;
}

/* ---- the VM's counters ----------------------------------------------------------------------- */

const struct vm_stat_info vm_stat_infos[] = {
#define VM_STAT_INFO(field, policies, help) {#field, policies, help, offsetof(struct vm_stats, field)},
    VM_STATS(VM_STAT_INFO)
#undef VM_STAT_INFO
};
const size_t vm_nstats = sizeof vm_stat_infos / sizeof vm_stat_infos[0];

bool vm_stat_applies(size_t i, enum gil_vm_safety s)
{
    return (vm_stat_infos[i].policies & VM_STAT_POLICY(gil_vm_safety_kind(s))) != 0;
}

bool vm_stats_apply(enum gil_vm_safety s)
{
    for (size_t i = 0; i < vm_nstats; i++)
        if (vm_stat_applies(i, s))
            return true;
    return false;
}

void vm_stats_add(struct vm_stats *a, const struct vm_stats *b)
{
#define VM_STAT_ADD(field, policies, help) a->field += b->field;
    VM_STATS(VM_STAT_ADD)
#undef VM_STAT_ADD
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

/* Entering and leaving the VM: the lock, and the thread's part in grace
   periods (a thread outside the VM holds nothing read without a lock). */
static void enter(struct vm_thread *ts)
{
    gil_take(&ts->gt);
    vm_qsbr_online(ts);
}

static void leave(struct vm_thread *ts)
{
    vm_qsbr_offline(ts);
    gil_drop(&ts->gt);
}

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
    enter(ts);
    enum vm_result r = run_module(ts, rt->prog->str_main, err);
    end_run(ts);
    leave(ts);
    return r;
}

enum vm_result vm_load_module(struct vm_runtime *rt, struct vm_thread *ts, struct vm_error *err)
{
    memset(err, 0, sizeof *err);
    enter(ts);
    enum vm_result r = run_module(ts, rt->prog->str_modname, err);
    leave(ts);
    return r;
}

/* "count, main" — the module's functions, for an unknown-entry message. */
static void function_names(struct vm_runtime *rt, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int i = 0; i < rt->prog->nslots && n < cap; i++) {
        /* acquire: other threads may replace globals meanwhile (LOAD_GLOBAL);
           only the type is read, and a function's type never changes. */
        struct vm_object *v = __atomic_load_n(&rt->globals[i], __ATOMIC_ACQUIRE);
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
    enter(ts);
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
    leave(ts);
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
