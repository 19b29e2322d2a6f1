/*
 * dis.c — `gillab dis`: the layout of Python's dis module (3.8's argument
 * conventions, the column layout every version since shares):
 *
 *     LINE  >>  OFFSET OPNAME               ARG (ARGREPR)
 *
 * the line number only on the first instruction of a source line (with a
 * blank line before it), ">>" on jump targets, then each function's code after
 * "Disassembly of <code object NAME at 0x..., file "FILE", line N>:". The
 * addresses are stable fakes derived from the code object's index.
 */
#include <stdlib.h>
#include <string.h>

#include "core.h"

static const char *const op_names[256] = {
#define VM_OP_NAME(name, num, kind) [num] = #name,
    VM_OPCODES(VM_OP_NAME)
#undef VM_OP_NAME
};

static const unsigned char op_kinds[256] = {
#define VM_OP_KIND(name, num, kind) [num] = kind,
    VM_OPCODES(VM_OP_KIND)
#undef VM_OP_KIND
};

const char *vm_opcode_name(int op)
{
    return op >= 0 && op < 256 ? op_names[op] : NULL;
}

enum vm_argkind vm_opcode_argkind(int op)
{
    return op >= 0 && op < 256 ? (enum vm_argkind)op_kinds[op] : VM_ARG_NONE;
}

const char *vm_cmp_name(int cmp)
{
    static const char *const names[] = {"<", "<=", "==", "!=", ">", ">=", "in", "not in", "is", "is not"};
    return cmp >= 0 && cmp < (int)(sizeof names / sizeof names[0]) ? names[cmp] : "BAD";
}

struct dis_instr {
    size_t offset;     /* bytes */
    int op;
    long arg;          /* with EXTENDED_ARG prefixes folded in; -1 when none */
    int line;          /* starts_line, or 0 */
};

static void dis_code(const struct vm_code *co, FILE *out)
{
    size_t n = co->ncode;
    /* Jump targets first, for the ">>" column. */
    unsigned char *target = calloc(n + 1, 1);
    if (!target)
        return;
    long ext = 0;
    int maxline = 0;
    for (size_t i = 0; i < n; i++) {
        int op = co->code[2 * i];
        long arg = co->code[2 * i + 1] | ext;
        ext = op == VM_OP_EXTENDED_ARG ? arg << 8 : 0;
        enum vm_argkind k = vm_opcode_argkind(op);
        size_t t = (size_t)-1;
        if (k == VM_ARG_JABS)
            t = (size_t)arg / 2;
        else if (k == VM_ARG_JREL)
            t = i + 1 + (size_t)arg / 2;
        if (t <= n)
            target[t] = 1;
        if (co->lines[i] > maxline)
            maxline = co->lines[i];
    }
    int lineno_width = maxline >= 1000 ? snprintf(NULL, 0, "%d", maxline) : 3;
    size_t maxoffset = n ? 2 * n - 2 : 0;
    int offset_width = maxoffset >= 10000 ? snprintf(NULL, 0, "%zu", maxoffset) : 4;
    ext = 0;
    for (size_t i = 0; i < n; i++) {
        int op = co->code[2 * i];
        long arg = co->code[2 * i + 1] | ext;
        ext = op == VM_OP_EXTENDED_ARG ? arg << 8 : 0;
        bool starts = i == 0 || co->lines[i] != co->lines[i - 1];
        if (starts && i > 0)
            fputc('\n', out);
        char line[48], argbuf[32], argrepr[200];
        struct vm_buf constrepr = {0};   /* constants are shown whole, as dis does */
        if (starts)
            snprintf(line, sizeof line, "%*d", lineno_width, co->lines[i]);
        else
            snprintf(line, sizeof line, "%*s", lineno_width, "");
        const char *name = vm_opcode_name(op);
        argrepr[0] = '\0';
        argbuf[0] = '\0';
        if (op >= VM_HAVE_ARGUMENT) {
            snprintf(argbuf, sizeof argbuf, "%5ld", arg);
            switch (vm_opcode_argkind(op)) {
            case VM_ARG_CONST:
                if (arg < co->nconsts)
                    vm_const_repr_into(&constrepr, co->consts[arg]);
                break;
            case VM_ARG_NAME:
                if (arg < co->nnames)
                    snprintf(argrepr, sizeof argrepr, "%s", co->names[arg]);
                break;
            case VM_ARG_LOCAL:
                if (arg < co->nlocals)
                    snprintf(argrepr, sizeof argrepr, "%s", co->varnames[arg]);
                break;
            case VM_ARG_COMPARE:
                snprintf(argrepr, sizeof argrepr, "%s", vm_cmp_name((int)arg));
                break;
            case VM_ARG_FREE:
                if (arg < co->ncells + co->nfrees)
                    snprintf(argrepr, sizeof argrepr, "%s", co->cellvars[arg]);
                break;
            case VM_ARG_MAKEFN: {
                static const char *const flags[] = {"defaults", "kwdefaults", "annotations", "closure"};
                size_t n = 0;
                for (int k = 0; k < 4; k++)
                    if (arg & (1L << k))
                        n += (size_t)snprintf(argrepr + n, sizeof argrepr - n, "%s%s", n ? ", " : "", flags[k]);
                break;
            }
            case VM_ARG_JREL:
                snprintf(argrepr, sizeof argrepr, "to %zu", 2 * i + 2 + (size_t)arg);
                break;
            default:
                break;
            }
        }
        const char *shown = constrepr.p ? constrepr.p : argrepr;
        /* Fields joined by one space, trailing blanks stripped, as dis does. */
        char text[512];
        int len = snprintf(text, sizeof text, "%s     %s %*zu %-20s %s%s", line, target[i] ? ">>" : "  ",
                           offset_width, 2 * i, name ? name : "<unknown>", argbuf, shown[0] ? " (" : "");
        while (len > 0 && text[len - 1] == ' ' && !shown[0])
            text[--len] = '\0';
        fprintf(out, "%s%s%s\n", text, shown, shown[0] ? ")" : "");
        vm_buf_free(&constrepr);
    }
    free(target);
}

static void dis_recursive(const struct vm_code *co, FILE *out)
{
    dis_code(co, out);
    for (int i = 0; i < co->nconsts; i++) {
        const struct vm_object *c = co->consts[i];
        if (c->type != &vm_code_type)
            continue;
        struct vm_buf repr = {0};
        vm_const_repr_into(&repr, c);
        fprintf(out, "\nDisassembly of %s:\n", repr.p ? repr.p : "?");
        vm_buf_free(&repr);
        dis_recursive((const struct vm_code *)c, out);
    }
}

void vm_dis(const struct vm_program *p, FILE *out)
{
    if (p && p->ncodes > 0)
        dis_recursive(p->codes[0], out);
}
