/*
 * show.c — a repetition as a person sees it: tracebacks and errors on stderr,
 * the entry's results on stdout (when no --csv is written), and the per-thread
 * table of what the lock did on stderr. The table's counters are GIL_STATS,
 * headed by their CSV column names (times in seconds, as in the CSV); under a
 * policy that has VM counters (VM_STATS) a second table shows those.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

void show_opstats(const uint64_t *const *counts, int n)
{
    uint64_t total[VM_OPCODE_SLOTS] = {0}, all = 0;
    int order[VM_OPCODE_SLOTS], nops = 0;
    for (int op = 0; op < VM_OPCODE_SLOTS; op++) {
        for (int t = 0; t < n; t++)
            total[op] += counts[t] ? counts[t][op] : 0;
        all += total[op];
        if (total[op])
            order[nops++] = op;
    }
    for (int i = 1; i < nops; i++)   /* insertion sort: by total, descending */
        for (int j = i; j > 0 && total[order[j]] > total[order[j - 1]]; j--) {
            int tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    bool cols = n > 1 && n <= 8;   /* per-thread columns up to 8 threads; the CSV has them all */
    fprintf(stderr, "%-20s", "opcode");
    for (int t = 0; cols && t < n; t++)
        fprintf(stderr, " %9s%-2d", "thread ", t);
    fprintf(stderr, " %13s %7s\n", "total", "share");
    for (int i = 0; i <= nops; i++) {
        int op = i < nops ? order[i] : -1;
        const char *name = op >= 0 ? vm_opcode_name(op) : "total";
        fprintf(stderr, "%-20s", name ? name : "?");
        for (int t = 0; cols && t < n; t++) {
            uint64_t v = 0;
            for (int k = 0; counts[t] && k < VM_OPCODE_SLOTS; k++)
                v += op < 0 || k == op ? counts[t][k] : 0;
            fprintf(stderr, " %11" PRIu64, v);
        }
        uint64_t v = op >= 0 ? total[op] : all;
        fprintf(stderr, " %13" PRIu64 " %6.1f%%\n", v, all ? 100.0 * (double)v / (double)all : 0.0);
    }
}

/* Each line of a traceback, prefixed "thread N: " (or "worker N: ") when
   several ran. */
static void print_traceback(const char *who, int thread, int nthreads, const char *msg)
{
    if (nthreads == 1) {
        fprintf(stderr, "%s\n", msg);
        return;
    }
    for (const char *p = msg; *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(stderr, "%s %d: %.*s\n", who, thread, (int)n, p);
        p += n + (p[n] == '\n');
    }
}

static void table_line(const char *label, const struct run_thread_stats *s)
{
    fprintf(stderr, "%6s", label);
    for (size_t i = 0; i < gil_nstats; i++) {
        const struct gil_stat_info *info = &gil_stat_infos[i];
        int w = (int)strlen(info->column);
        uint64_t v = gil_stat_get(&s->gil, i);
        if (info->kind == GIL_STAT_COUNT)
            fprintf(stderr, " %*" PRIu64, w < 8 ? 8 : w, v);
        else
            fprintf(stderr, " %*.6f", w < 9 ? 9 : w, (double)v / 1e9);
    }
    fprintf(stderr, " %13" PRId64 " %15" PRId64 "\n", s->ctx_voluntary, s->ctx_involuntary);
}

/* The VM's counters that the policy has, per thread and in total. */
static void vm_table(const struct run_rep *r, enum gil_vm_safety policy)
{
    fprintf(stderr, "%6s", "thread");
    for (size_t i = 0; i < vm_nstats; i++)
        if (vm_stat_applies(i, policy))
            fprintf(stderr, " %*s", (int)strlen(vm_stat_infos[i].name), vm_stat_infos[i].name);
    fputc('\n', stderr);
    for (int t = 0; t <= r->nthreads; t++) {
        const struct vm_stats *st = t < r->nthreads ? &r->threads[t].stats.vm : &r->sum.vm;
        if (t < r->nthreads)
            fprintf(stderr, "%6d", t);
        else
            fprintf(stderr, "%6s", "total");
        for (size_t i = 0; i < vm_nstats; i++)
            if (vm_stat_applies(i, policy))
                fprintf(stderr, " %*" PRIu64, (int)strlen(vm_stat_infos[i].name), vm_stat_get(st, i));
        fputc('\n', stderr);
    }
}

static void table(const struct run_rep *r)
{
    fprintf(stderr, "%6s", "thread");
    for (size_t i = 0; i < gil_nstats; i++) {
        const struct gil_stat_info *info = &gil_stat_infos[i];
        int w = (int)strlen(info->column);
        fprintf(stderr, " %*s", info->kind == GIL_STAT_COUNT ? (w < 8 ? 8 : w) : (w < 9 ? 9 : w),
                info->column);
    }
    fprintf(stderr, " %13s %15s\n", "ctx_voluntary", "ctx_involuntary");
    for (int i = 0; i < r->nthreads; i++) {
        char label[16];
        snprintf(label, sizeof label, "%d", i);
        table_line(label, &r->threads[i].stats);
    }
    table_line("total", &r->sum);
    fprintf(stderr, "wall %.6f s  user %.6f s  sys %.6f s\n", r->wall_s, r->user_s, r->sys_s);
}

static void smaps_pair(int64_t before, int64_t after, bool has_before, bool has_after)
{
    char b[24] = "-", a[24] = "-";
    if (has_before)
        snprintf(b, sizeof b, "%lld", (long long)before);
    if (has_after)
        snprintf(a, sizeof a, "%lld", (long long)after);
    fprintf(stderr, " %9s -> %9s", b, a);
}

/* The fork scenario: results, errors, and a table of each worker's memory. */
static void show_fork(const struct show *s, const struct run_config *c, const struct run_rep *r)
{
    for (int i = 0; i < r->nworkers; i++) {
        const struct run_worker *w = &r->workers[i];
        if (w->error)
            print_traceback("worker", i, 2, w->error);
        else if (w->end != RUN_WORKER_OK)
            fprintf(stderr, "gillab: worker %d (pid %d) %s\n", i, w->pid, w->message);
    }
    if (r->warmup || !s->print_results || r->nworkers == 0)
        ;
    else {
        for (int i = 0; i < r->nworkers; i++)
            if (r->workers[i].repr)
                printf("worker %d: %s\n", i, r->workers[i].repr);
        fflush(stdout);
    }
    if (s->quiet || r->warmup || r->nworkers == 0)
        return;
    fprintf(stderr, "%s fork %s, %d worker%s, refcount policy %s", c->design->name, c->entry,
            r->nworkers, r->nworkers == 1 ? "" : "s", run_refcount_policies[c->refcount_policy]);
    if (c->reps > 1)
        fprintf(stderr, ", rep %d/%d", r->rep - c->first_rep + 1, c->reps);
    fprintf(stderr, "; the setup %s() added %.1f MB to the parent; %ld objects immortal at fork\n",
            c->setup, r->has_heap ? (double)r->heap_kb / 1024 : 0.0, r->frozen_objects);
    fprintf(stderr, "%6s %8s %-6s %10s %28s %28s %12s %8s\n", "worker", "pid", "status", "wall_s",
            "private_dirty_kb before/after", "shared_kb before/after", "unshared_kb", "shared");
    for (int i = 0; i < r->nworkers; i++) {
        const struct run_worker *w = &r->workers[i];
        const struct run_smaps *b = &w->before, *a = &w->after;
        fprintf(stderr, "%6d %8d %-6s %10.6f", i, w->pid,
                w->end == RUN_WORKER_OK ? "ok" : w->end == RUN_WORKER_ERROR ? "error"
                                                 : w->end == RUN_WORKER_SIGNAL ? "killed" : "exited",
                w->stats.wall_s);
        smaps_pair(b->private_dirty_kb, a->private_dirty_kb, w->has_before, w->has_after);
        smaps_pair(b->shared_clean_kb + b->shared_dirty_kb, a->shared_clean_kb + a->shared_dirty_kb,
                   w->has_before, w->has_after);
        if (w->has_before && w->has_after) {
            int64_t unshared = (b->shared_clean_kb + b->shared_dirty_kb) -
                               (a->shared_clean_kb + a->shared_dirty_kb);
            double pct = r->has_heap && r->heap_kb > 0
                             ? 100.0 * (double)(r->heap_kb - unshared) / (double)r->heap_kb : -1;
            fprintf(stderr, " %12lld", (long long)unshared);
            if (pct >= 0)
                fprintf(stderr, " %7.1f%%", pct < 0 ? 0 : pct > 100 ? 100 : pct);
        }
        fputc('\n', stderr);
    }
}

int show_rep(void *ctx, const struct run_config *c, const struct run_rep *r, char *err, size_t errcap)
{
    const struct show *s = ctx;
    bool any_thread_failed = false;
    (void)err, (void)errcap;
    fflush(stdout);
    if (r->load_error) {
        fprintf(stderr, "%s\n", r->load_error);
        any_thread_failed = true;
    }
    for (int i = 0; i < r->nthreads; i++)
        if (r->threads[i].error) {
            print_traceback("thread", i, r->nthreads, r->threads[i].error);
            any_thread_failed = true;
        }
    if (c->scenario->forks && r->nworkers > 0) {
        show_fork(s, c, r);
        if (r->warmup && !r->ok)
            fprintf(stderr, "gillab: warm-up %d of %d failed\n", r->rep, c->warmup);
        return 0;
    }
    if (!r->ok && !any_thread_failed)
        fprintf(stderr, "gillab: %s\n", r->message);
    if (r->warmup) {
        if (!r->ok)
            fprintf(stderr, "gillab: warm-up %d of %d failed\n", r->rep, c->warmup);
        return 0;
    }
    if (s->print_results) {
        for (int i = 0; i < r->nthreads; i++) {
            if (!r->threads[i].repr)
                continue;
            if (r->nthreads == 1)
                printf("%s\n", r->threads[i].repr);
            else
                printf("thread %d: %s\n", i, r->threads[i].repr);
        }
        fflush(stdout);
    }
    if (s->opstats && r->nthreads > 0) {
        const uint64_t *counts[RUN_MAX_THREADS];
        for (int i = 0; i < r->nthreads; i++)
            counts[i] = r->threads[i].opcounts;
        fprintf(stderr, "opcodes run, rep %d\n", r->rep);
        show_opstats(counts, r->nthreads);
    }
    if (r->trace && trace_dropped(r->trace))
        fprintf(stderr, "gillab: warning: --trace: %" PRIu64 " lock events did not fit the trace "
                        "buffers and were dropped\n", trace_dropped(r->trace));
    if (s->quiet || r->nthreads == 0)
        return 0;
    fprintf(stderr, "%s %s %s, %d thread%s", c->design->name, c->scenario->name, c->entry, r->nthreads,
            r->nthreads == 1 ? "" : "s");
    if (c->reps > 1)
        fprintf(stderr, ", rep %d/%d", r->rep - c->first_rep + 1, c->reps);
    fputc('\n', stderr);
    table(r);
    enum gil_vm_safety policy = c->design->vm_safety ? c->design->vm_safety(c->values) : GIL_VM_SERIAL;
    if (vm_stats_apply(policy))
        vm_table(r, policy);
    return 0;
}
