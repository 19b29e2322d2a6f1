/*
 * record.c — rows from a run's results, and the files they go to; see record.h.
 */
#include "record/record.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the row ------------------------------------------------------------------------------ */

static int set_args(struct rec_row *row, const int64_t *args, int n)
{
    char buf[RUN_MAX_ARGS * 24];
    size_t len = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && len < sizeof buf; i++)
        len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%lld", i ? " " : "", (long long)args[i]);
    return rec_set_text(row, REC_args, buf);
}

static int set_cpus(struct rec_row *row, const struct run_config *c, const struct run_rep *rep)
{
    cpu_set_t used;
    char list[4096];
    CPU_ZERO(&used);
    for (int i = 0; i < rep->nthreads; i++)
        CPU_OR(&used, &used, &rep->threads[i].cpus);
    if (rep->nthreads == 0)
        used = c->cpus.set;   /* no thread ran: the CPUs it would have had */
    if (run_cpus_format(&used, false, list, sizeof list) < 0)
        list[0] = '\0';
    rec_set_int(row, REC_ncpus, CPU_COUNT(&used));
    if (rec_set_text(row, REC_placement, run_cpus_placement(c->cpus.mode)) != 0 ||
        rec_set_text(row, REC_cpus, c->cpus.requested) != 0 || rec_set_text(row, REC_cpu_list, list) != 0)
        return -1;
    return 0;
}

static int set_io(struct rec_row *row, const struct run_rep *rep)
{
    struct run_latency lat;
    rec_set_int(row, REC_io_iters, (int64_t)rep->nsamples);
    rec_set_real(row, REC_io_iters_per_s, rep->io_wall_s > 0 ? (double)rep->nsamples / rep->io_wall_s : 0);
    int rc = run_latency_summary(rep->samples, rep->nsamples, &lat);
    if (rc == ENOMEM)
        return -1;
    if (rc == 0) {
        rec_set_int(row, REC_latency_p50_us, lat.p50_us);
        rec_set_int(row, REC_latency_p90_us, lat.p90_us);
        rec_set_int(row, REC_latency_p99_us, lat.p99_us);
        rec_set_int(row, REC_latency_max_us, lat.max_us);
    }
    return 0;
}

int rec_row_from_run(struct rec_row *row, const struct run_config *c, const struct run_rep *rep)
{
    const char *slash = strrchr(c->file, '/');
    rec_row_init(row);
    row->design = c->design;
    memcpy(row->values, c->values, sizeof row->values);
    /* A row names the (first) entry and its arguments, as the peer driver's do;
       an I/O thread's entry and arguments are the caller's settings. */
    if (rec_stamp(row, rep->started) != 0 || rec_set_text(row, REC_design, c->design->name) != 0 ||
        rec_set_text(row, REC_workload, slash ? slash + 1 : c->file) != 0 ||
        rec_set_text(row, REC_entry, c->entry) != 0 || set_args(row, c->args, c->nargs) != 0 ||
        rec_set_text(row, REC_scenario, c->scenario->name) != 0 || set_cpus(row, c, rep) != 0)
        goto nomem;
    rec_set_int(row, REC_threads, c->threads);
    if (!rep->warmup)   /* a failed warm-up's row has no repetition number */
        rec_set_int(row, REC_rep, rep->rep);
    rec_set_real(row, REC_wall_s, rep->wall_s);
    rec_set_real(row, REC_user_s, rep->user_s);
    rec_set_real(row, REC_sys_s, rep->sys_s);
    if (rep->has_load) {
        rec_set_real(row, REC_others_cpu_s, rep->others_s);
        rec_set_real(row, REC_steal_s, rep->steal_s);
    }
    if (rep->nthreads > 0) {   /* threads ran: their lock and scheduler counters */
        rec_set_gil_stats(row, &rep->sum.gil);
        rec_set_vm_stats(row, &rep->sum.vm,
                         c->design->vm_safety ? c->design->vm_safety(c->values) : GIL_VM_SERIAL);
        if (rep->sum.gil.yields > 0)
            rec_set_real(row, REC_interval_wall_us,
                         (double)rep->sum.gil.hold_ns / 1e3 / (double)rep->sum.gil.yields);
        rec_set_int(row, REC_ctx_voluntary, rep->sum.ctx_voluntary);
        rec_set_int(row, REC_ctx_involuntary, rep->sum.ctx_involuntary);
    }
    if (rep->has_io && set_io(row, rep) != 0)
        goto nomem;
    if (rec_set_text(row, REC_status, rep->ok ? "ok" : "error") != 0)
        goto nomem;
    if (!rep->ok) {
        int rc = rep->warmup ? rec_set_textf(row, REC_message, "warm-up %d: %s", rep->rep,
                                              rep->message ? rep->message : "")
                             : rec_set_text(row, REC_message, rep->message ? rep->message : "");
        if (rc != 0)
            goto nomem;
    }
    return 0;
nomem:
    rec_row_free(row);
    return -1;
}

/* ---- the fork scenario's rows ------------------------------------------------------------------- */

static void set_smaps(struct rec_row *row, const struct run_smaps *m, bool before)
{
    static const enum rec_col b[] = {REC_rss_before_kb, REC_pss_before_kb, REC_shared_clean_before_kb,
                                     REC_shared_dirty_before_kb, REC_private_clean_before_kb,
                                     REC_private_dirty_before_kb};
    static const enum rec_col a[] = {REC_rss_kb, REC_pss_kb, REC_shared_clean_kb, REC_shared_dirty_kb,
                                     REC_private_clean_kb, REC_private_dirty_kb};
    const int64_t v[] = {m->rss_kb, m->pss_kb, m->shared_clean_kb, m->shared_dirty_kb,
                         m->private_clean_kb, m->private_dirty_kb};
    for (size_t k = 0; k < sizeof v / sizeof v[0]; k++)
        rec_set_int(row, before ? b[k] : a[k], v[k]);
    if (!before)
        rec_set_int(row, REC_anon_huge_kb, m->anon_huge_kb);
}

int rec_row_from_fork(struct rec_row *row, const struct run_config *c, const struct run_rep *rep, int i)
{
    const char *slash = strrchr(c->file, '/');
    const struct run_worker *w = i >= 0 ? &rep->workers[i] : NULL;
    cpu_set_t used = w ? w->cpus : c->cpus.set;
    char list[4096];
    rec_row_init(row);
    row->design = c->design;
    memcpy(row->values, c->values, sizeof row->values);
    if (CPU_COUNT(&used) == 0)   /* it died before it said: the CPUs it was given */
        used = c->cpus.set;
    if (run_cpus_format(&used, false, list, sizeof list) < 0)
        list[0] = '\0';
    if (rec_stamp(row, rep->started) != 0 || rec_set_text(row, REC_design, c->design->name) != 0 ||
        rec_set_text(row, REC_workload, slash ? slash + 1 : c->file) != 0 ||
        rec_set_text(row, REC_entry, c->entry) != 0 || set_args(row, c->args, c->nargs) != 0 ||
        rec_set_text(row, REC_scenario, c->scenario->name) != 0 ||
        rec_set_text(row, REC_placement, run_cpus_placement(c->cpus.mode)) != 0 ||
        rec_set_text(row, REC_cpus, c->cpus.requested) != 0 ||
        rec_set_text(row, REC_cpu_list, list) != 0 || rec_set_text(row, REC_setup, c->setup) != 0 ||
        rec_set_text(row, REC_refcount_policy, run_refcount_policies[c->refcount_policy]) != 0 ||
        (rep->thp && rec_set_text(row, REC_thp, rep->thp) != 0))
        goto nomem;
    rec_set_int(row, REC_ncpus, CPU_COUNT(&used));
    rec_set_int(row, REC_threads, c->threads);
    if (!rep->warmup)
        rec_set_int(row, REC_rep, rep->rep);
    rec_set_int(row, REC_workers, c->workers);
    rec_set_int(row, REC_frozen_objects, rep->frozen_objects);
    if (rep->has_heap)
        rec_set_int(row, REC_heap_kb, rep->heap_kb);
    if (rep->has_load) {
        rec_set_real(row, REC_others_cpu_s, rep->others_s);
        rec_set_real(row, REC_steal_s, rep->steal_s);
    }
    bool ok = w ? w->end == RUN_WORKER_OK : false;
    if (w) {
        rec_set_int(row, REC_worker, i);
        /* A worker's times are its call's: wall, and the whole process's CPU. */
        rec_set_real(row, REC_wall_s, w->stats.wall_s);
        rec_set_real(row, REC_user_s, w->stats.user_s);
        rec_set_real(row, REC_sys_s, w->stats.sys_s);
        if (w->end == RUN_WORKER_OK || w->end == RUN_WORKER_ERROR) {   /* it reported */
            rec_set_gil_stats(row, &w->stats.gil);
            if (w->stats.gil.yields > 0)
                rec_set_real(row, REC_interval_wall_us,
                             (double)w->stats.gil.hold_ns / 1e3 / (double)w->stats.gil.yields);
            rec_set_int(row, REC_ctx_voluntary, w->stats.ctx_voluntary);
            rec_set_int(row, REC_ctx_involuntary, w->stats.ctx_involuntary);
        }
        if (w->has_before)
            set_smaps(row, &w->before, true);
        if (w->has_after)
            set_smaps(row, &w->after, false);
        if (w->has_before && w->has_after) {
            int64_t unshared = (w->before.shared_clean_kb + w->before.shared_dirty_kb) -
                               (w->after.shared_clean_kb + w->after.shared_dirty_kb);
            rec_set_int(row, REC_unshared_kb, unshared);
            if (rep->has_heap && rep->heap_kb > 0) {
                double pct = 100.0 * (double)(rep->heap_kb - unshared) / (double)rep->heap_kb;
                rec_set_real(row, REC_pct_still_shared, pct < 0 ? 0 : pct > 100 ? 100 : pct);
            }
        }
    } else {
        /* Nothing was forked: no worker, no call, no time. */
        rec_set_real(row, REC_wall_s, 0);
        rec_set_real(row, REC_user_s, 0);
        rec_set_real(row, REC_sys_s, 0);
    }
    if (rec_set_text(row, REC_status, ok ? "ok" : "error") != 0)
        goto nomem;
    if (!ok) {
        const char *why = w ? w->message : rep->message ? rep->message : "";
        int rc = rep->warmup ? rec_set_textf(row, REC_message, "warm-up %d: %s", rep->rep, why)
                             : rec_set_text(row, REC_message, why);
        if (rc != 0)
            goto nomem;
    }
    return 0;
nomem:
    rec_row_free(row);
    return -1;
}

/* Every row of a fork repetition, in one buffer (appended with one write). */
static char *fork_rows(const struct run_config *c, const struct run_rep *rep, char ***ids, size_t *len)
{
    int n = rep->nworkers > 0 ? rep->nworkers : 1;
    char *all = NULL;
    size_t total = 0;
    *ids = calloc((size_t)n, sizeof **ids);
    if (!*ids)
        return NULL;
    for (int i = 0; i < n; i++) {
        struct rec_row row;
        size_t l;
        if (rec_row_from_fork(&row, c, rep, rep->nworkers > 0 ? i : -1) != 0)
            goto nomem;
        char *line = rec_format(&row, &l);
        (*ids)[i] = strdup(row.cells[REC_run_id].text);
        rec_row_free(&row);
        char *grown = line && (*ids)[i] ? realloc(all, total + l + 1) : NULL;
        if (!grown) {
            free(line);
            goto nomem;
        }
        all = grown;
        memcpy(all + total, line, l + 1);
        total += l;
        free(line);
    }
    *len = total;
    return all;
nomem:
    free(all);
    for (int i = 0; i < n; i++)
        free((*ids)[i]);
    free(*ids);
    *ids = NULL;
    return NULL;
}

/* --smaps-csv: the readings of each worker, under the run_id of its row. */
static char *smaps_rows(const struct run_config *c, const struct run_rep *rep, char *const *ids, size_t *len)
{
    char *all = NULL;
    size_t total = 0, cap = 0;
    for (size_t k = 0; k < rep->nsmaps_samples; k++) {
        const struct run_smaps_sample *s = &rep->smaps_samples[k];
        char line[512];
        int l = snprintf(line, sizeof line, "%s,%s,%d,%d,%.3f,%lld,%lld,%lld,%lld\n", ids[s->worker],
                         c->design->name, rep->rep, s->worker, s->t_ms, (long long)s->m.rss_kb,
                         (long long)s->m.pss_kb, (long long)(s->m.shared_clean_kb + s->m.shared_dirty_kb),
                         (long long)s->m.private_dirty_kb);
        if (total + (size_t)l + 1 > cap) {
            size_t ncap = cap ? cap * 2 : 4096;
            while (ncap < total + (size_t)l + 1)
                ncap *= 2;
            char *g = realloc(all, ncap);
            if (!g) {
                free(all);
                return NULL;
            }
            all = g;
            cap = ncap;
        }
        memcpy(all + total, line, (size_t)l + 1);
        total += (size_t)l;
    }
    *len = total;
    return all ? all : strdup("");
}

static int record_fork(struct recorder *r, const struct run_config *c, const struct run_rep *rep, char *err,
                       size_t errcap)
{
    char **ids = NULL;
    size_t len = 0;
    int n = rep->nworkers > 0 ? rep->nworkers : 1, rc = 0;
    char *rows = fork_rows(c, rep, &ids, &len);
    if (!rows) {
        snprintf(err, errcap, "--csv: cannot build the rows: %s", strerror(ENOMEM));
        return -1;
    }
    if (r->have_csv)
        rc = rec_file_append(&r->csv, rows, len, err, errcap);
    if (rc == 0 && r->have_smaps && !rep->warmup && rep->nsmaps_samples > 0) {
        char *lines = smaps_rows(c, rep, ids, &len);
        if (!lines) {
            snprintf(err, errcap, "--smaps-csv %s: %s", r->smaps.path, strerror(ENOMEM));
            rc = -1;
        } else if (len > 0) {
            rc = rec_file_append(&r->smaps, lines, len, err, errcap);
        }
        free(lines);
    }
    free(rows);
    for (int i = 0; i < n; i++)
        free(ids[i]);
    free(ids);
    return rc;
}

/* ---- files --------------------------------------------------------------------------------- */

static void outfile_close(struct rec_outfile *o)
{
    if (o->fd >= 0) {
        if (o->deferred)   /* made only to check it: never written */
            unlink(o->path);
        close(o->fd);
    }
    o->fd = -1;
}

static int outfile_open(struct rec_outfile *o, const char *flag, const char *path, char *err,
                        size_t errcap)
{
    *o = (struct rec_outfile){.fd = -1};
    if (!path)
        return 0;
    o->flag = flag;
    o->path = path;
    struct stat pre;
    if (stat(path, &pre) == 0 && !S_ISREG(pre.st_mode)) {
        snprintf(err, errcap, "%s %s: not a regular file", flag, path);
        return -1;
    }
    /* Not truncated yet: a run that fails leaves an existing file as it was.
       O_NONBLOCK: a FIFO with no reader fails at once instead of hanging (it is
       refused below as not a regular file anyway). */
    o->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NONBLOCK, 0644);
    if (o->fd >= 0)
        o->deferred = true;
    else if (errno == EEXIST)
        o->fd = open(path, O_WRONLY | O_CLOEXEC | O_NONBLOCK);
    if (o->fd < 0) {
        snprintf(err, errcap, "%s %s: %s", flag, path, strerror(errno));
        return -1;
    }
    struct stat sb;
    if (fstat(o->fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        snprintf(err, errcap, "%s %s: not a regular file", flag, path);
        outfile_close(o);
        return -1;
    }
    int fl = fcntl(o->fd, F_GETFL);
    if (fl >= 0)
        fcntl(o->fd, F_SETFL, fl & ~O_NONBLOCK);
    return 0;
}

/* After every check: a file made only to check it goes away until written. */
static void outfile_defer(struct rec_outfile *o)
{
    if (!o->deferred || o->fd < 0)
        return;
    unlink(o->path);
    close(o->fd);
    o->fd = -1;
}

static int outfile_write_trace(struct rec_outfile *o, const struct trace *tr, bool json, char *err,
                               size_t errcap)
{
    int rc = 0;
    FILE *f = NULL;
    int fd = o->fd >= 0 ? dup(o->fd) : open(o->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ftruncate(fd, 0) != 0 || !(f = fdopen(fd, "w"))) {
        rc = errno;
        if (fd >= 0)
            close(fd);
    } else {
        rc = json ? trace_write_json(tr, f) : trace_write_csv(tr, f);
        if (fclose(f) != 0 && rc == 0)
            rc = errno;
    }
    if (rc != 0) {
        snprintf(err, errcap, "%s %s: %s", o->flag, o->path, strerror(rc));
        return -1;
    }
    return 0;
}

/* Every open file's identity, to refuse two options naming one file. */
struct opened {
    const char *flag, *path;
    int fd;
};

static int distinct(const struct opened *o, int n, char *err, size_t errcap)
{
    struct stat a, b;
    /* Nor may an output be where the run's own output goes. */
    static const struct { int fd; const char *name; } std[] = {
        {1, "standard output"}, {2, "standard error"}};
    for (int i = 0; i < n; i++)
        for (size_t k = 0; k < sizeof std / sizeof std[0]; k++)
            if (fstat(o[i].fd, &a) == 0 && fstat(std[k].fd, &b) == 0 && a.st_dev == b.st_dev &&
                a.st_ino == b.st_ino) {
                snprintf(err, errcap, "%s %s: the same file as %s; each output needs its own file",
                         o[i].flag, o[i].path, std[k].name);
                return -1;
            }
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            if (fstat(o[i].fd, &a) != 0 || fstat(o[j].fd, &b) != 0)
                continue;
            if (a.st_dev == b.st_dev && a.st_ino == b.st_ino) {
                snprintf(err, errcap, "%s %s: the same file as %s %s; each output needs its own file",
                         o[j].flag, o[j].path, o[i].flag, o[i].path);
                return -1;
            }
        }
    return 0;
}

int rec_open(struct recorder *r, const struct rec_paths *p, char *err, size_t errcap)
{
    struct opened o[6];
    int n = 0;
    char *header = NULL;
    memset(r, 0, sizeof *r);
    r->csv.fd = r->samples.fd = r->opstats.fd = r->smaps.fd = -1;
    r->trace_csv.fd = r->trace_json.fd = -1;
    if (p->csv && !(header = rec_header())) {
        snprintf(err, errcap, "--csv %s: %s", p->csv, strerror(ENOMEM));
        goto fail;
    }
    /* The CSV outputs, opened in this order; each given one is checked and opened
       before anything runs. */
    const struct {
        const char *flag, *path, *header;
        struct rec_file *file;
        bool *have;
    } csvs[] = {
        {"--csv", p->csv, header, &r->csv, &r->have_csv},
        {"--samples-csv", p->samples_csv, REC_SAMPLES_HEADER, &r->samples, &r->have_samples},
        {"--smaps-csv", p->smaps_csv, REC_SMAPS_HEADER, &r->smaps, &r->have_smaps},
        {"--opstats-csv", p->opstats_csv, REC_OPSTATS_HEADER, &r->opstats, &r->have_opstats},
    };
    for (size_t i = 0; i < sizeof csvs / sizeof csvs[0]; i++) {
        if (!csvs[i].path)
            continue;
        if (rec_file_open(csvs[i].file, csvs[i].flag, csvs[i].path, csvs[i].header, err, errcap) != 0)
            goto fail;
        *csvs[i].have = true;
        o[n++] = (struct opened){csvs[i].flag, csvs[i].path, csvs[i].file->fd};
    }
    if (outfile_open(&r->trace_csv, "--trace", p->trace_csv, err, errcap) != 0)
        goto fail;
    if (r->trace_csv.fd >= 0)
        o[n++] = (struct opened){"--trace", p->trace_csv, r->trace_csv.fd};
    if (outfile_open(&r->trace_json, "--trace-json", p->trace_json, err, errcap) != 0)
        goto fail;
    if (r->trace_json.fd >= 0)
        o[n++] = (struct opened){"--trace-json", p->trace_json, r->trace_json.fd};
    if (distinct(o, n, err, errcap) != 0)
        goto fail;
    outfile_defer(&r->trace_csv);
    outfile_defer(&r->trace_json);
    r->csv.on_wait = r->samples.on_wait = r->opstats.on_wait = r->smaps.on_wait = p->on_wait;
    free(header);
    return 0;
fail:
    free(header);
    rec_close(r);
    return -1;
}

static int append_opstats(struct recorder *r, const char *run_id, int64_t rep,
                          const uint64_t *const *counts, int n, char *err, size_t errcap)
{
    char *rows = NULL;
    size_t len = 0;
    int rc = 0;
    if (rec_opstats_format(run_id, rep, counts, n, &rows, &len) != 0) {
        snprintf(err, errcap, "--opstats-csv %s: %s", r->opstats.path, strerror(ENOMEM));
        return -1;
    }
    if (len > 0)
        rc = rec_file_append(&r->opstats, rows, len, err, errcap);
    free(rows);
    return rc;
}

int rec_record_opstats(struct recorder *r, const uint64_t *counts, char *err, size_t errcap)
{
    struct rec_row row;
    if (!r->have_opstats)
        return 0;
    rec_row_init(&row);
    if (rec_stamp(&row, (int64_t)time(NULL)) != 0) {
        snprintf(err, errcap, "--opstats-csv %s: %s", r->opstats.path, strerror(ENOMEM));
        return -1;
    }
    int rc = append_opstats(r, row.cells[REC_run_id].text, 1, &counts, 1, err, errcap);
    rec_row_free(&row);
    return rc;
}

int rec_record(struct recorder *r, const struct run_config *c, const struct run_rep *rep, char *err,
               size_t errcap)
{
    struct rec_row row;
    int rc = 0;
    if (rep->warmup && rep->ok)
        return 0;   /* warm-ups are not written, unless they failed */
    if (c->scenario->forks)
        return record_fork(r, c, rep, err, errcap);
    if (rec_row_from_run(&row, c, rep) != 0) {
        snprintf(err, errcap, "--csv: cannot build the row: %s", strerror(ENOMEM));
        return -1;
    }
    if (r->have_csv) {
        size_t len;
        char *line = rec_format(&row, &len);
        rc = line ? rec_file_append(&r->csv, line, len, err, errcap) : -1;
        if (!line)
            snprintf(err, errcap, "--csv %s: cannot format the row: %s", r->csv.path, strerror(ENOMEM));
        free(line);
    }
    if (rc == 0 && r->have_samples && rep->has_io && !rep->warmup) {
        char *rows = NULL;
        size_t len = 0;
        const struct rec_cell *id = &row.cells[REC_run_id];
        if (rec_samples_format(id->text, c->design->name, rep->rep, rep->samples, rep->nsamples, &rows,
                               &len) != 0) {
            snprintf(err, errcap, "--samples-csv %s: %s", r->samples.path, strerror(ENOMEM));
            rc = -1;
        } else if (len > 0) {
            rc = rec_file_append(&r->samples, rows, len, err, errcap);
        }
        free(rows);
    }
    if (rc == 0 && r->have_opstats && !rep->warmup && rep->nthreads > 0) {
        const uint64_t *counts[RUN_MAX_THREADS];
        for (int i = 0; i < rep->nthreads; i++)
            counts[i] = rep->threads[i].opcounts;
        rc = append_opstats(r, row.cells[REC_run_id].text, rep->rep, counts, rep->nthreads, err,
                            errcap);
    }
    if (rc == 0 && rep->trace) {
        if ((r->trace_csv.flag && outfile_write_trace(&r->trace_csv, rep->trace, false, err, errcap) != 0) ||
            (r->trace_json.flag && outfile_write_trace(&r->trace_json, rep->trace, true, err, errcap) != 0))
            rc = -1;
    }
    rec_row_free(&row);
    return rc;
}

void rec_close(struct recorder *r)
{
    outfile_close(&r->trace_csv);
    outfile_close(&r->trace_json);
    if (r->have_csv)
        rec_file_close(&r->csv);
    if (r->have_samples)
        rec_file_close(&r->samples);
    if (r->have_opstats)
        rec_file_close(&r->opstats);
    if (r->have_smaps)
        rec_file_close(&r->smaps);
    r->have_csv = r->have_samples = r->have_opstats = r->have_smaps = false;
}
