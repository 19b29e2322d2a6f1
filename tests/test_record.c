/*
 * test_record.c — the results CSV: the header is the documented column list, every
 * column of a real row has its type (or is empty where not applicable), the
 * message is quoted per RFC 4180, the writer refuses what it must refuse, never
 * writes a second header and never leaves half a row (a write cut short by a
 * full disk is undone), and the recorder refuses two outputs naming one file.
 */
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/version.h"
#include "locks/gil.h"
#include "record/csvfile.h"
#include "record/record.h"
#include "record/schema.h"

/* The columns as the contract lists them; PARAMS marks where the design
   parameter columns go. */
static const char *const documented[] = {
    "run_id", "lab_version", "started_utc", "host", "design", "PARAMS", "workload", "entry", "args",
    "scenario", "threads", "placement", "cpus", "ncpus", "cpu_list", "rep", "wall_s", "user_s", "sys_s",
    "others_cpu_s", "steal_s", "acquisitions", "releases", "switches", "wakeups", "futile_wakeups",
    "unslept", "timeouts", "drop_requests", "drops_honoured", "yields", "blocks", "wait_s",
    "wait_max_s", "block_s", "hold_s", "refcount_atomics", "biased_queued", "biased_merged",
    "objlock_contended", "deferred_releases", "interval_wall_us", "ctx_voluntary", "ctx_involuntary",
    "io_iters", "io_iters_per_s", "latency_p50_us", "latency_p90_us", "latency_p99_us",
    "latency_max_us", "setup", "refcount_policy", "workers", "worker", "frozen_objects", "heap_kb",
    "thp", "rss_before_kb", "pss_before_kb", "shared_clean_before_kb", "shared_dirty_before_kb",
    "private_clean_before_kb", "private_dirty_before_kb", "rss_kb", "pss_kb", "shared_clean_kb",
    "shared_dirty_kb", "private_clean_kb", "private_dirty_kb", "anon_huge_kb", "unshared_kb",
    "pct_still_shared", "status", "message", NULL};

/* ---- helpers ------------------------------------------------------------------------- */

#define MAXF 128

/* Split one CSV line (without its '\n') per RFC 4180 into malloc'd fields. */
static int split(const char *line, char **f)
{
    int n = 0;
    const char *p = line;
    for (;;) {
        char *out = malloc(strlen(line) + 1), *o = out;
        if (*p == '"') {
            p++;
            for (;;) {
                if (*p == '"' && p[1] == '"') {
                    *o++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else if (*p == '\0') {
                    break;
                } else {
                    *o++ = *p++;
                }
            }
        } else {
            while (*p && *p != ',')
                *o++ = *p++;
        }
        *o = '\0';
        if (n < MAXF)
            f[n++] = out;
        else
            free(out);
        if (*p != ',')
            break;
        p++;
    }
    return n;
}

static void free_fields(char **f, int n)
{
    for (int i = 0; i < n; i++)
        free(f[i]);
}

static bool matches(const char *re, const char *s)
{
    regex_t r;
    if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
        return false;
    bool ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return ok;
}

/* The union of every registered design's parameter names, registry order. */
static int param_union(const char **names, int cap)
{
    int n = 0;
    for (const struct gil_design *const *d = gil_designs; *d; d++)
        for (size_t i = 0; i < (*d)->nparams; i++) {
            bool seen = false;
            for (int j = 0; j < n; j++)
                seen = seen || strcmp(names[j], (*d)->params[i].name) == 0;
            if (!seen && n < cap)
                names[n++] = (*d)->params[i].name;
        }
    return n;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 20);
    size_t n = fread(buf, 1, (1 << 20) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static char tmpdir[64];

static int setup_dir(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/gillab-test-csv-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void tmp_path(char *buf, size_t cap, const char *name)
{
    snprintf(buf, cap, "%s/%s", tmpdir, name);
    unlink(buf);
}

static char *header(void)
{
    static char *h;
    if (!h)
        h = rec_header();
    assert_non_null(h);
    return h;
}

static enum gil_vm_safety policy_of(const struct gil_design *d, const double *values)
{
    return d->vm_safety ? d->vm_safety(values) : GIL_VM_SERIAL;
}

/* A row as the recorder makes it, for design d and the given scenario. */
static void real_row(struct rec_row *r, const struct gil_design *d, bool convoy)
{
    rec_row_init(r);
    assert_int_equal(rec_stamp(r, (int64_t)time(NULL)), 0);
    rec_set_text(r, REC_design, d->name);
    r->design = d;
    gil_params_defaults(d, r->values);
    rec_set_text(r, REC_workload, convoy ? "convoy.py" : "count.py");
    rec_set_text(r, REC_entry, convoy ? "cpu" : "count");
    rec_set_text(r, REC_args, "1000000 7");
    rec_set_text(r, REC_scenario, convoy ? "convoy" : "threads");
    rec_set_int(r, REC_threads, 2);
    rec_set_text(r, REC_placement, "list");
    rec_set_text(r, REC_cpus, "0 1");
    rec_set_int(r, REC_ncpus, 2);
    rec_set_text(r, REC_cpu_list, "0 1");
    rec_set_int(r, REC_rep, 3);
    rec_set_real(r, REC_wall_s, 1.25);
    rec_set_real(r, REC_user_s, 2.5);
    rec_set_real(r, REC_sys_s, 0.000125);
    rec_set_real(r, REC_others_cpu_s, 0.25);
    rec_set_real(r, REC_steal_s, 0);
    struct gil_stats st = {.acquisitions = 10, .releases = 10, .switches = 4, .futile_wakeups = 2,
                           .timeouts = 3, .drop_requests = 3, .drops_honoured = 3,
                           .wait_ns = 1500000000, .wait_max_ns = 5000000, .hold_ns = 2000000000};
    rec_set_gil_stats(r, &st);
    struct vm_stats vst = {.refcount_atomics = 7, .biased_queued = 2, .biased_merged = 1,
                           .objlock_contended = 5, .deferred_releases = 9};
    rec_set_vm_stats(r, &vst, policy_of(d, r->values));
    rec_set_real(r, REC_interval_wall_us, 123.5);
    rec_set_int(r, REC_ctx_voluntary, 12);
    rec_set_int(r, REC_ctx_involuntary, 34);
    if (convoy) {
        rec_set_int(r, REC_io_iters, 50);
        rec_set_real(r, REC_io_iters_per_s, 199.5);
        rec_set_int(r, REC_latency_p50_us, 5100);
        rec_set_int(r, REC_latency_p90_us, 5200);
        rec_set_int(r, REC_latency_p99_us, 5300);
        rec_set_int(r, REC_latency_max_us, 5400);
    }
    rec_set_text(r, REC_status, "ok");
}

static bool is_set(const struct rec_row *r, enum rec_col c) { return r->cells[c].set; }
static bool row_ok(const struct rec_row *r) { return strcmp(r->cells[REC_status].text, "ok") == 0; }

/* The formatted line of r without its '\n'; one physical line. */
static char *format_line(const struct rec_row *r)
{
    size_t len = 0;
    char *line = rec_format(r, &len);
    assert_non_null(line);
    assert_true(len > 0);
    assert_int_equal(line[len - 1], '\n');
    assert_ptr_equal(strchr(line, '\n'), line + len - 1);
    line[len - 1] = '\0';
    return line;
}

/* ---- the header ------------------------------------------------------------------------ */

static void header_is_the_documented_column_list(void **state)
{
    (void)state;
    const char *params[32];
    int np = param_union(params, 32);
    char expected[4096] = "";
    for (int i = 0; documented[i]; i++) {
        if (strcmp(documented[i], "PARAMS") == 0) {
            for (int j = 0; j < np; j++) {
                strcat(expected, params[j]);
                strcat(expected, ",");
            }
            continue;
        }
        strcat(expected, documented[i]);
        strcat(expected, documented[i + 1] ? "," : "\n");
    }
    assert_string_equal(header(), expected);
}

static void parameter_columns_of_the_required_designs_are_in_registry_order(void **state)
{
    (void)state;
    /* With py26, py32 and none registered (in that order), their parameters
       appear in this order; a later design may add columns after them. */
    if (!gil_design_find("py26") || !gil_design_find("py32") || !gil_design_find("none"))
        skip();
    const char *h = header();
    assert_non_null(strstr(h, ",design,check_interval,tick_scale,lock,interval_us,force_switching,refcounts,"));
}

static void docs_list_every_column_in_order(void **state)
{
    (void)state;
    char *doc = read_file("README.md");
    assert_non_null(doc);   /* tests run from the repository root */
    char *h = strdup(header());
    h[strcspn(h, "\n")] = '\0';
    const char *from = doc;
    for (char *name = strtok(h, ","); name; name = strtok(NULL, ",")) {
        char needle[96];
        snprintf(needle, sizeof needle, "| `%s` |", name);
        const char *at = strstr(from, needle);
        if (!at)
            fail_msg("README.md: no row '%s' after the previous column", needle);
        from = at + strlen(needle);
    }
    free(h);
    free(doc);
}

/* ---- rows -------------------------------------------------------------------------------- */

static const char *const int_cols[] = {
    "threads", "ncpus", "rep", "acquisitions", "releases", "switches", "futile_wakeups", "timeouts",
    "drop_requests", "drops_honoured", "yields", "blocks", "wakeups", "unslept", "ctx_voluntary", "ctx_involuntary", "io_iters",
    "latency_p50_us", "latency_p90_us", "latency_p99_us", "latency_max_us", "check_interval",
    "refcount_atomics", "biased_queued", "biased_merged", "objlock_contended", "deferred_releases",
    "workers", "worker", "frozen_objects", "heap_kb", "rss_before_kb", "pss_before_kb",
    "shared_clean_before_kb", "shared_dirty_before_kb", "private_clean_before_kb",
    "private_dirty_before_kb", "rss_kb", "pss_kb", "shared_clean_kb", "shared_dirty_kb",
    "private_clean_kb", "private_dirty_kb", "anon_huge_kb", "unshared_kb", NULL};
static const char *const sec_cols[] = {"wall_s", "user_s", "sys_s", "others_cpu_s", "steal_s",
                                       "wait_s", "wait_max_s", "block_s", "hold_s", NULL};
static const char *const lock_cols[] = {"acquisitions", "releases", "switches", "wakeups",
                                        "futile_wakeups", "unslept", "timeouts", "drop_requests",
                                        "drops_honoured", "yields", "blocks", "wait_s", "wait_max_s",
                                        "block_s", "hold_s", "interval_wall_us", NULL};
static const char *const io_cols[] = {"io_iters", "io_iters_per_s", "latency_p50_us",
                                      "latency_p90_us", "latency_p99_us", "latency_max_us", NULL};
/* The fork scenario's columns: empty in any other row. */
static const char *const fork_cols[] = {
    "setup", "refcount_policy", "workers", "worker", "frozen_objects", "heap_kb", "thp",
    "rss_before_kb", "pss_before_kb", "shared_clean_before_kb", "shared_dirty_before_kb",
    "private_clean_before_kb", "private_dirty_before_kb", "rss_kb", "pss_kb", "shared_clean_kb",
    "shared_dirty_kb", "private_clean_kb", "private_dirty_kb", "anon_huge_kb", "unshared_kb",
    "pct_still_shared", NULL};

/* The id of a fork column (those are all plain columns, no parameters). */
static int column_id(const char *name)
{
#define ID(col) {#col, REC_##col}
    static const struct { const char *name; int id; } ids[] = {
        ID(setup), ID(refcount_policy), ID(workers), ID(worker), ID(frozen_objects), ID(heap_kb),
        ID(thp), ID(rss_before_kb), ID(pss_before_kb), ID(shared_clean_before_kb),
        ID(shared_dirty_before_kb), ID(private_clean_before_kb), ID(private_dirty_before_kb),
        ID(rss_kb), ID(pss_kb), ID(shared_clean_kb), ID(shared_dirty_kb), ID(private_clean_kb),
        ID(private_dirty_kb), ID(anon_huge_kb), ID(unshared_kb), ID(pct_still_shared)};
#undef ID
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (strcmp(ids[i].name, name) == 0)
            return ids[i].id;
    fail_msg("no fork column %s", name);
    return -1;
}

/* The index of VM counter column c in vm_stat_infos, or -1. */
static int vm_col(const char *c)
{
    for (size_t i = 0; i < vm_nstats; i++)
        if (strcmp(vm_stat_infos[i].name, c) == 0)
            return (int)i;
    return -1;
}

static bool in(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (strcmp(*list, s) == 0)
            return true;
    return false;
}

static int design_param(const struct gil_design *d, const char *name)
{
    for (size_t i = 0; i < d->nparams; i++)
        if (strcmp(d->params[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Every column of r's formatted line has its type, or is empty where it must be. */
static void check_row_types(const struct rec_row *r)
{
    char *hf[MAXF], *rf[MAXF];
    char *line = format_line(r);
    bool has_lock = is_set(r, REC_GIL_acquisitions), has_io = is_set(r, REC_io_iters);
    bool is_fork = is_set(r, REC_workers);
    char *h = strdup(header());
    h[strcspn(h, "\n")] = '\0';
    int nh = split(h, hf), nr = split(line, rf);
    assert_int_equal(nr, nh);
    for (int i = 0; i < nh; i++) {
        const char *c = hf[i], *v = rf[i];
        int pi = r->design ? design_param(r->design, c) : -1;
        bool is_param = false;
        for (const struct gil_design *const *d = gil_designs; *d; d++)
            is_param = is_param || design_param(*d, c) >= 0;
        if (is_param && pi < 0) {
            assert_string_equal(v, "");   /* not this design's parameter */
            continue;
        }
        int vi = vm_col(c);
        if (vi >= 0 && (!has_lock || !r->design || !vm_stat_applies((size_t)vi, policy_of(r->design, r->values)))) {
            if (v[0] != '\0')
                fail_msg("column %s should be empty under %s, is '%s'", c,
                         r->design ? r->design->name : "a peer", v);
            continue;
        }
        if (in(fork_cols, c) && (!is_fork || !is_set(r, (enum rec_col)column_id(c)))) {
            if (v[0] != '\0')
                fail_msg("column %s should be empty, is '%s'", c, v);
            continue;
        }
        if (strcmp(c, "interval_wall_us") == 0 && v[0] == '\0')
            continue;   /* empty when no periodic release happened */
        bool ctx = strcmp(c, "ctx_voluntary") == 0 || strcmp(c, "ctx_involuntary") == 0;
        if (ctx && !has_lock && v[0] == '\0')
            continue;   /* no thread reported (a peer row has them, a dead worker's not) */
        if ((in(lock_cols, c) && !has_lock) || (in(io_cols, c) && !has_io)) {
            if (v[0] != '\0')
                fail_msg("column %s should be empty, is '%s'", c, v);
            continue;
        }
        bool ok;
        if (in(int_cols, c))
            ok = matches("^-?[0-9]+$", v);
        else if (in(sec_cols, c))
            ok = matches("^[0-9]+\\.[0-9]{6}$", v);
        else if (strcmp(c, "io_iters_per_s") == 0 || strcmp(c, "interval_wall_us") == 0 ||
                 strcmp(c, "pct_still_shared") == 0)
            ok = matches("^[0-9]+\\.[0-9]{3}$", v);
        else if (strcmp(c, "interval_us") == 0)
            ok = matches("^[0-9]+(\\.[0-9]+)?$", v);
        else if (strcmp(c, "lock") == 0)
            ok = strcmp(v, "sem") == 0 || strcmp(v, "condvar") == 0;
        else if (strcmp(c, "force_switching") == 0 || (is_param && r->design->params[pi].kind == GIL_PARAM_BOOL))
            ok = strcmp(v, "on") == 0 || strcmp(v, "off") == 0;
        else if (is_param && r->design->params[pi].kind == GIL_PARAM_REAL)
            ok = matches("^[0-9]+(\\.[0-9]+)?$", v);
        else if (is_param && r->design->params[pi].kind == GIL_PARAM_ENUM)
            ok = v[0] && strstr(r->design->params[pi].choices, v) != NULL;
        else if (is_param)
            ok = matches("^-?[0-9]+(\\.[0-9]+)?$", v);
        else if (strcmp(c, "run_id") == 0)
            ok = matches("^[0-9]{8}T[0-9]{6}Z-[0-9]+-[0-9]+$", v);
        else if (strcmp(c, "started_utc") == 0)
            ok = matches("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$", v);
        else if (strcmp(c, "lab_version") == 0)
            ok = strcmp(v, GILLAB_VERSION) == 0;
        else if (strcmp(c, "design") == 0)
            ok = gil_design_find(v) != NULL;
        else if (strcmp(c, "scenario") == 0)
            ok = strcmp(v, "seq") == 0 || strcmp(v, "threads") == 0 || strcmp(v, "convoy") == 0 ||
                 strcmp(v, "fork") == 0;
        else if (strcmp(c, "refcount_policy") == 0)
            ok = strcmp(v, "plain") == 0 || strcmp(v, "immortal") == 0;
        else if (strcmp(c, "thp") == 0)
            ok = strcmp(v, "always") == 0 || strcmp(v, "madvise") == 0 || strcmp(v, "never") == 0;
        else if (strcmp(c, "status") == 0)
            ok = strcmp(v, row_ok(r) ? "ok" : "error") == 0;
        else if (strcmp(c, "message") == 0)
            ok = row_ok(r) ? v[0] == '\0' : v[0] != '\0';
        else if (strcmp(c, "placement") == 0)
            ok = strcmp(v, "one") == 0 || strcmp(v, "all") == 0 || strcmp(v, "list") == 0;
        else if (strcmp(c, "cpus") == 0 || strcmp(c, "cpu_list") == 0)
            ok = matches("^(1|all|[0-9]+( [0-9]+)*)$", v);
        else   /* host, workload, entry, args: free of separators */
            ok = v[0] != '\0' && !strpbrk(v, ",\"\n");
        if (!ok)
            fail_msg("column %s: '%s' has the wrong type", c, v);
    }
    free_fields(hf, nh);
    free_fields(rf, nr);
    free(h);
    free(line);
}

static void every_column_of_a_real_row_has_its_type(void **state)
{
    (void)state;
    struct rec_row r;
    for (const struct gil_design *const *d = gil_designs; *d; d++) {
        real_row(&r, *d, false);
        check_row_types(&r);
        rec_row_free(&r);
        real_row(&r, *d, true);
        check_row_types(&r);
        rec_row_free(&r);
    }
}

static void not_applicable_columns_are_empty(void **state)
{
    (void)state;
    struct rec_row r;
    real_row(&r, gil_designs[0], false);
    r.design = NULL;            /* a peer interpreter's row */
    for (size_t i = 0; i < gil_nstats; i++)
        rec_clear(&r, rec_gil_col(i));
    rec_clear(&r, REC_interval_wall_us);
    rec_set_text(&r, REC_status, "error");
    rec_set_text(&r, REC_message, "boom");
    check_row_types(&r);
    rec_row_free(&r);
}

/* The VM's counters fill the columns of the policies that have them: none
   atomic has no biased counters, biased has all, a serial design none. */
static void vm_columns_follow_the_policy(void **state)
{
    (void)state;
    const struct gil_design *none = gil_design_find("none"), *py32 = gil_design_find("py32");
    if (!none || !py32)
        skip();
    struct rec_row r;
    char err[128];
    real_row(&r, none, false);
    assert_true(is_set(&r, REC_VM_refcount_atomics) && is_set(&r, REC_VM_objlock_contended));
    assert_false(is_set(&r, REC_VM_biased_queued) || is_set(&r, REC_VM_biased_merged));
    check_row_types(&r);
    rec_row_free(&r);
    real_row(&r, none, false);
    assert_int_equal(gil_param_set(none, r.values, "refcounts=biased", err, sizeof err), 0);
    struct vm_stats vst = {.biased_queued = 2, .biased_merged = 1};
    rec_set_vm_stats(&r, &vst, policy_of(none, r.values));
    for (size_t i = 0; i < vm_nstats; i++)
        assert_true(is_set(&r, rec_vm_col(i)));
    check_row_types(&r);
    rec_row_free(&r);
    real_row(&r, py32, false);
    for (size_t i = 0; i < vm_nstats; i++)
        assert_false(is_set(&r, rec_vm_col(i)));
    check_row_types(&r);
    rec_row_free(&r);
}

static void a_row_matches_its_values(void **state)
{
    (void)state;
    const struct gil_design *d = gil_design_find("py32") ? gil_design_find("py32") : gil_designs[0];
    struct rec_row r;
    char *hf[MAXF], *rf[MAXF];
    real_row(&r, d, true);
    char *line = format_line(&r);
    char *h = strdup(header());
    h[strcspn(h, "\n")] = '\0';
    int nh = split(h, hf), nr = split(line, rf);
    assert_int_equal(nh, nr);
    for (int i = 0; i < nh; i++) {
        if (strcmp(hf[i], "wall_s") == 0) assert_string_equal(rf[i], "1.250000");
        if (strcmp(hf[i], "sys_s") == 0) assert_string_equal(rf[i], "0.000125");
        if (strcmp(hf[i], "wait_s") == 0) assert_string_equal(rf[i], "1.500000");
        if (strcmp(hf[i], "wait_max_s") == 0) assert_string_equal(rf[i], "0.005000");
        if (strcmp(hf[i], "switches") == 0) assert_string_equal(rf[i], "4");
        if (strcmp(hf[i], "io_iters_per_s") == 0) assert_string_equal(rf[i], "199.500");
        if (strcmp(hf[i], "latency_p99_us") == 0) assert_string_equal(rf[i], "5300");
        if (strcmp(hf[i], "args") == 0) assert_string_equal(rf[i], "1000000 7");
        if (strcmp(hf[i], "interval_us") == 0 && strcmp(d->name, "py32") == 0)
            assert_string_equal(rf[i], "5000");
    }
    free_fields(hf, nh);
    free_fields(rf, nr);
    free(h);
    free(line);
    rec_row_free(&r);
}

/* The cell of `name` in r's formatted line. */
static char *field_of(const struct rec_row *r, const char *name)
{
    char *hf[MAXF], *rf[MAXF];
    char *line = format_line(r);
    char *h = strdup(header());
    h[strcspn(h, "\n")] = '\0';
    int nh = split(h, hf), nr = split(line, rf);
    assert_int_equal(nh, nr);
    char *v = NULL;
    for (int i = 0; i < nh; i++)
        if (strcmp(hf[i], name) == 0)
            v = strdup(rf[i]);
    free_fields(hf, nh);
    free_fields(rf, nr);
    free(h);
    free(line);
    assert_non_null(v);
    return v;
}

static void expect_field(const struct rec_row *r, const char *name, const char *want)
{
    char *v = field_of(r, name);
    if (strcmp(v, want) != 0)
        fail_msg("column %s: '%s', expected '%s'", name, v, want);
    free(v);
}

/* A fork repetition as the runner hands it over: a worker that walked the
   structure and made most of it private, one whose call left more shared than
   before (library pages it touched), one killed by a signal. */
static void fork_rows_say_what_each_worker_did(void **state)
{
    (void)state;
    struct run_config c = {0};
    char err[256];
    c.file = "workloads/cow.py";
    c.entry = "walk";
    c.setup = "build";
    c.args[0] = 100;
    c.nargs = 1;
    c.design = gil_design_find("py32") ? gil_design_find("py32") : gil_designs[0];
    gil_params_defaults(c.design, c.values);
    c.scenario = scenario_find("fork");
    c.workers = 3;
    c.refcount_policy = RUN_REFCOUNTS_IMMORTAL;
    assert_non_null(c.scenario);
    assert_int_equal(run_prepare(&c, err, sizeof err), 0);
    struct run_worker w[3] = {0};
    struct run_smaps before = {.rss_kb = 104000, .pss_kb = 26000, .shared_clean_kb = 900,
                               .shared_dirty_kb = 103000, .private_dirty_kb = 64};
    struct run_smaps after = {.rss_kb = 104400, .pss_kb = 103000, .shared_clean_kb = 1200,
                              .shared_dirty_kb = 2000, .private_dirty_kb = 101000};
    w[0] = (struct run_worker){.pid = 10, .end = RUN_WORKER_OK, .repr = "1634136", .has_before = true,
                               .has_after = true, .before = before, .after = after};
    w[0].stats.wall_s = 0.25;
    w[1] = w[0];
    w[1].after = before;
    w[1].after.shared_clean_kb += 400;   /* 400 kB more shared than before */
    w[2] = (struct run_worker){.pid = 12, .end = RUN_WORKER_SIGNAL, .signal = 9, .has_before = true,
                               .before = before};
    snprintf(w[2].message, sizeof w[2].message, "killed by signal 9 (SIGKILL)");
    struct run_rep rep = {.rep = 2, .started = (int64_t)time(NULL), .nworkers = 3, .workers = w,
                          .heap_kb = 100000, .has_heap = true, .frozen_objects = 1770000,
                          .thp = "madvise", .message = "worker 2: killed by signal 9 (SIGKILL)",
                          .has_load = true, .others_s = 0.5};
    struct rec_row r;
    assert_int_equal(rec_row_from_fork(&r, &c, &rep, 0), 0);
    check_row_types(&r);
    expect_field(&r, "scenario", "fork");
    expect_field(&r, "setup", "build");
    expect_field(&r, "args", "100");
    expect_field(&r, "refcount_policy", "immortal");
    expect_field(&r, "workers", "3");
    expect_field(&r, "worker", "0");
    expect_field(&r, "threads", "1");
    expect_field(&r, "heap_kb", "100000");
    expect_field(&r, "frozen_objects", "1770000");
    expect_field(&r, "unshared_kb", "100700");   /* 103900 shared before, 3200 after */
    expect_field(&r, "pct_still_shared", "0.000");   /* more than the heap: 0, not below */
    expect_field(&r, "private_dirty_before_kb", "64");
    expect_field(&r, "private_dirty_kb", "101000");
    expect_field(&r, "status", "ok");
    rec_row_free(&r);
    assert_int_equal(rec_row_from_fork(&r, &c, &rep, 1), 0);
    check_row_types(&r);
    expect_field(&r, "unshared_kb", "-400");
    expect_field(&r, "pct_still_shared", "100.000");   /* more than all of it: 100, not above */
    rec_row_free(&r);
    assert_int_equal(rec_row_from_fork(&r, &c, &rep, 2), 0);
    check_row_types(&r);
    expect_field(&r, "status", "error");
    expect_field(&r, "message", "killed by signal 9 (SIGKILL)");
    expect_field(&r, "rss_before_kb", "104000");
    expect_field(&r, "rss_kb", "");   /* no after: it was gone */
    expect_field(&r, "pct_still_shared", "");
    expect_field(&r, "acquisitions", "");   /* it never reported its counters */
    rec_row_free(&r);
    /* A setup that raised: one row, no worker. */
    struct run_rep failed = {.rep = 1, .started = (int64_t)time(NULL), .message = "setup: ZeroDivisionError: x",
                             .has_load = true};
    assert_int_equal(rec_row_from_fork(&r, &c, &failed, -1), 0);
    check_row_types(&r);
    expect_field(&r, "worker", "");
    expect_field(&r, "workers", "3");
    expect_field(&r, "message", "setup: ZeroDivisionError: x");
    rec_row_free(&r);
}

static void message_is_quoted_per_rfc4180(void **state)
{
    (void)state;
    static const struct { const char *in, *field, *want; } cases[] = {
        {"plain text", "plain text", "plain text"},
        {"a, b", "\"a, b\"", "a, b"},
        {"say \"hi\"", "\"say \"\"hi\"\"\"", "say \"hi\""},
        {"line1\nline2", "\"line1 line2\"", "line1 line2"},
        {"x,\"y\"\r\nz", "\"x,\"\"y\"\"  z\"", "x,\"y\"  z"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        struct rec_row r;
        char *rf[MAXF];
        real_row(&r, gil_designs[0], false);
        rec_set_text(&r, REC_status, "error");
        rec_set_text(&r, REC_message, cases[k].in);
        char *line = format_line(&r);
        const char *tail = line + strlen(line) - strlen(cases[k].field);
        assert_string_equal(tail, cases[k].field);
        int nr = split(line, rf);
        assert_string_equal(rf[nr - 1], cases[k].want);
        assert_string_equal(rf[nr - 2], "error");
        free_fields(rf, nr);
        free(line);
        rec_row_free(&r);
    }
}

static void separators_in_text_columns_cannot_break_the_row(void **state)
{
    (void)state;
    struct rec_row r;
    char *rf[MAXF], *hf[MAXF];
    real_row(&r, gil_designs[0], false);
    rec_set_text(&r, REC_workload, "we,ird\"name\n.py");
    char *line = format_line(&r);
    char *h = strdup(header());
    h[strcspn(h, "\n")] = '\0';
    int nh = split(h, hf), nr = split(line, rf);
    assert_int_equal(nh, nr);
    free_fields(hf, nh);
    free_fields(rf, nr);
    free(h);
    free(line);
    rec_row_free(&r);
}

static void run_ids_are_unique(void **state)
{
    (void)state;
    struct rec_row a, b;
    rec_row_init(&a);
    rec_row_init(&b);
    rec_stamp(&a, 0);
    rec_stamp(&b, 0);
    assert_string_not_equal(a.cells[REC_run_id].text, b.cells[REC_run_id].text);
    rec_row_free(&a);
    rec_row_free(&b);
}

static void the_schema_json_lists_every_header_column(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(rec_schema_json(f), 0);
    fclose(f);
    char *h = strdup(header());
    h[strcspn(h, "\n")] = '\0';
    for (char *name = strtok(h, ","); name; name = strtok(NULL, ",")) {
        char needle[96];
        snprintf(needle, sizeof needle, "{\"name\":\"%s\",\"type\":", name);
        if (!strstr(buf, needle))
            fail_msg("csv-schema --json: no entry for %s", name);
    }
    free(h);
    free(buf);
}

/* ---- files ---------------------------------------------------------------------------------- */

static int append_row(struct rec_file *f, char *err, size_t cap)
{
    struct rec_row r;
    size_t len;
    real_row(&r, gil_designs[0], false);
    char *line = rec_format(&r, &len);
    int rc = rec_file_append(f, line, len, err, cap);
    free(line);
    rec_row_free(&r);
    return rc;
}

static int count_lines_equal(const char *text, const char *line)
{
    int n = 0;
    size_t len = strlen(line);
    for (const char *p = text; *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
        if (strncmp(p, line, len) == 0)
            n++;
    return n;
}

static void a_new_file_gets_one_header_and_appends_add_none(void **state)
{
    (void)state;
    char path[128], err[512];
    struct rec_file f;
    tmp_path(path, sizeof path, "lab.csv");
    assert_int_equal(rec_file_open(&f, "--csv", path, header(), err, sizeof err), 0);
    assert_int_equal(append_row(&f, err, sizeof err), 0);
    assert_int_equal(append_row(&f, err, sizeof err), 0);
    rec_file_close(&f);
    assert_int_equal(rec_file_open(&f, "--csv", path, header(), err, sizeof err), 0);
    assert_int_equal(append_row(&f, err, sizeof err), 0);
    rec_file_close(&f);
    char *text = read_file(path);
    assert_non_null(text);
    assert_int_equal(strncmp(text, header(), strlen(header())), 0);
    assert_int_equal(count_lines_equal(text, header()), 1);
    int lines = 0;
    for (char *p = text; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 4);
    free(text);
}

static void an_empty_existing_file_gets_the_header(void **state)
{
    (void)state;
    char path[128], err[512];
    struct rec_file f;
    tmp_path(path, sizeof path, "empty.csv");
    close(open(path, O_WRONLY | O_CREAT, 0644));
    assert_int_equal(rec_file_open(&f, "--csv", path, header(), err, sizeof err), 0);
    assert_int_equal(append_row(&f, err, sizeof err), 0);
    rec_file_close(&f);
    char *text = read_file(path);
    assert_int_equal(strncmp(text, header(), strlen(header())), 0);
    assert_int_equal(count_lines_equal(text, header()), 1);
    free(text);
}

static void a_differing_header_is_refused_and_the_file_left_alone(void **state)
{
    (void)state;
    char path[128], err[512];
    struct rec_file f;
    const char *old = "run_id,design,wall_s\nx,py26,1.0\n";
    tmp_path(path, sizeof path, "old.csv");
    FILE *o = fopen(path, "w");
    fputs(old, o);
    fclose(o);
    assert_int_equal(rec_file_open(&f, "--csv", path, header(), err, sizeof err), -1);
    assert_non_null(strstr(err, "--csv "));
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "header differs from this version's schema; refusing to append"));
    char *text = read_file(path);
    assert_string_equal(text, old);
    free(text);
}

static void a_header_that_is_a_prefix_is_refused(void **state)
{
    (void)state;
    char path[128], err[512];
    struct rec_file f;
    tmp_path(path, sizeof path, "prefix.csv");
    FILE *o = fopen(path, "w");
    fprintf(o, "%.*s,extra\n", (int)strlen(header()) - 1, header());
    fclose(o);
    assert_int_equal(rec_file_open(&f, "--csv", path, header(), err, sizeof err), -1);
    assert_non_null(strstr(err, "header differs"));
}

static void a_torn_last_row_is_refused(void **state)
{
    (void)state;
    char path[128], err[512];
    struct rec_file f;
    tmp_path(path, sizeof path, "torn.csv");
    FILE *o = fopen(path, "w");
    fprintf(o, "%sabc,def", header());
    fclose(o);
    assert_int_equal(rec_file_open(&f, "--csv", path, header(), err, sizeof err), -1);
    assert_non_null(strstr(err, "newline"));
}

static void an_unwritable_path_is_a_clear_error(void **state)
{
    (void)state;
    char err[512];
    struct rec_file f;
    assert_int_equal(rec_file_open(&f, "--csv", "/nonexistent/x.csv", header(), err, sizeof err), -1);
    assert_string_equal(err, "--csv /nonexistent/x.csv: No such file or directory");
    assert_int_equal(rec_file_open(&f, "--csv", tmpdir, header(), err, sizeof err), -1);
    assert_non_null(strstr(err, tmpdir));
}

static void a_created_file_never_written_is_removed(void **state)
{
    (void)state;
    char path[128], err[512];
    struct rec_file f;
    tmp_path(path, sizeof path, "unused.csv");
    assert_int_equal(rec_file_open(&f, "--csv", path, header(), err, sizeof err), 0);
    assert_int_equal(access(path, F_OK), 0);
    rec_file_close(&f);
    assert_int_equal(access(path, F_OK), -1);
}

static void samples_rows_have_their_columns(void **state)
{
    (void)state;
    int64_t lat[] = {5100, -2, 7};
    char *buf = NULL;
    size_t len = 0;
    assert_int_equal(rec_samples_format("R-1-1", "py32", 2, lat, 3, &buf, &len), 0);
    assert_string_equal(buf, "R-1-1,py32,2,1,5100\nR-1-1,py32,2,2,-2\nR-1-1,py32,2,3,7\n");
    assert_int_equal(len, strlen(buf));
    free(buf);
    assert_string_equal(REC_SAMPLES_HEADER, "run_id,design,rep,sample,latency_us\n");
}

static off_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* A full disk, played by RLIMIT_FSIZE in a child: a write that crosses the
   limit comes up short (EFBIG after it). The append fails and the file keeps
   exactly what it had: no half row, and the next append works again. */
static void a_write_cut_short_leaves_no_half_row(void **state)
{
    (void)state;
    char path[128], err[512];
    struct rec_file f;
    tmp_path(path, sizeof path, "full.csv");
    assert_int_equal(rec_file_open(&f, "--csv", path, header(), err, sizeof err), 0);
    assert_int_equal(append_row(&f, err, sizeof err), 0);
    off_t before = file_size(path);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {.rlim_cur = (rlim_t)before + 40, .rlim_max = RLIM_INFINITY};
        setrlimit(RLIMIT_FSIZE, &rl);
        char cerr[512];
        int rc = append_row(&f, cerr, sizeof cerr);
        _exit(rc == -1 && strstr(cerr, path) ? 0 : 1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(file_size(path), before);
    char *text = read_file(path);
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
    assert_int_equal(append_row(&f, err, sizeof err), 0);
    assert_true(file_size(path) > before);
    rec_file_close(&f);
}

/* --csv, --samples-csv, --trace and --trace-json must name different files,
   and a special file is refused before anything runs. */
static void two_outputs_naming_one_file_are_refused(void **state)
{
    (void)state;
    char a[128], b[128], err[512];
    struct recorder r;
    tmp_path(a, sizeof a, "res.csv");
    tmp_path(b, sizeof b, "other.csv");
    struct rec_paths same = {.csv = a, .trace_csv = a};
    assert_int_equal(rec_open(&r, &same, err, sizeof err), -1);
    assert_non_null(strstr(err, "the same file as --csv"));
    assert_int_equal(access(a, F_OK), -1);   /* nothing left behind */
    struct rec_paths samples = {.csv = b, .samples_csv = b};
    assert_int_equal(rec_open(&r, &samples, err, sizeof err), -1);
    assert_non_null(strstr(err, "--samples-csv"));
    struct rec_paths dev = {.trace_csv = "/dev/null"};
    assert_int_equal(rec_open(&r, &dev, err, sizeof err), -1);
    assert_non_null(strstr(err, "not a regular file"));
    struct rec_paths fine = {.csv = a, .trace_csv = b};
    assert_int_equal(rec_open(&r, &fine, err, sizeof err), 0);
    rec_close(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_is_the_documented_column_list),
        cmocka_unit_test(parameter_columns_of_the_required_designs_are_in_registry_order),
        cmocka_unit_test(docs_list_every_column_in_order),
        cmocka_unit_test(every_column_of_a_real_row_has_its_type),
        cmocka_unit_test(not_applicable_columns_are_empty),
        cmocka_unit_test(vm_columns_follow_the_policy),
        cmocka_unit_test(a_row_matches_its_values),
        cmocka_unit_test(fork_rows_say_what_each_worker_did),
        cmocka_unit_test(message_is_quoted_per_rfc4180),
        cmocka_unit_test(separators_in_text_columns_cannot_break_the_row),
        cmocka_unit_test(run_ids_are_unique),
        cmocka_unit_test(the_schema_json_lists_every_header_column),
        cmocka_unit_test(a_new_file_gets_one_header_and_appends_add_none),
        cmocka_unit_test(an_empty_existing_file_gets_the_header),
        cmocka_unit_test(a_differing_header_is_refused_and_the_file_left_alone),
        cmocka_unit_test(a_header_that_is_a_prefix_is_refused),
        cmocka_unit_test(a_torn_last_row_is_refused),
        cmocka_unit_test(an_unwritable_path_is_a_clear_error),
        cmocka_unit_test(a_created_file_never_written_is_removed),
        cmocka_unit_test(samples_rows_have_their_columns),
        cmocka_unit_test(a_write_cut_short_leaves_no_half_row),
        cmocka_unit_test(two_outputs_naming_one_file_are_refused),
    };
    return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
