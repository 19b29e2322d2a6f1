/*
 * core.h — the interpreter's private structures: objects and their types,
 * programs and code objects, runtimes, thread states and frames, and the
 * reference-count primitives every part of gil/vm/ uses.
 *
 * Thread safety in one paragraph. A program (code objects and their constants)
 * is immutable after compiling and shared by every thread; its objects are
 * immortal, so nobody ever writes their reference counts. Everything a run makes
 * is refcounted. How a refcount or a shared container is touched depends on the
 * lock design's `vm_safety`, cached per thread in `vm_thread.safety`:
 *   GIL_VM_SERIAL  the lock serialises bytecode: plain `refcnt++`, no object locks;
 *   GIL_VM_ATOMIC  no exclusion: atomic refcounts, and lists and the module
 *                  globals take a byte lock (vm_objlock_*) around each access;
 *   GIL_VM_UNSAFE  no exclusion and plain counts: deliberately racy (the race
 *                  exercise shows under TSan what the GIL prevents).
 * Allocation counters are per thread and summed when a thread state is freed.
 */
#ifndef VM_CORE_H
#define VM_CORE_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "locks/gil.h"
#include "opcodes.h"
#include "vm.h"

/* ---- compile-time knobs (every one is marked "knob:") ----------------------------- */

#define VM_INT_FREELIST_MAX 1024          /* knob: freed ints a thread keeps for reuse */
#define VM_DATASTACK_CHUNK_BYTES (256u << 10) /* knob: frame stack grows in chunks this big */
#define VM_MAX_NESTING 100                /* knob: nested brackets/blocks/unary ops in source */
#define VM_MAX_EXPR_DEPTH 3000            /* knob: deepest expression tree the compiler accepts */
#define VM_MAX_INDENT 100                 /* knob: indentation levels (CPython's MAXINDENT) */
#define VM_COMPILE_MEMORY_MAX ((size_t)1 << 30) /* knob: syntax-tree memory for one statement */
#define VM_MAX_SEQ_LEN ((size_t)1 << 26)  /* knob: longest list or str a program may build */
#define VM_SPINS_BEFORE_YIELD 64          /* knob: object-lock spins before sched_yield */

/* Dispatch: computed goto under GCC/clang, a switch elsewhere (or with
   -DVM_NO_COMPUTED_GOTO). */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(VM_NO_COMPUTED_GOTO)
#define VM_COMPUTED_GOTO 1               /* knob */
#else
#define VM_COMPUTED_GOTO 0
#endif

#if defined(__GNUC__)
#define VM_LIKELY(x) __builtin_expect(!!(x), 1)
#define VM_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define VM_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VM_LIKELY(x) (x)
#define VM_UNLIKELY(x) (x)
#define VM_PRINTF(a, b)
#endif

/* ASan must see every free: no free lists under it. */
#if defined(__SANITIZE_ADDRESS__)
#define VM_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VM_ASAN 1
#endif
#endif
#ifndef VM_ASAN
#define VM_ASAN 0
#endif

struct vm_thread;

/* ---- objects ------------------------------------------------------------------------- */

#define VM_IMMORTAL 1u   /* vm_object.flags: refcount never touched, never freed by a run */

struct vm_object {
    int32_t refcnt;                 /* SERIAL/UNSAFE: the GIL (or nothing); ATOMIC: __atomic ops */
    uint32_t flags;                 /* immutable after creation */
    const struct vm_type *type;     /* immutable after creation */
};

enum vm_kind {
    VM_K_NONE, VM_K_BOOL, VM_K_INT, VM_K_FLOAT, VM_K_STR, VM_K_LIST, VM_K_FUNCTION,
    VM_K_CODE, VM_K_BUILTIN, VM_K_METHOD, VM_K_MODULE, VM_K_RANGE, VM_K_RANGE_ITER,
    VM_K_LIST_ITER, VM_K_STR_ITER,
};

struct vm_type {
    const char *name;               /* type(x).__name__, for messages */
    enum vm_kind kind;
    void (*dealloc)(struct vm_thread *ts, struct vm_object *o);  /* NULL: never freed */
};

extern const struct vm_type vm_none_type, vm_bool_type, vm_int_type, vm_float_type,
    vm_str_type, vm_list_type, vm_function_type, vm_code_type, vm_builtin_type,
    vm_method_type, vm_module_type, vm_range_type, vm_range_iter_type, vm_list_iter_type,
    vm_str_iter_type;

/* bool shares int's layout: True and False are vm_int with the bool type. */
struct vm_int {
    struct vm_object ob;
    int64_t value;                  /* immutable */
};

struct vm_float {
    struct vm_object ob;
    double value;                   /* immutable */
};

struct vm_str {
    struct vm_object ob;
    size_t len;                     /* immutable: bytes of UTF-8, without the NUL */
    char data[];                    /* immutable, NUL-terminated */
};

struct vm_list {
    struct vm_object ob;
    size_t len, cap;                /* SERIAL: the GIL; ATOMIC: lock */
    struct vm_object **items;       /* SERIAL: the GIL; ATOMIC: lock */
    atomic_uchar lock;              /* the byte lock used under GIL_VM_ATOMIC */
    struct vm_list *dealloc_next;   /* owner thread only: deferred-dealloc chain */
    struct vm_list *reg_prev;       /* the runtime's list of lists: rt->lists_lock */
    struct vm_list *reg_next;       /* (under GIL_VM_SERIAL: the GIL) */
};

struct vm_code;
struct vm_function {
    struct vm_object ob;
    struct vm_code *code;           /* immutable; owned by the program */
};

typedef struct vm_object *(*vm_builtin_fn)(struct vm_thread *ts, struct vm_object **args, int nargs);
struct vm_builtin {
    struct vm_object ob;            /* static and immortal */
    const char *name;               /* immutable */
    vm_builtin_fn fn;               /* immutable */
    bool is_method;                 /* immutable: takes self as args[0] */
};

struct vm_method {                  /* a builtin bound to self: lst.append as a value */
    struct vm_object ob;
    const struct vm_builtin *fn;    /* immutable */
    struct vm_object *self;         /* immutable, owned */
};

struct vm_module {                  /* only `time` */
    struct vm_object ob;            /* static and immortal */
    const char *name;               /* immutable */
};

struct vm_range {
    struct vm_object ob;
    int64_t start, stop, step;      /* immutable */
};

/* Iterators live on one thread's value stack (the language cannot store
   them anywhere else), so only that thread touches their fields. */
struct vm_range_iter {
    struct vm_object ob;
    int64_t next, step;             /* iterating thread only */
    uint64_t remaining;             /* iterating thread only */
};

struct vm_list_iter {
    struct vm_object ob;
    struct vm_list *list;           /* iterating thread only: owned reference, NULL when done */
    size_t index;                   /* iterating thread only */
};

struct vm_str_iter {
    struct vm_object ob;
    struct vm_str *str;             /* iterating thread only: owned reference */
    size_t pos;                     /* iterating thread only: byte offset */
};

/* Shared singletons (static, immortal). */
extern struct vm_object vm_none_obj;
extern struct vm_int vm_true_obj, vm_false_obj;
extern struct vm_module vm_time_module;
#define VM_NONE (&vm_none_obj)
#define VM_TRUE ((struct vm_object *)&vm_true_obj)
#define VM_FALSE ((struct vm_object *)&vm_false_obj)
#define VM_BOOL(b) ((b) ? VM_TRUE : VM_FALSE)

#define VM_SMALL_INT_MIN (-5)
#define VM_SMALL_INT_MAX 256
extern struct vm_int vm_small_ints[VM_SMALL_INT_MAX - VM_SMALL_INT_MIN + 1];

/* ---- programs and code objects ------------------------------------------------------- */

struct vm_code {
    struct vm_object ob;            /* immortal: owned by the program */
    struct vm_program *prog;        /* immutable */
    const char *name;               /* immutable: "<module>" or the function's name */
    int index;                      /* immutable: 0 = module; for the stable fake address */
    int argcount;                   /* immutable */
    int nlocals;                    /* immutable: parameters first */
    int stacksize;                  /* immutable: deepest value stack */
    size_t frame_bytes;             /* immutable: size of a frame for this code */
    int firstlineno;                /* immutable */
    bool is_module;                 /* immutable */
    const uint8_t *code;            /* immutable: wordcode, (opcode, arg) byte pairs */
    size_t ncode;                   /* immutable: number of 2-byte code units */
    const int32_t *lines;           /* immutable: source line of each code unit */
    struct vm_object **consts;      /* immutable, immortal objects */
    int nconsts;                    /* immutable */
    const char **names;             /* immutable: co_names (interned) */
    const int32_t *name_slot;       /* immutable: global slot of each name */
    const uint8_t *name_attr;       /* immutable: enum vm_attr of each name */
    int nnames;                     /* immutable */
    const char **varnames;          /* immutable: co_varnames (interned) */
};

/* Attribute names the VM knows (LOAD_ATTR / LOAD_METHOD). */
enum vm_attr {
    VM_ATTR_OTHER, VM_ATTR_APPEND, VM_ATTR_POP, VM_ATTR_INSERT, VM_ATTR_EXTEND,
    VM_ATTR_SLEEP, VM_ATTR_PERF_COUNTER, VM_ATTR_PERF_COUNTER_NS, VM_ATTR_MONOTONIC,
    VM_ATTR_TIME,
};
enum vm_attr vm_attr_lookup(const char *name);

struct vm_intern;  /* string interning table (compile.c) */

struct vm_program {
    char *filename;                 /* immutable: as given, for messages */
    char *modname;                  /* immutable: file stem, __name__ when loaded */
    struct vm_code **codes;         /* immutable: codes[0] is the module */
    int ncodes;                     /* immutable */
    struct vm_object **owned;       /* immutable: every compile-time object, freed with the program */
    size_t nowned, capowned;        /* immutable */
    struct vm_intern *intern;       /* immutable: interned identifiers */
    const char **slot_names;        /* immutable: global slot -> name */
    struct vm_object **slot_builtin;/* immutable: builtin of that name, or NULL */
    int nslots;                     /* immutable */
    int slot_dunder_name;           /* immutable: slot of __name__ */
    struct vm_object *str_main;     /* immortal "__main__" */
    struct vm_object *str_modname;  /* immortal module name */
};

/* ---- runtime, threads, frames ----------------------------------------------------- */

struct vm_runtime {
    struct vm_program *prog;        /* immutable, shared read-only */
    struct gil *gil;                /* immutable */
    FILE *out;                      /* immutable; stdio locks it per write */
    struct vm_object **globals;     /* per slot; SERIAL: the GIL; ATOMIC: globals_lock */
    atomic_uchar globals_lock;      /* byte lock around globals under GIL_VM_ATOMIC */
    atomic_flag threads_lock;       /* protects `threads` */
    struct vm_thread *threads;      /* live thread states: threads_lock */
    _Atomic long folded_allocs;     /* counters of freed thread states (relaxed adds) */
    _Atomic long folded_frees;
    /* Every live list, so that reference cycles (a list holding itself) can be
       broken when the program ends: SERIAL: the GIL; ATOMIC: lists_lock. */
    struct vm_list *lists;
    atomic_uchar lists_lock;
};

struct vm_chunk {                   /* a piece of a thread's frame stack */
    struct vm_chunk *prev, *next;   /* owner thread only */
    char *top, *end;                /* owner thread only */
    char data[];
};

/* A frame belongs to the thread whose frame stack holds it: owner thread only. */
struct vm_frame {
    struct vm_frame *back;          /* caller, or NULL for an entry frame */
    struct vm_code *code;           /* the code running */
    const uint8_t *ip;              /* saved next instruction while calling out */
    struct vm_object **sp;          /* saved stack top while calling out */
    struct vm_object **stack;       /* base of the value stack */
    struct vm_chunk *chunk;         /* the chunk this frame lives in */
    struct vm_chunk *prev_chunk;    /* the thread's current chunk before this frame */
    struct vm_object *fast[];       /* nlocals locals, then the value stack */
};

/* Exception kinds: the name printed on the traceback's last line. */
#define VM_EXC_KINDS(X)                                                     \
    X(VM_EXC_NONE, "Exception") X(VM_EXC_TYPE, "TypeError")                 \
    X(VM_EXC_NAME, "NameError") X(VM_EXC_UNBOUND, "UnboundLocalError")      \
    X(VM_EXC_ZERODIV, "ZeroDivisionError") X(VM_EXC_INDEX, "IndexError")    \
    X(VM_EXC_VALUE, "ValueError") X(VM_EXC_OVERFLOW, "OverflowError")       \
    X(VM_EXC_RECURSION, "RecursionError") X(VM_EXC_ATTRIBUTE, "AttributeError") \
    X(VM_EXC_MEMORY, "MemoryError") X(VM_EXC_SYSTEM, "SystemError")
enum vm_exc {
#define VM_EXC_ENUM(id, name) id,
    VM_EXC_KINDS(VM_EXC_ENUM)
#undef VM_EXC_ENUM
};

struct vm_thread {
    struct gil_thread gt;           /* lock state (gil.h): owner thread only */
    struct vm_runtime *rt;          /* immutable */
    enum gil_vm_safety safety;      /* immutable: cached rt->gil->vm_safety */
    long allocs, frees;             /* owner thread only: objects made / freed */
    struct vm_object *int_free;     /* owner thread only: free ints, chained through refcnt-less memory */
    int int_free_len;               /* owner thread only */
    int depth;                      /* owner thread only: frames on this thread */
    int c_depth;                    /* owner thread only: repr/compare nesting */
    struct vm_chunk *chunk;         /* owner thread only: current frame-stack chunk */
    struct vm_chunk *chunk_head;    /* owner thread only: first chunk (the list is kept) */
    struct vm_list *dealloc_pending;/* owner thread only: lists waiting to be freed */
    bool in_dealloc;                /* owner thread only */
    struct vm_object **repr_stack;  /* owner thread only: lists being repr'd */
    int nrepr, caprepr;
    enum vm_exc exc;                /* owner thread only: pending error */
    char exc_msg[400];              /* owner thread only */
    struct vm_thread *next_live;    /* rt->threads_lock */
};

/* ---- reference counts ---------------------------------------------------------------- */

void vm_dealloc(struct vm_thread *ts, struct vm_object *o);

static inline void vm_incref(struct vm_thread *ts, struct vm_object *o)
{
    if (o->flags & VM_IMMORTAL)     /* flags never change: a plain read is race-free */
        return;
    if (VM_LIKELY(ts->safety != GIL_VM_ATOMIC))
        o->refcnt++;
    else
        /* relaxed: we already own a reference (or read o under its container's
           lock), so o cannot die meanwhile; no other memory is published. */
        __atomic_fetch_add(&o->refcnt, 1, __ATOMIC_RELAXED);
}

static inline void vm_decref(struct vm_thread *ts, struct vm_object *o)
{
    if (o->flags & VM_IMMORTAL)
        return;
    if (VM_LIKELY(ts->safety != GIL_VM_ATOMIC)) {
        if (--o->refcnt == 0)
            vm_dealloc(ts, o);
    } else if (__atomic_sub_fetch(&o->refcnt, 1, __ATOMIC_ACQ_REL) == 0) {
        /* acq_rel: the release half orders this thread's writes to o before
           the decrement; the acquire half lets the thread that reaches zero see
           every other thread's writes before it frees o. */
        vm_dealloc(ts, o);
    }
}

static inline void vm_xdecref(struct vm_thread *ts, struct vm_object *o)
{
    if (o)
        vm_decref(ts, o);
}

/* ---- object locks (GIL_VM_ATOMIC only) ------------------------------------------------ */

void vm_objlock_slow(atomic_uchar *l);

static inline void vm_objlock(struct vm_thread *ts, atomic_uchar *l)
{
    if (VM_LIKELY(ts->safety != GIL_VM_ATOMIC))
        return;
    unsigned char expected = 0;
    /* acquire: everything the previous holder wrote before its release store
       is visible once we own the byte. */
    if (!atomic_compare_exchange_weak_explicit(l, &expected, 1, memory_order_acquire,
                                               memory_order_relaxed))
        vm_objlock_slow(l);
}

static inline void vm_objunlock(struct vm_thread *ts, atomic_uchar *l)
{
    if (VM_LIKELY(ts->safety != GIL_VM_ATOMIC))
        return;
    /* release: publishes our writes under the lock to the next acquirer. */
    atomic_store_explicit(l, 0, memory_order_release);
}

/* ---- allocation and errors (object.c) ------------------------------------------------- */

void *vm_alloc(struct vm_thread *ts, const struct vm_type *type, size_t size);
void vm_free(struct vm_thread *ts, void *o);
/* Set the thread's pending error; returns NULL so callers can `return vm_raise(...)`. */
void *vm_raise(struct vm_thread *ts, enum vm_exc kind, const char *fmt, ...) VM_PRINTF(3, 4);
const char *vm_exc_name(enum vm_exc kind);
void *vm_overflow(struct vm_thread *ts);   /* the 64-bit int overflow error */

/* ---- value constructors and operations (object.c) ----------------------------------- */

struct vm_object *vm_int_new_slow(struct vm_thread *ts, int64_t v);
/* Give the thread's free ints back to malloc (they are already counted as freed). */
void vm_int_freelist_clear(struct vm_thread *ts);
static inline struct vm_object *vm_int_new(struct vm_thread *ts, int64_t v)
{
    if (v >= VM_SMALL_INT_MIN && v <= VM_SMALL_INT_MAX)
        return (struct vm_object *)&vm_small_ints[v - VM_SMALL_INT_MIN];
    return vm_int_new_slow(ts, v);
}
struct vm_object *vm_float_new(struct vm_thread *ts, double v);
struct vm_object *vm_str_new(struct vm_thread *ts, const char *s, size_t len);
struct vm_object *vm_list_new(struct vm_thread *ts, size_t len);   /* items zeroed */
int vm_list_append(struct vm_thread *ts, struct vm_list *l, struct vm_object *v); /* steals v */
/* Free every list still alive, breaking reference cycles: only when nothing
   refers to the run's objects any more (program end, runtime teardown). */
void vm_break_cycles(struct vm_thread *ts);
/* Insert v before index i (clamped as list.insert does); steals v. */
int vm_list_insert(struct vm_thread *ts, struct vm_list *l, int64_t i, struct vm_object *v);

static inline bool vm_is_intlike(const struct vm_object *o)
{
    return o->type == &vm_int_type || o->type == &vm_bool_type;
}
static inline int64_t vm_int_value(const struct vm_object *o)
{
    return ((const struct vm_int *)o)->value;
}
static inline double vm_float_value(const struct vm_object *o)
{
    return ((const struct vm_float *)o)->value;
}

/* Arithmetic for BINARY_x / INPLACE_x: returns a new reference or NULL (error set). */
enum vm_binop { VM_BIN_ADD, VM_BIN_SUB, VM_BIN_MUL, VM_BIN_TRUEDIV, VM_BIN_FLOORDIV, VM_BIN_MOD };
struct vm_object *vm_binary(struct vm_thread *ts, enum vm_binop op, struct vm_object *a,
                            struct vm_object *b, bool inplace);
struct vm_object *vm_negative(struct vm_thread *ts, struct vm_object *a);
struct vm_object *vm_positive(struct vm_thread *ts, struct vm_object *a);
/* COMPARE_OP (not is/is not): 1 true, 0 false, -1 error. */
int vm_compare(struct vm_thread *ts, int cmp, struct vm_object *a, struct vm_object *b);
bool vm_truthy(struct vm_thread *ts, struct vm_object *o);
struct vm_object *vm_subscr(struct vm_thread *ts, struct vm_object *o, struct vm_object *key);
int vm_store_subscr(struct vm_thread *ts, struct vm_object *o, struct vm_object *key,
                    struct vm_object *v);   /* does not steal v */
struct vm_object *vm_get_iter(struct vm_thread *ts, struct vm_object *o);
/* Next item of iterator it: a new reference, or NULL with no error when done. */
struct vm_object *vm_iter_next(struct vm_thread *ts, struct vm_object *it);
/* Number of items of a list/str/range, or -1 with a TypeError set. */
long long vm_len(struct vm_thread *ts, struct vm_object *o);

/* Growing text buffer for str()/repr()/print; vm_buf_* return -1 on no memory. */
struct vm_buf {
    char *p;
    size_t len, cap;
};
int vm_buf_put(struct vm_buf *b, const char *s, size_t n);
int vm_buf_puts(struct vm_buf *b, const char *s);
void vm_buf_free(struct vm_buf *b);
/* Append str(o) / repr(o); -1 with an error set on the thread. */
int vm_str_into(struct vm_thread *ts, struct vm_buf *b, struct vm_object *o);
int vm_repr_into(struct vm_thread *ts, struct vm_buf *b, struct vm_object *o);
/* Python's float repr (shortest round-trip), into buf (at least 32 bytes). */
void vm_float_repr(double v, char *buf, size_t cap);
/* repr of a constant for dis (no thread needed). */
void vm_const_repr(const struct vm_object *o, char *buf, size_t cap);

/* ---- builtins (builtins.c) ---------------------------------------------------------- */

/* The builtin object called `name`, or NULL. */
struct vm_object *vm_builtin_lookup(const char *name);
/* LOAD_METHOD / LOAD_ATTR: on a method hit, *meth gets the (immortal) builtin and
   the caller keeps self; otherwise *attr gets a new reference. Returns 0 or -1
   (error set). */
int vm_get_method(struct vm_thread *ts, struct vm_object *obj, const char *name,
                  enum vm_attr attr, struct vm_object **meth, struct vm_object **attrval);
/* Call a builtin or bound method with n args (borrowed). */
struct vm_object *vm_call_builtin(struct vm_thread *ts, struct vm_object *callable,
                                  struct vm_object **args, int nargs);

/* ---- threads and frames (runtime.c, eval.c) -------------------------------------------- */

struct vm_frame *vm_frame_push(struct vm_thread *ts, struct vm_code *code);
void vm_frame_pop(struct vm_thread *ts, struct vm_frame *f);
/* Run frame f (already pushed, locals set) to completion. On success *result is
   a new reference. On error the whole frame chain down to f is unwound and
   freed, and err receives the traceback. */
/* "f() takes 1 positional argument but 2 were given" and friends. */
void vm_arity_message(const struct vm_code *c, int nargs, char *buf, size_t cap);
enum vm_result vm_eval(struct vm_thread *ts, struct vm_frame *f, struct vm_object **result,
                       struct vm_error *err);

#endif
