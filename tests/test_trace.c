/*
 * test_trace.c — lock event recording and export (gil/trace/trace.c).
 *
 * Every test records events with chosen timestamps into buffers whose t0 is
 * fixed, so exports are compared byte for byte and nothing depends on timing.
 * The JSON export is checked by a small strict JSON parser below, and by
 * counting the events of each phase it must contain.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace/trace.h"

#define T0_NS 1000000000ull   /* fixed start of the run for every test */

/* ---- helpers ------------------------------------------------------------------ */

struct capture {
    char *text;
    size_t len;
    FILE *f;
};

static void capture_open(struct capture *c)
{
    memset(c, 0, sizeof *c);
    c->f = open_memstream(&c->text, &c->len);
    assert_non_null(c->f);
}

static void capture_close(struct capture *c)
{
    assert_int_equal(fclose(c->f), 0);
    c->f = NULL;
}

static void capture_free(struct capture *c)
{
    free(c->text);
    c->text = NULL;
}

static int count_substr(const char *s, const char *needle)
{
    int n = 0;
    size_t len = strlen(needle);
    for (const char *p = strstr(s, needle); p; p = strstr(p + len, needle))
        n++;
    return n;
}

/* Record at T0_NS + rel_ns. */
static void rec(struct trace *tr, int thread, enum trace_kind k, uint64_t rel_ns)
{
    trace_record_at(&tr->bufs[thread], k, T0_NS + rel_ns);
}

static void init_fixed(struct trace *tr, int nthreads, size_t cap)
{
    assert_int_equal(trace_init(tr, nthreads, cap), 0);
    tr->t0_ns = T0_NS;
}

/* ---- a strict little JSON parser: accepts exactly one JSON value --------------- */

struct json_parser {
    const char *p;
    int depth;
    int max_depth;
};

static void json_ws(struct json_parser *j)
{
    while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
        j->p++;
}

static int json_value(struct json_parser *j);

static int json_string(struct json_parser *j)
{
    if (*j->p != '"')
        return -1;
    j->p++;
    while (*j->p && *j->p != '"') {
        if ((unsigned char)*j->p < 0x20)
            return -1;
        if (*j->p == '\\') {
            j->p++;
            if (!strchr("\"\\/bfnrtu", *j->p) || !*j->p)
                return -1;
        }
        j->p++;
    }
    if (*j->p != '"')
        return -1;
    j->p++;
    return 0;
}

static int json_number(struct json_parser *j)
{
    const char *start = j->p;
    if (*j->p == '-')
        j->p++;
    if (*j->p == '0')
        j->p++;
    else if (*j->p >= '1' && *j->p <= '9')
        while (*j->p >= '0' && *j->p <= '9')
            j->p++;
    else
        return -1;
    if (*j->p == '.') {
        j->p++;
        if (!(*j->p >= '0' && *j->p <= '9'))
            return -1;
        while (*j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    return j->p > start ? 0 : -1;
}

static int json_container(struct json_parser *j, char open, char close)
{
    j->p++;   /* past open */
    if (++j->depth > j->max_depth)
        j->max_depth = j->depth;
    json_ws(j);
    if (*j->p == close) {
        j->p++;
        j->depth--;
        return 0;
    }
    for (;;) {
        json_ws(j);
        if (open == '{') {
            if (json_string(j) != 0)
                return -1;
            json_ws(j);
            if (*j->p++ != ':')
                return -1;
            json_ws(j);
        }
        if (json_value(j) != 0)
            return -1;
        json_ws(j);
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p != close)
            return -1;
        j->p++;
        j->depth--;
        return 0;
    }
}

static int json_value(struct json_parser *j)
{
    json_ws(j);
    switch (*j->p) {
    case '{': return json_container(j, '{', '}');
    case '[': return json_container(j, '[', ']');
    case '"': return json_string(j);
    case 't': return strncmp(j->p, "true", 4) == 0 ? (j->p += 4, 0) : -1;
    case 'f': return strncmp(j->p, "false", 5) == 0 ? (j->p += 5, 0) : -1;
    case 'n': return strncmp(j->p, "null", 4) == 0 ? (j->p += 4, 0) : -1;
    default: return json_number(j);
    }
}

/* Is s exactly one well-formed JSON value (surrounding white space allowed)? */
static bool json_ok(const char *s)
{
    struct json_parser j = { .p = s };
    if (json_value(&j) != 0)
        return false;
    json_ws(&j);
    return *j.p == '\0' && j.depth == 0;
}

static void test_json_checker_rejects_bad_json(void **state)
{
    (void)state;
    assert_true(json_ok("{\"a\":[1,2.5,-3,{\"b\":\"c\"}],\"d\":true}"));
    assert_false(json_ok("{\"a\":[1,2}"));
    assert_false(json_ok("{\"a\":1,}"));
    assert_false(json_ok("{\"a\":1}}"));
    assert_false(json_ok("[1,]"));
    assert_false(json_ok("{\"a\":1.}"));
}

/* ---- set-up and tear-down --------------------------------------------------------- */

static void test_init_gives_each_thread_an_empty_buffer(void **state)
{
    (void)state;
    struct trace tr;
    assert_int_equal(trace_init(&tr, 3, 16), 0);
    assert_int_equal(tr.nthreads, 3);
    assert_non_null(tr.bufs);
    assert_true(tr.t0_ns > 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tr.bufs[i].thread, i);
        assert_int_equal(tr.bufs[i].len, 0);
        assert_int_equal(tr.bufs[i].cap, 16);
        assert_int_equal(tr.bufs[i].dropped, 0);
        assert_non_null(tr.bufs[i].ev);
    }
    assert_int_equal(trace_dropped(&tr), 0);
    trace_free(&tr);
    assert_null(tr.bufs);
    assert_int_equal(tr.nthreads, 0);
    trace_free(&tr);   /* freeing twice is harmless */
}

static void test_init_rejects_bad_sizes_and_leaves_trace_untouched(void **state)
{
    (void)state;
    struct trace tr = { .bufs = NULL, .nthreads = 7, .t0_ns = 42 };
    assert_int_equal(trace_init(&tr, -1, 16), EINVAL);
    assert_int_equal(trace_init(&tr, 2, SIZE_MAX), ENOMEM);
    assert_int_equal(tr.nthreads, 7);
    assert_int_equal(tr.t0_ns, 42);
    assert_null(tr.bufs);
}

static void test_init_with_no_threads_or_no_room(void **state)
{
    (void)state;
    struct trace tr;
    assert_int_equal(trace_init(&tr, 0, 16), 0);
    assert_int_equal(trace_dropped(&tr), 0);
    trace_free(&tr);

    assert_int_equal(trace_init(&tr, 1, 0), 0);
    trace_record_at(&tr.bufs[0], TRACE_REQUEST, 1);
    trace_record_at(&tr.bufs[0], TRACE_ACQUIRE, 2);
    assert_int_equal(tr.bufs[0].len, 0);
    assert_int_equal(trace_dropped(&tr), 2);
    trace_free(&tr);
}

static void test_kind_names_match_the_csv_vocabulary(void **state)
{
    (void)state;
    static const char *const want[TRACE_NKINDS] = {
        "request", "acquire", "release", "drop_request",
        "timeout", "futile_wakeup", "block_enter", "block_exit",
    };
    for (int k = 0; k < TRACE_NKINDS; k++)
        assert_string_equal(trace_kind_name((enum trace_kind)k), want[k]);
    assert_string_equal(trace_kind_name(TRACE_NKINDS), "unknown");
    assert_string_equal(trace_kind_name((enum trace_kind)-1), "unknown");
}

/* ---- recording ------------------------------------------------------------------------ */

static void test_record_appends_event_stamped_with_its_thread(void **state)
{
    (void)state;
    struct trace tr;
    init_fixed(&tr, 2, 8);
    rec(&tr, 1, TRACE_REQUEST, 10);
    rec(&tr, 1, TRACE_ACQUIRE, 20);
    assert_int_equal(tr.bufs[0].len, 0);
    assert_int_equal(tr.bufs[1].len, 2);
    assert_int_equal(tr.bufs[1].ev[0].t, T0_NS + 10);
    assert_int_equal(tr.bufs[1].ev[0].thread, 1);
    assert_int_equal(tr.bufs[1].ev[0].kind, TRACE_REQUEST);
    assert_int_equal(tr.bufs[1].ev[1].kind, TRACE_ACQUIRE);
    trace_free(&tr);
}

static void test_record_into_no_buffer_does_nothing(void **state)
{
    (void)state;
    trace_record(NULL, TRACE_ACQUIRE);   /* tracing off: must not crash */
}

static void test_full_buffer_counts_drops_instead_of_failing(void **state)
{
    (void)state;
    struct trace tr;
    init_fixed(&tr, 2, 4);
    for (uint64_t i = 0; i < 10; i++)
        rec(&tr, 0, TRACE_REQUEST, i);
    for (uint64_t i = 0; i < 5; i++)
        rec(&tr, 1, TRACE_RELEASE, i);
    assert_int_equal(tr.bufs[0].len, 4);
    assert_int_equal(tr.bufs[0].dropped, 6);
    assert_int_equal(tr.bufs[1].len, 4);
    assert_int_equal(tr.bufs[1].dropped, 1);
    assert_int_equal(trace_dropped(&tr), 7);
    /* The events that fit are the first ones, intact. */
    assert_int_equal(tr.bufs[0].ev[3].t, T0_NS + 3);
    trace_free(&tr);
}

/* ---- CSV ---------------------------------------------------------------------------- */

static void test_csv_merges_threads_in_time_order(void **state)
{
    (void)state;
    struct trace tr;
    init_fixed(&tr, 2, 16);
    rec(&tr, 0, TRACE_REQUEST, 0);
    rec(&tr, 0, TRACE_ACQUIRE, 1500);
    rec(&tr, 0, TRACE_RELEASE, 9000);
    rec(&tr, 1, TRACE_REQUEST, 1000);
    rec(&tr, 1, TRACE_TIMEOUT, 6000);
    rec(&tr, 1, TRACE_DROP_REQUEST, 6001);
    rec(&tr, 1, TRACE_ACQUIRE, 9500);

    struct capture c;
    capture_open(&c);
    assert_int_equal(trace_write_csv(&tr, c.f), 0);
    capture_close(&c);
    assert_string_equal(c.text,
                        "t_ns,thread,event\n"
                        "0,0,request\n"
                        "1000,1,request\n"
                        "1500,0,acquire\n"
                        "6000,1,timeout\n"
                        "6001,1,drop_request\n"
                        "9000,0,release\n"
                        "9500,1,acquire\n");
    capture_free(&c);
    trace_free(&tr);
}

static void test_csv_keeps_each_threads_order_on_equal_times(void **state)
{
    (void)state;
    struct trace tr;
    init_fixed(&tr, 2, 16);
    rec(&tr, 1, TRACE_BLOCK_ENTER, 50);
    rec(&tr, 1, TRACE_RELEASE, 50);
    rec(&tr, 0, TRACE_REQUEST, 50);
    rec(&tr, 0, TRACE_ACQUIRE, 50);

    struct capture c;
    capture_open(&c);
    assert_int_equal(trace_write_csv(&tr, c.f), 0);
    capture_close(&c);
    assert_string_equal(c.text,
                        "t_ns,thread,event\n"
                        "50,0,request\n"
                        "50,0,acquire\n"
                        "50,1,block_enter\n"
                        "50,1,release\n");
    capture_free(&c);
    trace_free(&tr);
}

static void test_csv_of_empty_trace_is_header_only(void **state)
{
    (void)state;
    struct trace tr;
    init_fixed(&tr, 3, 4);
    struct capture c;
    capture_open(&c);
    assert_int_equal(trace_write_csv(&tr, c.f), 0);
    capture_close(&c);
    assert_string_equal(c.text, "t_ns,thread,event\n");
    capture_free(&c);
    trace_free(&tr);

    init_fixed(&tr, 0, 4);
    capture_open(&c);
    assert_int_equal(trace_write_csv(&tr, c.f), 0);
    capture_close(&c);
    assert_string_equal(c.text, "t_ns,thread,event\n");
    capture_free(&c);
    trace_free(&tr);
}

static void test_csv_export_succeeds_with_dropped_events(void **state)
{
    (void)state;
    struct trace tr;
    init_fixed(&tr, 1, 2);
    rec(&tr, 0, TRACE_REQUEST, 1);
    rec(&tr, 0, TRACE_ACQUIRE, 2);
    rec(&tr, 0, TRACE_RELEASE, 3);
    struct capture c;
    capture_open(&c);
    assert_int_equal(trace_write_csv(&tr, c.f), 0);
    capture_close(&c);
    assert_string_equal(c.text, "t_ns,thread,event\n1,0,request\n2,0,acquire\n");
    assert_int_equal(trace_dropped(&tr), 1);
    capture_free(&c);
    trace_free(&tr);
}

static void test_export_reports_write_errors(void **state)
{
    (void)state;
    FILE *full = fopen("/dev/full", "w");
    if (!full)
        skip();
    struct trace tr;
    init_fixed(&tr, 1, 4);
    rec(&tr, 0, TRACE_REQUEST, 1);
    rec(&tr, 0, TRACE_ACQUIRE, 2);
    rec(&tr, 0, TRACE_RELEASE, 3);
    assert_int_not_equal(trace_write_csv(&tr, full), 0);
    clearerr(full);
    assert_int_not_equal(trace_write_json(&tr, full), 0);
    fclose(full);
    trace_free(&tr);
}

/* ---- JSON ------------------------------------------------------------------------------- */

static void test_json_of_empty_trace_has_no_events(void **state)
{
    (void)state;
    struct trace tr;
    init_fixed(&tr, 0, 4);
    struct capture c;
    capture_open(&c);
    assert_int_equal(trace_write_json(&tr, c.f), 0);
    capture_close(&c);
    assert_true(json_ok(c.text));
    assert_non_null(strstr(c.text, "\"traceEvents\":[]"));
    assert_non_null(strstr(c.text, "\"displayTimeUnit\":\"ns\""));
    capture_free(&c);
    trace_free(&tr);

    /* Threads but no events: only the track names. */
    init_fixed(&tr, 2, 4);
    capture_open(&c);
    assert_int_equal(trace_write_json(&tr, c.f), 0);
    capture_close(&c);
    assert_true(json_ok(c.text));
    assert_int_equal(count_substr(c.text, "\"ph\":\"X\""), 0);
    assert_int_equal(count_substr(c.text, "\"ph\":\"i\""), 0);
    assert_non_null(strstr(c.text, "\"name\":\"thread 0\""));
    assert_non_null(strstr(c.text, "\"name\":\"thread 1\""));
    assert_non_null(strstr(c.text, "\"name\":\"lock holder\""));
    capture_free(&c);
    trace_free(&tr);
}

/* Two threads hand the lock back and forth the py32 way. */
static void record_handoff(struct trace *tr)
{
    rec(tr, 0, TRACE_REQUEST, 0);
    rec(tr, 0, TRACE_ACQUIRE, 500);          /* wait 0.5 us */
    rec(tr, 1, TRACE_REQUEST, 1000);
    rec(tr, 1, TRACE_TIMEOUT, 5001000);
    rec(tr, 1, TRACE_DROP_REQUEST, 5001000);
    rec(tr, 0, TRACE_RELEASE, 5002000);
    rec(tr, 1, TRACE_ACQUIRE, 5003000);
    rec(tr, 0, TRACE_REQUEST, 5004000);
    rec(tr, 0, TRACE_FUTILE_WAKEUP, 5100000);
    rec(tr, 1, TRACE_BLOCK_ENTER, 7000000);
    rec(tr, 1, TRACE_RELEASE, 7000000);
    rec(tr, 0, TRACE_ACQUIRE, 7000250);
    rec(tr, 0, TRACE_RELEASE, 8000000);
    rec(tr, 1, TRACE_REQUEST, 9000000);
    rec(tr, 1, TRACE_ACQUIRE, 9000100);
    rec(tr, 1, TRACE_BLOCK_EXIT, 9000100);
    rec(tr, 1, TRACE_RELEASE, 9500000);
}

static void test_json_has_wait_and_hold_slices_and_instants(void **state)
{
    (void)state;
    struct trace tr;
    init_fixed(&tr, 2, 64);
    record_handoff(&tr);
    struct capture c;
    capture_open(&c);
    assert_int_equal(trace_write_json(&tr, c.f), 0);
    capture_close(&c);

    assert_true(json_ok(c.text));
    assert_true(strncmp(c.text, "{\"traceEvents\":[", 16) == 0);
    /* 4 waits, 4 holds, and each hold again on the holder track. */
    assert_int_equal(count_substr(c.text, "\"name\":\"wait\""), 4);
    assert_int_equal(count_substr(c.text, "\"name\":\"hold\""), 4);
    assert_int_equal(count_substr(c.text, "\"name\":\"held by thread 0\""), 2);
    assert_int_equal(count_substr(c.text, "\"name\":\"held by thread 1\""), 2);
    assert_int_equal(count_substr(c.text, "\"ph\":\"X\""), 12);
    /* drop_request, timeout, futile_wakeup, block_enter, block_exit */
    assert_int_equal(count_substr(c.text, "\"ph\":\"i\""), 5);
    assert_int_equal(count_substr(c.text, "\"name\":\"futile_wakeup\""), 1);
    assert_int_equal(count_substr(c.text, "\"name\":\"drop_request\""), 1);
    /* Track names: two threads and the holder, on their own tids. */
    assert_int_equal(count_substr(c.text, "\"name\":\"thread_name\""), 3);
    assert_non_null(strstr(c.text, "\"tid\":1000,\"args\":{\"name\":\"lock holder\"}"));
    assert_non_null(strstr(c.text, "\"tid\":1,\"args\":{\"name\":\"thread 1\"}"));
    /* Times in µs with ns precision. */
    assert_non_null(strstr(c.text, "{\"name\":\"wait\",\"ph\":\"X\",\"pid\":1,\"tid\":0,"
                                   "\"ts\":0.000,\"dur\":0.500}"));
    assert_non_null(strstr(c.text, "{\"name\":\"held by thread 1\",\"ph\":\"X\",\"pid\":1,"
                                   "\"tid\":1000,\"ts\":5003.000,\"dur\":1997.000}"));
    assert_non_null(strstr(c.text, "{\"name\":\"drop_request\",\"ph\":\"i\",\"s\":\"t\","
                                   "\"pid\":1,\"tid\":1,\"ts\":5001.000}"));
    assert_non_null(strstr(c.text, "\"ts\":7000.250"));
    capture_free(&c);
    trace_free(&tr);
}

static void test_json_leaves_out_periods_whose_end_was_dropped(void **state)
{
    (void)state;
    struct trace tr;
    init_fixed(&tr, 1, 4);
    rec(&tr, 0, TRACE_REQUEST, 0);
    rec(&tr, 0, TRACE_ACQUIRE, 10);
    rec(&tr, 0, TRACE_RELEASE, 20);
    rec(&tr, 0, TRACE_ACQUIRE, 30);    /* a stray acquire (its request was lost) */
    rec(&tr, 0, TRACE_RELEASE, 40);    /* dropped: the buffer is full */
    assert_int_equal(trace_dropped(&tr), 1);
    struct capture c;
    capture_open(&c);
    assert_int_equal(trace_write_json(&tr, c.f), 0);
    capture_close(&c);
    assert_true(json_ok(c.text));
    assert_int_equal(count_substr(c.text, "\"name\":\"wait\""), 1);
    assert_int_equal(count_substr(c.text, "\"name\":\"hold\""), 1);
    assert_int_equal(count_substr(c.text, "\"ph\":\"X\""), 3);
    capture_free(&c);
    trace_free(&tr);
}

static void test_json_holder_track_moves_past_many_threads(void **state)
{
    (void)state;
    struct trace tr;
    init_fixed(&tr, 1200, 1);
    struct capture c;
    capture_open(&c);
    assert_int_equal(trace_write_json(&tr, c.f), 0);
    capture_close(&c);
    assert_true(json_ok(c.text));
    /* Thread 1000 exists, so the holder track must not reuse its tid. */
    assert_non_null(strstr(c.text, "\"tid\":1000,\"args\":{\"name\":\"thread 1000\"}"));
    assert_null(strstr(c.text, "\"tid\":1000,\"args\":{\"name\":\"lock holder\"}"));
    assert_int_equal(count_substr(c.text, "\"name\":\"lock holder\""), 1);
    capture_free(&c);
    trace_free(&tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_checker_rejects_bad_json),
        cmocka_unit_test(test_init_gives_each_thread_an_empty_buffer),
        cmocka_unit_test(test_init_rejects_bad_sizes_and_leaves_trace_untouched),
        cmocka_unit_test(test_init_with_no_threads_or_no_room),
        cmocka_unit_test(test_kind_names_match_the_csv_vocabulary),
        cmocka_unit_test(test_record_appends_event_stamped_with_its_thread),
        cmocka_unit_test(test_record_into_no_buffer_does_nothing),
        cmocka_unit_test(test_full_buffer_counts_drops_instead_of_failing),
        cmocka_unit_test(test_csv_merges_threads_in_time_order),
        cmocka_unit_test(test_csv_keeps_each_threads_order_on_equal_times),
        cmocka_unit_test(test_csv_of_empty_trace_is_header_only),
        cmocka_unit_test(test_csv_export_succeeds_with_dropped_events),
        cmocka_unit_test(test_export_reports_write_errors),
        cmocka_unit_test(test_json_of_empty_trace_has_no_events),
        cmocka_unit_test(test_json_has_wait_and_hold_slices_and_instants),
        cmocka_unit_test(test_json_leaves_out_periods_whose_end_was_dropped),
        cmocka_unit_test(test_json_holder_track_moves_past_many_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
