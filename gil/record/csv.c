/*
 * csv.c — the schema table, the row formatter and the append-only writer.
 * See csv.h for the rules; README.md ("The CSV schema") for what each column means.
 */
#include "record/csv.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/version.h"

/* How a column is printed. */
enum wl_col_kind {
    WL_COL_TEXT,     /* a char array field; ',', '"' and newlines become '_' */
    WL_COL_MESSAGE,  /* a char array field, quoted per RFC 4180 when needed */
    WL_COL_INT,      /* an int64_t field, plain */
    WL_COL_SECONDS,  /* a double field, "%.6f" */
    WL_COL_RATE,     /* a double field, "%.3f" */
    WL_COL_STATUS,   /* the bool `ok`: "ok" | "error" */
    WL_COL_PARAMS,   /* not one column: every registered design parameter */
};

/* When a column is empty ("not applicable"). */
enum wl_col_group {
    WL_COL_ALWAYS,   /* never empty (text columns may still hold "") */
    WL_COL_LOCK,     /* empty unless has_lock */
    WL_COL_CTX,      /* empty unless has_ctx */
    WL_COL_IO,       /* empty unless has_io */
};

/* The one list of columns: the header and every row are made from it. Each
   entry names a struct wl_row field; the column is called after the field,
   except `ok`, whose column is `status`. */
#define WL_CSV_COLUMNS(X)                                   \
    X(run_id, WL_COL_TEXT, WL_COL_ALWAYS)                   \
    X(lab_version, WL_COL_TEXT, WL_COL_ALWAYS)              \
    X(started_utc, WL_COL_TEXT, WL_COL_ALWAYS)              \
    X(host, WL_COL_TEXT, WL_COL_ALWAYS)                     \
    X(design, WL_COL_TEXT, WL_COL_ALWAYS)                   \
    X(values, WL_COL_PARAMS, WL_COL_ALWAYS)                 \
    X(workload, WL_COL_TEXT, WL_COL_ALWAYS)                 \
    X(entry, WL_COL_TEXT, WL_COL_ALWAYS)                    \
    X(args, WL_COL_TEXT, WL_COL_ALWAYS)                     \
    X(scenario, WL_COL_TEXT, WL_COL_ALWAYS)                 \
    X(threads, WL_COL_INT, WL_COL_ALWAYS)                   \
    X(cpus, WL_COL_TEXT, WL_COL_ALWAYS)                     \
    X(ncpus, WL_COL_INT, WL_COL_ALWAYS)                     \
    X(cpu_list, WL_COL_TEXT, WL_COL_ALWAYS)                 \
    X(rep, WL_COL_INT, WL_COL_ALWAYS)                       \
    X(wall_s, WL_COL_SECONDS, WL_COL_ALWAYS)                \
    X(user_s, WL_COL_SECONDS, WL_COL_ALWAYS)                \
    X(sys_s, WL_COL_SECONDS, WL_COL_ALWAYS)                 \
    X(acquisitions, WL_COL_INT, WL_COL_LOCK)                \
    X(releases, WL_COL_INT, WL_COL_LOCK)                    \
    X(switches, WL_COL_INT, WL_COL_LOCK)                    \
    X(futile_wakeups, WL_COL_INT, WL_COL_LOCK)              \
    X(timeouts, WL_COL_INT, WL_COL_LOCK)                    \
    X(drop_requests, WL_COL_INT, WL_COL_LOCK)               \
    X(drops_honoured, WL_COL_INT, WL_COL_LOCK)              \
    X(wait_s, WL_COL_SECONDS, WL_COL_LOCK)                  \
    X(wait_max_s, WL_COL_SECONDS, WL_COL_LOCK)              \
    X(hold_s, WL_COL_SECONDS, WL_COL_LOCK)                  \
    X(ctx_voluntary, WL_COL_INT, WL_COL_CTX)                \
    X(ctx_involuntary, WL_COL_INT, WL_COL_CTX)              \
    X(io_iters, WL_COL_INT, WL_COL_IO)                      \
    X(io_iters_per_s, WL_COL_RATE, WL_COL_IO)               \
    X(latency_p50_us, WL_COL_INT, WL_COL_IO)                \
    X(latency_p90_us, WL_COL_INT, WL_COL_IO)                \
    X(latency_p99_us, WL_COL_INT, WL_COL_IO)                \
    X(latency_max_us, WL_COL_INT, WL_COL_IO)                \
    X(ok, WL_COL_STATUS, WL_COL_ALWAYS)                     \
    X(message, WL_COL_MESSAGE, WL_COL_ALWAYS)

struct wl_column {
    const char *name;        /* header name; the PARAMS entry has none of its own */
    enum wl_col_kind kind;
    enum wl_col_group group;
    size_t offset;           /* of the field in struct wl_row */
};

static const struct wl_column wl_columns[] = {
#define WL_COL_ENTRY(field, kind, group) {#field, kind, group, offsetof(struct wl_row, field)},
    WL_CSV_COLUMNS(WL_COL_ENTRY)
#undef WL_COL_ENTRY
};
#define WL_NCOLUMNS (sizeof wl_columns / sizeof wl_columns[0])

static const char *column_name(const struct wl_column *c)
{
    return strcmp(c->name, "ok") == 0 ? "status" : c->name;
}

/* ---- a bounded string builder ------------------------------------------------- */

struct sb {
    char *buf;
    size_t len, cap;
    bool overflow;
};

static void sb_putn(struct sb *b, const char *s, size_t n)
{
    if (b->overflow || n >= b->cap - b->len) {
        b->overflow = true;
        return;
    }
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void sb_puts(struct sb *b, const char *s) { sb_putn(b, s, strlen(s)); }

static void sb_printf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(struct sb *b, const char *fmt, ...)
{
    if (b->overflow)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(b->buf + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->overflow = true;
        return;
    }
    b->len += (size_t)n;
}

/* ---- the design parameter columns ----------------------------------------------- */

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

static void put_param_header(struct sb *b, bool *first)
{
    for (const struct gil_design *const *d = gil_designs; *d; d++)
        for (size_t i = 0; i < (*d)->nparams; i++) {
            if (param_seen_before(d, i))
                continue;
            sb_puts(b, *first ? "" : ",");
            *first = false;
            sb_puts(b, (*d)->params[i].name);
        }
}

static void put_param_values(struct sb *b, const struct wl_row *r, bool *first)
{
    for (const struct gil_design *const *d = gil_designs; *d; d++)
        for (size_t i = 0; i < (*d)->nparams; i++) {
            if (param_seen_before(d, i))
                continue;
            sb_puts(b, *first ? "" : ",");
            *first = false;
            if (!r->gil)
                continue;
            const char *name = (*d)->params[i].name;
            for (size_t j = 0; j < r->gil->nparams; j++) {
                if (strcmp(r->gil->params[j].name, name) != 0)
                    continue;
                char v[64];
                gil_param_format_csv(&r->gil->params[j], r->values[j], v, sizeof v);
                for (char *c = v; *c; c++)
                    if (*c == ',' || *c == '"' || *c == '\n' || *c == '\r')
                        *c = '_';
                sb_puts(b, v);
                break;
            }
        }
}

/* ---- header and rows --------------------------------------------------------------- */

int wl_csv_header(char *buf, size_t cap)
{
    struct sb b = {buf, 0, cap, cap == 0};
    bool first = true;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < WL_NCOLUMNS; i++) {
        const struct wl_column *c = &wl_columns[i];
        if (c->kind == WL_COL_PARAMS) {
            put_param_header(&b, &first);
            continue;
        }
        sb_puts(&b, first ? "" : ",");
        first = false;
        sb_puts(&b, column_name(c));
    }
    sb_puts(&b, "\n");
    return b.overflow ? -1 : (int)b.len;
}

static void put_text(struct sb *b, const char *s)
{
    for (; *s && !b->overflow; s++) {
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
    for (; *s && !b->overflow; s++) {
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

static bool applies(const struct wl_row *r, enum wl_col_group g)
{
    switch (g) {
    case WL_COL_LOCK: return r->has_lock;
    case WL_COL_CTX: return r->has_ctx;
    case WL_COL_IO: return r->has_io;
    default: return true;
    }
}

int wl_csv_format_row(const struct wl_row *r, char *buf, size_t cap)
{
    struct sb b = {buf, 0, cap, cap == 0};
    bool first = true;
    if (cap)
        buf[0] = '\0';
    for (size_t i = 0; i < WL_NCOLUMNS; i++) {
        const struct wl_column *c = &wl_columns[i];
        const char *field = (const char *)r + c->offset;
        if (c->kind == WL_COL_PARAMS) {
            put_param_values(&b, r, &first);
            continue;
        }
        sb_puts(&b, first ? "" : ",");
        first = false;
        if (!applies(r, c->group))
            continue;
        switch (c->kind) {
        case WL_COL_TEXT:
            put_text(&b, field);
            break;
        case WL_COL_MESSAGE:
            put_message(&b, field);
            break;
        case WL_COL_INT: {
            int64_t v;
            memcpy(&v, field, sizeof v);
            sb_printf(&b, "%" PRId64, v);
            break;
        }
        case WL_COL_SECONDS:
        case WL_COL_RATE: {
            double v;
            memcpy(&v, field, sizeof v);
            sb_printf(&b, c->kind == WL_COL_SECONDS ? "%.6f" : "%.3f", v);
            break;
        }
        case WL_COL_STATUS: {
            bool v;
            memcpy(&v, field, sizeof v);
            sb_puts(&b, v ? "ok" : "error");
            break;
        }
        case WL_COL_PARAMS:
            break;
        }
    }
    sb_puts(&b, "\n");
    return b.overflow ? -1 : (int)b.len;
}

size_t wl_csv_row_cap(void)
{
    /* Every text field at its longest, doubled for message quoting, plus room
       for the numbers and the parameter columns. */
    return sizeof(struct wl_row) * 2 + 4096;
}

/* ---- the columns that name this process and moment ------------------------------- */

/* Rows made by this process so far; relaxed: only uniqueness of the value
   matters, no other memory is published through it. */
static _Atomic uint64_t wl_rows_made;

void wl_row_stamp(struct wl_row *r)
{
    struct timespec now;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    uint64_t n = atomic_fetch_add_explicit(&wl_rows_made, 1, memory_order_relaxed) + 1;
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    snprintf(r->run_id, sizeof r->run_id, "%s-%ld-%" PRIu64, stamp, (long)getpid(), n);
    strftime(r->started_utc, sizeof r->started_utc, "%Y-%m-%dT%H:%M:%SZ", &tm);
    snprintf(r->lab_version, sizeof r->lab_version, "%s", GILLAB_VERSION);
    if (gethostname(r->host, sizeof r->host) != 0)
        snprintf(r->host, sizeof r->host, "unknown");
    r->host[sizeof r->host - 1] = '\0';
}

void wl_row_set_lock(struct wl_row *r, const struct gil_stats *st)
{
    r->has_lock = true;
    r->acquisitions = (int64_t)st->acquisitions;
    r->releases = (int64_t)st->releases;
    r->switches = (int64_t)st->switches;
    r->futile_wakeups = (int64_t)st->futile_wakeups;
    r->timeouts = (int64_t)st->timeouts;
    r->drop_requests = (int64_t)st->drop_requests;
    r->drops_honoured = (int64_t)st->drops_honoured;
    r->wait_s = (double)st->wait_ns / 1e9;
    r->wait_max_s = (double)st->wait_max_ns / 1e9;
    r->hold_s = (double)st->hold_ns / 1e9;
}

int wl_samples_format(const char *run_id, const char *design, int64_t rep, const int64_t *lat_us,
                      size_t n, char **out, size_t *len)
{
    size_t per_row = strlen(run_id) + strlen(design) + 3 * 24 + 8;
    size_t cap = per_row * (n + 1) + 1;
    char *buf = malloc(cap);
    if (!buf)
        return ENOMEM;
    struct sb b = {buf, 0, cap, false};
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        put_text(&b, run_id);
        sb_puts(&b, ",");
        put_text(&b, design);
        sb_printf(&b, ",%" PRId64 ",%zu,%" PRId64 "\n", rep, i + 1, lat_us[i]);
    }
    if (b.overflow) {   /* cannot happen with the bound above; never write a torn row */
        free(buf);
        return ENOMEM;
    }
    *out = buf;
    *len = b.len;
    return 0;
}

/* ---- files ------------------------------------------------------------------------ */

static void set_err(const struct wl_csv *f, char *err, size_t cap, const char *what)
{
    snprintf(err, cap, "%s %s: %s", f->flag, f->path, what);
}

/* Is a non-empty file's content acceptable to append to? 0, or -1 with err. */
static int check_existing(struct wl_csv *f, off_t size, char *err, size_t errcap)
{
    size_t hlen = strlen(f->header);
    char *first = malloc(hlen + 1);
    if (!first) {
        set_err(f, err, errcap, strerror(ENOMEM));
        return -1;
    }
    ssize_t n = pread(f->fd, first, hlen, 0);
    int same = n == (ssize_t)hlen && memcmp(first, f->header, hlen) == 0;
    free(first);
    if (n < 0) {
        set_err(f, err, errcap, strerror(errno));
        return -1;
    }
    if (!same) {
        set_err(f, err, errcap,
                "header differs from this version's schema; refusing to append (move the file away)");
        return -1;
    }
    char last;
    if (pread(f->fd, &last, 1, size - 1) != 1 || last != '\n') {
        set_err(f, err, errcap,
                "does not end with a newline (a torn last row?); refusing to append (move the file away)");
        return -1;
    }
    return 0;
}

int wl_csv_open(struct wl_csv *f, const char *flag, const char *path, const char *header,
                char *err, size_t errcap)
{
    struct stat sb;
    *f = (struct wl_csv){.fd = -1};
    f->path = strdup(path);
    f->flag = strdup(flag);
    f->header = strdup(header);
    if (!f->path || !f->flag || !f->header) {
        snprintf(err, errcap, "%s %s: %s", flag, path, strerror(ENOMEM));
        goto fail;
    }
    /* O_EXCL first, to know whether this process made the file. */
    f->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f->fd >= 0)
        f->created = true;
    else if (errno == EEXIST)
        f->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (f->fd < 0) {
        set_err(f, err, errcap, strerror(errno));
        goto fail;
    }
    if (fstat(f->fd, &sb) != 0) {
        set_err(f, err, errcap, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        set_err(f, err, errcap, "not a regular file");
        goto fail;
    }
    if (sb.st_size > 0 && check_existing(f, sb.st_size, err, errcap) != 0)
        goto fail;
    return 0;

fail:
    wl_csv_close(f);
    return -1;
}

int wl_csv_append(struct wl_csv *f, const char *rows, size_t len, char *err, size_t errcap)
{
    struct stat sb;
    char *joined = NULL;
    int rc = -1;
    if (flock(f->fd, LOCK_EX) != 0) {
        set_err(f, err, errcap, strerror(errno));
        return -1;
    }
    if (fstat(f->fd, &sb) != 0) {
        set_err(f, err, errcap, strerror(errno));
        goto out;
    }
    if (sb.st_size > 0) {
        /* Another writer may have started the file since it was opened. */
        if (check_existing(f, sb.st_size, err, errcap) != 0)
            goto out;
    } else {
        size_t hlen = strlen(f->header);
        joined = malloc(hlen + len);
        if (!joined) {
            set_err(f, err, errcap, strerror(ENOMEM));
            goto out;
        }
        memcpy(joined, f->header, hlen);
        memcpy(joined + hlen, rows, len);
        rows = joined;
        len += hlen;
    }
    ssize_t n = write(f->fd, rows, len);
    if (n < 0) {
        set_err(f, err, errcap, strerror(errno));
        goto out;
    }
    if ((size_t)n != len) {
        set_err(f, err, errcap, "short write (disk full?); the last row may be torn");
        goto out;
    }
    f->wrote = true;
    rc = 0;
out:
    free(joined);
    flock(f->fd, LOCK_UN);
    return rc;
}

void wl_csv_close(struct wl_csv *f)
{
    if (f->fd >= 0) {
        struct stat sb;
        if (f->created && !f->wrote && fstat(f->fd, &sb) == 0 && sb.st_size == 0)
            unlink(f->path);
        close(f->fd);
    }
    free(f->path);
    free(f->flag);
    free(f->header);
    *f = (struct wl_csv){.fd = -1};
}
