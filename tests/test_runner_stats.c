/*
 * test_runner_stats.c — the runner's parts that need no VM: --cpus parsing and
 * pinning, latency percentiles, parsing the I/O entry's returned list, and
 * summing per-thread statistics. (The per-thread table is the command line's,
 * checked in tests/check_cli.sh.)
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runner/cpus.h"
#include "base/panic.h"
#include "runner/stats.h"

/* ---- --cpus ------------------------------------------------------------------------------ */

static cpu_set_t allowed(void)
{
    cpu_set_t s;
    CPU_ZERO(&s);
    assert_int_equal(sched_getaffinity(0, sizeof s, &s), 0);
    return s;
}

static int first_allowed(void)
{
    cpu_set_t s = allowed();
    for (int i = 0; i < CPU_SETSIZE; i++)
        if (CPU_ISSET(i, &s))
            return i;
    return -1;
}

static void cpus_all_is_every_allowed_cpu(void **state)
{
    (void)state;
    struct run_cpus c;
    char err[512];
    cpu_set_t a = allowed();
    assert_int_equal(run_cpus_parse("all", &c, err, sizeof err), 0);
    assert_true(CPU_EQUAL(&c.set, &a));
    assert_string_equal(c.requested, "all");
}

static void cpus_1_is_the_first_allowed_cpu(void **state)
{
    (void)state;
    struct run_cpus c;
    char err[512];
    assert_int_equal(run_cpus_parse("1", &c, err, sizeof err), 0);
    assert_int_equal(CPU_COUNT(&c.set), 1);
    assert_true(CPU_ISSET(first_allowed(), &c.set));
    assert_string_equal(c.requested, "1");
}

static void cpus_lists_and_ranges_name_explicit_cpus(void **state)
{
    (void)state;
    struct run_cpus c;
    char err[512], spec[64], want[64];
    int cpu = first_allowed();
    snprintf(spec, sizeof spec, "%d-%d", cpu, cpu);
    assert_int_equal(run_cpus_parse(spec, &c, err, sizeof err), 0);
    assert_int_equal(CPU_COUNT(&c.set), 1);
    snprintf(want, sizeof want, "%d", cpu);
    assert_string_equal(c.requested, want);
    cpu_set_t a = allowed();
    if (CPU_COUNT(&a) >= 2) {
        int second = -1;
        for (int i = cpu + 1; i < CPU_SETSIZE && second < 0; i++)
            if (CPU_ISSET(i, &a))
                second = i;
        snprintf(spec, sizeof spec, "%d,%d", cpu, second);
        assert_int_equal(run_cpus_parse(spec, &c, err, sizeof err), 0);
        snprintf(want, sizeof want, "%d %d", cpu, second);
        assert_string_equal(c.requested, want);
        assert_int_equal(CPU_COUNT(&c.set), 2);
    }
}

static void cpus_that_do_not_exist_are_named_with_the_allowed_ones(void **state)
{
    (void)state;
    struct run_cpus c;
    char err[512], allowed_text[256], want[512];
    cpu_set_t a = allowed();
    assert_true(run_cpus_format(&a, true, allowed_text, sizeof allowed_text) > 0);
    assert_int_equal(run_cpus_parse("4000", &c, err, sizeof err), -1);
    snprintf(want, sizeof want, "--cpus 4000: CPU 4000 does not exist or is not allowed; allowed CPUs: %s",
             allowed_text);
    assert_string_equal(err, want);
    static const char *const bad[] = {"", "x", "0-", "-1", "1-0", "0,,1", "0;1", "all,0", NULL};
    for (int i = 0; bad[i]; i++) {
        assert_int_equal(run_cpus_parse(bad[i], &c, err, sizeof err), -1);
        assert_non_null(strstr(err, "expected 1, all, or a list"));
        assert_non_null(strstr(err, allowed_text));
    }
}

static void cpus_format_as_list_or_ranges(void **state)
{
    (void)state;
    cpu_set_t s;
    char buf[64];
    CPU_ZERO(&s);
    CPU_SET(0, &s);
    CPU_SET(1, &s);
    CPU_SET(2, &s);
    CPU_SET(5, &s);
    assert_int_equal(run_cpus_format(&s, false, buf, sizeof buf), 7);
    assert_string_equal(buf, "0 1 2 5");
    run_cpus_format(&s, true, buf, sizeof buf);
    assert_string_equal(buf, "0-2,5");
    assert_int_equal(run_cpus_format(&s, false, buf, 4), -1);
}

struct pin_probe {
    const struct run_cpus *cpus;
    int rc;
    cpu_set_t after;
};

static void *pin_thread(void *arg)
{
    struct pin_probe *p = arg;
    p->rc = run_cpus_pin_self(p->cpus);
    if (p->rc == 0)
        p->rc = run_cpus_current(&p->after);
    return NULL;
}

static void pinning_a_thread_sets_its_mask_only(void **state)
{
    (void)state;
    struct run_cpus c;
    char err[512];
    pthread_t t;
    assert_int_equal(run_cpus_parse("1", &c, err, sizeof err), 0);
    struct pin_probe p = {.cpus = &c};
    PT_CHECK(pthread_create(&t, NULL, pin_thread, &p));
    PT_CHECK(pthread_join(t, NULL));
    assert_int_equal(p.rc, 0);
    assert_true(CPU_EQUAL(&p.after, &c.set));
    cpu_set_t mine, a = allowed();
    assert_int_equal(run_cpus_current(&mine), 0);
    assert_true(CPU_EQUAL(&mine, &a));   /* the calling thread is untouched */
}

/* ---- latency percentiles ------------------------------------------------------------------- */

static void percentiles_are_nearest_rank(void **state)
{
    (void)state;
    int64_t v[100];
    for (int i = 0; i < 100; i++)
        v[i] = 100 - i;   /* 100 .. 1, unsorted on purpose */
    struct run_latency l;
    assert_int_equal(run_latency_summary(v, 100, &l), 0);
    assert_int_equal(l.n, 100);
    assert_int_equal(l.p50_us, 50);
    assert_int_equal(l.p90_us, 90);
    assert_int_equal(l.p99_us, 99);
    assert_int_equal(l.max_us, 100);
    assert_int_equal(v[0], 100);   /* the input is left in its order */

    int64_t one = -3;
    assert_int_equal(run_latency_summary(&one, 1, &l), 0);
    assert_int_equal(l.p50_us, -3);
    assert_int_equal(l.p99_us, -3);
    assert_int_equal(l.max_us, -3);

    int64_t ten[] = {7, 1, 9, 3, 5, 2, 8, 4, 6, 10};
    assert_int_equal(run_latency_summary(ten, 10, &l), 0);
    assert_int_equal(l.p50_us, 5);
    assert_int_equal(l.p90_us, 9);
    assert_int_equal(l.p99_us, 10);
    assert_int_equal(run_latency_summary(ten, 0, &l), EINVAL);
}

/* ---- the I/O entry's returned list ---------------------------------------------------------- */

static void int_lists_parse_and_anything_else_is_refused(void **state)
{
    (void)state;
    int64_t *v = NULL;
    size_t n = 99;
    assert_int_equal(run_parse_int_list("[]", &v, &n), 0);
    assert_int_equal(n, 0);
    free(v);
    assert_int_equal(run_parse_int_list("[5012, -3, 0, 123456789012]", &v, &n), 0);
    assert_int_equal(n, 4);
    assert_int_equal(v[0], 5012);
    assert_int_equal(v[1], -3);
    assert_int_equal(v[2], 0);
    assert_int_equal(v[3], 123456789012LL);
    free(v);
    assert_int_equal(run_parse_int_list("[1]", &v, &n), 0);
    assert_int_equal(n, 1);
    free(v);
    static const char *const bad[] = {"", "None", "'oops'", "[1, 2", "[1,, 2]", "[1, 'a']",
                                      "[1.5]", "[1] x", "(1, 2)", "[", NULL};
    for (int i = 0; bad[i]; i++)
        assert_int_equal(run_parse_int_list(bad[i], &v, &n), EINVAL);
}

/* ---- sums and the table --------------------------------------------------------------------- */

static void sums_add_counters_and_keep_the_worst_wait(void **state)
{
    (void)state;
    struct run_thread_stats t[2] = {0}, sum;
    t[0].gil.acquisitions = 3;
    t[0].gil.wait_ns = 10;
    t[0].gil.wait_max_ns = 7;
    t[0].ctx_voluntary = 2;
    t[0].wall_s = 1.0;
    t[1].gil.acquisitions = 4;
    t[1].gil.wait_ns = 20;
    t[1].gil.wait_max_ns = 15;
    t[1].ctx_involuntary = 5;
    t[1].wall_s = 2.0;
    run_stats_sum(t, 2, &sum);
    assert_int_equal(sum.gil.acquisitions, 7);
    assert_int_equal(sum.gil.wait_ns, 30);
    assert_int_equal(sum.gil.wait_max_ns, 15);
    assert_int_equal(sum.ctx_voluntary, 2);
    assert_int_equal(sum.ctx_involuntary, 5);
    assert_true(sum.wall_s == 2.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cpus_all_is_every_allowed_cpu),
        cmocka_unit_test(cpus_1_is_the_first_allowed_cpu),
        cmocka_unit_test(cpus_lists_and_ranges_name_explicit_cpus),
        cmocka_unit_test(cpus_that_do_not_exist_are_named_with_the_allowed_ones),
        cmocka_unit_test(cpus_format_as_list_or_ranges),
        cmocka_unit_test(pinning_a_thread_sets_its_mask_only),
        cmocka_unit_test(percentiles_are_nearest_rank),
        cmocka_unit_test(int_lists_parse_and_anything_else_is_refused),
        cmocka_unit_test(sums_add_counters_and_keep_the_worst_wait),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
