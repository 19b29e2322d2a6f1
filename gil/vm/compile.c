/*
 * compile.c — from syntax tree to code objects, the way CPython 3.8's
 * Python/compile.c lays code out (so `dis` output reads the same):
 *
 *   - name resolution: at module level every name is LOAD_NAME/STORE_NAME; in a
 *     function a name is local (LOAD_FAST) when it is a parameter or assigned
 *     anywhere in the body and not declared `global`, else LOAD_GLOBAL;
 *   - instructions go into a list with symbolic jump labels; the assembler
 *     computes the deepest value stack by walking every path, then lays out the
 *     wordcode, widening arguments with EXTENDED_ARG until every jump fits;
 *   - constants are immortal objects owned by the program, shared between code
 *     objects, so running code never touches their reference counts.
 *
 * It also holds the compiler's plumbing: the arena, identifier interning, the
 * input checks (size, NUL bytes, UTF-8) and vm_compile_source/file.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

/* ---- errors --------------------------------------------------------------------------- */

_Noreturn void vm_compile_error(struct vm_compiler *c, int line, int col, const char *fmt, ...)
{
    struct vm_error *err = c->err;
    int n = snprintf(err->msg, sizeof err->msg, "%s:%d:%d: ", c->filename, line, col);
    if (n < 0 || (size_t)n >= sizeof err->msg)
        n = 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg + n, sizeof err->msg - (size_t)n, fmt, ap);
    va_end(ap);
    err->line = line;
    err->col = col;
    longjmp(c->fail, 1);
}

_Noreturn void vm_compile_nomem(struct vm_compiler *c)
{
    const struct vm_token *t = &c->lx.la[0];
    vm_compile_error(c, t->line > 0 ? t->line : 1, t->col > 0 ? t->col : 1,
                     "MemoryError: out of memory while compiling");
}

/* ---- arena ---------------------------------------------------------------------------- */

struct vm_arena_block {
    struct vm_arena_block *next;
    size_t used, cap;
    max_align_t data[];
};

void *vm_arena_alloc(struct vm_compiler *c, size_t n)
{
    struct vm_arena *a = &c->arena;
    n = (n + sizeof(max_align_t) - 1) & ~(sizeof(max_align_t) - 1);
    struct vm_arena_block *b = a->head;
    if (!b || b->cap - b->used < n) {
        if (a->used_bytes + n > VM_COMPILE_MEMORY_MAX) {
            const struct vm_token *t = &c->lx.la[0];
            vm_compile_error(c, t->line, t->col,
                             "SyntaxError: statement too large to compile (over %zu MB of syntax tree)",
                             (size_t)VM_COMPILE_MEMORY_MAX >> 20);
        }
        /* Blocks grow from 4 KB to 1 MB: small programs stay small. */
        size_t cap = a->head ? a->head->cap * 2 : 4096;
        if (cap > ((size_t)1 << 20))
            cap = (size_t)1 << 20;
        if (cap < n)
            cap = n;
        b = malloc(sizeof *b + cap);
        if (!b)
            vm_compile_nomem(c);
        b->used = 0;
        b->cap = cap;
        b->next = a->head;
        a->head = b;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    a->used_bytes += n;
    return p;
}

void vm_arena_reset(struct vm_arena *a)
{
    /* Keep the newest block for reuse, free the others. */
    if (!a->head)
        return;
    struct vm_arena_block *b = a->head->next;
    while (b) {
        struct vm_arena_block *n = b->next;
        free(b);
        b = n;
    }
    a->head->next = NULL;
    a->head->used = 0;
    a->used_bytes = 0;
}

void vm_arena_free(struct vm_arena *a)
{
    vm_arena_reset(a);
    free(a->head);
    a->head = NULL;
}

/* ---- hash maps ------------------------------------------------------------------------ */

static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 1469598103934665603ull;   /* FNV-1a */
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static uint64_t hash_ptr(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    return x;
}

typedef bool (*vm_map_eq)(const void *a, const void *b);

static struct vm_map_entry *map_find(struct vm_map *m, const void *key, uint64_t h, vm_map_eq eq)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct vm_map_entry *e = &m->e[i];
        if (!e->key)
            return e;
        if (e->hash == h && (e->key == key || (eq && eq(e->key, key))))
            return e;
    }
}

/* Insert or find; returns the entry (value -1 if new) or NULL on no memory. */
static struct vm_map_entry *map_put(struct vm_map *m, const void *key, uint64_t h, vm_map_eq eq)
{
    if ((m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 16;
        struct vm_map_entry *ne = calloc(ncap, sizeof *ne);
        if (!ne)
            return NULL;
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->e[i].key)
                continue;
            size_t j = m->e[i].hash & (ncap - 1);
            while (ne[j].key)
                j = (j + 1) & (ncap - 1);
            ne[j] = m->e[i];
        }
        free(m->e);
        m->e = ne;
        m->cap = ncap;
    }
    struct vm_map_entry *e = map_find(m, key, h, eq);
    if (!e->key) {
        e->key = key;
        e->hash = h;
        e->value = -1;
        m->n++;
    }
    return e;
}

static void map_free(struct vm_map *m)
{
    free(m->e);
    m->e = NULL;
    m->cap = m->n = 0;
}

/* ---- interning ------------------------------------------------------------------------ */

struct vm_intern {
    struct vm_map map;          /* key: char* (NUL-terminated, owned) */
};

struct vm_intern *vm_intern_new(void)
{
    return calloc(1, sizeof(struct vm_intern));
}

void vm_intern_free(struct vm_intern *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->map.cap; i++)
        free((void *)t->map.e[i].key);
    map_free(&t->map);
    free(t);
}

struct intern_key {
    const char *s;
    size_t len;
};

static bool intern_eq(const void *stored, const void *probe)
{
    const struct intern_key *k = probe;
    return strncmp(stored, k->s, k->len) == 0 && ((const char *)stored)[k->len] == '\0';
}

const char *vm_intern(struct vm_intern *t, const char *s, size_t len)
{
    struct intern_key k = {s, len};
    uint64_t h = hash_bytes(s, len) | 1;
    struct vm_map_entry *e = map_find(&t->map, &k, h, intern_eq);
    if (e && e->key)
        return e->key;
    char *copy = malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    e = map_put(&t->map, &k, h, intern_eq);
    if (!e) {
        free(copy);
        return NULL;
    }
    e->key = copy;   /* replace the probe key with the owned copy */
    e->value = 0;
    return copy;
}

/* ---- attribute names -------------------------------------------------------------------- */

enum vm_attr vm_attr_lookup(const char *name)
{
    static const struct { const char *name; enum vm_attr a; } t[] = {
        {"append", VM_ATTR_APPEND}, {"pop", VM_ATTR_POP}, {"insert", VM_ATTR_INSERT},
        {"extend", VM_ATTR_EXTEND}, {"sleep", VM_ATTR_SLEEP},
        {"perf_counter", VM_ATTR_PERF_COUNTER}, {"perf_counter_ns", VM_ATTR_PERF_COUNTER_NS},
        {"monotonic", VM_ATTR_MONOTONIC}, {"time", VM_ATTR_TIME}, {"__class__", VM_ATTR_CLASS},
        {"__dict__", VM_ATTR_DICT}, {"__name__", VM_ATTR_NAME}, {"__qualname__", VM_ATTR_QUALNAME},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (strcmp(t[i].name, name) == 0)
            return t[i].a;
    return VM_ATTR_OTHER;
}

/* ---- program-owned constants -------------------------------------------------------------- */

static void own(struct vm_compiler *c, struct vm_object *o)
{
    struct vm_program *p = c->prog;
    if (p->nowned == p->capowned) {
        size_t cap = p->capowned ? p->capowned * 2 : 64;
        struct vm_object **n = realloc(p->owned, cap * sizeof *n);
        if (!n) {
            free(o);
            vm_compile_nomem(c);
        }
        p->owned = n;
        p->capowned = cap;
    }
    p->owned[p->nowned++] = o;
}

static struct vm_object *const_alloc(struct vm_compiler *c, const struct vm_type *type, size_t size)
{
    struct vm_object *o = calloc(1, size);
    if (!o)
        vm_compile_nomem(c);
    o->flags = VM_IMMORTAL;
    o->type = type;
    own(c, o);
    return o;
}

/* Constants are shared program-wide (c->constmap): equal (type, value) gives one object. */
static uint64_t const_hash(const struct vm_object *o)
{
    if (o->type == &vm_tuple_type) {   /* its items are constants already: one object per value */
        const struct vm_tuple *t = (const struct vm_tuple *)o;
        return hash_bytes(t->items, t->len * sizeof t->items[0]) ^ 0x7777;
    }
    if (o->type == &vm_str_type) {
        const struct vm_str *s = (const struct vm_str *)o;
        return hash_bytes(s->data, s->len) ^ 0x5757;
    }
    if (o->type == &vm_float_type) {
        double d = vm_float_value(o);
        return hash_bytes(&d, sizeof d) ^ 0xf1f1;
    }
    int64_t v = vm_int_value(o);
    return hash_bytes(&v, sizeof v) ^ 0x1717;
}

static bool const_eq(const void *a, const void *b)
{
    const struct vm_object *x = a, *y = b;
    if (x->type != y->type)
        return false;
    if (x->type == &vm_tuple_type) {
        const struct vm_tuple *s = (const struct vm_tuple *)x, *t = (const struct vm_tuple *)y;
        return s->len == t->len && memcmp(s->items, t->items, s->len * sizeof s->items[0]) == 0;
    }
    if (x->type == &vm_str_type) {
        const struct vm_str *s = (const struct vm_str *)x, *t = (const struct vm_str *)y;
        return s->len == t->len && memcmp(s->data, t->data, s->len) == 0;
    }
    if (x->type == &vm_float_type) {
        double d = vm_float_value(x), e = vm_float_value(y);
        return memcmp(&d, &e, sizeof d) == 0;   /* -0.0 and 0.0 stay apart, as in CPython */
    }
    return vm_int_value(x) == vm_int_value(y);
}

static struct vm_object *intern_const(struct vm_compiler *c, struct vm_object *probe,
                                      struct vm_object *(*make)(struct vm_compiler *, const struct vm_object *))
{
    uint64_t h = const_hash(probe) | 1;
    struct vm_map_entry *e = map_find(&c->constmap, probe, h, const_eq);
    if (e && e->key)
        return (struct vm_object *)e->key;
    struct vm_object *o = make(c, probe);
    e = map_put(&c->constmap, o, h, const_eq);
    if (!e)
        vm_compile_nomem(c);
    e->value = 0;
    return o;
}

static struct vm_object *make_int(struct vm_compiler *c, const struct vm_object *probe)
{
    struct vm_int *o = (struct vm_int *)const_alloc(c, &vm_int_type, sizeof *o);
    o->value = vm_int_value(probe);
    return &o->ob;
}

static struct vm_object *make_float(struct vm_compiler *c, const struct vm_object *probe)
{
    struct vm_float *o = (struct vm_float *)const_alloc(c, &vm_float_type, sizeof *o);
    o->value = vm_float_value(probe);
    return &o->ob;
}


static struct vm_object *const_int(struct vm_compiler *c, int64_t v)
{
    if (v >= VM_SMALL_INT_MIN && v <= VM_SMALL_INT_MAX)
        return &vm_small_ints[v - VM_SMALL_INT_MIN].ob;
    struct vm_int probe = {VM_IMMORTAL_HEAD(&vm_int_type), v};
    return intern_const(c, &probe.ob, make_int);
}

static struct vm_object *const_float(struct vm_compiler *c, double v)
{
    struct vm_float probe = {VM_IMMORTAL_HEAD(&vm_float_type), v};
    if (isnan(v))   /* a NaN is never equal to another: each is a constant of its own, as in CPython */
        return make_float(c, &probe.ob);
    return intern_const(c, &probe.ob, make_float);
}

static struct vm_object *make_tuple(struct vm_compiler *c, const struct vm_object *probe)
{
    const struct vm_tuple *p = (const struct vm_tuple *)probe;
    struct vm_tuple *o = (struct vm_tuple *)const_alloc(c, &vm_tuple_type, sizeof *o + p->len * sizeof o->items[0]);
    o->len = p->len;
    memcpy(o->items, p->items, p->len * sizeof o->items[0]);
    return &o->ob;
}

/* A constant tuple of n constants. */
static struct vm_object *const_tuple(struct vm_compiler *c, struct vm_object *const *items, size_t n)
{
    struct vm_tuple *probe = malloc(sizeof *probe + (n ? n : 1) * sizeof probe->items[0]);
    if (!probe)
        vm_compile_nomem(c);
    probe->ob = (struct vm_object)VM_IMMORTAL_HEAD(&vm_tuple_type);
    probe->len = n;
    if (n)
        memcpy(probe->items, items, n * sizeof items[0]);
    uint64_t h = const_hash(&probe->ob) | 1;
    struct vm_map_entry *e = map_find(&c->constmap, &probe->ob, h, const_eq);
    struct vm_object *o = e && e->key ? (struct vm_object *)e->key : NULL;
    if (!o) {
        o = make_tuple(c, &probe->ob);
        e = map_put(&c->constmap, o, h, const_eq);
        if (!e) {
            free(probe);
            vm_compile_nomem(c);
        }
        e->value = 0;
    }
    free(probe);
    return o;
}

static struct vm_object *const_str(struct vm_compiler *c, const char *s, size_t len)
{
    struct vm_str *probe = malloc(sizeof *probe + len + 1);
    if (!probe)
        vm_compile_nomem(c);
    probe->ob.refcnt = 0;
    probe->ob.flags = VM_IMMORTAL;
    probe->ob.type = &vm_str_type;
    probe->len = len;
    memcpy(probe->data, s, len);
    probe->data[len] = '\0';
    /* Look up by value first; the probe never outlives this call. */
    uint64_t h = const_hash(&probe->ob) | 1;
    struct vm_map_entry *e = map_find(&c->constmap, &probe->ob, h, const_eq);
    if (e && e->key) {
        free(probe);
        return (struct vm_object *)e->key;
    }
    struct vm_str *o = (struct vm_str *)calloc(1, sizeof *o + len + 1);
    if (!o) {
        free(probe);
        vm_compile_nomem(c);
    }
    free(probe);
    o->ob.flags = VM_IMMORTAL;
    o->ob.type = &vm_str_type;
    o->len = len;
    memcpy(o->data, s, len);
    o->data[len] = '\0';
    own(c, &o->ob);
    e = map_put(&c->constmap, &o->ob, h, const_eq);
    if (!e)
        vm_compile_nomem(c);
    e->value = 0;
    return &o->ob;
}

/* ---- growing arrays ------------------------------------------------------------------ */

static void *grow(struct vm_compiler *c, void *p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return p;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        vm_compile_nomem(c);
    void *n = realloc(p, ncap * elem);
    if (!n)
        vm_compile_nomem(c);
    *cap = ncap;
    return n;
}

/* ---- name sets (for the symbol table's analysis) --------------------------------------------- */

/* A set of interned names on a vm_map: value 1 = member, 0 = removed. */
static void set_add(struct vm_compiler *c, struct vm_map *m, const char *name)
{
    struct vm_map_entry *e = map_put(m, name, hash_ptr(name), NULL);
    if (!e)
        vm_compile_nomem(c);
    e->value = 1;
}

static bool set_has(struct vm_map *m, const char *name)
{
    struct vm_map_entry *e = map_find(m, name, hash_ptr(name), NULL);
    return e && e->key && e->value == 1;
}

static void set_del(struct vm_map *m, const char *name)
{
    struct vm_map_entry *e = map_find(m, name, hash_ptr(name), NULL);
    if (e && e->key)
        e->value = 0;
}

/* A set that lives until tmp_maps_free (also on errors: the compiler frees it). */
static struct vm_map *tmp_map(struct vm_compiler *c)
{
    c->tmp_maps = grow(c, c->tmp_maps, &c->captmp_maps, c->ntmp_maps + 1, sizeof *c->tmp_maps);
    struct vm_map *m = calloc(1, sizeof *m);
    if (!m)
        vm_compile_nomem(c);
    c->tmp_maps[c->ntmp_maps++] = m;
    return m;
}

static void tmp_maps_free(struct vm_compiler *c)
{
    for (size_t i = 0; i < c->ntmp_maps; i++) {
        map_free(c->tmp_maps[i]);
        free(c->tmp_maps[i]);
    }
    c->ntmp_maps = 0;
}

static void set_union(struct vm_compiler *c, struct vm_map *into, const struct vm_map *from)
{
    for (size_t i = 0; i < from->cap; i++)
        if (from->e[i].key && from->e[i].value == 1)
            set_add(c, into, from->e[i].key);
}

/* ---- symbol tables (CPython 3.8's Python/symtable.c) ----------------------------------------- */

/* What a scope saw a name do ... */
enum { DEF_GLOBAL = 1, DEF_LOCAL = 2, DEF_PARAM = 4, DEF_NONLOCAL = 8, DEF_USE = 16, DEF_FREE_CLASS = 32 };
#define DEF_BOUND (DEF_LOCAL | DEF_PARAM)
/* ... and, after analysis, where the name lives (flags | scope << SCOPE_SHIFT). */
enum { SC_LOCAL = 1, SC_GLOBAL_EXPLICIT, SC_GLOBAL_IMPLICIT, SC_FREE, SC_CELL };
#define SCOPE_SHIFT 8

enum scope_kind { SCOPE_MODULE, SCOPE_CLASS, SCOPE_FUNCTION };

struct directive {                  /* a name a global/nonlocal statement declared, for errors */
    const char *name;
    int line, col;
};

struct vm_scope {
    enum scope_kind kind;
    const char *private_name;       /* the enclosing class's name, for mangling (or NULL) */
    struct vm_map sym;              /* interned (mangled) name -> DEF_* | SC_* << SCOPE_SHIFT */
    struct directive *dirs;
    int ndirs, capdirs;
    struct vm_scope **children;
    int nchildren, capchildren;
    struct vm_scope *next;          /* c->scopes: every scope but the module's */
};

static struct vm_scope *scope_new(struct vm_compiler *c, enum scope_kind kind, struct vm_scope *parent,
                                  const char *private_name)
{
    struct vm_scope *sc = calloc(1, sizeof *sc);
    if (!sc)
        vm_compile_nomem(c);
    sc->kind = kind;
    sc->private_name = private_name;
    if (kind == SCOPE_MODULE)
        return sc;
    sc->next = c->scopes;
    c->scopes = sc;
    if (parent) {
        size_t cap = (size_t)parent->capchildren;
        parent->children = grow(c, parent->children, &cap, (size_t)parent->nchildren + 1, sizeof *parent->children);
        parent->capchildren = (int)cap;
        parent->children[parent->nchildren++] = sc;
    }
    return sc;
}

static void scope_free(struct vm_scope *sc)
{
    if (!sc)
        return;
    map_free(&sc->sym);
    free(sc->dirs);
    free(sc->children);
    free(sc);
}

static void scopes_free(struct vm_compiler *c)
{
    while (c->scopes) {
        struct vm_scope *n = c->scopes->next;
        scope_free(c->scopes);
        c->scopes = n;
    }
}

static const char *intern_str(struct vm_compiler *c, const char *s, size_t len)
{
    const char *r = vm_intern(c->prog->intern, s, len);
    if (!r)
        vm_compile_nomem(c);
    return r;
}

/* _Py_Mangle: inside class C, __x (not __x__) names _C__x. */
static const char *mangle(struct vm_compiler *c, const char *private_name, const char *name)
{
    size_t n = strlen(name);
    if (!private_name || n < 2 || name[0] != '_' || name[1] != '_' || (name[n - 1] == '_' && name[n - 2] == '_'))
        return name;
    while (*private_name == '_')
        private_name++;
    if (!*private_name)
        return name;
    size_t pn = strlen(private_name);
    char small[256];
    char *buf = 1 + pn + n < sizeof small ? small : malloc(1 + pn + n + 1);
    if (!buf)
        vm_compile_nomem(c);
    buf[0] = '_';
    memcpy(buf + 1, private_name, pn);
    memcpy(buf + 1 + pn, name, n);
    const char *r = vm_intern(c->prog->intern, buf, 1 + pn + n);
    if (buf != small)
        free(buf);
    if (!r)
        vm_compile_nomem(c);
    return r;
}

static int sym_get(const struct vm_scope *sc, const char *name)
{
    struct vm_map_entry *e = map_find((struct vm_map *)&sc->sym, name, hash_ptr(name), NULL);
    return e && e->key ? e->value : 0;
}

static void sym_set(struct vm_compiler *c, struct vm_scope *sc, const char *name, int value)
{
    struct vm_map_entry *e = map_put(&sc->sym, name, hash_ptr(name), NULL);
    if (!e)
        vm_compile_nomem(c);
    e->value = value;
}

/* symtable_add_def, with the checks of its global and nonlocal statements. */
static void sym_add(struct vm_compiler *c, struct vm_scope *sc, const char *raw, int flag, int line, int col)
{
    const char *name = mangle(c, sc->private_name, raw);
    int cur = sym_get(sc, name);
    if (flag == DEF_GLOBAL || flag == DEF_NONLOCAL) {
        const char *what = flag == DEF_GLOBAL ? "global" : "nonlocal";
        if (cur & DEF_PARAM)
            vm_compile_error(c, line, col, "SyntaxError: name '%s' is parameter and %s", raw, what);
        if (cur & DEF_USE)
            vm_compile_error(c, line, col, "SyntaxError: name '%s' is used prior to %s declaration", raw, what);
        if (cur & DEF_LOCAL)
            vm_compile_error(c, line, col, "SyntaxError: name '%s' is assigned to before %s declaration", raw,
                             what);
        if ((cur | flag) & DEF_GLOBAL && (cur | flag) & DEF_NONLOCAL)
            vm_compile_error(c, line, col, "SyntaxError: name '%s' is nonlocal and global", raw);
        size_t cap = (size_t)sc->capdirs;
        sc->dirs = grow(c, sc->dirs, &cap, (size_t)sc->ndirs + 1, sizeof *sc->dirs);
        sc->capdirs = (int)cap;
        sc->dirs[sc->ndirs++] = (struct directive){name, line, col};
    }
    /* CPython's symtable records every global declaration in the module's
       symbols too (st_global): the module then names it with *_GLOBAL. */
    if (flag == DEF_GLOBAL && sc != c->module_scope)
        sym_set(c, c->module_scope, name, sym_get(c->module_scope, name) | DEF_GLOBAL);
    if (flag == DEF_LOCAL && sc->kind == SCOPE_CLASS) {
        size_t n = strlen(name);
        if (n > 4 && name[0] == '_' && name[1] == '_' && name[n - 1] == '_' && name[n - 2] == '_' &&
            !vm_special_name_ok(name))
            vm_compile_error(c, line, col, "SyntaxError: special method %s: not supported in gillab's Python subset",
                             name);
    }
    sym_set(c, sc, name, cur | flag);
}

static void sym_expr(struct vm_compiler *c, struct vm_scope *sc, const struct vm_expr *e)
{
    if (!e)
        return;
    switch (e->kind) {
    case VM_E_NAME:
        sym_add(c, sc, e->u.name, DEF_USE, e->line, e->col);
        break;
    case VM_E_BINOP:
        sym_expr(c, sc, e->u.bin.l);
        sym_expr(c, sc, e->u.bin.r);
        break;
    case VM_E_UNARY:
    case VM_E_NOT:
        sym_expr(c, sc, e->u.operand);
        break;
    case VM_E_BOOLOP:
    case VM_E_LIST:
    case VM_E_TUPLE:
        for (int i = 0; i < e->u.seq.n; i++)
            sym_expr(c, sc, e->u.seq.v[i]);
        break;
    case VM_E_COMPARE:
        for (int i = 0; i <= e->u.cmp.n; i++)
            sym_expr(c, sc, e->u.cmp.v[i]);
        break;
    case VM_E_CALL:
        sym_expr(c, sc, e->u.call.fn);
        for (int i = 0; i < e->u.call.n; i++)
            sym_expr(c, sc, e->u.call.args[i]);
        break;
    case VM_E_ATTR:
        sym_expr(c, sc, e->u.attr.value);
        break;
    case VM_E_SUBSCR:
        sym_expr(c, sc, e->u.sub.value);
        sym_expr(c, sc, e->u.sub.index);
        break;
    default:
        break;
    }
}

/* An assignment or del target: a name is bound (del binds, as in CPython). */
static void sym_target(struct vm_compiler *c, struct vm_scope *sc, const struct vm_expr *t)
{
    if (t->kind == VM_E_NAME)
        sym_add(c, sc, t->u.name, DEF_LOCAL, t->line, t->col);
    else
        sym_expr(c, sc, t);
}

static void sym_block(struct vm_compiler *c, struct vm_scope *sc, const struct vm_block *b);

static void sym_stmt(struct vm_compiler *c, struct vm_scope *sc, struct vm_stmt *s)
{
    switch (s->kind) {
    case VM_S_EXPR:
    case VM_S_RETURN:
        sym_expr(c, sc, s->u.expr);
        break;
    case VM_S_ASSIGN:
        for (int i = 0; i < s->u.assign.n; i++)
            sym_target(c, sc, s->u.assign.targets[i]);
        sym_expr(c, sc, s->u.assign.value);
        break;
    case VM_S_DEL:
        for (int i = 0; i < s->u.assign.n; i++)
            sym_target(c, sc, s->u.assign.targets[i]);
        break;
    case VM_S_AUGASSIGN:
        sym_target(c, sc, s->u.aug.target);
        sym_expr(c, sc, s->u.aug.value);
        break;
    case VM_S_IF:
        for (int i = 0; i < s->u.ifs.n; i++) {
            sym_expr(c, sc, s->u.ifs.tests[i]);
            sym_block(c, sc, &s->u.ifs.bodies[i]);
        }
        sym_block(c, sc, &s->u.ifs.orelse);
        break;
    case VM_S_WHILE:
        sym_expr(c, sc, s->u.wh.test);
        sym_block(c, sc, &s->u.wh.body);
        sym_block(c, sc, &s->u.wh.orelse);
        break;
    case VM_S_FOR:
        sym_target(c, sc, s->u.fo.target);
        sym_expr(c, sc, s->u.fo.iter);
        sym_block(c, sc, &s->u.fo.body);
        sym_block(c, sc, &s->u.fo.orelse);
        break;
    case VM_S_GLOBAL:
    case VM_S_NONLOCAL:
        for (int i = 0; i < s->u.glob.n; i++)
            sym_add(c, sc, s->u.glob.names[i], s->kind == VM_S_GLOBAL ? DEF_GLOBAL : DEF_NONLOCAL, s->line,
                    s->u.glob.cols[i]);
        break;
    case VM_S_IMPORT:
        sym_add(c, sc, s->u.imp.asname, DEF_LOCAL, s->line, s->col);
        break;
    case VM_S_DEF: {
        sym_add(c, sc, s->u.def.name, DEF_LOCAL, s->line, s->col);
        struct vm_scope *fs = scope_new(c, SCOPE_FUNCTION, sc, sc->private_name);
        s->u.def.scope = fs;
        for (int i = 0; i < s->u.def.nparams; i++)
            sym_add(c, fs, s->u.def.params[i], DEF_PARAM, s->line, s->u.def.pcols[i]);
        sym_block(c, fs, &s->u.def.body);
        break;
    }
    case VM_S_CLASS: {
        sym_add(c, sc, s->u.cls.name, DEF_LOCAL, s->line, s->col);
        sym_expr(c, sc, s->u.cls.base);
        struct vm_scope *cs = scope_new(c, SCOPE_CLASS, sc, s->u.cls.name);
        s->u.cls.scope = cs;
        sym_block(c, cs, &s->u.cls.body);
        break;
    }
    default:
        break;
    }
}

static void sym_block(struct vm_compiler *c, struct vm_scope *sc, const struct vm_block *b)
{
    for (int i = 0; i < b->n; i++)
        sym_stmt(c, sc, b->v[i]);
}

static const struct directive *directive_of(const struct vm_scope *sc, const char *name)
{
    for (int i = 0; i < sc->ndirs; i++)
        if (sc->dirs[i].name == name)
            return &sc->dirs[i];
    return &sc->dirs[0];
}

/* analyze_name: where one name of one scope lives. */
static void analyze_name(struct vm_compiler *c, struct vm_scope *sc, struct vm_map *scopes, const char *name,
                         int flags, struct vm_map *bound, struct vm_map *local, struct vm_map *free,
                         struct vm_map *global)
{
    int sc_kind;
    if (flags & DEF_GLOBAL) {
        sc_kind = SC_GLOBAL_EXPLICIT;
        set_add(c, global, name);
        if (bound)
            set_del(bound, name);
    } else if (flags & DEF_NONLOCAL) {
        const struct directive *d = directive_of(sc, name);
        if (!bound)
            vm_compile_error(c, d->line, d->col, "SyntaxError: nonlocal declaration not allowed at module level");
        if (!set_has(bound, name))
            vm_compile_error(c, d->line, d->col, "SyntaxError: no binding for nonlocal '%s' found", name);
        sc_kind = SC_FREE;
        set_add(c, free, name);
    } else if (flags & DEF_BOUND) {
        sc_kind = SC_LOCAL;
        set_add(c, local, name);
        set_del(global, name);
    } else if (bound && set_has(bound, name)) {
        sc_kind = SC_FREE;
        set_add(c, free, name);
    } else {
        sc_kind = SC_GLOBAL_IMPLICIT;
    }
    struct vm_map_entry *e = map_put(scopes, name, hash_ptr(name), NULL);
    if (!e)
        vm_compile_nomem(c);
    e->value = sc_kind;
}

static void analyze_block(struct vm_compiler *c, struct vm_scope *sc, struct vm_map *bound, struct vm_map *free,
                          struct vm_map *global);

/* analyze_child_block: the child works on copies; its free names come back. */
static void analyze_child(struct vm_compiler *c, struct vm_scope *child, struct vm_map *bound,
                          struct vm_map *global, struct vm_map *child_free)
{
    struct vm_map *tb = tmp_map(c), *tf = tmp_map(c), *tg = tmp_map(c);
    set_union(c, tb, bound);
    set_union(c, tg, global);
    analyze_block(c, child, tb, tf, tg);
    set_union(c, child_free, tf);
}

static void analyze_block(struct vm_compiler *c, struct vm_scope *sc, struct vm_map *bound, struct vm_map *free,
                          struct vm_map *global)
{
    struct vm_map *local = tmp_map(c), *scopes = tmp_map(c), *newglobal = tmp_map(c);
    struct vm_map *newfree = tmp_map(c), *newbound = tmp_map(c), *allfree = tmp_map(c);
    if (sc->kind == SCOPE_CLASS) {
        /* Class bindings are not visible in methods: what children see is fixed first. */
        set_union(c, newglobal, global);
        if (bound)
            set_union(c, newbound, bound);
    }
    for (size_t i = 0; i < sc->sym.cap; i++)
        if (sc->sym.e[i].key)
            analyze_name(c, sc, scopes, sc->sym.e[i].key, sc->sym.e[i].value, bound, local, free, global);
    if (sc->kind != SCOPE_CLASS) {
        if (sc->kind == SCOPE_FUNCTION)
            set_union(c, newbound, local);
        if (bound)
            set_union(c, newbound, bound);
        set_union(c, newglobal, global);
    }
    for (int i = 0; i < sc->nchildren; i++)
        analyze_child(c, sc->children[i], newbound, newglobal, allfree);
    set_union(c, newfree, allfree);
    /* analyze_cells: locals a child uses become cells. */
    if (sc->kind == SCOPE_FUNCTION)
        for (size_t i = 0; i < scopes->cap; i++)
            if (scopes->e[i].key && scopes->e[i].value == SC_LOCAL && set_has(newfree, scopes->e[i].key)) {
                scopes->e[i].value = SC_CELL;
                set_del(newfree, scopes->e[i].key);
            }
    /* update_symbols */
    for (size_t i = 0; i < sc->sym.cap; i++) {
        struct vm_map_entry *e = &sc->sym.e[i];
        if (!e->key)
            continue;
        struct vm_map_entry *s = map_find(scopes, e->key, hash_ptr(e->key), NULL);
        e->value |= s->value << SCOPE_SHIFT;
    }
    for (size_t i = 0; i < newfree->cap; i++) {
        const char *name = newfree->e[i].key;
        if (!name || newfree->e[i].value != 1)
            continue;
        int v = sym_get(sc, name);
        if (v) {
            /* A free variable of a method that the class binds too. */
            if (sc->kind == SCOPE_CLASS && v & (DEF_BOUND | DEF_GLOBAL))
                sym_set(c, sc, name, v | DEF_FREE_CLASS);
            continue;
        }
        if (bound && !set_has(bound, name))
            continue;   /* a global */
        sym_set(c, sc, name, SC_FREE << SCOPE_SHIFT);   /* passing through to a child */
    }
    set_union(c, free, newfree);
}

/* Build and analyze the scopes of one top-level statement of the module. */
static void symtable_stmt(struct vm_compiler *c, struct vm_stmt *s)
{
    struct vm_scope *mod = c->module_scope;
    int before = mod->nchildren;
    sym_stmt(c, mod, s);
    struct vm_map *bound = tmp_map(c), *global = tmp_map(c), *free = tmp_map(c);
    for (int i = before; i < mod->nchildren; i++)
        analyze_child(c, mod->children[i], bound, global, free);
    tmp_maps_free(c);
    mod->nchildren = before;   /* the module's children are compiled once, then freed */
}

static int scope_of(const struct vm_scope *sc, const char *name)
{
    return sym_get(sc, name) >> SCOPE_SHIFT;
}

/* ---- constant folding (CPython 3.8's Python/ast_opt.c) ----------------------------------------- */

static struct vm_object *const_int(struct vm_compiler *c, int64_t v);
static struct vm_object *const_float(struct vm_compiler *c, double v);

static bool int_fits(const struct vm_expr *e, int64_t *out)
{
    if (e->u.i.big)
        return false;
    uint64_t m = e->u.i.mag;
    if (e->u.i.neg) {
        if (m > (uint64_t)INT64_MAX + 1)
            return false;
        *out = m == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)m;
    } else {
        if (m > (uint64_t)INT64_MAX)
            return false;
        *out = (int64_t)m;
    }
    return true;
}

/* A value the folding computed, as a program constant; the temporary is released. */
static struct vm_object *to_const(struct vm_compiler *c, struct vm_object *v)
{
    struct vm_object *r;
    if (v == VM_TRUE || v == VM_FALSE || v == VM_NONE)
        return v;
    if (v->type == &vm_int_type)
        r = const_int(c, vm_int_value(v));
    else if (v->type == &vm_float_type)
        r = const_float(c, vm_float_value(v));
    else if (v->type == &vm_str_type)
        r = const_str(c, ((struct vm_str *)v)->data, ((struct vm_str *)v)->len);
    else
        r = NULL;   /* nothing else comes out of folding constants */
    vm_decref(c->fold_ts, v);
    return r;
}

static bool const_truthy(const struct vm_object *o)
{
    switch (o->type->kind) {
    case VM_K_NONE: return false;
    case VM_K_BOOL: case VM_K_INT: return vm_int_value(o) != 0;
    case VM_K_FLOAT: return vm_float_value(o) != 0.0;
    case VM_K_STR: return ((const struct vm_str *)o)->len != 0;
    case VM_K_TUPLE: return ((const struct vm_tuple *)o)->len != 0;
    default: return true;
    }
}

static void make_const(struct vm_compiler *c, struct vm_expr *e, struct vm_object *tmp)
{
    struct vm_thread *ts = c->fold_ts;
    if (!tmp) {   /* the operation raised: it is left for run time, as in CPython */
        vm_clear_error(ts);
        return;
    }
    struct vm_object *k = to_const(c, tmp);
    if (!k)
        return;
    e->kind = VM_E_CONST;
    e->u.obj = k;
}

/* safe_multiply and safe_mod: what CPython declines to fold. */
static bool fold_ok(enum vm_binop op, const struct vm_object *l, const struct vm_object *r)
{
    if (op == VM_BIN_MOD)
        return l->type != &vm_str_type;
    if (op != VM_BIN_MUL)
        return true;
    const struct vm_object *seq = l->type == &vm_str_type ? l : r->type == &vm_str_type ? r : NULL;
    const struct vm_object *n = seq == l ? r : l;
    if (!seq || !vm_is_intlike(n))
        return true;
    size_t len = ((const struct vm_str *)seq)->len;
    if (len == 0)
        return true;
    /* MAX_STR_SIZE is 4096 characters; gillab counts them in UTF-8 code points */
    size_t chars = 0;
    for (size_t i = 0; i < len; i++)
        chars += (((const struct vm_str *)seq)->data[i] & 0xC0) != 0x80;
    int64_t k = vm_int_value(n);
    return k >= 0 && (uint64_t)k <= 4096 / chars;
}

static struct vm_expr *fold_expr(struct vm_compiler *c, struct vm_expr *e);

/* fold_iter: the list of a for loop becomes a tuple, a constant when it can. */
static void fold_iter(struct vm_compiler *c, struct vm_expr *e)
{
    if (e->kind != VM_E_LIST)
        return;
    e->kind = VM_E_TUPLE;
    for (int i = 0; i < e->u.seq.n; i++)
        if (e->u.seq.v[i]->kind != VM_E_CONST)
            return;
    struct vm_object *small[16];
    struct vm_object **items = e->u.seq.n <= 16 ? small : malloc(sizeof *items * (size_t)e->u.seq.n);
    if (!items)
        vm_compile_nomem(c);
    for (int i = 0; i < e->u.seq.n; i++)
        items[i] = e->u.seq.v[i]->u.obj;
    struct vm_object *t = const_tuple(c, items, (size_t)e->u.seq.n);
    if (items != small)
        free(items);
    e->kind = VM_E_CONST;
    e->u.obj = t;
}

static struct vm_expr *fold_expr(struct vm_compiler *c, struct vm_expr *e)
{
    if (!e)
        return e;
    struct vm_thread *ts = c->fold_ts;
    switch (e->kind) {
    case VM_E_INT: {
        int64_t v;
        if (int_fits(e, &v)) {
            e->u.obj = const_int(c, v);
            e->kind = VM_E_CONST;
        }
        break;
    }
    case VM_E_FLOAT: {
        double d = e->u.f;
        e->u.obj = const_float(c, d);
        e->kind = VM_E_CONST;
        break;
    }
    case VM_E_STR: {
        struct vm_object *o = const_str(c, e->u.s.s, e->u.s.len);
        e->u.obj = o;
        e->kind = VM_E_CONST;
        break;
    }
    case VM_E_NONE: e->u.obj = VM_NONE; e->kind = VM_E_CONST; break;
    case VM_E_TRUE: e->u.obj = VM_TRUE; e->kind = VM_E_CONST; break;
    case VM_E_FALSE: e->u.obj = VM_FALSE; e->kind = VM_E_CONST; break;
    case VM_E_BINOP: {
        struct vm_expr *l = fold_expr(c, e->u.bin.l), *r = fold_expr(c, e->u.bin.r);
        if (l->kind == VM_E_CONST && r->kind == VM_E_CONST && fold_ok(e->op, l->u.obj, r->u.obj))
            make_const(c, e, vm_binary(ts, e->op, l->u.obj, r->u.obj, false));
        break;
    }
    case VM_E_UNARY: {
        struct vm_expr *o = fold_expr(c, e->u.operand);
        if (o->kind == VM_E_CONST)
            make_const(c, e, e->op == VM_UN_NEG ? vm_negative(ts, o->u.obj) : vm_positive(ts, o->u.obj));
        break;
    }
    case VM_E_NOT: {
        struct vm_expr *o = fold_expr(c, e->u.operand);
        if (o->kind == VM_E_CONST) {
            e->u.obj = VM_BOOL(!const_truthy(o->u.obj));
            e->kind = VM_E_CONST;
        } else if (o->kind == VM_E_COMPARE && o->u.cmp.n == 1 &&
                   (o->u.cmp.ops[0] == VM_CMP_IS || o->u.cmp.ops[0] == VM_CMP_IS_NOT)) {
            /* not (a is b) is a is not b: the node becomes the comparison */
            o->u.cmp.ops[0] = o->u.cmp.ops[0] == VM_CMP_IS ? VM_CMP_IS_NOT : VM_CMP_IS;
            *e = *o;
        }
        break;
    }
    case VM_E_BOOLOP:
    case VM_E_LIST:
    case VM_E_TUPLE:
        for (int i = 0; i < e->u.seq.n; i++)
            fold_expr(c, e->u.seq.v[i]);
        break;
    case VM_E_COMPARE:
        for (int i = 0; i <= e->u.cmp.n; i++)
            fold_expr(c, e->u.cmp.v[i]);
        break;
    case VM_E_CALL:
        fold_expr(c, e->u.call.fn);
        for (int i = 0; i < e->u.call.n; i++)
            fold_expr(c, e->u.call.args[i]);
        break;
    case VM_E_ATTR:
        fold_expr(c, e->u.attr.value);
        break;
    case VM_E_SUBSCR: {
        struct vm_expr *v = fold_expr(c, e->u.sub.value), *i = fold_expr(c, e->u.sub.index);
        if (v->kind == VM_E_CONST && i->kind == VM_E_CONST)
            make_const(c, e, vm_subscr(ts, v->u.obj, i->u.obj));
        break;
    }
    default:
        break;
    }
    return e;
}

static void fold_block(struct vm_compiler *c, struct vm_block *b);

/* A Store or Del target: its parts fold, the target itself never (fold_subscr
   folds only in Load context). */
static void fold_target(struct vm_compiler *c, struct vm_expr *t)
{
    if (t->kind == VM_E_SUBSCR) {
        fold_expr(c, t->u.sub.value);
        fold_expr(c, t->u.sub.index);
    } else if (t->kind == VM_E_ATTR) {
        fold_expr(c, t->u.attr.value);
    }
}

static void fold_stmt(struct vm_compiler *c, struct vm_stmt *s)
{
    switch (s->kind) {
    case VM_S_EXPR:
    case VM_S_RETURN:
        fold_expr(c, s->u.expr);
        break;
    case VM_S_ASSIGN:
    case VM_S_DEL:
        for (int i = 0; i < s->u.assign.n; i++)
            fold_target(c, s->u.assign.targets[i]);
        fold_expr(c, s->u.assign.value);
        break;
    case VM_S_AUGASSIGN:
        fold_target(c, s->u.aug.target);
        fold_expr(c, s->u.aug.value);
        break;
    case VM_S_IF:
        for (int i = 0; i < s->u.ifs.n; i++) {
            fold_expr(c, s->u.ifs.tests[i]);
            fold_block(c, &s->u.ifs.bodies[i]);
        }
        fold_block(c, &s->u.ifs.orelse);
        break;
    case VM_S_WHILE:
        fold_expr(c, s->u.wh.test);
        fold_block(c, &s->u.wh.body);
        fold_block(c, &s->u.wh.orelse);
        break;
    case VM_S_FOR:
        fold_target(c, s->u.fo.target);
        fold_expr(c, s->u.fo.iter);
        fold_iter(c, s->u.fo.iter);
        fold_block(c, &s->u.fo.body);
        fold_block(c, &s->u.fo.orelse);
        break;
    case VM_S_DEF:
        fold_block(c, &s->u.def.body);
        break;
    case VM_S_CLASS:
        fold_expr(c, s->u.cls.base);
        fold_block(c, &s->u.cls.body);
        break;
    default:
        break;
    }
}

static bool is_str_const(const struct vm_expr *e)
{
    return e->kind == VM_E_CONST && e->u.obj->type == &vm_str_type;
}

static void fold_block(struct vm_compiler *c, struct vm_block *b)
{
    for (int i = 0; i < b->n; i++)
        fold_stmt(c, b->v[i]);
}

/* _PyAST_GetDocString and astfold_body: before folding, a body's first
   statement that is a string literal is its docstring; after folding, one
   that only became a string is marked to stay code. */
static void mark_body(struct vm_block *b, bool after)
{
    if (b->n == 0 || b->v[0]->kind != VM_S_EXPR)
        return;
    struct vm_stmt *first = b->v[0];
    if (!after && first->u.expr->kind == VM_E_STR)
        first->flags |= VM_STMT_DOCSTRING;
    if (after && !(first->flags & VM_STMT_DOCSTRING) && is_str_const(first->u.expr))
        first->flags |= VM_STMT_KEEP;
}

static void mark_bodies(struct vm_stmt *s, bool after);

static void mark_bodies_block(const struct vm_block *b, bool after)
{
    for (int i = 0; i < b->n; i++)
        mark_bodies(b->v[i], after);
}

static void mark_bodies(struct vm_stmt *s, bool after)
{
    switch (s->kind) {
    case VM_S_IF:
        for (int i = 0; i < s->u.ifs.n; i++)
            mark_bodies_block(&s->u.ifs.bodies[i], after);
        mark_bodies_block(&s->u.ifs.orelse, after);
        break;
    case VM_S_WHILE:
        mark_bodies_block(&s->u.wh.body, after);
        mark_bodies_block(&s->u.wh.orelse, after);
        break;
    case VM_S_FOR:
        mark_bodies_block(&s->u.fo.body, after);
        mark_bodies_block(&s->u.fo.orelse, after);
        break;
    case VM_S_DEF:
        mark_body(&s->u.def.body, after);
        mark_bodies_block(&s->u.def.body, after);
        break;
    case VM_S_CLASS:
        mark_body(&s->u.cls.body, after);
        mark_bodies_block(&s->u.cls.body, after);
        break;
    default:
        break;
    }
}

/* Fold one top-level statement; `first` when it opens the module. */
static void fold_top(struct vm_compiler *c, struct vm_stmt *s, bool first)
{
    struct vm_block b = {&s, 1};
    if (first)
        mark_body(&b, false);
    mark_bodies(s, false);
    fold_stmt(c, s);
    if (first)
        mark_body(&b, true);
    mark_bodies(s, true);
}

/* ---- code units ------------------------------------------------------------------------ */

struct vm_instr {
    uint8_t op;
    int32_t arg;
    int32_t line;    /* CPython's u_lineno when emitted; 0: the line of the one before */
    int32_t label;   /* jump target label, or -1 */
};

struct vm_loop {
    int continue_label, break_label;
    bool is_for;     /* a for loop keeps its iterator on the stack */
};

enum unit_kind { UNIT_MODULE, UNIT_CLASS, UNIT_FUNCTION };

struct vm_unit {
    enum unit_kind kind;
    struct vm_scope *scope;          /* its names' scopes */
    struct vm_unit *outer;           /* the unit being compiled around it */
    const char *name, *qualname;     /* interned */
    const char *private_name;        /* for mangling: the enclosing class's name */
    int firstlineno;
    int argcount;
    struct vm_instr *ins;
    size_t nins, capins;
    int32_t *labels;                 /* label -> instruction index, -1 while unbound */
    size_t nlabels, caplabels;
    struct vm_object **consts;
    int nconsts, capconsts;
    struct vm_map constidx;          /* const object -> index */
    const char **names;
    int nnames, capnames;
    struct vm_map nameidx;           /* interned name -> index in names */
    const char **varnames;
    int nvarnames, capvarnames;
    struct vm_map varidx;            /* interned name -> index in varnames */
    const char **cells;              /* co_cellvars then co_freevars */
    int ncells, nfrees;
    struct vm_map cellidx;           /* interned name -> index in cells */
    int32_t *cell2arg;               /* per cellvar: the parameter it starts from, or -1 */
    struct vm_loop *loops;
    int nloops, caploops;
    int line;                        /* CPython's u_lineno: 0 before a class body's first statement */
    bool block_returns;              /* the current basic block holds a RETURN_VALUE (b_return) */
};

static void unit_free(struct vm_unit *u)
{
    if (!u)
        return;
    free(u->ins);
    free(u->labels);
    free(u->consts);
    map_free(&u->constidx);
    free(u->names);
    map_free(&u->nameidx);
    free(u->varnames);
    map_free(&u->varidx);
    free(u->cells);
    map_free(&u->cellidx);
    free(u->cell2arg);
    free(u->loops);
    free(u);
}

/* Emit: nothing in dead code (CPython's c_do_not_emit_bytecode). */
static void emit(struct vm_compiler *c, int op, int32_t arg)
{
    if (c->no_emit)
        return;
    struct vm_unit *u = c->unit;
    size_t cap = u->capins;
    u->ins = grow(c, u->ins, &cap, u->nins + 1, sizeof *u->ins);
    u->capins = cap;
    u->ins[u->nins++] = (struct vm_instr){(uint8_t)op, arg, u->line, -1};
    if (op == VM_OP_RETURN_VALUE)
        u->block_returns = true;
}

static int new_label(struct vm_compiler *c)
{
    struct vm_unit *u = c->unit;
    size_t cap = u->caplabels;
    u->labels = grow(c, u->labels, &cap, u->nlabels + 1, sizeof *u->labels);
    u->caplabels = cap;
    u->labels[u->nlabels] = -1;
    return (int)u->nlabels++;
}

/* A new basic block starts (CPython's NEXT_BLOCK). */
static void next_block(struct vm_compiler *c)
{
    c->unit->block_returns = false;
}

/* A new basic block starts at label (compiler_use_next_block). */
static void bind(struct vm_compiler *c, int label)
{
    c->unit->labels[label] = (int32_t)c->unit->nins;
    next_block(c);
}

static void emit_jump(struct vm_compiler *c, int op, int label)
{
    if (c->no_emit)
        return;
    emit(c, op, 0);
    c->unit->ins[c->unit->nins - 1].label = label;
}

static int add_const(struct vm_compiler *c, struct vm_object *o)
{
    struct vm_unit *u = c->unit;
    struct vm_map_entry *e = map_put(&u->constidx, o, hash_ptr(o), NULL);
    if (!e)
        vm_compile_nomem(c);
    if (e->value < 0) {
        size_t cap = (size_t)u->capconsts;
        u->consts = grow(c, u->consts, &cap, (size_t)u->nconsts + 1, sizeof *u->consts);
        u->capconsts = (int)cap;
        u->consts[u->nconsts] = o;
        e->value = u->nconsts++;
    }
    return e->value;
}

static int add_to(struct vm_compiler *c, struct vm_map *idx, const char ***v, int *n, int *capn, const char *name)
{
    struct vm_map_entry *e = map_put(idx, name, hash_ptr(name), NULL);
    if (!e)
        vm_compile_nomem(c);
    if (e->value < 0) {
        size_t cap = (size_t)*capn;
        *v = grow(c, (void *)*v, &cap, (size_t)*n + 1, sizeof **v);
        *capn = (int)cap;
        (*v)[*n] = name;
        e->value = (*n)++;
    }
    return e->value;
}

static void emit_const(struct vm_compiler *c, struct vm_object *o)
{
    if (!c->no_emit)
        emit(c, VM_OP_LOAD_CONST, add_const(c, o));
}

/* An instruction on co_names (attributes, methods, imports): the name is
   mangled; in dead code it is not added (compiler_addop_name). */
static void emit_name(struct vm_compiler *c, int op, const char *name)
{
    struct vm_unit *u = c->unit;
    if (c->no_emit)
        return;
    name = mangle(c, u->private_name, name);
    emit(c, op, add_to(c, &u->nameidx, &u->names, &u->nnames, &u->capnames, name));
}

enum name_ctx { CTX_LOAD, CTX_STORE, CTX_DEL };

/* compiler_nameop: the instruction a name's scope asks for. In dead code a
   global's or a name's name still joins co_names, as in CPython 3.8 (it is
   added before compiler_addop_i declines to emit); a local's does not. */
static void nameop(struct vm_compiler *c, const char *raw, enum name_ctx ctx)
{
    static const int fast[] = {VM_OP_LOAD_FAST, VM_OP_STORE_FAST, VM_OP_DELETE_FAST};
    static const int global[] = {VM_OP_LOAD_GLOBAL, VM_OP_STORE_GLOBAL, VM_OP_DELETE_GLOBAL};
    static const int name[] = {VM_OP_LOAD_NAME, VM_OP_STORE_NAME, VM_OP_DELETE_NAME};
    static const int deref[] = {VM_OP_LOAD_DEREF, VM_OP_STORE_DEREF, VM_OP_DELETE_DEREF};
    struct vm_unit *u = c->unit;
    const char *n = mangle(c, u->private_name, raw);
    int sc;
    if (u->kind == UNIT_MODULE)
        sc = sym_get(u->scope, n) & DEF_GLOBAL ? SC_GLOBAL_EXPLICIT : SC_GLOBAL_IMPLICIT;
    else
        sc = scope_of(u->scope, n);
    switch (sc) {
    case SC_FREE:
    case SC_CELL: {
        struct vm_map_entry *e = map_find(&u->cellidx, n, hash_ptr(n), NULL);
        int op = ctx == CTX_LOAD && u->kind == UNIT_CLASS ? VM_OP_LOAD_CLASSDEREF : deref[ctx];
        emit(c, op, e->value);
        return;
    }
    case SC_LOCAL:
        if (u->kind == UNIT_FUNCTION) {
            if (!c->no_emit)   /* in dead code a local is not added (compiler_addop_o) */
                emit(c, fast[ctx], add_to(c, &u->varidx, &u->varnames, &u->nvarnames, &u->capvarnames, n));
            return;
        }
        break;
    case SC_GLOBAL_IMPLICIT:
        if (u->kind == UNIT_FUNCTION) {
            emit(c, global[ctx], add_to(c, &u->nameidx, &u->names, &u->nnames, &u->capnames, n));
            return;
        }
        break;
    case SC_GLOBAL_EXPLICIT:
        emit(c, global[ctx], add_to(c, &u->nameidx, &u->names, &u->nnames, &u->capnames, n));
        return;
    default:
        break;
    }
    emit(c, name[ctx], add_to(c, &u->nameidx, &u->names, &u->nnames, &u->capnames, n));
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* compiler_enter_scope: co_cellvars and co_freevars, sorted (dictbytype). */
static struct vm_unit *unit_new(struct vm_compiler *c, enum unit_kind kind, struct vm_scope *scope,
                                const char *name, const char *qualname, int line)
{
    struct vm_unit *u = calloc(1, sizeof *u);
    if (!u)
        vm_compile_nomem(c);
    u->kind = kind;
    u->scope = scope;
    u->name = name;
    u->qualname = qualname;
    u->firstlineno = line;
    u->line = 0;
    u->outer = c->unit;
    u->private_name = kind == UNIT_CLASS ? name : c->unit ? c->unit->private_name : NULL;
    c->unit = u;   /* owned by the compiler from here (freed on errors) */
    if (kind == UNIT_MODULE)
        return u;
    size_t n = 0, cap = 0;
    const char **cells = NULL, **frees = NULL;
    size_t ncells = 0, nfrees = 0, capf = 0;
    for (size_t i = 0; i < scope->sym.cap; i++) {
        const struct vm_map_entry *e = &scope->sym.e[i];
        if (!e->key)
            continue;
        int sc = e->value >> SCOPE_SHIFT;
        if (sc == SC_CELL) {
            cells = grow(c, cells, &cap, ncells + 1, sizeof *cells);
            cells[ncells++] = e->key;
        } else if (sc == SC_FREE || e->value & DEF_FREE_CLASS) {
            frees = grow(c, frees, &capf, nfrees + 1, sizeof *frees);
            frees[nfrees++] = e->key;
        }
    }
    (void)n;
    if (ncells)
        qsort(cells, ncells, sizeof *cells, cmp_names);
    if (nfrees)
        qsort(frees, nfrees, sizeof *frees, cmp_names);
    u->ncells = (int)ncells;
    u->nfrees = (int)nfrees;
    u->cells = malloc((ncells + nfrees + 1) * sizeof *u->cells);
    u->cell2arg = malloc((ncells + 1) * sizeof *u->cell2arg);
    if (!u->cells || !u->cell2arg) {
        free(cells);
        free(frees);
        vm_compile_nomem(c);
    }
    if (ncells)
        memcpy(u->cells, cells, ncells * sizeof *cells);
    if (nfrees)
        memcpy(u->cells + ncells, frees, nfrees * sizeof *frees);
    free(cells);
    free(frees);
    for (size_t i = 0; i < ncells + nfrees; i++) {
        struct vm_map_entry *e = map_put(&u->cellidx, u->cells[i], hash_ptr(u->cells[i]), NULL);
        if (!e)
            vm_compile_nomem(c);
        e->value = (int)i;
    }
    for (size_t i = 0; i < ncells; i++)
        u->cell2arg[i] = -1;
    return u;
}

/* Leave a unit: back to the one around it. */
static void unit_leave(struct vm_compiler *c, struct vm_unit *u)
{
    c->unit = u->outer;
    unit_free(u);
}

/* ---- code generation (CPython 3.8's Python/compile.c) ------------------------------------ */

static void gen_expr(struct vm_compiler *c, const struct vm_expr *e);
static void gen_stmt(struct vm_compiler *c, const struct vm_stmt *s);
static void gen_block(struct vm_compiler *c, const struct vm_block *b);
static struct vm_code *finish_unit(struct vm_compiler *c, struct vm_unit *u);

static bool is_constant(const struct vm_expr *e)
{
    return e->kind == VM_E_CONST || (e->kind == VM_E_INT && e->u.i.big);
}

/* expr_constant: 1 or 0 for a constant's truth, -1 when e is not constant. */
static int expr_constant(const struct vm_expr *e)
{
    if (e->kind == VM_E_CONST)
        return const_truthy(e->u.obj);
    if (e->kind == VM_E_INT && e->u.i.big)
        return 1;
    return -1;
}

static int binop_opcode(int op, bool inplace)
{
    switch (op) {
    case VM_BIN_ADD: return inplace ? VM_OP_INPLACE_ADD : VM_OP_BINARY_ADD;
    case VM_BIN_SUB: return inplace ? VM_OP_INPLACE_SUBTRACT : VM_OP_BINARY_SUBTRACT;
    case VM_BIN_MUL: return inplace ? VM_OP_INPLACE_MULTIPLY : VM_OP_BINARY_MULTIPLY;
    case VM_BIN_TRUEDIV: return inplace ? VM_OP_INPLACE_TRUE_DIVIDE : VM_OP_BINARY_TRUE_DIVIDE;
    case VM_BIN_FLOORDIV: return inplace ? VM_OP_INPLACE_FLOOR_DIVIDE : VM_OP_BINARY_FLOOR_DIVIDE;
    default: return inplace ? VM_OP_INPLACE_MODULO : VM_OP_BINARY_MODULO;
    }
}

/* Jump to `label` when the truth of e equals cond (compiler_jump_if). */
static void gen_jump_if(struct vm_compiler *c, const struct vm_expr *e, bool cond, int label)
{
    if (e->kind == VM_E_NOT) {
        gen_jump_if(c, e->u.operand, !cond, label);
        return;
    }
    if (e->kind == VM_E_BOOLOP) {
        bool is_or = e->op;
        int next = is_or == cond ? label : new_label(c);
        for (int i = 0; i < e->u.seq.n - 1; i++)
            gen_jump_if(c, e->u.seq.v[i], is_or, next);
        gen_jump_if(c, e->u.seq.v[e->u.seq.n - 1], cond, label);
        if (next != label)
            bind(c, next);
        return;
    }
    if (e->kind == VM_E_COMPARE && e->u.cmp.n > 1) {
        int n = e->u.cmp.n, cleanup = new_label(c);
        gen_expr(c, e->u.cmp.v[0]);
        for (int i = 0; i < n - 1; i++) {
            gen_expr(c, e->u.cmp.v[i + 1]);
            emit(c, VM_OP_DUP_TOP, 0);
            emit(c, VM_OP_ROT_THREE, 0);
            emit(c, VM_OP_COMPARE_OP, e->u.cmp.ops[i]);
            emit_jump(c, VM_OP_POP_JUMP_IF_FALSE, cleanup);
            next_block(c);
        }
        gen_expr(c, e->u.cmp.v[n]);
        emit(c, VM_OP_COMPARE_OP, e->u.cmp.ops[n - 1]);
        emit_jump(c, cond ? VM_OP_POP_JUMP_IF_TRUE : VM_OP_POP_JUMP_IF_FALSE, label);
        int end = new_label(c);
        emit_jump(c, VM_OP_JUMP_FORWARD, end);
        bind(c, cleanup);
        emit(c, VM_OP_POP_TOP, 0);
        if (!cond)
            emit_jump(c, VM_OP_JUMP_FORWARD, label);
        bind(c, end);
        return;
    }
    gen_expr(c, e);
    emit_jump(c, cond ? VM_OP_POP_JUMP_IF_TRUE : VM_OP_POP_JUMP_IF_FALSE, label);
}

static void gen_expr1(struct vm_compiler *c, const struct vm_expr *e)
{
    switch (e->kind) {
    case VM_E_CONST:
        emit_const(c, e->u.obj);
        return;
    case VM_E_INT: {
        /* Too big for 64 bits: compiles, but raises OverflowError if run. */
        char text[96];
        snprintf(text, sizeof text, "%s%.80s%s", e->u.i.neg ? "-" : "", e->u.i.text,
                 strlen(e->u.i.text) > 80 ? "..." : "");
        if (!c->no_emit)
            emit(c, VM_OP_RAISE_OVERFLOW, add_const(c, const_str(c, text, strlen(text))));
        return;
    }
    case VM_E_NAME:
        nameop(c, e->u.name, CTX_LOAD);
        return;
    case VM_E_BINOP:
        gen_expr(c, e->u.bin.l);
        gen_expr(c, e->u.bin.r);
        emit(c, binop_opcode(e->op, false), 0);
        return;
    case VM_E_UNARY:
        gen_expr(c, e->u.operand);
        emit(c, e->op == VM_UN_NEG ? VM_OP_UNARY_NEGATIVE : VM_OP_UNARY_POSITIVE, 0);
        return;
    case VM_E_NOT:
        gen_expr(c, e->u.operand);
        emit(c, VM_OP_UNARY_NOT, 0);
        return;
    case VM_E_BOOLOP: {
        int end = new_label(c);
        for (int i = 0; i < e->u.seq.n - 1; i++) {
            gen_expr(c, e->u.seq.v[i]);
            emit_jump(c, e->op ? VM_OP_JUMP_IF_TRUE_OR_POP : VM_OP_JUMP_IF_FALSE_OR_POP, end);
        }
        gen_expr(c, e->u.seq.v[e->u.seq.n - 1]);
        bind(c, end);
        return;
    }
    case VM_E_COMPARE: {
        int n = e->u.cmp.n;
        gen_expr(c, e->u.cmp.v[0]);
        if (n == 1) {
            gen_expr(c, e->u.cmp.v[1]);
            emit(c, VM_OP_COMPARE_OP, e->u.cmp.ops[0]);
            return;
        }
        /* a < b < c: keep b for the next comparison; stop at the first false. */
        int cleanup = new_label(c);
        for (int i = 0; i < n - 1; i++) {
            gen_expr(c, e->u.cmp.v[i + 1]);
            emit(c, VM_OP_DUP_TOP, 0);
            emit(c, VM_OP_ROT_THREE, 0);
            emit(c, VM_OP_COMPARE_OP, e->u.cmp.ops[i]);
            emit_jump(c, VM_OP_JUMP_IF_FALSE_OR_POP, cleanup);
            next_block(c);
        }
        gen_expr(c, e->u.cmp.v[n]);
        emit(c, VM_OP_COMPARE_OP, e->u.cmp.ops[n - 1]);
        int end = new_label(c);
        emit_jump(c, VM_OP_JUMP_FORWARD, end);
        bind(c, cleanup);
        emit(c, VM_OP_ROT_TWO, 0);
        emit(c, VM_OP_POP_TOP, 0);
        bind(c, end);
        return;
    }
    case VM_E_CALL: {
        const struct vm_expr *fn = e->u.call.fn;
        if (fn->kind == VM_E_ATTR) {   /* maybe_optimize_method_call */
            gen_expr(c, fn->u.attr.value);
            emit_name(c, VM_OP_LOAD_METHOD, fn->u.attr.name);
            for (int i = 0; i < e->u.call.n; i++)
                gen_expr(c, e->u.call.args[i]);
            emit(c, VM_OP_CALL_METHOD, e->u.call.n);
            return;
        }
        gen_expr(c, fn);
        for (int i = 0; i < e->u.call.n; i++)
            gen_expr(c, e->u.call.args[i]);
        emit(c, VM_OP_CALL_FUNCTION, e->u.call.n);
        return;
    }
    case VM_E_ATTR:
        gen_expr(c, e->u.attr.value);
        emit_name(c, VM_OP_LOAD_ATTR, e->u.attr.name);
        return;
    case VM_E_SUBSCR:
        gen_expr(c, e->u.sub.value);
        gen_expr(c, e->u.sub.index);
        emit(c, VM_OP_BINARY_SUBSCR, 0);
        return;
    case VM_E_LIST:
    case VM_E_TUPLE:
        for (int i = 0; i < e->u.seq.n; i++)
            gen_expr(c, e->u.seq.v[i]);
        emit(c, e->kind == VM_E_LIST ? VM_OP_BUILD_LIST : VM_OP_BUILD_TUPLE, e->u.seq.n);
        return;
    default:
        vm_compile_error(c, e->line, e->col, "SyntaxError: unsupported expression");
    }
}

/* compiler_visit_expr: an expression's instructions carry its line; the line
   before comes back after it. */
static void gen_expr(struct vm_compiler *c, const struct vm_expr *e)
{
    int old = c->unit->line;
    c->unit->line = e->line;
    gen_expr1(c, e);
    c->unit->line = old;
}

/* A target in Store or Del context (its value already on the stack for Store). */
static void gen_target(struct vm_compiler *c, const struct vm_expr *t, enum name_ctx ctx)
{
    int old = c->unit->line;
    c->unit->line = t->line;
    switch (t->kind) {
    case VM_E_NAME:
        nameop(c, t->u.name, ctx);
        break;
    case VM_E_ATTR:
        gen_expr(c, t->u.attr.value);
        emit_name(c, ctx == CTX_STORE ? VM_OP_STORE_ATTR : VM_OP_DELETE_ATTR, t->u.attr.name);
        break;
    default:
        gen_expr(c, t->u.sub.value);
        gen_expr(c, t->u.sub.index);
        emit(c, ctx == CTX_STORE ? VM_OP_STORE_SUBSCR : VM_OP_DELETE_SUBSCR, 0);
        break;
    }
    c->unit->line = old;
}

static void push_loop(struct vm_compiler *c, int cont, int brk, bool is_for)
{
    struct vm_unit *u = c->unit;
    size_t cap = (size_t)u->caploops;
    u->loops = grow(c, u->loops, &cap, (size_t)u->nloops + 1, sizeof *u->loops);
    u->caploops = (int)cap;
    u->loops[u->nloops++] = (struct vm_loop){cont, brk, is_for};
}

static void gen_if(struct vm_compiler *c, const struct vm_stmt *s, int i);

/* The else part of branch i: the next elif (a nested if statement), or else. */
static void gen_orelse(struct vm_compiler *c, const struct vm_stmt *s, int i)
{
    if (i + 1 < s->u.ifs.n) {
        c->unit->line = s->u.ifs.lines[i + 1];
        gen_if(c, s, i + 1);
    } else {
        gen_block(c, &s->u.ifs.orelse);
    }
}

/* compiler_if, for branch i of an if/elif/else chain. */
static void gen_if(struct vm_compiler *c, const struct vm_stmt *s, int i)
{
    const struct vm_expr *test = s->u.ifs.tests[i];
    bool has_orelse = i + 1 < s->u.ifs.n || s->u.ifs.orelse.n > 0;
    int constant = expr_constant(test);
    int end = new_label(c);
    if (constant == 0) {
        c->no_emit++;
        gen_block(c, &s->u.ifs.bodies[i]);
        c->no_emit--;
        if (has_orelse)
            gen_orelse(c, s, i);
    } else if (constant == 1) {
        gen_block(c, &s->u.ifs.bodies[i]);
        if (has_orelse) {
            c->no_emit++;
            gen_orelse(c, s, i);
            c->no_emit--;
        }
    } else {
        int next = has_orelse ? new_label(c) : end;
        gen_jump_if(c, test, false, next);
        gen_block(c, &s->u.ifs.bodies[i]);
        if (has_orelse) {
            emit_jump(c, VM_OP_JUMP_FORWARD, end);
            bind(c, next);
            gen_orelse(c, s, i);
        }
    }
    bind(c, end);
}

static void gen_while(struct vm_compiler *c, const struct vm_stmt *s)
{
    struct vm_unit *u = c->unit;
    int constant = expr_constant(s->u.wh.test);
    if (constant == 0) {
        c->no_emit++;
        push_loop(c, -1, -1, false);   /* so that break and continue have a loop */
        gen_block(c, &s->u.wh.body);
        u->nloops--;
        c->no_emit--;
        gen_block(c, &s->u.wh.orelse);
        return;
    }
    int loop = new_label(c), end = new_label(c), anchor = constant == -1 ? new_label(c) : -1;
    bind(c, loop);
    push_loop(c, loop, end, false);
    if (constant == -1)
        gen_jump_if(c, s->u.wh.test, false, anchor);
    gen_block(c, &s->u.wh.body);
    emit_jump(c, VM_OP_JUMP_ABSOLUTE, loop);
    if (constant == -1)
        bind(c, anchor);
    u->nloops--;
    gen_block(c, &s->u.wh.orelse);
    bind(c, end);
}

static void gen_for(struct vm_compiler *c, const struct vm_stmt *s)
{
    struct vm_unit *u = c->unit;
    int start = new_label(c), cleanup = new_label(c), end = new_label(c);
    push_loop(c, start, end, true);
    gen_expr(c, s->u.fo.iter);
    emit(c, VM_OP_GET_ITER, 0);
    bind(c, start);
    emit_jump(c, VM_OP_FOR_ITER, cleanup);
    gen_target(c, s->u.fo.target, CTX_STORE);
    gen_block(c, &s->u.fo.body);
    emit_jump(c, VM_OP_JUMP_ABSOLUTE, start);
    bind(c, cleanup);
    u->nloops--;
    gen_block(c, &s->u.fo.orelse);
    bind(c, end);
}

/* compiler_make_closure: the free variables' cells, the code, the name. */
static void gen_make_function(struct vm_compiler *c, const struct vm_code *code, const char *qualname)
{
    struct vm_unit *u = c->unit;
    int flags = 0;
    if (code->nfrees) {
        for (int i = 0; i < code->nfrees; i++) {
            const char *name = code->cellvars[code->ncells + i];
            struct vm_map_entry *e = map_find(&u->cellidx, name, hash_ptr(name), NULL);
            if (!e || !e->key)
                vm_compile_error(c, code->firstlineno, 1, "SystemError: no cell for free variable '%s'", name);
            emit(c, VM_OP_LOAD_CLOSURE, e->value);
        }
        emit(c, VM_OP_BUILD_TUPLE, code->nfrees);
        flags |= VM_MAKEFN_CLOSURE;
    }
    emit_const(c, (struct vm_object *)&code->ob);
    emit_const(c, const_str(c, qualname, strlen(qualname)));
    emit(c, VM_OP_MAKE_FUNCTION, flags);
}

/* compiler_set_qualname */
static const char *qualname_of(struct vm_compiler *c, const char *name)
{
    struct vm_unit *outer = c->unit;
    if (outer->kind == UNIT_MODULE)
        return name;
    if (scope_of(outer->scope, mangle(c, outer->private_name, name)) == SC_GLOBAL_EXPLICIT)
        return name;
    const char *base = outer->qualname, *sep = outer->kind == UNIT_FUNCTION ? ".<locals>." : ".";
    size_t n = strlen(base) + strlen(sep) + strlen(name);
    char *buf = malloc(n + 1);
    if (!buf)
        vm_compile_nomem(c);
    snprintf(buf, n + 1, "%s%s%s", base, sep, name);
    const char *r = vm_intern(c->prog->intern, buf, n);
    free(buf);
    if (!r)
        vm_compile_nomem(c);
    return r;
}

/* End a code object: every path that falls off the end returns None. */
static void gen_implicit_return(struct vm_compiler *c)
{
    if (c->unit->block_returns)
        return;
    next_block(c);
    emit_const(c, VM_NONE);
    emit(c, VM_OP_RETURN_VALUE, 0);
}

static void gen_def(struct vm_compiler *c, const struct vm_stmt *s)
{
    if (c->no_emit) {   /* dead code: no code, but the name is one of the unit's */
        nameop(c, s->u.def.name, CTX_STORE);
        return;
    }
    const char *qualname = qualname_of(c, s->u.def.name);
    struct vm_unit *u = unit_new(c, UNIT_FUNCTION, s->u.def.scope, s->u.def.name, qualname, s->line);
    u->argcount = s->u.def.nparams;
    for (int i = 0; i < s->u.def.nparams; i++) {
        const char *p = mangle(c, u->private_name, s->u.def.params[i]);
        add_to(c, &u->varidx, &u->varnames, &u->nvarnames, &u->capvarnames, p);
        struct vm_map_entry *e = map_find(&u->cellidx, p, hash_ptr(p), NULL);
        if (e && e->key && e->value < u->ncells)
            u->cell2arg[e->value] = i;
    }
    const struct vm_block *body = &s->u.def.body;
    bool doc = body->n > 0 && body->v[0]->flags & VM_STMT_DOCSTRING;
    add_const(c, doc ? body->v[0]->u.expr->u.obj : VM_NONE);   /* co_consts[0]: the docstring */
    gen_block(c, body);
    gen_implicit_return(c);
    struct vm_code *code = finish_unit(c, u);
    unit_leave(c, u);
    gen_make_function(c, code, qualname);
    nameop(c, s->u.def.name, CTX_STORE);
}

static void gen_class(struct vm_compiler *c, const struct vm_stmt *s)
{
    if (c->no_emit) {   /* dead code: no code, but its names are the unit's */
        if (s->u.cls.base)
            gen_expr(c, s->u.cls.base);
        nameop(c, s->u.cls.name, CTX_STORE);
        return;
    }
    const char *name = s->u.cls.name, *qualname = qualname_of(c, name);
    struct vm_unit *u = unit_new(c, UNIT_CLASS, s->u.cls.scope, name, qualname, s->line);
    nameop(c, intern_str(c, "__name__", 8), CTX_LOAD);
    nameop(c, intern_str(c, "__module__", 10), CTX_STORE);
    emit_const(c, const_str(c, qualname, strlen(qualname)));
    nameop(c, intern_str(c, "__qualname__", 12), CTX_STORE);
    const struct vm_block *body = &s->u.cls.body;
    int first = 0;
    if (body->n > 0 && body->v[0]->flags & VM_STMT_DOCSTRING) {   /* compiler_body */
        gen_expr(c, body->v[0]->u.expr);
        nameop(c, intern_str(c, "__doc__", 7), CTX_STORE);
        first = 1;
    }
    for (int i = first; i < body->n; i++)
        gen_stmt(c, body->v[i]);
    emit_const(c, VM_NONE);
    emit(c, VM_OP_RETURN_VALUE, 0);
    struct vm_code *code = finish_unit(c, u);
    unit_leave(c, u);
    emit(c, VM_OP_LOAD_BUILD_CLASS, 0);
    gen_make_function(c, code, name);   /* the class body's function is named by co_name */
    emit_const(c, const_str(c, name, strlen(name)));
    if (s->u.cls.base)
        gen_expr(c, s->u.cls.base);
    emit(c, VM_OP_CALL_FUNCTION, s->u.cls.base ? 3 : 2);
    nameop(c, name, CTX_STORE);
}

static void gen_stmt(struct vm_compiler *c, const struct vm_stmt *s)
{
    struct vm_unit *u = c->unit;
    u->line = s->line;
    switch (s->kind) {
    case VM_S_EXPR:
        if (is_constant(s->u.expr) && !(s->flags & VM_STMT_KEEP))
            return;   /* a constant statement (a docstring too): no code, only its line */
        gen_expr(c, s->u.expr);
        emit(c, VM_OP_POP_TOP, 0);
        return;
    case VM_S_ASSIGN:
        gen_expr(c, s->u.assign.value);
        for (int i = 0; i < s->u.assign.n; i++) {
            if (i < s->u.assign.n - 1)
                emit(c, VM_OP_DUP_TOP, 0);
            gen_target(c, s->u.assign.targets[i], CTX_STORE);
        }
        return;
    case VM_S_DEL:
        for (int i = 0; i < s->u.assign.n; i++)
            gen_target(c, s->u.assign.targets[i], CTX_DEL);
        return;
    case VM_S_AUGASSIGN: {   /* compiler_augassign */
        const struct vm_expr *t = s->u.aug.target;
        int op = binop_opcode(s->u.aug.op, true);
        if (t->kind == VM_E_NAME) {
            nameop(c, t->u.name, CTX_LOAD);
            gen_expr(c, s->u.aug.value);
            emit(c, op, 0);
            nameop(c, t->u.name, CTX_STORE);
            return;
        }
        int old = u->line;
        u->line = t->line;
        if (t->kind == VM_E_ATTR) {
            gen_expr(c, t->u.attr.value);
            emit(c, VM_OP_DUP_TOP, 0);
            emit_name(c, VM_OP_LOAD_ATTR, t->u.attr.name);
        } else {
            gen_expr(c, t->u.sub.value);
            gen_expr(c, t->u.sub.index);
            emit(c, VM_OP_DUP_TOP_TWO, 0);
            emit(c, VM_OP_BINARY_SUBSCR, 0);
        }
        u->line = old;
        gen_expr(c, s->u.aug.value);
        emit(c, op, 0);
        u->line = t->line;
        if (t->kind == VM_E_ATTR) {
            emit(c, VM_OP_ROT_TWO, 0);
            emit_name(c, VM_OP_STORE_ATTR, t->u.attr.name);
        } else {
            emit(c, VM_OP_ROT_THREE, 0);
            emit(c, VM_OP_STORE_SUBSCR, 0);
        }
        u->line = old;
        return;
    }
    case VM_S_IF:
        gen_if(c, s, 0);
        return;
    case VM_S_WHILE:
        gen_while(c, s);
        return;
    case VM_S_FOR:
        gen_for(c, s);
        return;
    case VM_S_BREAK: {
        const struct vm_loop *l = &u->loops[u->nloops - 1];
        if (l->is_for)
            emit(c, VM_OP_POP_TOP, 0);
        emit_jump(c, VM_OP_JUMP_ABSOLUTE, l->break_label);
        return;
    }
    case VM_S_CONTINUE:
        emit_jump(c, VM_OP_JUMP_ABSOLUTE, u->loops[u->nloops - 1].continue_label);
        return;
    case VM_S_RETURN: {   /* compiler_return */
        bool preserve = s->u.expr && !is_constant(s->u.expr);
        if (preserve)
            gen_expr(c, s->u.expr);
        for (int i = u->nloops - 1; i >= 0; i--) {
            if (u->loops[i].is_for) {   /* drop the iterators of the loops we leave */
                if (preserve)
                    emit(c, VM_OP_ROT_TWO, 0);
                emit(c, VM_OP_POP_TOP, 0);
            }
        }
        if (!s->u.expr)
            emit_const(c, VM_NONE);
        else if (!preserve)
            gen_expr(c, s->u.expr);
        emit(c, VM_OP_RETURN_VALUE, 0);
        return;
    }
    case VM_S_PASS:
    case VM_S_GLOBAL:
    case VM_S_NONLOCAL:
        return;
    case VM_S_IMPORT:
        emit_const(c, const_int(c, 0));
        emit_const(c, VM_NONE);
        emit_name(c, VM_OP_IMPORT_NAME, s->u.imp.module);
        nameop(c, s->u.imp.asname, CTX_STORE);
        return;
    case VM_S_DEF:
        gen_def(c, s);
        return;
    case VM_S_CLASS:
        gen_class(c, s);
        return;
    default:
        vm_compile_error(c, s->line, s->col, "SyntaxError: unsupported statement");
    }
}

static void gen_block(struct vm_compiler *c, const struct vm_block *b)
{
    for (int i = 0; i < b->n; i++)
        gen_stmt(c, b->v[i]);
}

/* ---- assembler ---------------------------------------------------------------------------- */

static int stack_effect(int op, int arg, bool jump)
{
    switch (op) {
    case VM_OP_POP_TOP: return -1;
    case VM_OP_ROT_TWO: case VM_OP_ROT_THREE: case VM_OP_NOP: return 0;
    case VM_OP_DUP_TOP: return 1;
    case VM_OP_DUP_TOP_TWO: return 2;
    case VM_OP_UNARY_POSITIVE: case VM_OP_UNARY_NEGATIVE: case VM_OP_UNARY_NOT: return 0;
    case VM_OP_BINARY_MULTIPLY: case VM_OP_BINARY_MODULO: case VM_OP_BINARY_ADD:
    case VM_OP_BINARY_SUBTRACT: case VM_OP_BINARY_SUBSCR: case VM_OP_BINARY_FLOOR_DIVIDE:
    case VM_OP_BINARY_TRUE_DIVIDE: case VM_OP_INPLACE_FLOOR_DIVIDE: case VM_OP_INPLACE_TRUE_DIVIDE:
    case VM_OP_INPLACE_ADD: case VM_OP_INPLACE_SUBTRACT: case VM_OP_INPLACE_MULTIPLY:
    case VM_OP_INPLACE_MODULO:
        return -1;
    case VM_OP_STORE_SUBSCR: return -3;
    case VM_OP_DELETE_SUBSCR: return -2;
    case VM_OP_GET_ITER: return 0;
    case VM_OP_LOAD_BUILD_CLASS: return 1;
    case VM_OP_RETURN_VALUE: return -1;
    case VM_OP_STORE_NAME: case VM_OP_STORE_GLOBAL: case VM_OP_STORE_FAST: case VM_OP_STORE_DEREF:
        return -1;
    case VM_OP_DELETE_NAME: case VM_OP_DELETE_GLOBAL: case VM_OP_DELETE_FAST: case VM_OP_DELETE_DEREF:
        return 0;
    case VM_OP_STORE_ATTR: return -2;
    case VM_OP_DELETE_ATTR: return -1;
    case VM_OP_FOR_ITER: return jump ? -1 : 1;
    case VM_OP_LOAD_CONST: case VM_OP_LOAD_NAME: case VM_OP_LOAD_GLOBAL: case VM_OP_LOAD_FAST:
    case VM_OP_LOAD_CLOSURE: case VM_OP_LOAD_DEREF: case VM_OP_LOAD_CLASSDEREF:
        return 1;
    case VM_OP_BUILD_LIST: case VM_OP_BUILD_TUPLE: return 1 - arg;
    case VM_OP_LOAD_ATTR: return 0;
    case VM_OP_COMPARE_OP: return -1;
    case VM_OP_IMPORT_NAME: return -1;
    case VM_OP_JUMP_FORWARD: case VM_OP_JUMP_ABSOLUTE: return 0;
    case VM_OP_JUMP_IF_FALSE_OR_POP: case VM_OP_JUMP_IF_TRUE_OR_POP: return jump ? 0 : -1;
    case VM_OP_POP_JUMP_IF_FALSE: case VM_OP_POP_JUMP_IF_TRUE: return -1;
    case VM_OP_CALL_FUNCTION: return -arg;
    case VM_OP_MAKE_FUNCTION: return -1 - ((arg & VM_MAKEFN_CLOSURE) != 0);
    case VM_OP_LOAD_METHOD: return 1;
    case VM_OP_CALL_METHOD: return -arg - 1;
    case VM_OP_RAISE_OVERFLOW: return 1;
    default: return 0;
    }
}

static bool is_jump(int op)
{
    enum vm_argkind k = vm_opcode_argkind(op);
    return k == VM_ARG_JABS || k == VM_ARG_JREL;
}

static bool ends_block(int op)
{
    return op == VM_OP_JUMP_ABSOLUTE || op == VM_OP_JUMP_FORWARD || op == VM_OP_RETURN_VALUE;
}

static int max_stack_depth(struct vm_compiler *c, struct vm_unit *u)
{
    size_t n = u->nins;
    int *depth = malloc((n + 1) * sizeof *depth);
    size_t *work = malloc((n + 1) * sizeof *work);
    if (!depth || !work) {
        free(depth);
        free(work);
        vm_compile_nomem(c);
    }
    for (size_t i = 0; i <= n; i++)
        depth[i] = INT_MIN;
    size_t nwork = 0;
    int maxd = 0;
    if (n > 0) {
        depth[0] = 0;
        work[nwork++] = 0;
    }
    while (nwork > 0) {
        size_t i = work[--nwork];
        int d = depth[i];
        for (; i < n; i++) {
            const struct vm_instr *in = &u->ins[i];
            if (is_jump(in->op)) {
                size_t target = (size_t)u->labels[in->label];
                int td = d + stack_effect(in->op, in->arg, true);
                if (td > maxd)
                    maxd = td;
                if (target <= n && depth[target] == INT_MIN) {
                    depth[target] = td;
                    work[nwork++] = target;
                }
            }
            d += stack_effect(in->op, in->arg, false);
            if (d > maxd)
                maxd = d;
            if (ends_block(in->op))
                break;
            if (depth[i + 1] != INT_MIN)
                break;
            depth[i + 1] = d;
        }
    }
    free(depth);
    free(work);
    return maxd;
}

static int arg_units(uint32_t arg)
{
    return arg < (1u << 8) ? 1 : arg < (1u << 16) ? 2 : arg < (1u << 24) ? 3 : 4;
}

/* ---- the peephole optimizer (CPython 3.8's Python/peephole.c) ---------------------------------
 *
 * It runs on the laid-out wordcode, as CPython's does, so that what `dis`
 * shows is the same: a truthy constant's POP_JUMP_IF_FALSE dropped, jumps to
 * jumps threaded, conditional jumps to conditional jumps simplified, dead code
 * after a return removed up to the next jump target, then the NOPs squeezed
 * out. Line numbers are kept per code unit, which survives the squeezing the
 * way CPython's rewritten line table does. (Its tuple folding and
 * BUILD_x/UNPACK_SEQUENCE rewrites have nothing to act on in this subset.)
 */

#define OP(i) code[2 * (i)]
#define ARG(i) code[2 * (i) + 1]

static bool abs_jump(int op)
{
    return op == VM_OP_JUMP_ABSOLUTE || op == VM_OP_POP_JUMP_IF_FALSE || op == VM_OP_POP_JUMP_IF_TRUE ||
           op == VM_OP_JUMP_IF_FALSE_OR_POP || op == VM_OP_JUMP_IF_TRUE_OR_POP;
}

static bool cond_jump(int op)
{
    return op == VM_OP_POP_JUMP_IF_FALSE || op == VM_OP_POP_JUMP_IF_TRUE || op == VM_OP_JUMP_IF_FALSE_OR_POP ||
           op == VM_OP_JUMP_IF_TRUE_OR_POP;
}

static bool uncond_jump(int op) { return op == VM_OP_JUMP_ABSOLUTE || op == VM_OP_JUMP_FORWARD; }
static bool jumps_on_true(int op) { return op == VM_OP_POP_JUMP_IF_TRUE || op == VM_OP_JUMP_IF_TRUE_OR_POP; }

static unsigned get_arg(const uint8_t *code, size_t i)
{
    unsigned arg = ARG(i);
    for (unsigned s = 8; s <= 24 && i >= s / 8 && OP(i - s / 8) == VM_OP_EXTENDED_ARG; s += 8)
        arg |= (unsigned)ARG(i - s / 8) << s;
    return arg;
}

static size_t find_op(const uint8_t *code, size_t n, size_t i)
{
    while (i < n && OP(i) == VM_OP_EXTENDED_ARG)
        i++;
    return i;
}

static void fill_nops(uint8_t *code, size_t i, size_t j)
{
    for (; i < j; i++) {
        OP(i) = VM_OP_NOP;
        ARG(i) = 0;
    }
}

/* The unit a jump at i goes to. */
static size_t jump_target(const uint8_t *code, size_t i)
{
    return get_arg(code, i) / 2 + (abs_jump(OP(i)) ? 0 : i + 1);
}

static void write_op_arg(uint8_t *code, size_t at, int op, unsigned arg, int ilen)
{
    for (int k = ilen - 1; k >= 1; k--) {
        OP(at) = VM_OP_EXTENDED_ARG;
        ARG(at) = (uint8_t)(arg >> (8 * k));
        at++;
    }
    OP(at) = (uint8_t)op;
    ARG(at) = (uint8_t)arg;
}

/* set_arg: a new argument for the instruction at i (same or fewer units);
   its new index, or -1 when it would need more. */
static long set_arg(uint8_t *code, size_t i, unsigned arg)
{
    unsigned cur = get_arg(code, i);
    if (cur == arg)
        return (long)i;
    int curlen = arg_units(cur), newlen = arg_units(arg);
    if (curlen < newlen)
        return -1;
    write_op_arg(code, i + 1 - (size_t)curlen, OP(i), arg, newlen);
    fill_nops(code, i + 1 - (size_t)curlen + (size_t)newlen, i + 1);
    return (long)i - curlen + newlen;
}

/* copy_op_arg: write op/arg to end at maxi, NOPs before it from i. */
static void copy_op_arg(uint8_t *code, size_t i, int op, unsigned arg, size_t maxi)
{
    int ilen = arg_units(arg);
    if (i + (size_t)ilen > maxi)
        return;
    write_op_arg(code, maxi - (size_t)ilen, op, arg, ilen);
    fill_nops(code, i, maxi - (size_t)ilen);
}

/* Returns the new number of units (n when it left the code as it was). */
static size_t peephole(struct vm_compiler *c, uint8_t *code, int32_t *lines, size_t n, int firstlineno,
                       struct vm_object *const *consts)
{
    /* CPython leaves code alone whose line table has a gap over 255 bytes. */
    size_t last = 0;
    int prev = firstlineno;
    for (size_t k = 0; k < n; k++) {
        if (lines[k] == prev)
            continue;
        if ((k - last) * 2 > 255)
            return n;
        last = k;
        prev = lines[k];
    }
    uint8_t *orig = malloc(2 * n + 2);
    unsigned *blocks = calloc(n + 1, sizeof *blocks);
    int32_t *orig_lines = malloc((n + 1) * sizeof *orig_lines);
    if (!orig || !blocks || !orig_lines) {
        free(orig);
        free(blocks);
        free(orig_lines);
        vm_compile_nomem(c);
    }
    memcpy(orig, code, 2 * n);
    memcpy(orig_lines, lines, n * sizeof *lines);
    /* markblocks: a new block number at every jump target. */
    for (size_t i = 0; i < n; i++)
        if (is_jump(OP(i)))
            blocks[jump_target(code, i)] = 1;
    for (size_t i = 0, cnt = 0; i < n; i++) {
        cnt += blocks[i];
        blocks[i] = (unsigned)cnt;
    }
#define SAME_BLOCK(a, b) (blocks[a] == blocks[b])
    for (size_t i = find_op(code, n, 0), nexti; i < n; i = nexti) {
        int opcode = OP(i);
        size_t op_start = i;
        while (op_start >= 1 && OP(op_start - 1) == VM_OP_EXTENDED_ARG)
            op_start--;
        nexti = i + 1;
        while (nexti < n && OP(nexti) == VM_OP_EXTENDED_ARG)
            nexti++;
        int nextop = nexti < n ? OP(nexti) : 0;
        switch (opcode) {
        case VM_OP_LOAD_CONST:
            /* Skip over LOAD_CONST trueconst POP_JUMP_IF_FALSE xx. */
            if (nextop != VM_OP_POP_JUMP_IF_FALSE || !SAME_BLOCK(op_start, i + 1))
                break;
            if (const_truthy(consts[get_arg(code, i)]))
                fill_nops(code, op_start, nexti + 1);
            break;
        case VM_OP_JUMP_IF_FALSE_OR_POP:
        case VM_OP_JUMP_IF_TRUE_OR_POP: {
            /* A conditional jump to a conditional jump: jump straight to
               where the second goes when the first implies it, or past it. */
            size_t tgt = find_op(code, n, get_arg(code, i) / 2);
            int j = OP(tgt);
            if (cond_jump(j)) {
                long h;
                if (jumps_on_true(j) == jumps_on_true(opcode)) {
                    h = set_arg(code, i, get_arg(code, tgt));
                } else {
                    h = set_arg(code, i, (unsigned)(tgt + 1) * 2);
                    j = opcode == VM_OP_JUMP_IF_TRUE_OR_POP ? VM_OP_POP_JUMP_IF_TRUE : VM_OP_POP_JUMP_IF_FALSE;
                }
                if (h >= 0) {
                    nexti = (size_t)h;
                    OP(nexti) = (uint8_t)j;
                    break;
                }
            }
        }
            /* fall through */
        case VM_OP_POP_JUMP_IF_FALSE:
        case VM_OP_POP_JUMP_IF_TRUE:
        case VM_OP_JUMP_FORWARD:
        case VM_OP_JUMP_ABSOLUTE: {
            /* Replace jumps to unconditional jumps (and to returns). */
            size_t tgt = find_op(code, n, jump_target(code, i));
            if (uncond_jump(OP(i)) && OP(tgt) == VM_OP_RETURN_VALUE) {
                OP(op_start) = VM_OP_RETURN_VALUE;
                ARG(op_start) = 0;
                fill_nops(code, op_start + 1, i + 1);
            } else if (uncond_jump(OP(tgt))) {
                size_t arg = jump_target(code, tgt);
                if (opcode == VM_OP_JUMP_FORWARD) {   /* JUMP_ABSOLUTE can go backwards */
                    opcode = VM_OP_JUMP_ABSOLUTE;
                } else if (!abs_jump(opcode)) {
                    if (arg < i + 1)
                        break;   /* no backward relative jumps */
                    arg -= i + 1;
                }
                copy_op_arg(code, op_start, opcode, (unsigned)arg * 2, i + 1);
            }
            break;
        }
        case VM_OP_RETURN_VALUE: {
            /* Remove unreachable code after a return, up to the next jump target. */
            size_t h = i + 1;
            while (h < n && SAME_BLOCK(i, h))
                h++;
            if (h > i + 1) {
                fill_nops(code, i + 1, h);
                nexti = find_op(code, n, h);
            }
            break;
        }
        default:
            break;
        }
    }
#undef SAME_BLOCK
    /* Squeeze the NOPs out; jumps follow: blocks[] becomes old -> new unit. */
    for (size_t i = 0, nops = 0; i < n; i++) {
        blocks[i] = (unsigned)(i - nops);
        if (OP(i) == VM_OP_NOP)
            nops++;
    }
    blocks[n] = blocks[n - 1] + (OP(n - 1) != VM_OP_NOP);
    size_t h = 0;
    bool unchanged = false;
    for (size_t i = 0, op_start = 0; i < n; op_start = ++i) {
        unsigned j = ARG(i);
        while (OP(i) == VM_OP_EXTENDED_ARG) {
            i++;
            j = j << 8 | ARG(i);
        }
        int opcode = OP(i);
        if (opcode == VM_OP_NOP)
            continue;
        if (abs_jump(opcode))
            j = blocks[j / 2] * 2;
        else if (opcode == VM_OP_FOR_ITER || opcode == VM_OP_JUMP_FORWARD)
            j = (blocks[j / 2 + i + 1] - blocks[i] - 1) * 2;
        int ilen = (int)(i - op_start + 1);
        if (arg_units(j) > ilen || ilen > 4) {
            unchanged = true;
            break;
        }
        write_op_arg(code, h, opcode, j, ilen);   /* as wide as before: EXTENDED_ARG 0 if need be */
        memmove(lines + h, lines + op_start, sizeof *lines * (size_t)ilen);
        h += (size_t)ilen;
    }
    if (unchanged) {
        memcpy(code, orig, 2 * n);
        memcpy(lines, orig_lines, n * sizeof *lines);
        h = n;
    }
    free(orig);
    free(orig_lines);
    free(blocks);
    return h;
}

#undef OP
#undef ARG

static void *dup_array(struct vm_compiler *c, const void *src, size_t n, size_t elem)
{
    void *p = malloc(n ? n * elem : 1);
    if (!p)
        vm_compile_nomem(c);
    if (n)
        memcpy(p, src, n * elem);
    return p;
}

static void code_free_arrays(struct vm_code *code)
{
    free((void *)code->code);
    free((void *)code->lines);
    free(code->consts);
    free(code->names);
    free((void *)code->name_slot);
    free((void *)code->name_attr);
    free(code->varnames);
    free(code->cellvars);
    free((void *)code->cell2arg);
    free(code->name_strs);
    free((void *)code->name_hash);
}

/* Global slot of a name, made on first use. */
static int global_slot(struct vm_compiler *c, const char *name)
{
    struct vm_program *p = c->prog;
    struct vm_map_entry *e = map_put(&c->slotmap, name, hash_ptr(name), NULL);
    if (!e)
        vm_compile_nomem(c);
    if (e->value >= 0)
        return e->value;
    if (p->nslots == c->capslots) {
        size_t cap = (size_t)c->capslots;
        size_t cap2 = cap;
        p->slot_names = grow(c, (void *)p->slot_names, &cap, (size_t)p->nslots + 1, sizeof *p->slot_names);
        p->slot_builtin = grow(c, p->slot_builtin, &cap2, (size_t)p->nslots + 1, sizeof *p->slot_builtin);
        c->capslots = (int)cap;
    }
    p->slot_names[p->nslots] = name;
    p->slot_builtin[p->nslots] = vm_builtin_lookup(name);
    e->value = p->nslots++;
    return e->value;
}

static struct vm_code *finish_unit(struct vm_compiler *c, struct vm_unit *u)
{
    size_t n = u->nins;
    for (size_t i = 0; i < n; i++)
        if (u->ins[i].label >= 0 && u->labels[u->ins[i].label] < 0)
            vm_compile_error(c, u->ins[i].line, 1, "SystemError: unbound jump label");
    int stacksize = max_stack_depth(c, u);

    /* Lay out: sizes grow until every argument (jumps included) fits. */
    uint32_t *size = malloc((n + 1) * sizeof *size);
    uint32_t *offset = malloc((n + 1) * sizeof *offset);
    if (!size || !offset) {
        free(size);
        free(offset);
        vm_compile_nomem(c);
    }
    for (size_t i = 0; i < n; i++)
        size[i] = (uint32_t)arg_units((uint32_t)u->ins[i].arg);
    for (;;) {
        uint64_t off = 0;
        for (size_t i = 0; i < n; i++) {
            offset[i] = (uint32_t)off;
            off += size[i];
        }
        offset[n] = (uint32_t)off;
        if (off > (uint64_t)INT32_MAX / 4) {
            free(size);
            free(offset);
            vm_compile_error(c, u->firstlineno, 1, "SyntaxError: code object too large");
        }
        bool changed = false;
        for (size_t i = 0; i < n; i++) {
            struct vm_instr *in = &u->ins[i];
            if (in->label < 0)
                continue;
            uint32_t target = offset[u->labels[in->label]];
            if (vm_opcode_argkind(in->op) == VM_ARG_JABS) {
                in->arg = (int32_t)(target * 2);
            } else {
                uint32_t next = offset[i] + size[i];
                in->arg = (int32_t)((target - next) * 2);   /* forward only */
            }
            uint32_t need = (uint32_t)arg_units((uint32_t)in->arg);
            if (need > size[i]) {
                size[i] = need;
                changed = true;
            }
        }
        if (!changed)
            break;
    }
    size_t ncode = offset[n];
    uint8_t *code = malloc(ncode * 2 + 2);
    int32_t *lines = malloc((ncode + 1) * sizeof *lines);
    if (!code || !lines) {
        free(code);
        free(lines);
        free(size);
        free(offset);
        vm_compile_nomem(c);
    }
    /* An instruction without a line of its own has the one before's. */
    size_t k = 0;
    int32_t line = u->firstlineno;
    for (size_t i = 0; i < n; i++) {
        const struct vm_instr *in = &u->ins[i];
        uint32_t arg = (uint32_t)in->arg;
        if (in->line)
            line = in->line;
        for (int s = (int)size[i] - 1; s >= 1; s--) {
            code[2 * k] = VM_OP_EXTENDED_ARG;
            code[2 * k + 1] = (uint8_t)(arg >> (8 * s));
            lines[k++] = line;
        }
        code[2 * k] = in->op;
        code[2 * k + 1] = (uint8_t)arg;
        lines[k++] = line;
    }
    free(size);
    free(offset);
    if (ncode > 0)
        ncode = peephole(c, code, lines, ncode, u->firstlineno, u->consts);

    struct vm_code *co = calloc(1, sizeof *co);
    if (!co) {
        free(code);
        free(lines);
        vm_compile_nomem(c);
    }
    co->ob.flags = VM_IMMORTAL;
    co->ob.type = &vm_code_type;
    co->code = code;
    co->lines = lines;
    co->ncode = ncode;
    /* From here the program owns co (and frees its arrays) even if we fail. */
    own(c, &co->ob);
    co->prog = c->prog;
    co->name = u->name;
    co->qualname = u->qualname;
    co->argcount = u->argcount;
    co->nlocals = u->nvarnames;
    co->ncells = u->ncells;
    co->nfrees = u->nfrees;
    co->nlocalsplus = u->nvarnames + u->ncells + u->nfrees;
    co->stacksize = stacksize;
    co->frame_bytes = (sizeof(struct vm_frame) +
                       sizeof(struct vm_object *) * ((size_t)co->nlocalsplus + (size_t)stacksize) + 15) &
                      ~(size_t)15;
    co->firstlineno = u->firstlineno;
    co->is_module = u->kind == UNIT_MODULE;
    co->consts = dup_array(c, u->consts, (size_t)u->nconsts, sizeof *u->consts);
    co->nconsts = u->nconsts;
    co->names = dup_array(c, u->names, (size_t)u->nnames, sizeof *u->names);
    co->nnames = u->nnames;
    co->varnames = dup_array(c, u->varnames, (size_t)u->nvarnames, sizeof *u->varnames);
    co->cellvars = dup_array(c, u->cells, (size_t)(u->ncells + u->nfrees), sizeof *u->cells);
    co->cell2arg = dup_array(c, u->cell2arg, (size_t)u->ncells, sizeof *u->cell2arg);
    int32_t *slots = malloc(((size_t)u->nnames + 1) * sizeof *slots);
    co->name_slot = slots;
    uint8_t *attrs = malloc((size_t)u->nnames + 1);
    co->name_attr = attrs;
    struct vm_object **strs = malloc(((size_t)u->nnames + 1) * sizeof *strs);
    co->name_strs = strs;
    uint64_t *hashes = malloc(((size_t)u->nnames + 1) * sizeof *hashes);
    co->name_hash = hashes;
    if (!slots || !attrs || !strs || !hashes)
        vm_compile_nomem(c);
    for (int i = 0; i < u->nnames; i++) {
        size_t len = strlen(u->names[i]);
        slots[i] = global_slot(c, u->names[i]);
        attrs[i] = (uint8_t)vm_attr_lookup(u->names[i]);
        strs[i] = const_str(c, u->names[i], len);
        hashes[i] = vm_str_hash(u->names[i], len);
    }
    /* Register the code object. */
    struct vm_program *p = c->prog;
    size_t cap = (size_t)c->capcodes;
    p->codes = grow(c, p->codes, &cap, (size_t)p->ncodes + 1, sizeof *p->codes);
    c->capcodes = (int)cap;
    co->index = p->ncodes;
    p->codes[p->ncodes++] = co;
    return co;
}

/* ---- programs ---------------------------------------------------------------------------- */

void vm_program_free(struct vm_program *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->nowned; i++) {
        struct vm_object *o = p->owned[i];
        if (o->type == &vm_code_type)
            code_free_arrays((struct vm_code *)o);
        free(o);
    }
    free(p->owned);
    free(p->codes);
    free(p->slot_names);
    free(p->slot_builtin);
    vm_intern_free(p->intern);
    free(p->filename);
    free(p->modname);
    free(p);
}

/* The file stem: "workloads/count.py" -> "count". */
static char *stem_of(const char *path)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t n = strlen(base);
    if (n > 3 && strcmp(base + n - 3, ".py") == 0)
        n -= 3;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, base, n);
        s[n] = '\0';
    }
    return s;
}

/* NUL bytes and invalid UTF-8 are refused up front, with their position. */
static void check_encoding(struct vm_compiler *c, const unsigned char *s, size_t len)
{
    int line = 1;
    size_t line_start = 0;
    size_t i = 0;
    while (i < len) {
        unsigned char b = s[i];
        if (b == '\n' || (b == '\r' && (i + 1 >= len || s[i + 1] != '\n'))) {
            line++;
            line_start = i + 1;
            i++;
            continue;
        }
        if (b == 0)
            vm_compile_error(c, line, (int)(i - line_start) + 1,
                             "SyntaxError: source code cannot contain null bytes");
        if (b < 0x80) {
            i++;
            continue;
        }
        size_t n = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? 3 : b >= 0xC2 && b < 0xE0 ? 2 : 0;
        bool ok = n > 0 && i + n <= len;
        uint32_t cp = 0;
        if (ok) {
            cp = b & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07);
            for (size_t k = 1; k < n; k++) {
                if ((s[i + k] & 0xC0) != 0x80) {
                    ok = false;
                    break;
                }
                cp = (cp << 6) | (s[i + k] & 0x3F);
            }
        }
        if (ok && ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
                   (cp >= 0xD800 && cp <= 0xDFFF)))
            ok = false;
        if (!ok)
            vm_compile_error(c, line, (int)(i - line_start) + 1,
                             "SyntaxError: invalid UTF-8 byte 0x%02x (gillab reads source files as UTF-8)", b);
        i += n;
    }
}

static void compile_module(struct vm_compiler *c, const char *src, size_t len)
{
    check_encoding(c, (const unsigned char *)src, len);
    vm_lex_init(&c->lx, c, src, len);
    c->module_scope = scope_new(c, SCOPE_MODULE, NULL, NULL);
    const char *name = intern_str(c, "<module>", 8);
    c->module_unit = unit_new(c, UNIT_MODULE, c->module_scope, name, name, 1);
    bool first = true;
    struct vm_block line;
    while (vm_parse_line(c, &line)) {
        for (int i = 0; i < line.n; i++) {
            struct vm_stmt *s = line.v[i];
            fold_top(c, s, first);
            symtable_stmt(c, s);
            if (first && s->flags & VM_STMT_DOCSTRING) {   /* compiler_body */
                c->unit->line = s->line;
                gen_expr(c, s->u.expr);
                nameop(c, intern_str(c, "__doc__", 7), CTX_STORE);
            } else {
                gen_stmt(c, s);
            }
            first = false;
            scopes_free(c);
        }
        vm_arena_reset(&c->arena);
    }
    gen_implicit_return(c);
    /* A name a later statement declared global (in any scope: see sym_add)
       is a global in all of the module's code. */
    struct vm_unit *u = c->module_unit;
    for (size_t i = 0; i < u->nins; i++) {
        struct vm_instr *in = &u->ins[i];
        if ((in->op == VM_OP_LOAD_NAME || in->op == VM_OP_STORE_NAME || in->op == VM_OP_DELETE_NAME) &&
            sym_get(c->module_scope, u->names[in->arg]) & DEF_GLOBAL)
            in->op = in->op == VM_OP_LOAD_NAME ? VM_OP_LOAD_GLOBAL
                     : in->op == VM_OP_STORE_NAME ? VM_OP_STORE_GLOBAL : VM_OP_DELETE_GLOBAL;
    }
    /* The module is codes[0]: move it to the front after the functions. */
    struct vm_code *m = finish_unit(c, c->module_unit);
    struct vm_program *p = c->prog;
    for (int i = p->ncodes - 1; i > 0; i--) {
        p->codes[i] = p->codes[i - 1];
        p->codes[i]->index = i;
    }
    p->codes[0] = m;
    m->index = 0;
}

enum vm_result vm_compile_source(const char *filename, const char *src, size_t len,
                                 struct vm_program **out, struct vm_error *err)
{
    memset(err, 0, sizeof *err);
    struct vm_compiler *c = calloc(1, sizeof *c);
    if (!c || !(c->prog = calloc(1, sizeof *c->prog))) {
        free(c);
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", filename);
        return VM_COMPILE_ERROR;
    }
    c->err = err;
    c->filename = filename;
    c->fold_ts = calloc(1, sizeof *c->fold_ts);
    if (!c->fold_ts) {
        free(c->prog);
        free(c);
        snprintf(err->msg, sizeof err->msg, "%s: out of memory", filename);
        return VM_COMPILE_ERROR;
    }
    c->fold_ts->safety = GIL_VM_SERIAL;   /* folding runs on the compiling thread alone */
    /* After a longjmp only heap state (c) is trusted: no locals are read. */
    enum vm_result rc = VM_COMPILE_ERROR;
    if (setjmp(c->fail) == 0) {
        struct vm_program *p = c->prog;
        p->filename = strdup(filename);
        p->modname = stem_of(filename);
        p->intern = vm_intern_new();
        if (!p->filename || !p->modname || !p->intern)
            vm_compile_nomem(c);
        if (len > (size_t)VM_MAX_SOURCE_BYTES)
            vm_compile_error(c, 1, 1, "SyntaxError: source file too large (%zu bytes; the limit is %ld MB)",
                             len, VM_MAX_SOURCE_BYTES >> 20);
        const char *dunder = vm_intern(p->intern, "__name__", 8);
        if (!dunder)
            vm_compile_nomem(c);
        p->str_main = const_str(c, "__main__", 8);
        p->str_modname = const_str(c, p->modname, strlen(p->modname));
        p->slot_dunder_name = global_slot(c, dunder);
        compile_module(c, src, len);
        *out = p;
        c->prog = NULL;
        rc = VM_OK;
    }
    while (c->unit) {
        struct vm_unit *outer = c->unit->outer;
        unit_free(c->unit);
        c->unit = outer;
    }
    scopes_free(c);
    scope_free(c->module_scope);
    tmp_maps_free(c);
    free(c->tmp_maps);
    vm_int_freelist_clear(c->fold_ts);
    free(c->fold_ts);
    vm_lex_free(&c->lx);
    vm_arena_free(&c->arena);
    free(c->scratch);
    map_free(&c->constmap);
    map_free(&c->slotmap);
    vm_program_free(c->prog);
    free(c);
    return rc;
}

enum vm_result vm_compile_file(const char *path, struct vm_program **out, struct vm_error *err)
{
    memset(err, 0, sizeof *err);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err->msg, sizeof err->msg, "cannot open '%s': %s", path, strerror(errno));
        return VM_IO_ERROR;
    }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    enum vm_result rc = VM_OK;
    while (buf) {
        if (len == cap) {
            if (cap > (size_t)VM_MAX_SOURCE_BYTES) {
                snprintf(err->msg, sizeof err->msg,
                         "%s:1:1: SyntaxError: source file too large (the limit is %ld MB)", path,
                         VM_MAX_SOURCE_BYTES >> 20);
                rc = VM_COMPILE_ERROR;
                goto out;
            }
            char *n = realloc(buf, cap * 2);
            if (!n)
                break;
            buf = n;
            cap *= 2;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    if (!buf) {
        snprintf(err->msg, sizeof err->msg, "%s: out of memory reading the file", path);
        rc = VM_IO_ERROR;
        goto out;
    }
    if (ferror(f)) {
        snprintf(err->msg, sizeof err->msg, "cannot read '%s': %s", path, strerror(errno));
        rc = VM_IO_ERROR;
        goto out;
    }
    rc = vm_compile_source(path, buf, len, out, err);
out:
    free(buf);
    fclose(f);
    return rc;
}
