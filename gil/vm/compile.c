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
        {"monotonic", VM_ATTR_MONOTONIC}, {"time", VM_ATTR_TIME},
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
    struct vm_int probe = {{0, VM_IMMORTAL, &vm_int_type}, v};
    return intern_const(c, &probe.ob, make_int);
}

static struct vm_object *const_float(struct vm_compiler *c, double v)
{
    struct vm_float probe = {{0, VM_IMMORTAL, &vm_float_type}, v};
    return intern_const(c, &probe.ob, make_float);
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

/* ---- code units ------------------------------------------------------------------------ */

struct vm_instr {
    uint8_t op;
    int32_t arg;
    int32_t line;
    int32_t label;   /* jump target label, or -1 */
};

struct vm_loop {
    int continue_label, break_label;
    bool is_for;     /* a for loop keeps its iterator on the stack */
};

/* Per-name facts gathered before generating a function's code. */
enum { SYM_PARAM = 1, SYM_ASSIGNED = 2, SYM_USED = 4, SYM_GLOBAL = 8 };

struct vm_unit {
    bool is_module;
    const char *name;
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
    struct vm_map sym;               /* interned name -> SYM_* flags */
    struct vm_loop *loops;
    int nloops, caploops;
    int line;                        /* line of the code being generated */
    int last_bound_at;               /* nins when a label was last bound */
};

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
    map_free(&u->sym);
    free(u->loops);
    free(u);
}

static int emit(struct vm_compiler *c, int op, int32_t arg)
{
    struct vm_unit *u = c->unit;
    size_t cap = u->capins;
    u->ins = grow(c, u->ins, &cap, u->nins + 1, sizeof *u->ins);
    u->capins = cap;
    struct vm_instr *i = &u->ins[u->nins++];
    i->op = (uint8_t)op;
    i->arg = arg;
    i->line = u->line;
    i->label = -1;
    return (int)(u->nins - 1);
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

static void bind(struct vm_compiler *c, int label)
{
    c->unit->labels[label] = (int32_t)c->unit->nins;
    c->unit->last_bound_at = (int)c->unit->nins;
}

static void emit_jump(struct vm_compiler *c, int op, int label)
{
    int i = emit(c, op, 0);
    c->unit->ins[i].label = label;
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

static int add_name(struct vm_compiler *c, const char *name)
{
    struct vm_unit *u = c->unit;
    struct vm_map_entry *e = map_put(&u->nameidx, name, hash_ptr(name), NULL);
    if (!e)
        vm_compile_nomem(c);
    if (e->value < 0) {
        size_t cap = (size_t)u->capnames;
        u->names = grow(c, u->names, &cap, (size_t)u->nnames + 1, sizeof *u->names);
        u->capnames = (int)cap;
        u->names[u->nnames] = name;
        e->value = u->nnames++;
    }
    return e->value;
}

static int add_varname(struct vm_compiler *c, struct vm_unit *u, const char *name)
{
    struct vm_map_entry *e = map_put(&u->varidx, name, hash_ptr(name), NULL);
    if (!e)
        vm_compile_nomem(c);
    if (e->value < 0) {
        size_t cap = (size_t)u->capvarnames;
        u->varnames = grow(c, u->varnames, &cap, (size_t)u->nvarnames + 1, sizeof *u->varnames);
        u->capvarnames = (int)cap;
        u->varnames[u->nvarnames] = name;
        e->value = u->nvarnames++;
    }
    return e->value;
}

static int varname_index(struct vm_unit *u, const char *name)
{
    struct vm_map_entry *e = map_find(&u->varidx, name, hash_ptr(name), NULL);
    return e && e->key ? e->value : -1;
}

static int sym_flags(struct vm_unit *u, const char *name)
{
    struct vm_map_entry *e = map_find(&u->sym, name, hash_ptr(name), NULL);
    return e && e->key ? e->value : 0;
}

static struct vm_unit *unit_new(struct vm_compiler *c, bool is_module, const char *name, int line)
{
    struct vm_unit *u = calloc(1, sizeof *u);
    if (!u)
        vm_compile_nomem(c);
    u->is_module = is_module;
    u->name = name;
    u->firstlineno = line;
    u->line = line;
    u->last_bound_at = -1;
    return u;
}

/* ---- symbol table (which names are local) ------------------------------------------------- */

static void sym_note(struct vm_compiler *c, struct vm_unit *u, const char *name, int flag, int line,
                     int col)
{
    struct vm_map_entry *e = map_put(&u->sym, name, hash_ptr(name), NULL);
    if (!e)
        vm_compile_nomem(c);
    if (e->value < 0)
        e->value = 0;
    if (flag == SYM_GLOBAL) {
        if (e->value & SYM_PARAM)
            vm_compile_error(c, line, col, "SyntaxError: name '%s' is parameter and global", name);
        if (e->value & SYM_ASSIGNED && !(e->value & SYM_GLOBAL))
            vm_compile_error(c, line, col,
                             "SyntaxError: name '%s' is assigned to before global declaration", name);
        if (e->value & SYM_USED && !(e->value & SYM_GLOBAL))
            vm_compile_error(c, line, col, "SyntaxError: name '%s' is used prior to global declaration",
                             name);
    }
    e->value |= flag;
}

static void sym_expr(struct vm_compiler *c, struct vm_unit *u, const struct vm_expr *e)
{
    if (!e)
        return;
    switch (e->kind) {
    case VM_E_NAME:
        sym_note(c, u, e->u.name, SYM_USED, e->line, e->col);
        break;
    case VM_E_BINOP:
        sym_expr(c, u, e->u.bin.l);
        sym_expr(c, u, e->u.bin.r);
        break;
    case VM_E_UNARY:
    case VM_E_NOT:
        sym_expr(c, u, e->u.operand);
        break;
    case VM_E_BOOLOP:
    case VM_E_LIST:
        for (int i = 0; i < e->u.seq.n; i++)
            sym_expr(c, u, e->u.seq.v[i]);
        break;
    case VM_E_COMPARE:
        for (int i = 0; i <= e->u.cmp.n; i++)
            sym_expr(c, u, e->u.cmp.v[i]);
        break;
    case VM_E_CALL:
        sym_expr(c, u, e->u.call.fn);
        for (int i = 0; i < e->u.call.n; i++)
            sym_expr(c, u, e->u.call.args[i]);
        break;
    case VM_E_ATTR:
        sym_expr(c, u, e->u.attr.value);
        break;
    case VM_E_SUBSCR:
        sym_expr(c, u, e->u.sub.value);
        sym_expr(c, u, e->u.sub.index);
        break;
    default:
        break;
    }
}

static void sym_target(struct vm_compiler *c, struct vm_unit *u, const struct vm_expr *t)
{
    if (t->kind == VM_E_NAME)
        sym_note(c, u, t->u.name, SYM_ASSIGNED, t->line, t->col);
    else
        sym_expr(c, u, t);
}

static void sym_block(struct vm_compiler *c, struct vm_unit *u, const struct vm_block *b);

static void sym_stmt(struct vm_compiler *c, struct vm_unit *u, const struct vm_stmt *s)
{
    switch (s->kind) {
    case VM_S_EXPR:
    case VM_S_RETURN:
        sym_expr(c, u, s->u.expr);
        break;
    case VM_S_ASSIGN:
        for (int i = 0; i < s->u.assign.n; i++)
            sym_target(c, u, s->u.assign.targets[i]);
        sym_expr(c, u, s->u.assign.value);
        break;
    case VM_S_AUGASSIGN:
        sym_target(c, u, s->u.aug.target);
        sym_expr(c, u, s->u.aug.value);
        break;
    case VM_S_IF:
        for (int i = 0; i < s->u.ifs.n; i++) {
            sym_expr(c, u, s->u.ifs.tests[i]);
            sym_block(c, u, &s->u.ifs.bodies[i]);
        }
        sym_block(c, u, &s->u.ifs.orelse);
        break;
    case VM_S_WHILE:
        sym_expr(c, u, s->u.wh.test);
        sym_block(c, u, &s->u.wh.body);
        sym_block(c, u, &s->u.wh.orelse);
        break;
    case VM_S_FOR:
        sym_target(c, u, s->u.fo.target);
        sym_expr(c, u, s->u.fo.iter);
        sym_block(c, u, &s->u.fo.body);
        sym_block(c, u, &s->u.fo.orelse);
        break;
    case VM_S_GLOBAL:
        for (int i = 0; i < s->u.glob.n; i++)
            sym_note(c, u, s->u.glob.names[i], SYM_GLOBAL, s->line, s->u.glob.cols[i]);
        break;
    case VM_S_IMPORT:
        sym_note(c, u, s->u.imp.asname, SYM_ASSIGNED, s->line, s->col);
        break;
    case VM_S_DEF:
        sym_note(c, u, s->u.def.name, SYM_ASSIGNED, s->line, s->col);
        break;
    default:
        break;
    }
}

static void sym_block(struct vm_compiler *c, struct vm_unit *u, const struct vm_block *b)
{
    for (int i = 0; i < b->n; i++)
        sym_stmt(c, u, b->v[i]);
}

/* Locals in order of first appearance (CPython numbers them the same way). */
static void order_locals_expr(struct vm_compiler *c, struct vm_unit *u, const struct vm_expr *e);

static void order_local(struct vm_compiler *c, struct vm_unit *u, const char *name)
{
    int f = sym_flags(u, name);
    if ((f & (SYM_ASSIGNED | SYM_PARAM)) && !(f & SYM_GLOBAL))
        add_varname(c, u, name);
}

static void order_locals_expr(struct vm_compiler *c, struct vm_unit *u, const struct vm_expr *e)
{
    if (!e)
        return;
    switch (e->kind) {
    case VM_E_NAME: order_local(c, u, e->u.name); break;
    case VM_E_BINOP: order_locals_expr(c, u, e->u.bin.l); order_locals_expr(c, u, e->u.bin.r); break;
    case VM_E_UNARY: case VM_E_NOT: order_locals_expr(c, u, e->u.operand); break;
    case VM_E_BOOLOP: case VM_E_LIST:
        for (int i = 0; i < e->u.seq.n; i++) order_locals_expr(c, u, e->u.seq.v[i]);
        break;
    case VM_E_COMPARE:
        for (int i = 0; i <= e->u.cmp.n; i++) order_locals_expr(c, u, e->u.cmp.v[i]);
        break;
    case VM_E_CALL:
        order_locals_expr(c, u, e->u.call.fn);
        for (int i = 0; i < e->u.call.n; i++) order_locals_expr(c, u, e->u.call.args[i]);
        break;
    case VM_E_ATTR: order_locals_expr(c, u, e->u.attr.value); break;
    case VM_E_SUBSCR: order_locals_expr(c, u, e->u.sub.value); order_locals_expr(c, u, e->u.sub.index); break;
    default: break;
    }
}

static void order_locals_block(struct vm_compiler *c, struct vm_unit *u, const struct vm_block *b)
{
    for (int k = 0; k < b->n; k++) {
        const struct vm_stmt *s = b->v[k];
        switch (s->kind) {
        case VM_S_EXPR: case VM_S_RETURN: order_locals_expr(c, u, s->u.expr); break;
        case VM_S_ASSIGN:
            for (int i = 0; i < s->u.assign.n; i++) order_locals_expr(c, u, s->u.assign.targets[i]);
            order_locals_expr(c, u, s->u.assign.value);
            break;
        case VM_S_AUGASSIGN:
            order_locals_expr(c, u, s->u.aug.target);
            order_locals_expr(c, u, s->u.aug.value);
            break;
        case VM_S_IF:
            for (int i = 0; i < s->u.ifs.n; i++) {
                order_locals_expr(c, u, s->u.ifs.tests[i]);
                order_locals_block(c, u, &s->u.ifs.bodies[i]);
            }
            order_locals_block(c, u, &s->u.ifs.orelse);
            break;
        case VM_S_WHILE:
            order_locals_expr(c, u, s->u.wh.test);
            order_locals_block(c, u, &s->u.wh.body);
            order_locals_block(c, u, &s->u.wh.orelse);
            break;
        case VM_S_FOR:
            order_locals_expr(c, u, s->u.fo.target);
            order_locals_expr(c, u, s->u.fo.iter);
            order_locals_block(c, u, &s->u.fo.body);
            order_locals_block(c, u, &s->u.fo.orelse);
            break;
        case VM_S_IMPORT: order_local(c, u, s->u.imp.asname); break;
        default: break;
        }
    }
}

/* ---- code generation ------------------------------------------------------------------- */

static void gen_expr(struct vm_compiler *c, const struct vm_expr *e);
static void gen_block(struct vm_compiler *c, const struct vm_block *b);

static void set_line(struct vm_compiler *c, int line)
{
    /* As CPython 3.8: inside a statement the line only moves forward. */
    if (line > c->unit->line)
        c->unit->line = line;
}

static void gen_load_name(struct vm_compiler *c, const char *name)
{
    struct vm_unit *u = c->unit;
    if (u->is_module) {
        emit(c, VM_OP_LOAD_NAME, add_name(c, name));
        return;
    }
    int f = sym_flags(u, name);
    int idx = varname_index(u, name);
    if (!(f & SYM_GLOBAL) && idx >= 0)
        emit(c, VM_OP_LOAD_FAST, idx);
    else
        emit(c, VM_OP_LOAD_GLOBAL, add_name(c, name));
}

static void gen_store_name(struct vm_compiler *c, const char *name)
{
    struct vm_unit *u = c->unit;
    if (u->is_module) {
        emit(c, VM_OP_STORE_NAME, add_name(c, name));
        return;
    }
    int f = sym_flags(u, name);
    int idx = varname_index(u, name);
    if (!(f & SYM_GLOBAL) && idx >= 0)
        emit(c, VM_OP_STORE_FAST, idx);
    else
        emit(c, VM_OP_STORE_GLOBAL, add_name(c, name));
}

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

static void gen_const_expr(struct vm_compiler *c, const struct vm_expr *e)
{
    struct vm_object *o;
    switch (e->kind) {
    case VM_E_INT: {
        int64_t v;
        if (!int_fits(e, &v)) {
            /* Too big for 64 bits: compiles, but raises OverflowError if run. */
            char text[96];
            snprintf(text, sizeof text, "%s%.80s%s", e->u.i.neg ? "-" : "", e->u.i.text,
                     strlen(e->u.i.text) > 80 ? "..." : "");
            emit(c, VM_OP_RAISE_OVERFLOW, add_const(c, const_str(c, text, strlen(text))));
            return;
        }
        o = const_int(c, v);
        break;
    }
    case VM_E_FLOAT: o = const_float(c, e->u.f); break;
    case VM_E_STR: o = const_str(c, e->u.s.s, e->u.s.len); break;
    case VM_E_NONE: o = VM_NONE; break;
    case VM_E_TRUE: o = VM_TRUE; break;
    default: o = VM_FALSE; break;
    }
    emit(c, VM_OP_LOAD_CONST, add_const(c, o));
}

/* Truth of a constant expression: 1, 0, or -1 when e is not a constant. */
static int const_truth(const struct vm_expr *e)
{
    switch (e->kind) {
    case VM_E_INT: return e->u.i.mag != 0 || e->u.i.big;
    case VM_E_FLOAT: return e->u.f != 0.0;
    case VM_E_STR: return e->u.s.len != 0;
    case VM_E_NONE: case VM_E_FALSE: return 0;
    case VM_E_TRUE: return 1;
    default: return -1;
    }
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

/* Jump to `label` when the truth of e equals cond (CPython's compiler_jump_if). */
static void gen_jump_if(struct vm_compiler *c, const struct vm_expr *e, bool cond, int label)
{
    set_line(c, e->line);
    if (e->kind == VM_E_NOT) {
        gen_jump_if(c, e->u.operand, !cond, label);
        return;
    }
    if (e->kind == VM_E_BOOLOP) {
        bool is_or = e->op;
        int next = cond == is_or ? label : new_label(c);
        for (int i = 0; i < e->u.seq.n - 1; i++)
            gen_jump_if(c, e->u.seq.v[i], is_or, next);
        gen_jump_if(c, e->u.seq.v[e->u.seq.n - 1], cond, label);
        if (next != label)
            bind(c, next);
        return;
    }
    int t = const_truth(e);
    if (t >= 0) {
        if ((t == 1) == cond)
            emit_jump(c, VM_OP_JUMP_ABSOLUTE, label);
        return;
    }
    gen_expr(c, e);
    emit_jump(c, cond ? VM_OP_POP_JUMP_IF_TRUE : VM_OP_POP_JUMP_IF_FALSE, label);
}

static void gen_expr(struct vm_compiler *c, const struct vm_expr *e)
{
    set_line(c, e->line);
    switch (e->kind) {
    case VM_E_INT: case VM_E_FLOAT: case VM_E_STR: case VM_E_NONE: case VM_E_TRUE: case VM_E_FALSE:
        gen_const_expr(c, e);
        return;
    case VM_E_NAME:
        gen_load_name(c, e->u.name);
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
        int cleanup = new_label(c), end = new_label(c);
        for (int i = 0; i < n - 1; i++) {
            gen_expr(c, e->u.cmp.v[i + 1]);
            emit(c, VM_OP_DUP_TOP, 0);
            emit(c, VM_OP_ROT_THREE, 0);
            emit(c, VM_OP_COMPARE_OP, e->u.cmp.ops[i]);
            emit_jump(c, VM_OP_JUMP_IF_FALSE_OR_POP, cleanup);
        }
        gen_expr(c, e->u.cmp.v[n]);
        emit(c, VM_OP_COMPARE_OP, e->u.cmp.ops[n - 1]);
        emit_jump(c, VM_OP_JUMP_FORWARD, end);
        bind(c, cleanup);
        emit(c, VM_OP_ROT_TWO, 0);
        emit(c, VM_OP_POP_TOP, 0);
        bind(c, end);
        return;
    }
    case VM_E_CALL: {
        const struct vm_expr *fn = e->u.call.fn;
        if (fn->kind == VM_E_ATTR) {
            gen_expr(c, fn->u.attr.value);
            emit(c, VM_OP_LOAD_METHOD, add_name(c, fn->u.attr.name));
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
        emit(c, VM_OP_LOAD_ATTR, add_name(c, e->u.attr.name));
        return;
    case VM_E_SUBSCR:
        gen_expr(c, e->u.sub.value);
        gen_expr(c, e->u.sub.index);
        emit(c, VM_OP_BINARY_SUBSCR, 0);
        return;
    case VM_E_LIST:
        for (int i = 0; i < e->u.seq.n; i++)
            gen_expr(c, e->u.seq.v[i]);
        emit(c, VM_OP_BUILD_LIST, e->u.seq.n);
        return;
    default:
        vm_compile_error(c, e->line, e->col, "SyntaxError: unsupported expression");
    }
}

/* Store the value on top of the stack into target. */
static void gen_store(struct vm_compiler *c, const struct vm_expr *t)
{
    if (t->kind == VM_E_NAME) {
        gen_store_name(c, t->u.name);
        return;
    }
    gen_expr(c, t->u.sub.value);
    gen_expr(c, t->u.sub.index);
    emit(c, VM_OP_STORE_SUBSCR, 0);
}

static struct vm_code *finish_unit(struct vm_compiler *c, struct vm_unit *u);
static void gen_def(struct vm_compiler *c, const struct vm_stmt *s);

static void push_loop(struct vm_compiler *c, int cont, int brk, bool is_for)
{
    struct vm_unit *u = c->unit;
    size_t cap = (size_t)u->caploops;
    u->loops = grow(c, u->loops, &cap, (size_t)u->nloops + 1, sizeof *u->loops);
    u->caploops = (int)cap;
    u->loops[u->nloops].continue_label = cont;
    u->loops[u->nloops].break_label = brk;
    u->loops[u->nloops].is_for = is_for;
    u->nloops++;
}

static bool is_const_expr(const struct vm_expr *e)
{
    return e->kind == VM_E_INT || e->kind == VM_E_FLOAT || e->kind == VM_E_STR ||
           e->kind == VM_E_NONE || e->kind == VM_E_TRUE || e->kind == VM_E_FALSE;
}

static void gen_stmt(struct vm_compiler *c, const struct vm_stmt *s)
{
    struct vm_unit *u = c->unit;
    u->line = s->line;
    switch (s->kind) {
    case VM_S_EXPR:
        if (is_const_expr(s->u.expr))
            return;   /* docstrings and bare constants: no code, as in CPython */
        gen_expr(c, s->u.expr);
        emit(c, VM_OP_POP_TOP, 0);
        return;
    case VM_S_ASSIGN:
        gen_expr(c, s->u.assign.value);
        for (int i = 0; i < s->u.assign.n; i++) {
            if (i < s->u.assign.n - 1)
                emit(c, VM_OP_DUP_TOP, 0);
            gen_store(c, s->u.assign.targets[i]);
        }
        return;
    case VM_S_AUGASSIGN: {
        const struct vm_expr *t = s->u.aug.target;
        int op = binop_opcode(s->u.aug.op, true);
        if (t->kind == VM_E_NAME) {
            gen_load_name(c, t->u.name);
            gen_expr(c, s->u.aug.value);
            emit(c, op, 0);
            gen_store_name(c, t->u.name);
        } else {
            gen_expr(c, t->u.sub.value);
            gen_expr(c, t->u.sub.index);
            emit(c, VM_OP_DUP_TOP_TWO, 0);
            emit(c, VM_OP_BINARY_SUBSCR, 0);
            gen_expr(c, s->u.aug.value);
            emit(c, op, 0);
            emit(c, VM_OP_ROT_THREE, 0);
            emit(c, VM_OP_STORE_SUBSCR, 0);
        }
        return;
    }
    case VM_S_IF: {
        int end = new_label(c);
        for (int i = 0; i < s->u.ifs.n; i++) {
            int next = new_label(c);
            gen_jump_if(c, s->u.ifs.tests[i], false, next);
            gen_block(c, &s->u.ifs.bodies[i]);
            if (i < s->u.ifs.n - 1 || s->u.ifs.orelse.n > 0)
                emit_jump(c, VM_OP_JUMP_FORWARD, end);
            bind(c, next);
        }
        gen_block(c, &s->u.ifs.orelse);
        bind(c, end);
        return;
    }
    case VM_S_WHILE: {
        int start = new_label(c), orelse = new_label(c), end = new_label(c);
        bind(c, start);
        gen_jump_if(c, s->u.wh.test, false, orelse);
        push_loop(c, start, end, false);
        gen_block(c, &s->u.wh.body);
        u->nloops--;
        emit_jump(c, VM_OP_JUMP_ABSOLUTE, start);
        bind(c, orelse);
        gen_block(c, &s->u.wh.orelse);
        bind(c, end);
        return;
    }
    case VM_S_FOR: {
        gen_expr(c, s->u.fo.iter);
        emit(c, VM_OP_GET_ITER, 0);
        int start = new_label(c), cleanup = new_label(c), end = new_label(c);
        bind(c, start);
        u->line = s->line;
        emit_jump(c, VM_OP_FOR_ITER, cleanup);
        gen_store(c, s->u.fo.target);
        push_loop(c, start, end, true);
        gen_block(c, &s->u.fo.body);
        u->nloops--;
        emit_jump(c, VM_OP_JUMP_ABSOLUTE, start);
        bind(c, cleanup);
        gen_block(c, &s->u.fo.orelse);
        bind(c, end);
        return;
    }
    case VM_S_BREAK: {
        struct vm_loop *l = &u->loops[u->nloops - 1];
        if (l->is_for)
            emit(c, VM_OP_POP_TOP, 0);
        emit_jump(c, VM_OP_JUMP_ABSOLUTE, l->break_label);
        return;
    }
    case VM_S_CONTINUE:
        emit_jump(c, VM_OP_JUMP_ABSOLUTE, u->loops[u->nloops - 1].continue_label);
        return;
    case VM_S_RETURN:
        if (s->u.expr)
            gen_expr(c, s->u.expr);
        else
            emit(c, VM_OP_LOAD_CONST, add_const(c, VM_NONE));
        for (int i = u->nloops - 1; i >= 0; i--) {
            if (u->loops[i].is_for) {   /* drop the iterators of the loops we leave */
                emit(c, VM_OP_ROT_TWO, 0);
                emit(c, VM_OP_POP_TOP, 0);
            }
        }
        emit(c, VM_OP_RETURN_VALUE, 0);
        return;
    case VM_S_PASS:
    case VM_S_GLOBAL:
        return;
    case VM_S_IMPORT:
        emit(c, VM_OP_LOAD_CONST, add_const(c, const_int(c, 0)));
        emit(c, VM_OP_LOAD_CONST, add_const(c, VM_NONE));
        emit(c, VM_OP_IMPORT_NAME, add_name(c, s->u.imp.module));
        gen_store_name(c, s->u.imp.asname);
        return;
    case VM_S_DEF:
        gen_def(c, s);
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

/* End a code object: every path that falls off the end returns None. */
static void gen_implicit_return(struct vm_compiler *c)
{
    struct vm_unit *u = c->unit;
    if (u->nins > 0 && u->ins[u->nins - 1].op == VM_OP_RETURN_VALUE &&
        u->last_bound_at != (int)u->nins)
        return;
    emit(c, VM_OP_LOAD_CONST, add_const(c, VM_NONE));
    emit(c, VM_OP_RETURN_VALUE, 0);
}

static void gen_def(struct vm_compiler *c, const struct vm_stmt *s)
{
    struct vm_unit *outer = c->unit;
    struct vm_unit *u = unit_new(c, false, s->u.def.name, s->line);
    c->unit = u;
    u->argcount = s->u.def.nparams;
    for (int i = 0; i < s->u.def.nparams; i++) {
        sym_note(c, u, s->u.def.params[i], SYM_PARAM, s->line, s->u.def.pcols[i]);
        add_varname(c, u, s->u.def.params[i]);
    }
    sym_block(c, u, &s->u.def.body);
    order_locals_block(c, u, &s->u.def.body);
    add_const(c, VM_NONE);   /* co_consts[0] is the docstring slot, as in CPython */
    gen_block(c, &s->u.def.body);
    gen_implicit_return(c);
    struct vm_code *code = finish_unit(c, u);
    c->unit = outer;
    unit_free(u);
    outer->line = s->line;
    emit(c, VM_OP_LOAD_CONST, add_const(c, &code->ob));
    emit(c, VM_OP_LOAD_CONST, add_const(c, const_str(c, s->u.def.name, strlen(s->u.def.name))));
    emit(c, VM_OP_MAKE_FUNCTION, 0);
    gen_store_name(c, s->u.def.name);
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
    case VM_OP_GET_ITER: return 0;
    case VM_OP_RETURN_VALUE: return -1;
    case VM_OP_STORE_NAME: case VM_OP_STORE_GLOBAL: case VM_OP_STORE_FAST: return -1;
    case VM_OP_FOR_ITER: return jump ? -1 : 1;
    case VM_OP_LOAD_CONST: case VM_OP_LOAD_NAME: case VM_OP_LOAD_GLOBAL: case VM_OP_LOAD_FAST:
        return 1;
    case VM_OP_BUILD_LIST: return 1 - arg;
    case VM_OP_LOAD_ATTR: return 0;
    case VM_OP_COMPARE_OP: return -1;
    case VM_OP_IMPORT_NAME: return -1;
    case VM_OP_JUMP_FORWARD: case VM_OP_JUMP_ABSOLUTE: return 0;
    case VM_OP_JUMP_IF_FALSE_OR_POP: case VM_OP_JUMP_IF_TRUE_OR_POP: return jump ? 0 : -1;
    case VM_OP_POP_JUMP_IF_FALSE: case VM_OP_POP_JUMP_IF_TRUE: return -1;
    case VM_OP_CALL_FUNCTION: return -arg;
    case VM_OP_MAKE_FUNCTION: return -1;
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
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct vm_instr *in = &u->ins[i];
        uint32_t arg = (uint32_t)in->arg;
        for (int s = (int)size[i] - 1; s >= 1; s--) {
            code[2 * k] = VM_OP_EXTENDED_ARG;
            code[2 * k + 1] = (uint8_t)(arg >> (8 * s));
            lines[k++] = in->line;
        }
        code[2 * k] = in->op;
        code[2 * k + 1] = (uint8_t)arg;
        lines[k++] = in->line;
    }
    free(size);
    free(offset);

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
    co->argcount = u->argcount;
    co->nlocals = u->nvarnames;
    co->stacksize = stacksize;
    co->frame_bytes = (sizeof(struct vm_frame) +
                       sizeof(struct vm_object *) * ((size_t)u->nvarnames + (size_t)stacksize) + 15) &
                      ~(size_t)15;
    co->firstlineno = u->firstlineno;
    co->is_module = u->is_module;
    co->consts = dup_array(c, u->consts, (size_t)u->nconsts, sizeof *u->consts);
    co->nconsts = u->nconsts;
    co->names = dup_array(c, u->names, (size_t)u->nnames, sizeof *u->names);
    co->nnames = u->nnames;
    int32_t *slots = malloc(((size_t)u->nnames + 1) * sizeof *slots);
    co->name_slot = slots;
    uint8_t *attrs = malloc((size_t)u->nnames + 1);
    co->name_attr = attrs;
    if (!slots || !attrs)
        vm_compile_nomem(c);
    for (int i = 0; i < u->nnames; i++) {
        slots[i] = global_slot(c, u->names[i]);
        attrs[i] = (uint8_t)vm_attr_lookup(u->names[i]);
    }
    co->varnames = dup_array(c, u->varnames, (size_t)u->nvarnames, sizeof *u->varnames);
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
    c->module_unit = c->unit = unit_new(c, true, "<module>", 1);
    struct vm_block line;
    while (vm_parse_line(c, &line)) {
        for (int i = 0; i < line.n; i++) {
            sym_stmt(c, c->module_unit, line.v[i]);   /* global-declaration order checks */
            gen_stmt(c, line.v[i]);
        }
        vm_arena_reset(&c->arena);
    }
    gen_implicit_return(c);
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
    unit_free(c->unit != c->module_unit ? c->unit : NULL);
    unit_free(c->module_unit);
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
