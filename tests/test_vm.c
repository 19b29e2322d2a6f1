/*
 * test_vm.c — the interpreter's API (vm.h): compile + run, print output, the
 * live-object balance after every kind of run (instances, classes, closures
 * and the cycles they make included), vm_call and its errors,
 * vm_function_arity, dis, opcode counts, tracebacks through C, the recursion
 * limit and 64-bit int edges.
 *
 * Every run here is single-threaded under the "noop" lock; test_vm_threads.c
 * covers several threads. The corpus programs (tests/corpus) are run too, for
 * the live-object balance: run.sh runs suites from the repository root.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "locks/gil.h"
#include "vm/core.h"   /* reference counts and flags, for the immortal objects' tests */
#include "vm/vm.h"

/* ---- helpers ---------------------------------------------------------------------------- */

struct run {
    enum vm_result compile_rc, rc;
    struct vm_error err;
    char *out;              /* print() output (malloc'd) */
    long live_before, live_after;
};

/* The lock (and with it the VM's refcount policy) the helpers below run
   under: noop, unless a test that walks the policies set another. */
static const char *policy_design = "noop";
static const char *policy_sets[2];   /* --set assignments, NULL-terminated */

static struct gil *noop_gil(void)
{
    const struct gil_design *d = gil_design_find(policy_design);
    double v[GIL_MAX_PARAMS];
    char err[256];
    struct gil *g = NULL;
    assert_non_null(d);
    gil_params_defaults(d, v);
    for (int i = 0; i < 2 && policy_sets[i]; i++)
        if (gil_param_set(d, v, policy_sets[i], err, sizeof err) != 0)
            fail_msg("%s", err);
    assert_int_equal(gil_new(d, v, &g), 0);
    return g;
}

/* Run fn once under each reference-count policy of the free-threaded design
   (one thread: plain counts are safe there too), then under noop again. */
static void under_each_policy(void (*fn)(void **state))
{
    static const char *const sets[] = {"refcounts=atomic", "refcounts=biased", "refcounts=plain"};
    for (size_t i = 0; i < sizeof sets / sizeof sets[0]; i++) {
        policy_design = "none";
        policy_sets[0] = sets[i];
        fn(NULL);
    }
    policy_design = "noop";
    policy_sets[0] = NULL;
}

/* Compile src (or the file at path when src is NULL) and run it as __main__. */
static void run_program(const char *name, const char *src, struct run *r)
{
    memset(r, 0, sizeof *r);
    struct vm_program *p = NULL;
    r->compile_rc = src ? vm_compile_source(name, src, strlen(src), &p, &r->err)
                        : vm_compile_file(name, &p, &r->err);
    if (r->compile_rc != VM_OK) {
        r->rc = r->compile_rc;
        return;
    }
    size_t len = 0;
    FILE *out = open_memstream(&r->out, &len);
    assert_non_null(out);
    struct gil *g = noop_gil();
    struct vm_runtime *rt = NULL;
    struct vm_thread *ts = NULL;
    struct vm_error e;
    assert_int_equal(vm_runtime_new(p, g, out, &rt, &e), VM_OK);
    assert_int_equal(vm_thread_new(rt, 0, NULL, &ts, &e), VM_OK);
    r->live_before = vm_live_objects(rt);
    r->rc = vm_run_main(rt, ts, &r->err);
    r->live_after = vm_live_objects(rt);
    vm_thread_free(ts);
    vm_runtime_free(rt);
    vm_program_free(p);
    gil_free(g);
    fclose(out);
}

static void run_free(struct run *r)
{
    free(r->out);
    r->out = NULL;
}

/* The last line of a traceback. */
static const char *last_line(const char *msg)
{
    const char *nl = strrchr(msg, '\n');
    return nl ? nl + 1 : msg;
}

/* A loaded module ready for vm_call. */
struct mod {
    struct vm_program *p;
    struct gil *g;
    struct vm_runtime *rt;
    struct vm_thread *ts;
    FILE *out;
    char *outbuf;
    size_t outlen;
};

static void mod_load(struct mod *m, const char *name, const char *src)
{
    struct vm_error e;
    memset(m, 0, sizeof *m);
    assert_int_equal(vm_compile_source(name, src, strlen(src), &m->p, &e), VM_OK);
    m->out = open_memstream(&m->outbuf, &m->outlen);
    m->g = noop_gil();
    assert_int_equal(vm_runtime_new(m->p, m->g, m->out, &m->rt, &e), VM_OK);
    assert_int_equal(vm_thread_new(m->rt, 0, NULL, &m->ts, &e), VM_OK);
    assert_int_equal(vm_load_module(m->rt, m->ts, &e), VM_OK);
}

static void mod_free(struct mod *m)
{
    vm_thread_free(m->ts);
    vm_runtime_free(m->rt);
    vm_program_free(m->p);
    gil_free(m->g);
    fclose(m->out);
    free(m->outbuf);
}

/* ---- compiling and running --------------------------------------------------------------- */

static void test_run_prints_like_python(void **state)
{
    (void)state;
    struct run r;
    run_program("t.py",
                "def f(n):\n"
                "    return n * 2\n"
                "x = [1, 'a', \"it's\", None, True, 1.5, [2]]\n"
                "print(f(21), x, -7 // 2, -7 % 2, 1 / 4, 1e16, 0.1 + 0.2)\n",
                &r);
    assert_int_equal(r.rc, VM_OK);
    assert_string_equal(r.out,
                        "42 [1, 'a', \"it's\", None, True, 1.5, [2]] -4 1 0.25 1e+16 0.30000000000000004\n");
    assert_int_equal(r.live_after, r.live_before);
    run_free(&r);
}

static void test_empty_source_runs(void **state)
{
    (void)state;
    struct run r;
    run_program("empty.py", "", &r);
    assert_int_equal(r.rc, VM_OK);
    assert_string_equal(r.out, "");
    run_free(&r);
    run_program("blank.py", "\n\n   \n# only a comment\n", &r);
    assert_int_equal(r.rc, VM_OK);
    run_free(&r);
}

static void test_name_is_main_under_run_main(void **state)
{
    (void)state;
    struct run r;
    run_program("prog.py", "print(__name__)\nif __name__ == '__main__':\n    print('main')\n", &r);
    assert_int_equal(r.rc, VM_OK);
    assert_string_equal(r.out, "__main__\nmain\n");
    run_free(&r);
}

static void test_compile_error_has_position(void **state)
{
    (void)state;
    struct run r;
    run_program("bad.py", "x = 1\ny = (2 +\n", &r);
    assert_int_equal(r.rc, VM_COMPILE_ERROR);
    assert_non_null(strstr(r.err.msg, "bad.py:2:5: "));
    assert_int_equal(r.err.line, 2);
    assert_int_equal(r.err.col, 5);
    run_program("bad.py", "try:\n    pass\nfinally:\n    pass\n", &r);
    assert_int_equal(r.rc, VM_COMPILE_ERROR);
    assert_non_null(strstr(r.err.msg, "bad.py:1:1: SyntaxError: try statements"));
    run_program("bad.py", "if x:\n  a = 1\n\tb = 2\n", &r);
    assert_int_equal(r.rc, VM_COMPILE_ERROR);
    assert_non_null(strstr(r.err.msg, "TabError"));
    run_program("bad.py", "x = 'a\0b'\n", &r);   /* strlen stops at the NUL: unterminated */
    assert_int_equal(r.rc, VM_COMPILE_ERROR);
}

static void test_compile_rejects_nul_and_bad_utf8(void **state)
{
    (void)state;
    struct vm_program *p = NULL;
    struct vm_error e;
    static const char nul[] = "x = 1\ny = 2\0\n";
    assert_int_equal(vm_compile_source("n.py", nul, sizeof nul - 1, &p, &e), VM_COMPILE_ERROR);
    assert_non_null(strstr(e.msg, "n.py:2:6: SyntaxError: source code cannot contain null bytes"));
    static const char bad[] = "s = '\xc3('\n";
    assert_int_equal(vm_compile_source("u.py", bad, sizeof bad - 1, &p, &e), VM_COMPILE_ERROR);
    assert_non_null(strstr(e.msg, "u.py:1:6: SyntaxError: invalid UTF-8"));
}

static void test_missing_file_is_io_error(void **state)
{
    (void)state;
    struct vm_program *p = NULL;
    struct vm_error e;
    assert_int_equal(vm_compile_file("/nonexistent/dir/x.py", &p, &e), VM_IO_ERROR);
    assert_non_null(strstr(e.msg, "No such file"));
}

/* ---- the live-object balance ---------------------------------------------------------------- */

static void test_live_objects_balance_after_success(void **state)
{
    (void)state;
    static const char *const progs[] = {
        "a = [1, 2, 3]\nb = [a, [a, 'x' + 'y'], 2.5]\na.append(b)\nprint(len(a))\n",
        ("def f(n):\n    s = []\n    for i in range(n):\n        s.append([i, str(i), i * 1.5])\n    return s\n"
         "r = f(100)\nr = f(10)\nprint(len(r))\n"),
        "x = 1000\nwhile x > 0:\n    x -= 1\ny = [x] * 10 + [x] * 3\ny *= 2\nprint(y[0])\n",
        "import time\nt = time.perf_counter()\nl = [time.perf_counter() - t]\nm = l.append\nm(3)\nprint(len(l))\n",
        "s = 'x'\nfor c in 'héllo':\n    s = s + c\nprint(s, s[1], len(s))\n",
        "def g():\n    return [[1], [2]]\nz = g()\nz[0][0] += 5\nz[-1] = None\nprint(z)\n",
        /* reference cycles, freed when the program ends */
        "a = []\na.append(a)\nb = [a, []]\nb[1].append(b)\nm = []\nm.append(m.append)\nit = [m]\nit.append(it)\n",
        "def f():\n    x = [1]\n    y = [x]\n    x.append(y)\n    return 0\nfor i in range(50):\n    f()\n",
        /* instances, classes, closures, bound methods, dicts, tuples */
        ("class P:\n    n = 0\n    def __init__(self, x):\n        self.x = [x, str(x)]\n        P.n += 1\n"
         "    def get(self):\n        return self.x\n"
         "ps = []\nfor i in range(300, 400):\n    ps.append(P(i))\nm = ps[3].get\nprint(m(), P.n, ps[5].__dict__)\n"
         "del ps[0]\ndel m\nfor v in [ps[0], 1.5, 'x']:\n    pass\n"),
        ("def counter():\n    n = 1000\n    def inc():\n        nonlocal n\n        n += 1\n        return n\n    return inc\n"
         "c = counter()\nc()\nprint(c())\n"),
        ("class S:\n    __slots__ = ['a', 'b']\nclass T(S):\n    pass\n"
         "s = T()\ns.a = [1]\ns.b = s\ns.c = 'x' * 3\ndel s.a\n"),
        /* reference cycles through instance attributes, class attributes,
           closures and dicts: freed when the program ends */
        ("class N:\n    pass\na = N()\nb = N()\na.other = b\nb.other = a\na.me = a\n"
         "class R:\n    all = []\n    def __init__(self):\n        R.all.append(self)\n        self.cls = R\n"
         "R()\nR()\n"
         "def rec():\n    def f(n):\n        return f\n    return f\ng = rec()\n"
         "d = N().__dict__\nd['self'] = d\nh = N()\nh.cls = h.__class__\n"
         "class M:\n    def m(self):\n        return 1\nk = M()\nk.bound = k.m\n"),
        /* a long chain of instances: freeing it does not recurse per node */
        ("class C:\n    __slots__ = ['next']\n    def __init__(self, n):\n        self.next = n\n"
         "x = None\nfor i in range(100000):\n    x = C(x)\nx = None\n"
         "class D:\n    def __init__(self, n):\n        self.next = n\n"
         "y = None\nfor i in range(100000):\n    y = D(y)\n"),
    };
    for (size_t i = 0; i < sizeof progs / sizeof progs[0]; i++) {
        struct run r;
        run_program("ok.py", progs[i], &r);
        assert_int_equal(r.rc, VM_OK);
        assert_int_equal(r.live_after, r.live_before);
        run_free(&r);
    }
}

static void test_live_objects_balance_after_success_under_each_policy(void **state)
{
    (void)state;
    under_each_policy(test_live_objects_balance_after_success);
}

static void test_live_objects_balance_after_each_error_kind(void **state)
{
    (void)state;
    static const struct {
        const char *src, *last;
    } cases[] = {
        {"def f(a, b):\n    x = [a, b, 'held']\n    return a // b\nl = [1.5]\nf(1, 0)\n",
         "ZeroDivisionError: integer division or modulo by zero"},
        {"l = [[1], 'x']\ndef f():\n    y = [l, 3.5]\n    return y[0] % 0\nf()\n",
         "TypeError: unsupported operand type(s) for %: 'list' and 'int'"},
        {"def f():\n    return missing + 1\nx = [1, 2]\nf()\n", "NameError: name 'missing' is not defined"},
        {"a = [1, 2]\nfor i in range(5):\n    b = [i, a]\n    print(a[i])\n", "IndexError: list index out of range"},
        {"def f(n):\n    return n\nf(1, [2])\n", "TypeError: f() takes 1 positional argument but 2 were given"},
        {"def f(a, b, c):\n    return a\nf(1)\n",
         "TypeError: f() missing 2 required positional arguments: 'b' and 'c'"},
        {"def r(n):\n    x = [n]\n    return r(n + 1)\nr(0)\n", "RecursionError: maximum recursion depth exceeded"},
        {"x = 9223372036854775807\nl = [x, 'pad']\nl.append(x + 1)\n",
         "OverflowError: integer overflow (gillab ints are 64-bit)"},
        {"print(int('12x'))\n", "ValueError: invalid literal for int() with base 10: '12x'"},
        {"def f():\n    v = v + 1\nf()\n",
         "UnboundLocalError: cannot access local variable 'v' where it is not associated with a value"},
        {"import time\ntime.nothing()\n", "AttributeError: module 'time' has no attribute 'nothing'"},
        {"x = 'a' * 3 + 5\n", "TypeError: can only concatenate str (not \"int\") to str"},
        {"for i in 5:\n    pass\n", "TypeError: 'int' object is not iterable"},
        {"print(1.5 / 0)\n", "ZeroDivisionError: float division by zero"},
        {"x = [1, 2, 3]\nfor v in x:\n    w = [v]\n    if v == 2:\n        x[9] = 1\n",
         "IndexError: list assignment index out of range"},
        {"class P:\n    def __init__(self):\n        self.a = [1]\np = P()\nq = [p, p.a]\nprint(p.b)\n",
         "AttributeError: 'P' object has no attribute 'b'"},
        {"x = None\ny = [x]\nx.attr = 1\n", "AttributeError: 'NoneType' object has no attribute 'attr'"},
        {"v = [1]\ndel v\nprint(v)\n", "NameError: name 'v' is not defined"},
        {"def f():\n    a = [1]\n    def g():\n        return a\n    del a\n    return g()\nf()\n",
         "NameError: cannot access free variable 'a' where it is not associated with a value in enclosing scope"},
        {"class P:\n    def __init__(self, x):\n        self.x = [x]\nP(1, 2)\n",
         "TypeError: P.__init__() takes 2 positional arguments but 3 were given"},
        {"class P:\n    def __init__(self):\n        self.keep = [1, 2]\n        return [3]\nP()\n",
         "TypeError: __init__() should return None, not 'list'"},
        {"class V:\n    def __repr__(self):\n        x = [self]\n        return x[5]\nprint([V(), 1.5])\n",
         "IndexError: list index out of range"},
        {"class K:\n    a = [1]\n    b = a[3]\n", "IndexError: list index out of range"},
        {"class S:\n    __slots__ = ['a']\ns = S()\ns.a = [1]\ns.b = 2\n",
         "AttributeError: 'S' object has no attribute 'b'"},
        {"class C:\n    pass\nC.__eq__ = 5\n",
         "TypeError: special method __eq__: not supported in gillab's Python subset"},
        {"class O:\n    pass\no = O()\no.__dict__[1] = 2\n",
         "TypeError: dict keys other than str are not supported in gillab's Python subset ('int')"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct run r;
        run_program("err.py", cases[i].src, &r);
        assert_int_equal(r.rc, VM_RUNTIME_ERROR);
        assert_string_equal(last_line(r.err.msg), cases[i].last);
        assert_true(strncmp(r.err.msg, "Traceback (most recent call last):\n  File \"err.py\", line ", 56) == 0);
        assert_int_equal(r.live_after, r.live_before);
        run_free(&r);
    }
}


static void test_live_objects_balance_after_each_error_kind_under_each_policy(void **state)
{
    (void)state;
    under_each_policy(test_live_objects_balance_after_each_error_kind);
}

static void test_traceback_lists_frames_outermost_first(void **state)
{
    (void)state;
    struct run r;
    run_program("t.py", "def g(x):\n    return 1 // x\ndef f():\n    return g(0)\nf()\n", &r);
    assert_int_equal(r.rc, VM_RUNTIME_ERROR);
    assert_string_equal(r.err.msg,
                        "Traceback (most recent call last):\n"
                        "  File \"t.py\", line 5, in <module>\n"
                        "  File \"t.py\", line 4, in f\n"
                        "  File \"t.py\", line 2, in g\n"
                        "ZeroDivisionError: integer division or modulo by zero");
    run_free(&r);
}

static void test_recursion_limit(void **state)
{
    (void)state;
    struct run r;
    /* Depth 900 is fine (as in CPython); unbounded recursion is not. */
    run_program("rec.py", "def d(n):\n    if n == 0:\n        return 0\n    return 1 + d(n - 1)\nprint(d(900))\n", &r);
    assert_int_equal(r.rc, VM_OK);
    assert_string_equal(r.out, "900\n");
    run_free(&r);
    run_program("rec.py", "def d(n):\n    return d(n + 1)\nd(0)\n", &r);
    assert_int_equal(r.rc, VM_RUNTIME_ERROR);
    assert_string_equal(last_line(r.err.msg), "RecursionError: maximum recursion depth exceeded");
    assert_non_null(strstr(r.err.msg, "[Previous line repeated"));
    assert_true(strlen(r.err.msg) < sizeof r.err.msg);
    assert_int_equal(r.live_after, r.live_before);
    run_free(&r);
}

static void test_corpus_programs_balance(void **state)
{
    (void)state;
    DIR *d = opendir("tests/corpus");
    assert_non_null(d);   /* run.sh runs the suites from the repository root */
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 4 || strcmp(de->d_name + len - 3, ".py") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "tests/corpus/%s", de->d_name);
        struct run r;
        run_program(path, NULL, &r);
        if (r.rc != VM_OK && strncmp(de->d_name, "error_", 6) != 0)   /* error_*.py end with an error */
            fail_msg("%s: %s", path, r.err.msg);
        if (r.live_after != r.live_before)
            fail_msg("%s: live objects %ld before, %ld after", path, r.live_before, r.live_after);
        run_free(&r);
        n++;
    }
    closedir(d);
    assert_true(n >= 50);
}

/* ---- vm_call ------------------------------------------------------------------------------ */

static const char *const MODULE_SRC =
    "import time\n"
    "items = [1, 2.5, 'x']\n"
    "def add(a, b):\n    return a + b\n"
    "def count(n):\n    while n > 0:\n        n -= 1\n"
    "def build(n):\n    out = []\n    for i in range(n):\n        out.append([i, str(i)])\n    return out\n"
    "def boom(n):\n    return items[n]\n"
    "def none():\n    pass\n"
    "value = 7\n"
    "print('loaded as', __name__)\n"
    "if __name__ == '__main__':\n    print('main block ran')\n";

static void test_load_module_skips_main_block(void **state)
{
    (void)state;
    struct mod m;
    mod_load(&m, "workloads/mymod.py", MODULE_SRC);
    fflush(m.out);
    assert_string_equal(m.outbuf, "loaded as mymod\n");
    mod_free(&m);
}

static void test_call_with_args_returns_repr(void **state)
{
    (void)state;
    struct mod m;
    mod_load(&m, "mymod.py", MODULE_SRC);
    long base = vm_live_objects(m.rt);
    char repr[256];
    struct vm_error e;
    int64_t ab[2] = {40, 2};
    assert_int_equal(vm_call(m.rt, m.ts, "add", ab, 2, repr, sizeof repr, &e), VM_OK);
    assert_string_equal(repr, "42");
    int64_t big[2] = {INT64_MAX - 1, 1};
    assert_int_equal(vm_call(m.rt, m.ts, "add", big, 2, repr, sizeof repr, &e), VM_OK);
    assert_string_equal(repr, "9223372036854775807");
    int64_t n = 10000;
    assert_int_equal(vm_call(m.rt, m.ts, "count", &n, 1, repr, sizeof repr, &e), VM_OK);
    assert_string_equal(repr, "None");
    n = 3;
    assert_int_equal(vm_call(m.rt, m.ts, "build", &n, 1, repr, sizeof repr, &e), VM_OK);
    assert_string_equal(repr, "[[0, '0'], [1, '1'], [2, '2']]");
    assert_int_equal(vm_call(m.rt, m.ts, "none", NULL, 0, NULL, 0, &e), VM_OK);
    assert_int_equal(vm_live_objects(m.rt), base);
    mod_free(&m);
}

static void test_call_errors(void **state)
{
    (void)state;
    struct mod m;
    mod_load(&m, "mymod.py", MODULE_SRC);
    long base = vm_live_objects(m.rt);
    char repr[64];
    struct vm_error e;
    int64_t one = 1, five = 5;
    /* arity: a usage error, with CPython's wording */
    assert_int_equal(vm_call(m.rt, m.ts, "add", &one, 1, repr, sizeof repr, &e), VM_USAGE_ERROR);
    assert_non_null(strstr(e.msg, "add() missing 1 required positional argument: 'b'"));
    int64_t three[3] = {1, 2, 3};
    assert_int_equal(vm_call(m.rt, m.ts, "add", three, 3, repr, sizeof repr, &e), VM_USAGE_ERROR);
    assert_non_null(strstr(e.msg, "add() takes 2 positional arguments but 3 were given"));
    /* unknown entry, and a name that is not a function */
    assert_int_equal(vm_call(m.rt, m.ts, "nope", &one, 1, repr, sizeof repr, &e), VM_USAGE_ERROR);
    assert_non_null(strstr(e.msg, "no function named 'nope'"));
    assert_non_null(strstr(e.msg, "add"));
    assert_int_equal(vm_call(m.rt, m.ts, "value", NULL, 0, repr, sizeof repr, &e), VM_USAGE_ERROR);
    assert_non_null(strstr(e.msg, "not a function"));
    /* a runtime error inside the call */
    assert_int_equal(vm_call(m.rt, m.ts, "boom", &five, 1, repr, sizeof repr, &e), VM_RUNTIME_ERROR);
    assert_string_equal(last_line(e.msg), "IndexError: list index out of range");
    assert_non_null(strstr(e.msg, "in boom"));
    assert_int_equal(vm_live_objects(m.rt), base);
    /* the runtime still works afterwards */
    int64_t ab[2] = {1, 2};
    assert_int_equal(vm_call(m.rt, m.ts, "add", ab, 2, repr, sizeof repr, &e), VM_OK);
    assert_string_equal(repr, "3");
    mod_free(&m);
}

static void test_function_arity(void **state)
{
    (void)state;
    struct mod m;
    mod_load(&m, "mymod.py", MODULE_SRC);
    assert_int_equal(vm_function_arity(m.rt, "add"), 2);
    assert_int_equal(vm_function_arity(m.rt, "count"), 1);
    assert_int_equal(vm_function_arity(m.rt, "none"), 0);
    assert_int_equal(vm_function_arity(m.rt, "value"), -1);
    assert_int_equal(vm_function_arity(m.rt, "items"), -1);
    assert_int_equal(vm_function_arity(m.rt, "missing"), -1);
    assert_int_equal(vm_function_arity(m.rt, "print"), -1);
    mod_free(&m);
}

/* ---- objects made immortal at a point of the run ---------------------------------------- */

/* Lists, strs, ints, floats, instances with a __dict__ and with __slots__,
   classes, a closure and a function reachable through its own cell, a bound
   method, an instance's dict, and two cycles: a list holding itself and an
   instance holding itself. */
static const char IMMORTAL_SRC[] =
    "class Point:\n"
    "    def __init__(self, x, y):\n"
    "        self.x = x\n"
    "        self.y = y\n"
    "\n"
    "\n"
    "class Slotted:\n"
    "    __slots__ = ['a', 'b']\n"
    "\n"
    "    def __init__(self, a):\n"
    "        self.a = a\n"
    "\n"
    "\n"
    "def make_counter():\n"
    "    n = 0\n"
    "\n"
    "    def bump():\n"
    "        nonlocal n\n"
    "        n += 1\n"
    "        return n\n"
    "    return bump\n"
    "\n"
    "\n"
    "def outer():\n"
    "    def down(n):\n"
    "        if n == 0:\n"
    "            return 0\n"
    "        return down(n - 1)\n"
    "    return down\n"
    "\n"
    "\n"
    "data = []\n"
    "for i in range(100):\n"
    "    data.append([str(i * 1000), i * 1000, i * 0.5, Point(i * 1000, -i)])\n"
    "loop = [1000 * 3, 2]\n"
    "loop.append(loop)\n"
    "me = Point(0, 0)\n"
    "me.self = me\n"
    "counter = make_counter()\n"
    "down = outer()\n"
    "slotted = Slotted([7 * 1000, 8 * 1000])\n"
    "init = me.__init__\n"
    "attrs = me.__dict__\n"
    "\n"
    "\n"
    "def walk():\n"
    "    total = 0\n"
    "    for row in data:\n"
    "        for x in row:\n"
    "            total += 1\n"
    "    for x in loop:\n"
    "        total += 1\n"
    "    return total + down(3) + len(attrs) + slotted.a[1] + counter()\n"
    "\n"
    "\n"
    "def grow(k):\n"
    "    data.append([str(k * 7777), k * 7777])\n"
    "    me.extra = [k * 3333]\n"
    "    slotted.b = [k * 4444]\n"
    "    back = [data]\n"
    "    data.append(back)\n"
    "    attrs['more'] = Point(k * 1000, 0)\n"
    "    return len(data)\n";

/* The object in global `name` (core.h: the test looks at reference counts). */
static struct vm_object *global_named(struct vm_runtime *rt, const char *name)
{
    for (int i = 0; i < rt->prog->nslots; i++)
        if (strcmp(rt->prog->slot_names[i], name) == 0)
            return rt->globals[i];
    fail_msg("no global %s", name);
    return NULL;
}

static void test_immortalize_then_free_everything_at_the_end(void **state)
{
    (void)state;
    struct vm_error e;
    struct vm_program *p = NULL;
    struct vm_runtime *rt = NULL;
    struct vm_thread *ts = NULL;
    struct gil *g = noop_gil();
    char repr[64];
    assert_int_equal(vm_compile_source("imm.py", IMMORTAL_SRC, strlen(IMMORTAL_SRC), &p, &e), VM_OK);
    assert_int_equal(vm_runtime_new(p, g, stdout, &rt, &e), VM_OK);
    assert_int_equal(vm_thread_new(rt, 0, NULL, &ts, &e), VM_OK);
    long start = vm_live_objects(rt);
    assert_int_equal(vm_load_module(rt, ts, &e), VM_OK);
    long loaded = vm_live_objects(rt);

    /* Everything reachable from the globals: 100 rows of a list, a str, an
       int, a float and a Point with its dict (and the two ints in it), ... */
    long made = vm_runtime_immortalize(rt);
    assert_true(made > 100 * 8);
    assert_int_equal(vm_live_objects(rt), loaded);   /* made immortal, not copied */
    assert_int_equal(vm_runtime_immortalize(rt), 0);  /* nothing new */

    /* Walking the data writes no reference count of it. */
    struct vm_list *data = (struct vm_list *)global_named(rt, "data");
    struct vm_list *row = (struct vm_list *)data->items[7];
    int32_t rc_data = data->ob.refcnt, rc_row = row->ob.refcnt, rc_str = row->items[0]->refcnt;
    assert_true((data->ob.flags & VM_IMMORTAL) && (row->items[3]->flags & VM_IMMORTAL));
    assert_int_equal(vm_call(rt, ts, "walk", NULL, 0, repr, sizeof repr, &e), VM_OK);
    /* 400 items, 3 in loop, down(3) == 0, 3 attributes, 8000 and counter() == 1 (as python3) */
    assert_string_equal(repr, "8407");
    assert_int_equal(data->ob.refcnt, rc_data);
    assert_int_equal(row->ob.refcnt, rc_row);
    assert_int_equal(row->items[0]->refcnt, rc_str);
    assert_int_equal(vm_live_objects(rt), loaded);

    /* Mortal objects stored into immortal containers (a list, an instance's
       dict, a slot, a dict), one of them a new cycle through `data`. */
    int64_t k = 5;
    assert_int_equal(vm_call(rt, ts, "grow", &k, 1, repr, sizeof repr, &e), VM_OK);
    assert_string_equal(repr, "102");
    long grown = vm_live_objects(rt);
    assert_true(grown > loaded);
    /* A second call makes those immortal too: [str, int], [int] twice, [data],
       and a Point with its dict and its x. */
    assert_int_equal(vm_runtime_immortalize(rt), 3 + 2 + 2 + 1 + 3);
    assert_int_equal(vm_call(rt, ts, "grow", &k, 1, repr, sizeof repr, &e), VM_OK);
    assert_int_equal(vm_call(rt, ts, "walk", NULL, 0, repr, sizeof repr, &e), VM_OK);

    /* The end of the run frees every object it made, immortal or not. */
    vm_runtime_end(rt);
    assert_int_equal(vm_live_objects(rt), start);
    vm_thread_free(ts);
    vm_runtime_free(rt);   /* ends nothing twice (ASan: no double free) */
    vm_program_free(p);
    gil_free(g);
}

static void test_immortalize_under_each_policy(void **state)
{
    (void)state;
    under_each_policy(test_immortalize_then_free_everything_at_the_end);
}

static void test_immortalize_an_empty_module(void **state)
{
    (void)state;
    struct mod m;
    mod_load(&m, "empty.py", "x = 1\n");
    long before = vm_live_objects(m.rt);
    assert_int_equal(vm_runtime_immortalize(m.rt), 0);   /* 1 is immortal from birth */
    vm_runtime_end(m.rt);
    assert_int_equal(vm_live_objects(m.rt), before);
    mod_free(&m);
}

/* ---- biased reference counts: the merge queue ------------------------------------------------ */

/* fill makes lists (owned by the calling thread state) and puts them in a
   shared list; drain takes them out and drops them; spin only runs. */
static const char HANDOFF_SRC[] =
    "box = []\n"
    "def fill(k):\n"
    "    for i in range(k):\n"
    "        box.append([i])\n"
    "    return len(box)\n"
    "def drain(k):\n"
    "    for i in range(k):\n"
    "        box.pop()\n"
    "    return len(box)\n"
    "def spin(k):\n"
    "    while k > 0:\n"
    "        k -= 1\n"
    "    return k\n";

struct handoff {
    struct vm_program *p;
    struct gil *g;
    struct vm_runtime *rt;
    struct vm_thread *a, *b;
    long start;
};

static void handoff_open(struct handoff *h)
{
    struct vm_error e;
    memset(h, 0, sizeof *h);
    policy_design = "none";
    policy_sets[0] = "refcounts=biased";
    h->g = noop_gil();
    policy_design = "noop";
    policy_sets[0] = NULL;
    assert_int_equal(vm_compile_source("handoff.py", HANDOFF_SRC, strlen(HANDOFF_SRC), &h->p, &e), VM_OK);
    assert_int_equal(vm_runtime_new(h->p, h->g, stdout, &h->rt, &e), VM_OK);
    assert_int_equal(vm_thread_new(h->rt, 0, NULL, &h->a, &e), VM_OK);
    assert_int_equal(vm_thread_new(h->rt, 1, NULL, &h->b, &e), VM_OK);
    assert_int_equal(vm_load_module(h->rt, h->a, &e), VM_OK);
    h->start = vm_live_objects(h->rt);
}

static void call(struct vm_runtime *rt, struct vm_thread *ts, const char *fn, int64_t arg, const char *want)
{
    struct vm_error e;
    char repr[32];
    if (vm_call(rt, ts, fn, &arg, 1, repr, sizeof repr, &e) != VM_OK)
        fail_msg("%s", e.msg);
    assert_string_equal(repr, want);
}

/* Two thread states take turns on one OS thread, so the order is exact:
   thread a makes 50 lists, b drops them. Each was counted by its owner (a),
   so b's drops would take the shared counts below zero: b queues all 50 for
   a, and a merges them (and frees them) at its next eval-breaker check. */
static void test_biased_objects_dropped_by_another_thread_are_merged_by_their_owner(void **state)
{
    (void)state;
    struct handoff h;
    handoff_open(&h);
    call(h.rt, h.a, "fill", 50, "50");
    call(h.rt, h.b, "drain", 50, "0");
    const struct vm_stats *sa = vm_thread_stats(h.a), *sb = vm_thread_stats(h.b);
    assert_int_equal(sb->biased_queued, 50);
    assert_int_equal(sb->deferred_releases, 50);   /* each popped item's, for a grace period */
    assert_int_equal(sa->biased_merged, 0);
    call(h.rt, h.a, "spin", 10, "0");   /* its first check merges the queue */
    assert_int_equal(sa->biased_merged, 50);
    assert_int_equal(sa->biased_queued, 0);
    assert_int_equal(vm_live_objects(h.rt), h.start);   /* all 50 freed */
    vm_thread_free(h.a);
    vm_thread_free(h.b);
    vm_runtime_free(h.rt);
    vm_program_free(h.p);
    gil_free(h.g);
}

/* The owner has exited: the thread that drops the objects merges each itself. */
static void test_biased_objects_of_an_exited_owner_are_merged_by_the_dropper(void **state)
{
    (void)state;
    struct handoff h;
    struct vm_error e;
    handoff_open(&h);
    struct vm_thread *c = NULL;
    assert_int_equal(vm_thread_new(h.rt, 2, NULL, &c, &e), VM_OK);
    call(h.rt, c, "fill", 30, "30");
    vm_thread_free(c);
    call(h.rt, h.b, "drain", 30, "0");
    const struct vm_stats *sb = vm_thread_stats(h.b);
    assert_int_equal(sb->biased_queued, 0);
    assert_int_equal(sb->biased_merged, 30);
    assert_int_equal(vm_live_objects(h.rt), h.start);
    vm_thread_free(h.a);
    vm_thread_free(h.b);
    vm_runtime_free(h.rt);
    vm_program_free(h.p);
    gil_free(h.g);
}

/* ---- 64-bit ints ---------------------------------------------------------------------------- */

static void test_overflow_at_64_bit_edges(void **state)
{
    (void)state;
    static const char *const overflow[] = {
        "x = 9223372036854775807\nx = x + 1\n",
        "x = -9223372036854775807 - 1\nx = x - 1\n",
        "x = -9223372036854775807 - 1\nx = -x\n",
        "x = -9223372036854775807 - 1\nx = x // -1\n",
        "x = 4294967296\nx = x * x\n",
        "x = -9223372036854775807 - 1\nx = abs(x)\n",
        "x = int('9223372036854775808')\n",
        "x = int(1e19)\n",
        "x = 99999999999999999999\n",
        "x = 9223372036854775807\nx += 1\n",
        "x = [9223372036854775807]\nx[0] += 1\n",
    };
    for (size_t i = 0; i < sizeof overflow / sizeof overflow[0]; i++) {
        struct run r;
        run_program("o.py", overflow[i], &r);
        assert_int_equal(r.rc, VM_RUNTIME_ERROR);
        assert_string_equal(last_line(r.err.msg), "OverflowError: integer overflow (gillab ints are 64-bit)");
        assert_int_equal(r.live_after, r.live_before);
        run_free(&r);
    }
    struct run r;
    run_program("e.py",
                "m = -9223372036854775807 - 1\n"
                "print(m, -9223372036854775808, m % -1, m // 1, m + 9223372036854775807)\n"
                "print(9223372036854775807 // -1, 3037000499 * 3037000499, -(m + 1))\n",
                &r);
    assert_int_equal(r.rc, VM_OK);
    assert_string_equal(r.out,
                        "-9223372036854775808 -9223372036854775808 0 -9223372036854775808 -1\n"
                        "-9223372036854775807 9223372030926249001 9223372036854775807\n");
    run_free(&r);
}

/* ---- dis ---------------------------------------------------------------------------------- */

static void test_dis_layout(void **state)
{
    (void)state;
    static const char src[] = "def count(n):\n    while n > 0:\n        n -= 1\n";
    struct vm_program *p = NULL;
    struct vm_error e;
    assert_int_equal(vm_compile_source("count.py", src, sizeof src - 1, &p, &e), VM_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    vm_dis(p, out);
    fclose(out);
    assert_string_equal(buf,
        "  1           0 LOAD_CONST               0 (<code object count at 0x7f0000000100, file \"count.py\", line 1>)\n"
        "              2 LOAD_CONST               1 ('count')\n"
        "              4 MAKE_FUNCTION            0\n"
        "              6 STORE_NAME               0 (count)\n"
        "              8 LOAD_CONST               2 (None)\n"
        "             10 RETURN_VALUE\n"
        "\n"
        "Disassembly of <code object count at 0x7f0000000100, file \"count.py\", line 1>:\n"
        "  2     >>    0 LOAD_FAST                0 (n)\n"
        "              2 LOAD_CONST               1 (0)\n"
        "              4 COMPARE_OP               4 (>)\n"
        "              6 POP_JUMP_IF_FALSE       18\n"
        "\n"
        "  3           8 LOAD_FAST                0 (n)\n"
        "             10 LOAD_CONST               2 (1)\n"
        "             12 INPLACE_SUBTRACT\n"
        "             14 STORE_FAST               0 (n)\n"
        "             16 JUMP_ABSOLUTE            0\n"
        "        >>   18 LOAD_CONST               0 (None)\n"
        "             20 RETURN_VALUE\n");
    free(buf);
    vm_program_free(p);
}

static void test_dis_names_the_opcodes(void **state)
{
    (void)state;
    static const char src[] =
        "import time\n"
        "g = 0\n"
        "def f(a, b):\n"
        "    global g\n"
        "    g = a\n"
        "    l = [a, b]\n"
        "    l[0] += 1\n"
        "    l.append(-a)\n"
        "    for i in range(3):\n"
        "        if i == 1 and b or not a:\n"
        "            continue\n"
        "        break\n"
        "    time.sleep(0)\n"
        "    if a:\n"
        "        g = 1\n"
        "    else:\n"
        "        g = 2\n"
        "    return l[0] // 2 % 3 * 4 / 5 - a < b < 9\n";
    struct vm_program *p = NULL;
    struct vm_error e;
    assert_int_equal(vm_compile_source("ops.py", src, sizeof src - 1, &p, &e), VM_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    vm_dis(p, out);
    fclose(out);
    static const char *const names[] = {
        "IMPORT_NAME", "STORE_NAME", "MAKE_FUNCTION", "STORE_GLOBAL", "LOAD_FAST", "STORE_FAST",
        "BUILD_LIST", "DUP_TOP_TWO", "BINARY_SUBSCR", "INPLACE_ADD", "ROT_THREE", "STORE_SUBSCR",
        "LOAD_METHOD", "CALL_METHOD", "UNARY_NEGATIVE", "LOAD_GLOBAL", "CALL_FUNCTION", "GET_ITER",
        "FOR_ITER", "POP_JUMP_IF_FALSE", "POP_JUMP_IF_TRUE", "JUMP_ABSOLUTE", "POP_TOP",
        "BINARY_FLOOR_DIVIDE", "BINARY_MODULO", "BINARY_MULTIPLY", "BINARY_TRUE_DIVIDE",
        "BINARY_SUBTRACT", "DUP_TOP", "JUMP_IF_FALSE_OR_POP", "JUMP_FORWARD", "ROT_TWO",
        "RETURN_VALUE", "COMPARE_OP               0 (<)", "(range)",
        "FOR_ITER                ", "(to ",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strstr(buf, names[i]))
            fail_msg("dis output lacks %s:\n%s", names[i], buf);
    free(buf);
    vm_program_free(p);
}

/* Classes and closures, as python3.8 -m dis shows them (code object addresses aside). */
static void test_dis_classes_and_closures(void **state)
{
    (void)state;
    static const char src[] =
        "class C:\n"
        "    def __init__(self, v):\n"
        "        self.v = v\n"
        "def make(n):\n"
        "    def get():\n"
        "        return n\n"
        "    del n\n"
        "    return get\n";
    struct vm_program *p = NULL;
    struct vm_error e;
    assert_int_equal(vm_compile_source("dc.py", src, sizeof src - 1, &p, &e), VM_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    vm_dis(p, out);
    fclose(out);
    /* Mask the (stable, fake) addresses as the dis check does. */
    for (char *a = strstr(buf, " at 0x"); a; a = strstr(a + 1, " at 0x"))
        for (char *h = a + 6; (*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f'); h++)
            *h = 'X';
    assert_string_equal(buf,
        "  1           0 LOAD_BUILD_CLASS\n"
        "              2 LOAD_CONST               0 (<code object C at 0xXXXXXXXXXXXX, file \"dc.py\", line 1>)\n"
        "              4 LOAD_CONST               1 ('C')\n"
        "              6 MAKE_FUNCTION            0\n"
        "              8 LOAD_CONST               1 ('C')\n"
        "             10 CALL_FUNCTION            2\n"
        "             12 STORE_NAME               0 (C)\n"
        "\n"
        "  4          14 LOAD_CONST               2 (<code object make at 0xXXXXXXXXXXXX, file \"dc.py\", line 4>)\n"
        "             16 LOAD_CONST               3 ('make')\n"
        "             18 MAKE_FUNCTION            0\n"
        "             20 STORE_NAME               1 (make)\n"
        "             22 LOAD_CONST               4 (None)\n"
        "             24 RETURN_VALUE\n"
        "\n"
        "Disassembly of <code object C at 0xXXXXXXXXXXXX, file \"dc.py\", line 1>:\n"
        "  1           0 LOAD_NAME                0 (__name__)\n"
        "              2 STORE_NAME               1 (__module__)\n"
        "              4 LOAD_CONST               0 ('C')\n"
        "              6 STORE_NAME               2 (__qualname__)\n"
        "\n"
        "  2           8 LOAD_CONST               1 (<code object __init__ at 0xXXXXXXXXXXXX, file \"dc.py\", line 2>)\n"
        "             10 LOAD_CONST               2 ('C.__init__')\n"
        "             12 MAKE_FUNCTION            0\n"
        "             14 STORE_NAME               3 (__init__)\n"
        "             16 LOAD_CONST               3 (None)\n"
        "             18 RETURN_VALUE\n"
        "\n"
        "Disassembly of <code object __init__ at 0xXXXXXXXXXXXX, file \"dc.py\", line 2>:\n"
        "  3           0 LOAD_FAST                1 (v)\n"
        "              2 LOAD_FAST                0 (self)\n"
        "              4 STORE_ATTR               0 (v)\n"
        "              6 LOAD_CONST               0 (None)\n"
        "              8 RETURN_VALUE\n"
        "\n"
        "Disassembly of <code object make at 0xXXXXXXXXXXXX, file \"dc.py\", line 4>:\n"
        "  5           0 LOAD_CLOSURE             0 (n)\n"
        "              2 BUILD_TUPLE              1\n"
        "              4 LOAD_CONST               1 (<code object get at 0xXXXXXXXXXXXX, file \"dc.py\", line 5>)\n"
        "              6 LOAD_CONST               2 ('make.<locals>.get')\n"
        "              8 MAKE_FUNCTION            8 (closure)\n"
        "             10 STORE_FAST               1 (get)\n"
        "\n"
        "  7          12 DELETE_DEREF             0 (n)\n"
        "\n"
        "  8          14 LOAD_FAST                1 (get)\n"
        "             16 RETURN_VALUE\n"
        "\n"
        "Disassembly of <code object get at 0xXXXXXXXXXXXX, file \"dc.py\", line 5>:\n"
        "  6           0 LOAD_DEREF               0 (n)\n"
        "              2 RETURN_VALUE\n");
    free(buf);
    vm_program_free(p);
}

/* vm_thread_count_ops: exact counts, fused instructions included; none unless asked. */
static void test_opcode_counts(void **state)
{
    (void)state;
    static const char src[] = "def count(n):\n    while n > 0:\n        n -= 1\n";
    struct mod m;
    mod_load(&m, "count.py", src);
    assert_null(vm_thread_opcounts(m.ts));
    struct vm_thread *ts = NULL;
    struct vm_error e;
    assert_int_equal(vm_thread_new(m.rt, 1, NULL, &ts, &e), VM_OK);
    assert_int_equal(vm_thread_count_ops(ts), 0);
    int64_t n = 500;
    assert_int_equal(vm_call(m.rt, ts, "count", &n, 1, NULL, 0, &e), VM_OK);
    const uint64_t *c = vm_thread_opcounts(ts);
    assert_non_null(c);
    static const struct { const char *op; uint64_t runs; } want[] = {
        {"LOAD_FAST", 1001}, {"LOAD_CONST", 1002}, {"COMPARE_OP", 501}, {"POP_JUMP_IF_FALSE", 501},
        {"INPLACE_SUBTRACT", 500}, {"STORE_FAST", 500}, {"JUMP_ABSOLUTE", 500}, {"RETURN_VALUE", 1},
    };
    uint64_t total = 0, want_total = 0;
    for (int op = 0; op < VM_OPCODE_SLOTS; op++)
        total += c[op];
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int op = 0;
        while (op < VM_OPCODE_SLOTS && !(vm_opcode_name(op) && strcmp(vm_opcode_name(op), want[i].op) == 0))
            op++;
        assert_true(op < VM_OPCODE_SLOTS);
        if (c[op] != want[i].runs)
            fail_msg("%s ran %llu times, want %llu", want[i].op, (unsigned long long)c[op],
                     (unsigned long long)want[i].runs);
        want_total += want[i].runs;
    }
    assert_int_equal(total, want_total);   /* nothing else ran */
    assert_null(vm_thread_opcounts(m.ts));   /* the loader did not count */
    vm_thread_free(ts);
    mod_free(&m);
}

/* An error inside __repr__, called from print (C), shows every frame. */
static void test_traceback_through_repr(void **state)
{
    (void)state;
    struct run r;
    run_program("t.py",
                "class V:\n"
                "    def __repr__(self):\n"
                "        return 1 // 0\n"
                "def show(v):\n"
                "    print([v])\n"
                "show(V())\n",
                &r);
    assert_int_equal(r.rc, VM_RUNTIME_ERROR);
    assert_string_equal(r.err.msg,
                        "Traceback (most recent call last):\n"
                        "  File \"t.py\", line 6, in <module>\n"
                        "  File \"t.py\", line 5, in show\n"
                        "  File \"t.py\", line 3, in __repr__\n"
                        "ZeroDivisionError: integer division or modulo by zero");
    assert_int_equal(r.live_after, r.live_before);
    run_free(&r);
}

static void test_long_code_uses_extended_arg(void **state)
{
    (void)state;
    /* 300 distinct constants and a loop body longer than 256 bytes. */
    size_t cap = 64 * 1024, n = 0;
    char *src = malloc(cap);
    n += (size_t)snprintf(src + n, cap - n, "def f():\n    t = 0\n    i = 0\n    while i < 3:\n");
    for (int k = 0; k < 300; k++)
        n += (size_t)snprintf(src + n, cap - n, "        t += %d\n", 1000 + k);
    n += (size_t)snprintf(src + n, cap - n, "        i += 1\n    return t\nprint(f())\n");
    struct run r;
    run_program("long.py", src, &r);
    assert_int_equal(r.rc, VM_OK);
    assert_string_equal(r.out, "1034550\n");   /* 3 * sum(1000..1299) */
    run_free(&r);
    struct vm_program *p = NULL;
    struct vm_error e;
    assert_int_equal(vm_compile_source("long.py", src, n, &p, &e), VM_OK);
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    vm_dis(p, out);
    fclose(out);
    assert_non_null(strstr(buf, "EXTENDED_ARG"));
    free(buf);
    vm_program_free(p);
    free(src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_run_prints_like_python),
        cmocka_unit_test(test_empty_source_runs),
        cmocka_unit_test(test_name_is_main_under_run_main),
        cmocka_unit_test(test_compile_error_has_position),
        cmocka_unit_test(test_compile_rejects_nul_and_bad_utf8),
        cmocka_unit_test(test_missing_file_is_io_error),
        cmocka_unit_test(test_live_objects_balance_after_success),
        cmocka_unit_test(test_live_objects_balance_after_success_under_each_policy),
        cmocka_unit_test(test_live_objects_balance_after_each_error_kind),
        cmocka_unit_test(test_live_objects_balance_after_each_error_kind_under_each_policy),
        cmocka_unit_test(test_traceback_lists_frames_outermost_first),
        cmocka_unit_test(test_recursion_limit),
        cmocka_unit_test(test_corpus_programs_balance),
        cmocka_unit_test(test_load_module_skips_main_block),
        cmocka_unit_test(test_call_with_args_returns_repr),
        cmocka_unit_test(test_call_errors),
        cmocka_unit_test(test_function_arity),
        cmocka_unit_test(test_immortalize_then_free_everything_at_the_end),
        cmocka_unit_test(test_immortalize_under_each_policy),
        cmocka_unit_test(test_biased_objects_dropped_by_another_thread_are_merged_by_their_owner),
        cmocka_unit_test(test_biased_objects_of_an_exited_owner_are_merged_by_the_dropper),
        cmocka_unit_test(test_immortalize_an_empty_module),
        cmocka_unit_test(test_overflow_at_64_bit_edges),
        cmocka_unit_test(test_dis_layout),
        cmocka_unit_test(test_dis_names_the_opcodes),
        cmocka_unit_test(test_long_code_uses_extended_arg),
        cmocka_unit_test(test_dis_classes_and_closures),
        cmocka_unit_test(test_opcode_counts),
        cmocka_unit_test(test_traceback_through_repr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
