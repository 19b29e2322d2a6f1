/*
 * schema.c — the column table made from REC_COLUMNS, rows of cells, and their
 * formatting. See schema.h; README.md ("The CSV schema") says what each column
 * means at length, and tests/test_record.c holds the two together.
 */
#include "record/schema.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"
#include "base/panic.h"
#include "base/version.h"
#include "trace/trace.h"
#include "vm/vm.h"

/* Where a column's value comes from. */
enum rec_source { SRC_RUN, SRC_LOCK, SRC_VM };

/* The column table in file order; the parameter marker has no name and col -1. */
struct rec_column {
    const char *name;
    enum rec_type type;
    const char *meaning;
    int col;                   /* enum rec_col, or -1 for the parameter columns */
    enum rec_source source;
    enum gil_stat_kind kind;   /* lock counters only */
    unsigned policies;         /* VM counters only: VM_STAT_POLICY bits */
};

#define STAT_TYPE(kind) ((kind) == GIL_STAT_COUNT ? REC_INT : REC_SECONDS)

static const struct rec_column columns[] = {
#define COL(name, type, meaning) {#name, type, meaning, REC_##name, SRC_RUN, GIL_STAT_COUNT, 0},
#define PARAMS() {NULL, REC_PARAM, NULL, -1, SRC_RUN, GIL_STAT_COUNT, 0},
#define STAT(field, kind, column, help) \
    {#column, STAT_TYPE(kind), help, REC_GIL_##field, SRC_LOCK, kind, 0},
#define STATS(list) list(STAT)
#define VMSTAT(field, policies, help) {#field, REC_INT, help, REC_VM_##field, SRC_VM, GIL_STAT_COUNT, policies},
#define VMSTATS(list) list(VMSTAT)
    REC_COLUMNS(COL, PARAMS, STATS, VMSTATS)
#undef COL
#undef PARAMS
#undef STAT
#undef STATS
#undef VMSTAT
#undef VMSTATS
};
#define NCOLUMNS (sizeof columns / sizeof columns[0])

/* The type of each column id. */
static const enum rec_type col_types[REC_NCOLS] = {
#define COL(name, type, meaning) type,
#define PARAMS()
#define STAT(field, kind, column, help) STAT_TYPE(kind),
#define STATS(list) list(STAT)
#define VMSTAT(field, policies, help) REC_INT,
#define VMSTATS(list) list(VMSTAT)
    REC_COLUMNS(COL, PARAMS, STATS, VMSTATS)
#undef COL
#undef PARAMS
#undef STAT
#undef STATS
#undef VMSTAT
#undef VMSTATS
};

/* ---- a growing string ------------------------------------------------------------- */

struct sb {
    char *buf;
    size_t len, cap;
    bool nomem;
};

static void sb_putn(struct sb *b, const char *s, size_t n)
{
    if (b->nomem)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *nb = realloc(b->buf, cap);
        if (!nb) {
            b->nomem = true;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    char small[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->nomem = true;
        return;
    }
    PANIC_IF((size_t)n >= sizeof small, "sb_printf: a number did not fit 128 bytes");
    sb_putn(b, small, (size_t)n);
}

/* The buffer, or NULL (freed) when out of memory. */
static char *sb_take(struct sb *b, size_t *len)
{
    if (b->nomem) {
        free(b->buf);
        return NULL;
    }
    if (len)
        *len = b->len;
    return b->buf;
}

/* ---- rows ------------------------------------------------------------------------- */

void rec_row_init(struct rec_row *r) { memset(r, 0, sizeof *r); }

void rec_row_free(struct rec_row *r)
{
    for (int c = 0; c < REC_NCOLS; c++)
        free(r->cells[c].text);
    rec_row_init(r);
}

static struct rec_cell *cell(struct rec_row *r, enum rec_col c, bool text)
{
    PANIC_IF(c < 0 || c >= REC_NCOLS, "rec: no column %d", (int)c);
    bool is_text = col_types[c] == REC_TEXT || col_types[c] == REC_MESSAGE;
    PANIC_IF(is_text != text, "rec: column %d set with the wrong type", (int)c);
    return &r->cells[c];
}

int rec_set_text(struct rec_row *r, enum rec_col c, const char *s)
{
    struct rec_cell *x = cell(r, c, true);
    char *copy = strdup(s);
    if (!copy)
        return -1;
    free(x->text);
    x->text = copy;
    x->set = true;
    return 0;
}

int rec_set_textf(struct rec_row *r, enum rec_col c, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    struct rec_cell *x = cell(r, c, true);
    free(x->text);
    x->text = s;
    x->set = true;
    return 0;
}

void rec_set_int(struct rec_row *r, enum rec_col c, int64_t v)
{
    struct rec_cell *x = cell(r, c, false);
    PANIC_IF(col_types[c] != REC_INT, "rec: column %d is not an integer column", (int)c);
    x->i = v;
    x->set = true;
}

void rec_set_real(struct rec_row *r, enum rec_col c, double v)
{
    struct rec_cell *x = cell(r, c, false);
    PANIC_IF(col_types[c] != REC_SECONDS && col_types[c] != REC_REAL,
             "rec: column %d is not a number column", (int)c);
    x->d = v;
    x->set = true;
}

void rec_clear(struct rec_row *r, enum rec_col c)
{
    PANIC_IF(c < 0 || c >= REC_NCOLS, "rec: no column %d", (int)c);
    free(r->cells[c].text);
    r->cells[c] = (struct rec_cell){0};
}

void rec_set_gil_stats(struct rec_row *r, const struct gil_stats *st)
{
    for (size_t i = 0; i < gil_nstats; i++) {
        uint64_t v = gil_stat_get(st, i);
        if (gil_stat_infos[i].kind == GIL_STAT_COUNT)
            rec_set_int(r, rec_gil_col(i), (int64_t)v);
        else
            rec_set_real(r, rec_gil_col(i), (double)v / 1e9);
    }
}

void rec_set_vm_stats(struct rec_row *r, const struct vm_stats *st, enum gil_vm_safety policy)
{
    for (size_t i = 0; i < vm_nstats; i++)
        if (vm_stat_applies(i, policy))
            rec_set_int(r, rec_vm_col(i), (int64_t)vm_stat_get(st, i));
}

/* Rows stamped by this process so far; relaxed: only the uniqueness of the
   value matters, no other memory is published through it. */
static _Atomic uint64_t rows_stamped;

int rec_stamp(struct rec_row *r, int64_t started)
{
    time_t t = (time_t)started;
    struct tm tm;
    char stamp[32], iso[32], host[256];
    gmtime_r(&t, &tm);
    uint64_t n = atomic_fetch_add_explicit(&rows_stamped, 1, memory_order_relaxed) + 1;
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    strftime(iso, sizeof iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    if (rec_set_textf(r, REC_run_id, "%s-%ld-%" PRIu64, stamp, (long)getpid(), n) != 0 ||
        rec_set_text(r, REC_lab_version, GILLAB_VERSION) != 0 ||
        rec_set_text(r, REC_started_utc, iso) != 0 || rec_set_text(r, REC_host, host) != 0)
        return -1;
    return 0;
}

/* ---- the design parameter columns ----------------------------------------------------- */

/* The parameter columns are the union of every registered design's parameter
   names in registry order; a name shared by two designs is one column, placed
   where it first appears. */
static bool param_seen_before(const struct gil_design *const *dd, size_t pi)
{
    const char *name = (*dd)->params[pi].name;
    for (const struct gil_design *const *d = gil_designs; d <= dd; d++) {
        size_t n = d == dd ? pi : (*d)->nparams;
        for (size_t i = 0; i < n; i++)
            if (strcmp((*d)->params[i].name, name) == 0)
                return true;
    }
    return false;
}

/* Calls fn for each parameter column, in order. */
static void each_param_column(void (*fn)(void *ctx, const struct gil_design *d, const struct gil_param *p),
                              void *ctx)
{
    for (const struct gil_design *const *d = gil_designs; *d; d++)
        for (size_t i = 0; i < (*d)->nparams; i++)
            if (!param_seen_before(d, i))
                fn(ctx, *d, &(*d)->params[i]);
}

/* ---- header and rows -------------------------------------------------------------------- */

struct put {
    struct sb *b;
    bool first;
    const struct rec_row *row;
};

static void sep(struct put *p)
{
    if (!p->first)
        sb_puts(p->b, ",");
    p->first = false;
}

static void put_param_name(void *ctx, const struct gil_design *d, const struct gil_param *param)
{
    (void)d;
    struct put *p = ctx;
    sep(p);
    sb_puts(p->b, param->name);
}

char *rec_header(void)
{
    struct sb b = {0};
    struct put p = {&b, true, NULL};
    for (size_t i = 0; i < NCOLUMNS; i++) {
        if (columns[i].col < 0) {
            each_param_column(put_param_name, &p);
            continue;
        }
        sep(&p);
        sb_puts(&b, columns[i].name);
    }
    sb_puts(&b, "\n");
    return sb_take(&b, NULL);
}

static void put_text(struct sb *b, const char *s)
{
    for (; *s && !b->nomem; s++) {
        char c = *s;
        if (c == ',' || c == '"' || c == '\n' || c == '\r')
            c = '_';
        sb_putn(b, &c, 1);
    }
}

/* RFC 4180: quoted when it holds a comma, a quote or a line break; inner
   quotes doubled. Line breaks become spaces first, so a row stays one line. */
static void put_message(struct sb *b, const char *s)
{
    bool quote = strpbrk(s, ",\"\n\r") != NULL;
    if (quote)
        sb_puts(b, "\"");
    for (; *s && !b->nomem; s++) {
        if (*s == '"')
            sb_puts(b, "\"\"");
        else if (*s == '\n' || *s == '\r')
            sb_puts(b, " ");
        else
            sb_putn(b, s, 1);
    }
    if (quote)
        sb_puts(b, "\"");
}

static void put_param_value(void *ctx, const struct gil_design *d, const struct gil_param *param)
{
    (void)d;
    struct put *p = ctx;
    sep(p);
    const struct gil_design *rd = p->row->design;
    if (!rd)
        return;
    for (size_t j = 0; j < rd->nparams; j++) {
        if (strcmp(rd->params[j].name, param->name) != 0)
            continue;
        char v[64];
        gil_param_format_csv(&rd->params[j], p->row->values[j], v, sizeof v);
        put_text(p->b, v);
        return;
    }
}

char *rec_format(const struct rec_row *r, size_t *len)
{
    struct sb b = {0};
    struct put p = {&b, true, r};
    for (size_t i = 0; i < NCOLUMNS; i++) {
        const struct rec_column *c = &columns[i];
        if (c->col < 0) {
            each_param_column(put_param_value, &p);
            continue;
        }
        sep(&p);
        const struct rec_cell *x = &r->cells[c->col];
        if (!x->set)
            continue;
        switch (c->type) {
        case REC_TEXT: put_text(&b, x->text); break;
        case REC_MESSAGE: put_message(&b, x->text); break;
        case REC_INT: sb_printf(&b, "%" PRId64, x->i); break;
        case REC_SECONDS: sb_printf(&b, "%.6f", x->d); break;
        case REC_REAL: sb_printf(&b, "%.3f", x->d); break;
        case REC_PARAM: break;
        }
    }
    sb_puts(&b, "\n");
    return sb_take(&b, len);
}

/* ---- describing the schema --------------------------------------------------------------- */

static const char *type_name(enum rec_type t)
{
    switch (t) {
    case REC_TEXT: return "text";
    case REC_MESSAGE: return "message";
    case REC_INT: return "int";
    case REC_SECONDS: return "seconds";
    case REC_REAL: return "real";
    case REC_PARAM: return "param";
    }
    return "?";
}

/* A lock counter's meaning in a row: summed over threads, or the worst. */
static void stat_meaning(const struct rec_column *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "lock: %s, %s", c->meaning,
             c->kind == GIL_STAT_NS_MAX ? "the worst of any thread" : "summed over threads");
}

/* A VM counter's meaning: what it counts, and under which policies. */
static void vmstat_meaning(const struct rec_column *c, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "vm: %s, summed over threads; empty unless the policy is",
                                c->meaning);
    bool first = true;
    for (int k = GIL_VM_SERIAL; k <= GIL_VM_BIASED && n < cap; k++)
        if (c->policies & VM_STAT_POLICY(k)) {
            n += (size_t)snprintf(buf + n, cap - n, "%s %s", first ? "" : " or",
                                  gil_vm_safety_name((enum gil_vm_safety)k));
            first = false;
        }
}

struct describe {
    FILE *out;
    bool json;
    bool first;
};

static void describe_one(struct describe *d, const char *name, const char *type, const char *meaning,
                         const char *source, unsigned policies)
{
    if (!d->json) {
        fprintf(d->out, "%-18s %-8s %s\n", name, type, meaning);
        return;
    }
    fputs(d->first ? "\n{" : ",\n{", d->out);
    d->first = false;
    json_key(d->out, "name"), json_str(d->out, name), fputc(',', d->out);
    json_key(d->out, "type"), json_str(d->out, type), fputc(',', d->out);
    json_key(d->out, "source"), json_str(d->out, source), fputc(',', d->out);
    if (policies) {   /* a VM counter: the policies (vm_safety kinds) that fill it */
        json_key(d->out, "policies");
        fputc('[', d->out);
        bool first = true;
        for (int k = GIL_VM_SERIAL; k <= GIL_VM_BIASED; k++)
            if (policies & VM_STAT_POLICY(k)) {
                if (!first)
                    fputc(',', d->out);
                json_str(d->out, gil_vm_safety_name((enum gil_vm_safety)k));
                first = false;
            }
        fputs("],", d->out);
    }
    json_key(d->out, "meaning"), json_str(d->out, meaning);
    fputc('}', d->out);
}

static void describe_param(void *ctx, const struct gil_design *d, const struct gil_param *p)
{
    char meaning[512];
    char designs[256];
    size_t n = 0;
    designs[0] = '\0';
    /* every design that has a parameter of this name */
    for (const struct gil_design *const *e = gil_designs; *e; e++)
        for (size_t i = 0; i < (*e)->nparams; i++)
            if (strcmp((*e)->params[i].name, p->name) == 0 && n < sizeof designs)
                n += (size_t)snprintf(designs + n, sizeof designs - n, "%s%s", n ? ", " : "", (*e)->name);
    (void)d;
    snprintf(meaning, sizeof meaning, "%s: %s%s%s; empty for other designs", designs, p->help,
             p->unit[0] ? ", in " : "", p->unit);
    describe_one(ctx, p->name, "param", meaning, "design", 0);
}

static int describe(FILE *out, bool json)
{
    struct describe d = {out, json, true};
    if (json)
        fputs("{\"columns\":[", out);
    for (size_t i = 0; i < NCOLUMNS; i++) {
        const struct rec_column *c = &columns[i];
        if (c->col < 0) {
            each_param_column(describe_param, &d);
        } else if (c->source == SRC_LOCK) {
            char meaning[512];
            stat_meaning(c, meaning, sizeof meaning);
            describe_one(&d, c->name, type_name(c->type), meaning, "lock", 0);
        } else if (c->source == SRC_VM) {
            char meaning[512];
            vmstat_meaning(c, meaning, sizeof meaning);
            describe_one(&d, c->name, type_name(c->type), meaning, "vm", c->policies);
        } else {
            describe_one(&d, c->name, type_name(c->type), c->meaning, "run", 0);
        }
    }
    if (json) {
        /* The other files gillab writes: the convoy samples and the traces. */
        fputs("\n],\"samples\":", out);
        json_csv_list(out, REC_SAMPLES_HEADER);
        fputs(",\"smaps\":", out);
        json_csv_list(out, REC_SMAPS_HEADER);
        fputs(",\"opstats\":", out);
        json_csv_list(out, REC_OPSTATS_HEADER);
        fputs(",\"trace\":", out);
        json_csv_list(out, TRACE_CSV_HEADER);
        fputs(",\"trace_events\":[", out);
        for (int k = 0; k < TRACE_NKINDS; k++) {
            if (k)
                fputc(',', out);
            json_str(out, trace_kind_name((enum trace_kind)k));
        }
        fputs("]}\n", out);
    }
    return ferror(out) ? -1 : 0;
}

int rec_schema_describe(FILE *out) { return describe(out, false); }
int rec_schema_json(FILE *out) { return describe(out, true); }

/* ---- opcode counts ------------------------------------------------------------------------- */

int rec_opstats_format(const char *run_id, int64_t rep, const uint64_t *const *counts, int nthreads,
                       char **out, size_t *len)
{
    struct sb b = {0};
    sb_puts(&b, "");
    for (int t = 0; t < nthreads; t++)
        for (int op = 0; counts[t] && op < VM_OPCODE_SLOTS; op++) {
            if (!counts[t][op])
                continue;
            const char *name = vm_opcode_name(op);
            put_text(&b, run_id);
            sb_printf(&b, ",%" PRId64 ",%d,", rep, t);
            put_text(&b, name ? name : "?");
            sb_printf(&b, ",%" PRIu64 "\n", counts[t][op]);
        }
    char *s = sb_take(&b, len);
    if (!s)
        return ENOMEM;
    *out = s;
    return 0;
}

/* ---- convoy samples ------------------------------------------------------------------------ */

int rec_samples_format(const char *run_id, const char *design, int64_t rep, const int64_t *lat_us,
                       size_t n, char **out, size_t *len)
{
    struct sb b = {0};
    for (size_t i = 0; i < n; i++) {
        put_text(&b, run_id);
        sb_puts(&b, ",");
        put_text(&b, design);
        sb_printf(&b, ",%" PRId64 ",%zu,%" PRId64 "\n", rep, i + 1, lat_us[i]);
    }
    if (n == 0)
        sb_puts(&b, "");
    char *s = sb_take(&b, len);
    if (!s && !b.nomem) {   /* nothing to write */
        *out = NULL;
        *len = 0;
        return 0;
    }
    if (!s)
        return ENOMEM;
    *out = s;
    return 0;
}
