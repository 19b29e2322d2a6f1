/*
 * trace.c — lock event buffers and their export.
 *
 * Recording (trace_record, inline in trace.h) touches only the recording
 * thread's own buffer, so nothing here is shared while threads run. Everything
 * below runs after every thread is joined, on one thread.
 *
 * CSV: all buffers are merged into one list ordered by time. Events with equal
 * timestamps keep a fixed order (thread id, then the order the thread recorded
 * them), so an export is reproducible and a thread's own sequence (request
 * before acquire before release) is never reordered.
 *
 * JSON: the Chrome trace-event format ("traceEvents" array, times in µs) that
 * Perfetto and chrome://tracing open. Each thread gets a track ("thread N")
 * holding its waiting periods (request -> acquire, slices named "wait"), its
 * holding periods (acquire -> release, slices named "hold") and instants for
 * the remaining events. A separate "lock holder" track repeats each holding
 * period as "held by thread N", so hand-offs read as a single strip. A period
 * whose end was never recorded (the buffer filled up) is left out: its length
 * is unknown. Under a design that does not exclude (none), holding periods
 * overlap on the "lock holder" track; viewers then stack or flag them, which
 * is the honest picture of a lock that is not one.
 */
#include "trace/trace.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "locks/gil.h"

/* The "lock holder" track's thread id: past every VM thread id. */
#define TRACE_HOLDER_TID_MIN 1000
/* Every event lives in one process of the trace. */
#define TRACE_JSON_PID 1

static const char *const trace_kind_names[TRACE_NKINDS] = {
#define TRACE_NAME(id, name) [id] = name,
    TRACE_EVENTS(TRACE_NAME)
#undef TRACE_NAME
};

int trace_init(struct trace *tr, int nthreads, size_t cap_per_thread)
{
    struct trace t = {0};
    if (nthreads < 0)
        return EINVAL;
    if (cap_per_thread > SIZE_MAX / sizeof(struct trace_event))
        return ENOMEM;
    t.nthreads = nthreads;
    if (nthreads > 0) {
        t.bufs = calloc((size_t)nthreads, sizeof *t.bufs);
        if (!t.bufs)
            goto fail;
    }
    for (int i = 0; i < nthreads; i++) {
        struct trace_buf *b = &t.bufs[i];
        b->thread = (uint32_t)i;
        b->cap = cap_per_thread;
        if (cap_per_thread == 0)
            continue;   /* a buffer that counts every event as dropped */
        b->ev = malloc(cap_per_thread * sizeof *b->ev);
        if (!b->ev)
            goto fail;
    }
    t.clock0 = trace_clock();
    t.ns0 = gil_now_ns();
    t.t0_ns = t.ns0;
    *tr = t;
    return 0;

fail:
    trace_free(&t);
    return ENOMEM;
}

void trace_free(struct trace *tr)
{
    if (!tr)
        return;
    if (tr->bufs) {
        for (int i = 0; i < tr->nthreads; i++)
            free(tr->bufs[i].ev);
        free(tr->bufs);
    }
    memset(tr, 0, sizeof *tr);
}

const char *trace_kind_name(enum trace_kind k)
{
    if ((unsigned)k >= TRACE_NKINDS)
        return "unknown";
    return trace_kind_names[k];
}

uint64_t trace_dropped(const struct trace *tr)
{
    uint64_t n = 0;
    for (int i = 0; i < tr->nthreads; i++)
        n += tr->bufs[i].dropped;
    return n;
}

void trace_stop(struct trace *tr)
{
    if (tr->clock1)
        return;
    tr->clock1 = trace_clock();
    tr->ns1 = gil_now_ns();
    /* ns = ns0 + (clock - clock0) * scale, with the scale measured over the
       whole run (both readings bracket every event). */
    double scale = tr->clock1 > tr->clock0 ? (double)(tr->ns1 - tr->ns0) / (double)(tr->clock1 - tr->clock0)
                                           : 1.0;
    for (int i = 0; i < tr->nthreads; i++) {
        struct trace_buf *b = &tr->bufs[i];
        for (size_t k = 0; k < b->len; k++) {
            double d = (double)(int64_t)(b->ev[k].t - tr->clock0) * scale;
            b->ev[k].t = tr->ns0 + (uint64_t)(int64_t)d;
        }
    }
}

/* Time since the start of the run. Signed: an event stamped before t0 (a
   caller that set t0 late) shows as negative rather than as a huge number. */
static int64_t rel_ns(const struct trace *tr, uint64_t t_ns)
{
    return (int64_t)(t_ns - tr->t0_ns);
}

/* Finish a write: flush and report any error the stream saw. */
static int finish_write(FILE *out)
{
    if (fflush(out) != 0 || ferror(out))
        return errno ? errno : EIO;
    return 0;
}

/* ---- CSV --------------------------------------------------------------------- */

/* One event of the merged list: where it came from, for the tie-break. */
struct trace_ref {
    uint64_t t_ns;
    uint32_t buf;       /* index into tr->bufs */
    size_t index;       /* position in that buffer */
};

static int ref_cmp(const void *pa, const void *pb)
{
    const struct trace_ref *a = pa, *b = pb;
    if (a->t_ns != b->t_ns)
        return a->t_ns < b->t_ns ? -1 : 1;
    if (a->buf != b->buf)
        return a->buf < b->buf ? -1 : 1;
    if (a->index != b->index)
        return a->index < b->index ? -1 : 1;
    return 0;
}

int trace_write_csv(const struct trace *tr, FILE *out)
{
    size_t total = 0;
    for (int i = 0; i < tr->nthreads; i++)
        total += tr->bufs[i].len;
    if (total > SIZE_MAX / sizeof(struct trace_ref))
        return ENOMEM;

    struct trace_ref *refs = NULL;
    if (total > 0) {
        refs = malloc(total * sizeof *refs);
        if (!refs)
            return ENOMEM;
    }
    size_t n = 0;
    for (int i = 0; i < tr->nthreads; i++) {
        const struct trace_buf *b = &tr->bufs[i];
        for (size_t j = 0; j < b->len; j++)
            refs[n++] = (struct trace_ref){ .t_ns = b->ev[j].t, .buf = (uint32_t)i, .index = j };
    }
    if (n > 1)
        qsort(refs, n, sizeof *refs, ref_cmp);

    errno = 0;
    fputs(TRACE_CSV_HEADER, out);
    for (size_t k = 0; k < n && !ferror(out); k++) {
        const struct trace_event *e = &tr->bufs[refs[k].buf].ev[refs[k].index];
        fprintf(out, "%" PRId64 ",%" PRIu32 ",%s\n", rel_ns(tr, e->t), e->thread,
                trace_kind_name((enum trace_kind)e->kind));
    }
    free(refs);
    return finish_write(out);
}

/* ---- Chrome trace-event JSON ------------------------------------------------------ */

/* A time in µs with ns precision, as the format wants ("12.345"). */
static void put_us(FILE *out, int64_t ns)
{
    const char *sign = "";
    uint64_t mag = (uint64_t)ns;
    if (ns < 0) {
        sign = "-";
        mag = (uint64_t)0 - (uint64_t)ns;
    }
    fprintf(out, "%s%" PRIu64 ".%03" PRIu64, sign, mag / 1000, mag % 1000);
}

/* Writes the separator before every event but the first. */
struct json_writer {
    FILE *out;
    int count;
};

static void begin_event(struct json_writer *w)
{
    fputs(w->count++ ? ",\n" : "\n", w->out);
}

/* Name a track and fix its place among the tracks. */
static void put_track(struct json_writer *w, uint32_t tid, const char *name, int sort_index)
{
    begin_event(w);
    fprintf(w->out, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%" PRIu32
                    ",\"args\":{\"name\":\"%s\"}}",
            TRACE_JSON_PID, tid, name);
    begin_event(w);
    fprintf(w->out, "{\"name\":\"thread_sort_index\",\"ph\":\"M\",\"pid\":%d,\"tid\":%" PRIu32
                    ",\"args\":{\"sort_index\":%d}}",
            TRACE_JSON_PID, tid, sort_index);
}

static void put_slice(struct json_writer *w, uint32_t tid, const char *name, int64_t n,
                      int64_t start_ns, int64_t end_ns)
{
    begin_event(w);
    fprintf(w->out, "{\"name\":\"%s", name);
    if (n >= 0)
        fprintf(w->out, " %" PRId64, n);
    fprintf(w->out, "\",\"ph\":\"X\",\"pid\":%d,\"tid\":%" PRIu32 ",\"ts\":", TRACE_JSON_PID, tid);
    put_us(w->out, start_ns);
    fputs(",\"dur\":", w->out);
    put_us(w->out, end_ns - start_ns);
    fputc('}', w->out);
}

static void put_instant(struct json_writer *w, uint32_t tid, const char *name, int64_t t_ns)
{
    begin_event(w);
    fprintf(w->out, "{\"name\":\"%s\",\"ph\":\"i\",\"s\":\"t\",\"pid\":%d,\"tid\":%" PRIu32
                    ",\"ts\":",
            name, TRACE_JSON_PID, tid);
    put_us(w->out, t_ns);
    fputc('}', w->out);
}

/* One thread's track, and its holding periods on the holder track. */
static void put_thread_events(struct json_writer *w, const struct trace *tr,
                              const struct trace_buf *b, uint32_t holder_tid)
{
    bool waiting = false, holding = false;   /* is a wait / hold period open */
    int64_t asked_ns = 0, held_ns = 0;       /* when the open period began */
    for (size_t j = 0; j < b->len && !ferror(w->out); j++) {
        const struct trace_event *e = &b->ev[j];
        int64_t t = rel_ns(tr, e->t);
        switch ((enum trace_kind)e->kind) {
        case TRACE_REQUEST:
            waiting = true;
            asked_ns = t;
            break;
        case TRACE_ACQUIRE:
            if (waiting)
                put_slice(w, e->thread, "wait", -1, asked_ns, t);
            waiting = false;
            holding = true;
            held_ns = t;
            break;
        case TRACE_RELEASE:
            if (holding) {
                put_slice(w, e->thread, "hold", -1, held_ns, t);
                put_slice(w, holder_tid, "held by thread", e->thread, held_ns, t);
            }
            holding = false;
            break;
        case TRACE_DROP_REQUEST:
        case TRACE_TIMEOUT:
        case TRACE_FUTILE_WAKEUP:
        case TRACE_BLOCK_ENTER:
        case TRACE_BLOCK_EXIT:
        default:
            put_instant(w, e->thread, trace_kind_name((enum trace_kind)e->kind), t);
            break;
        }
    }
}

int trace_write_json(const struct trace *tr, FILE *out)
{
    uint32_t holder_tid = TRACE_HOLDER_TID_MIN;
    if ((uint32_t)tr->nthreads > holder_tid)
        holder_tid = (uint32_t)tr->nthreads;

    struct json_writer w = { .out = out, .count = 0 };
    errno = 0;
    fputs("{\"traceEvents\":[", out);
    if (tr->nthreads > 0) {
        begin_event(&w);
        fprintf(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0"
                     ",\"args\":{\"name\":\"gillab\"}}",
                TRACE_JSON_PID);
        /* The holder strip on top, then the threads in id order. */
        put_track(&w, holder_tid, "lock holder", -1);
        for (int i = 0; i < tr->nthreads; i++) {
            char name[32];
            snprintf(name, sizeof name, "thread %" PRIu32, tr->bufs[i].thread);
            put_track(&w, tr->bufs[i].thread, name, i);
        }
    }
    for (int i = 0; i < tr->nthreads && !ferror(out); i++)
        put_thread_events(&w, tr, &tr->bufs[i], holder_tid);
    fputs(w.count ? "\n],\"displayTimeUnit\":\"ns\"}\n" : "],\"displayTimeUnit\":\"ns\"}\n", out);
    return finish_write(out);
}
