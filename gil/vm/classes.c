/*
 * classes.c — the objects classes are made of: tuples (closure cells and the
 * constant sequences of `for x in [...]`), str-keyed dicts (the attributes of
 * instances and classes), cells (variables shared with closures), classes,
 * instances and bound methods; attribute lookup and assignment on them, and
 * __build_class__.
 *
 * The model is CPython's, cut to the subset: single inheritance (`object` at
 * the root), instance attributes in a __dict__ or in __slots__, methods found
 * on the class chain and bound to the instance when read as a value, and the
 * special methods __init__, __repr__ and __str__. Any other special method
 * would change what an operator does in CPython without changing it here, so
 * the compiler refuses to define one (and setting one on a class later is a
 * TypeError): a program never silently behaves differently.
 *
 * Thread safety, as for lists (core.h): under GIL_VM_ATOMIC every dict, cell
 * and slotted instance takes its byte lock around each access, and a value is
 * only ever handed out with a reference taken under that lock. Dicts, cells
 * and instances can be part of reference cycles (an instance holding itself,
 * a closure holding the function that holds it): they are in the runtime's
 * registry (vm_gc_track) and are cleared when the program ends, so every
 * object a run makes is freed. Classes, tuples and bound methods hold only
 * acyclic things or such registered objects, so they need not be.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

static void tuple_dealloc(struct vm_thread *ts, struct vm_object *o);
static void seq_iter_dealloc(struct vm_thread *ts, struct vm_object *o);
static void dict_dealloc(struct vm_thread *ts, struct vm_object *o);
static void dict_clear(struct vm_thread *ts, struct vm_object *o);
static void cell_dealloc(struct vm_thread *ts, struct vm_object *o);
static void cell_clear(struct vm_thread *ts, struct vm_object *o);
static void class_dealloc(struct vm_thread *ts, struct vm_object *o);
static void instance_dealloc(struct vm_thread *ts, struct vm_object *o);
static void instance_clear(struct vm_thread *ts, struct vm_object *o);
static void bound_dealloc(struct vm_thread *ts, struct vm_object *o);

const struct vm_type vm_tuple_type = {"tuple", VM_K_TUPLE, tuple_dealloc, NULL};
const struct vm_type vm_tuple_iter_type = {"tuple_iterator", VM_K_TUPLE_ITER, seq_iter_dealloc, NULL};
const struct vm_type vm_dict_type = {"dict", VM_K_DICT, dict_dealloc, dict_clear};
const struct vm_type vm_dict_iter_type = {"dict_keyiterator", VM_K_DICT_ITER, seq_iter_dealloc, NULL};
const struct vm_type vm_cell_type = {"cell", VM_K_CELL, cell_dealloc, cell_clear};
const struct vm_type vm_class_type = {"type", VM_K_CLASS, class_dealloc, NULL};
const struct vm_type vm_instance_type = {"object", VM_K_INSTANCE, instance_dealloc, instance_clear};
const struct vm_type vm_bound_method_type = {"method", VM_K_BOUND_METHOD, bound_dealloc, NULL};

/* `object`: static and immortal, no dict, no name object (see class_name). */
struct vm_class vm_object_class = {VM_IMMORTAL_HEAD(&vm_class_type), NULL, NULL, NULL, NULL, NULL, 0, false};

const char *vm_type_name(const struct vm_object *o)
{
    if (o->type == &vm_instance_type)
        return ((const struct vm_str *)((const struct vm_instance *)o)->cls->name)->data;
    return o->type->name;
}

static const char *str_data(const struct vm_object *s) { return ((const struct vm_str *)s)->data; }
static size_t str_len(const struct vm_object *s) { return ((const struct vm_str *)s)->len; }

static const char *class_name(const struct vm_class *c)
{
    return c == &vm_object_class ? "object" : str_data(c->name);
}

/* ---- tuples ------------------------------------------------------------------------------- */

struct vm_object *vm_tuple_new(struct vm_thread *ts, size_t len)
{
    if (len > VM_MAX_SEQ_LEN)
        return vm_raise(ts, VM_EXC_MEMORY, "tuple of %zu items is too long", len);
    struct vm_tuple *t = vm_alloc(ts, &vm_tuple_type, sizeof *t + len * sizeof t->items[0]);
    if (!t)
        return NULL;
    t->len = len;
    for (size_t i = 0; i < len; i++)
        t->items[i] = NULL;
    return &t->ob;
}

static void tuple_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    struct vm_tuple *t = (struct vm_tuple *)o;
    for (size_t i = 0; i < t->len; i++)
        vm_xdecref(ts, t->items[i]);
    vm_free(ts, o);
}

static void seq_iter_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    vm_xdecref(ts, ((struct vm_seq_iter *)o)->seq);
    vm_free(ts, o);
}

/* ---- dicts -------------------------------------------------------------------------------- */

uint64_t vm_str_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

struct vm_object *vm_dict_new(struct vm_thread *ts)
{
    struct vm_dict *d = vm_alloc(ts, &vm_dict_type, sizeof *d);
    if (!d)
        return NULL;
    atomic_init(&d->lock, 0);
    d->used = d->nentries = d->capentries = d->capindex = 0;
    d->entries = NULL;
    d->index = NULL;
    vm_gc_track(ts, &d->gc);
    return &d->gc.ob;
}

/* The index slot holding key, or of the empty slot where it would go; call with
   the lock held and capindex > 0. */
static size_t dict_probe(const struct vm_dict *d, const char *key, size_t len, uint64_t hash, bool *found)
{
    size_t mask = d->capindex - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        int32_t e = d->index[i];
        if (e < 0) {
            *found = false;
            return i;
        }
        const struct vm_dict_entry *en = &d->entries[e];
        if (en->hash == hash && str_len(en->key) == len && memcmp(str_data(en->key), key, len) == 0) {
            *found = true;
            return i;
        }
    }
}

/* Rebuild the index for at least `need` live entries, dropping deleted ones. */
static int dict_resize(struct vm_dict *d, size_t need)
{
    size_t cap = 8;
    while (cap * 2 < need * 3)
        cap *= 2;
    int32_t *index = malloc(cap * sizeof *index);
    size_t capentries = cap * 2 / 3 + 1;
    struct vm_dict_entry *entries = malloc(capentries * sizeof *entries);
    if (!index || !entries) {
        free(index);
        free(entries);
        return -1;
    }
    for (size_t i = 0; i < cap; i++)
        index[i] = -1;
    size_t n = 0;
    for (size_t i = 0; i < d->nentries; i++) {
        if (!d->entries[i].key)
            continue;
        entries[n] = d->entries[i];
        size_t j = entries[n].hash & (cap - 1);
        while (index[j] >= 0)
            j = (j + 1) & (cap - 1);
        index[j] = (int32_t)n;
        n++;
    }
    free(d->entries);
    free(d->index);
    d->entries = entries;
    d->index = index;
    d->capentries = capentries;
    d->capindex = cap;
    d->nentries = n;
    return 0;
}

struct vm_object *vm_dict_get(struct vm_thread *ts, struct vm_dict *d, const char *key, size_t len,
                              uint64_t hash)
{
    struct vm_object *v = NULL;
    vm_objlock(ts, &d->lock);
    if (d->capindex) {
        bool found;
        size_t i = dict_probe(d, key, len, hash, &found);
        if (found) {
            v = d->entries[d->index[i]].value;
            vm_incref(ts, v);
        }
    }
    vm_objunlock(ts, &d->lock);
    return v;
}

int vm_dict_set(struct vm_thread *ts, struct vm_dict *d, struct vm_object *key, uint64_t hash,
                struct vm_object *v)
{
    struct vm_object *old = NULL;
    int rc = 0;
    vm_incref(ts, v);
    vm_objlock(ts, &d->lock);
    bool found = false;
    size_t i = 0;
    if (d->capindex)
        i = dict_probe(d, str_data(key), str_len(key), hash, &found);
    if (found) {
        old = d->entries[d->index[i]].value;
        d->entries[d->index[i]].value = v;
    } else {
        if (d->nentries + 1 > d->capentries || d->capindex == 0) {
            if (dict_resize(d, d->used + 1) != 0)
                rc = -1;
            else
                i = dict_probe(d, str_data(key), str_len(key), hash, &found);
        }
        if (rc == 0) {
            vm_incref(ts, key);
            d->entries[d->nentries] = (struct vm_dict_entry){key, v, hash};
            d->index[i] = (int32_t)d->nentries++;
            d->used++;
        }
    }
    vm_objunlock(ts, &d->lock);
    if (rc != 0) {
        vm_decref(ts, v);
        vm_raise(ts, VM_EXC_MEMORY, "out of memory");
        return -1;
    }
    vm_xdecref(ts, old);   /* after unlocking: freeing may take other locks */
    return 0;
}

int vm_dict_del(struct vm_thread *ts, struct vm_dict *d, const char *key, size_t len, uint64_t hash)
{
    struct vm_object *k = NULL, *v = NULL;
    vm_objlock(ts, &d->lock);
    if (d->capindex) {
        bool found;
        size_t i = dict_probe(d, key, len, hash, &found);
        if (found) {
            struct vm_dict_entry *en = &d->entries[d->index[i]];
            k = en->key;
            v = en->value;
            en->key = en->value = NULL;
            d->used--;
            /* Keep the probe chain: re-insert the entries that follow this slot. */
            size_t mask = d->capindex - 1;
            d->index[i] = -1;
            for (size_t j = (i + 1) & mask; d->index[j] >= 0; j = (j + 1) & mask) {
                int32_t e = d->index[j];
                d->index[j] = -1;
                if (!d->entries[e].key)
                    continue;
                size_t s = d->entries[e].hash & mask;
                while (d->index[s] >= 0)
                    s = (s + 1) & mask;
                d->index[s] = e;
            }
        }
    }
    vm_objunlock(ts, &d->lock);
    if (!k)
        return 1;
    vm_decref(ts, k);
    vm_decref(ts, v);
    return 0;
}

/* A consistent copy of the live entries, each key and value with a reference. */
static struct vm_dict_entry *dict_snapshot(struct vm_thread *ts, struct vm_dict *d, size_t *n)
{
    vm_objlock(ts, &d->lock);
    struct vm_dict_entry *s = malloc((d->used ? d->used : 1) * sizeof *s);
    size_t k = 0;
    if (s) {
        for (size_t i = 0; i < d->nentries; i++) {
            if (!d->entries[i].key)
                continue;
            s[k] = d->entries[i];
            vm_incref(ts, s[k].key);
            vm_incref(ts, s[k].value);
            k++;
        }
    }
    vm_objunlock(ts, &d->lock);
    *n = k;
    if (!s)
        vm_raise(ts, VM_EXC_MEMORY, "out of memory");
    return s;
}

static void snapshot_free(struct vm_thread *ts, struct vm_dict_entry *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        vm_decref(ts, s[i].key);
        vm_decref(ts, s[i].value);
    }
    free(s);
}

struct vm_object *vm_dict_keys(struct vm_thread *ts, struct vm_dict *d)
{
    size_t n;
    struct vm_dict_entry *s = dict_snapshot(ts, d, &n);
    if (!s)
        return NULL;
    struct vm_object *l = vm_list_new(ts, n);
    if (l)
        for (size_t i = 0; i < n; i++) {
            ((struct vm_list *)l)->items[i] = s[i].key;
            vm_incref(ts, s[i].key);
        }
    snapshot_free(ts, s, n);
    return l;
}

int vm_dict_repr_into(struct vm_thread *ts, struct vm_buf *b, struct vm_dict *d)
{
    int entered = vm_repr_enter(ts, &d->gc.ob);
    if (entered < 0)
        return -1;
    if (entered > 0) {   /* already being repr'd further up */
        if (vm_buf_puts(b, "{...}") == 0)
            return 0;
        vm_raise(ts, VM_EXC_MEMORY, "out of memory");
        return -1;
    }
    size_t n;
    struct vm_dict_entry *s = dict_snapshot(ts, d, &n);
    int rc = s ? 0 : -1;
    if (rc == 0 && vm_buf_put(b, "{", 1) < 0)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if ((i > 0 && vm_buf_put(b, ", ", 2) < 0))
            rc = -1;
        else if (vm_repr_into(ts, b, s[i].key) < 0 || vm_buf_put(b, ": ", 2) < 0 ||
                 vm_repr_into(ts, b, s[i].value) < 0)
            rc = -1;
    }
    if (rc == 0 && vm_buf_put(b, "}", 1) < 0)
        rc = -1;
    if (rc < 0 && ts->exc == VM_EXC_NONE)
        vm_raise(ts, VM_EXC_MEMORY, "out of memory");
    if (s)
        snapshot_free(ts, s, n);
    vm_repr_leave(ts);
    return rc;
}

int vm_dict_equal(struct vm_thread *ts, struct vm_dict *a, struct vm_dict *b)
{
    size_t n;
    struct vm_dict_entry *s = dict_snapshot(ts, a, &n);
    if (!s)
        return -1;
    vm_objlock(ts, &b->lock);
    size_t bn = b->used;
    vm_objunlock(ts, &b->lock);
    int eq = bn == n;
    for (size_t i = 0; eq == 1 && i < n; i++) {
        struct vm_object *v = vm_dict_get(ts, b, str_data(s[i].key), str_len(s[i].key), s[i].hash);
        if (!v) {
            eq = 0;
            break;
        }
        eq = v == s[i].value ? 1 : vm_compare(ts, VM_CMP_EQ, s[i].value, v);
        vm_decref(ts, v);
    }
    snapshot_free(ts, s, n);
    return eq;
}

/* Drop every entry (the references go after unlocking). */
static void dict_clear(struct vm_thread *ts, struct vm_object *o)
{
    struct vm_dict *d = (struct vm_dict *)o;
    vm_objlock(ts, &d->lock);
    struct vm_dict_entry *entries = d->entries;
    size_t n = d->nentries;
    free(d->index);
    d->entries = NULL;
    d->index = NULL;
    d->used = d->nentries = d->capentries = d->capindex = 0;
    vm_objunlock(ts, &d->lock);
    for (size_t i = 0; i < n; i++) {
        vm_xdecref(ts, entries[i].key);
        vm_xdecref(ts, entries[i].value);
    }
    free(entries);
}

static void dict_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    vm_gc_untrack(ts, (struct vm_gchead *)o);
    dict_clear(ts, o);
    vm_free(ts, o);
}

/* ---- cells ------------------------------------------------------------------------------------ */

struct vm_object *vm_cell_new(struct vm_thread *ts, struct vm_object *v)
{
    struct vm_cell *c = vm_alloc(ts, &vm_cell_type, sizeof *c);
    if (!c) {
        vm_xdecref(ts, v);
        return NULL;
    }
    atomic_init(&c->lock, 0);
    c->ref = v;
    vm_gc_track(ts, &c->gc);
    return &c->gc.ob;
}

struct vm_object *vm_cell_get(struct vm_thread *ts, struct vm_cell *c)
{
    vm_objlock(ts, &c->lock);
    struct vm_object *v = c->ref;
    if (v)
        vm_incref(ts, v);
    vm_objunlock(ts, &c->lock);
    return v;
}

void vm_cell_set(struct vm_thread *ts, struct vm_cell *c, struct vm_object *v)
{
    vm_objlock(ts, &c->lock);
    struct vm_object *old = c->ref;
    c->ref = v;
    vm_objunlock(ts, &c->lock);
    vm_xdecref(ts, old);
}

static void cell_clear(struct vm_thread *ts, struct vm_object *o)
{
    vm_cell_set(ts, (struct vm_cell *)o, NULL);
}

static void cell_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    vm_gc_untrack(ts, (struct vm_gchead *)o);
    cell_clear(ts, o);
    vm_free(ts, o);
}

/* ---- classes and instances ----------------------------------------------------------------- */

static void class_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    struct vm_class *c = (struct vm_class *)o;
    vm_decref(ts, c->name);
    vm_decref(ts, c->qualname);
    if (c->base)
        vm_decref(ts, &c->base->ob);
    vm_decref(ts, &c->dict->gc.ob);
    for (int i = 0; i < c->nslots; i++)
        vm_decref(ts, c->slot_names[i]);
    free(c->slot_names);
    vm_free(ts, o);
}

struct vm_object *vm_class_find(struct vm_thread *ts, const struct vm_class *cls, const char *name,
                                size_t len, uint64_t hash)
{
    for (; cls && cls != &vm_object_class; cls = cls->base) {
        struct vm_object *v = vm_dict_get(ts, cls->dict, name, len, hash);
        if (v)
            return v;
    }
    return NULL;
}

bool vm_is_instance(const struct vm_object *o, const struct vm_class *cls)
{
    if (cls == &vm_object_class)
        return true;
    if (o->type != &vm_instance_type)
        return false;
    for (const struct vm_class *c = ((const struct vm_instance *)o)->cls; c; c = c->base)
        if (c == cls)
            return true;
    return false;
}

static int slot_index(const struct vm_class *cls, const char *name, size_t len)
{
    for (int i = 0; i < cls->nslots; i++)
        if (str_len(cls->slot_names[i]) == len && memcmp(str_data(cls->slot_names[i]), name, len) == 0)
            return i;
    return -1;
}

struct vm_object *vm_instance_new(struct vm_thread *ts, struct vm_class *cls)
{
    struct vm_instance *inst =
        vm_alloc(ts, &vm_instance_type, sizeof *inst + (size_t)cls->nslots * sizeof inst->slots[0]);
    if (!inst)
        return NULL;
    inst->dict = NULL;
    if (cls->has_dict) {
        inst->dict = (struct vm_dict *)vm_dict_new(ts);
        if (!inst->dict) {
            vm_free(ts, inst);
            return NULL;
        }
    }
    vm_incref(ts, &cls->ob);
    inst->cls = cls;
    atomic_init(&inst->lock, 0);
    inst->nslots = cls->nslots;
    for (int i = 0; i < cls->nslots; i++)
        inst->slots[i] = NULL;
    vm_gc_track(ts, &inst->gc);
    return &inst->gc.ob;
}

static void instance_clear(struct vm_thread *ts, struct vm_object *o)
{
    struct vm_instance *inst = (struct vm_instance *)o;
    for (int i = 0; i < inst->nslots; i++) {
        vm_objlock(ts, &inst->lock);
        struct vm_object *v = inst->slots[i];
        inst->slots[i] = NULL;
        vm_objunlock(ts, &inst->lock);
        vm_xdecref(ts, v);
    }
}

static void instance_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    struct vm_instance *inst = (struct vm_instance *)o;
    vm_gc_untrack(ts, &inst->gc);
    instance_clear(ts, o);
    if (inst->dict)
        vm_decref(ts, &inst->dict->gc.ob);
    vm_decref(ts, &inst->cls->ob);
    vm_free(ts, o);
}

static void bound_dealloc(struct vm_thread *ts, struct vm_object *o)
{
    struct vm_bound_method *m = (struct vm_bound_method *)o;
    vm_decref(ts, m->func);
    vm_decref(ts, m->self);
    vm_free(ts, o);
}

/* ---- attributes ---------------------------------------------------------------------------- */

static bool is_dunder(const char *s, size_t len)
{
    return len > 4 && s[0] == '_' && s[1] == '_' && s[len - 1] == '_' && s[len - 2] == '_';
}

bool vm_special_name_ok(const char *name)
{
    static const char *const ok[] = {"__init__", "__repr__", "__str__", "__doc__", "__module__",
                                     "__slots__", "__qualname__"};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (strcmp(name, ok[i]) == 0)
            return true;
    return false;
}

static int no_attr(struct vm_thread *ts, const struct vm_object *obj, const struct vm_object *name)
{
    if (obj->type == &vm_class_type)
        vm_raise(ts, VM_EXC_ATTRIBUTE, "type object '%s' has no attribute '%s'",
                 class_name((const struct vm_class *)obj), str_data(name));
    else
        vm_raise(ts, VM_EXC_ATTRIBUTE, "'%s' object has no attribute '%s'", vm_type_name(obj), str_data(name));
    return -1;
}

static struct vm_object *new_str(struct vm_thread *ts, const char *s)
{
    return vm_str_new(ts, s, strlen(s));
}

int vm_object_attr(struct vm_thread *ts, struct vm_object *obj, struct vm_object *name, uint64_t hash,
                   enum vm_attr attr, struct vm_object **meth, struct vm_object **attrval)
{
    const char *s = str_data(name);
    size_t len = str_len(name);
    *meth = *attrval = NULL;
    switch (obj->type->kind) {
    case VM_K_INSTANCE: {
        struct vm_instance *inst = (struct vm_instance *)obj;
        if (attr == VM_ATTR_CLASS) {
            vm_incref(ts, &inst->cls->ob);
            *attrval = &inst->cls->ob;
            return 0;
        }
        if (attr == VM_ATTR_DICT) {
            if (!inst->dict)
                return no_attr(ts, obj, name);
            vm_incref(ts, &inst->dict->gc.ob);
            *attrval = &inst->dict->gc.ob;
            return 0;
        }
        int slot = slot_index(inst->cls, s, len);
        if (slot >= 0) {
            vm_objlock(ts, &inst->lock);
            struct vm_object *v = inst->slots[slot];
            if (v)
                vm_incref(ts, v);
            vm_objunlock(ts, &inst->lock);
            if (!v)
                return no_attr(ts, obj, name);
            *attrval = v;
            return 0;
        }
        if (inst->dict && (*attrval = vm_dict_get(ts, inst->dict, s, len, hash)) != NULL)
            return 0;
        struct vm_object *v = vm_class_find(ts, inst->cls, s, len, hash);
        if (!v)
            return no_attr(ts, obj, name);
        if (v->type == &vm_function_type)
            *meth = v;      /* a method: the caller binds it to obj */
        else
            *attrval = v;
        return 0;
    }
    case VM_K_CLASS: {
        struct vm_class *cls = (struct vm_class *)obj;
        if (attr == VM_ATTR_NAME || attr == VM_ATTR_QUALNAME) {
            if (cls == &vm_object_class)
                *attrval = new_str(ts, "object");
            else {
                *attrval = attr == VM_ATTR_NAME ? cls->name : cls->qualname;
                vm_incref(ts, *attrval);
            }
            return *attrval ? 0 : -1;
        }
        if ((*attrval = vm_class_find(ts, cls, s, len, hash)) != NULL)
            return 0;
        return no_attr(ts, obj, name);
    }
    case VM_K_FUNCTION:
    case VM_K_BOUND_METHOD: {
        const struct vm_object *f = obj->type == &vm_function_type ? obj : ((struct vm_bound_method *)obj)->func;
        const struct vm_code *code = ((const struct vm_function *)f)->code;
        if (attr == VM_ATTR_NAME || attr == VM_ATTR_QUALNAME) {
            *attrval = new_str(ts, attr == VM_ATTR_NAME ? code->name : code->qualname);
            return *attrval ? 0 : -1;
        }
        return no_attr(ts, obj, name);
    }
    default:
        return 1;
    }
}

int vm_setattr(struct vm_thread *ts, struct vm_object *obj, struct vm_object *name, uint64_t hash,
               struct vm_object *v)
{
    const char *s = str_data(name);
    size_t len = str_len(name);
    switch (obj->type->kind) {
    case VM_K_INSTANCE: {
        struct vm_instance *inst = (struct vm_instance *)obj;
        if (strcmp(s, "__class__") == 0 || strcmp(s, "__dict__") == 0) {
            vm_raise(ts, VM_EXC_TYPE, "assigning or deleting %s is not supported in gillab's Python subset", s);
            return -1;
        }
        int slot = slot_index(inst->cls, s, len);
        if (slot >= 0) {
            if (v)
                vm_incref(ts, v);
            vm_objlock(ts, &inst->lock);
            struct vm_object *old = inst->slots[slot];
            if (v || old)
                inst->slots[slot] = v;
            vm_objunlock(ts, &inst->lock);
            if (!v && !old) {
                vm_raise(ts, VM_EXC_ATTRIBUTE, "%s", s);   /* CPython's member_delete */
                return -1;
            }
            vm_xdecref(ts, old);
            return 0;
        }
        if (!inst->dict)
            return no_attr(ts, obj, name);
        if (v)
            return vm_dict_set(ts, inst->dict, name, hash, v);
        return vm_dict_del(ts, inst->dict, s, len, hash) == 0 ? 0 : no_attr(ts, obj, name);
    }
    case VM_K_CLASS: {
        struct vm_class *cls = (struct vm_class *)obj;
        if (cls == &vm_object_class) {
            vm_raise(ts, VM_EXC_TYPE, "cannot set '%s' attribute of immutable type 'object'", s);
            return -1;
        }
        if (is_dunder(s, len) && !vm_special_name_ok(s)) {
            vm_raise(ts, VM_EXC_TYPE, "special method %s: not supported in gillab's Python subset", s);
            return -1;
        }
        if (v)
            return vm_dict_set(ts, cls->dict, name, hash, v);
        return vm_dict_del(ts, cls->dict, s, len, hash) == 0 ? 0 : no_attr(ts, obj, name);
    }
    case VM_K_LIST: {
        static const char *const methods[] = {"append", "pop", "insert", "extend"};
        for (size_t i = 0; i < sizeof methods / sizeof methods[0]; i++)
            if (strcmp(s, methods[i]) == 0) {
                vm_raise(ts, VM_EXC_ATTRIBUTE, "'list' object attribute '%s' is read-only", s);
                return -1;
            }
        return no_attr(ts, obj, name);
    }
    case VM_K_MODULE:
        vm_raise(ts, VM_EXC_ATTRIBUTE, "module '%s' is read-only in gillab's Python subset",
                 ((struct vm_module *)obj)->name);
        return -1;
    case VM_K_FUNCTION:
        vm_raise(ts, VM_EXC_ATTRIBUTE, "function attributes are not supported in gillab's Python subset");
        return -1;
    default:
        return no_attr(ts, obj, name);
    }
}

/* ---- repr and str through __repr__ / __str__ ------------------------------------------------- */

int vm_instance_repr_into(struct vm_thread *ts, struct vm_buf *b, struct vm_object *o, bool str)
{
    const struct vm_class *cls = ((struct vm_instance *)o)->cls;
    struct vm_object *m = NULL;
    if (str)
        m = vm_class_find(ts, cls, "__str__", 7, vm_str_hash("__str__", 7));
    if (!m)
        m = vm_class_find(ts, cls, "__repr__", 8, vm_str_hash("__repr__", 8));
    if (!m)
        return 1;
    struct vm_object *r = vm_call_object(ts, m, &o, 1);
    vm_decref(ts, m);
    if (!r)
        return -1;
    int rc = 0;
    if (r->type != &vm_str_type) {
        vm_raise(ts, VM_EXC_TYPE, "__%s__ returned non-string (type %s)", str ? "str" : "repr", vm_type_name(r));
        rc = -1;
    } else if (vm_buf_put(b, str_data(r), str_len(r)) < 0) {
        vm_raise(ts, VM_EXC_MEMORY, "out of memory");
        rc = -1;
    }
    vm_decref(ts, r);
    return rc;
}

/* ---- __build_class__ ------------------------------------------------------------------------ */

/* _Py_Mangle for a slot name: __x becomes _Class__x. */
static struct vm_object *mangle_slot(struct vm_thread *ts, const struct vm_object *cls_name,
                                     struct vm_object *slot)
{
    const char *s = str_data(slot), *c = str_data(cls_name);
    size_t n = str_len(slot);
    while (*c == '_')
        c++;
    if (n < 2 || s[0] != '_' || s[1] != '_' || (s[n - 1] == '_' && s[n - 2] == '_') || *c == '\0') {
        vm_incref(ts, slot);
        return slot;
    }
    size_t cn = strlen(c);
    struct vm_object *r = vm_str_new(ts, NULL, 1 + cn + n);
    if (r) {
        char *d = ((struct vm_str *)r)->data;
        d[0] = '_';
        memcpy(d + 1, c, cn);
        memcpy(d + 1 + cn, s, n);
        d[1 + cn + n] = '\0';
    }
    return r;
}

static bool is_identifier(const struct vm_object *s)
{
    const char *p = str_data(s);
    size_t n = str_len(s);
    if (n == 0 || (p[0] >= '0' && p[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_'))
            return false;
    }
    return true;
}

/* Lay out __slots__: the base's slots, then this class's (mangled), checked as
   CPython checks them. Returns 0 or -1 (error set). */
static int class_slots(struct vm_thread *ts, struct vm_class *cls, struct vm_object *spec)
{
    struct vm_object *items = NULL;
    if (spec->type == &vm_str_type) {
        items = vm_list_new(ts, 1);
        if (!items)
            return -1;
        vm_incref(ts, spec);
        ((struct vm_list *)items)->items[0] = spec;
    } else if (spec->type == &vm_list_type || spec->type == &vm_tuple_type) {
        size_t n = spec->type == &vm_tuple_type ? ((struct vm_tuple *)spec)->len : 0;
        if (spec->type == &vm_list_type) {
            struct vm_object *it = vm_get_iter(ts, spec), *v;
            if (!it)
                return -1;
            items = vm_list_new(ts, 0);
            if (!items) {
                vm_decref(ts, it);
                return -1;
            }
            while ((v = vm_iter_next(ts, it)) != NULL)
                if (vm_list_append(ts, (struct vm_list *)items, v) < 0)
                    break;
            vm_decref(ts, it);
            if (ts->exc != VM_EXC_NONE) {
                vm_decref(ts, items);
                return -1;
            }
        } else {
            items = vm_list_new(ts, n);
            if (!items)
                return -1;
            for (size_t i = 0; i < n; i++) {
                vm_incref(ts, ((struct vm_tuple *)spec)->items[i]);
                ((struct vm_list *)items)->items[i] = ((struct vm_tuple *)spec)->items[i];
            }
        }
    } else {
        vm_raise(ts, VM_EXC_TYPE, "__slots__ must be a str or a list of str in gillab's Python subset, not '%s'",
                 vm_type_name(spec));
        return -1;
    }
    struct vm_list *l = (struct vm_list *)items;
    int nbase = cls->base ? cls->base->nslots : 0;
    size_t total = (size_t)nbase + l->len;
    cls->slot_names = calloc(total ? total : 1, sizeof *cls->slot_names);
    if (!cls->slot_names) {
        vm_decref(ts, items);
        vm_raise(ts, VM_EXC_MEMORY, "out of memory");
        return -1;
    }
    for (int i = 0; i < nbase; i++) {
        vm_incref(ts, cls->base->slot_names[i]);
        cls->slot_names[cls->nslots++] = cls->base->slot_names[i];
    }
    bool wants_dict = false;
    int rc = 0;
    for (size_t i = 0; i < l->len && rc == 0; i++) {
        struct vm_object *s = l->items[i];
        if (s->type != &vm_str_type) {
            rc = -1;
            vm_raise(ts, VM_EXC_TYPE, "__slots__ items must be strings, not '%s'", vm_type_name(s));
            break;
        }
        if (!is_identifier(s)) {
            rc = -1;
            vm_raise(ts, VM_EXC_TYPE, "__slots__ must be identifiers");
            break;
        }
        if (strcmp(str_data(s), "__dict__") == 0) {
            if (wants_dict || (cls->base && cls->base->has_dict)) {
                rc = -1;
                vm_raise(ts, VM_EXC_TYPE, "__dict__ slot disallowed: we already got one");
            }
            wants_dict = true;
            continue;
        }
        struct vm_object *m = mangle_slot(ts, cls->name, s);
        if (!m) {
            rc = -1;
            break;
        }
        struct vm_object *clash = vm_dict_get(ts, cls->dict, str_data(m), str_len(m),
                                              vm_str_hash(str_data(m), str_len(m)));
        if (clash) {
            vm_decref(ts, clash);
            vm_raise(ts, VM_EXC_VALUE, "'%s' in __slots__ conflicts with class variable", str_data(m));
            vm_decref(ts, m);
            rc = -1;
            break;
        }
        cls->slot_names[cls->nslots++] = m;
    }
    cls->has_dict = wants_dict || (cls->base && cls->base->has_dict);
    vm_decref(ts, items);
    return rc;
}

struct vm_object *vm_build_class(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs < 2 || nargs > 3 || args[0]->type != &vm_function_type || args[1]->type != &vm_str_type)
        return vm_raise(ts, VM_EXC_TYPE, "__build_class__: expected a class body, a name and at most one base");
    struct vm_function *body = (struct vm_function *)args[0];
    struct vm_class *base = NULL;
    if (nargs == 3) {
        if (args[2]->type != &vm_class_type)
            return vm_raise(ts, VM_EXC_TYPE,
                            "a class can only derive from a class in gillab's Python subset (not '%s')",
                            vm_type_name(args[2]));
        base = (struct vm_class *)args[2];
        if (base == &vm_object_class)
            base = NULL;
    }
    if (ts->depth >= VM_RECURSION_LIMIT)
        return vm_raise(ts, VM_EXC_RECURSION, "maximum recursion depth exceeded");
    struct vm_dict *ns = (struct vm_dict *)vm_dict_new(ts);
    if (!ns)
        return NULL;
    struct vm_frame *f = vm_frame_push(ts, body->code);
    if (!f) {
        vm_decref(ts, &ns->gc.ob);
        return NULL;
    }
    f->locals = ns;
    if (vm_frame_derefs(ts, f, body) < 0) {
        for (int i = 0; i < body->code->nlocalsplus; i++)
            vm_xdecref(ts, f->fast[i]);
        vm_frame_pop(ts, f);
        vm_decref(ts, &ns->gc.ob);
        return NULL;
    }
    struct vm_object *res = NULL;
    if (vm_eval(ts, f, &res, NULL) != VM_OK) {
        vm_decref(ts, &ns->gc.ob);
        return NULL;
    }
    vm_decref(ts, res);

    struct vm_class *cls = vm_alloc(ts, &vm_class_type, sizeof *cls);
    if (!cls) {
        vm_decref(ts, &ns->gc.ob);
        return NULL;
    }
    vm_incref(ts, args[1]);
    cls->name = args[1];
    cls->base = base;
    if (base)
        vm_incref(ts, &base->ob);
    cls->dict = ns;
    cls->slot_names = NULL;
    cls->nslots = 0;
    cls->has_dict = true;
    cls->qualname = vm_dict_get(ts, ns, "__qualname__", 12, vm_str_hash("__qualname__", 12));
    struct vm_object *fail = NULL;
    if (!cls->qualname) {
        vm_incref(ts, args[1]);
        cls->qualname = args[1];
    } else {
        vm_dict_del(ts, ns, "__qualname__", 12, vm_str_hash("__qualname__", 12));
        if (cls->qualname->type != &vm_str_type) {
            vm_raise(ts, VM_EXC_TYPE, "type __qualname__ must be a str, not %s", vm_type_name(cls->qualname));
            goto failed;
        }
    }
    /* Special methods the VM would not call: refuse them (see the top). */
    struct vm_object *keys = vm_dict_keys(ts, ns);
    if (!keys)
        goto failed;
    for (size_t i = 0; i < ((struct vm_list *)keys)->len; i++) {
        const struct vm_object *k = ((struct vm_list *)keys)->items[i];
        if (is_dunder(str_data(k), str_len(k)) && !vm_special_name_ok(str_data(k))) {
            vm_raise(ts, VM_EXC_TYPE, "special method %s: not supported in gillab's Python subset", str_data(k));
            vm_decref(ts, keys);
            goto failed;
        }
    }
    vm_decref(ts, keys);
    struct vm_object *doc = vm_dict_get(ts, ns, "__doc__", 7, vm_str_hash("__doc__", 7));
    if (doc) {
        vm_decref(ts, doc);
    } else {
        struct vm_object *key = new_str(ts, "__doc__");
        int rc = key ? vm_dict_set(ts, ns, key, vm_str_hash("__doc__", 7), VM_NONE) : -1;
        vm_xdecref(ts, key);
        if (rc < 0)
            goto failed;
    }
    struct vm_object *slots = vm_dict_get(ts, ns, "__slots__", 9, vm_str_hash("__slots__", 9));
    if (slots) {
        int rc = class_slots(ts, cls, slots);
        vm_decref(ts, slots);
        if (rc < 0)
            goto failed;
    } else if (base) {
        /* No __slots__ of its own: a __dict__, and the base's slots. */
        cls->slot_names = calloc(base->nslots ? (size_t)base->nslots : 1, sizeof *cls->slot_names);
        if (!cls->slot_names) {
            vm_raise(ts, VM_EXC_MEMORY, "out of memory");
            goto failed;
        }
        for (int i = 0; i < base->nslots; i++) {
            vm_incref(ts, base->slot_names[i]);
            cls->slot_names[cls->nslots++] = base->slot_names[i];
        }
    }
    return &cls->ob;
failed:
    fail = &cls->ob;
    vm_decref(ts, fail);
    return NULL;
}
