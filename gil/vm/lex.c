/*
 * lex.c — the tokenizer: source text to tokens, with Python's rules for
 * logical lines, INDENT/DEDENT and implicit line joining inside brackets.
 *
 * Indentation follows CPython's Parser/tokenizer.c: a line's indentation is
 * measured twice, with tabs to the next multiple of 8 and with tabs as one
 * column; if the two measures disagree about the order of two lines, the file
 * mixes tabs and spaces inconsistently (TabError). Blank and comment-only lines
 * never change indentation. The source reaching the lexer is already known to
 * be UTF-8 without NUL bytes (compile.c checks that first).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "compile.h"

static const char *const tok_texts[VM_T_COUNT] = {
    [VM_T_EOF] = "end of file", [VM_T_NEWLINE] = "newline", [VM_T_INDENT] = "indent",
    [VM_T_DEDENT] = "dedent", [VM_T_NAME] = "name", [VM_T_INT] = "number",
    [VM_T_FLOAT] = "number", [VM_T_STRING] = "string",
#define VM_T_KWTEXT(id, text) [VM_T_KW_##id] = text,
    VM_KEYWORDS(VM_T_KWTEXT)
#undef VM_T_KWTEXT
#define VM_T_OPTEXT(id, text) [VM_T_##id] = text,
    VM_OPERATORS(VM_T_OPTEXT)
#undef VM_T_OPTEXT
};

const char *vm_tok_text(enum vm_tok kind)
{
    return (unsigned)kind < VM_T_COUNT && tok_texts[kind] ? tok_texts[kind] : "?";
}

static int peekc(const struct vm_lexer *lx, size_t k)
{
    return lx->pos + k < lx->len ? (unsigned char)lx->src[lx->pos + k] : -1;
}

static int col_at(const struct vm_lexer *lx, size_t pos)
{
    return (int)(pos - lx->line_start) + 1;
}

static bool is_newline(int c) { return c == '\n' || c == '\r'; }
static bool is_ident_start(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_ident(int c) { return is_ident_start(c) || is_digit(c); }

/* Consume one line ending ("\n", "\r\n" or "\r"). */
static void eat_newline(struct vm_lexer *lx)
{
    if (peekc(lx, 0) == '\r' && peekc(lx, 1) == '\n')
        lx->pos++;
    lx->pos++;
    lx->line++;
    lx->line_start = lx->pos;
}

static void skip_comment(struct vm_lexer *lx)
{
    while (lx->pos < lx->len && !is_newline((unsigned char)lx->src[lx->pos]))
        lx->pos++;
}

void vm_lex_init(struct vm_lexer *lx, struct vm_compiler *c, const char *src, size_t len)
{
    memset(lx, 0, sizeof *lx);
    lx->c = c;
    lx->src = src;
    lx->len = len;
    lx->line = 1;
    lx->at_bol = true;
    /* A UTF-8 byte order mark is allowed at the very start, as in CPython. */
    if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0)
        lx->pos = lx->line_start = 3;
}

void vm_lex_free(struct vm_lexer *lx)
{
    for (int i = 0; i < 3; i++) {
        free(lx->la[i].str);
        lx->la[i].str = NULL;
        lx->la[i].strcap = 0;
    }
}

/* ---- strings ------------------------------------------------------------------------ */

static void str_put(struct vm_lexer *lx, struct vm_token *t, const char *s, size_t n)
{
    if (t->slen + n + 1 > t->strcap) {
        size_t cap = t->strcap ? t->strcap : 64;
        while (cap < t->slen + n + 1)
            cap *= 2;
        char *p = realloc(t->str, cap);
        if (!p)
            vm_compile_nomem(lx->c);
        t->str = p;
        t->strcap = cap;
    }
    memcpy(t->str + t->slen, s, n);
    t->slen += n;
    t->str[t->slen] = '\0';
}

static void str_put_cp(struct vm_lexer *lx, struct vm_token *t, uint32_t cp)
{
    char b[4];
    size_t n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    str_put(lx, t, b, n);
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* One escape sequence after a backslash (non-raw strings). */
static void lex_escape(struct vm_lexer *lx, struct vm_token *t)
{
    int line = lx->line, col = col_at(lx, lx->pos);
    lx->pos++;  /* the backslash */
    int c = peekc(lx, 0);
    if (is_newline(c)) {            /* backslash-newline: line continuation inside the string */
        eat_newline(lx);
        return;
    }
    lx->pos++;
    switch (c) {
    case '\\': str_put(lx, t, "\\", 1); return;
    case '\'': str_put(lx, t, "'", 1); return;
    case '"': str_put(lx, t, "\"", 1); return;
    case 'a': str_put(lx, t, "\a", 1); return;
    case 'b': str_put(lx, t, "\b", 1); return;
    case 'f': str_put(lx, t, "\f", 1); return;
    case 'n': str_put(lx, t, "\n", 1); return;
    case 'r': str_put(lx, t, "\r", 1); return;
    case 't': str_put(lx, t, "\t", 1); return;
    case 'v': str_put(lx, t, "\v", 1); return;
    case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
        uint32_t v = (uint32_t)(c - '0');
        for (int i = 0; i < 2 && peekc(lx, 0) >= '0' && peekc(lx, 0) <= '7'; i++)
            v = v * 8 + (uint32_t)(lx->src[lx->pos++] - '0');
        str_put_cp(lx, t, v);
        return;
    }
    case 'x': case 'u': case 'U': {
        int ndig = c == 'x' ? 2 : c == 'u' ? 4 : 8;
        uint32_t v = 0;
        for (int i = 0; i < ndig; i++) {
            int h = hexval(peekc(lx, 0));
            if (h < 0)
                vm_compile_error(lx->c, line, col, "SyntaxError: (unicode error) truncated \\%c escape", c);
            v = v * 16 + (uint32_t)h;
            lx->pos++;
        }
        if (v > 0x10FFFF)
            vm_compile_error(lx->c, line, col, "SyntaxError: (unicode error) illegal Unicode character");
        if (v >= 0xD800 && v <= 0xDFFF)
            vm_compile_error(lx->c, line, col,
                             "SyntaxError: surrogate code points: not supported in gillab's Python subset");
        str_put_cp(lx, t, v);
        return;
    }
    case 'N':
        vm_compile_error(lx->c, line, col,
                         "SyntaxError: \\N{...} escapes: not supported in gillab's Python subset");
    default:
        /* Unknown escapes keep their backslash, as in Python. The next char
           may be a multi-byte sequence: back up and copy it verbatim below. */
        lx->pos--;
        str_put(lx, t, "\\", 1);
        return;
    }
}

static void lex_string(struct vm_lexer *lx, struct vm_token *t, bool raw)
{
    int line = lx->line, col = col_at(lx, lx->pos);
    int q = peekc(lx, 0);
    bool triple = peekc(lx, 1) == q && peekc(lx, 2) == q;
    lx->pos += triple ? 3 : 1;
    t->kind = VM_T_STRING;
    t->slen = 0;
    str_put(lx, t, "", 0);
    for (;;) {
        int c = peekc(lx, 0);
        if (c < 0 || (!triple && is_newline(c))) {
            if (triple)
                vm_compile_error(lx->c, line, col,
                                 "SyntaxError: unterminated triple-quoted string literal (detected at line %d)",
                                 lx->line);
            vm_compile_error(lx->c, line, col,
                             "SyntaxError: unterminated string literal (detected at line %d)", lx->line);
        }
        if (c == q && (!triple || (peekc(lx, 1) == q && peekc(lx, 2) == q))) {
            lx->pos += triple ? 3 : 1;
            return;
        }
        if (c == '\\') {
            if (!raw) {
                lex_escape(lx, t);
                continue;
            }
            /* Raw: the backslash stays and protects the next character. */
            str_put(lx, t, "\\", 1);
            lx->pos++;
            c = peekc(lx, 0);
            if (c < 0)
                continue;
            if (is_newline(c)) {
                str_put(lx, t, "\n", 1);
                eat_newline(lx);
                continue;
            }
            str_put(lx, t, &lx->src[lx->pos], 1);
            lx->pos++;
            continue;
        }
        if (is_newline(c)) {        /* only in triple-quoted strings */
            str_put(lx, t, "\n", 1);
            eat_newline(lx);
            continue;
        }
        str_put(lx, t, &lx->src[lx->pos], 1);
        lx->pos++;
    }
}

/* ---- numbers --------------------------------------------------------------------------- */

/* Digits of `base` with single underscores between them; at least one digit.
   Appends the digits (without underscores) to buf. Returns digits read. */
static size_t scan_digits(struct vm_lexer *lx, int base, char *buf, size_t *blen, size_t bcap,
                          bool allow_leading_underscore)
{
    size_t n = 0;
    for (;;) {
        int c = peekc(lx, 0);
        if (c == '_' && (n > 0 || allow_leading_underscore)) {
            int d = peekc(lx, 1);
            int v = hexval(d);
            if (v < 0 || v >= base)
                return n | ((size_t)1 << 62);   /* underscore not followed by a digit */
            lx->pos++;
            continue;
        }
        int v = hexval(c);
        if (v < 0 || v >= base)
            return n;
        if (*blen + 1 < bcap)
            buf[(*blen)++] = (char)c;
        else
            *blen = bcap;   /* marks overflow of the buffer */
        lx->pos++;
        n++;
    }
}

static void lex_number(struct vm_lexer *lx, struct vm_token *t)
{
    int line = lx->line, col = col_at(lx, lx->pos);
    char small[128];
    char *buf = small;
    size_t blen = 0, bcap = sizeof small;
    /* A float literal may be long ("0.000...1"): size the buffer to the rest of the token. */
    size_t span = 0;
    for (;;) {
        size_t i = lx->pos + span;
        if (i >= lx->len)
            break;
        char ch = lx->src[i];
        /* a sign belongs to the number only right after an exponent mark */
        if (is_ident((unsigned char)ch) || ch == '.' ||
            ((ch == '+' || ch == '-') && span > 0 && (lx->src[i - 1] == 'e' || lx->src[i - 1] == 'E')))
            span++;
        else
            break;
    }
    if (span + 2 > bcap) {
        buf = malloc(span + 2);
        if (!buf)
            vm_compile_nomem(lx->c);
        bcap = span + 2;
    }
    int c0 = peekc(lx, 0), c1 = peekc(lx, 1);
    if (c0 == '0' && (c1 == 'x' || c1 == 'X' || c1 == 'o' || c1 == 'O' || c1 == 'b' || c1 == 'B')) {
        int base = (c1 == 'x' || c1 == 'X') ? 16 : (c1 == 'o' || c1 == 'O') ? 8 : 2;
        const char *kind = base == 16 ? "hexadecimal" : base == 8 ? "octal" : "binary";
        lx->pos += 2;
        size_t n = scan_digits(lx, base, buf, &blen, bcap, true);
        if (n == 0 || (n >> 62) || is_ident(peekc(lx, 0))) {
            int c = peekc(lx, 0);
            if (buf != small) free(buf);
            if (base < 10 && is_digit(c))
                vm_compile_error(lx->c, line, col, "SyntaxError: invalid digit '%c' in %s literal", c, kind);
            vm_compile_error(lx->c, line, col, "SyntaxError: invalid %s literal", kind);
        }
        uint64_t v = 0;
        bool big = false;
        for (size_t i = 0; i < blen; i++) {
            uint64_t d = (uint64_t)hexval(buf[i]);
            if (v > (UINT64_MAX - d) / (uint64_t)base)
                big = true;
            v = v * (uint64_t)base + d;
        }
        if (buf != small) free(buf);
        t->kind = VM_T_INT;
        t->ival = v;
        t->ibig = big || blen >= bcap;
        return;
    }
    bool is_float = false, bad = false;
    size_t nint = 0;
    if (c0 != '.') {
        nint = scan_digits(lx, 10, buf, &blen, bcap, false);
        bad |= (nint >> 62) != 0;
    }
    size_t int_digits = blen;
    if (peekc(lx, 0) == '.') {
        is_float = true;
        if (blen + 1 < bcap) buf[blen++] = '.';
        lx->pos++;
        if (is_digit(peekc(lx, 0)))
            bad |= (scan_digits(lx, 10, buf, &blen, bcap, false) >> 62) != 0;
    }
    int e = peekc(lx, 0);
    if (e == 'e' || e == 'E') {
        int s = peekc(lx, 1);
        int d = (s == '+' || s == '-') ? peekc(lx, 2) : s;
        if (is_digit(d)) {
            is_float = true;
            if (blen + 1 < bcap) buf[blen++] = 'e';
            lx->pos++;
            if (s == '+' || s == '-') {
                if (blen + 1 < bcap) buf[blen++] = (char)s;
                lx->pos++;
            }
            bad |= (scan_digits(lx, 10, buf, &blen, bcap, false) >> 62) != 0;
        } else {
            bad = true;
        }
    }
    int after = peekc(lx, 0);
    if (after == 'j' || after == 'J') {
        if (buf != small) free(buf);
        vm_compile_error(lx->c, line, col,
                         "SyntaxError: complex numbers: not supported in gillab's Python subset");
    }
    if (bad || is_ident(after) || blen >= bcap) {
        if (buf != small) free(buf);
        vm_compile_error(lx->c, line, col, "SyntaxError: invalid decimal literal");
    }
    buf[blen] = '\0';
    if (is_float) {
        errno = 0;
        t->kind = VM_T_FLOAT;
        t->fval = strtod(buf, NULL);   /* correctly rounded; 1e999 is inf as in Python */
        if (buf != small) free(buf);
        return;
    }
    (void)nint;
    if (int_digits > 1 && buf[0] == '0') {
        for (size_t i = 0; i < int_digits; i++) {
            if (buf[i] != '0') {
                if (buf != small) free(buf);
                vm_compile_error(lx->c, line, col,
                                 "SyntaxError: leading zeros in decimal integer literals are not "
                                 "permitted; use an 0o prefix for octal integers");
            }
        }
    }
    uint64_t v = 0;
    bool big = false;
    for (size_t i = 0; i < int_digits; i++) {
        uint64_t d = (uint64_t)(buf[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            big = true;
        v = v * 10 + d;
    }
    if (buf != small) free(buf);
    t->kind = VM_T_INT;
    t->ival = v;
    t->ibig = big;
}

/* ---- operators ----------------------------------------------------------------------- */

struct op_entry {
    const char *text;
    enum vm_tok kind;
};

static const struct op_entry ops3[] = {
    {"**=", VM_T_DSTAREQUAL}, {"//=", VM_T_DSLASHEQUAL}, {">>=", VM_T_RSHIFTEQUAL},
    {"<<=", VM_T_LSHIFTEQUAL}, {"...", VM_T_ELLIPSIS},
};
static const struct op_entry ops2[] = {
    {"**", VM_T_DSTAR}, {"//", VM_T_DSLASH}, {"==", VM_T_EQEQUAL}, {"!=", VM_T_NOTEQUAL},
    {"<=", VM_T_LESSEQUAL}, {">=", VM_T_GREATEREQUAL}, {"+=", VM_T_PLUSEQUAL},
    {"-=", VM_T_MINEQUAL}, {"*=", VM_T_STAREQUAL}, {"/=", VM_T_SLASHEQUAL},
    {"%=", VM_T_PERCENTEQUAL}, {"->", VM_T_RARROW}, {"@=", VM_T_ATEQUAL},
    {"&=", VM_T_AMPEREQUAL}, {"|=", VM_T_VBAREQUAL}, {"^=", VM_T_CIRCUMFLEXEQUAL},
    {"<<", VM_T_LSHIFT}, {">>", VM_T_RSHIFT}, {":=", VM_T_COLONEQUAL},
};
static const struct op_entry ops1[] = {
    {"(", VM_T_LPAR}, {")", VM_T_RPAR}, {"[", VM_T_LSQB}, {"]", VM_T_RSQB},
    {"{", VM_T_LBRACE}, {"}", VM_T_RBRACE}, {":", VM_T_COLON}, {",", VM_T_COMMA},
    {";", VM_T_SEMI}, {".", VM_T_DOT}, {"+", VM_T_PLUS}, {"-", VM_T_MINUS},
    {"*", VM_T_STAR}, {"/", VM_T_SLASH}, {"%", VM_T_PERCENT}, {"=", VM_T_EQUAL},
    {"<", VM_T_LESS}, {">", VM_T_GREATER}, {"@", VM_T_AT}, {"&", VM_T_AMPER},
    {"|", VM_T_VBAR}, {"^", VM_T_CIRCUMFLEX}, {"~", VM_T_TILDE},
};

static enum vm_tok match_op(struct vm_lexer *lx, size_t *n)
{
    const char *p = lx->src + lx->pos;
    size_t left = lx->len - lx->pos;
    for (size_t i = 0; i < sizeof ops3 / sizeof ops3[0]; i++)
        if (left >= 3 && memcmp(p, ops3[i].text, 3) == 0)
            return *n = 3, ops3[i].kind;
    for (size_t i = 0; i < sizeof ops2 / sizeof ops2[0]; i++)
        if (left >= 2 && memcmp(p, ops2[i].text, 2) == 0)
            return *n = 2, ops2[i].kind;
    for (size_t i = 0; i < sizeof ops1 / sizeof ops1[0]; i++)
        if (left >= 1 && p[0] == ops1[i].text[0])
            return *n = 1, ops1[i].kind;
    return *n = 0, VM_T_EOF;
}

static void bracket_open(struct vm_lexer *lx, char ch, int line, int col)
{
    if (lx->nparen >= VM_MAX_PARENS)
        vm_compile_error(lx->c, line, col, "SyntaxError: too many nested parentheses");
    lx->parens[lx->nparen].ch = ch;
    lx->parens[lx->nparen].line = line;
    lx->parens[lx->nparen].col = col;
    lx->nparen++;
}

static void bracket_close(struct vm_lexer *lx, char ch, int line, int col)
{
    char want = ch == ')' ? '(' : ch == ']' ? '[' : '{';
    if (lx->nparen == 0)
        vm_compile_error(lx->c, line, col, "SyntaxError: unmatched '%c'", ch);
    char open = lx->parens[lx->nparen - 1].ch;
    if (open != want) {
        if (lx->parens[lx->nparen - 1].line != line)
            vm_compile_error(lx->c, line, col,
                             "SyntaxError: closing parenthesis '%c' does not match opening parenthesis '%c' on line %d",
                             ch, open, lx->parens[lx->nparen - 1].line);
        vm_compile_error(lx->c, line, col,
                         "SyntaxError: closing parenthesis '%c' does not match opening parenthesis '%c'",
                         ch, open);
    }
    lx->nparen--;
}

/* ---- keywords ------------------------------------------------------------------------- */

static const struct { const char *text; enum vm_tok kind; } keywords[] = {
#define VM_KW_ENTRY(id, text) {text, VM_T_KW_##id},
    VM_KEYWORDS(VM_KW_ENTRY)
#undef VM_KW_ENTRY
};

static enum vm_tok keyword(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++)
        if (strlen(keywords[i].text) == n && memcmp(keywords[i].text, s, n) == 0)
            return keywords[i].kind;
    return VM_T_NAME;
}

/* A string prefix: r, u, f, b and the two-letter mixes of r with f or b. */
static int string_prefix(const char *s, size_t n, bool *raw, bool *fmt, bool *bytes)
{
    *raw = *fmt = *bytes = false;
    if (n == 0 || n > 2)
        return 0;
    bool u = false;
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case 'r': case 'R': if (*raw) return 0; *raw = true; break;
        case 'f': case 'F': if (*fmt || *bytes) return 0; *fmt = true; break;
        case 'b': case 'B': if (*fmt || *bytes) return 0; *bytes = true; break;
        case 'u': case 'U': if (n != 1) return 0; u = true; break;
        default: return 0;
        }
    }
    (void)u;
    return 1;
}

/* ---- the token loop ------------------------------------------------------------------- */

/* Describe a non-ASCII character starting at p for an error message. */
static void bad_char_error(struct vm_lexer *lx, int line, int col)
{
    const unsigned char *p = (const unsigned char *)lx->src + lx->pos;
    size_t left = lx->len - lx->pos;
    uint32_t cp = p[0];
    size_t n = 1;
    if (p[0] >= 0xF0 && left >= 4) { cp = ((uint32_t)(p[0] & 7) << 18) | ((uint32_t)(p[1] & 63) << 12) | ((uint32_t)(p[2] & 63) << 6) | (p[3] & 63); n = 4; }
    else if (p[0] >= 0xE0 && left >= 3) { cp = ((uint32_t)(p[0] & 15) << 12) | ((uint32_t)(p[1] & 63) << 6) | (p[2] & 63); n = 3; }
    else if (p[0] >= 0xC0 && left >= 2) { cp = ((uint32_t)(p[0] & 31) << 6) | (p[1] & 63); n = 2; }
    if (cp < 0x20 || cp == 0x7F)
        vm_compile_error(lx->c, line, col, "SyntaxError: invalid non-printable character U+%04X", cp);
    vm_compile_error(lx->c, line, col, "SyntaxError: invalid character '%.*s' (U+%04X)", (int)n,
                     (const char *)p, cp);
}

static void lex_one(struct vm_lexer *lx, struct vm_token *t)
{
    t->ibig = false;
    t->name = NULL;
    for (;;) {
        if (lx->pending_dedents > 0) {
            lx->pending_dedents--;
            t->kind = VM_T_DEDENT;
            t->line = lx->line;
            t->col = col_at(lx, lx->pos);
            return;
        }
        if (lx->at_bol && lx->nparen == 0) {
            int col = 0, alt = 0;
            for (;;) {
                int c = peekc(lx, 0);
                if (c == ' ') { col++; alt++; }
                else if (c == '\t') { col = (col / 8 + 1) * 8; alt++; }
                else if (c == '\f') { col = alt = 0; }
                else break;
                lx->pos++;
            }
            int c = peekc(lx, 0);
            if (c == '#' || is_newline(c)) {    /* blank or comment-only line */
                skip_comment(lx);
                if (lx->pos < lx->len)
                    eat_newline(lx);
                continue;
            }
            if (c >= 0) {
                int line = lx->line, tcol = col_at(lx, lx->pos);
                lx->at_bol = false;
                int top = lx->indents[lx->nindent], alttop = lx->altindents[lx->nindent];
                if (col == top) {
                    if (alt != alttop)
                        vm_compile_error(lx->c, line, tcol,
                                         "TabError: inconsistent use of tabs and spaces in indentation");
                } else if (col > top) {
                    if (lx->nindent + 1 >= VM_MAX_INDENT)
                        vm_compile_error(lx->c, line, tcol,
                                         "IndentationError: too many levels of indentation");
                    if (alt <= alttop)
                        vm_compile_error(lx->c, line, tcol,
                                         "TabError: inconsistent use of tabs and spaces in indentation");
                    lx->nindent++;
                    lx->indents[lx->nindent] = col;
                    lx->altindents[lx->nindent] = alt;
                    t->kind = VM_T_INDENT;
                    t->line = line;
                    t->col = tcol;
                    return;
                } else {
                    int n = 0;
                    while (lx->nindent > 0 && col < lx->indents[lx->nindent]) {
                        lx->nindent--;
                        n++;
                    }
                    if (col != lx->indents[lx->nindent])
                        vm_compile_error(lx->c, line, tcol,
                                         "IndentationError: unindent does not match any outer indentation level");
                    if (alt != lx->altindents[lx->nindent])
                        vm_compile_error(lx->c, line, tcol,
                                         "TabError: inconsistent use of tabs and spaces in indentation");
                    lx->pending_dedents = n - 1;
                    t->kind = VM_T_DEDENT;
                    t->line = line;
                    t->col = tcol;
                    return;
                }
            }
        }
        while (peekc(lx, 0) == ' ' || peekc(lx, 0) == '\t' || peekc(lx, 0) == '\f')
            lx->pos++;
        int c = peekc(lx, 0);
        int line = lx->line, col = col_at(lx, lx->pos);
        if (c == '\\') {
            int d = peekc(lx, 1);
            if (is_newline(d)) {
                lx->pos++;
                eat_newline(lx);
                if (lx->pos >= lx->len)
                    vm_compile_error(lx->c, line, col, "SyntaxError: unexpected EOF while parsing");
                continue;
            }
            if (d < 0)
                vm_compile_error(lx->c, line, col, "SyntaxError: unexpected EOF while parsing");
            vm_compile_error(lx->c, line, col,
                             "SyntaxError: unexpected character after line continuation character");
        }
        if (c == '#') {
            skip_comment(lx);
            c = peekc(lx, 0);
            line = lx->line;
            col = col_at(lx, lx->pos);
        }
        t->line = line;
        t->col = col;
        t->text = lx->src + lx->pos;
        t->textlen = 0;
        if (c < 0) {
            if (lx->nparen > 0) {
                int i = lx->nparen - 1;
                vm_compile_error(lx->c, lx->parens[i].line, lx->parens[i].col,
                                 "SyntaxError: '%c' was never closed", lx->parens[i].ch);
            }
            if (lx->line_has_tokens) {
                lx->line_has_tokens = false;
                lx->at_bol = true;
                t->kind = VM_T_NEWLINE;
                return;
            }
            if (lx->nindent > 0) {
                lx->pending_dedents = lx->nindent - 1;
                lx->nindent = 0;
                t->kind = VM_T_DEDENT;
                return;
            }
            t->kind = VM_T_EOF;
            return;
        }
        if (is_newline(c)) {
            eat_newline(lx);
            if (lx->nparen > 0)
                continue;   /* implicit line joining */
            lx->at_bol = true;
            lx->line_has_tokens = false;
            t->kind = VM_T_NEWLINE;
            t->textlen = 1;
            return;
        }
        lx->line_has_tokens = true;
        size_t start = lx->pos;
        if (is_ident_start(c)) {
            while (is_ident(peekc(lx, 0)))
                lx->pos++;
            size_t n = lx->pos - start;
            int q = peekc(lx, 0);
            bool raw, fmt, bytes;
            if ((q == '\'' || q == '"') && string_prefix(lx->src + start, n, &raw, &fmt, &bytes)) {
                if (fmt)
                    vm_compile_error(lx->c, line, col,
                                     "SyntaxError: f-strings: not supported in gillab's Python subset");
                if (bytes)
                    vm_compile_error(lx->c, line, col,
                                     "SyntaxError: bytes literals: not supported in gillab's Python subset");
                lex_string(lx, t, raw);
                t->line = line;
                t->col = col;
                t->textlen = lx->pos - start;
                return;
            }
            if (peekc(lx, 0) >= 0x80) {
                lx->pos = start;
                while (is_ident(peekc(lx, 0)))
                    lx->pos++;
                bad_char_error(lx, line, col_at(lx, lx->pos));
            }
            t->textlen = n;
            t->kind = keyword(lx->src + start, n);
            if (t->kind == VM_T_NAME) {
                t->name = vm_intern(lx->c->prog->intern, lx->src + start, n);
                if (!t->name)
                    vm_compile_nomem(lx->c);
            }
            return;
        }
        if (is_digit(c) || (c == '.' && is_digit(peekc(lx, 1)))) {
            lex_number(lx, t);
            t->line = line;
            t->col = col;
            t->textlen = lx->pos - start;
            return;
        }
        if (c == '\'' || c == '"') {
            lex_string(lx, t, false);
            t->line = line;
            t->col = col;
            t->textlen = lx->pos - start;
            return;
        }
        size_t n;
        enum vm_tok k = match_op(lx, &n);
        if (n > 0) {
            lx->pos += n;
            t->kind = k;
            t->textlen = n;
            if (k == VM_T_LPAR || k == VM_T_LSQB || k == VM_T_LBRACE)
                bracket_open(lx, (char)c, line, col);
            else if (k == VM_T_RPAR || k == VM_T_RSQB || k == VM_T_RBRACE)
                bracket_close(lx, (char)c, line, col);
            return;
        }
        if (c >= 0x80 || c < 0x20 || c == 0x7F)
            bad_char_error(lx, line, col);
        vm_compile_error(lx->c, line, col, "SyntaxError: invalid syntax ('%c' is not a Python token)", c);
    }
}

const struct vm_token *vm_lex_peek(struct vm_lexer *lx, int k)
{
    while (lx->nla <= k) {
        lex_one(lx, &lx->la[lx->nla]);
        lx->nla++;
    }
    return &lx->la[k];
}

struct vm_token *vm_lex_advance(struct vm_lexer *lx)
{
    vm_lex_peek(lx, 0);
    /* Rotate the three slots so each keeps its own string buffer:
       la[2] <- la[0], la[0] <- la[1], and the old la[2] becomes la[1]'s spare. */
    struct vm_token consumed = lx->la[0];
    lx->la[0] = lx->la[1];
    lx->la[1] = lx->la[2];
    lx->la[2] = consumed;
    lx->nla--;
    return &lx->la[2];
}
