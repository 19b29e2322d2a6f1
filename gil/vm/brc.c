/*
 * brc.c — biased reference counting (GIL_VM_BIASED), as CPython 3.13's
 * free-threaded build does it (Include/object.h Py_INCREF/Py_DECREF under
 * Py_GIL_DISABLED; Objects/object.c _Py_DecRefShared,
 * _Py_MergeZeroLocalRefcount, _Py_ExplicitMergeRefcount; Python/brc.c), after
 * Choi, Shull and Torrellas, "Biased Reference Counting", PACT 2018. It may
 * touch objects and thread states; it takes no lock but rt->threads_lock.
 *
 * Most objects are only ever touched by the thread that made them. So each
 * object has an owner (its id in `owner`) and two counts: the owner's,
 * `refcnt`, updated with plain instructions, and every other thread's,
 * `shared` (struct vm_brc, just before the object), updated atomically. The
 * fast paths are in core.h (vm_incref_mt, vm_decref_mt): for the owner, one
 * comparison and a plain add. The object's true count is refcnt + shared,
 * less one while it is queued. What happens off the fast path:
 *
 *   The owner's count reaches 0 (vm_brc_local_zero). If shared is 0, nobody
 *     else holds it: free it. Otherwise the owner gives it up (owner id 0) and
 *     marks the counts merged; from then on every thread counts in `shared`,
 *     and whoever takes it to 0 frees it.
 *   Another thread's decrement would take shared below 0 (vm_brc_decref_shared):
 *     it drops a reference the owner counted (the object was handed over). It
 *     marks the object queued instead of decrementing, and queues it for its
 *     owner: the queue holds that one reference. The owner is told through
 *     GIL_BREAKER_VM_MERGE in its own eval breaker (gil.h), which its tick
 *     already reads, so asking costs the owner nothing until it is asked.
 *   The owner merges its queue at its next eval-breaker check
 *     (vm_brc_merge_queued; CPython's _Py_brc_merge_refcounts, run from
 *     _Py_HandlePending): refcnt + shared - 1 becomes the merged shared count,
 *     and an object whose count is then 0 is freed. Leaving the VM (the end of
 *     a call, a blocking call) and exiting merge too.
 *   The owner has exited: the queuing thread merges the counts itself, under
 *     rt->threads_lock, which the owner's exit took too (so its last writes to
 *     refcnt happened before). Ids are fresh while there are: a worker does
 *     not inherit the objects of the thread that loaded the module, as
 *     CPython's workers do not own what the main thread imported. A thread
 *     state that gets an exited owner's id again (once every id was used, under
 *     the same lock) inherits its objects, ordered the same way.
 *
 * Memory orders. Increments of `shared` are relaxed (in core.h: the thread
 * already holds a reference, so the object cannot die meanwhile). Every
 * decrement and merge is a compare-and-swap with acq_rel: the release half
 * orders what the thread did with the object before it lets go, the acquire
 * half lets the thread that frees the object see all of that. The owner reads
 * `shared` with acquire before it frees an object whose two counts it found 0.
 * The owner id is cleared with a relaxed store and read with relaxed loads: a
 * thread only compares it with its own id, which no other thread ever writes.
 */
#include "core.h"

/* The references in a `shared` word (its state bits aside; may be negative). */
static int64_t shared_refs(int64_t shared)
{
    return (shared - (shared & VM_BRC_FLAGS)) / VM_BRC_ONE;
}

/* Nobody owns o any more. Only one thread at a time can be here for an
   object: its owner, or with the owner gone the one merging under the lock. */
static void clear_owner(struct vm_object *o)
{
    /* relaxed: see the essay. */
    __atomic_store_n(&o->owner, 0, __ATOMIC_RELAXED);
}

/* The two counts as one, plus `extra` (-1: the reference a queue held): the
   merged shared count, which is returned. Called by the owner, or for an
   exited owner under rt->threads_lock, or with no thread running. */
static int64_t merge(struct vm_thread *ts, struct vm_object *o, int64_t extra)
{
    struct vm_brc *b = vm_brc(o);
    int64_t shared = __atomic_load_n(&b->shared, __ATOMIC_RELAXED), total, merged;
    do {
        total = shared_refs(shared) + o->refcnt + extra;
        merged = total * VM_BRC_ONE + VM_BRC_MERGED;
        /* acq_rel: see the essay (failure: relaxed, the loop reads again). */
    } while (!__atomic_compare_exchange_n(&b->shared, &shared, merged, true, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED));
    o->refcnt = 0;
    clear_owner(o);
    ts->st.refcount_atomics++;
    ts->st.biased_merged++;
    return total;
}

void vm_brc_local_zero(struct vm_thread *ts, struct vm_object *o)
{
    struct vm_brc *b = vm_brc(o);
    /* acquire: if other threads held o, their decrements (release) happened
       before, and so did all they did with it. */
    int64_t shared = __atomic_load_n(&b->shared, __ATOMIC_ACQUIRE);
    if (shared == 0) {
        vm_dealloc(ts, o);
        return;
    }
    /* Others hold references (or a queue does): give o up, counts merged. The
       owner id goes first, so that no thread that sees the merged state can
       still take o for its owner's. */
    clear_owner(o);
    int64_t merged;
    do {
        merged = (shared & ~(int64_t)VM_BRC_FLAGS) | VM_BRC_MERGED;
    } while (!__atomic_compare_exchange_n(&b->shared, &shared, merged, true, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED));
    ts->st.refcount_atomics++;
    ts->st.biased_merged++;
    if (merged == VM_BRC_MERGED)
        vm_dealloc(ts, o);
}

/* o's shared count was 0 and is now marked queued: hand the reference this
   thread dropped to o's owner, or merge here when the owner is gone. */
static void queue_for_owner(struct vm_thread *ts, struct vm_object *o)
{
    struct vm_runtime *rt = ts->rt;
    uint16_t owner = vm_owner(o);
    vm_threads_lock(rt);
    struct vm_thread *t = owner ? vm_thread_by_owner(rt, owner) : NULL;
    if (t) {
        vm_brc(o)->merge_next = t->brc_queue;
        t->brc_queue = o;
        /* relaxed: a summons; the queue itself is published by the lock. */
        atomic_fetch_or_explicit(t->gt.breaker, GIL_BREAKER_VM_MERGE, memory_order_relaxed);
        vm_threads_unlock(rt);
        ts->st.biased_queued++;
        return;
    }
    int64_t total = merge(ts, o, -1);
    vm_threads_unlock(rt);
    if (total == 0)
        vm_dealloc(ts, o);
}

void vm_brc_decref_shared(struct vm_thread *ts, struct vm_object *o)
{
    struct vm_brc *b = vm_brc(o);
    int64_t shared = __atomic_load_n(&b->shared, __ATOMIC_RELAXED), next;
    bool queue;
    do {
        /* Neither queued nor merged, and no reference counted here: the one
           dropped is the owner's to account for. */
        queue = shared == 0;
        next = queue ? VM_BRC_QUEUED : shared - VM_BRC_ONE;
    } while (!__atomic_compare_exchange_n(&b->shared, &shared, next, true, __ATOMIC_ACQ_REL,
                                          __ATOMIC_RELAXED));
    if (queue)
        queue_for_owner(ts, o);
    else if (next == VM_BRC_MERGED)   /* merged, and that was the last reference */
        vm_dealloc(ts, o);
}

/* Merge a list of queued objects (taken off a queue). */
static void merge_list(struct vm_thread *ts, struct vm_object *q)
{
    while (q) {
        struct vm_object *o = q;
        q = vm_brc(o)->merge_next;
        if (merge(ts, o, -1) == 0)
            vm_dealloc(ts, o);
    }
}

void vm_brc_merge_queued(struct vm_thread *ts)
{
    vm_threads_lock(ts->rt);
    struct vm_object *q = ts->brc_queue;
    ts->brc_queue = NULL;
    vm_threads_unlock(ts->rt);
    merge_list(ts, q);   /* freeing runs destructors: not under the lock */
}

void vm_brc_thread_exit(struct vm_thread *ts)
{
    struct vm_runtime *rt = ts->rt;
    for (;;) {
        vm_threads_lock(rt);
        struct vm_object *q = ts->brc_queue;
        ts->brc_queue = NULL;
        if (!q) {
            /* Nothing queued: leave the list in the same critical section, so
               that a later queuer finds no owner and merges itself. */
            for (struct vm_thread **p = &rt->threads; *p; p = &(*p)->next_live)
                if (*p == ts) {
                    *p = ts->next_live;
                    break;
                }
            vm_threads_unlock(rt);
            return;
        }
        vm_threads_unlock(rt);
        merge_list(ts, q);
    }
}

void vm_brc_merge_all(struct vm_thread *ts)
{
    struct vm_runtime *rt = ts->rt;
    for (;;) {
        struct vm_object *q = NULL;
        vm_threads_lock(rt);
        for (struct vm_thread *t = rt->threads; t && !q; t = t->next_live) {
            q = t->brc_queue;
            t->brc_queue = NULL;
        }
        vm_threads_unlock(rt);
        if (!q)
            return;
        merge_list(ts, q);
    }
}
