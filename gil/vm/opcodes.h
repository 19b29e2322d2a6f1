/*
 * opcodes.h — the one list of opcodes (Lua style): the enum, the name table,
 * the argument kinds for dis and the eval loop's jump table are all generated
 * from VM_OPCODES below. Names and numbers are CPython 3.8's (Lib/opcode.py),
 * so `gillab dis` reads like `python3.8 -m dis`. Arguments are one byte, widened
 * by EXTENDED_ARG prefixes; jump arguments are byte offsets (absolute for the
 * JABS kind, relative to the next instruction for JREL), as in 3.8.
 *
 * One opcode is our own: RAISE_OVERFLOW stands where an int literal too big for
 * 64 bits was written; it raises OverflowError when (and only if) it runs.
 */
#ifndef VM_OPCODES_H
#define VM_OPCODES_H

/* What an instruction's argument means, for dis and the stack-depth pass. */
enum vm_argkind {
    VM_ARG_NONE,     /* no argument (printed blank) */
    VM_ARG_COUNT,    /* a count: items, positional args, flags */
    VM_ARG_CONST,    /* index into co_consts */
    VM_ARG_NAME,     /* index into co_names */
    VM_ARG_LOCAL,    /* index into co_varnames */
    VM_ARG_COMPARE,  /* index into the comparison operator table */
    VM_ARG_JABS,     /* absolute jump target (byte offset) */
    VM_ARG_JREL,     /* jump target relative to the next instruction (bytes) */
    VM_ARG_FREE,     /* index into co_cellvars + co_freevars */
    VM_ARG_MAKEFN,   /* MAKE_FUNCTION's flags (0x08: a closure tuple is on the stack) */
};

/*  X(name, CPython 3.8 number, argument kind) */
#define VM_OPCODES(X)                                   \
    X(POP_TOP, 1, VM_ARG_NONE)                          \
    X(ROT_TWO, 2, VM_ARG_NONE)                          \
    X(ROT_THREE, 3, VM_ARG_NONE)                        \
    X(DUP_TOP, 4, VM_ARG_NONE)                          \
    X(DUP_TOP_TWO, 5, VM_ARG_NONE)                      \
    X(NOP, 9, VM_ARG_NONE)                              \
    X(UNARY_POSITIVE, 10, VM_ARG_NONE)                  \
    X(UNARY_NEGATIVE, 11, VM_ARG_NONE)                  \
    X(UNARY_NOT, 12, VM_ARG_NONE)                       \
    X(BINARY_MULTIPLY, 20, VM_ARG_NONE)                 \
    X(BINARY_MODULO, 22, VM_ARG_NONE)                   \
    X(BINARY_ADD, 23, VM_ARG_NONE)                      \
    X(BINARY_SUBTRACT, 24, VM_ARG_NONE)                 \
    X(BINARY_SUBSCR, 25, VM_ARG_NONE)                   \
    X(BINARY_FLOOR_DIVIDE, 26, VM_ARG_NONE)             \
    X(BINARY_TRUE_DIVIDE, 27, VM_ARG_NONE)              \
    X(INPLACE_FLOOR_DIVIDE, 28, VM_ARG_NONE)            \
    X(INPLACE_TRUE_DIVIDE, 29, VM_ARG_NONE)             \
    X(INPLACE_ADD, 55, VM_ARG_NONE)                     \
    X(INPLACE_SUBTRACT, 56, VM_ARG_NONE)                \
    X(INPLACE_MULTIPLY, 57, VM_ARG_NONE)                \
    X(INPLACE_MODULO, 59, VM_ARG_NONE)                  \
    X(STORE_SUBSCR, 60, VM_ARG_NONE)                    \
    X(DELETE_SUBSCR, 61, VM_ARG_NONE)                   \
    X(GET_ITER, 68, VM_ARG_NONE)                        \
    X(LOAD_BUILD_CLASS, 71, VM_ARG_NONE)                \
    X(RETURN_VALUE, 83, VM_ARG_NONE)                    \
    X(STORE_NAME, 90, VM_ARG_NAME)                      \
    X(DELETE_NAME, 91, VM_ARG_NAME)                     \
    X(FOR_ITER, 93, VM_ARG_JREL)                        \
    X(STORE_ATTR, 95, VM_ARG_NAME)                      \
    X(DELETE_ATTR, 96, VM_ARG_NAME)                     \
    X(STORE_GLOBAL, 97, VM_ARG_NAME)                    \
    X(DELETE_GLOBAL, 98, VM_ARG_NAME)                   \
    X(LOAD_CONST, 100, VM_ARG_CONST)                    \
    X(LOAD_NAME, 101, VM_ARG_NAME)                      \
    X(BUILD_TUPLE, 102, VM_ARG_COUNT)                   \
    X(BUILD_LIST, 103, VM_ARG_COUNT)                    \
    X(LOAD_ATTR, 106, VM_ARG_NAME)                      \
    X(COMPARE_OP, 107, VM_ARG_COMPARE)                  \
    X(IMPORT_NAME, 108, VM_ARG_NAME)                    \
    X(JUMP_FORWARD, 110, VM_ARG_JREL)                   \
    X(JUMP_IF_FALSE_OR_POP, 111, VM_ARG_JABS)           \
    X(JUMP_IF_TRUE_OR_POP, 112, VM_ARG_JABS)            \
    X(JUMP_ABSOLUTE, 113, VM_ARG_JABS)                  \
    X(POP_JUMP_IF_FALSE, 114, VM_ARG_JABS)              \
    X(POP_JUMP_IF_TRUE, 115, VM_ARG_JABS)               \
    X(LOAD_GLOBAL, 116, VM_ARG_NAME)                    \
    X(LOAD_FAST, 124, VM_ARG_LOCAL)                     \
    X(STORE_FAST, 125, VM_ARG_LOCAL)                    \
    X(DELETE_FAST, 126, VM_ARG_LOCAL)                   \
    X(CALL_FUNCTION, 131, VM_ARG_COUNT)                 \
    X(MAKE_FUNCTION, 132, VM_ARG_MAKEFN)                \
    X(LOAD_CLOSURE, 135, VM_ARG_FREE)                   \
    X(LOAD_DEREF, 136, VM_ARG_FREE)                     \
    X(STORE_DEREF, 137, VM_ARG_FREE)                    \
    X(DELETE_DEREF, 138, VM_ARG_FREE)                   \
    X(EXTENDED_ARG, 144, VM_ARG_COUNT)                  \
    X(LOAD_CLASSDEREF, 148, VM_ARG_FREE)                \
    X(LOAD_METHOD, 160, VM_ARG_NAME)                    \
    X(CALL_METHOD, 161, VM_ARG_COUNT)                   \
    X(RAISE_OVERFLOW, 200, VM_ARG_CONST)

enum vm_opcode {
#define VM_OP_ENUM(name, num, kind) VM_OP_##name = num,
    VM_OPCODES(VM_OP_ENUM)
#undef VM_OP_ENUM
};

/* Opcodes from here on take an argument (as CPython's HAVE_ARGUMENT). */
#define VM_HAVE_ARGUMENT 90

/* MAKE_FUNCTION's flag for a closure tuple below the code object (3.8's 0x08). */
#define VM_MAKEFN_CLOSURE 0x08

/* COMPARE_OP arguments, CPython 3.8's cmp_op order. */
enum vm_cmp { VM_CMP_LT, VM_CMP_LE, VM_CMP_EQ, VM_CMP_NE, VM_CMP_GT, VM_CMP_GE,
              VM_CMP_IN, VM_CMP_NOT_IN, VM_CMP_IS, VM_CMP_IS_NOT };

/* Its argument kind (VM_ARG_NONE for unknown opcodes). */
enum vm_argkind vm_opcode_argkind(int op);
/* Text of a COMPARE_OP argument ("<", "==", "is not", ...). */
const char *vm_cmp_name(int cmp);

#endif
