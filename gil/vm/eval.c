/*
 * eval.c — the eval loop, frames, calls and tracebacks.
 *
 * One C function runs every Python frame of a thread: a call to a Python
 * function pushes a frame and switches the loop's registers to it, a return
 * pops back (as CPython 3.11 does), so Python recursion never deepens the C
 * stack and an error unwinds every frame in one loop. Frames live on a
 * per-thread stack of chunks (no malloc per call).
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
 * Every other instruction ticks once, and so do JUMP_ABSOLUTE (2.7 is built
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
    f->ip = code->code;
    f->chunk = ch;
    f->prev_chunk = prev;
    f->stack = f->fast + code->nlocals;
    f->sp = f->stack;
    for (int i = 0; i < code->nlocals; i++)
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
    f->chunk = ch;
    f->prev_chunk = ch;
    f->stack = f->fast + code->nlocals;
    ts->depth++;
    return f;
}

void vm_frame_pop(struct vm_thread *ts, struct vm_frame *f)
{
    f->chunk->top = (char *)f;
    ts->chunk = f->prev_chunk;
    ts->depth--;
}

/* ---- errors -------------------------------------------------------------------------------- */

void vm_arity_message(const struct vm_code *c, int nargs, char *buf, size_t cap)
{
    if (nargs > c->argcount) {
        snprintf(buf, cap, "%s() takes %d positional argument%s but %d %s given", c->name, c->argcount,
                 c->argcount == 1 ? "" : "s", nargs, nargs == 1 ? "was" : "were");
        return;
    }
    int missing = c->argcount - nargs;
    size_t n = (size_t)snprintf(buf, cap, "%s() missing %d required positional argument%s: ", c->name,
                                missing, missing == 1 ? "" : "s");
    for (int i = nargs; i < c->argcount && n < cap; i++) {
        const char *sep = i == nargs ? "" : (missing == 2 ? " and " : (i == c->argcount - 1 ? ", and " : ", "));
        n += (size_t)snprintf(buf + n, cap - n, "%s'%s'", sep, c->varnames[i]);
    }
}

struct tb_entry {
    const struct vm_code *code;
    int line;
};

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
static void format_traceback(struct vm_thread *ts, const struct tb_entry *tb, int n, struct vm_error *err)
{
    struct vm_buf b = {0};
    char line[512];
    int ok = vm_buf_puts(&b, "Traceback (most recent call last):\n");
    const struct tb_entry *last = NULL;
    int count = 0;
    for (int i = 0; i <= n && ok == 0; i++) {
        const struct tb_entry *e = i < n ? &tb[i] : NULL;
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

/* ---- the loop ------------------------------------------------------------------------------ */

enum vm_result vm_eval(struct vm_thread *ts, struct vm_frame *entry, struct vm_object **result,
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
    long ticks = gt->ticks;                     /* see TICK */
    /* Cached once: refcounts are atomic only under GIL_VM_ATOMIC; the in-place
       int reuse below needs refcounts it can trust (not GIL_VM_UNSAFE). */
    const bool atomic_rc = ts->safety == GIL_VM_ATOMIC;
    const bool reuse_ok = ts->safety != GIL_VM_UNSAFE;

    struct vm_frame *f = entry;
    struct vm_code *co;
    const uint8_t *first_instr, *ip;
    struct vm_object **sp, **fast;
    struct vm_object *const *consts;
    int op, oparg;

#define LOAD_FRAME()                  \
    do {                              \
        co = f->code;                 \
        first_instr = co->code;       \
        consts = co->consts;          \
        fast = f->fast;               \
    } while (0)

#define INCREF(o)                                                             \
    do {                                                                      \
        struct vm_object *o_ = (o);                                           \
        if (!(o_->flags & VM_IMMORTAL)) {                                     \
            if (VM_LIKELY(!atomic_rc))                                        \
                o_->refcnt++;                                                 \
            else /* relaxed: see vm_incref */                                 \
                __atomic_fetch_add(&o_->refcnt, 1, __ATOMIC_RELAXED);         \
        }                                                                     \
    } while (0)
#define DECREF(o)                                                             \
    do {                                                                      \
        struct vm_object *o_ = (o);                                           \
        if (!(o_->flags & VM_IMMORTAL)) {                                     \
            if (VM_LIKELY(!atomic_rc)) {                                      \
                if (--o_->refcnt == 0)                                        \
                    vm_dealloc(ts, o_);                                       \
            } else if (__atomic_sub_fetch(&o_->refcnt, 1, __ATOMIC_ACQ_REL) == 0) { \
                vm_dealloc(ts, o_); /* acq_rel: see vm_decref */              \
            }                                                                 \
        }                                                                     \
    } while (0)
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
   layer (gil_yield, builtins such as time.sleep) and read again after. */
#define TICK()                                                                 \
    do {                                                                       \
        /* relaxed: as gil_should_yield (gil.h): a late sighting costs one     \
           more instruction, never correctness. */                              \
        if (VM_UNLIKELY(--ticks < 0 ||                                         \
                        atomic_load_explicit(breaker, memory_order_relaxed))) { \
            gt->ticks = ticks;                                                 \
            gil_yield(gt);                                                     \
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
    dispatch_op:
        switch (op) {
#endif
        TARGET(LOAD_FAST) {
            struct vm_object *v = fast[oparg];
            if (VM_UNLIKELY(!v))
                goto unbound_local;
            INCREF(v);
            *sp++ = v;
            NEXT();
        }
        TARGET(LOAD_CONST) {
            *sp++ = consts[oparg];   /* constants are immortal: no incref */
            NEXT();
        }
        TARGET(STORE_FAST) {
            struct vm_object *v = *--sp;
            struct vm_object *old = fast[oparg];
            fast[oparg] = v;
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
           (GIL_VM_ATOMIC) the count is read with acquire, so whatever the last
           other holder did to the object happens before our plain writes; that
           pairs with the release half of its decrement (vm_decref). */
#define HELD_BY_FRAME_ONLY(o)                                                            \
        (atomic_rc ? __atomic_load_n(&(o)->refcnt, __ATOMIC_ACQUIRE) == 2 : (o)->refcnt == 2)
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
                    fast[ip[1]] == l && (z < VM_SMALL_INT_MIN || z > VM_SMALL_INT_MAX)) { \
                    ((struct vm_int *)l)->value = z;                                     \
                    l->refcnt = 1; /* the stack's; the local's stays (no other holder) */ \
                    DECREF(r);                                                           \
                    sp -= 2;                                                             \
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
                oparg = ip[1];
                ip += 2;
                if (!res)
                    JUMP_TO(oparg);
                NEXT();
            }
            if (ip[0] == VM_OP_POP_JUMP_IF_TRUE) {
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
        TARGET(LOAD_NAME)
        TARGET(LOAD_GLOBAL) {
            int slot = co->name_slot[oparg];
            struct vm_object *v;
            if (VM_LIKELY(!atomic_rc)) {
                v = globals[slot];
                if (v)
                    INCREF(v);
            } else {
                vm_objlock(ts, &rt->globals_lock);
                v = globals[slot];
                if (v)
                    INCREF(v);
                vm_objunlock(ts, &rt->globals_lock);
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
        TARGET(STORE_NAME)
        TARGET(STORE_GLOBAL) {
            int slot = co->name_slot[oparg];
            struct vm_object *v = *--sp, *old;
            vm_objlock(ts, &rt->globals_lock);
            old = globals[slot];
            globals[slot] = v;
            vm_objunlock(ts, &rt->globals_lock);
            XDECREF(old);   /* after unlocking: freeing may take other locks */
            NEXT_TICK();
        }
        TARGET(BINARY_SUBSCR) {
            struct vm_object *key = sp[-1], *o = sp[-2], *r;
            if (VM_LIKELY(o->type == &vm_list_type && key->type == &vm_int_type && !atomic_rc)) {
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
            if (VM_LIKELY(o->type == &vm_list_type && key->type == &vm_int_type && !atomic_rc)) {
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
            if (vm_get_method(ts, obj, co->names[oparg], (enum vm_attr)co->name_attr[oparg], &meth,
                              &attr) < 0)
                goto error;
            if (meth) {
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
            if (vm_get_method(ts, obj, co->names[oparg], (enum vm_attr)co->name_attr[oparg], &meth,
                              &attr) < 0)
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
            TICKS_OUT();
            if (meth)
                r = vm_call_builtin(ts, meth, args - 1, oparg + 1);
            else
                r = vm_call_builtin(ts, args[-1], args, oparg);
            TICKS_IN();
            if (!r)
                goto error;
            for (struct vm_object **p = args - 1; p < sp; p++)
                DECREF(*p);
            /* meth is an immortal builtin (or NULL): nothing to release */
            sp = args - 2;
            *sp++ = r;
            NEXT_TICK();
        }
        TARGET(CALL_FUNCTION) {
            struct vm_object **args = sp - oparg;
            struct vm_object *callable = args[-1];
            if (callable->type == &vm_function_type) {
                struct vm_code *cc = ((struct vm_function *)callable)->code;
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
                for (int i = oparg; i < cc->nlocals; i++)
                    nf->fast[i] = NULL;
                nf->back = f;
                f = nf;
                LOAD_FRAME();
                ip = first_instr;
                sp = f->stack;
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
            for (int i = 0; i < co->nlocals; i++)
                XDECREF(fast[i]);
            struct vm_frame *back = f->back;
            bool done = f == entry;
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
            struct vm_object *callable = sp[-1];
            sp[-1] = retval;
            DECREF(callable);
            NEXT_TICK();
        }
        TARGET(MAKE_FUNCTION) {
            sp--;   /* the qualified name: an immortal constant */
            struct vm_function *fn = vm_alloc(ts, &vm_function_type, sizeof *fn);
            if (!fn)
                goto error;
            fn->code = (struct vm_code *)sp[-1];
            sp[-1] = &fn->ob;
            NEXT_TICK();
        }
        TARGET(IMPORT_NAME) {
            sp--;   /* fromlist and level are immortal constants */
            sp[-1] = &vm_time_module.ob;   /* the compiler admits only `import time` */
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
error : {
    /* Record the traceback, then unwind and free every frame down to entry. */
    TICKS_OUT();
    f->ip = ip;
    f->sp = sp;
    int n = 0;
    for (struct vm_frame *g = f;; g = g->back) {
        n++;
        if (g == entry)
            break;
    }
    struct tb_entry small[64];
    struct tb_entry *tb = n <= 64 ? small : malloc(sizeof *tb * (size_t)n);
    int i = n;
    for (struct vm_frame *g = f;; g = g->back) {
        if (tb) {
            tb[i - 1].code = g->code;
            tb[i - 1].line = frame_line(g);
        }
        i--;
        if (g == entry)
            break;
    }
    if (ts->exc == VM_EXC_NONE)
        vm_raise(ts, VM_EXC_SYSTEM, "error without an exception set");
    format_traceback(ts, tb ? tb : small, tb ? n : 0, err);
    if (tb != small)
        free(tb);
    for (;;) {
        struct vm_frame *g = f;
        for (struct vm_object **p = g->stack; p < g->sp; p++)
            XDECREF(*p);
        for (int k = 0; k < g->code->nlocals; k++)
            XDECREF(g->fast[k]);
        struct vm_frame *back = g->back;
        bool last = g == entry;
        vm_frame_pop(ts, g);
        if (last)
            break;
        f = back;
    }
    ts->exc = VM_EXC_NONE;
    ts->exc_msg[0] = '\0';
    *result = NULL;
    return VM_RUNTIME_ERROR;
}
#undef LOAD_FRAME
#undef INCREF
#undef DECREF
#undef XDECREF
}
