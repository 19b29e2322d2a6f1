/*
 * eval.c — the eval loop, frames, calls and tracebacks.
 *
 * One C function runs every Python frame of a thread: a call to a Python
 * function pushes a frame and switches the loop's registers to it, a return
 * pops back (as CPython 3.11 does), so Python recursion never deepens the C
 * stack and an error unwinds every frame in one loop. Calling a class runs its
 * __init__ the same way, in a frame whose return hands the caller the
 * instance. Frames live on a per-thread stack of chunks (no malloc per call).
 *
 * Only C calling back into Python nests a loop: a class body run by
 * __build_class__, __repr__/__str__ run by print, repr or str. The nested eval
 * (vm_eval without a vm_error) leaves its error pending with the frames it
 * unwound in ts->tb, and the eval below puts its own frames in front, so the
 * traceback lists every frame, as CPython's does.
 *
 * Dispatch is computed goto where the compiler has it, a switch otherwise; the
 * same TARGET/DISPATCH macros serve both (Lua's vmcase/vmbreak).
 *
 * The lock check ("ticking") follows CPython 2.7's ceval.c, so that py26's
 * check interval counts what 2.7 counts. 2.7 checks its ticker at the top of
 * the dispatch loop; an opcode that ends in `continue` passes the check, one
 * that ends in `goto fast_next_opcode` or jumps straight to a predicted opcode
 * does not. Here a tick is gil_should_yield() (a decrement of the thread's
 * countdown and one relaxed load of the eval breaker), done when an instruction
 * is finished, and only then does the loop call the lock design (gil_yield).
 * These do not tick:
 *   LOAD_FAST, LOAD_CONST, STORE_FAST, POP_TOP, DUP_TOP, DUP_TOP_TWO, ROT_TWO,
 *   ROT_THREE, NOP, EXTENDED_ARG, JUMP_FORWARD       (2.7: fast_next_opcode)
 *   POP_JUMP_IF_x and JUMP_IF_x_OR_POP on True/False (2.7: fast_next_opcode;
 *                                                     on other values they tick)
 *   COMPARE_OP followed by POP_JUMP_IF_x             (2.7: PREDICT, one pair)
 *   GET_ITER followed by FOR_ITER                    (2.7: PREDICT)
 *   FOR_ITER that yields a value to a STORE_FAST     (2.7: PREDICT)
 *   a STORE_FAST fused into the INPLACE_x before it  (2.7: INPLACE_x ticks,
 *                                                     STORE_FAST does not)
 * Every other instruction ticks once, the instructions of classes, closures and
 * del among them, cheap or not (LOAD_BUILD_CLASS, LOAD_ATTR, STORE_ATTR,
 * DELETE_ATTR, LOAD_CLOSURE, LOAD_DEREF, LOAD_CLASSDEREF, STORE_DEREF,
 * DELETE_DEREF, DELETE_FAST, DELETE_NAME, DELETE_GLOBAL, DELETE_SUBSCR,
 * BUILD_TUPLE: 2.7 ends each of its counterparts in `continue`), and so do
 * JUMP_ABSOLUTE (2.7 is built
 * without FAST_LOOPS), the entry into a Python function's frame (2.7 enters
 * its loop at the ticker check) and the return into the caller (2.7's
 * CALL_FUNCTION ends in `continue`). One deliberate difference: a conditional
 * jump that goes backwards also ticks here, so that no loop can run without a
 * check; 2.7 lets such a loop (rare: a jump retargeted by the peephole
 * optimiser) hold the lock for good. `while n > 0: n -= 1` ticks twice per
 * iteration, as in 2.7: INPLACE_SUBTRACT and JUMP_ABSOLUTE.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

#ifndef VM_EVAL_LOOP   /* everything but the loop, compiled once */

/* GCC merges the identical dispatch tails of small instructions into one
   shared indirect jump, which undoes what computed goto is for (one jump per
   opcode, each predicted on its own). Keep them apart in this file. */
#if VM_COMPUTED_GOTO && defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-crossjumping")
#endif

/* ---- frames ----------------------------------------------------------------------------- */

/* A frame for code on the thread's frame stack; its locals are NULL. */
struct vm_frame *vm_frame_push(struct vm_thread *ts, struct vm_code *code)
{
    size_t size = code->frame_bytes;
    struct vm_chunk *ch = ts->chunk;
    struct vm_chunk *prev = ch;
    if (!ch || (size_t)(ch->end - ch->top) < size) {
        struct vm_chunk *next = ch ? ch->next : ts->chunk_head;
        if (!next || (size_t)(next->end - next->data) < size) {
            size_t cap = size > VM_DATASTACK_CHUNK_BYTES ? size : VM_DATASTACK_CHUNK_BYTES;
            struct vm_chunk *n = malloc(sizeof *n + cap);
            if (!n)
                return vm_raise(ts, VM_EXC_MEMORY, "out of memory for a new frame");
            n->top = n->data;
            n->end = n->data + cap;
            n->prev = ch;
            n->next = next;
            if (next)
                next->prev = n;
            if (ch)
                ch->next = n;
            else
                ts->chunk_head = n;
            next = n;
        }
        ch = next;
        ch->top = ch->data;
    }
    struct vm_frame *f = (struct vm_frame *)ch->top;
    ch->top += size;
    ts->chunk = ch;
    f->back = NULL;
    f->code = code;
    f->locals = NULL;
    f->kind = VM_FRAME_CALL;
    f->ip = code->code;
    f->chunk = ch;
    f->prev_chunk = prev;
    f->stack = f->fast + code->nlocalsplus;
    f->sp = f->stack;
    for (int i = 0; i < code->nlocalsplus; i++)
        f->fast[i] = NULL;
    ts->depth++;
    return f;
}

/* The call fast path: room in the current chunk; the caller fills every local. */
static inline struct vm_frame *frame_push_fast(struct vm_thread *ts, struct vm_code *code)
{
    struct vm_chunk *ch = ts->chunk;
    size_t size = code->frame_bytes;
    if (VM_UNLIKELY(!ch || (size_t)(ch->end - ch->top) < size))
        return vm_frame_push(ts, code);
    struct vm_frame *f = (struct vm_frame *)ch->top;
    ch->top += size;
    f->code = code;
    f->locals = NULL;
    f->kind = VM_FRAME_CALL;
    f->chunk = ch;
    f->prev_chunk = ch;
    f->stack = f->fast + code->nlocalsplus;
    ts->depth++;
    return f;
}

void vm_frame_pop(struct vm_thread *ts, struct vm_frame *f)
{
    f->chunk->top = (char *)f;
    ts->chunk = f->prev_chunk;
    ts->depth--;
}

int vm_frame_derefs(struct vm_thread *ts, struct vm_frame *f, const struct vm_function *fn)
{
    const struct vm_code *co = fn->code;
    struct vm_object **cells = f->fast + co->nlocals;
    for (int i = 0; i < co->ncells; i++) {
        struct vm_object *v = NULL;
        int arg = co->cell2arg[i];
        if (arg >= 0) {   /* a parameter a closure uses: its value moves into the cell */
            v = f->fast[arg];
            f->fast[arg] = NULL;
        }
        if (!(cells[i] = vm_cell_new(ts, v)))
            return -1;
    }
    for (int i = 0; i < co->nfrees; i++) {
        struct vm_object *c = fn->closure->items[i];
        vm_incref(ts, c);
        cells[co->ncells + i] = c;
    }
    return 0;
}

/* ---- errors -------------------------------------------------------------------------------- */

void vm_arity_message(const struct vm_code *c, int nargs, char *buf, size_t cap)
{
    if (nargs > c->argcount) {
        snprintf(buf, cap, "%s() takes %d positional argument%s but %d %s given", c->qualname, c->argcount,
                 c->argcount == 1 ? "" : "s", nargs, nargs == 1 ? "was" : "were");
        return;
    }
    int missing = c->argcount - nargs;
    size_t n = (size_t)snprintf(buf, cap, "%s() missing %d required positional argument%s: ", c->qualname,
                                missing, missing == 1 ? "" : "s");
    for (int i = nargs; i < c->argcount && n < cap; i++) {
        const char *sep = i == nargs ? "" : (missing == 2 ? " and " : (i == c->argcount - 1 ? ", and " : ", "));
        n += (size_t)snprintf(buf + n, cap - n, "%s'%s'", sep, c->varnames[i]);
    }
}

void vm_clear_error(struct vm_thread *ts)
{
    ts->exc = VM_EXC_NONE;
    ts->exc_msg[0] = '\0';
    ts->ntb = 0;
}

static int frame_line(const struct vm_frame *f)
{
    size_t unit = (size_t)(f->ip - f->code->code) / 2;
    if (unit > 0)
        unit--;   /* ip is past the instruction that was running */
    if (unit >= f->code->ncode)
        unit = f->code->ncode ? f->code->ncode - 1 : 0;
    return f->code->ncode ? f->code->lines[unit] : f->code->firstlineno;
}

/* CPython's layout; runs of one repeated line collapse after three, as its
   traceback printer does. The message is cut in the middle if too long. */
static void format_traceback(struct vm_thread *ts, const struct vm_tb_entry *tb, int n, struct vm_error *err)
{
    struct vm_buf b = {0};
    char line[512];
    int ok = vm_buf_puts(&b, "Traceback (most recent call last):\n");
    const struct vm_tb_entry *last = NULL;
    int count = 0;
    for (int i = 0; i <= n && ok == 0; i++) {
        const struct vm_tb_entry *e = i < n ? &tb[i] : NULL;
        if (!e || !last || e->code != last->code || e->line != last->line) {
            if (count > 3) {
                snprintf(line, sizeof line, "  [Previous line repeated %d more time%s]\n", count - 3,
                         count - 3 > 1 ? "s" : "");
                ok = vm_buf_puts(&b, line);
            }
            last = e;
            count = 0;
        }
        if (!e)
            break;
        if (++count <= 3) {
            snprintf(line, sizeof line, "  File \"%s\", line %d, in %s\n", e->code->prog->filename,
                     e->line, e->code->name);
            ok = vm_buf_puts(&b, line);
        }
    }
    const char *kind = vm_exc_name(ts->exc);
    if (ts->exc_msg[0])
        snprintf(line, sizeof line, "%s: %s", kind, ts->exc_msg);
    else
        snprintf(line, sizeof line, "%s", kind);
    size_t cap = sizeof err->msg;
    if (ok != 0 || !b.p) {
        snprintf(err->msg, cap, "%s", line);
    } else if (b.len + strlen(line) < cap) {
        snprintf(err->msg, cap, "%s%s", b.p, line);
    } else {
        /* Keep the head, the innermost frames and the error line. */
        size_t lastlen = strlen(line), head = cap / 3;
        size_t tail = cap - head - lastlen - 16;
        while (head > 0 && b.p[head - 1] != '\n')
            head--;
        size_t from = b.len - tail;
        while (from < b.len && b.p[from - 1] != '\n')
            from++;
        snprintf(err->msg, cap, "%.*s  ...\n%s%s", (int)head, b.p, b.p + from, line);
    }
    vm_buf_free(&b);
    err->line = err->col = 0;
}

/* ---- calls ------------------------------------------------------------------------------- */

/* Push a frame running fn with self (when not NULL) then args as its
   parameters. The references of args move into the frame; self's is the
   caller's to give (it is taken over too). Returns the frame, or NULL with an
   error set and nothing moved. On a failure making its cells, *derefs_failed
   is set and the frame is returned all the same: unwinding it releases what
   moved. */
static struct vm_frame *push_frame(struct vm_thread *ts, const struct vm_function *fn, struct vm_object *self,
                                   struct vm_object **args, int nargs, bool *derefs_failed)
{
    struct vm_code *code = fn->code;
    int total = nargs + (self != NULL);
    *derefs_failed = false;
    if (total != code->argcount) {
        vm_arity_message(code, total, ts->exc_msg, sizeof ts->exc_msg);
        ts->exc = VM_EXC_TYPE;
        return NULL;
    }
    if (ts->depth >= VM_RECURSION_LIMIT)
        return vm_raise(ts, VM_EXC_RECURSION, "maximum recursion depth exceeded");
    struct vm_frame *f = vm_frame_push(ts, code);
    if (!f)
        return NULL;
    int k = 0;
    if (self)
        f->fast[k++] = self;
    for (int i = 0; i < nargs; i++)
        f->fast[k++] = args[i];
    if (code->ncells + code->nfrees && vm_frame_derefs(ts, f, fn) < 0)
        *derefs_failed = true;
    return f;
}

/* CALL_FUNCTION on a bound method or a class (args[-1] is the callable).
   Pushes the frame that runs it (self first) into *nf; for a class without a
   Python __init__, leaves the new instance in the callable slot instead (*nf
   NULL). Returns 0; 1 when *nf was pushed but its cells could not be made (the
   caller switches to it, then reports the error); -1 on an error before any
   argument moved. */
static int push_python_call(struct vm_thread *ts, struct vm_object **args, int nargs, struct vm_frame **nf)
{
    struct vm_object *callable = args[-1];
    *nf = NULL;
    bool derefs_failed;
    if (callable->type == &vm_bound_method_type) {
        const struct vm_bound_method *m = (const struct vm_bound_method *)callable;
        vm_incref(ts, m->self);
        *nf = push_frame(ts, (const struct vm_function *)m->func, m->self, args, nargs, &derefs_failed);
        if (!*nf) {
            vm_decref(ts, m->self);
            return -1;
        }
        return derefs_failed;
    }
    struct vm_class *cls = (struct vm_class *)callable;
    struct vm_object *inst = vm_instance_new(ts, cls);
    if (!inst)
        return -1;
    struct vm_object *init = vm_class_find(ts, cls, "__init__", 8, vm_str_hash("__init__", 8));
    if (!init || init->type != &vm_function_type) {
        struct vm_object *r = NULL;
        if (!init && nargs > 0) {
            vm_raise(ts, VM_EXC_TYPE, "%s() takes no arguments", ((struct vm_str *)cls->qualname)->data);
        } else if (!init) {
            r = VM_NONE;
        } else {   /* something else set as __init__: call it from C */
            struct vm_object *small[9], **all = small;
            if (nargs + 1 > 9 && !(all = malloc(sizeof *all * (size_t)(nargs + 1))))
                vm_raise(ts, VM_EXC_MEMORY, "out of memory");
            if (all) {
                all[0] = inst;
                memcpy(all + 1, args, sizeof *args * (size_t)nargs);
                r = vm_call_object(ts, init, all, nargs + 1);
                if (all != small)
                    free(all);
            }
            if (r && r != VM_NONE) {
                vm_raise(ts, VM_EXC_TYPE, "__init__() should return None, not '%s'", vm_type_name(r));
                vm_decref(ts, r);
                r = NULL;
            }
        }
        vm_xdecref(ts, init);
        if (!r) {
            vm_decref(ts, inst);
            return -1;
        }
        for (int i = 0; i < nargs; i++)
            vm_decref(ts, args[i]);
        args[-1] = inst;
        vm_decref(ts, callable);
        return 0;
    }
    /* The callable slot keeps the instance for RETURN_VALUE; the frame gets
       another reference as self. */
    vm_incref(ts, inst);
    *nf = push_frame(ts, (const struct vm_function *)init, inst, args, nargs, &derefs_failed);
    vm_decref(ts, init);
    if (!*nf) {
        vm_decref(ts, inst);
        vm_decref(ts, inst);
        return -1;
    }
    (*nf)->kind = VM_FRAME_INIT;
    args[-1] = inst;
    vm_decref(ts, callable);
    return derefs_failed;
}

/* Run fn with self then args (borrowed) in a nested eval. */
static struct vm_object *call_nested(struct vm_thread *ts, const struct vm_function *fn, struct vm_object *self,
                                     struct vm_object **args, int nargs)
{
    for (int i = 0; i < nargs; i++)
        vm_incref(ts, args[i]);
    if (self)
        vm_incref(ts, self);
    bool derefs_failed;
    struct vm_frame *f = push_frame(ts, fn, self, args, nargs, &derefs_failed);
    if (!f || derefs_failed) {
        if (f) {
            for (int i = 0; i < fn->code->nlocalsplus; i++)
                vm_xdecref(ts, f->fast[i]);
            vm_frame_pop(ts, f);
        } else {
            for (int i = 0; i < nargs; i++)
                vm_decref(ts, args[i]);
            if (self)
                vm_decref(ts, self);
        }
        return NULL;
    }
    struct vm_object *res = NULL;
    return vm_eval(ts, f, &res, NULL) == VM_OK ? res : NULL;
}

struct vm_object *vm_call_object(struct vm_thread *ts, struct vm_object *callable, struct vm_object **args,
                                 int nargs)
{
    switch (callable->type->kind) {
    case VM_K_FUNCTION:
        return call_nested(ts, (const struct vm_function *)callable, NULL, args, nargs);
    case VM_K_BOUND_METHOD: {
        const struct vm_bound_method *m = (const struct vm_bound_method *)callable;
        return call_nested(ts, (const struct vm_function *)m->func, m->self, args, nargs);
    }
    case VM_K_CLASS: {
        struct vm_class *cls = (struct vm_class *)callable;
        struct vm_object *inst = vm_instance_new(ts, cls);
        if (!inst)
            return NULL;
        struct vm_object *init = vm_class_find(ts, cls, "__init__", 8, vm_str_hash("__init__", 8));
        struct vm_object *r = VM_NONE;
        if (!init && nargs > 0) {
            r = vm_raise(ts, VM_EXC_TYPE, "%s() takes no arguments", ((struct vm_str *)cls->qualname)->data);
        } else if (init && init->type == &vm_function_type) {
            r = call_nested(ts, (const struct vm_function *)init, inst, args, nargs);
        } else if (init) {
            struct vm_object *small[9], **all = small;
            if (nargs + 1 > 9 && !(all = malloc(sizeof *all * (size_t)(nargs + 1)))) {
                r = vm_raise(ts, VM_EXC_MEMORY, "out of memory");
            } else {
                all[0] = inst;
                memcpy(all + 1, args, sizeof *args * (size_t)nargs);
                r = vm_call_object(ts, init, all, nargs + 1);
                if (all != small)
                    free(all);
            }
        }
        vm_xdecref(ts, init);
        if (r && r != VM_NONE) {
            vm_raise(ts, VM_EXC_TYPE, "__init__() should return None, not '%s'", vm_type_name(r));
            vm_decref(ts, r);
            r = NULL;
        }
        if (!r) {
            vm_decref(ts, inst);
            return NULL;
        }
        return inst;
    }
    case VM_K_BUILTIN:
    case VM_K_METHOD:
        return vm_call_builtin(ts, callable, args, nargs);
    default:
        return vm_raise(ts, VM_EXC_TYPE, "'%s' object is not callable", vm_type_name(callable));
    }
}

/* Put the frames from entry up to f, outermost first, in front of those a
   nested eval left in ts->tb. Without memory the lines are lost, never the
   error. */
static void tb_record(struct vm_thread *ts, const struct vm_frame *f, const struct vm_frame *entry)
{
    int n = 0;
    for (const struct vm_frame *g = f;; g = g->back) {
        n++;
        if (g == entry)
            break;
    }
    if (ts->ntb + n > ts->captb) {
        int cap = ts->captb ? ts->captb : 64;
        while (cap < ts->ntb + n)
            cap *= 2;
        struct vm_tb_entry *tb = realloc(ts->tb, sizeof *tb * (size_t)cap);
        if (!tb)
            return;
        ts->tb = tb;
        ts->captb = cap;
    }
    memmove(ts->tb + n, ts->tb, sizeof *ts->tb * (size_t)ts->ntb);
    int i = n;
    for (const struct vm_frame *g = f;; g = g->back) {
        ts->tb[--i] = (struct vm_tb_entry){g->code, frame_line(g)};
        if (g == entry)
            break;
    }
    ts->ntb += n;
}

/* ---- the eval breaker's slow path ------------------------------------------------------------ */

void vm_handle_requests(struct vm_thread *ts)
{
    /* relaxed: the bits are only a summons; what is asked for is protected by
       rt->threads_lock (the merge queue) or read with its own ordering (the
       grace period's sequence). A bit set after this clears it stays set, and
       the next check sees it. */
    int bits = atomic_fetch_and_explicit(ts->gt.breaker, ~GIL_BREAKER_VM_MASK, memory_order_relaxed);
    if (bits & GIL_BREAKER_VM_MERGE)
        vm_brc_merge_queued(ts);
    if (bits & GIL_BREAKER_VM_QSBR)
        vm_qsbr_quiescent(ts);
}

void vm_eval_breaker(struct vm_thread *ts)
{
    /* relaxed: a peek; vm_handle_requests reads the bits again. */
    if (atomic_load_explicit(ts->gt.breaker, memory_order_relaxed) & GIL_BREAKER_VM_MASK)
        vm_handle_requests(ts);
    gil_yield(&ts->gt);
}

/* ---- the loop ------------------------------------------------------------------------------ */

/* Out of line for the loops that test the policy at run time (VM_EVAL_MT 0):
   the multi-threaded paths, so that their code does not crowd the serial
   path's registers. */
static void __attribute__((noinline)) incref_mt_call(struct vm_thread *ts, struct vm_object *o)
{
    vm_incref_mt(ts, o);
}

static void __attribute__((noinline)) decref_mt_call(struct vm_thread *ts, struct vm_object *o)
{
    vm_decref_mt(ts, o);
}

static bool __attribute__((noinline)) held_by_frame_only_call(struct vm_thread *ts, struct vm_object *o)
{
    return vm_held_by_frame_only_mt(ts, o);
}

/* The loop is compiled three times from the one text below (this file
   includes itself): eval_plain for the serial policies (SERIAL, UNSAFE),
   eval_mt for the multi-threaded ones (ATOMIC, BIASED), with their reference
   counting inline and no test of the policy, and eval_counting, which also
   counts every instruction it runs per opcode into ts->opcounts (`gillab run
   --opstats`) under any policy. vm_eval picks one per call, so counting costs
   the other loops nothing, and neither policy's code crowds the other's.
   eval_plain still tests the policy before each refcount, as the one loop of
   every policy did, so that the serial designs' cost is the one measured
   before the multi-threaded loop split off (make bench, part d). */
#define VM_EVAL_LOOP eval_plain
#define VM_EVAL_COUNTS 0
#define VM_EVAL_MT 0
#include "eval.c"
#undef VM_EVAL_LOOP
#undef VM_EVAL_COUNTS
#undef VM_EVAL_MT
#define VM_EVAL_LOOP eval_mt
#define VM_EVAL_COUNTS 0
#define VM_EVAL_MT 1
#include "eval.c"
#undef VM_EVAL_LOOP
#undef VM_EVAL_COUNTS
#undef VM_EVAL_MT
#define VM_EVAL_LOOP eval_counting
#define VM_EVAL_COUNTS 1
#define VM_EVAL_MT 0
#include "eval.c"
#undef VM_EVAL_LOOP
#undef VM_EVAL_COUNTS
#undef VM_EVAL_MT

enum vm_result vm_eval(struct vm_thread *ts, struct vm_frame *entry, struct vm_object **result,
                       struct vm_error *err)
{
    if (VM_UNLIKELY(ts->opcounts != NULL))
        return eval_counting(ts, entry, result, err);
    if (ts->mt)
        return eval_mt(ts, entry, result, err);
    return eval_plain(ts, entry, result, err);
}

#else /* VM_EVAL_LOOP: the loop itself, compiled once per definition of it */

static enum vm_result VM_EVAL_LOOP(struct vm_thread *ts, struct vm_frame *entry, struct vm_object **result,
                                   struct vm_error *err)
{
#if VM_COMPUTED_GOTO
    /* Generated from the opcode list; unused numbers stay NULL (the compiler
       emits only listed opcodes). */
    static const void *const labels[256] = {
#define VM_OP_LABEL(name, num, kind) [num] = &&L_##name,
        VM_OPCODES(VM_OP_LABEL)
#undef VM_OP_LABEL
    };
#endif
    struct vm_runtime *rt = ts->rt;
    struct vm_object **const globals = rt->globals;
    struct vm_object *const *const slot_builtin = rt->prog->slot_builtin;
    struct gil_thread *const gt = &ts->gt;
    _Atomic int *const breaker = gt->breaker;   /* immutable (gil.h) */
#if VM_EVAL_COUNTS
    uint64_t *const counts = ts->opcounts;      /* owner thread only */
#define COUNT_OP(o) (counts[o]++)
#else
#define COUNT_OP(o) ((void)0)
#endif
    long ticks = gt->ticks;                     /* see TICK */
    /* Cached once: refcounts are plain unless the policy is multi-threaded
       (ATOMIC or BIASED: vm_incref_mt); the in-place int reuse below needs
       refcounts it can trust (not GIL_VM_UNSAFE). */
#if VM_EVAL_MT
    const bool mt_rc = true;
#define HELD_MT(o) vm_held_by_frame_only_mt(ts, (o))
#else
    const bool mt_rc = ts->mt;
#define MORTAL(o) (!((o)->flags & VM_IMMORTAL))
#define INCREF_MT(o) incref_mt_call(ts, (o))
#define DECREF_MT(o) decref_mt_call(ts, (o))
#define HELD_MT(o) held_by_frame_only_call(ts, (o))
#endif
#if VM_EVAL_MT
    const bool reuse_ok = true;   /* ATOMIC and BIASED counts can be trusted */
#else
    const bool reuse_ok = ts->safety != GIL_VM_UNSAFE;
#endif

    struct vm_frame *f = entry;
    struct vm_code *co;
    const uint8_t *first_instr, *ip;
    struct vm_object **sp;   /* the frame's slots are f->fast: one register less to keep */
    struct vm_object *const *consts;
    int op, oparg;

#define LOAD_FRAME()                  \
    do {                              \
        co = f->code;                 \
        first_instr = co->code;       \
        consts = co->consts;          \
    } while (0)

/* vm_incref/vm_decref: under the multi-threaded policies their halves for
   those (one comparison first); otherwise with the policy test on the cached
   mt_rc, as the one loop of every policy had it. */
#if VM_EVAL_MT
#define INCREF(o) vm_incref_mt(ts, (o))
#define DECREF(o) vm_decref_mt(ts, (o))
#else
#define INCREF(o)                                                             \
    do {                                                                      \
        struct vm_object *o_ = (o);                                           \
        if (MORTAL(o_)) {                                                     \
            if (VM_LIKELY(!mt_rc))                                            \
                o_->refcnt++;                                                 \
            else                                                              \
                INCREF_MT(o_);                                                \
        }                                                                     \
    } while (0)
#define DECREF(o)                                                             \
    do {                                                                      \
        struct vm_object *o_ = (o);                                           \
        if (MORTAL(o_)) {                                                     \
            if (VM_LIKELY(!mt_rc)) {                                          \
                if (--o_->refcnt == 0)                                        \
                    vm_dealloc(ts, o_);                                       \
            } else {                                                          \
                DECREF_MT(o_);                                                \
            }                                                                 \
        }                                                                     \
    } while (0)
#endif
#define XDECREF(o)                        \
    do {                                  \
        struct vm_object *x_ = (o);       \
        if (x_)                           \
            DECREF(x_);                   \
    } while (0)

#define FETCH()             \
    do {                    \
        op = ip[0];         \
        oparg = ip[1];      \
        ip += 2;            \
    } while (0)
/* gil_should_yield() spelled out on a copy of the countdown kept in a
   register: the compiler will not inline the call at every one of the loop's
   tick sites, and a countdown in memory puts a store-to-load chain on every
   tick. The copy is written back before anything that may reach the lock
   layer (vm_eval_breaker, builtins such as time.sleep) and read again after.
   The breaker is the lock's shared word, or under a policy without a
   serialising lock the thread's own, where the VM's requests arrive too
   (vm_eval_breaker). */
#define TICK()                                                                 \
    do {                                                                       \
        /* relaxed: as gil_should_yield (gil.h): a late sighting costs one     \
           more instruction, never correctness. */                              \
        if (VM_UNLIKELY(--ticks < 0 ||                                         \
                        atomic_load_explicit(breaker, memory_order_relaxed))) { \
            gt->ticks = ticks;                                                 \
            vm_eval_breaker(ts);                                               \
            ticks = gt->ticks;                                                 \
        }                                                                      \
    } while (0)
#define TICKS_OUT() (gt->ticks = ticks)
#define TICKS_IN() (ticks = gt->ticks)
#if VM_COMPUTED_GOTO
#define TARGET(name) L_##name:
#define DISPATCH_CURRENT() goto *labels[op]
#define DISPATCH()         \
    do {                   \
        FETCH();           \
        COUNT_OP(op);      \
        goto *labels[op];  \
    } while (0)
#else
#define TARGET(name) case VM_OP_##name:
#define DISPATCH_CURRENT() goto dispatch_op
#define DISPATCH() goto dispatch_next   /* not `continue`: DISPATCH sits in do-while blocks */
#endif
/* NEXT: no lock check; NEXT_TICK: one. Which instruction takes which is 2.7's
   rule, listed at the top of this file; JUMP_TO ticks for conditional jumps
   that go backwards. */
#define NEXT() DISPATCH()
#define NEXT_TICK()    \
    do {               \
        TICK();        \
        DISPATCH();    \
    } while (0)
/* A conditional jump; ticks only when it goes backwards. */
#define JUMP_TO(target)                                   \
    do {                                                  \
        const uint8_t *dst_ = first_instr + (target);     \
        if (dst_ < ip)                                    \
            TICK();                                       \
        ip = dst_;                                        \
    } while (0)

    LOAD_FRAME();
    ip = f->ip;
    sp = f->sp;

#if VM_COMPUTED_GOTO
    DISPATCH();
#endif
    for (;;) {
#if !VM_COMPUTED_GOTO
    dispatch_next:
        FETCH();
        COUNT_OP(op);
    dispatch_op:
        switch (op) {
#endif
        TARGET(LOAD_FAST) {
            struct vm_object *v = f->fast[oparg];
            if (VM_UNLIKELY(!v))
                goto unbound_local;
            INCREF(v);
            sp[0] = v;
            sp++;
            NEXT();
        }
        TARGET(LOAD_CONST) {
            sp[0] = consts[oparg];   /* constants are immortal: no incref */
            sp++;
            NEXT();
        }
        TARGET(STORE_FAST) {
            struct vm_object *v = *--sp;
            struct vm_object *old = f->fast[oparg];
            f->fast[oparg] = v;
            XDECREF(old);
            NEXT();
        }
        TARGET(POP_TOP) {
            struct vm_object *v = *--sp;
            XDECREF(v);
            NEXT();
        }
        TARGET(ROT_TWO) {
            struct vm_object *top = sp[-1];
            sp[-1] = sp[-2];
            sp[-2] = top;
            NEXT();
        }
        TARGET(ROT_THREE) {
            struct vm_object *top = sp[-1];
            sp[-1] = sp[-2];
            sp[-2] = sp[-3];
            sp[-3] = top;
            NEXT();
        }
        TARGET(DUP_TOP) {
            struct vm_object *v = sp[-1];
            INCREF(v);
            *sp++ = v;
            NEXT();
        }
        TARGET(DUP_TOP_TWO) {
            struct vm_object *a = sp[-2], *b = sp[-1];
            INCREF(a);
            INCREF(b);
            sp[0] = a;
            sp[1] = b;
            sp += 2;
            NEXT();
        }
        TARGET(NOP) {
            NEXT();
        }
        TARGET(EXTENDED_ARG) {
            int ext = oparg;
            op = ip[0];
            oparg = (ext << 8) | ip[1];
            ip += 2;
            COUNT_OP(op);
            DISPATCH_CURRENT();
        }
        /* A unary operator that may fail: replace the top of the stack. */
#define UNARY_CASE(NAME, FN)                          \
        TARGET(NAME) {                                \
            struct vm_object *v = sp[-1];             \
            struct vm_object *r = FN(ts, v);          \
            if (!r)                                   \
                goto error;                           \
            DECREF(v);                                \
            sp[-1] = r;                               \
            NEXT_TICK();                              \
        }
        UNARY_CASE(UNARY_POSITIVE, vm_positive)
        UNARY_CASE(UNARY_NEGATIVE, vm_negative)
#undef UNARY_CASE
        TARGET(UNARY_NOT) {
            struct vm_object *v = sp[-1];
            struct vm_object *r = VM_BOOL(!vm_truthy(ts, v));
            DECREF(v);
            sp[-1] = r;
            NEXT_TICK();
        }

        /* Binary operators. Int fast paths for + - * and a reuse trick for
           `n -= 1` style updates: when the left operand is a non-shared int
           held only by the local that the next STORE_FAST overwrites, the
           object takes the new value in place and the store is skipped
           (ints are immutable, but nobody else can see this one). A count of
           exactly 2 -- the local and the stack slot, both this frame's -- means
           no other thread holds it, with or without a GIL: a container or
           global holding it would make the count 3 or more. Without a GIL
           (ATOMIC, BIASED) the count is read with acquire, so whatever the last
           other holder did to the object happens before our plain writes; that
           pairs with the release half of its decrement (vm_held_by_frame_only_mt). */
#define HELD_BY_FRAME_ONLY(o)                                                            \
        (mt_rc ? HELD_MT(o) : (o)->refcnt == 2)
#define BINARY_CASE(NAME, BINOP, INPLACE, FASTOP)                                        \
        TARGET(NAME) {                                                                   \
            struct vm_object *r = sp[-1], *l = sp[-2], *res;                             \
            if (FASTOP && l->type == &vm_int_type && r->type == &vm_int_type &&          \
                (FASTOP == 1 || ((struct vm_int *)r)->value > 0)) {                      \
                int64_t x = ((struct vm_int *)l)->value, y = ((struct vm_int *)r)->value, z; \
                bool ovf = false;                                                        \
                if (BINOP == VM_BIN_ADD)                                                 \
                    ovf = __builtin_add_overflow(x, y, &z);                              \
                else if (BINOP == VM_BIN_SUB)                                            \
                    ovf = __builtin_sub_overflow(x, y, &z);                              \
                else if (BINOP == VM_BIN_MUL)                                            \
                    ovf = __builtin_mul_overflow(x, y, &z);                              \
                else if (BINOP == VM_BIN_FLOORDIV) /* y > 0: floor without overflow */   \
                    z = x / y - (x % y < 0);                                             \
                else /* VM_BIN_MOD, y > 0: the result is in [0, y) */                    \
                    z = x % y + (x % y < 0 ? y : 0);                                     \
                if (VM_UNLIKELY(ovf)) {                                                  \
                    vm_overflow(ts);                                                     \
                    goto error;                                                          \
                }                                                                        \
                if (INPLACE && reuse_ok && HELD_BY_FRAME_ONLY(l) && ip[0] == VM_OP_STORE_FAST && \
                    f->fast[ip[1]] == l && (z < VM_SMALL_INT_MIN || z > VM_SMALL_INT_MAX)) { \
                    ((struct vm_int *)l)->value = z;                                     \
                    l->refcnt = 1; /* the stack's; the local's stays (no other holder) */ \
                    DECREF(r);                                                           \
                    sp -= 2;                                                             \
                    COUNT_OP(VM_OP_STORE_FAST);                                          \
                    ip += 2; /* the STORE_FAST is done */                                \
                    NEXT_TICK();                                                         \
                }                                                                        \
                res = vm_int_new(ts, z);                                                 \
            } else {                                                                     \
                res = vm_binary(ts, BINOP, l, r, INPLACE);                               \
            }                                                                            \
            if (VM_UNLIKELY(!res))                                                       \
                goto error;                                                              \
            DECREF(l);                                                                   \
            DECREF(r);                                                                   \
            sp--;                                                                        \
            sp[-1] = res;                                                                \
            NEXT_TICK();                                                                 \
        }
        /* FASTOP: 0 no int fast path, 1 always, 2 when the divisor is positive */
        BINARY_CASE(BINARY_ADD, VM_BIN_ADD, false, 1)
        BINARY_CASE(BINARY_SUBTRACT, VM_BIN_SUB, false, 1)
        BINARY_CASE(BINARY_MULTIPLY, VM_BIN_MUL, false, 1)
        BINARY_CASE(BINARY_TRUE_DIVIDE, VM_BIN_TRUEDIV, false, 0)
        BINARY_CASE(BINARY_FLOOR_DIVIDE, VM_BIN_FLOORDIV, false, 2)
        BINARY_CASE(BINARY_MODULO, VM_BIN_MOD, false, 2)
        BINARY_CASE(INPLACE_ADD, VM_BIN_ADD, true, 1)
        BINARY_CASE(INPLACE_SUBTRACT, VM_BIN_SUB, true, 1)
        BINARY_CASE(INPLACE_MULTIPLY, VM_BIN_MUL, true, 1)
        BINARY_CASE(INPLACE_TRUE_DIVIDE, VM_BIN_TRUEDIV, true, 0)
        BINARY_CASE(INPLACE_FLOOR_DIVIDE, VM_BIN_FLOORDIV, true, 2)
        BINARY_CASE(INPLACE_MODULO, VM_BIN_MOD, true, 2)
#undef BINARY_CASE

        TARGET(COMPARE_OP) {
            struct vm_object *r = sp[-1], *l = sp[-2];
            int res;
            if (l->type == &vm_int_type && r->type == &vm_int_type) {
                int64_t x = ((struct vm_int *)l)->value, y = ((struct vm_int *)r)->value;
                if (VM_LIKELY(oparg <= VM_CMP_GE)) {
                    /* Bit (order + 1) of cmp_masks[op] says whether the
                       comparison holds for x <, ==, > y. */
                    static const unsigned char cmp_masks[6] = {1, 3, 2, 5, 4, 6};
                    int order = (x > y) - (x < y);
                    res = (cmp_masks[oparg] >> (order + 1)) & 1;
                } else {
                    res = oparg == VM_CMP_IS ? l == r : l != r;
                }
            } else if (oparg == VM_CMP_IS) {
                res = l == r;
            } else if (oparg == VM_CMP_IS_NOT) {
                res = l != r;
            } else {
                res = vm_compare(ts, oparg, l, r);
                if (res < 0)
                    goto error;
            }
            sp -= 2;
            DECREF(l);
            DECREF(r);
            /* Predict the conditional jump that almost always follows: as in
               2.7, the predicted pair is one step and does not tick. */
            if (ip[0] == VM_OP_POP_JUMP_IF_FALSE) {
                COUNT_OP(VM_OP_POP_JUMP_IF_FALSE);
                oparg = ip[1];
                ip += 2;
                if (!res)
                    JUMP_TO(oparg);
                NEXT();
            }
            if (ip[0] == VM_OP_POP_JUMP_IF_TRUE) {
                COUNT_OP(VM_OP_POP_JUMP_IF_TRUE);
                oparg = ip[1];
                ip += 2;
                if (res)
                    JUMP_TO(oparg);
                NEXT();
            }
            *sp++ = VM_BOOL(res);
            NEXT_TICK();
        }
        TARGET(POP_JUMP_IF_FALSE) {
            struct vm_object *v = *--sp;
            if (v == VM_FALSE) {
                JUMP_TO(oparg);
            } else if (v != VM_TRUE) {
                bool t = vm_truthy(ts, v);
                DECREF(v);
                if (!t)
                    JUMP_TO(oparg);
                NEXT_TICK();
            }
            NEXT();
        }
        TARGET(POP_JUMP_IF_TRUE) {
            struct vm_object *v = *--sp;
            if (v == VM_TRUE) {
                JUMP_TO(oparg);
            } else if (v != VM_FALSE) {
                bool t = vm_truthy(ts, v);
                DECREF(v);
                if (t)
                    JUMP_TO(oparg);
                NEXT_TICK();
            }
            NEXT();
        }
        TARGET(JUMP_IF_FALSE_OR_POP) {
            struct vm_object *v = sp[-1];
            bool is_bool = v == VM_TRUE || v == VM_FALSE;
            if (!vm_truthy(ts, v)) {
                JUMP_TO(oparg);
            } else {
                sp--;
                DECREF(v);
            }
            if (!is_bool)
                NEXT_TICK();
            NEXT();
        }
        TARGET(JUMP_IF_TRUE_OR_POP) {
            struct vm_object *v = sp[-1];
            bool is_bool = v == VM_TRUE || v == VM_FALSE;
            if (vm_truthy(ts, v)) {
                JUMP_TO(oparg);
            } else {
                sp--;
                DECREF(v);
            }
            if (!is_bool)
                NEXT_TICK();
            NEXT();
        }
        TARGET(JUMP_FORWARD) {
            ip += oparg;
            NEXT();
        }
        TARGET(JUMP_ABSOLUTE) {
            ip = first_instr + oparg;
            NEXT_TICK();
        }
        TARGET(GET_ITER) {
            struct vm_object *v = sp[-1];
            struct vm_object *it = vm_get_iter(ts, v);
            if (!it)
                goto error;
            DECREF(v);
            sp[-1] = it;
            if (ip[0] == VM_OP_FOR_ITER)
                NEXT();   /* 2.7: PREDICT(FOR_ITER) */
            NEXT_TICK();
        }
        TARGET(FOR_ITER) {
            struct vm_object *it = sp[-1], *v;
            if (it->type == &vm_range_iter_type) {
                struct vm_range_iter *ri = (struct vm_range_iter *)it;
                if (ri->remaining == 0) {
                    v = NULL;
                } else {
                    int64_t x = ri->next;
                    if (--ri->remaining > 0)
                        ri->next += ri->step;
                    v = vm_int_new(ts, x);
                    if (!v)
                        goto error;
                }
            } else {
                v = vm_iter_next(ts, it);
                if (!v && ts->exc != VM_EXC_NONE)
                    goto error;
            }
            if (v) {
                *sp++ = v;
                if (ip[0] == VM_OP_STORE_FAST)
                    NEXT();   /* 2.7: PREDICT(STORE_FAST) */
            } else {
                sp--;
                DECREF(it);
                ip += oparg;
            }
            NEXT_TICK();
        }
        TARGET(LOAD_NAME) {
            if (VM_UNLIKELY(f->locals != NULL)) {   /* a class body: its namespace first */
                const struct vm_str *nm = (const struct vm_str *)co->name_strs[oparg];
                struct vm_object *v = vm_dict_get(ts, f->locals, nm->data, nm->len, co->name_hash[oparg]);
                if (v) {
                    *sp++ = v;
                    NEXT_TICK();
                }
            }
            goto load_global;
        }
        TARGET(LOAD_GLOBAL) {
        load_global:;
            int slot = co->name_slot[oparg];
            struct vm_object *v;
            if (VM_LIKELY(!mt_rc)) {
                v = globals[slot];
                if (v)
                    INCREF(v);
            } else {
                /* acquire, no lock: pairs with the release of the store that
                   put v there; a value replaced meanwhile is released only
                   after a grace period (qsbr.c), so v is alive to incref. */
                v = __atomic_load_n(&globals[slot], __ATOMIC_ACQUIRE);
                if (v)
                    INCREF(v);
            }
            if (!v) {
                v = slot_builtin[slot];   /* immortal */
                if (!v) {
                    vm_raise(ts, VM_EXC_NAME, "name '%s' is not defined", co->names[oparg]);
                    goto error;
                }
            }
            *sp++ = v;
            NEXT_TICK();
        }
        TARGET(STORE_NAME) {
            if (VM_UNLIKELY(f->locals != NULL)) {   /* a class body: into its namespace */
                struct vm_object *v = sp[-1];
                if (vm_dict_set(ts, f->locals, co->name_strs[oparg], co->name_hash[oparg], v) < 0)
                    goto error;
                sp--;
                vm_decref(ts, v);
                NEXT_TICK();
            }
            goto store_global;
        }
        TARGET(STORE_GLOBAL) {
        store_global:;
            int slot = co->name_slot[oparg];
            struct vm_object *v = *--sp;
            vm_global_replace(ts, slot, v);
            NEXT_TICK();
        }
        TARGET(DELETE_NAME) {
            if (VM_UNLIKELY(f->locals != NULL)) {
                const struct vm_str *nm = (const struct vm_str *)co->name_strs[oparg];
                if (vm_dict_del(ts, f->locals, nm->data, nm->len, co->name_hash[oparg]) != 0) {
                    vm_raise(ts, VM_EXC_NAME, "name '%s' is not defined", co->names[oparg]);
                    goto error;
                }
                NEXT_TICK();
            }
            goto delete_global;
        }
        TARGET(DELETE_GLOBAL) {
        delete_global:;
            int slot = co->name_slot[oparg];
            /* NULL: a builtin of that name shows through again */
            if (!vm_global_replace(ts, slot, NULL)) {
                vm_raise(ts, VM_EXC_NAME, "name '%s' is not defined", co->names[oparg]);
                goto error;
            }
            NEXT_TICK();
        }
        TARGET(DELETE_FAST) {
            struct vm_object *v = f->fast[oparg];
            if (VM_UNLIKELY(!v))
                goto unbound_local;
            f->fast[oparg] = NULL;
            vm_decref(ts, v);
            NEXT_TICK();
        }
        TARGET(LOAD_CLOSURE) {
            struct vm_object *cell = f->fast[co->nlocals + oparg];
            vm_incref(ts, cell);
            *sp++ = cell;
            NEXT_TICK();
        }
        TARGET(LOAD_CLASSDEREF) {
            /* A class body reading a free variable: its namespace first. */
            const char *nm = co->cellvars[oparg];
            size_t len = strlen(nm);
            struct vm_object *v = vm_dict_get(ts, f->locals, nm, len, vm_str_hash(nm, len));
            if (v) {
                *sp++ = v;
                NEXT_TICK();
            }
            goto load_deref;
        }
        TARGET(LOAD_DEREF) {
        load_deref:;
            struct vm_object *v = vm_cell_get(ts, (struct vm_cell *)f->fast[co->nlocals + oparg]);
            if (VM_UNLIKELY(!v))
                goto unbound_deref;
            *sp++ = v;
            NEXT_TICK();
        }
        TARGET(STORE_DEREF) {
            struct vm_object *v = *--sp;
            vm_cell_set(ts, (struct vm_cell *)f->fast[co->nlocals + oparg], v);
            NEXT_TICK();
        }
        TARGET(DELETE_DEREF) {
            struct vm_cell *cell = (struct vm_cell *)f->fast[co->nlocals + oparg];
            struct vm_object *v = vm_cell_get(ts, cell);
            if (!v)
                goto unbound_deref;
            vm_decref(ts, v);
            vm_cell_set(ts, cell, NULL);
            NEXT_TICK();
        }
        TARGET(BINARY_SUBSCR) {
            struct vm_object *key = sp[-1], *o = sp[-2], *r;
            if (VM_LIKELY(o->type == &vm_list_type && key->type == &vm_int_type && !mt_rc)) {
                struct vm_list *l = (struct vm_list *)o;
                int64_t i = ((struct vm_int *)key)->value;
                if (i < 0)
                    i += (int64_t)l->len;
                if (VM_UNLIKELY(i < 0 || (uint64_t)i >= l->len)) {
                    vm_raise(ts, VM_EXC_INDEX, "list index out of range");
                    goto error;
                }
                r = l->items[i];
                INCREF(r);
            } else {
                r = vm_subscr(ts, o, key);
                if (!r)
                    goto error;
            }
            DECREF(key);
            DECREF(o);
            sp--;
            sp[-1] = r;
            NEXT_TICK();
        }
        TARGET(STORE_SUBSCR) {
            struct vm_object *key = sp[-1], *o = sp[-2], *v = sp[-3];
            if (VM_LIKELY(o->type == &vm_list_type && key->type == &vm_int_type && !mt_rc)) {
                struct vm_list *l = (struct vm_list *)o;
                int64_t i = ((struct vm_int *)key)->value;
                if (i < 0)
                    i += (int64_t)l->len;
                if (VM_UNLIKELY(i < 0 || (uint64_t)i >= l->len)) {
                    vm_raise(ts, VM_EXC_INDEX, "list assignment index out of range");
                    goto error;
                }
                struct vm_object *old = l->items[i];
                l->items[i] = v;   /* the stack's reference moves into the list */
                sp -= 3;
                DECREF(old);
                DECREF(key);
                DECREF(o);
                NEXT_TICK();
            }
            if (vm_store_subscr(ts, o, key, v) < 0)
                goto error;
            sp -= 3;
            DECREF(v);
            DECREF(key);
            DECREF(o);
            NEXT_TICK();
        }
        TARGET(BUILD_TUPLE) {
            struct vm_object *t = vm_tuple_new(ts, (size_t)oparg);
            if (!t)
                goto error;
            sp -= oparg;
            if (oparg)
                memcpy(((struct vm_tuple *)t)->items, sp, sizeof *sp * (size_t)oparg);
            *sp++ = t;
            NEXT_TICK();
        }
        TARGET(DELETE_SUBSCR) {
            struct vm_object *key = sp[-1], *o = sp[-2];
            if (vm_del_subscr(ts, o, key) < 0)
                goto error;
            sp -= 2;
            vm_decref(ts, key);
            vm_decref(ts, o);
            NEXT_TICK();
        }
        TARGET(STORE_ATTR) {
            struct vm_object *owner = sp[-1], *v = sp[-2];
            if (vm_setattr(ts, owner, co->name_strs[oparg], co->name_hash[oparg], v) < 0)
                goto error;
            sp -= 2;
            vm_decref(ts, owner);
            vm_decref(ts, v);
            NEXT_TICK();
        }
        TARGET(DELETE_ATTR) {
            struct vm_object *owner = sp[-1];
            if (vm_setattr(ts, owner, co->name_strs[oparg], co->name_hash[oparg], NULL) < 0)
                goto error;
            sp--;
            vm_decref(ts, owner);
            NEXT_TICK();
        }
        TARGET(LOAD_BUILD_CLASS) {
            *sp++ = &vm_build_class_builtin.ob;   /* immortal */
            NEXT_TICK();
        }
        TARGET(BUILD_LIST) {
            struct vm_object *l = vm_list_new(ts, (size_t)oparg);
            if (!l)
                goto error;
            sp -= oparg;
            if (oparg)
                memcpy(((struct vm_list *)l)->items, sp, sizeof *sp * (size_t)oparg);
            *sp++ = l;
            NEXT_TICK();
        }
        TARGET(LOAD_ATTR) {
            struct vm_object *obj = sp[-1], *meth, *attr;
            if (vm_get_method(ts, obj, co->name_strs[oparg], co->name_hash[oparg],
                              (enum vm_attr)co->name_attr[oparg], &meth, &attr) < 0)
                goto error;
            if (meth && meth->type == &vm_function_type) {
                /* obj.method as a value: a bound method. */
                struct vm_bound_method *m = vm_alloc(ts, &vm_bound_method_type, sizeof *m);
                if (!m) {
                    vm_decref(ts, meth);
                    goto error;
                }
                m->func = meth;   /* both references move into the method */
                m->self = obj;
                sp[-1] = &m->ob;
            } else if (meth) {
                /* lst.append as a value: bind it. */
                struct vm_method *m = vm_alloc(ts, &vm_method_type, sizeof *m);
                if (!m)
                    goto error;
                m->fn = (const struct vm_builtin *)meth;
                m->self = obj;   /* the stack's reference moves into the method */
                sp[-1] = &m->ob;
            } else {
                sp[-1] = attr;
                DECREF(obj);
            }
            NEXT_TICK();
        }
        TARGET(LOAD_METHOD) {
            struct vm_object *obj = sp[-1], *meth, *attr;
            if (vm_get_method(ts, obj, co->name_strs[oparg], co->name_hash[oparg],
                              (enum vm_attr)co->name_attr[oparg], &meth, &attr) < 0)
                goto error;
            if (meth) {             /* [meth, self] */
                sp[-1] = meth;
                *sp++ = obj;
            } else {                /* [NULL, attr] */
                sp[-1] = NULL;
                DECREF(obj);
                *sp++ = attr;
            }
            NEXT_TICK();
        }
        TARGET(CALL_METHOD) {
            /* Stack: [meth, self, args...] or [NULL, callable, args...]. */
            struct vm_object **args = sp - oparg;
            struct vm_object *meth = args[-2], *r;
            if (!meth) {
                /* Slide the callable and its arguments down over the NULL:
                   then it is a CALL_FUNCTION. */
                memmove(args - 2, args - 1, sizeof *args * (size_t)(oparg + 1));
                sp--;
                goto call_function;
            }
            if (meth->type == &vm_function_type) {
                oparg++;   /* a Python method: meth is the callable, self its first argument */
                goto call_function;
            }
            TICKS_OUT();
            r = vm_call_builtin(ts, meth, args - 1, oparg + 1);
            TICKS_IN();
            if (!r)
                goto error;
            for (struct vm_object **p = args - 1; p < sp; p++)
                DECREF(*p);
            /* meth is an immortal builtin: nothing to release */
            sp = args - 2;
            *sp++ = r;
            NEXT_TICK();
        }
        TARGET(CALL_FUNCTION) {
        call_function:;
            struct vm_object **args = sp - oparg;
            struct vm_object *callable = args[-1];
            if (callable->type == &vm_function_type) {
                const struct vm_function *fn = (const struct vm_function *)callable;
                struct vm_code *cc = fn->code;
                if (VM_UNLIKELY(oparg != cc->argcount)) {
                    vm_arity_message(cc, oparg, ts->exc_msg, sizeof ts->exc_msg);
                    ts->exc = VM_EXC_TYPE;
                    goto error;
                }
                if (VM_UNLIKELY(ts->depth >= VM_RECURSION_LIMIT)) {
                    vm_raise(ts, VM_EXC_RECURSION, "maximum recursion depth exceeded");
                    goto error;
                }
                f->ip = ip;
                f->sp = args;       /* the callable stays on the caller's stack */
                struct vm_frame *nf = frame_push_fast(ts, cc);
                if (!nf)
                    goto error;
                for (int i = 0; i < oparg; i++)
                    nf->fast[i] = args[i];   /* references move */
                for (int i = oparg; i < cc->nlocalsplus; i++)
                    nf->fast[i] = NULL;
                nf->back = f;
                f = nf;
                LOAD_FRAME();
                ip = first_instr;
                sp = f->stack;
                if (VM_UNLIKELY(cc->ncells + cc->nfrees) && vm_frame_derefs(ts, f, fn) < 0)
                    goto error;
                NEXT_TICK();
            }
            if (callable->type == &vm_bound_method_type || callable->type == &vm_class_type) {
                /* A Python method bound to self, or a class whose __init__ is
                   Python: a frame of its own, self first. */
                struct vm_frame *nf = NULL;
                f->ip = ip;
                f->sp = args;
                TICKS_OUT();
                int rc = push_python_call(ts, args, oparg, &nf);
                TICKS_IN();
                if (rc < 0)
                    goto error;
                if (nf) {
                    nf->back = f;
                    f = nf;
                    LOAD_FRAME();
                    ip = first_instr;
                    sp = f->stack;
                    if (rc > 0)
                        goto error;   /* its cells could not be made */
                    NEXT_TICK();
                }
                /* A class without a Python __init__: its instance is in the callable slot. */
                sp = args;
                NEXT_TICK();
            }
            TICKS_OUT();
            struct vm_object *r = vm_call_builtin(ts, callable, args, oparg);
            TICKS_IN();
            if (!r)
                goto error;
            for (int i = 0; i < oparg; i++)
                DECREF(args[i]);
            DECREF(callable);
            sp = args;
            sp[-1] = r;
            NEXT_TICK();
        }
        TARGET(RETURN_VALUE) {
            struct vm_object *retval = *--sp;
            while (sp > f->stack) {   /* nothing left in well-formed code */
                struct vm_object *v = *--sp;
                XDECREF(v);
            }
            for (int i = 0; i < co->nlocalsplus; i++)
                XDECREF(f->fast[i]);
            struct vm_frame *back = f->back;
            bool done = f == entry;
            enum vm_frame_kind kind = (enum vm_frame_kind)f->kind;
            vm_frame_pop(ts, f);
            if (done) {
                TICKS_OUT();
                *result = retval;
                return VM_OK;
            }
            f = back;
            LOAD_FRAME();
            ip = f->ip;
            sp = f->sp;
            if (VM_UNLIKELY(kind == VM_FRAME_INIT)) {
                /* C(...) ran __init__: the instance is in the callable slot. */
                if (retval != VM_NONE) {
                    vm_raise(ts, VM_EXC_TYPE, "__init__() should return None, not '%s'", vm_type_name(retval));
                    vm_decref(ts, retval);
                    goto error;
                }
                NEXT_TICK();
            }
            struct vm_object *callable = sp[-1];
            sp[-1] = retval;
            DECREF(callable);
            NEXT_TICK();
        }
        TARGET(MAKE_FUNCTION) {
            sp--;   /* the qualified name: an immortal constant (the code has it too) */
            struct vm_function *fn = vm_alloc(ts, &vm_function_type, sizeof *fn);
            if (!fn)
                goto error;
            fn->code = (struct vm_code *)sp[-1];
            fn->closure = NULL;
            if (oparg & VM_MAKEFN_CLOSURE) {
                sp--;
                fn->closure = (struct vm_tuple *)sp[-1];   /* the reference moves */
            }
            sp[-1] = &fn->ob;
            NEXT_TICK();
        }
        TARGET(IMPORT_NAME) {
            sp--;   /* fromlist and level are immortal constants */
            /* the compiler admits only the modules vm_module_lookup knows (immortal) */
            sp[-1] = vm_module_lookup(co->names[oparg]);
            NEXT_TICK();
        }
        TARGET(RAISE_OVERFLOW) {
            vm_overflow(ts);
            goto error;
        }
#if !VM_COMPUTED_GOTO
        default:
            vm_raise(ts, VM_EXC_SYSTEM, "bad opcode %d", op);
            goto error;
        }
#endif
    }

unbound_local:
    vm_raise(ts, VM_EXC_UNBOUND, "cannot access local variable '%s' where it is not associated with a value",
             co->varnames[oparg]);
    goto error;
unbound_deref:
    if (oparg < co->ncells)
        vm_raise(ts, VM_EXC_UNBOUND, "cannot access local variable '%s' where it is not associated with a value",
                 co->cellvars[oparg]);
    else
        vm_raise(ts, VM_EXC_NAME,
                 "cannot access free variable '%s' where it is not associated with a value in enclosing scope",
                 co->cellvars[oparg]);
error : {
    /* Record the traceback, then unwind and free every frame down to entry. */
    TICKS_OUT();
    f->ip = ip;
    f->sp = sp;
    if (ts->exc == VM_EXC_NONE)
        vm_raise(ts, VM_EXC_SYSTEM, "error without an exception set");
    tb_record(ts, f, entry);
    if (err) {
        format_traceback(ts, ts->tb, ts->ntb, err);
        vm_clear_error(ts);
    }
    for (;;) {
        struct vm_frame *g = f;
        for (struct vm_object **p = g->stack; p < g->sp; p++)
            XDECREF(*p);
        for (int k = 0; k < g->code->nlocalsplus; k++)
            XDECREF(g->fast[k]);
        struct vm_frame *back = g->back;
        bool last = g == entry;
        vm_frame_pop(ts, g);
        if (last)
            break;
        f = back;
    }
    *result = NULL;
    return VM_RUNTIME_ERROR;
}
#undef LOAD_FRAME
#undef INCREF
#undef DECREF
#undef XDECREF
#undef FETCH
#undef TICK
#undef TICKS_OUT
#undef TICKS_IN
#undef TARGET
#undef DISPATCH_CURRENT
#undef DISPATCH
#undef NEXT
#undef NEXT_TICK
#undef JUMP_TO
#undef HELD_BY_FRAME_ONLY
#undef COUNT_OP
#if !VM_EVAL_MT
#undef INCREF_MT
#undef DECREF_MT
#undef MORTAL
#endif
#undef HELD_MT
}
#endif /* VM_EVAL_LOOP */
