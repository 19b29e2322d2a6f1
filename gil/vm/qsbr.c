/*
 * qsbr.c — deferred releases: what a thread reading without a lock may still be
 * about to use is released only after a grace period, found by quiescent-state-
 * based reclamation (QSBR: McKenney and Slingwine's RCU; CPython 3.13t's
 * Python/qsbr.c does the same for list item arrays and dict keys). It may touch
 * thread states and objects; it takes no lock but rt->threads_lock.
 *
 * Under the multi-threaded policies lists and the module globals are read
 * without a lock (object.c's list essay; LOAD_GLOBAL in eval.c): a reader loads
 * a pointer and increfs it at once. A writer that replaces or removes such a
 * pointer may not drop the reference it stood for at once, since a reader may
 * have loaded the pointer and not yet incremented it; nor free a replaced item
 * array. So it defers (vm_defer_decref, vm_defer_free): the pointer goes into
 * the writer's open batch. A full batch is sealed: one seq_cst fetch_add on
 * rt->qsbr_seq gives it its goal g. It is released once every other thread is
 * offline or has reported a quiescent state with a sequence of at least g.
 *
 * Why that is enough. A thread is quiescent at its eval-breaker check (between
 * instructions) and outside the VM: there it holds no pointer it loaded without
 * a lock, since every such pointer is incref'd before the instruction goes on.
 * A report stores into the thread's qsbr_seen the value of rt->qsbr_seq it read
 * with acquire. If that value is at least g, the read synchronised with the
 * sealing fetch_add (a release, made after the writer's store that replaced the
 * pointer), so the thread can no longer load the old pointer; and whatever it
 * did with the pointer before came before its report, a release store, which
 * the poller reads with acquire before it releases the batch. A thread that
 * comes online stores its qsbr_seen and reads rt->qsbr_seq again, both seq_cst,
 * until the sequence did not move: a poller that read it as offline (0) read
 * before that store, so in the single order of seq_cst operations the batch was
 * sealed before the thread read the sequence, and the thread sees the removal.
 *
 * Who polls: a writer when it seals a batch, a thread when it reports a
 * quiescent state and when it leaves the VM. A poll releases every batch whose
 * goal all online threads have reached, and asks the laggards for a report by
 * setting GIL_BREAKER_VM_QSBR in their own eval breakers, which they see within
 * a tick: nobody waits (except with no memory for a batch, then the writer
 * waits for the grace period itself), and a thread nobody asks pays nothing. A
 * thread that exits leaves its unreleased batches in rt->qsbr_orphans for the
 * next poll to adopt; with no thread running everything is released
 * (vm_qsbr_release_all). Under SERIAL and UNSAFE nothing is deferred.
 */
#include <sched.h>
#include <stdlib.h>

#include "core.h"

/* An item: an object to decref, or (low bit set) memory to free. */
static void release_item(struct vm_thread *ts, uintptr_t item)
{
    if (item & 1)
        free((void *)(item & ~(uintptr_t)1));
    else
        vm_decref(ts, (struct vm_object *)item);
}

static void release_list(struct vm_thread *ts, struct vm_qsbr_batch *b)
{
    while (b) {
        struct vm_qsbr_batch *next = b->next;
        for (uint32_t i = 0; i < b->n; i++)
            release_item(ts, b->items[i]);
        b->n = 0;
        b->goal = 0;
        b->next = NULL;
        if (!ts->qsbr_spare)
            ts->qsbr_spare = b;
        else
            free(b);
        b = next;
    }
}

static void append(struct vm_qsbr_batch **list, struct vm_qsbr_batch *b)
{
    while (*list)
        list = &(*list)->next;
    *list = b;
}

/* Give the open batch its goal. */
static void seal(struct vm_thread *ts)
{
    struct vm_qsbr_batch *b = ts->qsbr_open;
    if (!b)
        return;
    ts->qsbr_open = NULL;
    if (b->n == 0) {
        release_list(ts, b);
        return;
    }
    /* seq_cst: a release that orders the stores that removed the batch's
       pointers before any report that reads this value or a later one, and a
       place in the single order that vm_qsbr_online relies on. */
    b->goal = atomic_fetch_add_explicit(&ts->rt->qsbr_seq, 1, memory_order_seq_cst) + 1;
    b->next = NULL;
    append(&ts->qsbr_sealed, b);
}

/* A quiescent state of an online thread: it holds nothing read without a lock. */
static void report(struct vm_thread *ts)
{
    /* relaxed: the owner's own earlier store; 0 means offline. */
    if (atomic_load_explicit(&ts->qsbr_seen, memory_order_relaxed) == 0)
        return;
    /* acquire: synchronises with the seal of every batch up to this value;
       release: what this thread did with pointers it loaded comes before the
       poller's acquire load of qsbr_seen. */
    uint64_t s = atomic_load_explicit(&ts->rt->qsbr_seq, memory_order_acquire);
    atomic_store_explicit(&ts->qsbr_seen, s, memory_order_release);
}

/* Release what every online thread has passed; ask the others for a report. */
static void poll(struct vm_thread *ts)
{
    struct vm_runtime *rt = ts->rt;
    if (ts->qsbr_polling)
        return;   /* a release freed something that deferred more: next time */
    report(ts);
    vm_threads_lock(rt);
    if (rt->qsbr_orphans) {
        append(&ts->qsbr_sealed, rt->qsbr_orphans);
        rt->qsbr_orphans = NULL;
    }
    if (!ts->qsbr_sealed) {
        vm_threads_unlock(rt);
        return;
    }
    uint64_t min = UINT64_MAX;
    for (struct vm_thread *t = rt->threads; t; t = t->next_live) {
        /* seq_cst: pairs with vm_qsbr_online (see the essay); also an acquire
           for the report's release. */
        uint64_t s = t == ts ? 0 : atomic_load_explicit(&t->qsbr_seen, memory_order_seq_cst);
        if (s != 0 && s < min)
            min = s;
    }
    struct vm_qsbr_batch *done = NULL, **keep = &ts->qsbr_sealed;
    uint64_t wanted = UINT64_MAX;   /* the smallest goal still waited for */
    while (*keep) {
        struct vm_qsbr_batch *b = *keep;
        if (b->goal <= min) {
            *keep = b->next;
            b->next = done;
            done = b;
        } else {
            wanted = b->goal < wanted ? b->goal : wanted;
            keep = &b->next;
        }
    }
    if (wanted != UINT64_MAX)
        for (struct vm_thread *t = rt->threads; t; t = t->next_live) {
            uint64_t s = t == ts ? 0 : atomic_load_explicit(&t->qsbr_seen, memory_order_relaxed);
            if (s != 0 && s < wanted)
                /* relaxed: a summons; the report carries its own ordering. */
                atomic_fetch_or_explicit(t->gt.breaker, GIL_BREAKER_VM_QSBR, memory_order_relaxed);
        }
    vm_threads_unlock(rt);
    ts->qsbr_polling = true;
    release_list(ts, done);
    ts->qsbr_polling = false;
}

/* No memory for a batch: wait for a grace period here, then release. */
static void synchronize(struct vm_thread *ts, uintptr_t item)
{
    seal(ts);
    /* seq_cst: as in seal. */
    uint64_t goal = atomic_fetch_add_explicit(&ts->rt->qsbr_seq, 1, memory_order_seq_cst) + 1;
    for (;;) {
        report(ts);   /* others may be waiting for this thread in the same way */
        bool passed = true;
        vm_threads_lock(ts->rt);
        for (struct vm_thread *t = ts->rt->threads; t; t = t->next_live) {
            uint64_t s = t == ts ? 0 : atomic_load_explicit(&t->qsbr_seen, memory_order_seq_cst);
            if (s != 0 && s < goal) {
                passed = false;
                atomic_fetch_or_explicit(t->gt.breaker, GIL_BREAKER_VM_QSBR, memory_order_relaxed);
            }
        }
        vm_threads_unlock(ts->rt);
        if (passed)
            break;
        sched_yield();
    }
    release_item(ts, item);
}

static void defer(struct vm_thread *ts, uintptr_t item)
{
    struct vm_qsbr_batch *b = ts->qsbr_open;
    if (!b) {
        if ((b = ts->qsbr_spare) != NULL)
            ts->qsbr_spare = NULL;
        else if (!(b = calloc(1, sizeof *b))) {
            synchronize(ts, item);
            return;
        }
        ts->qsbr_open = b;
    }
    b->items[b->n++] = item;
    ts->st.deferred_releases++;
    if (b->n == VM_QSBR_BATCH) {
        seal(ts);
        poll(ts);
    }
}

void vm_defer_decref(struct vm_thread *ts, struct vm_object *o)
{
    if (!ts->mt)
        vm_decref(ts, o);
    else if (!(o->flags & VM_IMMORTAL))
        defer(ts, (uintptr_t)o);
}

void vm_defer_free(struct vm_thread *ts, void *mem)
{
    if (!mem)
        return;
    if (!ts->mt)
        free(mem);
    else
        defer(ts, (uintptr_t)mem | 1);   /* malloc'd: the low bit is free */
}

void vm_qsbr_online(struct vm_thread *ts)
{
    if (!ts->mt)
        return;
    /* seq_cst, all three: see the essay (a poller that saw 0 sealed first). */
    uint64_t s = atomic_load_explicit(&ts->rt->qsbr_seq, memory_order_seq_cst);
    for (;;) {
        atomic_store_explicit(&ts->qsbr_seen, s, memory_order_seq_cst);
        uint64_t again = atomic_load_explicit(&ts->rt->qsbr_seq, memory_order_seq_cst);
        if (again == s)
            return;
        s = again;
    }
}

void vm_qsbr_offline(struct vm_thread *ts)
{
    if (!ts->mt)
        return;
    /* relaxed: a peek at the summons (vm_handle_requests reads them again). */
    if (atomic_load_explicit(ts->gt.breaker, memory_order_relaxed) & GIL_BREAKER_VM_MASK)
        vm_handle_requests(ts);
    seal(ts);
    poll(ts);
    /* release: all this thread did with pointers it read comes before a
       poller's acquire of the 0 that lets it release them. */
    atomic_store_explicit(&ts->qsbr_seen, 0, memory_order_release);
}

void vm_qsbr_quiescent(struct vm_thread *ts)
{
    report(ts);
    if (ts->qsbr_sealed)
        poll(ts);
}

void vm_qsbr_flush(struct vm_thread *ts)
{
    if (!ts->mt)
        return;
    seal(ts);
    poll(ts);
}

void vm_qsbr_thread_exit(struct vm_thread *ts)
{
    if (ts->mt) {
        seal(ts);
        poll(ts);
        atomic_store_explicit(&ts->qsbr_seen, 0, memory_order_release);   /* as offline */
        if (ts->qsbr_sealed) {
            vm_threads_lock(ts->rt);
            append(&ts->rt->qsbr_orphans, ts->qsbr_sealed);
            vm_threads_unlock(ts->rt);
            ts->qsbr_sealed = NULL;
        }
    }
    free(ts->qsbr_spare);
    ts->qsbr_spare = NULL;
}

void vm_qsbr_release_all(struct vm_thread *ts)
{
    /* No VM thread runs: nobody reads anything, so every batch can go now. The
       joins (or the caller being the only thread) ordered the other thread
       states' last writes before this. */
    struct vm_qsbr_batch *all = NULL;
    vm_threads_lock(ts->rt);
    for (struct vm_thread *t = ts->rt->threads; t; t = t->next_live) {
        if (t->qsbr_open) {
            append(&all, t->qsbr_open);
            t->qsbr_open = NULL;
        }
        if (t->qsbr_sealed) {
            append(&all, t->qsbr_sealed);
            t->qsbr_sealed = NULL;
        }
    }
    append(&all, ts->rt->qsbr_orphans);
    ts->rt->qsbr_orphans = NULL;
    vm_threads_unlock(ts->rt);
    release_list(ts, all);
}
