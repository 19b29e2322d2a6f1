/*
 * compile.h — the compiler's private pieces: the token stream (lex.c), the
 * syntax tree and the parser (parse.c), and the code generator (compile.c).
 *
 * Errors anywhere in compiling longjmp back to vm_compile_source with the
 * message already in the vm_error (Lua's luaD_throw does the same); every
 * allocation made while compiling is reachable from the compiler state, so the
 * one cleanup path frees it all.
 *
 * The module is compiled one top-level statement at a time: parse a statement
 * into the arena, generate its code, reset the arena. A def is a statement, so
 * a function's whole body is in memory while it is compiled (name resolution
 * needs it); the module as a whole never is, which keeps a 10 MB file cheap.
 *
 * A compile runs on one thread and shares nothing: none of the structures
 * below needs a lock. Their result, the program, is immutable afterwards.
 */
#ifndef VM_COMPILE_H
#define VM_COMPILE_H

#include <setjmp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

/* ---- arena --------------------------------------------------------------------------- */

struct vm_arena_block;
struct vm_arena {
    struct vm_arena_block *head;    /* current block */
    size_t used_bytes;              /* total handed out since the last reset */
};

/* ---- hash map (open addressing; keys are pointers hashed by the caller) ------------------ */

struct vm_map_entry {
    const void *key;                /* NULL: empty */
    uint64_t hash;
    int value;
};

struct vm_map {
    struct vm_map_entry *e;
    size_t cap, n;                  /* cap: a power of two, or 0 */
};

/* ---- interned identifiers ------------------------------------------------------------ */

struct vm_intern *vm_intern_new(void);
void vm_intern_free(struct vm_intern *t);
/* The one copy of s[0..len); NULL on no memory. */
const char *vm_intern(struct vm_intern *t, const char *s, size_t len);

/* ---- tokens --------------------------------------------------------------------------- */

#define VM_KEYWORDS(X)                                                            \
    X(FALSE, "False") X(NONE, "None") X(TRUE, "True") X(AND, "and") X(AS, "as")   \
    X(ASSERT, "assert") X(ASYNC, "async") X(AWAIT, "await") X(BREAK, "break")     \
    X(CLASS, "class") X(CONTINUE, "continue") X(DEF, "def") X(DEL, "del")         \
    X(ELIF, "elif") X(ELSE, "else") X(EXCEPT, "except") X(FINALLY, "finally")     \
    X(FOR, "for") X(FROM, "from") X(GLOBAL, "global") X(IF, "if")                 \
    X(IMPORT, "import") X(IN, "in") X(IS, "is") X(LAMBDA, "lambda")               \
    X(NONLOCAL, "nonlocal") X(NOT, "not") X(OR, "or") X(PASS, "pass")             \
    X(RAISE, "raise") X(RETURN, "return") X(TRY, "try") X(WHILE, "while")         \
    X(WITH, "with") X(YIELD, "yield")

/* Operators, longest first within a common prefix is handled by the lexer. */
#define VM_OPERATORS(X)                                                           \
    X(LPAR, "(") X(RPAR, ")") X(LSQB, "[") X(RSQB, "]") X(LBRACE, "{")            \
    X(RBRACE, "}") X(COLON, ":") X(COMMA, ",") X(SEMI, ";") X(DOT, ".")           \
    X(PLUS, "+") X(MINUS, "-") X(STAR, "*") X(SLASH, "/") X(DSLASH, "//")         \
    X(PERCENT, "%") X(DSTAR, "**") X(EQUAL, "=") X(EQEQUAL, "==")                 \
    X(NOTEQUAL, "!=") X(LESS, "<") X(LESSEQUAL, "<=") X(GREATER, ">")             \
    X(GREATEREQUAL, ">=") X(PLUSEQUAL, "+=") X(MINEQUAL, "-=")                    \
    X(STAREQUAL, "*=") X(SLASHEQUAL, "/=") X(DSLASHEQUAL, "//=")                  \
    X(PERCENTEQUAL, "%=") X(DSTAREQUAL, "**=") X(RARROW, "->") X(AT, "@")         \
    X(ATEQUAL, "@=") X(AMPER, "&") X(AMPEREQUAL, "&=") X(VBAR, "|")               \
    X(VBAREQUAL, "|=") X(CIRCUMFLEX, "^") X(CIRCUMFLEXEQUAL, "^=")                \
    X(TILDE, "~") X(LSHIFT, "<<") X(LSHIFTEQUAL, "<<=") X(RSHIFT, ">>")           \
    X(RSHIFTEQUAL, ">>=") X(COLONEQUAL, ":=") X(ELLIPSIS, "...")

enum vm_tok {
    VM_T_EOF, VM_T_NEWLINE, VM_T_INDENT, VM_T_DEDENT, VM_T_NAME, VM_T_INT, VM_T_FLOAT,
    VM_T_STRING,
#define VM_T_KW(id, text) VM_T_KW_##id,
    VM_KEYWORDS(VM_T_KW)
#undef VM_T_KW
#define VM_T_OPR(id, text) VM_T_##id,
    VM_OPERATORS(VM_T_OPR)
#undef VM_T_OPR
    VM_T_COUNT
};

struct vm_token {
    enum vm_tok kind;
    int line, col;                  /* 1-based; col counts bytes */
    const char *name;               /* NAME: interned */
    uint64_t ival;                  /* INT: magnitude */
    bool ibig;                      /* INT: does not fit in 64 bits */
    double fval;                    /* FLOAT */
    char *str;                      /* STRING: decoded UTF-8 (lexer-owned buffer) */
    size_t slen;
    size_t strcap;                  /* capacity of str */
    const char *text;               /* start of the token in the source */
    size_t textlen;
};

struct vm_compiler;

struct vm_lexer {
    const char *src;                /* whole file, validated UTF-8 without NULs */
    size_t len, pos;
    int line;                       /* current line, 1-based */
    size_t line_start;              /* offset of the current line's first byte */
    int indents[VM_MAX_INDENT + 1]; /* indentation columns (tabs to 8) */
    int altindents[VM_MAX_INDENT + 1]; /* the same with tabs as 1 (TabError check) */
    int nindent;
    int pending_dedents;
    bool at_bol;                    /* at the beginning of a logical line */
    bool line_has_tokens;           /* the logical line has produced a token */
    int nparen;                     /* open brackets */
    struct { char ch; int line, col; } parens[VM_MAX_NESTING + 1];
    struct vm_token la[3];          /* la[0..nla): lookahead; la[2]: the token last consumed */
    int nla;                        /* tokens buffered in la */
    struct vm_compiler *c;
};

void vm_lex_init(struct vm_lexer *lx, struct vm_compiler *c, const char *src, size_t len);
void vm_lex_free(struct vm_lexer *lx);
/* Look at the next (k=0) or the one after (k=1) token without consuming. */
const struct vm_token *vm_lex_peek(struct vm_lexer *lx, int k);
/* Consume the next token; the returned pointer is valid until the next peek/advance. */
struct vm_token *vm_lex_advance(struct vm_lexer *lx);
const char *vm_tok_text(enum vm_tok kind);

/* ---- syntax tree ---------------------------------------------------------------------- */

enum vm_expr_kind {
    VM_E_INT, VM_E_FLOAT, VM_E_STR, VM_E_NONE, VM_E_TRUE, VM_E_FALSE, VM_E_NAME,
    VM_E_BINOP, VM_E_UNARY, VM_E_NOT, VM_E_BOOLOP, VM_E_COMPARE, VM_E_CALL, VM_E_ATTR,
    VM_E_SUBSCR, VM_E_LIST,
    VM_E_CONST,     /* made by constant folding (compile.c): every literal, and folded operations */
    VM_E_TUPLE,     /* made by constant folding: the list of `for x in [a, b]` */
};

enum vm_unop { VM_UN_NEG, VM_UN_POS };

struct vm_expr {
    uint8_t kind;                   /* enum vm_expr_kind */
    uint8_t op;                     /* BINOP: enum vm_binop; UNARY: vm_unop; BOOLOP: 1 = or */
    int line, col;
    int depth;                      /* height of this subtree */
    union {
        struct { uint64_t mag; bool neg, big; const char *text; } i;  /* INT */
        double f;                                                     /* FLOAT */
        struct { const char *s; size_t len; } s;                      /* STR */
        const char *name;                                             /* NAME */
        struct { struct vm_expr *l, *r; } bin;                        /* BINOP */
        struct vm_expr *operand;                                      /* UNARY, NOT */
        struct { struct vm_expr **v; int n; } seq;                    /* BOOLOP, LIST */
        struct { struct vm_expr **v; uint8_t *ops; int n; } cmp;      /* COMPARE: n ops, n+1 values */
        struct { struct vm_expr *fn; struct vm_expr **args; int n; } call;
        struct { struct vm_expr *value; const char *name; } attr;
        struct { struct vm_expr *value, *index; } sub;
        struct vm_object *obj;                                        /* CONST: a program constant */
    } u;
};

struct vm_block {
    struct vm_stmt **v;
    int n;
};

enum vm_stmt_kind {
    VM_S_EXPR, VM_S_ASSIGN, VM_S_AUGASSIGN, VM_S_IF, VM_S_WHILE, VM_S_FOR, VM_S_BREAK,
    VM_S_CONTINUE, VM_S_PASS, VM_S_RETURN, VM_S_GLOBAL, VM_S_IMPORT, VM_S_DEF, VM_S_CLASS,
    VM_S_DEL, VM_S_NONLOCAL,
};

struct vm_scope;   /* a symbol table scope (compile.c) */

/* vm_stmt.flags of an expression statement first in its body (CPython's
   _PyAST_GetDocString and astfold_body): */
#define VM_STMT_DOCSTRING 1   /* a string literal: the docstring, not code */
#define VM_STMT_KEEP 2        /* a constant only by folding: loaded and popped */

struct vm_stmt {
    uint8_t kind;
    uint8_t flags;
    int line, col;
    union {
        struct vm_expr *expr;                                              /* EXPR, RETURN */
        struct { struct vm_expr **targets; int n; struct vm_expr *value; } assign;  /* also DEL */
        struct { struct vm_expr *target; uint8_t op; struct vm_expr *value; } aug;
        struct { struct vm_expr **tests; int *lines; struct vm_block *bodies; int n;
                 struct vm_block orelse; } ifs;                            /* lines: of if/elif */
        struct { struct vm_expr *test; struct vm_block body, orelse; } wh;
        struct { struct vm_expr *target, *iter; struct vm_block body, orelse; } fo;
        struct { const char **names; int *cols; int n; } glob;             /* also NONLOCAL */
        struct { const char *module, *asname; } imp;
        struct { const char *name; const char **params; int *pcols; int nparams;
                 struct vm_block body; struct vm_scope *scope; } def;
        struct { const char *name; struct vm_expr *base; struct vm_block body;
                 struct vm_scope *scope; } cls;                            /* base: NULL or one */
    } u;
};

/* ---- the compiler state shared by the three files ----------------------------------- */

struct vm_compiler {
    const char *filename;
    struct vm_error *err;
    jmp_buf fail;                   /* vm_compile_error longjmps here */
    struct vm_arena arena;          /* syntax tree of the statement being compiled */
    struct vm_lexer lx;
    struct vm_program *prog;        /* being built */
    int nesting;                    /* parser: open brackets/blocks/unary ops */
    bool in_def;                    /* parser: the innermost scope is a function body */
    int scope_depth;                /* parser: enclosing defs and classes (0: module level) */
    int loop_depth;                 /* parser: enclosing loops in this function */
    void **scratch;                 /* parser: stack for building lists */
    size_t nscratch, capscratch;
    struct vm_unit *unit;           /* code generator: current code object (->outer: enclosing) */
    struct vm_unit *module_unit;
    struct vm_scope *module_scope;  /* symbol table: the module's scope (kept) */
    struct vm_scope *scopes;        /* symbol table: every other scope of this statement */
    struct vm_map **tmp_maps;       /* symbol table: the name sets its analysis made */
    size_t ntmp_maps, captmp_maps;
    struct vm_thread *fold_ts;      /* constant folding: a thread state for object.c's arithmetic */
    int no_emit;                    /* code generator: > 0 in dead code (CPython's c_do_not_emit_bytecode) */
    struct vm_map constmap;         /* program-wide constants by value */
    struct vm_map slotmap;          /* interned name -> global slot */
    int capslots, capcodes;         /* capacities of prog->slot_* and prog->codes */
};

_Noreturn void vm_compile_error(struct vm_compiler *c, int line, int col, const char *fmt, ...)
    VM_PRINTF(4, 5);
_Noreturn void vm_compile_nomem(struct vm_compiler *c);
void *vm_arena_alloc(struct vm_compiler *c, size_t n);
void vm_arena_reset(struct vm_arena *a);
void vm_arena_free(struct vm_arena *a);

/* Parse one top-level line (a compound statement, or simple statements joined
   by ';') into *out; false at the end of the file. */
bool vm_parse_line(struct vm_compiler *c, struct vm_block *out);

#endif
