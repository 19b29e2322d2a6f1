/*
 * builtins.c — the builtin functions (print, len, range, int, float, str, repr,
 * bool, abs, min, max, list, isinstance, and `object`), the list methods (append,
 * pop, insert, extend), the `time` module (sleep, perf_counter, perf_counter_ns,
 * monotonic, time), the `gc` module (freeze, disable, enable, isenabled) and
 * __build_class__ (what LOAD_BUILD_CLASS pushes).
 *
 * time.sleep is the lab's blocking call: like CPython's Py_BEGIN_ALLOW_THREADS
 * it gives the lock up for the whole sleep (gil_block_enter/leave) and sleeps
 * with nanosleep, resuming after signals with the time that was left.
 *
 * gc is CPython's module cut to what a pre-fork server calls, with gillab's
 * meanings (README, "The workload language"). gillab has no collector that
 * runs during a program: reference counts free what is no longer used at once
 * and reference cycles are broken when the program ends. So gc.disable() and
 * gc.enable() only set the flag gc.isenabled() reports. gc.freeze() is where
 * gillab goes further than CPython: CPython 3.7+ moves every object its
 * collector tracks into a permanent generation that later collections skip,
 * but every read still writes the objects' reference counts; gillab makes
 * every object reachable from the module's globals immortal
 * (vm_runtime_immortalize), so their counts are never written again, which
 * is what CPython 3.12's immortal objects do for its own singletons.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"

static const char *tname(const struct vm_object *o) { return vm_type_name(o); }

#define BUILTIN(cname, pyname, fn, method)                                              \
    static struct vm_object *fn(struct vm_thread *ts, struct vm_object **args, int nargs); \
    static struct vm_builtin cname = {VM_IMMORTAL_HEAD(&vm_builtin_type), pyname, fn, method}

BUILTIN(b_print, "print", bi_print, false);
BUILTIN(b_len, "len", bi_len, false);
BUILTIN(b_range, "range", bi_range, false);
BUILTIN(b_int, "int", bi_int, false);
BUILTIN(b_float, "float", bi_float, false);
BUILTIN(b_str, "str", bi_str, false);
BUILTIN(b_repr, "repr", bi_repr, false);
BUILTIN(b_bool, "bool", bi_bool, false);
BUILTIN(b_abs, "abs", bi_abs, false);
BUILTIN(b_min, "min", bi_min, false);
BUILTIN(b_max, "max", bi_max, false);
BUILTIN(b_list, "list", bi_list, false);
BUILTIN(b_isinstance, "isinstance", bi_isinstance, false);
BUILTIN(m_append, "append", li_append, true);
BUILTIN(m_pop, "pop", li_pop, true);
BUILTIN(m_insert, "insert", li_insert, true);
BUILTIN(m_extend, "extend", li_extend, true);
BUILTIN(t_sleep, "sleep", tm_sleep, false);
BUILTIN(t_perf_counter, "perf_counter", tm_perf_counter, false);
BUILTIN(t_perf_counter_ns, "perf_counter_ns", tm_perf_counter_ns, false);
BUILTIN(t_monotonic, "monotonic", tm_monotonic, false);
BUILTIN(t_time, "time", tm_time, false);
BUILTIN(g_freeze, "freeze", gc_freeze, false);
BUILTIN(g_disable, "disable", gc_disable, false);
BUILTIN(g_enable, "enable", gc_enable, false);
BUILTIN(g_isenabled, "isenabled", gc_isenabled, false);

static struct vm_object *bi_build_class(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    return vm_build_class(ts, args, nargs);
}
struct vm_builtin vm_build_class_builtin = {VM_IMMORTAL_HEAD(&vm_builtin_type), "__build_class__",
                                            bi_build_class, false};

struct vm_module vm_time_module = {VM_IMMORTAL_HEAD(&vm_module_type), "time"};
static struct vm_module gc_module = {VM_IMMORTAL_HEAD(&vm_module_type), "gc"};
static struct vm_builtin *const gc_members[] = {&g_freeze, &g_disable, &g_enable, &g_isenabled};

/* The modules a program may import, in the order messages name them. */
static struct vm_module *const modules[] = {&vm_time_module, &gc_module};

struct vm_object *vm_module_lookup(const char *name)
{
    for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++)
        if (strcmp(modules[i]->name, name) == 0)
            return &modules[i]->ob;
    return NULL;
}

void vm_module_names(char *buf, size_t cap)
{
    size_t n = 0, last = sizeof modules / sizeof modules[0] - 1;
    buf[0] = '\0';
    for (size_t i = 0; i <= last && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s'import %s'", i == 0 ? "" : i == last ? " and " : ", ",
                              modules[i]->name);
}

static struct vm_builtin *const globals_table[] = {
    &b_print, &b_len, &b_range, &b_int, &b_float, &b_str, &b_repr, &b_bool, &b_abs, &b_min, &b_max,
    &b_list, &b_isinstance,
};

struct vm_object *vm_builtin_lookup(const char *name)
{
    if (strcmp(name, "object") == 0)
        return &vm_object_class.ob;
    for (size_t i = 0; i < sizeof globals_table / sizeof globals_table[0]; i++)
        if (strcmp(globals_table[i]->name, name) == 0)
            return &globals_table[i]->ob;
    return NULL;
}

/* ---- attribute lookup and calls ------------------------------------------------------------ */

int vm_get_method(struct vm_thread *ts, struct vm_object *obj, struct vm_object *name_str, uint64_t hash,
                  enum vm_attr attr, struct vm_object **meth, struct vm_object **attrval)
{
    int rc = vm_object_attr(ts, obj, name_str, hash, attr, meth, attrval);
    if (rc != 1)
        return rc;
    const char *name = ((struct vm_str *)name_str)->data;
    *meth = *attrval = NULL;
    if (obj->type == &vm_list_type) {
        switch (attr) {
        case VM_ATTR_APPEND: *meth = &m_append.ob; return 0;
        case VM_ATTR_POP: *meth = &m_pop.ob; return 0;
        case VM_ATTR_INSERT: *meth = &m_insert.ob; return 0;
        case VM_ATTR_EXTEND: *meth = &m_extend.ob; return 0;
        default: break;
        }
    } else if (obj == &vm_time_module.ob) {
        switch (attr) {
        case VM_ATTR_SLEEP: *attrval = &t_sleep.ob; return 0;
        case VM_ATTR_PERF_COUNTER: *attrval = &t_perf_counter.ob; return 0;
        case VM_ATTR_PERF_COUNTER_NS: *attrval = &t_perf_counter_ns.ob; return 0;
        case VM_ATTR_MONOTONIC: *attrval = &t_monotonic.ob; return 0;
        case VM_ATTR_TIME: *attrval = &t_time.ob; return 0;
        default:
            vm_raise(ts, VM_EXC_ATTRIBUTE, "module 'time' has no attribute '%s'", name);
            return -1;
        }
    } else if (obj == &gc_module.ob) {
        for (size_t i = 0; i < sizeof gc_members / sizeof gc_members[0]; i++)
            if (strcmp(gc_members[i]->name, name) == 0) {
                *attrval = &gc_members[i]->ob;
                return 0;
            }
        vm_raise(ts, VM_EXC_ATTRIBUTE, "module 'gc' has no attribute '%s'", name);
        return -1;
    }
    vm_raise(ts, VM_EXC_ATTRIBUTE, "'%s' object has no attribute '%s'", tname(obj), name);
    return -1;
}

struct vm_object *vm_call_builtin(struct vm_thread *ts, struct vm_object *callable,
                                  struct vm_object **args, int nargs)
{
    if (callable->type == &vm_builtin_type)
        return ((struct vm_builtin *)callable)->fn(ts, args, nargs);
    if (callable->type == &vm_method_type) {
        const struct vm_method *m = (const struct vm_method *)callable;
        struct vm_object *small[9];
        struct vm_object **all = small;
        if (nargs + 1 > 9) {
            all = malloc(sizeof *all * (size_t)(nargs + 1));
            if (!all)
                return vm_raise(ts, VM_EXC_MEMORY, "out of memory");
        }
        all[0] = m->self;
        memcpy(all + 1, args, sizeof *args * (size_t)nargs);
        struct vm_object *r = m->fn->fn(ts, all, nargs + 1);
        if (all != small)
            free(all);
        return r;
    }
    return vm_raise(ts, VM_EXC_TYPE, "'%s' object is not callable", tname(callable));
}

/* ---- helpers ------------------------------------------------------------------------------- */

static struct vm_object *none(void) { return VM_NONE; }   /* immortal: no incref needed */

static int index_arg(struct vm_thread *ts, struct vm_object *o, int64_t *out)
{
    if (!vm_is_intlike(o)) {
        vm_raise(ts, VM_EXC_TYPE, "'%s' object cannot be interpreted as an integer", tname(o));
        return -1;
    }
    *out = vm_int_value(o);
    return 0;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ---- builtin functions ------------------------------------------------------------------------ */

static struct vm_object *bi_print(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    struct vm_buf b = {0};
    for (int i = 0; i < nargs; i++) {
        if ((i > 0 && vm_buf_put(&b, " ", 1) < 0)) {
            vm_buf_free(&b);
            return vm_raise(ts, VM_EXC_MEMORY, "out of memory");
        }
        if (vm_str_into(ts, &b, args[i]) < 0) {
            vm_buf_free(&b);
            return NULL;
        }
    }
    if (vm_buf_put(&b, "\n", 1) < 0) {
        vm_buf_free(&b);
        return vm_raise(ts, VM_EXC_MEMORY, "out of memory");
    }
    /* One write per call, so lines from several threads never interleave. */
    fwrite(b.p, 1, b.len, ts->rt->out);
    vm_buf_free(&b);
    return none();
}

static struct vm_object *bi_len(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs != 1)
        return vm_raise(ts, VM_EXC_TYPE, "len() takes exactly one argument (%d given)", nargs);
    long long n = vm_len(ts, args[0]);
    return n < 0 ? NULL : vm_int_new(ts, n);
}

static struct vm_object *bi_range(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs < 1)
        return vm_raise(ts, VM_EXC_TYPE, "range expected at least 1 argument, got %d", nargs);
    if (nargs > 3)
        return vm_raise(ts, VM_EXC_TYPE, "range expected at most 3 arguments, got %d", nargs);
    int64_t v[3] = {0, 0, 1};
    for (int i = 0; i < nargs; i++)
        if (index_arg(ts, args[i], &v[i]) < 0)
            return NULL;
    int64_t start = 0, stop, step = 1;
    if (nargs == 1) {
        stop = v[0];
    } else {
        start = v[0];
        stop = v[1];
        if (nargs == 3)
            step = v[2];
    }
    if (step == 0)
        return vm_raise(ts, VM_EXC_VALUE, "range() arg 3 must not be zero");
    struct vm_range *r = vm_alloc(ts, &vm_range_type, sizeof *r);
    if (!r)
        return NULL;
    r->start = start;
    r->stop = stop;
    r->step = step;
    return &r->ob;
}

static int digit_value(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'Z') return ch - 'A' + 10;
    return 99;
}

/* int(str, base): Python's rules — surrounding whitespace, a sign, a 0x/0o/0b
   prefix matching the base (any of them with base 0), digits with single
   underscores between them. */
static struct vm_object *int_from_str(struct vm_thread *ts, struct vm_str *s, int base)
{
    const char *p = s->data, *end = s->data + s->len;
    while (p < end && is_space(*p))
        p++;
    while (end > p && is_space(end[-1]))
        end--;
    bool neg = false;
    if (p < end && (*p == '+' || *p == '-'))
        neg = *p++ == '-';
    bool prefixed = false;
    if (end - p >= 2 && p[0] == '0') {
        char x = (char)(p[1] | 0x20);
        int pb = x == 'x' ? 16 : x == 'o' ? 8 : x == 'b' ? 2 : 0;
        if (pb && (base == 0 || base == pb)) {
            base = pb;
            p += 2;
            prefixed = true;
        }
    }
    int shown_base = base;
    bool zero_start = !prefixed && base == 0 && p < end && *p == '0';
    if (base == 0)
        base = 10;
    uint64_t mag = 0;
    bool ok = p < end, big = false, nonzero = false;
    bool prev_digit = prefixed;   /* "0x_1f" is valid: an underscore may follow the prefix */
    for (const char *q = p; q < end && ok; q++) {
        int d = digit_value(*q);
        if (d < base) {
            if (mag > (UINT64_MAX - (uint64_t)d) / (uint64_t)base)
                big = true;
            else
                mag = mag * (uint64_t)base + (uint64_t)d;
            nonzero |= d != 0;
            prev_digit = true;
        } else if (*q == '_' && prev_digit && q + 1 < end && digit_value(q[1]) < base) {
            prev_digit = false;
        } else {
            ok = false;
        }
    }
    if (zero_start && nonzero)
        ok = false;   /* base 0 refuses "010", as Python's literals do */
    if (!ok) {
        struct vm_buf b = {0};
        struct vm_object *r = NULL;
        if (vm_repr_into(ts, &b, &s->ob) == 0)
            r = vm_raise(ts, VM_EXC_VALUE, "invalid literal for int() with base %d: %.200s", shown_base, b.p);
        vm_buf_free(&b);
        return r;
    }
    if (big || mag > (uint64_t)INT64_MAX + (neg ? 1 : 0))
        return vm_overflow(ts);
    int64_t v = neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    return vm_int_new(ts, v);
}

static struct vm_object *bi_int(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs == 0)
        return vm_int_new(ts, 0);
    if (nargs > 2)
        return vm_raise(ts, VM_EXC_TYPE, "int() takes at most 2 arguments (%d given)", nargs);
    struct vm_object *o = args[0];
    if (nargs == 2) {
        int64_t base;
        if (index_arg(ts, args[1], &base) < 0)
            return NULL;
        if (o->type != &vm_str_type)
            return vm_raise(ts, VM_EXC_TYPE, "int() can't convert non-string with explicit base");
        if (base != 0 && (base < 2 || base > 36))
            return vm_raise(ts, VM_EXC_VALUE, "int() base must be >= 2 and <= 36, or 0");
        return int_from_str(ts, (struct vm_str *)o, (int)base);
    }
    if (vm_is_intlike(o))
        return vm_int_new(ts, vm_int_value(o));
    if (o->type == &vm_float_type) {
        double d = vm_float_value(o);
        if (isnan(d))
            return vm_raise(ts, VM_EXC_VALUE, "cannot convert float NaN to integer");
        if (isinf(d))
            return vm_raise(ts, VM_EXC_OVERFLOW, "cannot convert float infinity to integer");
        d = trunc(d);
        if (d >= 9223372036854775808.0 || d < -9223372036854775808.0)
            return vm_overflow(ts);
        return vm_int_new(ts, (int64_t)d);
    }
    if (o->type == &vm_str_type)
        return int_from_str(ts, (struct vm_str *)o, 10);
    return vm_raise(ts, VM_EXC_TYPE,
                    "int() argument must be a string, a bytes-like object or a real number, not '%s'",
                    tname(o));
}

static struct vm_object *float_from_str(struct vm_thread *ts, struct vm_str *s)
{
    const char *p = s->data, *end = s->data + s->len;
    while (p < end && is_space(*p))
        p++;
    while (end > p && is_space(end[-1]))
        end--;
    size_t n = (size_t)(end - p);
    char *clean = malloc(n + 1);
    if (!clean)
        return vm_raise(ts, VM_EXC_MEMORY, "out of memory");
    /* Drop underscores that sit between two digits; anything else is left for
       the checks below. */
    size_t k = 0;
    bool ok = n > 0;
    for (size_t i = 0; i < n; i++) {
        char ch = p[i];
        if (ch == '_') {
            if (i == 0 || i + 1 >= n || !(p[i - 1] >= '0' && p[i - 1] <= '9') ||
                !(p[i + 1] >= '0' && p[i + 1] <= '9'))
                ok = false;
            continue;
        }
        if (ch == 'x' || ch == 'X' || ch == 'p' || ch == 'P')   /* no hex floats in float() */
            ok = false;
        clean[k++] = ch;
    }
    clean[k] = '\0';
    double d = 0;
    if (ok) {
        char *stop;
        d = strtod(clean, &stop);
        ok = stop == clean + k && k > 0;
        /* strtod takes "nan(...)" and "infinity" spellings Python partly rejects. */
        if (ok && strchr(clean, '('))
            ok = false;
    }
    free(clean);
    if (!ok) {
        struct vm_buf b = {0};
        struct vm_object *r = NULL;
        if (vm_repr_into(ts, &b, &s->ob) == 0)
            r = vm_raise(ts, VM_EXC_VALUE, "could not convert string to float: %.200s", b.p);
        vm_buf_free(&b);
        return r;
    }
    return vm_float_new(ts, d);
}

static struct vm_object *bi_float(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs == 0)
        return vm_float_new(ts, 0.0);
    if (nargs > 1)
        return vm_raise(ts, VM_EXC_TYPE, "float expected at most 1 argument, got %d", nargs);
    struct vm_object *o = args[0];
    if (vm_is_intlike(o))
        return vm_float_new(ts, (double)vm_int_value(o));
    if (o->type == &vm_float_type) {
        vm_incref(ts, o);
        return o;
    }
    if (o->type == &vm_str_type)
        return float_from_str(ts, (struct vm_str *)o);
    return vm_raise(ts, VM_EXC_TYPE, "float() argument must be a string or a real number, not '%s'",
                    tname(o));
}

static struct vm_object *bi_str(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs == 0)
        return vm_str_new(ts, "", 0);
    if (nargs > 1)
        return vm_raise(ts, VM_EXC_TYPE, "str() with an encoding is not supported in gillab's Python subset");
    if (args[0]->type == &vm_str_type) {
        vm_incref(ts, args[0]);
        return args[0];
    }
    struct vm_buf b = {0};
    struct vm_object *r = NULL;
    if (vm_str_into(ts, &b, args[0]) == 0)
        r = vm_str_new(ts, b.p ? b.p : "", b.len);
    vm_buf_free(&b);
    return r;
}

static struct vm_object *bi_repr(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs != 1)
        return vm_raise(ts, VM_EXC_TYPE, "repr() takes exactly one argument (%d given)", nargs);
    struct vm_buf b = {0};
    struct vm_object *r = NULL;
    if (vm_repr_into(ts, &b, args[0]) == 0)
        r = vm_str_new(ts, b.p ? b.p : "", b.len);
    vm_buf_free(&b);
    return r;
}

static struct vm_object *bi_bool(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs > 1)
        return vm_raise(ts, VM_EXC_TYPE, "bool expected at most 1 argument, got %d", nargs);
    return VM_BOOL(nargs == 1 && vm_truthy(ts, args[0]));
}

static struct vm_object *bi_abs(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs != 1)
        return vm_raise(ts, VM_EXC_TYPE, "abs() takes exactly one argument (%d given)", nargs);
    struct vm_object *o = args[0];
    if (vm_is_intlike(o)) {
        int64_t v = vm_int_value(o);
        if (v == INT64_MIN)
            return vm_overflow(ts);
        return vm_int_new(ts, v < 0 ? -v : v);
    }
    if (o->type == &vm_float_type)
        return vm_float_new(ts, fabs(vm_float_value(o)));
    return vm_raise(ts, VM_EXC_TYPE, "bad operand type for abs(): '%s'", tname(o));
}

static struct vm_object *bi_list(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs > 1)
        return vm_raise(ts, VM_EXC_TYPE, "list expected at most 1 argument, got %d", nargs);
    struct vm_object *l = vm_list_new(ts, 0);
    if (!l || nargs == 0)
        return l;
    struct vm_object *it = vm_get_iter(ts, args[0]), *v;
    if (!it) {
        vm_decref(ts, l);
        return NULL;
    }
    while ((v = vm_iter_next(ts, it)) != NULL)
        if (vm_list_append(ts, (struct vm_list *)l, v) < 0)
            break;
    vm_decref(ts, it);
    if (ts->exc != VM_EXC_NONE) {
        vm_decref(ts, l);
        return NULL;
    }
    return l;
}

static struct vm_object *bi_isinstance(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs != 2)
        return vm_raise(ts, VM_EXC_TYPE, "isinstance expected 2 arguments, got %d", nargs);
    struct vm_object *o = args[0], *t = args[1];
    if (t->type == &vm_class_type)
        return VM_BOOL(vm_is_instance(o, (struct vm_class *)t));
    /* The builtins that are types in CPython. */
    if (t == &b_int.ob)
        return VM_BOOL(vm_is_intlike(o));
    if (t == &b_bool.ob)
        return VM_BOOL(o->type == &vm_bool_type);
    if (t == &b_float.ob)
        return VM_BOOL(o->type == &vm_float_type);
    if (t == &b_str.ob)
        return VM_BOOL(o->type == &vm_str_type);
    if (t == &b_list.ob)
        return VM_BOOL(o->type == &vm_list_type);
    if (t == &b_range.ob)
        return VM_BOOL(o->type == &vm_range_type);
    return vm_raise(ts, VM_EXC_TYPE, "isinstance() arg 2 must be a type, a tuple of types, or a union");
}

static struct vm_object *minmax(struct vm_thread *ts, struct vm_object **args, int nargs, bool is_max)
{
    const char *name = is_max ? "max" : "min";
    int cmp = is_max ? VM_CMP_GT : VM_CMP_LT;
    if (nargs == 0)
        return vm_raise(ts, VM_EXC_TYPE, "%s expected at least 1 argument, got 0", name);
    struct vm_object *best = NULL;
    if (nargs >= 2) {
        best = args[0];
        vm_incref(ts, best);
        for (int i = 1; i < nargs; i++) {
            int r = vm_compare(ts, cmp, args[i], best);
            if (r < 0) {
                vm_decref(ts, best);
                return NULL;
            }
            if (r) {
                vm_decref(ts, best);
                best = args[i];
                vm_incref(ts, best);
            }
        }
        return best;
    }
    struct vm_object *it = vm_get_iter(ts, args[0]);
    if (!it)
        return NULL;
    struct vm_object *v;
    while ((v = vm_iter_next(ts, it)) != NULL) {
        if (!best) {
            best = v;
            continue;
        }
        int r = vm_compare(ts, cmp, v, best);
        if (r < 0) {
            vm_decref(ts, v);
            vm_decref(ts, best);
            vm_decref(ts, it);
            return NULL;
        }
        if (r) {
            vm_decref(ts, best);
            best = v;
        } else {
            vm_decref(ts, v);
        }
    }
    vm_decref(ts, it);
    if (ts->exc != VM_EXC_NONE) {
        vm_xdecref(ts, best);
        return NULL;
    }
    if (!best)
        return vm_raise(ts, VM_EXC_VALUE, "%s() arg is an empty sequence", name);
    return best;
}

static struct vm_object *bi_min(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    return minmax(ts, args, nargs, false);
}

static struct vm_object *bi_max(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    return minmax(ts, args, nargs, true);
}

/* ---- list methods (args[0] is the list) --------------------------------------------------- */

static struct vm_object *li_append(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs != 2)
        return vm_raise(ts, VM_EXC_TYPE, "list.append() takes exactly one argument (%d given)", nargs - 1);
    vm_incref(ts, args[1]);
    if (vm_list_append(ts, (struct vm_list *)args[0], args[1]) < 0)
        return NULL;
    return none();
}

static struct vm_object *li_pop(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs > 2)
        return vm_raise(ts, VM_EXC_TYPE, "pop expected at most 1 argument, got %d", nargs - 1);
    int64_t i = -1;
    if (nargs == 2 && index_arg(ts, args[1], &i) < 0)
        return NULL;
    struct vm_list *l = (struct vm_list *)args[0];
    struct vm_object *v = NULL;
    bool empty;
    vm_objlock(ts, &l->lock);
    int64_t n = (int64_t)l->len;
    empty = n == 0;
    if (i < 0)
        i += n;
    if (!empty && i >= 0 && i < n) {
        v = l->items[i];   /* the list's reference moves to the caller */
        vm_list_close_gap(l, i);
    }
    vm_objunlock(ts, &l->lock);
    if (!v)
        return vm_raise(ts, VM_EXC_INDEX, empty ? "pop from empty list" : "pop index out of range");
    if (ts->mt) {
        /* A thread reading the list without its lock may be about to take a
           reference to v: the list's is released after a grace period, and
           the caller gets one of its own. */
        vm_incref(ts, v);
        vm_defer_decref(ts, v);
    }
    return v;
}

static struct vm_object *li_insert(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs != 3)
        return vm_raise(ts, VM_EXC_TYPE, "insert expected 2 arguments, got %d", nargs - 1);
    int64_t i;
    if (index_arg(ts, args[1], &i) < 0)
        return NULL;
    vm_incref(ts, args[2]);
    if (vm_list_insert(ts, (struct vm_list *)args[0], i, args[2]) < 0)
        return NULL;
    return none();
}

static struct vm_object *li_extend(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs != 2)
        return vm_raise(ts, VM_EXC_TYPE, "list.extend() takes exactly one argument (%d given)", nargs - 1);
    struct vm_object *r = vm_binary(ts, VM_BIN_ADD, args[0], args[1], true);
    if (!r)
        return NULL;
    vm_decref(ts, r);
    return none();
}

/* ---- time ------------------------------------------------------------------------------------ */

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static struct vm_object *no_args(struct vm_thread *ts, const char *name, int nargs)
{
    return vm_raise(ts, VM_EXC_TYPE, "time.%s() takes no arguments (%d given)", name, nargs);
}

static struct vm_object *tm_sleep(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    if (nargs != 1)
        return vm_raise(ts, VM_EXC_TYPE, "time.sleep() takes exactly one argument (%d given)", nargs);
    struct vm_object *o = args[0];
    double s;
    if (vm_is_intlike(o))
        s = (double)vm_int_value(o);
    else if (o->type == &vm_float_type)
        s = vm_float_value(o);
    else
        return vm_raise(ts, VM_EXC_TYPE, "'%s' object cannot be interpreted as an integer", tname(o));
    if (isnan(s))
        return vm_raise(ts, VM_EXC_VALUE, "Invalid value NaN (not a number)");
    if (s < 0)
        return vm_raise(ts, VM_EXC_VALUE, "sleep length must be non-negative");
    if (s > 9.2e9)
        return vm_raise(ts, VM_EXC_OVERFLOW, "timestamp too large to convert to C _PyTime_t");
    struct timespec req, rem;
    req.tv_sec = (time_t)s;
    req.tv_nsec = (long)((s - (double)req.tv_sec) * 1e9);
    if (req.tv_nsec >= 1000000000L) {
        req.tv_sec++;
        req.tv_nsec -= 1000000000L;
    }
    vm_qsbr_offline(ts);   /* no grace period waits for a sleeping thread */
    gil_block_enter(&ts->gt);
    while (nanosleep(&req, &rem) != 0 && errno == EINTR)
        req = rem;
    gil_block_leave(&ts->gt);
    vm_qsbr_online(ts);
    return none();
}

static struct vm_object *tm_perf_counter(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    (void)args;
    if (nargs)
        return no_args(ts, "perf_counter", nargs);
    return vm_float_new(ts, clock_s(CLOCK_MONOTONIC));
}

static struct vm_object *tm_perf_counter_ns(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    (void)args;
    if (nargs)
        return no_args(ts, "perf_counter_ns", nargs);
    return vm_int_new(ts, (int64_t)gil_now_ns());
}

static struct vm_object *tm_monotonic(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    (void)args;
    if (nargs)
        return no_args(ts, "monotonic", nargs);
    return vm_float_new(ts, clock_s(CLOCK_MONOTONIC));
}

static struct vm_object *tm_time(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    (void)args;
    if (nargs)
        return no_args(ts, "time", nargs);
    return vm_float_new(ts, clock_s(CLOCK_REALTIME));
}

/* ---- gc ---------------------------------------------------------------------------------------- */

static struct vm_object *gc_no_args(struct vm_thread *ts, const char *name, int nargs)
{
    return vm_raise(ts, VM_EXC_TYPE, "gc.%s() takes no arguments (%d given)", name, nargs);
}

static struct vm_object *gc_freeze(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    (void)args;
    if (nargs)
        return gc_no_args(ts, "freeze", nargs);
    /* Immortalising writes flags that other threads read without a lock: only
       a lock that serialises the VM (held here) or being alone makes it safe. */
    if (ts->safety != GIL_VM_SERIAL && !vm_thread_alone(ts))
        return vm_raise(ts, VM_EXC_RUNTIME, "gc.freeze() while other threads run without a "
                                            "lock: gillab freezes only under a design that "
                                            "serialises threads, or with one thread");
    if (vm_runtime_immortalize(ts->rt) < 0)
        return vm_raise(ts, VM_EXC_MEMORY, "out of memory");
    return none();
}

static struct vm_object *gc_set(struct vm_thread *ts, int nargs, const char *name, bool on)
{
    if (nargs)
        return gc_no_args(ts, name, nargs);
    /* relaxed: the flag is only reported back (gc.isenabled()); it orders nothing. */
    atomic_store_explicit(&ts->rt->gc_enabled, on, memory_order_relaxed);
    return none();
}

static struct vm_object *gc_disable(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    (void)args;
    return gc_set(ts, nargs, "disable", false);
}

static struct vm_object *gc_enable(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    (void)args;
    return gc_set(ts, nargs, "enable", true);
}

static struct vm_object *gc_isenabled(struct vm_thread *ts, struct vm_object **args, int nargs)
{
    (void)args;
    if (nargs)
        return gc_no_args(ts, "isenabled", nargs);
    return VM_BOOL(atomic_load_explicit(&ts->rt->gc_enabled, memory_order_relaxed));
}
