/*
 * parse.c — recursive descent from tokens to the syntax tree (compile.h).
 *
 * The grammar is Python 3's, cut down to gillab's subset. Everything else that
 * Python accepts is recognised far enough to say precisely what is not
 * supported, at the offending token ("file:line:col: SyntaxError: lambda
 * expressions: not supported in gillab's Python subset"), never "invalid
 * syntax" for valid Python. Recursion is bounded as CPython bounds it: the lexer
 * refuses more than VM_MAX_PARENS nested brackets and VM_MAX_INDENT levels of
 * indentation, and no expression tree may be higher than VM_MAX_EXPR_DEPTH
 * (long `a + b + ...` chains, `- - - x`), so neither this file nor the code
 * generator can run out of C stack; VM_MAX_NESTING, their sum, guards the
 * parser's recursion as it goes down.
 */
#include <stdlib.h>
#include <string.h>

#include "compile.h"

#define SUBSET "in gillab's Python subset"

static const struct vm_token *peek(struct vm_compiler *c) { return vm_lex_peek(&c->lx, 0); }
static const struct vm_token *peek2(struct vm_compiler *c) { return vm_lex_peek(&c->lx, 1); }
static struct vm_token *advance(struct vm_compiler *c) { return vm_lex_advance(&c->lx); }
static bool check(struct vm_compiler *c, enum vm_tok k) { return peek(c)->kind == k; }

static bool accept(struct vm_compiler *c, enum vm_tok k)
{
    if (!check(c, k))
        return false;
    advance(c);
    return true;
}

_Noreturn static void unsupported(struct vm_compiler *c, int line, int col, const char *what)
{
    vm_compile_error(c, line, col, "SyntaxError: %s: not supported " SUBSET, what);
}

/* What a token that cannot start/continue here means, as precisely as we can. */
_Noreturn static void bad_token(struct vm_compiler *c, const struct vm_token *t)
{
    switch (t->kind) {
    case VM_T_KW_LAMBDA: unsupported(c, t->line, t->col, "lambda expressions");
    case VM_T_KW_TRY: case VM_T_KW_EXCEPT: case VM_T_KW_FINALLY:
        unsupported(c, t->line, t->col, "try statements");
    case VM_T_KW_WITH: unsupported(c, t->line, t->col, "with statements");
    case VM_T_KW_RAISE: unsupported(c, t->line, t->col, "raise statements");
    case VM_T_KW_ASSERT: unsupported(c, t->line, t->col, "assert statements");
    case VM_T_KW_YIELD: unsupported(c, t->line, t->col, "yield");
    case VM_T_KW_ASYNC: case VM_T_KW_AWAIT: unsupported(c, t->line, t->col, "async functions and await");
    case VM_T_KW_FROM: unsupported(c, t->line, t->col, "from-imports");
    case VM_T_AT: unsupported(c, t->line, t->col, "decorators");
    case VM_T_LBRACE: unsupported(c, t->line, t->col, "dict and set literals");
    case VM_T_ELLIPSIS: unsupported(c, t->line, t->col, "Ellipsis (...)");
    case VM_T_DSTAR: unsupported(c, t->line, t->col, "the ** operator");
    case VM_T_TILDE: case VM_T_AMPER: case VM_T_VBAR: case VM_T_CIRCUMFLEX: case VM_T_LSHIFT:
    case VM_T_RSHIFT:
        unsupported(c, t->line, t->col, "bitwise operators");
    case VM_T_COLONEQUAL: unsupported(c, t->line, t->col, "assignment expressions (:=)");
    case VM_T_INDENT: vm_compile_error(c, t->line, t->col, "IndentationError: unexpected indent");
    case VM_T_EOF: vm_compile_error(c, t->line, t->col, "SyntaxError: unexpected end of file");
    case VM_T_NEWLINE: vm_compile_error(c, t->line, t->col, "SyntaxError: invalid syntax (unexpected end of line)");
    default:
        vm_compile_error(c, t->line, t->col, "SyntaxError: invalid syntax");
    }
}

static bool is_unsupported_tok(enum vm_tok k)
{
    switch (k) {
    case VM_T_KW_LAMBDA: case VM_T_KW_TRY: case VM_T_KW_EXCEPT:
    case VM_T_KW_FINALLY: case VM_T_KW_WITH: case VM_T_KW_RAISE: case VM_T_KW_ASSERT:
    case VM_T_KW_YIELD: case VM_T_KW_ASYNC:
    case VM_T_KW_AWAIT: case VM_T_KW_FROM: case VM_T_AT: case VM_T_LBRACE: case VM_T_ELLIPSIS:
    case VM_T_DSTAR: case VM_T_TILDE: case VM_T_AMPER: case VM_T_VBAR: case VM_T_CIRCUMFLEX:
    case VM_T_LSHIFT: case VM_T_RSHIFT: case VM_T_COLONEQUAL: case VM_T_INDENT:
        return true;
    default:
        return false;
    }
}

static struct vm_token *expect(struct vm_compiler *c, enum vm_tok k, const char *what)
{
    const struct vm_token *t = peek(c);
    if (t->kind == k)
        return advance(c);
    if (is_unsupported_tok(t->kind))
        bad_token(c, t);
    vm_compile_error(c, t->line, t->col, "SyntaxError: expected %s", what);
}

static void nest_enter(struct vm_compiler *c, const struct vm_token *t)
{
    if (++c->nesting > VM_MAX_NESTING)
        vm_compile_error(c, t->line, t->col,
                         "RecursionError: maximum recursion depth exceeded during compilation");
}

/* ---- scratch stack for building arrays -------------------------------------------------- */

static void scratch_push(struct vm_compiler *c, void *p)
{
    if (c->nscratch == c->capscratch) {
        size_t cap = c->capscratch ? c->capscratch * 2 : 64;
        void **n = realloc(c->scratch, cap * sizeof *n);
        if (!n)
            vm_compile_nomem(c);
        c->scratch = n;
        c->capscratch = cap;
    }
    c->scratch[c->nscratch++] = p;
}

/* Move the items pushed since `mark` into a new arena array. */
static void **scratch_take(struct vm_compiler *c, size_t mark, int *n)
{
    size_t k = c->nscratch - mark;
    if (k > (size_t)INT32_MAX / 2)
        vm_compile_error(c, peek(c)->line, peek(c)->col, "SyntaxError: too many items");
    void **v = vm_arena_alloc(c, (k ? k : 1) * sizeof *v);
    if (k)
        memcpy(v, c->scratch + mark, k * sizeof *v);
    c->nscratch = mark;
    *n = (int)k;
    return v;
}

/* ---- expressions ------------------------------------------------------------------------ */

static struct vm_expr *new_expr(struct vm_compiler *c, enum vm_expr_kind kind, int line, int col)
{
    struct vm_expr *e = vm_arena_alloc(c, sizeof *e);
    memset(e, 0, sizeof *e);
    e->kind = (uint8_t)kind;
    e->line = line;
    e->col = col;
    e->depth = 1;
    return e;
}

static void set_depth(struct vm_compiler *c, struct vm_expr *e, int child_depth)
{
    if (child_depth + 1 > e->depth)
        e->depth = child_depth + 1;
    if (e->depth > VM_MAX_EXPR_DEPTH)
        vm_compile_error(c, e->line, e->col,
                         "RecursionError: maximum recursion depth exceeded during compilation");
}

static struct vm_expr *parse_expr(struct vm_compiler *c);

static struct vm_expr *parse_atom(struct vm_compiler *c)
{
    const struct vm_token *t = peek(c);
    struct vm_expr *e;
    switch (t->kind) {
    case VM_T_NAME:
        e = new_expr(c, VM_E_NAME, t->line, t->col);
        e->u.name = t->name;
        advance(c);
        return e;
    case VM_T_INT: {
        e = new_expr(c, VM_E_INT, t->line, t->col);
        e->u.i.mag = t->ival;
        e->u.i.big = t->ibig;
        char *text = vm_arena_alloc(c, t->textlen + 1);
        memcpy(text, t->text, t->textlen);
        text[t->textlen] = '\0';
        e->u.i.text = text;
        advance(c);
        return e;
    }
    case VM_T_FLOAT:
        e = new_expr(c, VM_E_FLOAT, t->line, t->col);
        e->u.f = t->fval;
        advance(c);
        return e;
    case VM_T_STRING: {
        e = new_expr(c, VM_E_STR, t->line, t->col);
        /* Adjacent literals concatenate: "a" "b" is "ab". */
        size_t len = 0, cap = 0;
        char *s = NULL;
        while (check(c, VM_T_STRING)) {
            const struct vm_token *st = peek(c);
            if (len + st->slen + 1 > cap) {
                size_t ncap = (len + st->slen + 1) * 2;
                char *ns = vm_arena_alloc(c, ncap);
                if (len)
                    memcpy(ns, s, len);
                s = ns;
                cap = ncap;
            }
            memcpy(s + len, st->str, st->slen);
            len += st->slen;
            s[len] = '\0';
            advance(c);
        }
        e->u.s.s = s;
        e->u.s.len = len;
        return e;
    }
    case VM_T_KW_NONE:
        e = new_expr(c, VM_E_NONE, t->line, t->col);
        advance(c);
        return e;
    case VM_T_KW_TRUE:
        e = new_expr(c, VM_E_TRUE, t->line, t->col);
        advance(c);
        return e;
    case VM_T_KW_FALSE:
        e = new_expr(c, VM_E_FALSE, t->line, t->col);
        advance(c);
        return e;
    case VM_T_LPAR: {
        int line = t->line, col = t->col;
        advance(c);
        if (check(c, VM_T_RPAR))
            unsupported(c, line, col, "tuples");
        if (check(c, VM_T_KW_YIELD))
            bad_token(c, peek(c));
        e = parse_expr(c);
        if (check(c, VM_T_COMMA))
            unsupported(c, peek(c)->line, peek(c)->col, "tuples");
        if (check(c, VM_T_KW_FOR))
            unsupported(c, peek(c)->line, peek(c)->col, "generator expressions");
        expect(c, VM_T_RPAR, "')'");
        return e;
    }
    case VM_T_LSQB: {
        e = new_expr(c, VM_E_LIST, t->line, t->col);
        advance(c);
        size_t mark = c->nscratch;
        int depth = 0;
        while (!check(c, VM_T_RSQB)) {
            if (check(c, VM_T_STAR))
                unsupported(c, peek(c)->line, peek(c)->col, "starred expressions");
            struct vm_expr *item = parse_expr(c);
            if (item->depth > depth)
                depth = item->depth;
            scratch_push(c, item);
            if (check(c, VM_T_KW_FOR))
                unsupported(c, peek(c)->line, peek(c)->col, "comprehensions");
            if (!accept(c, VM_T_COMMA))
                break;
        }
        expect(c, VM_T_RSQB, "']' or ','");
        e->u.seq.v = (struct vm_expr **)scratch_take(c, mark, &e->u.seq.n);
        set_depth(c, e, depth);
        return e;
    }
    default:
        bad_token(c, t);
    }
}

static struct vm_expr *parse_primary(struct vm_compiler *c)
{
    struct vm_expr *e = parse_atom(c);
    for (;;) {
        const struct vm_token *t = peek(c);
        if (t->kind == VM_T_LPAR) {
            struct vm_expr *call = new_expr(c, VM_E_CALL, e->line, e->col);
            advance(c);
            size_t mark = c->nscratch;
            int depth = e->depth;
            while (!check(c, VM_T_RPAR)) {
                const struct vm_token *a = peek(c);
                if (a->kind == VM_T_STAR || a->kind == VM_T_DSTAR)
                    unsupported(c, a->line, a->col, "*args and **kwargs arguments");
                if (a->kind == VM_T_NAME && peek2(c)->kind == VM_T_EQUAL)
                    unsupported(c, a->line, a->col, "keyword arguments");
                struct vm_expr *arg = parse_expr(c);
                if (arg->depth > depth)
                    depth = arg->depth;
                scratch_push(c, arg);
                if (check(c, VM_T_KW_FOR))
                    unsupported(c, peek(c)->line, peek(c)->col, "generator expressions");
                if (check(c, VM_T_EQUAL))
                    vm_compile_error(c, peek(c)->line, peek(c)->col,
                                     "SyntaxError: expression cannot contain assignment, perhaps you meant \"==\"?");
                if (!accept(c, VM_T_COMMA))
                    break;
            }
            expect(c, VM_T_RPAR, "')' or ','");
            call->u.call.fn = e;
            call->u.call.args = (struct vm_expr **)scratch_take(c, mark, &call->u.call.n);
            if (call->u.call.n > 255 * 256)
                vm_compile_error(c, call->line, call->col,
                                 "SyntaxError: too many arguments (gillab's limit is %d)", 255 * 256);
            set_depth(c, call, depth);
            e = call;
        } else if (t->kind == VM_T_LSQB) {
            struct vm_expr *sub = new_expr(c, VM_E_SUBSCR, e->line, e->col);
            advance(c);
            if (check(c, VM_T_COLON))
                unsupported(c, peek(c)->line, peek(c)->col, "slices");
            struct vm_expr *index = parse_expr(c);
            if (check(c, VM_T_COLON))
                unsupported(c, peek(c)->line, peek(c)->col, "slices");
            if (check(c, VM_T_COMMA))
                unsupported(c, peek(c)->line, peek(c)->col, "tuples");
            expect(c, VM_T_RSQB, "']'");
            sub->u.sub.value = e;
            sub->u.sub.index = index;
            set_depth(c, sub, e->depth > index->depth ? e->depth : index->depth);
            e = sub;
        } else if (t->kind == VM_T_DOT) {
            advance(c);
            const struct vm_token *n = peek(c);
            if (n->kind != VM_T_NAME)
                expect(c, VM_T_NAME, "an attribute name after '.'");
            struct vm_expr *attr = new_expr(c, VM_E_ATTR, e->line, e->col);
            attr->u.attr.value = e;
            attr->u.attr.name = n->name;
            advance(c);
            set_depth(c, attr, e->depth);
            e = attr;
        } else {
            return e;
        }
    }
}

static struct vm_expr *parse_factor(struct vm_compiler *c)
{
    const struct vm_token *t = peek(c);
    if (t->kind == VM_T_MINUS || t->kind == VM_T_PLUS) {
        int line = t->line, col = t->col;
        bool neg = t->kind == VM_T_MINUS;
        nest_enter(c, t);
        advance(c);
        struct vm_expr *operand = parse_factor(c);
        c->nesting--;
        /* Fold a sign into a numeric literal, as CPython's AST optimiser does;
           an int that no longer fits stays a literal that raises when run. */
        if (operand->kind == VM_E_INT && !operand->u.i.big) {
            if (neg)
                operand->u.i.neg = !operand->u.i.neg;
            operand->line = line;
            operand->col = col;
            return operand;
        }
        if (operand->kind == VM_E_FLOAT) {
            if (neg)
                operand->u.f = -operand->u.f;
            operand->line = line;
            operand->col = col;
            return operand;
        }
        struct vm_expr *e = new_expr(c, VM_E_UNARY, line, col);
        e->op = neg ? VM_UN_NEG : VM_UN_POS;
        e->u.operand = operand;
        set_depth(c, e, operand->depth);
        return e;
    }
    if (t->kind == VM_T_TILDE)
        bad_token(c, t);
    if (t->kind == VM_T_KW_AWAIT)
        bad_token(c, t);
    struct vm_expr *e = parse_primary(c);
    if (check(c, VM_T_DSTAR))
        bad_token(c, peek(c));
    return e;
}

static struct vm_expr *binop(struct vm_compiler *c, enum vm_binop op, struct vm_expr *l,
                             struct vm_expr *r, const struct vm_token *optok)
{
    (void)optok;
    struct vm_expr *e = new_expr(c, VM_E_BINOP, l->line, l->col);
    e->op = (uint8_t)op;
    e->u.bin.l = l;
    e->u.bin.r = r;
    set_depth(c, e, l->depth > r->depth ? l->depth : r->depth);
    return e;
}

static struct vm_expr *parse_term(struct vm_compiler *c)
{
    struct vm_expr *e = parse_factor(c);
    for (;;) {
        const struct vm_token *t = peek(c);
        enum vm_binop op;
        switch (t->kind) {
        case VM_T_STAR: op = VM_BIN_MUL; break;
        case VM_T_SLASH: op = VM_BIN_TRUEDIV; break;
        case VM_T_DSLASH: op = VM_BIN_FLOORDIV; break;
        case VM_T_PERCENT: op = VM_BIN_MOD; break;
        case VM_T_AT: unsupported(c, t->line, t->col, "the @ operator");
        default: return e;
        }
        advance(c);
        e = binop(c, op, e, parse_factor(c), t);
    }
}

static struct vm_expr *parse_arith(struct vm_compiler *c)
{
    struct vm_expr *e = parse_term(c);
    for (;;) {
        const struct vm_token *t = peek(c);
        enum vm_binop op;
        if (t->kind == VM_T_PLUS)
            op = VM_BIN_ADD;
        else if (t->kind == VM_T_MINUS)
            op = VM_BIN_SUB;
        else
            break;
        advance(c);
        e = binop(c, op, e, parse_term(c), t);
    }
    const struct vm_token *t = peek(c);
    if (t->kind == VM_T_AMPER || t->kind == VM_T_VBAR || t->kind == VM_T_CIRCUMFLEX ||
        t->kind == VM_T_LSHIFT || t->kind == VM_T_RSHIFT)
        bad_token(c, t);
    return e;
}

static int compare_op(struct vm_compiler *c, int *ntok)
{
    const struct vm_token *t = peek(c);
    *ntok = 1;
    switch (t->kind) {
    case VM_T_LESS: return VM_CMP_LT;
    case VM_T_LESSEQUAL: return VM_CMP_LE;
    case VM_T_EQEQUAL: return VM_CMP_EQ;
    case VM_T_NOTEQUAL: return VM_CMP_NE;
    case VM_T_GREATER: return VM_CMP_GT;
    case VM_T_GREATEREQUAL: return VM_CMP_GE;
    case VM_T_KW_IS:
        if (peek2(c)->kind == VM_T_KW_NOT) {
            *ntok = 2;
            return VM_CMP_IS_NOT;
        }
        return VM_CMP_IS;
    case VM_T_KW_IN:
        unsupported(c, t->line, t->col, "the 'in' operator");
    case VM_T_KW_NOT:
        if (peek2(c)->kind == VM_T_KW_IN)
            unsupported(c, t->line, t->col, "the 'not in' operator");
        return -1;
    default:
        return -1;
    }
}

static struct vm_expr *parse_comparison(struct vm_compiler *c)
{
    struct vm_expr *first = parse_arith(c);
    int ntok;
    int op = compare_op(c, &ntok);
    if (op < 0)
        return first;
    struct vm_expr *e = new_expr(c, VM_E_COMPARE, first->line, first->col);
    size_t mark = c->nscratch;
    scratch_push(c, first);
    int depth = first->depth;
    /* The operators go into a small growing array in the arena. */
    int nops = 0, capops = 4;
    uint8_t *ops = vm_arena_alloc(c, (size_t)capops);
    while (op >= 0) {
        for (int i = 0; i < ntok; i++)
            advance(c);
        if (nops == capops) {
            uint8_t *n = vm_arena_alloc(c, (size_t)capops * 2);
            memcpy(n, ops, (size_t)capops);
            ops = n;
            capops *= 2;
        }
        ops[nops++] = (uint8_t)op;
        struct vm_expr *next = parse_arith(c);
        if (next->depth > depth)
            depth = next->depth;
        scratch_push(c, next);
        op = compare_op(c, &ntok);
    }
    int nvals;
    e->u.cmp.v = (struct vm_expr **)scratch_take(c, mark, &nvals);
    e->u.cmp.ops = ops;
    e->u.cmp.n = nops;
    set_depth(c, e, depth);
    return e;
}

static struct vm_expr *parse_not(struct vm_compiler *c)
{
    const struct vm_token *t = peek(c);
    if (t->kind == VM_T_KW_NOT) {
        int line = t->line, col = t->col;
        nest_enter(c, t);
        advance(c);
        struct vm_expr *operand = parse_not(c);
        c->nesting--;
        struct vm_expr *e = new_expr(c, VM_E_NOT, line, col);
        e->u.operand = operand;
        set_depth(c, e, operand->depth);
        return e;
    }
    return parse_comparison(c);
}

static struct vm_expr *parse_boolop(struct vm_compiler *c, bool is_or)
{
    struct vm_expr *first = is_or ? parse_boolop(c, false) : parse_not(c);
    enum vm_tok k = is_or ? VM_T_KW_OR : VM_T_KW_AND;
    if (!check(c, k))
        return first;
    struct vm_expr *e = new_expr(c, VM_E_BOOLOP, first->line, first->col);
    e->op = is_or;
    size_t mark = c->nscratch;
    scratch_push(c, first);
    int depth = first->depth;
    while (accept(c, k)) {
        struct vm_expr *next = is_or ? parse_boolop(c, false) : parse_not(c);
        if (next->depth > depth)
            depth = next->depth;
        scratch_push(c, next);
    }
    e->u.seq.v = (struct vm_expr **)scratch_take(c, mark, &e->u.seq.n);
    set_depth(c, e, depth);
    return e;
}

static struct vm_expr *parse_expr(struct vm_compiler *c)
{
    const struct vm_token *t = peek(c);
    nest_enter(c, t);
    if (t->kind == VM_T_STAR)
        unsupported(c, t->line, t->col, "starred expressions");
    if (t->kind == VM_T_KW_LAMBDA || t->kind == VM_T_KW_YIELD || t->kind == VM_T_KW_AWAIT)
        bad_token(c, t);
    struct vm_expr *e = parse_boolop(c, true);
    t = peek(c);
    if (t->kind == VM_T_KW_IF)
        unsupported(c, t->line, t->col, "conditional expressions (x if c else y)");
    if (t->kind == VM_T_COLONEQUAL)
        bad_token(c, t);
    c->nesting--;
    return e;
}

/* ---- statements --------------------------------------------------------------------------- */

static struct vm_stmt *new_stmt(struct vm_compiler *c, enum vm_stmt_kind kind, const struct vm_token *t)
{
    struct vm_stmt *s = vm_arena_alloc(c, sizeof *s);
    memset(s, 0, sizeof *s);
    s->kind = (uint8_t)kind;
    s->line = t->line;
    s->col = t->col;
    return s;
}

static void parse_line(struct vm_compiler *c);
static struct vm_block parse_body(struct vm_compiler *c, bool is_def, const char *what, int line);
static void parse_simple_line(struct vm_compiler *c);

/* ':' then either simple statements on the same line or an indented block. */
static struct vm_block parse_suite(struct vm_compiler *c, const char *what, int header_line)
{
    expect(c, VM_T_COLON, "':'");
    struct vm_block b;
    size_t mark = c->nscratch;
    if (accept(c, VM_T_NEWLINE)) {
        const struct vm_token *t = peek(c);
        if (t->kind != VM_T_INDENT)
            vm_compile_error(c, t->line, t->col,
                             "IndentationError: expected an indented block after %s on line %d", what,
                             header_line);
        nest_enter(c, t);
        advance(c);
        while (!check(c, VM_T_DEDENT) && !check(c, VM_T_EOF))
            parse_line(c);
        accept(c, VM_T_DEDENT);
        c->nesting--;
    } else {
        parse_simple_line(c);   /* "if x: pass": simple statements only */
    }
    b.v = (struct vm_stmt **)scratch_take(c, mark, &b.n);
    return b;
}

enum target_use { TARGET_ASSIGN, TARGET_AUG, TARGET_DEL };

/* Can e be assigned to (a name, an item, an attribute)? */
static bool assignable(const struct vm_expr *e)
{
    return e->kind == VM_E_NAME || e->kind == VM_E_SUBSCR || e->kind == VM_E_ATTR;
}

/* An expression at CPython's grammar level `bitwise_or` other than a display or a
   constant name: `1 = x` and `f() = 1` are then, unless chained, "cannot assign to
   literal here. Maybe you meant '==' instead of '='?" (3.11's invalid_named_expression). */
static bool bitwise_or_level(const struct vm_expr *e)
{
    switch (e->kind) {
    case VM_E_INT: case VM_E_FLOAT: case VM_E_STR: case VM_E_BINOP: case VM_E_UNARY:
    case VM_E_CALL: case VM_E_CONST:
        return true;
    default:
        return false;
    }
}

static bool target_ok(struct vm_compiler *c, struct vm_expr *e, enum target_use use, bool maybe_eq)
{
    const char *what;
    if (assignable(e))
        return true;
    switch (e->kind) {
    case VM_E_CALL: what = "function call"; break;
    case VM_E_INT: case VM_E_FLOAT: case VM_E_STR: what = "literal"; break;
    /* CPython names the constant: "cannot assign to None" */
    case VM_E_NONE: what = "None"; break;
    case VM_E_TRUE: what = "True"; break;
    case VM_E_FALSE: what = "False"; break;
    case VM_E_LIST:
        if (use == TARGET_AUG) { what = "list display"; break; }
        unsupported(c, e->line, e->col, use == TARGET_DEL ? "deleting a list of targets" : "unpacking assignments");
    case VM_E_COMPARE: what = "comparison"; break;
    default: what = "expression"; break;
    }
    if (use == TARGET_AUG)
        vm_compile_error(c, e->line, e->col,
                         "SyntaxError: '%s' is an illegal expression for augmented assignment", what);
    vm_compile_error(c, e->line, e->col, "SyntaxError: cannot %s %s%s", use == TARGET_DEL ? "delete" : "assign to",
                     what, maybe_eq ? " here. Maybe you meant '==' instead of '='?" : "");
}

static int aug_op(enum vm_tok k)
{
    switch (k) {
    case VM_T_PLUSEQUAL: return VM_BIN_ADD;
    case VM_T_MINEQUAL: return VM_BIN_SUB;
    case VM_T_STAREQUAL: return VM_BIN_MUL;
    case VM_T_SLASHEQUAL: return VM_BIN_TRUEDIV;
    case VM_T_DSLASHEQUAL: return VM_BIN_FLOORDIV;
    case VM_T_PERCENTEQUAL: return VM_BIN_MOD;
    default: return -1;
    }
}

static bool is_other_augassign(enum vm_tok k)
{
    return k == VM_T_DSTAREQUAL || k == VM_T_ATEQUAL || k == VM_T_AMPEREQUAL ||
           k == VM_T_VBAREQUAL || k == VM_T_CIRCUMFLEXEQUAL || k == VM_T_LSHIFTEQUAL ||
           k == VM_T_RSHIFTEQUAL;
}

static struct vm_stmt *parse_small(struct vm_compiler *c)
{
    const struct vm_token *t = peek(c);
    struct vm_stmt *s;
    switch (t->kind) {
    case VM_T_KW_PASS:
        s = new_stmt(c, VM_S_PASS, t);
        advance(c);
        return s;
    case VM_T_KW_BREAK:
        if (c->loop_depth == 0)
            vm_compile_error(c, t->line, t->col, "SyntaxError: 'break' outside loop");
        s = new_stmt(c, VM_S_BREAK, t);
        advance(c);
        return s;
    case VM_T_KW_CONTINUE:
        if (c->loop_depth == 0)
            vm_compile_error(c, t->line, t->col, "SyntaxError: 'continue' not properly in loop");
        s = new_stmt(c, VM_S_CONTINUE, t);
        advance(c);
        return s;
    case VM_T_KW_RETURN:
        if (!c->in_def)
            vm_compile_error(c, t->line, t->col, "SyntaxError: 'return' outside function");
        s = new_stmt(c, VM_S_RETURN, t);
        advance(c);
        if (!check(c, VM_T_NEWLINE) && !check(c, VM_T_SEMI) && !check(c, VM_T_EOF)) {
            s->u.expr = parse_expr(c);
            if (check(c, VM_T_COMMA))
                unsupported(c, peek(c)->line, peek(c)->col, "tuples");
        }
        return s;
    case VM_T_KW_GLOBAL:
    case VM_T_KW_NONLOCAL: {
        bool nonlocal = t->kind == VM_T_KW_NONLOCAL;
        if (nonlocal && c->scope_depth == 0)
            vm_compile_error(c, t->line, t->col, "SyntaxError: nonlocal declaration not allowed at module level");
        s = new_stmt(c, nonlocal ? VM_S_NONLOCAL : VM_S_GLOBAL, t);
        advance(c);
        size_t mark = c->nscratch;
        int n = 0, cap = 4;
        int *cols = vm_arena_alloc(c, sizeof(int) * (size_t)cap);
        do {
            const struct vm_token *n1 = peek(c);
            if (n1->kind != VM_T_NAME)
                expect(c, VM_T_NAME, nonlocal ? "a name after 'nonlocal'" : "a name after 'global'");
            if (n == cap) {
                int *nc = vm_arena_alloc(c, sizeof(int) * (size_t)cap * 2);
                memcpy(nc, cols, sizeof(int) * (size_t)cap);
                cols = nc;
                cap *= 2;
            }
            cols[n++] = n1->col;
            scratch_push(c, (void *)n1->name);
            advance(c);
        } while (accept(c, VM_T_COMMA));
        s->u.glob.names = (const char **)scratch_take(c, mark, &s->u.glob.n);
        s->u.glob.cols = cols;
        return s;
    }
    case VM_T_KW_IMPORT: {
        advance(c);
        const struct vm_token *m = peek(c);
        if (m->kind != VM_T_NAME)
            expect(c, VM_T_NAME, "a module name after 'import'");
        if (!vm_module_lookup(m->name) || peek2(c)->kind == VM_T_DOT) {
            char names[128], what[160];
            vm_module_names(names, sizeof names);
            snprintf(what, sizeof what, "imports other than %s", names);
            unsupported(c, m->line, m->col, what);
        }
        s = new_stmt(c, VM_S_IMPORT, t);
        s->u.imp.module = m->name;
        s->u.imp.asname = m->name;
        advance(c);
        if (accept(c, VM_T_KW_AS)) {
            const struct vm_token *a = peek(c);
            if (a->kind != VM_T_NAME)
                expect(c, VM_T_NAME, "a name after 'as'");
            s->u.imp.asname = a->name;
            advance(c);
        }
        if (check(c, VM_T_COMMA))
            unsupported(c, peek(c)->line, peek(c)->col, "imports of several modules in one statement");
        return s;
    }
    case VM_T_KW_DEL: {
        s = new_stmt(c, VM_S_DEL, t);
        advance(c);
        size_t mark = c->nscratch;
        do {
            if (check(c, VM_T_NEWLINE) || check(c, VM_T_SEMI) || check(c, VM_T_EOF))
                bad_token(c, peek(c));
            struct vm_expr *e = parse_expr(c);
            target_ok(c, e, TARGET_DEL, false);
            scratch_push(c, e);
        } while (accept(c, VM_T_COMMA) && !check(c, VM_T_NEWLINE) && !check(c, VM_T_SEMI) &&
                 !check(c, VM_T_EOF));
        s->u.assign.targets = (struct vm_expr **)scratch_take(c, mark, &s->u.assign.n);
        return s;
    }
    case VM_T_KW_TRY: case VM_T_KW_WITH: case VM_T_KW_RAISE:
    case VM_T_KW_ASSERT: case VM_T_KW_FROM:
    case VM_T_KW_ASYNC: case VM_T_AT: case VM_T_KW_YIELD: case VM_T_INDENT:
    case VM_T_KW_EXCEPT: case VM_T_KW_FINALLY:
        bad_token(c, t);
    case VM_T_KW_IF: case VM_T_KW_WHILE: case VM_T_KW_FOR: case VM_T_KW_DEF: case VM_T_KW_ELSE:
    case VM_T_KW_ELIF: case VM_T_KW_CLASS:
        vm_compile_error(c, t->line, t->col, "SyntaxError: invalid syntax");
    default:
        break;
    }
    /* Expression statement or assignment: t points into the lookahead, which
       parsing the expression overwrites; the statement starts where t was. */
    struct vm_token start = *t;
    t = &start;
    struct vm_expr *e = parse_expr(c);
    const struct vm_token *n = peek(c);
    if (n->kind == VM_T_COMMA)
        unsupported(c, n->line, n->col, "tuples");
    if (n->kind == VM_T_COLON)
        unsupported(c, n->line, n->col, "variable annotations");
    if (n->kind == VM_T_EQUAL) {
        s = new_stmt(c, VM_S_ASSIGN, t);
        size_t mark = c->nscratch;
        struct vm_expr *value = e;
        bool first = true;
        while (accept(c, VM_T_EQUAL)) {
            struct vm_expr *target = value;
            /* A first target like `1` is judged once the value is read: whether
               the statement goes on with another '=' changes CPython's words. */
            bool later = first && !assignable(target) && bitwise_or_level(target);
            if (!later)
                target_ok(c, target, TARGET_ASSIGN, false);
            scratch_push(c, target);
            if (check(c, VM_T_KW_YIELD))
                bad_token(c, peek(c));
            value = parse_expr(c);
            if (later)
                target_ok(c, target, TARGET_ASSIGN, !check(c, VM_T_EQUAL) && !check(c, VM_T_COLONEQUAL));
            if (check(c, VM_T_COMMA))
                unsupported(c, peek(c)->line, peek(c)->col, "tuples");
            first = false;
        }
        s->u.assign.targets = (struct vm_expr **)scratch_take(c, mark, &s->u.assign.n);
        s->u.assign.value = value;
        return s;
    }
    int op = aug_op(n->kind);
    if (op >= 0) {
        target_ok(c, e, TARGET_AUG, false);
        s = new_stmt(c, VM_S_AUGASSIGN, t);
        advance(c);
        s->u.aug.target = e;
        s->u.aug.op = (uint8_t)op;
        if (check(c, VM_T_KW_YIELD))
            bad_token(c, peek(c));
        s->u.aug.value = parse_expr(c);
        if (check(c, VM_T_COMMA))
            unsupported(c, peek(c)->line, peek(c)->col, "tuples");
        return s;
    }
    if (is_other_augassign(n->kind))
        unsupported(c, n->line, n->col, "this augmented assignment operator");
    s = new_stmt(c, VM_S_EXPR, t);
    s->u.expr = e;
    return s;
}

/* Simple statements separated by ';' up to the end of the line. */
static void parse_simple_line(struct vm_compiler *c)
{
    for (;;) {
        scratch_push(c, parse_small(c));
        if (!accept(c, VM_T_SEMI))
            break;
        if (check(c, VM_T_NEWLINE) || check(c, VM_T_EOF))
            break;
    }
    const struct vm_token *t = peek(c);
    if (t->kind == VM_T_EOF)
        return;
    if (t->kind != VM_T_NEWLINE)
        bad_token(c, t);
    advance(c);
}

static struct vm_stmt *parse_if(struct vm_compiler *c)
{
    const struct vm_token *t = peek(c);
    struct vm_stmt *s = new_stmt(c, VM_S_IF, t);
    int line = t->line;
    advance(c);
    size_t mark = c->nscratch;
    int nbranches = 0, caplines = 4;
    int *lines = vm_arena_alloc(c, sizeof(int) * (size_t)caplines);
    const char *what = "'if' statement";
    for (;;) {
        if (nbranches == caplines) {
            int *nl = vm_arena_alloc(c, sizeof(int) * (size_t)caplines * 2);
            memcpy(nl, lines, sizeof(int) * (size_t)caplines);
            lines = nl;
            caplines *= 2;
        }
        lines[nbranches] = line;
        scratch_push(c, parse_expr(c));
        struct vm_block *b = vm_arena_alloc(c, sizeof *b);
        *b = parse_suite(c, what, line);
        scratch_push(c, b);
        nbranches++;
        const struct vm_token *n = peek(c);
        if (n->kind != VM_T_KW_ELIF)
            break;
        line = n->line;
        what = "'elif' statement";
        advance(c);
    }
    int n;
    void **items = scratch_take(c, mark, &n);
    s->u.ifs.n = nbranches;
    s->u.ifs.lines = lines;
    s->u.ifs.tests = vm_arena_alloc(c, sizeof(struct vm_expr *) * (size_t)nbranches);
    s->u.ifs.bodies = vm_arena_alloc(c, sizeof(struct vm_block) * (size_t)nbranches);
    for (int i = 0; i < nbranches; i++) {
        s->u.ifs.tests[i] = items[2 * i];
        s->u.ifs.bodies[i] = *(struct vm_block *)items[2 * i + 1];
    }
    if (check(c, VM_T_KW_ELSE)) {
        int eline = peek(c)->line;
        advance(c);
        s->u.ifs.orelse = parse_suite(c, "'else' statement", eline);
    }
    return s;
}

static struct vm_block parse_loop_else(struct vm_compiler *c)
{
    struct vm_block b = {NULL, 0};
    if (check(c, VM_T_KW_ELSE)) {
        int line = peek(c)->line;
        advance(c);
        b = parse_suite(c, "'else' statement", line);
    }
    return b;
}

static struct vm_stmt *parse_while(struct vm_compiler *c)
{
    const struct vm_token *t = peek(c);
    struct vm_stmt *s = new_stmt(c, VM_S_WHILE, t);
    advance(c);
    s->u.wh.test = parse_expr(c);
    c->loop_depth++;
    s->u.wh.body = parse_suite(c, "'while' statement", s->line);
    c->loop_depth--;
    s->u.wh.orelse = parse_loop_else(c);
    return s;
}

static struct vm_stmt *parse_for(struct vm_compiler *c)
{
    const struct vm_token *t = peek(c);
    struct vm_stmt *s = new_stmt(c, VM_S_FOR, t);
    advance(c);
    const struct vm_token *tt = peek(c);
    if (tt->kind == VM_T_LPAR || tt->kind == VM_T_LSQB) {
        /* Unpacking targets such as "for (a, b) in ..." */
        if (tt->kind == VM_T_LSQB)
            unsupported(c, tt->line, tt->col, "unpacking assignments");
    }
    if (tt->kind == VM_T_STAR)
        unsupported(c, tt->line, tt->col, "starred expressions");
    struct vm_expr *target = parse_primary(c);
    if (check(c, VM_T_COMMA))
        unsupported(c, peek(c)->line, peek(c)->col, "tuples");
    target_ok(c, target, TARGET_ASSIGN, false);
    expect(c, VM_T_KW_IN, "'in'");
    s->u.fo.target = target;
    s->u.fo.iter = parse_expr(c);
    if (check(c, VM_T_COMMA))
        unsupported(c, peek(c)->line, peek(c)->col, "tuples");
    c->loop_depth++;
    s->u.fo.body = parse_suite(c, "'for' statement", s->line);
    c->loop_depth--;
    s->u.fo.orelse = parse_loop_else(c);
    return s;
}

static struct vm_stmt *parse_def(struct vm_compiler *c)
{
    const struct vm_token *t = peek(c);
    struct vm_stmt *s = new_stmt(c, VM_S_DEF, t);
    advance(c);
    const struct vm_token *n = peek(c);
    if (n->kind != VM_T_NAME)
        expect(c, VM_T_NAME, "a function name after 'def'");
    s->u.def.name = n->name;
    advance(c);
    if (check(c, VM_T_LSQB))
        unsupported(c, peek(c)->line, peek(c)->col, "type parameters");
    expect(c, VM_T_LPAR, "'('");
    size_t mark = c->nscratch;
    int cap = 4, np = 0;
    int *pcols = vm_arena_alloc(c, sizeof(int) * (size_t)cap);
    while (!check(c, VM_T_RPAR)) {
        const struct vm_token *p = peek(c);
        if (p->kind == VM_T_STAR || p->kind == VM_T_DSTAR)
            unsupported(c, p->line, p->col, "*args and **kwargs parameters");
        if (p->kind == VM_T_SLASH)
            unsupported(c, p->line, p->col, "positional-only markers");
        if (p->kind != VM_T_NAME)
            expect(c, VM_T_NAME, "a parameter name");
        for (size_t i = mark; i < c->nscratch; i++)
            if (c->scratch[i] == (void *)p->name)
                vm_compile_error(c, p->line, p->col,
                                 "SyntaxError: duplicate argument '%s' in function definition", p->name);
        if (np == cap) {
            int *nc = vm_arena_alloc(c, sizeof(int) * (size_t)cap * 2);
            memcpy(nc, pcols, sizeof(int) * (size_t)cap);
            pcols = nc;
            cap *= 2;
        }
        pcols[np++] = p->col;
        scratch_push(c, (void *)p->name);
        advance(c);
        if (check(c, VM_T_EQUAL))
            unsupported(c, peek(c)->line, peek(c)->col, "default parameter values");
        if (check(c, VM_T_COLON))
            unsupported(c, peek(c)->line, peek(c)->col, "annotations");
        if (!accept(c, VM_T_COMMA))
            break;
    }
    expect(c, VM_T_RPAR, "')' or ','");
    if (check(c, VM_T_RARROW))
        unsupported(c, peek(c)->line, peek(c)->col, "annotations");
    s->u.def.params = (const char **)scratch_take(c, mark, &s->u.def.nparams);
    s->u.def.pcols = pcols;
    if (s->u.def.nparams > 255)
        vm_compile_error(c, s->line, s->col, "SyntaxError: more than 255 parameters");
    s->u.def.body = parse_body(c, true, "function definition", s->line);
    return s;
}

static struct vm_stmt *parse_class(struct vm_compiler *c)
{
    const struct vm_token *t = peek(c);
    struct vm_stmt *s = new_stmt(c, VM_S_CLASS, t);
    advance(c);
    const struct vm_token *n = peek(c);
    if (n->kind != VM_T_NAME)
        expect(c, VM_T_NAME, "a class name after 'class'");
    s->u.cls.name = n->name;
    advance(c);
    if (check(c, VM_T_LSQB))
        unsupported(c, peek(c)->line, peek(c)->col, "type parameters");
    if (accept(c, VM_T_LPAR)) {
        if (!check(c, VM_T_RPAR)) {
            const struct vm_token *a = peek(c);
            if (a->kind == VM_T_STAR || a->kind == VM_T_DSTAR)
                unsupported(c, a->line, a->col, "*args and **kwargs arguments");
            if (a->kind == VM_T_NAME && peek2(c)->kind == VM_T_EQUAL)
                unsupported(c, a->line, a->col, "class keywords (metaclass=...)");
            s->u.cls.base = parse_expr(c);
            if (accept(c, VM_T_COMMA) && !check(c, VM_T_RPAR))
                unsupported(c, peek(c)->line, peek(c)->col, "multiple inheritance");
        }
        expect(c, VM_T_RPAR, "')'");
    }
    s->u.cls.body = parse_body(c, false, "class definition", s->line);
    return s;
}

/* The body of a def (is_def) or a class: a new scope for `return`, loops
   and `nonlocal`. */
static struct vm_block parse_body(struct vm_compiler *c, bool is_def, const char *what, int line)
{
    bool saved_in_def = c->in_def;
    int saved_loops = c->loop_depth;
    c->in_def = is_def;
    c->loop_depth = 0;
    c->scope_depth++;
    struct vm_block b = parse_suite(c, what, line);
    c->scope_depth--;
    c->in_def = saved_in_def;
    c->loop_depth = saved_loops;
    return b;
}

/* One line: a compound statement, or simple statements separated by ';'.
   Pushes the statements onto the scratch stack. */
static void parse_line(struct vm_compiler *c)
{
    const struct vm_token *t = peek(c);
    switch (t->kind) {
    case VM_T_KW_IF:
        scratch_push(c, parse_if(c));
        return;
    case VM_T_KW_WHILE:
        scratch_push(c, parse_while(c));
        return;
    case VM_T_KW_FOR:
        scratch_push(c, parse_for(c));
        return;
    case VM_T_KW_DEF:
        scratch_push(c, parse_def(c));
        return;
    case VM_T_KW_CLASS:
        scratch_push(c, parse_class(c));
        return;
    case VM_T_KW_ELIF:
    case VM_T_KW_ELSE:
        vm_compile_error(c, t->line, t->col, "SyntaxError: invalid syntax ('%s' without a matching 'if')",
                         vm_tok_text(t->kind));
    case VM_T_DEDENT:
        vm_compile_error(c, t->line, t->col, "IndentationError: unexpected unindent");
    default:
        parse_simple_line(c);
    }
}

bool vm_parse_line(struct vm_compiler *c, struct vm_block *out)
{
    const struct vm_token *t = peek(c);
    if (t->kind == VM_T_EOF)
        return false;
    if (t->kind == VM_T_INDENT)
        bad_token(c, t);
    size_t mark = c->nscratch;
    parse_line(c);
    out->v = (struct vm_stmt **)scratch_take(c, mark, &out->n);
    return true;
}
