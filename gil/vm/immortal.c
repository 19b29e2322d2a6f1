/*
 * immortal.c — objects made immortal at a point of a run, and freed at its end.
 *
 * vm_runtime_immortalize walks everything reachable from the module's globals
 * and sets VM_IMMORTAL on each object it finds, so that no reference count of
 * theirs is written from then on: vm_incref and vm_decref return at the flag.
 * That is PEP 683's immortal object (CPython 3.12), made at a moment the
 * program chooses rather than at start-up: what a pre-fork server needs before
 * it forks its workers, so that a worker that only reads the parent's data
 * leaves its pages shared (`gillab run --scenario fork`), and what a
 * free-threaded run needs so that threads reading shared objects do not
 * contend for their counts.
 *
 * An immortal object is never freed by a decref, so the run must free it
 * itself when it ends. Each one made here is recorded in rt->immortals and
 * flagged VM_IMMORTALISED (the static singletons and the program's constants
 * are immortal too, but not the run's to free). The end of the run, in order:
 *   1. the module's globals are cleared (runtime.c);
 *   2. vm_break_cycles empties every registered container, immortal ones
 *      included: the mortal objects stored in them after immortalisation are
 *      released properly, and every cycle is broken;
 *   3. vm_immortals_free frees each immortalised object's own memory without
 *      touching the objects it refers to. After step 2 those are immortal
 *      objects only (a tuple's items, a class's name, an instance's class: the
 *      references that never change), each freed by its own entry in the
 *      list, so no object is read after it was freed, whatever the order.
 *
 * Thread safety: immortalising writes every reachable object's flags, which
 * other threads read without synchronisation, so it runs while no other VM
 * thread runs (the creation of threads afterwards, pthread_create, orders the
 * writes before their reads), or under a lock design that serialises the VM
 * (gc.freeze() in a program: the other threads read the flags only once they
 * hold that lock, which orders the writes before). The end runs
 * single-threaded too.
 */
#include <stdlib.h>

#include "core.h"

struct walk {
    struct vm_runtime *rt;
    struct vm_object **todo;    /* found, children not yet visited: a stack */
    size_t ntodo, captodo;
    long made;                  /* made immortal by this call */
    bool nomem;
};

/* Room for one more pointer in *v (n used of *cap); 0 or -1. */
static int reserve(struct vm_object ***v, size_t n, size_t *cap)
{
    if (n < *cap)
        return 0;
    size_t grown = *cap ? *cap * 2 : 1024;
    struct vm_object **nv = realloc(*v, grown * sizeof *nv);
    if (!nv)
        return -1;
    *v = nv;
    *cap = grown;
    return 0;
}

/* Visit o: skip what is immortal from its birth (singletons, the program's
   constants, builtins) and what this walk has seen; record the rest. An object
   immortalised by an earlier call is walked again, for the mortal objects
   stored into it since. */
static void visit(struct walk *w, struct vm_object *o)
{
    if (!o || w->nomem || (o->flags & VM_SEEN))
        return;
    if ((o->flags & VM_IMMORTAL) && !(o->flags & VM_IMMORTALISED))
        return;
    struct vm_runtime *rt = w->rt;
    bool fresh = !(o->flags & VM_IMMORTALISED);
    /* Room first: an object is made immortal only once it is recorded, so
       running out of memory leaves nothing immortal that the end would miss. */
    if ((fresh && reserve(&rt->immortals, rt->nimmortals, &rt->capimmortals) != 0) ||
        reserve(&w->todo, w->ntodo, &w->captodo) != 0) {
        w->nomem = true;
        return;
    }
    w->todo[w->ntodo++] = o;
    if (fresh) {
        rt->immortals[rt->nimmortals++] = o;
        o->flags |= VM_IMMORTAL | VM_IMMORTALISED;
        w->made++;
    }
    o->flags |= VM_SEEN;
}

/* The objects o refers to, each visited. */
static void children(struct walk *w, struct vm_object *o)
{
    switch (o->type->kind) {
    case VM_K_LIST: {
        struct vm_list *l = (struct vm_list *)o;
        for (size_t i = 0; i < l->len; i++)
            visit(w, l->items[i]);
        break;
    }
    case VM_K_TUPLE: {
        struct vm_tuple *t = (struct vm_tuple *)o;
        for (size_t i = 0; i < t->len; i++)
            visit(w, t->items[i]);
        break;
    }
    case VM_K_DICT: {
        struct vm_dict *d = (struct vm_dict *)o;
        for (size_t i = 0; i < d->nentries; i++) {
            visit(w, d->entries[i].key);
            visit(w, d->entries[i].value);
        }
        break;
    }
    case VM_K_CELL:
        visit(w, ((struct vm_cell *)o)->ref);
        break;
    case VM_K_FUNCTION:
        visit(w, (struct vm_object *)((struct vm_function *)o)->closure);
        break;
    case VM_K_METHOD:
        visit(w, ((struct vm_method *)o)->self);
        break;
    case VM_K_BOUND_METHOD:
        visit(w, ((struct vm_bound_method *)o)->func);
        visit(w, ((struct vm_bound_method *)o)->self);
        break;
    case VM_K_CLASS: {
        struct vm_class *c = (struct vm_class *)o;
        visit(w, c->name);
        visit(w, c->qualname);
        visit(w, (struct vm_object *)c->base);
        visit(w, (struct vm_object *)c->dict);
        for (int i = 0; i < c->nslots; i++)
            visit(w, c->slot_names[i]);
        break;
    }
    case VM_K_INSTANCE: {
        struct vm_instance *inst = (struct vm_instance *)o;
        visit(w, &inst->cls->ob);
        visit(w, (struct vm_object *)inst->dict);
        for (int i = 0; i < inst->nslots; i++)
            visit(w, inst->slots[i]);
        break;
    }
    case VM_K_LIST_ITER:
        visit(w, (struct vm_object *)((struct vm_list_iter *)o)->list);
        break;
    case VM_K_STR_ITER:
        visit(w, (struct vm_object *)((struct vm_str_iter *)o)->str);
        break;
    case VM_K_TUPLE_ITER:
    case VM_K_DICT_ITER:
        visit(w, ((struct vm_seq_iter *)o)->seq);
        break;
    default:   /* ints, floats, strs, ranges: no references */
        break;
    }
}

long vm_runtime_immortalize(struct vm_runtime *rt)
{
    struct walk w = {.rt = rt};
    for (int i = 0; i < rt->prog->nslots; i++)
        visit(&w, rt->globals[i]);
    while (w.ntodo > 0 && !w.nomem)
        children(&w, w.todo[--w.ntodo]);
    free(w.todo);
    /* Every object this walk saw is in rt->immortals (new or from before). */
    for (size_t i = 0; i < rt->nimmortals; i++)
        rt->immortals[i]->flags &= ~VM_SEEN;
    return w.nomem ? -1 : w.made;
}

long vm_runtime_immortals(const struct vm_runtime *rt)
{
    return (long)rt->nimmortals;
}

void vm_immortals_free(struct vm_thread *ts)
{
    struct vm_runtime *rt = ts->rt;
    for (size_t i = 0; i < rt->nimmortals; i++)
        vm_free_immortal(ts, rt->immortals[i]);
    free(rt->immortals);
    rt->immortals = NULL;
    rt->nimmortals = rt->capimmortals = 0;
}
