/*
 * test_vm_threads.c — several VM threads calling into one runtime at once.
 *
 * The locks are built here from gil.h's interface alone, so the suite does not
 * depend on the real designs: "test-mutex", a pthread mutex that is dropped and
 * re-taken every few ticks (vm_safety SERIAL: the VM relies on it), and
 * "test-nolock", no lock at all, in each of the VM's multi-threaded policies
 * (ATOMIC and BIASED reference counts, each with and without the objects alive
 * at the start made immortal: the VM must make refcounts and shared lists safe
 * itself). Under each, 2-4 threads run the workloads' entry points; every
 * result must be what one thread alone gets, the live object count must come
 * back to its value after loading, and once the run ends every object it made
 * is freed, immortal ones included. Run under TSan by run.sh, this is also the
 * VM's race check, for lists and the globals as for instances, classes, dicts
 * and closure cells. Workers only record; the main thread asserts after joining.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "locks/gil.h"
#include "base/panic.h"
#include "vm/vm.h"

/* ---- test-mutex: a plain mutex the eval loop gives up every 50 ticks ------------------- */

struct mutex_gil {
    struct gil base;                /* first: the header every lock starts with */
    pthread_mutex_t mu;             /* the lock itself */
};

#define TEST_TICKS 50

static int mutex_create(const double *values, struct gil **out)
{
    (void)values;
    struct mutex_gil *g = calloc(1, sizeof *g);
    if (!g)
        return ENOMEM;
    int rc = pthread_mutex_init(&g->mu, NULL);
    if (rc != 0) {
        free(g);
        return rc;
    }
    *out = &g->base;
    return 0;
}

static void mutex_destroy(struct gil *g)
{
    struct mutex_gil *m = (struct mutex_gil *)g;
    PT_CHECK(pthread_mutex_destroy(&m->mu));
    free(m);
}

static void mutex_take(struct gil *g, struct gil_thread *t)
{
    (void)t;
    PT_CHECK(pthread_mutex_lock(&((struct mutex_gil *)g)->mu));
}

static void mutex_drop(struct gil *g, struct gil_thread *t)
{
    (void)t;
    PT_CHECK(pthread_mutex_unlock(&((struct mutex_gil *)g)->mu));
}

static void mutex_yield(struct gil *g, struct gil_thread *t)
{
    t->ticks = TEST_TICKS;
    t->st.yields++;
    mutex_drop(g, t);
    sched_yield();
    mutex_take(g, t);
}

static const struct gil_design test_mutex_design = {
    .name = "test-mutex",
    .summary = "a pthread mutex released every few ticks (test only)",
    .models = "nothing: a test fixture",
    .create = mutex_create,
    .destroy = mutex_destroy,
    .take = mutex_take,
    .drop = mutex_drop,
    .yield = mutex_yield,
};

/* ---- test-nolock: no exclusion; the VM must use atomics and object locks --------------- */

/* values[0]: the policy, as an index into nolock_policies. */
static const enum gil_vm_safety nolock_policies[] = {
    GIL_VM_ATOMIC,
    GIL_VM_BIASED,
    GIL_VM_ATOMIC | GIL_VM_IMMORTAL_AT_START,
    GIL_VM_BIASED | GIL_VM_IMMORTAL_AT_START,
};
#define NPOLICIES (sizeof nolock_policies / sizeof nolock_policies[0])

static enum gil_vm_safety nolock_vm_safety(const double *values)
{
    return nolock_policies[(int)values[0]];
}

static const struct gil_param nolock_params[] = {
    {.name = "policy", .kind = GIL_PARAM_ENUM, .unit = "", .def = 0,
     .choices = "atomic|biased|atomic-immortal|biased-immortal", .help = "the VM's policy"},
};

static int nolock_create(const double *values, struct gil **out)
{
    (void)values;
    struct gil *g = calloc(1, sizeof *g);
    if (!g)
        return ENOMEM;
    *out = g;
    return 0;
}

static void nolock_destroy(struct gil *g) { free(g); }
static void nolock_take(struct gil *g, struct gil_thread *t) { (void)g; (void)t; }
static void nolock_drop(struct gil *g, struct gil_thread *t) { (void)g; (void)t; }
static void nolock_yield(struct gil *g, struct gil_thread *t)
{
    (void)g;
    t->ticks = LONG_MAX;
}

static const struct gil_design test_nolock_design = {
    .name = "test-nolock",
    .summary = "no lock, the VM's own thread safety (test only)",
    .models = "nothing: a test fixture",
    .params = nolock_params,
    .nparams = 1,
    .vm_safety = nolock_vm_safety,
    .create = nolock_create,
    .destroy = nolock_destroy,
    .take = nolock_take,
    .drop = nolock_drop,
    .yield = nolock_yield,
};

/* ---- the harness ------------------------------------------------------------------------ */

#define MAX_THREADS 4
#define CALLS_PER_THREAD 3

struct worker {
    pthread_t tid;
    int id;
    struct vm_runtime *rt;
    const char *entry;
    int64_t arg;
    /* recorded by the worker, checked by the main thread after join */
    enum vm_result new_rc;
    enum vm_result rc[CALLS_PER_THREAD];
    char repr[CALLS_PER_THREAD][128];
    char err[256];
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct vm_thread *ts = NULL;
    struct vm_error e;
    w->new_rc = vm_thread_new(w->rt, w->id, NULL, &ts, &e);
    if (w->new_rc != VM_OK)
        return NULL;
    for (int i = 0; i < CALLS_PER_THREAD; i++) {
        w->rc[i] = vm_call(w->rt, ts, w->entry, &w->arg, 1, w->repr[i], sizeof w->repr[i], &e);
        if (w->rc[i] != VM_OK && !w->err[0])
            snprintf(w->err, sizeof w->err, "%.250s", e.msg);
    }
    vm_thread_free(ts);
    return NULL;
}

/* Load `path` (or the source src, named path) under design d (policy: its
   parameter's value, if it has one), run `entry(arg)` once alone for the
   expected result, then in nthreads threads at once (with every object made
   immortal first if `immortal`); check results and live objects, and that the
   end of the run frees everything. */
static void run_policy_src(const struct gil_design *d, int policy, const char *path, const char *src,
                           const char *entry, int64_t arg, int nthreads, bool immortal)
{
    struct vm_program *p = NULL;
    struct vm_error e;
    if ((src ? vm_compile_source(path, src, strlen(src), &p, &e) : vm_compile_file(path, &p, &e)) != VM_OK)
        fail_msg("%s", e.msg);
    struct gil *g = NULL;
    double values[GIL_MAX_PARAMS] = {(double)policy};
    assert_int_equal(gil_new(d, values, &g), 0);
    FILE *devnull = fopen("/dev/null", "w");
    assert_non_null(devnull);
    struct vm_runtime *rt = NULL;
    struct vm_thread *main_ts = NULL;
    assert_int_equal(vm_runtime_new(p, g, devnull, &rt, &e), VM_OK);
    assert_int_equal(vm_thread_new(rt, MAX_THREADS, NULL, &main_ts, &e), VM_OK);
    long start = vm_live_objects(rt);
    if (vm_load_module(rt, main_ts, &e) != VM_OK)
        fail_msg("%s", e.msg);
    if (g->immortal_at_start) {   /* as the runner does before the workers start */
        vm_runtime_settle(rt);
        assert_true(vm_runtime_immortalize(rt) > 0);
    }
    char want[128];
    if (vm_call(rt, main_ts, entry, &arg, 1, want, sizeof want, &e) != VM_OK)
        fail_msg("%s", e.msg);
    /* Objects made immortal before the threads start: they read and write
       them without touching their counts (pthread_create orders the flags). */
    if (immortal)
        assert_true(vm_runtime_immortalize(rt) > 0);
    long base = vm_live_objects(rt);

    struct worker w[MAX_THREADS];
    memset(w, 0, sizeof w);
    for (int i = 0; i < nthreads; i++) {
        w[i].id = i;
        w[i].rt = rt;
        w[i].entry = entry;
        w[i].arg = arg;
        PT_CHECK(pthread_create(&w[i].tid, NULL, worker_main, &w[i]));
    }
    for (int i = 0; i < nthreads; i++)
        PT_CHECK(pthread_join(w[i].tid, NULL));

    for (int i = 0; i < nthreads; i++) {
        assert_int_equal(w[i].new_rc, VM_OK);
        for (int k = 0; k < CALLS_PER_THREAD; k++) {
            if (w[i].rc[k] != VM_OK)
                fail_msg("%s: thread %d call %d: %s", d->name, i, k, w[i].err);
            assert_string_equal(w[i].repr[k], want);
        }
    }
    /* With immortal objects, what the threads stored last into them stays
       alive beside the immortal values it replaced, until the end. */
    if (!immortal)
        assert_int_equal(vm_live_objects(rt), base);
    vm_runtime_end(rt);   /* every object the run made is freed, immortal or not */
    if (vm_live_objects(rt) != start)
        fail_msg("%s policy %d: %ld objects left after the run ended (%ld before loading)", d->name,
                 policy, vm_live_objects(rt), start);
    vm_thread_free(main_ts);
    vm_runtime_free(rt);
    vm_program_free(p);
    gil_free(g);
    fclose(devnull);
}

/* Under test-mutex once; under test-nolock once per policy. */
static void run_threads_src(const struct gil_design *d, const char *path, const char *src, const char *entry,
                            int64_t arg, int nthreads, bool immortal)
{
    int npolicies = d->nparams ? (int)NPOLICIES : 1;
    for (int k = 0; k < npolicies; k++)
        run_policy_src(d, k, path, src, entry, arg, nthreads, immortal);
}

static void run_threads(const struct gil_design *d, const char *path, const char *entry, int64_t arg,
                        int nthreads)
{
    run_threads_src(d, path, NULL, entry, arg, nthreads, false);
}

/* Objects shared by every thread: instances (with a __dict__ and with
   __slots__) whose attributes are read and written, a class attribute, cells
   of shared closures (one of them rebound by nonlocal), bound methods, and a
   shared instance attribute that keeps taking each thread's private objects.
   What objects(n) returns does not depend on how the threads interleave; the
   shared writes race at the Python level only, as in CPython. */
static const char OBJECTS_SRC[] =
    "class Point:\n"
    "    created = 0\n"
    "    def __init__(self, x, y):\n"
    "        self.x = x\n"
    "        self.y = y\n"
    "        Point.created += 1\n"
    "    def total(self):\n"
    "        return self.x + self.y\n"
    "class Node:\n"
    "    __slots__ = ['v', 'next']\n"
    "    def __init__(self, v, nxt):\n"
    "        self.v = v\n"
    "        self.next = nxt\n"
    "class Shared:\n"
    "    pass\n"
    "shared = Shared()\n"
    "shared.hits = 0\n"
    "shared.last = None\n"
    "root = None\n"
    "for i in range(40):\n"
    "    root = Node(i, root)\n"
    "def make_adder(k):\n"
    "    def add(x):\n"
    "        return x + k\n"
    "    return add\n"
    "adders = []\n"
    "for i in range(8):\n"
    "    adders.append(make_adder(i))\n"
    "def make_ticker():\n"
    "    n = 0\n"
    "    def tick():\n"
    "        nonlocal n\n"
    "        n += 1\n"
    "        return n\n"
    "    return tick\n"
    "tick = make_ticker()\n"
    "def objects(n):\n"
    "    total = 0\n"
    "    for i in range(n):\n"
    "        p = Point(i % 100, 3)\n"
    "        m = p.total\n"
    "        total += p.total() + m()\n"
    "        shared.hits = i\n"
    "        shared.last = p\n"
    "        root.v = 39\n"
    "        node = root\n"
    "        while node is not None:\n"
    "            total += node.v\n"
    "            node = node.next\n"
    "        total += adders[i % 8](1)\n"
    "        tick()\n"
    "        d = p.__dict__\n"
    "        d['z'] = i\n"
    "        del p.z\n"
    "    return total\n";

/* sum over i < n of 1000 + i % 64: what sharedlist.walk(n) returns */
static int64_t walk_expected(int64_t n)
{
    int64_t s = 0;
    for (int64_t i = 0; i < n; i++)
        s += 1000 + i % 64;
    return s;
}

static void test_walk_result_is_known(void **state)
{
    (void)state;
    struct vm_program *p = NULL;
    struct vm_error e;
    assert_int_equal(vm_compile_file("workloads/sharedlist.py", &p, &e), VM_OK);
    struct gil *g = NULL;
    assert_int_equal(gil_new(&test_mutex_design, NULL, &g), 0);
    struct vm_runtime *rt = NULL;
    struct vm_thread *ts = NULL;
    assert_int_equal(vm_runtime_new(p, g, stdout, &rt, &e), VM_OK);
    assert_int_equal(vm_thread_new(rt, 0, NULL, &ts, &e), VM_OK);
    assert_int_equal(vm_load_module(rt, ts, &e), VM_OK);
    char repr[64], want[64];
    int64_t n = 5000;
    assert_int_equal(vm_call(rt, ts, "walk", &n, 1, repr, sizeof repr, &e), VM_OK);
    snprintf(want, sizeof want, "%lld", (long long)walk_expected(n));
    assert_string_equal(repr, want);
    vm_thread_free(ts);
    vm_runtime_free(rt);
    vm_program_free(p);
    gil_free(g);
}

static void test_sharedlist_under_mutex_2_threads(void **state)
{
    (void)state;
    run_threads(&test_mutex_design, "workloads/sharedlist.py", "walk", 3000, 2);
}

static void test_sharedlist_under_mutex_4_threads(void **state)
{
    (void)state;
    run_threads(&test_mutex_design, "workloads/sharedlist.py", "walk", 20000, 4);
}

static void test_sharedlist_without_lock_2_threads(void **state)
{
    (void)state;
    run_threads(&test_nolock_design, "workloads/sharedlist.py", "walk", 3000, 2);
}

static void test_sharedlist_without_lock_4_threads(void **state)
{
    (void)state;
    run_threads(&test_nolock_design, "workloads/sharedlist.py", "walk", 20000, 4);
}

static void test_count_under_mutex_4_threads(void **state)
{
    (void)state;
    run_threads(&test_mutex_design, "workloads/count.py", "count", 20000, 4);
}

static void test_count_without_lock_4_threads(void **state)
{
    (void)state;
    run_threads(&test_nolock_design, "workloads/count.py", "count", 20000, 4);
}

static void test_calls_under_mutex_3_threads(void **state)
{
    (void)state;
    run_threads(&test_mutex_design, "workloads/calls.py", "calls", 500, 3);
}

static void test_calls_without_lock_3_threads(void **state)
{
    (void)state;
    run_threads(&test_nolock_design, "workloads/calls.py", "calls", 500, 3);
}

static void test_objects_under_mutex_4_threads(void **state)
{
    (void)state;
    run_threads_src(&test_mutex_design, "objects.py", OBJECTS_SRC, "objects", 300, 4, false);
}

static void test_objects_without_lock_2_threads(void **state)
{
    (void)state;
    run_threads_src(&test_nolock_design, "objects.py", OBJECTS_SRC, "objects", 300, 2, false);
}

static void test_objects_without_lock_4_threads(void **state)
{
    (void)state;
    run_threads_src(&test_nolock_design, "objects.py", OBJECTS_SRC, "objects", 300, 4, false);
}

static void test_immortal_objects_under_mutex_4_threads(void **state)
{
    (void)state;
    run_threads_src(&test_mutex_design, "objects.py", OBJECTS_SRC, "objects", 300, 4, true);
}

static void test_immortal_objects_without_lock_4_threads(void **state)
{
    (void)state;
    run_threads_src(&test_nolock_design, "objects.py", OBJECTS_SRC, "objects", 300, 4, true);
}

/* gc.freeze() writes flags other threads read: without a lock it is refused
   while another thread state exists; under a serialising lock it is not. */
static void freeze_beside_another_thread(const struct gil_design *d, enum vm_result want)
{
    static const char src[] = "import gc\ndata = [[1000 * 2]]\n\n\ndef f(n):\n    gc.freeze()\n"
                              "    return len(data) + n\n";
    struct vm_program *p = NULL;
    struct vm_error e;
    struct gil *g = NULL;
    struct vm_runtime *rt = NULL;
    struct vm_thread *a = NULL, *b = NULL;
    char repr[64];
    int64_t one = 1;
    assert_int_equal(vm_compile_source("freeze.py", src, strlen(src), &p, &e), VM_OK);
    assert_int_equal(gil_new(d, NULL, &g), 0);
    assert_int_equal(vm_runtime_new(p, g, stdout, &rt, &e), VM_OK);
    assert_int_equal(vm_thread_new(rt, 0, NULL, &a, &e), VM_OK);
    assert_int_equal(vm_load_module(rt, a, &e), VM_OK);
    assert_int_equal(vm_call(rt, a, "f", &one, 1, repr, sizeof repr, &e), VM_OK);   /* alone */
    assert_int_equal(vm_thread_new(rt, 1, NULL, &b, &e), VM_OK);
    assert_int_equal(vm_call(rt, a, "f", &one, 1, repr, sizeof repr, &e), want);
    if (want != VM_OK)
        assert_non_null(strstr(e.msg, "RuntimeError: gc.freeze() while other threads run without a lock"));
    vm_thread_free(b);
    vm_thread_free(a);
    vm_runtime_free(rt);
    vm_program_free(p);
    gil_free(g);
}

static void test_freeze_refused_beside_a_thread_without_lock(void **state)
{
    (void)state;
    freeze_beside_another_thread(&test_nolock_design, VM_RUNTIME_ERROR);
}

static void test_freeze_allowed_beside_a_thread_under_a_lock(void **state)
{
    (void)state;
    freeze_beside_another_thread(&test_mutex_design, VM_OK);
}

int main(void)
{
    alarm(300);   /* a deadlock fails the suite instead of hanging it */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_walk_result_is_known),
        cmocka_unit_test(test_sharedlist_under_mutex_2_threads),
        cmocka_unit_test(test_sharedlist_under_mutex_4_threads),
        cmocka_unit_test(test_sharedlist_without_lock_2_threads),
        cmocka_unit_test(test_sharedlist_without_lock_4_threads),
        cmocka_unit_test(test_count_under_mutex_4_threads),
        cmocka_unit_test(test_count_without_lock_4_threads),
        cmocka_unit_test(test_calls_under_mutex_3_threads),
        cmocka_unit_test(test_calls_without_lock_3_threads),
        cmocka_unit_test(test_objects_under_mutex_4_threads),
        cmocka_unit_test(test_objects_without_lock_2_threads),
        cmocka_unit_test(test_objects_without_lock_4_threads),
        cmocka_unit_test(test_immortal_objects_under_mutex_4_threads),
        cmocka_unit_test(test_immortal_objects_without_lock_4_threads),
        cmocka_unit_test(test_freeze_refused_beside_a_thread_without_lock),
        cmocka_unit_test(test_freeze_allowed_beside_a_thread_under_a_lock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
