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
 *   GIL_VM_ATOMIC  no exclusion: atomic refcounts; lists, dicts (instance and
 *                  class attributes), cells and instance slots take a byte lock
 *                  (vm_objlock_*) around each write and each read of a dict, cell
 *                  or slot; lists and the module globals are read without a lock
 *                  (what a reader may still hold is released after a grace
 *                  period: qsbr.c);
 *   GIL_VM_BIASED  as ATOMIC, with biased refcounts (brc.c): the thread that made
 *                  an object counts in `refcnt` with plain instructions, the
 *                  others in a second, atomic count before the object;
 *   GIL_VM_UNSAFE  no exclusion and plain counts: deliberately racy (the race
 *                  exercise shows under TSan what the GIL prevents).
 * ATOMIC and BIASED are "multi-threaded" (vm_thread.mt). Allocation counters are
 * per thread and summed when a thread state is freed.
 *
 * The object header each policy needs, and what it costs (x86-64):
 *   SERIAL, UNSAFE, ATOMIC  refcnt (4 bytes), flags (4), type (8): 16 bytes;
 *                           ATOMIC updates refcnt with locked instructions.
 *   BIASED                  the same 16, with the owner thread's id in `owner`
 *                           (2 bytes that are padding otherwise), and 16 bytes
 *                           before the object (struct vm_brc): the shared count
 *                           with its two state bits (8) and the owner's
 *                           merge-queue link (8). 32 bytes, as CPython 3.13t's
 *                           header is 32 where the default build's is 16; an
 *                           int takes 40 bytes instead of 24.
 *   immortal_at_start       nothing more: immortality is a bit in flags.
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
#define VM_MAX_PARENS 200                 /* knob: nested brackets (CPython's tokenizer MAXLEVEL) */
#define VM_MAX_INDENT 100                 /* knob: indentation levels, this one refused (CPython's MAXINDENT) */
#define VM_MAX_EXPR_DEPTH 3000            /* knob: deepest expression tree the compiler accepts
                                             (CPython 3.11 gives up near it: RecursionError) */
#define VM_MAX_NESTING (VM_MAX_PARENS + VM_MAX_INDENT + VM_MAX_EXPR_DEPTH)
                                          /* the parser's recursion: brackets, blocks, unary ops */
#define VM_COMPILE_MEMORY_MAX ((size_t)1 << 30) /* knob: syntax-tree memory for one statement */
#define VM_MAX_SEQ_LEN ((size_t)1 << 26)  /* knob: longest list or str a program may build */
#define VM_SPINS_BEFORE_YIELD 64          /* knob: object-lock spins before sched_yield */
#define VM_QSBR_BATCH 254                 /* knob: deferred releases sealed together (qsbr.c) */

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
#define VM_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define VM_LIKELY(x) (x)
#define VM_UNLIKELY(x) (x)
#define VM_PRINTF(a, b)
#define VM_ALWAYS_INLINE static inline
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

#define VM_IMMORTAL 1u     /* vm_object.flags: refcount never touched, never freed by a run */
#define VM_IMMORTALISED 2u /* made immortal by vm_runtime_immortalize: freed when the run ends */
#define VM_SEEN 4u         /* transient: visited by the vm_runtime_immortalize under way */
#define VM_MAX_OWNER_ID 0xfffeu   /* BIASED: owner ids are 1..this; 0 is nobody */
#define VM_OWNER_NOBODY 0xffffu   /* the owner id of an ATOMIC thread: no object's */

struct vm_object {
    /* SERIAL/UNSAFE: the GIL (or nothing); ATOMIC: __atomic ops; BIASED: the
       owner thread's local count, written by the owner only (and, once the
       owner has exited, by the one thread that merges it under
       rt->threads_lock). */
    int32_t refcnt;
    union {
        struct {
            /* VM_IMMORTAL and the bits above. Set at creation; changed only by
               vm_runtime_immortalize, while no other VM thread runs or under
               a lock that serialises them (gc.freeze()): plain reads are
               race-free. */
            uint16_t flags;
            /* BIASED: the owner thread's id, 0 once the counts are merged (or
               for an object no thread owns). Cleared by a merge with a relaxed
               atomic store and read with relaxed atomic loads (vm_owner); bytes
               of their own, so that it never races with reads of flags. 0
               under the other policies. */
            uint16_t owner;
        };
        /* Both at once, for the multi-threaded fast path's one comparison
           with vm_thread.rc_word ("mortal and mine"): a relaxed atomic load
           (vm_flags_owner), which no store of either half races with. */
        uint32_t flags_owner;
    };
    const struct vm_type *type;     /* immutable after creation */
};
/* The header of a static immortal object, for initializers. */
#define VM_IMMORTAL_HEAD(typep) {.refcnt = 0, .flags = VM_IMMORTAL, .owner = 0, .type = (typep)}

/* BIASED: what sits before every object a run allocates (vm_alloc). */
struct vm_brc {
    /* The count of references held by threads other than the owner, times 4,
       plus the state in the low two bits (VM_BRC_QUEUED, VM_BRC_MERGED). Only
       atomic read-modify-writes and atomic loads touch it; it may go below zero
       (a thread may drop a reference the owner counted) once queued or merged. */
    int64_t shared;
    struct vm_object *merge_next;   /* the owner's merge queue: rt->threads_lock */
};
#define VM_BRC_QUEUED 1   /* queued for its owner to merge */
#define VM_BRC_MERGED 2   /* the counts are one: shared holds them all, no owner */
#define VM_BRC_FLAGS 3
#define VM_BRC_ONE 4      /* one reference in `shared` */

enum vm_kind {
    VM_K_NONE, VM_K_BOOL, VM_K_INT, VM_K_FLOAT, VM_K_STR, VM_K_LIST, VM_K_FUNCTION,
    VM_K_CODE, VM_K_BUILTIN, VM_K_METHOD, VM_K_MODULE, VM_K_RANGE, VM_K_RANGE_ITER,
    VM_K_LIST_ITER, VM_K_STR_ITER, VM_K_TUPLE, VM_K_TUPLE_ITER, VM_K_DICT, VM_K_DICT_ITER,
    VM_K_CELL, VM_K_CLASS, VM_K_INSTANCE, VM_K_BOUND_METHOD,
};

struct vm_type {
    const char *name;               /* type(x).__name__, for messages (instances: see vm_type_name) */
    enum vm_kind kind;
    void (*dealloc)(struct vm_thread *ts, struct vm_object *o);  /* NULL: never freed */
    /* Types whose objects may be part of a reference cycle (dicts, cells,
       instances, classes; lists have their own registry): drop every reference
       the object holds, to break cycles when the program ends. Such objects
       start with a vm_gchead and are freed through the per-thread deferred
       queue. NULL for every other type. */
    void (*clear)(struct vm_thread *ts, struct vm_object *o);
};

extern const struct vm_type vm_none_type, vm_bool_type, vm_int_type, vm_float_type,
    vm_str_type, vm_list_type, vm_function_type, vm_code_type, vm_builtin_type,
    vm_method_type, vm_module_type, vm_range_type, vm_range_iter_type, vm_list_iter_type,
    vm_str_iter_type, vm_tuple_type, vm_tuple_iter_type, vm_dict_type, vm_dict_iter_type,
    vm_cell_type, vm_class_type, vm_instance_type, vm_bound_method_type;

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
    /* SERIAL: the GIL. Multi-threaded: written under `lock` with release
       stores (len, items and each slot), read under it or without it with
       acquire loads (see "Lists read without a lock" in object.c). */
    size_t len, cap;
    struct vm_object **items;
    atomic_uchar lock;              /* the byte lock of the multi-threaded policies */
    struct vm_object *dealloc_next; /* owner thread only: deferred-dealloc chain */
    struct vm_list *reg_prev;       /* the runtime's list of lists: rt->lists_lock */
    struct vm_list *reg_next;       /* (under GIL_VM_SERIAL: the GIL) */
};

/* The header of every object with a `clear` type (see vm_type): a link in the
   runtime's registry of such objects (so that cycles through them can be
   broken when the program ends) and the link of the deferred-dealloc queue. */
struct vm_gchead {
    struct vm_object ob;
    struct vm_gchead *gc_prev, *gc_next; /* rt->gc_objects: rt->gc_lock (SERIAL: the GIL) */
    struct vm_object *dealloc_next;     /* owner thread only: deferred-dealloc chain */
};

struct vm_tuple {                   /* closure cells, and `for x in [a, b]` */
    struct vm_object ob;
    size_t len;                     /* immutable */
    struct vm_object *items[];      /* immutable after BUILD_TUPLE, owned */
};

/* A dict with str keys: the attributes of instances and classes, and what
   `obj.__dict__` returns. Insertion-ordered, as CPython's. */
struct vm_dict_entry {
    struct vm_object *key;          /* a str, owned; NULL: deleted */
    struct vm_object *value;        /* owned */
    uint64_t hash;                  /* vm_str_hash of the key */
};
struct vm_dict {
    struct vm_gchead gc;
    atomic_uchar lock;              /* the byte lock of the multi-threaded policies */
    size_t used;                    /* live entries; SERIAL: the GIL; multi-threaded: lock (all below) */
    size_t nentries, capentries;    /* entries made (live and deleted), allocated */
    struct vm_dict_entry *entries;  /* in insertion order */
    int32_t *index;                 /* capindex slots: an entry number, or -1 (empty) */
    size_t capindex;                /* a power of two, or 0 */
};

struct vm_cell {                    /* a variable shared by a function and its closures */
    struct vm_gchead gc;
    atomic_uchar lock;              /* the byte lock of the multi-threaded policies */
    struct vm_object *ref;          /* owned, NULL when unbound; SERIAL: the GIL; multi-threaded: lock */
};

struct vm_class {
    struct vm_object ob;            /* (its dict is what can hold cycles) */
    struct vm_object *name;         /* immutable: str, owned */
    struct vm_object *qualname;     /* immutable: str, owned */
    struct vm_class *base;          /* immutable, owned; NULL: object */
    struct vm_dict *dict;           /* immutable pointer, owned; its contents: its lock */
    struct vm_object **slot_names;  /* immutable: strs, owned: every slot, the base's first */
    int nslots;                     /* immutable */
    bool has_dict;                  /* immutable: instances carry a __dict__ */
};

struct vm_instance {
    struct vm_gchead gc;
    struct vm_class *cls;           /* immutable, owned */
    struct vm_dict *dict;           /* immutable pointer, owned; NULL: no __dict__ */
    atomic_uchar lock;              /* the byte lock of the multi-threaded policies (slots) */
    int nslots;                     /* immutable */
    struct vm_object *slots[];      /* owned, NULL when unset; SERIAL: the GIL; multi-threaded: lock */
};

struct vm_bound_method {            /* obj.method as a value */
    struct vm_object ob;
    struct vm_object *func;         /* immutable, owned: a function */
    struct vm_object *self;         /* immutable, owned */
};

struct vm_code;
struct vm_function {
    struct vm_object ob;
    struct vm_code *code;           /* immutable; owned by the program */
    struct vm_tuple *closure;       /* immutable, owned: code->nfrees cells, or NULL */
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

struct vm_module {                  /* `time` and `gc` (vm_module_lookup) */
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

struct vm_seq_iter {                /* over a tuple's items or a dict's keys */
    struct vm_object ob;
    struct vm_object *seq;          /* iterating thread only: owned reference, NULL when done */
    size_t index;                   /* iterating thread only: item or entry number */
    size_t used;                    /* iterating thread only: a dict's size when iteration began */
};

/* Shared singletons (static, immortal). */
extern struct vm_object vm_none_obj;
extern struct vm_int vm_true_obj, vm_false_obj;
extern struct vm_module vm_time_module;
extern struct vm_class vm_object_class;   /* `object`: every class's root */
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
    const char *name;               /* immutable: "<module>", the function's or the class's name */
    const char *qualname;           /* immutable: "f", "C.m", "f.<locals>.g" */
    int index;                      /* immutable: 0 = module; for the stable fake address */
    int argcount;                   /* immutable */
    int nlocals;                    /* immutable: parameters first */
    int ncells, nfrees;             /* immutable: co_cellvars, co_freevars */
    int nlocalsplus;                /* immutable: nlocals + ncells + nfrees, the frame's slots */
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
    const char **cellvars;          /* immutable: co_cellvars then co_freevars (interned) */
    const int32_t *cell2arg;        /* immutable: per cell, the parameter it starts from, or -1 */
    struct vm_object **name_strs;   /* immutable: co_names as immortal str constants */
    const uint64_t *name_hash;      /* immutable: vm_str_hash of each name */
};

/* Attribute names the VM knows (LOAD_ATTR / LOAD_METHOD). */
enum vm_attr {
    VM_ATTR_OTHER, VM_ATTR_APPEND, VM_ATTR_POP, VM_ATTR_INSERT, VM_ATTR_EXTEND,
    VM_ATTR_SLEEP, VM_ATTR_PERF_COUNTER, VM_ATTR_PERF_COUNTER_NS, VM_ATTR_MONOTONIC,
    VM_ATTR_TIME, VM_ATTR_CLASS, VM_ATTR_DICT, VM_ATTR_NAME, VM_ATTR_QUALNAME,
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
    /* Per slot. SERIAL: the GIL. Multi-threaded: read with acquire loads and
       no lock, replaced with an atomic exchange; a replaced value's reference
       is released after a grace period (qsbr.c). */
    struct vm_object **globals;
    /* Protects `threads`, every thread's brc_queue, qsbr_orphans and the
       ownership of objects whose owner has exited (brc.c). */
    atomic_flag threads_lock;
    struct vm_thread *threads;      /* live thread states: threads_lock */
    /* Grace periods (qsbr.c): advanced by one seq_cst read-modify-write each
       time a batch of deferred releases is sealed; read by every thread when
       it reports a quiescent state. */
    _Atomic uint64_t qsbr_seq;
    struct vm_qsbr_batch *qsbr_orphans; /* sealed batches of exited threads: threads_lock */
    uint32_t next_owner_id;         /* BIASED: the next fresh owner id: threads_lock */
    _Atomic long folded_allocs;     /* counters of freed thread states (relaxed adds) */
    _Atomic long folded_frees;
    /* Every live list, so that reference cycles (a list holding itself) can be
       broken when the program ends: SERIAL: the GIL; ATOMIC: lists_lock. */
    struct vm_list *lists;
    atomic_uchar lists_lock;
    /* Every live object with a `clear` type (dicts, cells, instances,
       classes), for the same reason: SERIAL: the GIL; ATOMIC: gc_lock. */
    struct vm_gchead *gc_objects;
    atomic_uchar gc_lock;
    /* The objects vm_runtime_immortalize made immortal (immortal.c), freed when
       the run ends: written only while no other VM thread runs. */
    struct vm_object **immortals;
    size_t nimmortals, capimmortals;
    atomic_bool gc_enabled;         /* gc.enable()/gc.disable(); relaxed: nothing else depends on it */
};

struct vm_chunk {                   /* a piece of a thread's frame stack */
    struct vm_chunk *prev, *next;   /* owner thread only */
    char *top, *end;                /* owner thread only */
    char data[];
};

/* What RETURN_VALUE does with a frame's result. */
enum vm_frame_kind {
    VM_FRAME_CALL,                  /* hand it to the caller */
    VM_FRAME_INIT,                  /* an __init__ run by C(...): it must be None; the
                                       caller gets the instance in its callable slot */
};

/* A frame belongs to the thread whose frame stack holds it: owner thread only. */
struct vm_frame {
    struct vm_frame *back;          /* caller, or NULL for an entry frame */
    struct vm_code *code;           /* the code running */
    struct vm_dict *locals;         /* a class body's namespace (borrowed), else NULL */
    uint8_t kind;                   /* enum vm_frame_kind */
    const uint8_t *ip;              /* saved next instruction while calling out */
    struct vm_object **sp;          /* saved stack top while calling out */
    struct vm_object **stack;       /* base of the value stack */
    struct vm_chunk *chunk;         /* the chunk this frame lives in */
    struct vm_chunk *prev_chunk;    /* the thread's current chunk before this frame */
    struct vm_object *fast[];       /* nlocals locals, ncells + nfrees cells, then the value stack */
};

/* One line of a traceback: a frame's code and the line it was at. */
struct vm_tb_entry {
    const struct vm_code *code;
    int line;
};

/* Exception kinds: the name printed on the traceback's last line. */
#define VM_EXC_KINDS(X)                                                     \
    X(VM_EXC_NONE, "Exception") X(VM_EXC_TYPE, "TypeError")                 \
    X(VM_EXC_NAME, "NameError") X(VM_EXC_UNBOUND, "UnboundLocalError")      \
    X(VM_EXC_ZERODIV, "ZeroDivisionError") X(VM_EXC_INDEX, "IndexError")    \
    X(VM_EXC_VALUE, "ValueError") X(VM_EXC_OVERFLOW, "OverflowError")       \
    X(VM_EXC_RECURSION, "RecursionError") X(VM_EXC_ATTRIBUTE, "AttributeError") \
    X(VM_EXC_MEMORY, "MemoryError") X(VM_EXC_SYSTEM, "SystemError")          \
    X(VM_EXC_KEY, "KeyError") X(VM_EXC_RUNTIME, "RuntimeError")
enum vm_exc {
#define VM_EXC_ENUM(id, name) id,
    VM_EXC_KINDS(VM_EXC_ENUM)
#undef VM_EXC_ENUM
};

/* A batch of deferred releases (qsbr.c): tagged pointers, an object to decref
   or (low bit set) memory to free, released together once every thread has
   passed a quiescent state after the batch was sealed. */
struct vm_qsbr_batch {
    struct vm_qsbr_batch *next;     /* the owner's list (or rt->qsbr_orphans) */
    uint64_t goal;                  /* rt->qsbr_seq after sealing; 0 while open */
    uint32_t n;
    uintptr_t items[VM_QSBR_BATCH];
};

struct vm_thread {
    struct gil_thread gt;           /* lock state (gil.h): owner thread only */
    struct vm_runtime *rt;          /* immutable */
    enum gil_vm_safety safety;      /* immutable: the kind of rt->gil->vm_safety */
    bool mt;                        /* immutable: ATOMIC or BIASED (multi-threaded) */
    /* Immutable. BIASED: 1..VM_MAX_OWNER_ID, unique among the runtime's live
       thread states (threads_lock); the owner of the objects it allocates.
       ATOMIC: VM_OWNER_NOBODY, which no object's owner equals, so that one
       comparison sends every object to the shared paths. Otherwise 0. */
    uint16_t owner_id;
    uint16_t own_owner;             /* immutable: `owner` of the objects it allocates */
    /* Immutable: the flags_owner word of a mortal object this thread owns
       (flags 0, owner owner_id); under ATOMIC no object's word. */
    uint32_t rc_word;
    uint32_t prefix;                /* immutable: bytes allocated before each object */
    struct vm_stats st;             /* owner thread only (vm.h) */
    long allocs, frees;             /* owner thread only: objects made / freed */
    struct vm_object *int_free;     /* owner thread only: free ints, chained through refcnt-less memory */
    int int_free_len;               /* owner thread only */
    int depth;                      /* owner thread only: frames on this thread */
    int c_depth;                    /* owner thread only: repr/compare nesting */
    struct vm_chunk *chunk;         /* owner thread only: current frame-stack chunk */
    struct vm_chunk *chunk_head;    /* owner thread only: first chunk (the list is kept) */
    struct vm_object *dealloc_pending; /* owner thread only: lists and gc objects waiting to be freed */
    bool in_dealloc;                /* owner thread only */
    struct vm_object **repr_stack;  /* owner thread only: lists being repr'd */
    int nrepr, caprepr;
    enum vm_exc exc;                /* owner thread only: pending error */
    char exc_msg[400];              /* owner thread only */
    /* Owner thread only: the frames, outermost first, that an error raised in a
       nested eval (C calling Python: __repr__, a class body) already left; the
       eval that reports the error puts its own frames in front. */
    struct vm_tb_entry *tb;
    int ntb, captb;
    uint64_t *opcounts;             /* owner thread only: runs per opcode, or NULL (not counting) */
    struct vm_thread *next_live;    /* rt->threads_lock */
    struct vm_object *brc_queue;    /* rt->threads_lock: objects queued for it to merge */
    /* Written by the owner (seq_cst or release), read by pollers (seq_cst):
       the rt->qsbr_seq it saw at its last quiescent state, 0 while offline
       (outside the VM: between calls, in a blocking call). */
    _Atomic uint64_t qsbr_seen;
    struct vm_qsbr_batch *qsbr_open;    /* owner thread only: the batch being filled */
    struct vm_qsbr_batch *qsbr_sealed;  /* owner thread only: sealed, oldest first */
    struct vm_qsbr_batch *qsbr_spare;   /* owner thread only: one empty batch kept */
    bool qsbr_polling;              /* owner thread only: inside a poll */
};


/* ---- reference counts ---------------------------------------------------------------- */

void vm_dealloc(struct vm_thread *ts, struct vm_object *o);
/* Biased counting off its fast path (brc.c). */
void vm_brc_decref_shared(struct vm_thread *ts, struct vm_object *o);
void vm_brc_local_zero(struct vm_thread *ts, struct vm_object *o);

static inline uint32_t vm_flags_owner(const struct vm_object *o)
{
    /* relaxed: as vm_owner; flags do not change while threads run. */
    return __atomic_load_n(&o->flags_owner, __ATOMIC_RELAXED);
}

static inline uint16_t vm_owner(const struct vm_object *o)
{
    /* relaxed: only a merge changes it (to 0), and a thread compares it only
       with its own id, which no other thread ever stores. */
    return __atomic_load_n(&o->owner, __ATOMIC_RELAXED);
}

static inline struct vm_brc *vm_brc(struct vm_object *o)
{
    return (struct vm_brc *)o - 1;
}

/* The shared-count paths of the multi-threaded policies: an atomic
   increment or decrement of a mortal object this thread does not own (every
   object, under ATOMIC). Out of line, so that the eval loop keeps only the
   owner's fast path inline (object.c). */
void vm_incref_shared(struct vm_thread *ts, struct vm_object *o);
void vm_decref_shared(struct vm_thread *ts, struct vm_object *o);

/* The multi-threaded halves of vm_incref/vm_decref (ts->mt), which the eval
   loop of those policies uses as its INCREF/DECREF: the immortal test, then
   one comparison says "this thread's" (BIASED), else the shared paths. */
VM_ALWAYS_INLINE void vm_incref_mt(struct vm_thread *ts, struct vm_object *o)
{
    if (VM_UNLIKELY(o->flags & VM_IMMORTAL))   /* flags do not change while threads run */
        return;
    if (VM_LIKELY(vm_flags_owner(o) == ts->rc_word)) {
        o->refcnt++;                /* BIASED, mine: the owner's plain local count */
    } else if (ts->safety == GIL_VM_ATOMIC) {
        ts->st.refcount_atomics++;
        /* relaxed: as in vm_incref_shared. */
        __atomic_fetch_add(&o->refcnt, 1, __ATOMIC_RELAXED);
    } else {
        vm_incref_shared(ts, o);
    }
}

VM_ALWAYS_INLINE void vm_decref_mt(struct vm_thread *ts, struct vm_object *o)
{
    if (VM_UNLIKELY(o->flags & VM_IMMORTAL))
        return;
    if (VM_LIKELY(vm_flags_owner(o) == ts->rc_word)) {
        if (--o->refcnt == 0)       /* BIASED, mine */
            vm_brc_local_zero(ts, o);
    } else if (ts->safety == GIL_VM_ATOMIC) {
        ts->st.refcount_atomics++;
        /* acq_rel: as in vm_decref_shared. */
        if (__atomic_sub_fetch(&o->refcnt, 1, __ATOMIC_ACQ_REL) == 0)
            vm_dealloc(ts, o);
    } else {
        vm_decref_shared(ts, o);
    }
}

static inline void vm_incref(struct vm_thread *ts, struct vm_object *o)
{
    if (o->flags & VM_IMMORTAL)     /* flags never change while threads run */
        return;
    if (VM_LIKELY(!ts->mt))
        o->refcnt++;
    else
        vm_incref_mt(ts, o);
}

static inline void vm_decref(struct vm_thread *ts, struct vm_object *o)
{
    if (o->flags & VM_IMMORTAL)
        return;
    if (VM_LIKELY(!ts->mt)) {
        if (--o->refcnt == 0)
            vm_dealloc(ts, o);
    } else {
        vm_decref_mt(ts, o);
    }
}

static inline void vm_xdecref(struct vm_thread *ts, struct vm_object *o)
{
    if (o)
        vm_decref(ts, o);
}

/* Does the caller's frame hold the only two references to o (a local and a
   stack slot), so that no other thread can see it? Multi-threaded policies. */
VM_ALWAYS_INLINE bool vm_held_by_frame_only_mt(struct vm_thread *ts, struct vm_object *o)
{
    if (vm_flags_owner(o) == ts->rc_word)   /* BIASED, mortal and mine */
        /* acquire: if another thread held o, its decrement of the shared count
           (a release) happened before, and so did everything it did with o. */
        return o->refcnt == 2 && __atomic_load_n(&vm_brc(o)->shared, __ATOMIC_ACQUIRE) == 0;
    /* acquire: pairs with the release half of the last other holder's
       decrement (vm_decref_mt). */
    return ts->safety == GIL_VM_ATOMIC && !(o->flags & VM_IMMORTAL) &&
           __atomic_load_n(&o->refcnt, __ATOMIC_ACQUIRE) == 2;
}

/* ---- deferred releases (qsbr.c) -------------------------------------------------------- */

/* Drop a reference that a thread reading without a lock may still be about to
   take (a list item or a global just replaced or removed): under a
   multi-threaded policy after a grace period, otherwise now. */
void vm_defer_decref(struct vm_thread *ts, struct vm_object *o);
/* Free memory such a reader may still be reading (a list's replaced item
   array), the same way. */
void vm_defer_free(struct vm_thread *ts, void *mem);
/* The thread enters / leaves the VM (vm_call and friends, blocking calls). */
void vm_qsbr_online(struct vm_thread *ts);
void vm_qsbr_offline(struct vm_thread *ts);
/* The eval breaker asked for a quiescent state: report one, then poll. */
void vm_qsbr_quiescent(struct vm_thread *ts);
/* Seal the open batch and release what every thread has passed. */
void vm_qsbr_flush(struct vm_thread *ts);
/* Thread teardown: what cannot be released yet goes to rt->qsbr_orphans. */
void vm_qsbr_thread_exit(struct vm_thread *ts);
/* With no VM thread running: release every batch of every thread state and
   every orphan now. */
void vm_qsbr_release_all(struct vm_thread *ts);

/* ---- biased counting's merge queue (brc.c) ------------------------------------------------ */

/* Merge the counts of the objects queued for this thread. */
void vm_brc_merge_queued(struct vm_thread *ts);
/* Thread teardown: merge the last queued objects and leave the thread list. */
void vm_brc_thread_exit(struct vm_thread *ts);
/* With no VM thread running: merge the queues of every thread state. */
void vm_brc_merge_all(struct vm_thread *ts);

/* ---- the eval breaker's VM requests (eval.c) ---------------------------------------------- */

/* The eval loop's slow path: handle the VM's requests (GIL_BREAKER_VM_*),
   then let the lock design do its part (gil_yield). */
void vm_eval_breaker(struct vm_thread *ts);
/* Handle the VM's requests only (also where the thread leaves the VM). */
void vm_handle_requests(struct vm_thread *ts);

/* ---- the runtime's thread list and globals (runtime.c) ------------------------------------ */

/* globals[slot] = v (a reference the caller gives, or NULL to delete); the
   old value's reference is released (after a grace period under a
   multi-threaded policy). Returns whether the slot held a value. */
bool vm_global_replace(struct vm_thread *ts, int slot, struct vm_object *v);

void vm_threads_lock(struct vm_runtime *rt);
void vm_threads_unlock(struct vm_runtime *rt);
/* The live thread state with that owner id, or NULL; call with threads_lock held. */
struct vm_thread *vm_thread_by_owner(struct vm_runtime *rt, uint32_t owner_id);

/* ---- object locks (multi-threaded policies only) --------------------------------------- */

/* Counts the contention (vm_stats.objlock_contended), then spins and yields. */
void vm_objlock_slow(struct vm_thread *ts, atomic_uchar *l);

static inline void vm_objlock(struct vm_thread *ts, atomic_uchar *l)
{
    if (VM_LIKELY(!ts->mt))
        return;
    unsigned char expected = 0;
    /* acquire: everything the previous holder wrote before its release store
       is visible once we own the byte. */
    if (!atomic_compare_exchange_weak_explicit(l, &expected, 1, memory_order_acquire,
                                               memory_order_relaxed))
        vm_objlock_slow(ts, l);
}

static inline void vm_objunlock(struct vm_thread *ts, atomic_uchar *l)
{
    if (VM_LIKELY(!ts->mt))
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
/* Remove item i (0 <= i < len) by moving the ones after it down; the caller
   holds the list lock and releases the removed reference (vm_defer_decref). */
void vm_list_close_gap(struct vm_list *l, int64_t i);
/* Insert v before index i (clamped as list.insert does); steals v. */
int vm_list_insert(struct vm_thread *ts, struct vm_list *l, int64_t i, struct vm_object *v);
/* Put an object of a `clear` type into the runtime's registry (its
   constructor does) and take it out (its dealloc does). */
void vm_gc_track(struct vm_thread *ts, struct vm_gchead *g);
void vm_gc_untrack(struct vm_thread *ts, struct vm_gchead *g);
/* Free an object vm_runtime_immortalize made immortal, when the run ends,
   touching no object it refers to (they may be freed already): only its own
   memory and its place in a registry. */
void vm_free_immortal(struct vm_thread *ts, struct vm_object *o);
/* The run is over (immortal.c): free what vm_runtime_immortalize made immortal. */
void vm_immortals_free(struct vm_thread *ts);

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
int vm_del_subscr(struct vm_thread *ts, struct vm_object *o, struct vm_object *key);  /* del o[key] */
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
/* Around the repr of a container: 1 when o is already being repr'd further
   up ("[...]"), 0 when entered (call vm_repr_leave after), -1 on error. */
int vm_repr_enter(struct vm_thread *ts, struct vm_object *o);
void vm_repr_leave(struct vm_thread *ts);
/* Python's float repr (shortest round-trip), into buf (at least 32 bytes). */
void vm_float_repr(double v, char *buf, size_t cap);
/* repr of a constant for dis (no thread needed): cut to cap, or whole into b. */
void vm_const_repr(const struct vm_object *o, char *buf, size_t cap);
int vm_const_repr_into(struct vm_buf *b, const struct vm_object *o);

/* ---- tuples, dicts, cells, classes and instances (classes.c) ------------------------- */

struct vm_object *vm_tuple_new(struct vm_thread *ts, size_t len);  /* items NULL: fill them all */
/* The hash dicts use for a str key (FNV-1a over its UTF-8 bytes). */
uint64_t vm_str_hash(const char *s, size_t len);
struct vm_object *vm_dict_new(struct vm_thread *ts);
/* d[key] as a new reference, or NULL (no error set) when absent. */
struct vm_object *vm_dict_get(struct vm_thread *ts, struct vm_dict *d, const char *key, size_t len,
                              uint64_t hash);
/* d[key] = v; neither is stolen. 0, or -1 with MemoryError set. */
int vm_dict_set(struct vm_thread *ts, struct vm_dict *d, struct vm_object *key, uint64_t hash,
                struct vm_object *v);
/* del d[key]: 0, or 1 when key is absent (no error set). */
int vm_dict_del(struct vm_thread *ts, struct vm_dict *d, const char *key, size_t len, uint64_t hash);
/* repr(d), and d == d2 (1, 0, or -1 on error). */
int vm_dict_repr_into(struct vm_thread *ts, struct vm_buf *b, struct vm_dict *d);
int vm_dict_equal(struct vm_thread *ts, struct vm_dict *a, struct vm_dict *b);
/* Keys in insertion order as a new list (a snapshot), or NULL with an error set. */
struct vm_object *vm_dict_keys(struct vm_thread *ts, struct vm_dict *d);
struct vm_object *vm_cell_new(struct vm_thread *ts, struct vm_object *v);  /* steals v, may be NULL */
/* A cell's value as a new reference, or NULL when it is unbound (no error set). */
struct vm_object *vm_cell_get(struct vm_thread *ts, struct vm_cell *c);
void vm_cell_set(struct vm_thread *ts, struct vm_cell *c, struct vm_object *v); /* steals v; NULL unbinds */
/* The dunder names a class may bind: the special methods the VM calls
   (__init__, __repr__, __str__) and data it keeps; any other would make an
   operator behave differently from CPython, so it is refused. */
bool vm_special_name_ok(const char *name);
/* type(o).__name__: the class's name for instances. */
const char *vm_type_name(const struct vm_object *o);
/* Look name up on cls and its bases: a new reference, or NULL (no error set). */
struct vm_object *vm_class_find(struct vm_thread *ts, const struct vm_class *cls, const char *name,
                                size_t len, uint64_t hash);
/* LOAD_ATTR / LOAD_METHOD on an instance, a class, a function or a bound
   method, as vm_get_method; returns 1 when obj is none of those. */
int vm_object_attr(struct vm_thread *ts, struct vm_object *obj, struct vm_object *name, uint64_t hash,
                   enum vm_attr attr, struct vm_object **meth, struct vm_object **attrval);
/* obj.name = v, or `del obj.name` when v is NULL: 0, or -1 with an error set. */
int vm_setattr(struct vm_thread *ts, struct vm_object *obj, struct vm_object *name, uint64_t hash,
               struct vm_object *v);
/* A new instance of cls, its __init__ not run yet. */
struct vm_object *vm_instance_new(struct vm_thread *ts, struct vm_class *cls);
/* isinstance(o, cls) for a class (object included). */
bool vm_is_instance(const struct vm_object *o, const struct vm_class *cls);
/* __build_class__(body, name[, base]): run the body, make the class. */
struct vm_object *vm_build_class(struct vm_thread *ts, struct vm_object **args, int nargs);
/* repr(o) / str(o) of an instance through __repr__ / __str__ when its class
   has them: 1 when it has not (the caller uses the default), 0 done, -1 error. */
int vm_instance_repr_into(struct vm_thread *ts, struct vm_buf *b, struct vm_object *o, bool str);

/* ---- builtins (builtins.c) ---------------------------------------------------------- */

/* What LOAD_BUILD_CLASS pushes (immortal). */
extern struct vm_builtin vm_build_class_builtin;
/* The builtin object called `name`, or NULL. */
struct vm_object *vm_builtin_lookup(const char *name);
/* The module a program may import as `import name` (time, gc), or NULL; and
   their list for a message: "'import time' and 'import gc'". */
struct vm_object *vm_module_lookup(const char *name);
void vm_module_names(char *buf, size_t cap);
/* LOAD_METHOD / LOAD_ATTR: on a method hit, *meth gets the (immortal) builtin and
   the caller keeps self; otherwise *attr gets a new reference. Returns 0 or -1
   (error set). */
int vm_get_method(struct vm_thread *ts, struct vm_object *obj, struct vm_object *name, uint64_t hash,
                  enum vm_attr attr, struct vm_object **meth, struct vm_object **attrval);
/* Call a builtin or bound method with n args (borrowed). */
struct vm_object *vm_call_builtin(struct vm_thread *ts, struct vm_object *callable,
                                  struct vm_object **args, int nargs);

/* ---- threads and frames (runtime.c, eval.c) -------------------------------------------- */

/* Is ts the runtime's only thread state (no other VM thread can run)? */
bool vm_thread_alone(struct vm_thread *ts);

struct vm_frame *vm_frame_push(struct vm_thread *ts, struct vm_code *code);
void vm_frame_pop(struct vm_thread *ts, struct vm_frame *f);
/* Give a pushed frame of fn's code its cells and free variables (after its
   parameters are set). 0, or -1 with MemoryError set. */
int vm_frame_derefs(struct vm_thread *ts, struct vm_frame *f, const struct vm_function *fn);
/* "f() takes 1 positional argument but 2 were given" and friends. */
void vm_arity_message(const struct vm_code *c, int nargs, char *buf, size_t cap);
/* Run frame f (already pushed, locals set) to completion. On success *result is
   a new reference. On error the whole frame chain down to f is unwound and
   freed; with err, err receives the traceback and the error is cleared;
   without (a nested eval: C called Python), the error stays pending on the
   thread with the frames left in ts->tb, for the eval below to report. */
enum vm_result vm_eval(struct vm_thread *ts, struct vm_frame *f, struct vm_object **result,
                       struct vm_error *err);
/* Call any callable from C with n borrowed args: a new reference, or NULL with
   an error pending (see vm_eval). */
struct vm_object *vm_call_object(struct vm_thread *ts, struct vm_object *callable,
                                 struct vm_object **args, int nargs);
/* Drop a pending error (and its traceback), as a C caller that handled it. */
void vm_clear_error(struct vm_thread *ts);

#endif
