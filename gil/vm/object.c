/*
 * object.c — the object model: types, shared singletons, allocation and
 * freeing, and the operations the eval loop calls off its fast paths
 * (arithmetic, comparison, truth, indexing, iteration, str/repr).
 *
 * Integers are 64-bit. CPython's ints are unbounded; gillab's are not, by
 * choice: a lab that measures lock overhead wants every `n -= 1` to cost the
 * same, and a bignum slow path would blur that. So every int operation whose
 * exact result does not fit in int64 (+ - * // % and unary minus, int() of a
 * large float or string, a literal over 64 bits) raises
 *     OverflowError: integer overflow (gillab ints are 64-bit)
 * instead of silently wrapping or switching representation. Programs whose
 * ints stay within 64 bits behave exactly as under CPython.
 *
 * Error messages copy CPython 3.11's wording, since workloads run under both.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

/* ---- types and singletons ------------------------------------------------------------ */

static void plain_dealloc(struct vm_thread *ts, struct vm_object *o) { vm_free(ts, o); }
static void int_dealloc(struct vm_thread *ts, struct vm_object *o);
static void method_dealloc(struct vm_thread *ts, struct vm_object *o);
static void function_dealloc(struct vm_thread *ts, struct vm_object *o);
static void list_iter_dealloc(struct vm_thread *ts, struct vm_object *o);
static void str_iter_dealloc(struct vm_thread *ts, struct vm_object *o);

const struct vm_type vm_none_type = {"NoneType", VM_K_NONE, NULL, NULL};
const struct vm_type vm_bool_type = {"bool", VM_K_BOOL, NULL, NULL};
const struct vm_type vm_int_type = {"int", VM_K_INT, int_dealloc, NULL};
const struct vm_type vm_float_type = {"float", VM_K_FLOAT, plain_dealloc, NULL};
const struct vm_type vm_str_type = {"str", VM_K_STR, plain_dealloc, NULL};
const struct vm_type vm_list_type = {"list", VM_K_LIST, NULL, NULL};   /* see vm_dealloc */
const struct vm_type vm_function_type = {"function", VM_K_FUNCTION, function_dealloc, NULL};
const struct vm_type vm_code_type = {"code", VM_K_CODE, NULL, NULL};
const struct vm_type vm_builtin_type = {"builtin_function_or_method", VM_K_BUILTIN, NULL, NULL};
const struct vm_type vm_method_type = {"builtin_function_or_method", VM_K_METHOD, method_dealloc, NULL};
const struct vm_type vm_module_type = {"module", VM_K_MODULE, NULL, NULL};
const struct vm_type vm_range_type = {"range", VM_K_RANGE, plain_dealloc, NULL};
const struct vm_type vm_range_iter_type = {"range_iterator", VM_K_RANGE_ITER, plain_dealloc, NULL};
const struct vm_type vm_list_iter_type = {"list_iterator", VM_K_LIST_ITER, list_iter_dealloc, NULL};
const struct vm_type vm_str_iter_type = {"str_ascii_iterator", VM_K_STR_ITER, str_iter_dealloc, NULL};

struct vm_object vm_none_obj = VM_IMMORTAL_HEAD(&vm_none_type);
struct vm_int vm_true_obj = {VM_IMMORTAL_HEAD(&vm_bool_type), 1};
struct vm_int vm_false_obj = {VM_IMMORTAL_HEAD(&vm_bool_type), 0};

#define SI(v) {VM_IMMORTAL_HEAD(&vm_int_type), (v)}
#define SI10(b) SI(b), SI(b + 1), SI(b + 2), SI(b + 3), SI(b + 4), SI(b + 5), SI(b + 6), \
                SI(b + 7), SI(b + 8), SI(b + 9)
struct vm_int vm_small_ints[VM_SMALL_INT_MAX - VM_SMALL_INT_MIN + 1] = {
    SI10(-5), SI10(5), SI10(15), SI10(25), SI10(35), SI10(45), SI10(55), SI10(65), SI10(75),
    SI10(85), SI10(95), SI10(105), SI10(115), SI10(125), SI10(135), SI10(145), SI10(155),
    SI10(165), SI10(175), SI10(185), SI10(195), SI10(205), SI10(215), SI10(225), SI10(235),
    SI10(245), SI(255), SI(256),
};
#undef SI10
#undef SI

/* ---- errors -------------------------------------------------------------------------- */

static const char *const exc_names[] = {
#define VM_EXC_NAME(id, name) name,
    VM_EXC_KINDS(VM_EXC_NAME)
#undef VM_EXC_NAME
};

const char *vm_exc_name(enum vm_exc kind)
{
    return exc_names[kind];
}

void *vm_raise(struct vm_thread *ts, enum vm_exc kind, const char *fmt, ...)
{
    ts->exc = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ts->exc_msg, sizeof ts->exc_msg, fmt, ap);
    va_end(ap);
    return NULL;
}

void *vm_overflow(struct vm_thread *ts)
{
    return vm_raise(ts, VM_EXC_OVERFLOW, "integer overflow (gillab ints are 64-bit)");
}

static const char *tname(const struct vm_object *o) { return vm_type_name(o); }

/* ---- allocation ------------------------------------------------------------------------ */

/* Every object a run makes has ts->prefix bytes before it (BIASED: its
   struct vm_brc); every thread state of a runtime has the same prefix, so the
   thread that frees an object knows where its memory starts. */
void *vm_alloc(struct vm_thread *ts, const struct vm_type *type, size_t size)
{
    char *p = malloc(size + ts->prefix);
    if (!p)
        return vm_raise(ts, VM_EXC_MEMORY, "out of memory");
    struct vm_object *o = (struct vm_object *)(p + ts->prefix);
    if (ts->prefix)
        *vm_brc(o) = (struct vm_brc){0, NULL};
    o->refcnt = 1;
    o->flags = 0;
    o->owner = ts->own_owner;
    o->type = type;
    ts->allocs++;
    return o;
}

void vm_free(struct vm_thread *ts, void *o)
{
    free((char *)o - ts->prefix);
    ts->frees++;
}

/* ---- the shared counts of the multi-threaded policies --------------------------------------- */

void vm_incref_shared(struct vm_thread *ts, struct vm_object *o)
{
    ts->st.refcount_atomics++;
    /* relaxed, both: we already hold a reference (or read o under its
       container's lock, or from a slot whose old values are released only after
       a grace period), so o cannot die meanwhile; no other memory is published. */
    if (ts->safety == GIL_VM_BIASED)
        __atomic_fetch_add(&vm_brc(o)->shared, VM_BRC_ONE, __ATOMIC_RELAXED);
    else
        __atomic_fetch_add(&o->refcnt, 1, __ATOMIC_RELAXED);
}

void vm_decref_shared(struct vm_thread *ts, struct vm_object *o)
{
    ts->st.refcount_atomics++;
    if (ts->safety == GIL_VM_BIASED) {
        vm_brc_decref_shared(ts, o);
    } else if (__atomic_sub_fetch(&o->refcnt, 1, __ATOMIC_ACQ_REL) == 0) {
        /* acq_rel: the release half orders this thread's use of o before the
           decrement; the acquire half lets the thread that reaches zero see
           every other thread's use before it frees o. */
        vm_dealloc(ts, o);
    }
}

/* A freed int on the thread's free list: the value field holds the link. */
struct vm_free_int {
    struct vm_object ob;
    struct vm_object *next;
};

struct vm_object *vm_int_new_slow(struct vm_thread *ts, int64_t v)
{
    struct vm_int *o;
    if (ts->int_free) {
        o = (struct vm_int *)ts->int_free;
        ts->int_free = ((struct vm_free_int *)o)->next;
        ts->int_free_len--;
        o->ob.refcnt = 1;
        o->ob.flags = 0;
        o->ob.owner = ts->own_owner;
        o->ob.type = &vm_int_type;
        if (ts->prefix)
            *vm_brc(&o->ob) = (struct vm_brc){0, NULL};
        ts->allocs++;
    } else {
        o = vm_alloc(ts, &vm_int_type, sizeof *o);
        if (!o)
            return NULL;
    }
    o->value = v;
    return &o->ob;
}

static void int_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    if (!VM_ASAN && ts->int_free_len < VM_INT_FREELIST_MAX) {
        ((struct vm_free_int *)o)->next = ts->int_free;
        ts->int_free = o;
        ts->int_free_len++;
        ts->frees++;
        return;
    }
    vm_free(ts, o);
}

void vm_int_freelist_clear(struct vm_thread *ts)
{
    while (ts->int_free) {
        struct vm_object *o = ts->int_free;
        ts->int_free = ((struct vm_free_int *)o)->next;
        free((char *)o - ts->prefix);
    }
    ts->int_free_len = 0;
}

struct vm_object *vm_float_new(struct vm_thread *ts, double v)
{
    struct vm_float *o = vm_alloc(ts, &vm_float_type, sizeof *o);
    if (!o)
        return NULL;
    o->value = v;
    return &o->ob;
}

struct vm_object *vm_str_new(struct vm_thread *ts, const char *s, size_t len)
{
    if (len > VM_MAX_SEQ_LEN)
        return vm_raise(ts, VM_EXC_MEMORY, "string of %zu bytes is too long", len);
    struct vm_str *o = vm_alloc(ts, &vm_str_type, sizeof *o + len + 1);
    if (!o)
        return NULL;
    o->len = len;
    if (s && len)
        memcpy(o->data, s, len);   /* NULL s: the caller fills data */
    o->data[len] = '\0';
    return &o->ob;
}

/* ---- lists ------------------------------------------------------------------------------
 *
 * Lists read without a lock. Under the multi-threaded policies a list's
 * readers (indexing, iteration, len, truth) take no lock, as CPython 3.13t's
 * do; writers take the list's byte lock among themselves. What makes it safe:
 *   - writers store each slot, then `items`, then `len` with release stores;
 *     readers load `len`, then `items`, then the slot with acquire loads. An
 *     item array is never shrunk or written past its end: growing makes a new
 *     one with the first `len` slots copied and publishes it before the length
 *     that needs it, so a reader that saw length n finds n valid slots in any
 *     array it loads afterwards (every later array copied at least that many).
 *   - a pointer a reader loads may just have been replaced or removed; that
 *     reference, and a replaced array, are released only after a grace period
 *     (vm_defer_decref, vm_defer_free: qsbr.c), by which time every thread
 *     that could have loaded it has taken its own reference (a plain incref:
 *     the object is still alive) or forgotten it. A removed item returned to
 *     the caller (pop) gets a reference of its own for the same reason.
 *   - a freed list has no readers: each holds a reference to the list.
 * A read returns what the list held at some moment during it, as a locked
 * read would. The serial policies read and write plainly (the GIL orders
 * everything); the release stores compile to the same moves on x86-64.
 */

static inline void list_store(struct vm_object **slot, struct vm_object *v)
{
    /* release: whatever made v visible to this thread happens before a
       lock-free reader's use of v (it loads the slot with acquire). */
    __atomic_store_n(slot, v, __ATOMIC_RELEASE);
}

static inline void list_set_len(struct vm_list *l, size_t n)
{
    /* release: the slots below n (and the array holding them) are written
       before a lock-free reader that sees n reads them. */
    __atomic_store_n(&l->len, n, __ATOMIC_RELEASE);
}

/* Item i (i < 0 from the end) read without the lock: a new reference, or NULL
   when i is out of range (no error set). Multi-threaded policies only. */
static struct vm_object *list_item_lockfree(struct vm_thread *ts, struct vm_list *l, int64_t i)
{
    /* acquire, all three: see the essay above. */
    int64_t n = (int64_t)__atomic_load_n(&l->len, __ATOMIC_ACQUIRE);
    if (i < 0)
        i += n;
    if (i < 0 || i >= n)
        return NULL;
    struct vm_object **items = __atomic_load_n(&l->items, __ATOMIC_ACQUIRE);
    struct vm_object *v = __atomic_load_n(&items[i], __ATOMIC_ACQUIRE);
    vm_incref(ts, v);
    return v;
}

static void lists_lock(struct vm_thread *ts)
{
    vm_objlock(ts, &ts->rt->lists_lock);
}

static void lists_unlock(struct vm_thread *ts)
{
    vm_objunlock(ts, &ts->rt->lists_lock);
}

static void list_register(struct vm_thread *ts, struct vm_list *l)
{
    struct vm_runtime *rt = ts->rt;
    lists_lock(ts);
    l->reg_prev = NULL;
    l->reg_next = rt->lists;
    if (rt->lists)
        rt->lists->reg_prev = l;
    rt->lists = l;
    lists_unlock(ts);
}

static void list_unregister(struct vm_thread *ts, struct vm_list *l)
{
    struct vm_runtime *rt = ts->rt;
    lists_lock(ts);
    if (l->reg_prev)
        l->reg_prev->reg_next = l->reg_next;
    else
        rt->lists = l->reg_next;
    if (l->reg_next)
        l->reg_next->reg_prev = l->reg_prev;
    lists_unlock(ts);
}

void vm_gc_track(struct vm_thread *ts, struct vm_gchead *g)
{
    struct vm_runtime *rt = ts->rt;
    g->dealloc_next = NULL;
    vm_objlock(ts, &rt->gc_lock);
    g->gc_prev = NULL;
    g->gc_next = rt->gc_objects;
    if (rt->gc_objects)
        rt->gc_objects->gc_prev = g;
    rt->gc_objects = g;
    vm_objunlock(ts, &rt->gc_lock);
}

void vm_gc_untrack(struct vm_thread *ts, struct vm_gchead *g)
{
    struct vm_runtime *rt = ts->rt;
    vm_objlock(ts, &rt->gc_lock);
    if (g->gc_prev)
        g->gc_prev->gc_next = g->gc_next;
    else
        rt->gc_objects = g->gc_next;
    if (g->gc_next)
        g->gc_next->gc_prev = g->gc_prev;
    vm_objunlock(ts, &rt->gc_lock);
}

void vm_break_cycles(struct vm_thread *ts)
{
    struct vm_runtime *rt = ts->rt;
    /* Nothing outside the lists and the registered objects (dicts, cells,
       instances) refers to them now: every one still alive is held only
       through some cycle. Take a reference to each, empty them all (which
       breaks every cycle), then drop the references. */
    size_t n = 0;
    for (struct vm_list *l = rt->lists; l; l = l->reg_next)
        n++;
    for (struct vm_gchead *g = rt->gc_objects; g; g = g->gc_next)
        n++;
    if (n == 0)
        return;
    struct vm_object **all = malloc(n * sizeof *all);
    if (!all)
        return;   /* no memory: the cycles stay (reported as live objects) */
    size_t k = 0;
    for (struct vm_list *l = rt->lists; l; l = l->reg_next)
        all[k++] = &l->ob;
    for (struct vm_gchead *g = rt->gc_objects; g; g = g->gc_next)
        all[k++] = &g->ob;
    for (size_t i = 0; i < n; i++)
        vm_incref(ts, all[i]);
    for (size_t i = 0; i < n; i++) {
        if (all[i]->type != &vm_list_type) {
            all[i]->type->clear(ts, all[i]);
            continue;
        }
        struct vm_list *l = (struct vm_list *)all[i];
        struct vm_object **items = l->items;
        size_t len = l->len;
        l->items = NULL;
        l->len = l->cap = 0;
        for (size_t j = 0; j < len; j++)
            vm_xdecref(ts, items[j]);
        free(items);
    }
    for (size_t i = 0; i < n; i++)
        vm_decref(ts, all[i]);
    free(all);
}

struct vm_object *vm_list_new(struct vm_thread *ts, size_t len)
{
    if (len > VM_MAX_SEQ_LEN)
        return vm_raise(ts, VM_EXC_MEMORY, "list of %zu items is too long", len);
    struct vm_list *l = vm_alloc(ts, &vm_list_type, sizeof *l);
    if (!l)
        return NULL;
    l->len = len;
    l->cap = len;
    l->items = NULL;
    atomic_init(&l->lock, 0);
    l->dealloc_next = NULL;
    if (len) {
        l->items = calloc(len, sizeof *l->items);
        if (!l->items) {
            vm_free(ts, l);
            return vm_raise(ts, VM_EXC_MEMORY, "out of memory");
        }
    }
    list_register(ts, l);
    return &l->ob;
}

/* Room for `extra` more items; call with the list lock held: 0, ERANGE past
   VM_MAX_SEQ_LEN, or ENOMEM. Under a multi-threaded policy the array is
   replaced, never resized in place, and *retired gets the old one, for
   vm_defer_free once the lock is dropped (NULL when nothing was replaced). */
static int list_reserve(struct vm_thread *ts, struct vm_list *l, size_t extra,
                        struct vm_object ***retired)
{
    *retired = NULL;
    if (l->len + extra <= l->cap)
        return 0;
    if (l->len + extra > VM_MAX_SEQ_LEN)
        return ERANGE;
    size_t cap = l->cap < 4 ? 4 : l->cap + (l->cap >> 1);
    if (cap < l->len + extra)
        cap = l->len + extra;
    struct vm_object **n;
    if (!ts->mt) {
        if (!(n = realloc(l->items, cap * sizeof *n)))
            return ENOMEM;
    } else {
        if (!(n = malloc(cap * sizeof *n)))
            return ENOMEM;
        if (l->len)
            memcpy(n, l->items, l->len * sizeof *n);
        *retired = l->items;
    }
    /* release: the copied slots are written before a reader finds the array. */
    __atomic_store_n(&l->items, n, __ATOMIC_RELEASE);
    l->cap = cap;
    return 0;
}

static void list_retire(struct vm_thread *ts, struct vm_object **retired)
{
    if (retired)
        vm_defer_free(ts, retired);
}

/* The error list_reserve's answer means; returns -1. */
static int list_grow_error(struct vm_thread *ts, int rc, size_t want)
{
    if (rc == ERANGE)
        vm_raise(ts, VM_EXC_MEMORY, "a list of %zu items is longer than gillab allows (%zu)", want,
                 (size_t)VM_MAX_SEQ_LEN);
    else
        vm_raise(ts, VM_EXC_MEMORY, "out of memory");
    return -1;
}

int vm_list_append(struct vm_thread *ts, struct vm_list *l, struct vm_object *v)
{
    struct vm_object **retired;
    vm_objlock(ts, &l->lock);
    int rc = list_reserve(ts, l, 1, &retired);
    size_t want = l->len + 1;
    if (rc == 0) {
        list_store(&l->items[l->len], v);
        list_set_len(l, l->len + 1);
    }
    vm_objunlock(ts, &l->lock);
    list_retire(ts, retired);
    if (rc != 0) {
        vm_decref(ts, v);
        return list_grow_error(ts, rc, want);
    }
    return 0;
}

int vm_list_insert(struct vm_thread *ts, struct vm_list *l, int64_t i, struct vm_object *v)
{
    struct vm_object **retired;
    vm_objlock(ts, &l->lock);
    int rc = list_reserve(ts, l, 1, &retired);
    size_t want = l->len + 1;
    if (rc == 0) {
        int64_t n = (int64_t)l->len;
        if (i < 0)
            i = i + n < 0 ? 0 : i + n;
        if (i > n)
            i = n;
        /* One slot at a time, from the end: a reader sees each slot hold
           an item that is in the list (or the new one). */
        for (int64_t k = n; k > i; k--)
            list_store(&l->items[k], l->items[k - 1]);
        list_store(&l->items[i], v);
        list_set_len(l, (size_t)n + 1);
    }
    vm_objunlock(ts, &l->lock);
    list_retire(ts, retired);
    if (rc != 0) {
        vm_decref(ts, v);
        return list_grow_error(ts, rc, want);
    }
    return 0;
}

void vm_list_close_gap(struct vm_list *l, int64_t i)
{
    size_t n = l->len;
    /* One slot at a time: a lock-free reader sees each slot hold an item that is
       in the list, or the one removed (whose release the caller defers). */
    for (size_t k = (size_t)i; k + 1 < n; k++)
        list_store(&l->items[k], l->items[k + 1]);
    list_set_len(l, n - 1);
}

/* Lists are freed through a per-thread queue (CPython's "trashcan"), so that
   freeing a list of lists of lists ... never recurses deeply. */
static void list_free(struct vm_thread *ts, struct vm_list *l)
{
    list_unregister(ts, l);
    for (size_t i = 0; i < l->len; i++)
        vm_xdecref(ts, l->items[i]);
    free(l->items);
    vm_free(ts, l);
}

/* The link of o in the deferred-dealloc queue: lists and gc objects have one. */
static struct vm_object **dealloc_link(struct vm_object *o)
{
    if (o->type == &vm_list_type)
        return &((struct vm_list *)o)->dealloc_next;
    return &((struct vm_gchead *)o)->dealloc_next;
}

void vm_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    if (o->type != &vm_list_type && !o->type->clear) {
        o->type->dealloc(ts, o);
        return;
    }
    *dealloc_link(o) = ts->dealloc_pending;
    ts->dealloc_pending = o;
    if (ts->in_dealloc)
        return;
    ts->in_dealloc = true;
    while ((o = ts->dealloc_pending) != NULL) {
        ts->dealloc_pending = *dealloc_link(o);
        if (o->type == &vm_list_type)
            list_free(ts, (struct vm_list *)o);
        else
            o->type->dealloc(ts, o);
    }
    ts->in_dealloc = false;
}

void vm_free_immortal(struct vm_thread *ts, struct vm_object *o)
{
    /* What each type's dealloc frees besides its references: the registries
       (lists; dicts, cells and instances) and the memory it owns that is no
       object. Once the run has ended, vm_break_cycles has emptied the
       containers, so nothing but immortal objects is referred to any more. */
    switch (o->type->kind) {
    case VM_K_LIST: {
        struct vm_list *l = (struct vm_list *)o;
        list_unregister(ts, l);
        free(l->items);
        break;
    }
    case VM_K_DICT: {
        struct vm_dict *d = (struct vm_dict *)o;
        vm_gc_untrack(ts, &d->gc);
        free(d->entries);
        free(d->index);
        break;
    }
    case VM_K_CELL:
    case VM_K_INSTANCE:
        vm_gc_untrack(ts, (struct vm_gchead *)o);
        break;
    case VM_K_CLASS:
        free(((struct vm_class *)o)->slot_names);
        break;
    default:
        break;
    }
    vm_free(ts, o);
}

static void function_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    struct vm_function *fn = (struct vm_function *)o;
    if (fn->closure)
        vm_decref(ts, &fn->closure->ob);
    vm_free(ts, o);
}

static void method_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    vm_decref(ts, ((struct vm_method *)o)->self);
    vm_free(ts, o);
}

static void list_iter_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    struct vm_list_iter *it = (struct vm_list_iter *)o;
    if (it->list)   /* NULL once exhausted */
        vm_decref(ts, &it->list->ob);
    vm_free(ts, o);
}

static void str_iter_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    vm_decref(ts, &((struct vm_str_iter *)o)->str->ob);
    vm_free(ts, o);
}

void vm_objlock_slow(struct vm_thread *ts, atomic_uchar *l)
{
    ts->st.objlock_contended++;
    for (unsigned spins = 0;; spins++) {
        /* relaxed: only a hint that the byte may be free; the exchange below
           is the acquire that matters. */
        while (atomic_load_explicit(l, memory_order_relaxed) != 0) {
            if (++spins >= VM_SPINS_BEFORE_YIELD) {
                sched_yield();   /* the holder may be preempted: let it run */
                spins = 0;
            }
        }
        unsigned char expected = 0;
        /* acquire: pairs with the holder's release in vm_objunlock. */
        if (atomic_compare_exchange_weak_explicit(l, &expected, 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return;
    }
}

/* A consistent view of a list's items: under a multi-threaded policy a copy
   with a reference to each item (taken under the list lock), else the list
   itself. */
struct snap {
    struct vm_object **items;
    size_t n;
    bool owned;
};

static int snap_take(struct vm_thread *ts, struct vm_list *l, struct snap *s)
{
    if (!ts->mt) {
        s->items = l->items;
        s->n = l->len;
        s->owned = false;
        return 0;
    }
    vm_objlock(ts, &l->lock);
    s->n = l->len;
    s->items = malloc((s->n ? s->n : 1) * sizeof *s->items);
    if (s->items) {
        for (size_t i = 0; i < s->n; i++) {
            s->items[i] = l->items[i];
            vm_incref(ts, s->items[i]);
        }
    }
    vm_objunlock(ts, &l->lock);
    s->owned = true;
    if (!s->items) {
        vm_raise(ts, VM_EXC_MEMORY, "out of memory");
        return -1;
    }
    return 0;
}

static void snap_release(struct vm_thread *ts, struct snap *s)
{
    if (!s->owned)
        return;
    for (size_t i = 0; i < s->n; i++)
        vm_decref(ts, s->items[i]);
    free(s->items);
}

/* ---- arithmetic --------------------------------------------------------------------------- */

static const char *const binop_sym[] = {"+", "-", "*", "/", "//", "%"};
static const char *const inplace_sym[] = {"+=", "-=", "*=", "/=", "//=", "%="};

static bool is_number(const struct vm_object *o)
{
    return vm_is_intlike(o) || o->type == &vm_float_type;
}

static double as_double(const struct vm_object *o)
{
    return o->type == &vm_float_type ? vm_float_value(o) : (double)vm_int_value(o);
}

/* a / b for ints, correctly rounded like CPython's long_true_divide. */
static double int_true_divide(int64_t a, int64_t b)
{
    const int64_t exact = (int64_t)1 << 53;
    if (a >= -exact && a <= exact && b >= -exact && b <= exact)
        return (double)a / (double)b;   /* both exact as doubles: one rounding */
    bool neg = (a < 0) != (b < 0);
    uint64_t ua = a < 0 ? (uint64_t)0 - (uint64_t)a : (uint64_t)a;
    uint64_t ub = b < 0 ? (uint64_t)0 - (uint64_t)b : (uint64_t)b;
    if (ua == 0)
        return neg ? -0.0 : 0.0;
    /* Scale the dividend so the quotient has at least 62 bits, then fold the
       remainder into a sticky bit: converting that to double rounds once,
       correctly (round half to even). */
    int shift = __builtin_clzll(ua) + 63;
    unsigned __int128 n = (unsigned __int128)ua << shift;
    unsigned __int128 q = n / ub, r = n % ub;
    if (r != 0)
        q |= 1;
    double d = ldexp((double)q, -shift);
    return neg ? -d : d;
}

static struct vm_object *int_binop(struct vm_thread *ts, enum vm_binop op, int64_t a, int64_t b)
{
    int64_t r;
    switch (op) {
    case VM_BIN_ADD:
        if (__builtin_add_overflow(a, b, &r))
            return vm_overflow(ts);
        return vm_int_new(ts, r);
    case VM_BIN_SUB:
        if (__builtin_sub_overflow(a, b, &r))
            return vm_overflow(ts);
        return vm_int_new(ts, r);
    case VM_BIN_MUL:
        if (__builtin_mul_overflow(a, b, &r))
            return vm_overflow(ts);
        return vm_int_new(ts, r);
    case VM_BIN_TRUEDIV:
        if (b == 0)
            return vm_raise(ts, VM_EXC_ZERODIV, "division by zero");
        return vm_float_new(ts, int_true_divide(a, b));
    case VM_BIN_FLOORDIV:
        if (b == 0)
            return vm_raise(ts, VM_EXC_ZERODIV, "integer division or modulo by zero");
        if (a == INT64_MIN && b == -1)
            return vm_overflow(ts);
        r = a / b;
        if (a % b != 0 && ((a < 0) != (b < 0)))
            r--;   /* Python floors; C truncates */
        return vm_int_new(ts, r);
    default:   /* VM_BIN_MOD */
        if (b == 0)
            return vm_raise(ts, VM_EXC_ZERODIV, "integer modulo by zero");   /* 3.11's wording */
        if (b == -1)
            return vm_int_new(ts, 0);   /* also avoids INT64_MIN % -1 */
        r = a % b;
        if (r != 0 && ((r < 0) != (b < 0)))
            r += b;   /* the result takes the divisor's sign */
        return vm_int_new(ts, r);
    }
}

static struct vm_object *float_binop(struct vm_thread *ts, enum vm_binop op, double a, double b)
{
    switch (op) {
    case VM_BIN_ADD: return vm_float_new(ts, a + b);
    case VM_BIN_SUB: return vm_float_new(ts, a - b);
    case VM_BIN_MUL: return vm_float_new(ts, a * b);
    case VM_BIN_TRUEDIV:
        if (b == 0.0)
            return vm_raise(ts, VM_EXC_ZERODIV, "float division by zero");
        return vm_float_new(ts, a / b);
    case VM_BIN_FLOORDIV: {
        if (b == 0.0)
            return vm_raise(ts, VM_EXC_ZERODIV, "float floor division by zero");
        /* CPython's float_divmod, so the quotient rounds the same way. */
        double mod = fmod(a, b);
        double div = (a - mod) / b;
        if (mod != 0.0) {
            if ((b < 0) != (mod < 0))
                div -= 1.0;
        }
        double floordiv;
        if (div != 0.0) {
            floordiv = floor(div);
            if (div - floordiv > 0.5)
                floordiv += 1.0;
        } else {
            floordiv = copysign(0.0, a / b);
        }
        return vm_float_new(ts, floordiv);
    }
    default: {
        if (b == 0.0)
            return vm_raise(ts, VM_EXC_ZERODIV, "float modulo");
        double mod = fmod(a, b);
        if (mod != 0.0) {
            if ((b < 0) != (mod < 0))
                mod += b;
        } else {
            mod = copysign(0.0, b);
        }
        return vm_float_new(ts, mod);
    }
    }
}

static struct vm_object *binop_type_error(struct vm_thread *ts, enum vm_binop op, struct vm_object *a,
                                          struct vm_object *b, bool inplace)
{
    return vm_raise(ts, VM_EXC_TYPE, "unsupported operand type(s) for %s: '%s' and '%s'",
                    inplace ? inplace_sym[op] : binop_sym[op], tname(a), tname(b));
}

static struct vm_object *str_concat(struct vm_thread *ts, struct vm_str *a, struct vm_str *b)
{
    if (a->len + b->len > VM_MAX_SEQ_LEN)
        return vm_raise(ts, VM_EXC_MEMORY, "string too long");
    struct vm_str *r = (struct vm_str *)vm_str_new(ts, NULL, a->len + b->len);
    if (!r)
        return NULL;
    memcpy(r->data, a->data, a->len);
    memcpy(r->data + a->len, b->data, b->len);
    r->data[r->len] = '\0';
    return &r->ob;
}

static struct vm_object *str_repeat(struct vm_thread *ts, struct vm_str *s, int64_t n)
{
    if (n <= 0 || s->len == 0)
        return vm_str_new(ts, "", 0);
    if ((uint64_t)n > (uint64_t)INT64_MAX / s->len)   /* beyond any size: CPython's OverflowError */
        return vm_raise(ts, VM_EXC_OVERFLOW, "repeated string is too long");
    if ((uint64_t)n > VM_MAX_SEQ_LEN / s->len)
        return vm_raise(ts, VM_EXC_MEMORY, "repeated string is too long");
    size_t total = s->len * (size_t)n;
    struct vm_str *r = (struct vm_str *)vm_str_new(ts, NULL, total);
    if (!r)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        memcpy(r->data + (size_t)i * s->len, s->data, s->len);
    r->data[total] = '\0';
    return &r->ob;
}

/* New list: the items of a (times n). Under ATOMIC, a snapshot of a. */
static struct vm_object *list_repeat(struct vm_thread *ts, struct vm_list *a, int64_t n)
{
    struct snap s;
    if (snap_take(ts, a, &s) < 0)
        return NULL;
    struct vm_object *r = NULL;
    if (n <= 0 || s.n == 0) {
        r = vm_list_new(ts, 0);
    } else if ((uint64_t)n > VM_MAX_SEQ_LEN / s.n) {
        vm_raise(ts, VM_EXC_MEMORY, "repeated list is too long");
    } else {
        r = vm_list_new(ts, s.n * (size_t)n);
        if (r) {
            struct vm_list *l = (struct vm_list *)r;
            for (size_t k = 0; k < l->len; k++) {
                l->items[k] = s.items[k % s.n];
                vm_incref(ts, l->items[k]);
            }
        }
    }
    snap_release(ts, &s);
    return r;
}

static struct vm_object *list_concat(struct vm_thread *ts, struct vm_list *a, struct vm_list *b)
{
    struct snap sa, sb;
    if (snap_take(ts, a, &sa) < 0)
        return NULL;
    if (snap_take(ts, b, &sb) < 0) {
        snap_release(ts, &sa);
        return NULL;
    }
    struct vm_object *r = vm_list_new(ts, sa.n + sb.n);
    if (r) {
        struct vm_list *l = (struct vm_list *)r;
        for (size_t i = 0; i < sa.n; i++)
            vm_incref(ts, l->items[i] = sa.items[i]);
        for (size_t i = 0; i < sb.n; i++)
            vm_incref(ts, l->items[sa.n + i] = sb.items[i]);
    }
    snap_release(ts, &sb);
    snap_release(ts, &sa);
    return r;
}

/* lst *= n changes lst itself: the new list nl's items become l's, and nl
   (a temporary) is dropped. Under a multi-threaded policy l's array is
   replaced only by a longer one (a shorter result keeps l's array and only
   lowers its length), and l's old references are released after a grace
   period, as the list essay above requires. */
static void list_take_items(struct vm_thread *ts, struct vm_list *l, struct vm_list *nl)
{
    vm_objlock(ts, &l->lock);
    struct vm_object **old = l->items;
    size_t oldn = l->len, oldcap = l->cap;
    bool grow = !ts->mt || nl->len > oldcap;
    if (grow) {
        __atomic_store_n(&l->items, nl->items, __ATOMIC_RELEASE);   /* release: see list_store */
        l->cap = nl->cap;
    } else {
        for (size_t k = 0; k < nl->len; k++)
            list_store(&l->items[k], nl->items[k]);
    }
    list_set_len(l, nl->len);
    vm_objunlock(ts, &l->lock);
    if (grow) {
        nl->items = NULL;
        nl->len = nl->cap = 0;
    } else {
        nl->len = 0;   /* its references moved into l; its array goes with it */
    }
    if (!ts->mt) {
        nl->items = old;   /* the temporary takes the old items and frees them */
        nl->len = nl->cap = oldn;
    } else {
        for (size_t k = 0; k < oldn; k++)
            vm_defer_decref(ts, old[k]);
        if (grow)
            list_retire(ts, old);
    }
    vm_decref(ts, &nl->ob);
}

/* a += iterable: extend in place (list.extend). Returns 0 or -1. */
static int list_extend(struct vm_thread *ts, struct vm_list *a, struct vm_object *src)
{
    if (src->type == &vm_list_type) {
        struct snap s;
        if (snap_take(ts, (struct vm_list *)src, &s) < 0)
            return -1;
        /* Copy first: `a += a` reads the list it grows. */
        struct vm_object **tmp = malloc((s.n ? s.n : 1) * sizeof *tmp);
        int rc = tmp ? 0 : ENOMEM;
        size_t want = s.n;
        if (tmp) {
            if (s.n)
                memcpy(tmp, s.items, s.n * sizeof *tmp);   /* an empty list may have no array */
            struct vm_object **retired;
            for (size_t i = 0; i < s.n; i++)
                vm_incref(ts, tmp[i]);
            vm_objlock(ts, &a->lock);
            want += a->len;
            rc = list_reserve(ts, a, s.n, &retired);
            if (rc == 0) {
                for (size_t i = 0; i < s.n; i++)
                    list_store(&a->items[a->len + i], tmp[i]);
                list_set_len(a, a->len + s.n);
            }
            vm_objunlock(ts, &a->lock);
            list_retire(ts, retired);
            if (rc != 0)
                for (size_t i = 0; i < s.n; i++)
                    vm_decref(ts, tmp[i]);
            free(tmp);
        }
        snap_release(ts, &s);
        return rc != 0 ? list_grow_error(ts, rc, want) : 0;
    }
    struct vm_object *it = vm_get_iter(ts, src);
    if (!it)
        return -1;
    struct vm_object *v;
    while ((v = vm_iter_next(ts, it)) != NULL) {
        if (vm_list_append(ts, a, v) < 0) {
            vm_decref(ts, it);
            return -1;
        }
    }
    vm_decref(ts, it);
    return ts->exc != VM_EXC_NONE ? -1 : 0;
}

struct vm_object *vm_binary(struct vm_thread *ts, enum vm_binop op, struct vm_object *a,
                            struct vm_object *b, bool inplace)
{
    if (vm_is_intlike(a) && vm_is_intlike(b))
        return int_binop(ts, op, vm_int_value(a), vm_int_value(b));
    if (is_number(a) && is_number(b))
        return float_binop(ts, op, as_double(a), as_double(b));
    const struct vm_type *ta = a->type, *tb = b->type;
    if (op == VM_BIN_MOD && ta == &vm_str_type)   /* Python formats; gillab would not say the same */
        return vm_raise(ts, VM_EXC_TYPE, "str %% formatting is not supported in gillab's Python subset");
    if (op == VM_BIN_ADD) {
        if (ta == &vm_str_type) {
            if (tb == &vm_str_type)
                return str_concat(ts, (struct vm_str *)a, (struct vm_str *)b);
            return vm_raise(ts, VM_EXC_TYPE, "can only concatenate str (not \"%s\") to str", tname(b));
        }
        if (ta == &vm_list_type) {
            if (inplace) {
                if (list_extend(ts, (struct vm_list *)a, b) < 0)
                    return NULL;
                vm_incref(ts, a);
                return a;
            }
            if (tb == &vm_list_type)
                return list_concat(ts, (struct vm_list *)a, (struct vm_list *)b);
            return vm_raise(ts, VM_EXC_TYPE, "can only concatenate list (not \"%s\") to list", tname(b));
        }
    }
    if (op == VM_BIN_MUL) {
        struct vm_object *seq = NULL, *count = NULL;
        if ((ta == &vm_str_type || ta == &vm_list_type) && vm_is_intlike(b))
            seq = a, count = b;
        else if ((tb == &vm_str_type || tb == &vm_list_type) && vm_is_intlike(a))
            seq = b, count = a;
        if (seq && seq->type == &vm_str_type)
            return str_repeat(ts, (struct vm_str *)seq, vm_int_value(count));
        if (seq) {
            struct vm_object *r = list_repeat(ts, (struct vm_list *)seq, vm_int_value(count));
            if (r && inplace && seq == a) {
                list_take_items(ts, (struct vm_list *)a, (struct vm_list *)r);
                vm_incref(ts, a);
                return a;
            }
            return r;
        }
        /* A sequence times anything but an int (CPython's sequence_repeat). */
        if (ta == &vm_str_type || ta == &vm_list_type)
            return vm_raise(ts, VM_EXC_TYPE, "can't multiply sequence by non-int of type '%s'", tname(b));
        if (tb == &vm_str_type || tb == &vm_list_type)
            return vm_raise(ts, VM_EXC_TYPE, "can't multiply sequence by non-int of type '%s'", tname(a));
    }
    return binop_type_error(ts, op, a, b, inplace);
}

struct vm_object *vm_negative(struct vm_thread *ts, struct vm_object *a)
{
    if (vm_is_intlike(a)) {
        int64_t v = vm_int_value(a);
        if (v == INT64_MIN)
            return vm_overflow(ts);
        return vm_int_new(ts, -v);
    }
    if (a->type == &vm_float_type)
        return vm_float_new(ts, -vm_float_value(a));
    return vm_raise(ts, VM_EXC_TYPE, "bad operand type for unary -: '%s'", tname(a));
}

struct vm_object *vm_positive(struct vm_thread *ts, struct vm_object *a)
{
    if (vm_is_intlike(a))
        return vm_int_new(ts, vm_int_value(a));
    if (a->type == &vm_float_type) {
        vm_incref(ts, a);
        return a;
    }
    return vm_raise(ts, VM_EXC_TYPE, "bad operand type for unary +: '%s'", tname(a));
}

/* ---- comparison ------------------------------------------------------------------------- */

static const char *const cmp_sym[] = {"<", "<=", "==", "!=", ">", ">="};

/* -1, 0, 1 for i <, ==, > f; 2 when f is NaN. Exact, as CPython's
   float_richcompare: no rounding of i to double decides the result. */
static int cmp_int_float(int64_t i, double f)
{
    if (isnan(f))
        return 2;
    if (isinf(f))
        return f > 0 ? -1 : 1;
    double di = (double)i;
    if (di < f)
        return -1;
    if (di > f)
        return 1;
    /* di == f: f is integral here; compare exactly as integers. */
    if (f >= 9223372036854775808.0)
        return -1;
    if (f < -9223372036854775808.0)
        return 1;
    int64_t fi = (int64_t)f;
    return i < fi ? -1 : i > fi;
}

static bool cmp_result(int cmp, int order)
{
    switch (cmp) {
    case VM_CMP_LT: return order < 0;
    case VM_CMP_LE: return order <= 0;
    case VM_CMP_EQ: return order == 0;
    case VM_CMP_NE: return order != 0;
    case VM_CMP_GT: return order > 0;
    default: return order >= 0;
    }
}

static int list_compare(struct vm_thread *ts, int cmp, struct vm_list *a, struct vm_list *b)
{
    if (ts->c_depth >= VM_RECURSION_LIMIT) {
        vm_raise(ts, VM_EXC_RECURSION, "maximum recursion depth exceeded in comparison");
        return -1;
    }
    struct snap sa, sb;
    if (snap_take(ts, a, &sa) < 0)
        return -1;
    if (snap_take(ts, b, &sb) < 0) {
        snap_release(ts, &sa);
        return -1;
    }
    ts->c_depth++;
    int r = 0;
    size_t i = 0;
    for (; i < sa.n && i < sb.n; i++) {
        if (sa.items[i] == sb.items[i])
            continue;   /* identity implies equality, as in CPython */
        r = vm_compare(ts, VM_CMP_EQ, sa.items[i], sb.items[i]);
        if (r < 0)
            goto out;
        if (!r)
            break;
    }
    if (i >= sa.n || i >= sb.n) {
        r = cmp_result(cmp, sa.n < sb.n ? -1 : sa.n > sb.n);
    } else if (cmp == VM_CMP_EQ) {
        r = 0;
    } else if (cmp == VM_CMP_NE) {
        r = 1;
    } else {
        r = vm_compare(ts, cmp, sa.items[i], sb.items[i]);
    }
out:
    ts->c_depth--;
    snap_release(ts, &sb);
    snap_release(ts, &sa);
    return r;
}

int vm_compare(struct vm_thread *ts, int cmp, struct vm_object *a, struct vm_object *b)
{
    if (vm_is_intlike(a) && vm_is_intlike(b)) {
        int64_t x = vm_int_value(a), y = vm_int_value(b);
        return cmp_result(cmp, x < y ? -1 : x > y);
    }
    if (is_number(a) && is_number(b)) {
        int order;
        if (a->type == &vm_float_type && b->type == &vm_float_type) {
            double x = vm_float_value(a), y = vm_float_value(b);
            order = isnan(x) || isnan(y) ? 2 : x < y ? -1 : x > y;
        } else if (a->type == &vm_float_type) {
            order = cmp_int_float(vm_int_value(b), vm_float_value(a));
            if (order != 2)
                order = -order;
        } else {
            order = cmp_int_float(vm_int_value(a), vm_float_value(b));
        }
        if (order == 2)   /* NaN: only != holds */
            return cmp == VM_CMP_NE;
        return cmp_result(cmp, order);
    }
    if (a->type == &vm_str_type && b->type == &vm_str_type) {
        const struct vm_str *x = (const struct vm_str *)a, *y = (const struct vm_str *)b;
        size_t n = x->len < y->len ? x->len : y->len;
        int c = memcmp(x->data, y->data, n);   /* UTF-8 byte order is code point order */
        int order = c < 0 ? -1 : c > 0 ? 1 : x->len < y->len ? -1 : x->len > y->len;
        return cmp_result(cmp, order);
    }
    if (a->type == &vm_list_type && b->type == &vm_list_type)
        return list_compare(ts, cmp, (struct vm_list *)a, (struct vm_list *)b);
    if (a->type == &vm_range_type && b->type == &vm_range_type && (cmp == VM_CMP_EQ || cmp == VM_CMP_NE)) {
        const struct vm_range *x = (const struct vm_range *)a, *y = (const struct vm_range *)b;
        bool eq = x->start == y->start && x->stop == y->stop && x->step == y->step;
        return cmp == VM_CMP_EQ ? eq : !eq;
    }
    if (a->type == &vm_dict_type && b->type == &vm_dict_type && a != b && (cmp == VM_CMP_EQ || cmp == VM_CMP_NE)) {
        if (ts->c_depth >= VM_RECURSION_LIMIT) {
            vm_raise(ts, VM_EXC_RECURSION, "maximum recursion depth exceeded in comparison");
            return -1;
        }
        ts->c_depth++;
        int eq = vm_dict_equal(ts, (struct vm_dict *)a, (struct vm_dict *)b);
        ts->c_depth--;
        return eq < 0 ? -1 : cmp == VM_CMP_EQ ? eq : !eq;
    }
    if (cmp == VM_CMP_EQ)
        return a == b;
    if (cmp == VM_CMP_NE)
        return a != b;
    vm_raise(ts, VM_EXC_TYPE, "'%s' not supported between instances of '%s' and '%s'", cmp_sym[cmp],
             tname(a), tname(b));
    return -1;
}

/* ---- truth, length, indexing ----------------------------------------------------------- */

static void key_error(struct vm_thread *ts, struct vm_object *key);

static uint64_t range_length(int64_t start, int64_t stop, int64_t step)
{
    if (step > 0 && start < stop)
        return ((uint64_t)stop - (uint64_t)start - 1) / (uint64_t)step + 1;
    if (step < 0 && start > stop)
        return ((uint64_t)start - (uint64_t)stop - 1) / ((uint64_t)0 - (uint64_t)step) + 1;
    return 0;
}

static size_t list_len(struct vm_thread *ts, struct vm_list *l)
{
    (void)ts;
    /* acquire: no lock (see the list essay); a length some moment held. */
    return __atomic_load_n(&l->len, __ATOMIC_ACQUIRE);
}

static size_t dict_len(struct vm_thread *ts, struct vm_dict *d)
{
    vm_objlock(ts, &d->lock);
    size_t n = d->used;
    vm_objunlock(ts, &d->lock);
    return n;
}

static size_t utf8_count(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

bool vm_truthy(struct vm_thread *ts, struct vm_object *o)
{
    if (o == VM_TRUE)
        return true;
    if (o == VM_FALSE || o == VM_NONE)
        return false;
    switch (o->type->kind) {
    case VM_K_INT: return vm_int_value(o) != 0;
    case VM_K_FLOAT: return vm_float_value(o) != 0.0;
    case VM_K_STR: return ((struct vm_str *)o)->len != 0;
    case VM_K_LIST: return list_len(ts, (struct vm_list *)o) != 0;
    case VM_K_TUPLE: return ((struct vm_tuple *)o)->len != 0;
    case VM_K_DICT: return dict_len(ts, (struct vm_dict *)o) != 0;
    case VM_K_RANGE: {
        const struct vm_range *r = (const struct vm_range *)o;
        return range_length(r->start, r->stop, r->step) != 0;
    }
    default: return true;
    }
}

long long vm_len(struct vm_thread *ts, struct vm_object *o)
{
    switch (o->type->kind) {
    case VM_K_LIST: return (long long)list_len(ts, (struct vm_list *)o);
    case VM_K_TUPLE: return (long long)((struct vm_tuple *)o)->len;
    case VM_K_DICT: return (long long)dict_len(ts, (struct vm_dict *)o);
    case VM_K_STR: {
        const struct vm_str *s = (const struct vm_str *)o;
        return (long long)utf8_count(s->data, s->len);
    }
    case VM_K_RANGE: {
        const struct vm_range *r = (const struct vm_range *)o;
        uint64_t n = range_length(r->start, r->stop, r->step);
        if (n > (uint64_t)INT64_MAX) {
            vm_raise(ts, VM_EXC_OVERFLOW, "Python int too large to convert to C ssize_t");
            return -1;
        }
        return (long long)n;
    }
    default:
        vm_raise(ts, VM_EXC_TYPE, "object of type '%s' has no len()", tname(o));
        return -1;
    }
}

/* Byte offset of code point `index` in s, or -1. */
static long long utf8_offset(const struct vm_str *s, size_t index)
{
    size_t cp = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (((unsigned char)s->data[i] & 0xC0) == 0x80)
            continue;
        if (cp == index)
            return (long long)i;
        cp++;
    }
    return -1;
}

static size_t utf8_char_len(const char *p)
{
    unsigned char b = (unsigned char)p[0];
    return b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
}

/* key as a list index into *i (a negative one still counts from the end), or
   false with CPython's TypeError raised. */
static bool list_index(struct vm_thread *ts, struct vm_object *key, int64_t *i)
{
    if (!vm_is_intlike(key)) {
        vm_raise(ts, VM_EXC_TYPE, "list indices must be integers or slices, not %s", tname(key));
        return false;
    }
    *i = vm_int_value(key);
    return true;
}

struct vm_object *vm_subscr(struct vm_thread *ts, struct vm_object *o, struct vm_object *key)
{
    const struct vm_type *t = o->type;
    if (t == &vm_list_type) {
        int64_t i;
        if (!list_index(ts, key, &i))
            return NULL;
        struct vm_list *l = (struct vm_list *)o;
        struct vm_object *v = NULL;
        if (ts->mt) {
            v = list_item_lockfree(ts, l, i);
        } else {
            int64_t n = (int64_t)l->len;
            if (i < 0)
                i += n;
            if (i >= 0 && i < n) {
                v = l->items[i];
                vm_incref(ts, v);
            }
        }
        if (!v)
            return vm_raise(ts, VM_EXC_INDEX, "list index out of range");
        return v;
    }
    if (t == &vm_str_type) {
        if (!vm_is_intlike(key))
            return vm_raise(ts, VM_EXC_TYPE, "string indices must be integers, not '%s'", tname(key));
        const struct vm_str *s = (const struct vm_str *)o;
        int64_t n = (int64_t)utf8_count(s->data, s->len);
        int64_t i = vm_int_value(key);
        if (i < 0)
            i += n;
        if (i < 0 || i >= n)
            return vm_raise(ts, VM_EXC_INDEX, "string index out of range");
        long long off = utf8_offset(s, (size_t)i);
        return vm_str_new(ts, s->data + off, utf8_char_len(s->data + off));
    }
    if (t == &vm_range_type) {
        if (!vm_is_intlike(key))
            return vm_raise(ts, VM_EXC_TYPE, "range indices must be integers or slices, not %s", tname(key));
        const struct vm_range *r = (const struct vm_range *)o;
        uint64_t n = range_length(r->start, r->stop, r->step);
        int64_t i = vm_int_value(key);
        if (i < 0)
            i += (int64_t)n;
        if (i < 0 || (uint64_t)i >= n)
            return vm_raise(ts, VM_EXC_INDEX, "range object index out of range");
        return vm_int_new(ts, (int64_t)((uint64_t)r->start + (uint64_t)i * (uint64_t)r->step));
    }
    if (t == &vm_tuple_type) {
        if (!vm_is_intlike(key))
            return vm_raise(ts, VM_EXC_TYPE, "tuple indices must be integers or slices, not %s", tname(key));
        const struct vm_tuple *tu = (const struct vm_tuple *)o;
        int64_t i = vm_int_value(key);
        if (i < 0)
            i += (int64_t)tu->len;
        if (i < 0 || (uint64_t)i >= tu->len)
            return vm_raise(ts, VM_EXC_INDEX, "tuple index out of range");
        vm_incref(ts, tu->items[i]);
        return tu->items[i];
    }
    if (t == &vm_dict_type) {
        struct vm_object *v = NULL;
        if (key->type == &vm_str_type) {
            const struct vm_str *k = (const struct vm_str *)key;
            v = vm_dict_get(ts, (struct vm_dict *)o, k->data, k->len, vm_str_hash(k->data, k->len));
        } else if (key->type == &vm_list_type || key->type == &vm_dict_type) {
            return vm_raise(ts, VM_EXC_TYPE, "unhashable type: '%s'", tname(key));
        }
        if (!v)
            key_error(ts, key);
        return v;
    }
    return vm_raise(ts, VM_EXC_TYPE, "'%s' object is not subscriptable", tname(o));
}

/* KeyError: the key's repr, as CPython prints it. */
static void key_error(struct vm_thread *ts, struct vm_object *key)
{
    struct vm_buf b = {0};
    if (vm_repr_into(ts, &b, key) == 0)
        vm_raise(ts, VM_EXC_KEY, "%.300s", b.p ? b.p : "");
    vm_buf_free(&b);
}

/* A dict key must be a str here (CPython takes any hashable object). */
static bool dict_key_ok(struct vm_thread *ts, struct vm_object *key)
{
    if (key->type == &vm_str_type)
        return true;
    vm_raise(ts, VM_EXC_TYPE, "dict keys other than str are not supported in gillab's Python subset ('%s')",
             tname(key));
    return false;
}

int vm_del_subscr(struct vm_thread *ts, struct vm_object *o, struct vm_object *key)
{
    if (o->type == &vm_dict_type) {
        if (key->type != &vm_str_type) {
            if (key->type == &vm_list_type || key->type == &vm_dict_type)
                vm_raise(ts, VM_EXC_TYPE, "unhashable type: '%s'", tname(key));
            else
                key_error(ts, key);
            return -1;
        }
        const struct vm_str *k = (const struct vm_str *)key;
        if (vm_dict_del(ts, (struct vm_dict *)o, k->data, k->len, vm_str_hash(k->data, k->len)) != 0) {
            key_error(ts, key);
            return -1;
        }
        return 0;
    }
    if (o->type != &vm_list_type) {
        /* CPython's words differ for sequences and for everything else. */
        bool seq = o->type == &vm_str_type || o->type == &vm_tuple_type || o->type == &vm_range_type;
        vm_raise(ts, VM_EXC_TYPE, "'%s' object %s support item deletion", tname(o), seq ? "doesn't" : "does not");
        return -1;
    }
    int64_t i;
    if (!list_index(ts, key, &i))
        return -1;
    struct vm_list *l = (struct vm_list *)o;
    struct vm_object *old = NULL;
    vm_objlock(ts, &l->lock);
    int64_t n = (int64_t)l->len;
    if (i < 0)
        i += n;
    if (i >= 0 && i < n) {
        old = l->items[i];
        vm_list_close_gap(l, i);
    }
    vm_objunlock(ts, &l->lock);
    if (!old) {
        vm_raise(ts, VM_EXC_INDEX, "list assignment index out of range");
        return -1;
    }
    vm_defer_decref(ts, old);   /* after unlocking: freeing may touch other lists */
    return 0;
}

int vm_store_subscr(struct vm_thread *ts, struct vm_object *o, struct vm_object *key, struct vm_object *v)
{
    if (o->type == &vm_dict_type) {
        if (!dict_key_ok(ts, key))
            return -1;
        const struct vm_str *k = (const struct vm_str *)key;
        return vm_dict_set(ts, (struct vm_dict *)o, key, vm_str_hash(k->data, k->len), v);
    }
    if (o->type != &vm_list_type) {
        vm_raise(ts, VM_EXC_TYPE, "'%s' object does not support item assignment", tname(o));
        return -1;
    }
    int64_t i;
    if (!list_index(ts, key, &i))
        return -1;
    struct vm_list *l = (struct vm_list *)o;
    vm_incref(ts, v);
    vm_objlock(ts, &l->lock);
    int64_t n = (int64_t)l->len;
    if (i < 0)
        i += n;
    struct vm_object *old = NULL;
    bool ok = i >= 0 && i < n;
    if (ok) {
        old = l->items[i];
        list_store(&l->items[i], v);
    }
    vm_objunlock(ts, &l->lock);
    if (!ok) {
        vm_decref(ts, v);
        vm_raise(ts, VM_EXC_INDEX, "list assignment index out of range");
        return -1;
    }
    vm_defer_decref(ts, old);   /* after unlocking: freeing may touch other lists */
    return 0;
}

/* ---- iteration -------------------------------------------------------------------------- */

struct vm_object *vm_get_iter(struct vm_thread *ts, struct vm_object *o)
{
    switch (o->type->kind) {
    case VM_K_RANGE: {
        const struct vm_range *r = (const struct vm_range *)o;
        struct vm_range_iter *it = vm_alloc(ts, &vm_range_iter_type, sizeof *it);
        if (!it)
            return NULL;
        it->next = r->start;
        it->step = r->step;
        it->remaining = range_length(r->start, r->stop, r->step);
        return &it->ob;
    }
    case VM_K_LIST: {
        struct vm_list_iter *it = vm_alloc(ts, &vm_list_iter_type, sizeof *it);
        if (!it)
            return NULL;
        vm_incref(ts, o);
        it->list = (struct vm_list *)o;
        it->index = 0;
        return &it->ob;
    }
    case VM_K_STR: {
        struct vm_str_iter *it = vm_alloc(ts, &vm_str_iter_type, sizeof *it);
        if (!it)
            return NULL;
        vm_incref(ts, o);
        it->str = (struct vm_str *)o;
        it->pos = 0;
        return &it->ob;
    }
    case VM_K_TUPLE:
    case VM_K_DICT: {
        struct vm_seq_iter *it =
            vm_alloc(ts, o->type == &vm_tuple_type ? &vm_tuple_iter_type : &vm_dict_iter_type, sizeof *it);
        if (!it)
            return NULL;
        vm_incref(ts, o);
        it->seq = o;
        it->index = 0;
        it->used = o->type == &vm_dict_type ? dict_len(ts, (struct vm_dict *)o) : 0;
        return &it->ob;
    }
    case VM_K_RANGE_ITER: case VM_K_LIST_ITER: case VM_K_STR_ITER: case VM_K_TUPLE_ITER:
    case VM_K_DICT_ITER:
        vm_incref(ts, o);
        return o;
    default:
        return vm_raise(ts, VM_EXC_TYPE, "'%s' object is not iterable", tname(o));
    }
}

struct vm_object *vm_iter_next(struct vm_thread *ts, struct vm_object *o)
{
    switch (o->type->kind) {
    case VM_K_RANGE_ITER: {
        struct vm_range_iter *it = (struct vm_range_iter *)o;
        if (it->remaining == 0)
            return NULL;
        int64_t v = it->next;
        if (--it->remaining > 0)
            it->next += it->step;   /* still inside the range: cannot overflow */
        return vm_int_new(ts, v);
    }
    case VM_K_LIST_ITER: {
        struct vm_list_iter *it = (struct vm_list_iter *)o;
        struct vm_list *l = it->list;
        if (!l)
            return NULL;
        struct vm_object *v = NULL;
        if (ts->mt) {
            if ((v = list_item_lockfree(ts, l, (int64_t)it->index)) != NULL)
                it->index++;
        } else if (it->index < l->len) {
            v = l->items[it->index++];
            vm_incref(ts, v);
        }
        if (!v) {
            it->list = NULL;
            vm_decref(ts, &l->ob);
        }
        return v;
    }
    case VM_K_STR_ITER: {
        struct vm_str_iter *it = (struct vm_str_iter *)o;
        if (it->pos >= it->str->len)
            return NULL;
        size_t n = utf8_char_len(it->str->data + it->pos);
        struct vm_object *v = vm_str_new(ts, it->str->data + it->pos, n);
        it->pos += n;
        return v;
    }
    case VM_K_TUPLE_ITER: {
        struct vm_seq_iter *it = (struct vm_seq_iter *)o;
        struct vm_tuple *t = (struct vm_tuple *)it->seq;
        if (!t)
            return NULL;
        if (it->index < t->len) {
            struct vm_object *v = t->items[it->index++];
            vm_incref(ts, v);
            return v;
        }
        it->seq = NULL;
        vm_decref(ts, &t->ob);
        return NULL;
    }
    case VM_K_DICT_ITER: {
        struct vm_seq_iter *it = (struct vm_seq_iter *)o;
        struct vm_dict *d = (struct vm_dict *)it->seq;
        if (!d)
            return NULL;
        struct vm_object *k = NULL;
        bool changed;
        vm_objlock(ts, &d->lock);
        changed = d->used != it->used;
        while (!changed && it->index < d->nentries && !k) {
            k = d->entries[it->index++].key;
            if (k)
                vm_incref(ts, k);
        }
        vm_objunlock(ts, &d->lock);
        if (changed) {
            it->used = (size_t)-1;   /* and on every later call, as CPython */
            return vm_raise(ts, VM_EXC_RUNTIME, "dictionary changed size during iteration");
        }
        if (!k) {
            it->seq = NULL;
            vm_decref(ts, &d->gc.ob);
        }
        return k;
    }
    default:
        return vm_raise(ts, VM_EXC_TYPE, "'%s' object is not an iterator", tname(o));
    }
}

/* ---- text -------------------------------------------------------------------------------- */

int vm_buf_put(struct vm_buf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

int vm_buf_puts(struct vm_buf *b, const char *s)
{
    return vm_buf_put(b, s, strlen(s));
}

void vm_buf_free(struct vm_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Python's repr of a float: the shortest digit string that reads back as the
   same double (David Gay's mode 0, as CPython's float_repr_style 'short'),
   formatted as CPython does: positional when the decimal exponent is in
   [-4, 16), else scientific with at least two exponent digits. */
void vm_float_repr(double v, char *buf, size_t cap)
{
    if (isnan(v)) {
        snprintf(buf, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v > 0 ? "inf" : "-inf");
        return;
    }
    if (v == 0.0) {
        snprintf(buf, cap, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    char tmp[40], digits[24];
    int exp10 = 0;
    size_t nd = 0;
    for (int prec = 0; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*e", prec, v);
        bool ok = strtod(tmp, NULL) == v;
        if (!ok && prec > 0) {
            /* The nearest prec-digit decimal may miss where a neighbour one
               step away (on the wide side of v's rounding interval) hits. */
            char *e = strchr(tmp, 'e');
            for (int dir = -1; dir <= 1 && !ok; dir += 2) {
                char alt[40];
                memcpy(alt, tmp, sizeof alt);
                char *p = alt + (e - tmp) - 1;
                int carry = dir;
                while (carry && p >= alt) {
                    if (*p == '.' || *p == '-') { p--; continue; }
                    int d = *p - '0' + carry;
                    carry = 0;
                    if (d < 0) { d = 9; carry = -1; }
                    if (d > 9) { d = 0; carry = 1; }
                    *p-- = (char)('0' + d);
                }
                if (carry)
                    continue;   /* ran off the front (9.99 -> 10.0): skip */
                if (alt[0] == '0' || (alt[0] == '-' && alt[1] == '0'))
                    continue;
                if (strtod(alt, NULL) == v) {
                    memcpy(tmp, alt, sizeof tmp);
                    ok = true;
                }
            }
        }
        if (ok)
            break;
    }
    /* tmp is "[-]d.ddde[+-]XX": collect the digits and the exponent. */
    const char *p = tmp;
    bool neg = *p == '-';
    if (neg)
        p++;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9')
            digits[nd++] = *p;
    exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        nd--;
    digits[nd] = '\0';
    int decpt = exp10 + 1;   /* v = 0.DIGITS x 10^decpt */
    size_t o = 0;
    char out[64];
    if (neg)
        out[o++] = '-';
    if (decpt > -4 && decpt <= 16) {
        if (decpt <= 0) {
            out[o++] = '0';
            out[o++] = '.';
            for (int i = 0; i < -decpt; i++)
                out[o++] = '0';
            memcpy(out + o, digits, nd);
            o += nd;
        } else if ((size_t)decpt >= nd) {
            memcpy(out + o, digits, nd);
            o += nd;
            for (size_t i = nd; i < (size_t)decpt; i++)
                out[o++] = '0';
            out[o++] = '.';
            out[o++] = '0';
        } else {
            memcpy(out + o, digits, (size_t)decpt);
            o += (size_t)decpt;
            out[o++] = '.';
            memcpy(out + o, digits + decpt, nd - (size_t)decpt);
            o += nd - (size_t)decpt;
        }
        out[o] = '\0';
    } else {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            memcpy(out + o, digits + 1, nd - 1);
            o += nd - 1;
        }
        int e = decpt - 1;
        snprintf(out + o, sizeof out - o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    }
    snprintf(buf, cap, "%s", out);
}

/* Non-ASCII code points Python's str.isprintable() rejects (approximately:
   the Cc/Cf/Zs/Zl/Zp/Co ranges that matter in practice). */
static bool unicode_unprintable(uint32_t cp)
{
    return (cp >= 0x80 && cp <= 0xA0) || cp == 0xAD || (cp >= 0x600 && cp <= 0x605) ||
           cp == 0x61C || cp == 0x6DD || cp == 0x70F || cp == 0x180E || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200F) || (cp >= 0x2028 && cp <= 0x202F) ||
           (cp >= 0x205F && cp <= 0x206F) || cp == 0x3000 || (cp >= 0xE000 && cp <= 0xF8FF) ||
           cp == 0xFEFF || (cp >= 0xFFF9 && cp <= 0xFFFB) || cp >= 0xF0000 ||
           (cp >= 0xFFFE && cp <= 0xFFFF) || (cp >= 0xE0000 && cp <= 0xE007F);
}

static int str_repr_into(struct vm_buf *b, const char *s, size_t len)
{
    bool has_sq = memchr(s, '\'', len) != NULL, has_dq = memchr(s, '"', len) != NULL;
    char q = has_sq && !has_dq ? '"' : '\'';
    if (vm_buf_put(b, &q, 1) < 0)
        return -1;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        char esc[16];
        if (c < 0x80) {
            i++;
            if (c == (unsigned char)q || c == '\\') {
                esc[0] = '\\';
                esc[1] = (char)c;
                if (vm_buf_put(b, esc, 2) < 0) return -1;
            } else if (c == '\n') {
                if (vm_buf_put(b, "\\n", 2) < 0) return -1;
            } else if (c == '\r') {
                if (vm_buf_put(b, "\\r", 2) < 0) return -1;
            } else if (c == '\t') {
                if (vm_buf_put(b, "\\t", 2) < 0) return -1;
            } else if (c < 0x20 || c == 0x7F) {
                snprintf(esc, sizeof esc, "\\x%02x", c);
                if (vm_buf_puts(b, esc) < 0) return -1;
            } else if (vm_buf_put(b, (const char *)&c, 1) < 0) {
                return -1;
            }
            continue;
        }
        size_t n = utf8_char_len(s + i);
        if (i + n > len)
            n = len - i;
        uint32_t cp = c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
        for (size_t k = 1; k < n; k++)
            cp = (cp << 6) | ((unsigned char)s[i + k] & 0x3F);
        if (unicode_unprintable(cp)) {
            if (cp < 0x100)
                snprintf(esc, sizeof esc, "\\x%02x", cp);
            else if (cp < 0x10000)
                snprintf(esc, sizeof esc, "\\u%04x", cp);
            else
                snprintf(esc, sizeof esc, "\\U%08x", cp);
            if (vm_buf_puts(b, esc) < 0) return -1;
        } else if (vm_buf_put(b, s + i, n) < 0) {
            return -1;
        }
        i += n;
    }
    return vm_buf_put(b, &q, 1);
}

/* Fake but stable addresses for reprs that show one in CPython. */
static unsigned long long fake_addr(const void *p)
{
    return (unsigned long long)(uintptr_t)p;
}

/* repr of everything that is not a list; needs no thread state. */
static int scalar_repr_into(struct vm_buf *b, const struct vm_object *o)
{
    char tmp[160];
    switch (o->type->kind) {
    case VM_K_NONE: return vm_buf_puts(b, "None");
    case VM_K_BOOL: return vm_buf_puts(b, vm_int_value(o) ? "True" : "False");
    case VM_K_INT:
        snprintf(tmp, sizeof tmp, "%lld", (long long)vm_int_value(o));
        return vm_buf_puts(b, tmp);
    case VM_K_FLOAT:
        vm_float_repr(vm_float_value(o), tmp, sizeof tmp);
        return vm_buf_puts(b, tmp);
    case VM_K_STR: {
        const struct vm_str *s = (const struct vm_str *)o;
        return str_repr_into(b, s->data, s->len);
    }
    case VM_K_FUNCTION:
        if (vm_buf_puts(b, "<function ") < 0 ||
            vm_buf_puts(b, ((const struct vm_function *)o)->code->qualname) < 0)
            return -1;
        snprintf(tmp, sizeof tmp, " at 0x%llx>", fake_addr(o));
        return vm_buf_puts(b, tmp);
    case VM_K_CODE: {
        const struct vm_code *c = (const struct vm_code *)o;
        snprintf(tmp, sizeof tmp, "<code object %s at 0x%llx, file \"", c->name,
                 0x7f0000000000ull + ((unsigned long long)c->index << 8));
        if (vm_buf_puts(b, tmp) < 0 || vm_buf_puts(b, c->prog->filename) < 0)
            return -1;
        snprintf(tmp, sizeof tmp, "\", line %d>", c->firstlineno);
        return vm_buf_puts(b, tmp);
    }
    case VM_K_BUILTIN:
        snprintf(tmp, sizeof tmp, "<built-in function %s>", ((const struct vm_builtin *)o)->name);
        return vm_buf_puts(b, tmp);
    case VM_K_METHOD: {
        const struct vm_method *m = (const struct vm_method *)o;
        snprintf(tmp, sizeof tmp, "<built-in method %s of %s object at 0x%llx>", m->fn->name,
                 tname(m->self), fake_addr(m->self));
        return vm_buf_puts(b, tmp);
    }
    case VM_K_MODULE:
        snprintf(tmp, sizeof tmp, "<module '%s' (built-in)>", ((const struct vm_module *)o)->name);
        return vm_buf_puts(b, tmp);
    case VM_K_TUPLE: {   /* constants: their items are scalars too */
        const struct vm_tuple *t = (const struct vm_tuple *)o;
        if (vm_buf_put(b, "(", 1) < 0)
            return -1;
        for (size_t i = 0; i < t->len; i++)
            if ((i > 0 && vm_buf_put(b, ", ", 2) < 0) || scalar_repr_into(b, t->items[i]) < 0)
                return -1;
        return vm_buf_puts(b, t->len == 1 ? ",)" : ")");
    }
    case VM_K_RANGE: {
        const struct vm_range *r = (const struct vm_range *)o;
        if (r->step == 1)
            snprintf(tmp, sizeof tmp, "range(%lld, %lld)", (long long)r->start, (long long)r->stop);
        else
            snprintf(tmp, sizeof tmp, "range(%lld, %lld, %lld)", (long long)r->start,
                     (long long)r->stop, (long long)r->step);
        return vm_buf_puts(b, tmp);
    }
    default:
        snprintf(tmp, sizeof tmp, "<%s object at 0x%llx>", tname(o), fake_addr(o));
        return vm_buf_puts(b, tmp);
    }
}

static int nomem(struct vm_thread *ts)
{
    vm_raise(ts, VM_EXC_MEMORY, "out of memory");
    return -1;
}

int vm_repr_enter(struct vm_thread *ts, struct vm_object *o)
{
    for (int i = 0; i < ts->nrepr; i++)
        if (ts->repr_stack[i] == o)
            return 1;
    if (ts->nrepr >= VM_RECURSION_LIMIT) {
        vm_raise(ts, VM_EXC_RECURSION, "maximum recursion depth exceeded while getting the repr of an object");
        return -1;
    }
    if (ts->nrepr == ts->caprepr) {
        int cap = ts->caprepr ? ts->caprepr * 2 : 16;
        struct vm_object **n = realloc(ts->repr_stack, (size_t)cap * sizeof *n);
        if (!n)
            return nomem(ts);
        ts->repr_stack = n;
        ts->caprepr = cap;
    }
    ts->repr_stack[ts->nrepr++] = o;
    return 0;
}

void vm_repr_leave(struct vm_thread *ts)
{
    ts->nrepr--;
}

/* "__main__.C": a class's module and qualified name, as CPython's reprs show it. */
static int class_path_into(struct vm_thread *ts, struct vm_buf *b, const struct vm_class *cls)
{
    if (cls == &vm_object_class)
        return vm_buf_puts(b, "object") < 0 ? nomem(ts) : 0;
    struct vm_object *mod = vm_dict_get(ts, cls->dict, "__module__", 10, vm_str_hash("__module__", 10));
    int rc = 0;
    if (mod && mod->type == &vm_str_type && strcmp(((struct vm_str *)mod)->data, "builtins") != 0)
        rc = vm_buf_puts(b, ((struct vm_str *)mod)->data) < 0 || vm_buf_put(b, ".", 1) < 0 ? -1 : 0;
    vm_xdecref(ts, mod);
    if (rc == 0)
        rc = vm_buf_puts(b, ((struct vm_str *)cls->qualname)->data);
    return rc < 0 ? nomem(ts) : 0;
}

static int default_instance_repr(struct vm_thread *ts, struct vm_buf *b, struct vm_object *o)
{
    char tail[64];
    snprintf(tail, sizeof tail, " object at 0x%llx>", fake_addr(o));
    if (vm_buf_put(b, "<", 1) < 0)
        return nomem(ts);
    if (class_path_into(ts, b, ((struct vm_instance *)o)->cls) < 0)
        return -1;
    return vm_buf_puts(b, tail) < 0 ? nomem(ts) : 0;
}

int vm_repr_into(struct vm_thread *ts, struct vm_buf *b, struct vm_object *o)
{
    switch (o->type->kind) {
    case VM_K_LIST:
        break;
    case VM_K_DICT:
        return vm_dict_repr_into(ts, b, (struct vm_dict *)o);
    case VM_K_TUPLE: {
        const struct vm_tuple *t = (const struct vm_tuple *)o;
        int rc = vm_buf_put(b, "(", 1) < 0 ? nomem(ts) : 0;
        for (size_t i = 0; rc == 0 && i < t->len; i++) {
            if (i > 0 && vm_buf_put(b, ", ", 2) < 0)
                rc = nomem(ts);
            else
                rc = vm_repr_into(ts, b, t->items[i]);
        }
        if (rc == 0 && vm_buf_puts(b, t->len == 1 ? ",)" : ")") < 0)
            rc = nomem(ts);
        return rc;
    }
    case VM_K_INSTANCE: {
        int rc = vm_instance_repr_into(ts, b, o, false);
        return rc != 1 ? rc : default_instance_repr(ts, b, o);
    }
    case VM_K_CLASS:
        if (vm_buf_puts(b, "<class '") < 0 || class_path_into(ts, b, (struct vm_class *)o) < 0 ||
            vm_buf_puts(b, "'>") < 0)
            return ts->exc != VM_EXC_NONE ? -1 : nomem(ts);
        return 0;
    case VM_K_BOUND_METHOD: {
        const struct vm_bound_method *m = (const struct vm_bound_method *)o;
        if (vm_buf_puts(b, "<bound method ") < 0 ||
            vm_buf_puts(b, ((struct vm_function *)m->func)->code->qualname) < 0 || vm_buf_puts(b, " of ") < 0)
            return nomem(ts);
        if (vm_repr_into(ts, b, m->self) < 0)
            return -1;
        return vm_buf_put(b, ">", 1) < 0 ? nomem(ts) : 0;
    }
    default:
        return scalar_repr_into(b, o) < 0 ? nomem(ts) : 0;
    }
    /* A list already being printed further up shows as [...], as in CPython. */
    int entered = vm_repr_enter(ts, o);
    if (entered != 0)
        return entered < 0 ? -1 : vm_buf_puts(b, "[...]") < 0 ? nomem(ts) : 0;
    struct snap s;
    if (snap_take(ts, (struct vm_list *)o, &s) < 0) {
        vm_repr_leave(ts);
        return -1;
    }
    int rc = vm_buf_put(b, "[", 1) < 0 ? nomem(ts) : 0;
    for (size_t i = 0; rc == 0 && i < s.n; i++) {
        if (i > 0 && vm_buf_put(b, ", ", 2) < 0)
            rc = nomem(ts);
        else
            rc = vm_repr_into(ts, b, s.items[i]);
    }
    if (rc == 0 && vm_buf_put(b, "]", 1) < 0)
        rc = nomem(ts);
    vm_repr_leave(ts);
    snap_release(ts, &s);
    return rc;
}

int vm_str_into(struct vm_thread *ts, struct vm_buf *b, struct vm_object *o)
{
    if (o->type == &vm_str_type) {
        const struct vm_str *s = (const struct vm_str *)o;
        return vm_buf_put(b, s->data, s->len) < 0 ? nomem(ts) : 0;
    }
    if (o->type == &vm_instance_type) {
        int rc = vm_instance_repr_into(ts, b, o, true);
        return rc != 1 ? rc : default_instance_repr(ts, b, o);
    }
    return vm_repr_into(ts, b, o);
}

int vm_const_repr_into(struct vm_buf *b, const struct vm_object *o)
{
    return scalar_repr_into(b, o);
}

void vm_const_repr(const struct vm_object *o, char *buf, size_t cap)
{
    struct vm_buf b = {0};
    if (scalar_repr_into(&b, o) < 0 || !b.p) {
        snprintf(buf, cap, "?");
    } else if (b.len < cap) {
        memcpy(buf, b.p, b.len + 1);
    } else {
        /* Long constants are cut for dis, keeping the closing quote visible. */
        snprintf(buf, cap, "%.*s...", (int)(cap > 8 ? cap - 8 : 0), b.p);
    }
    vm_buf_free(&b);
}
