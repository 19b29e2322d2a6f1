/*
 * vm.h — the interpreter's public face.
 *
 * A workload file is compiled once into a `vm_program` (immutable afterwards,
 * shared by every thread). A `vm_runtime` is one run of it: module globals,
 * the lock, the output stream. Each VM thread has a `vm_thread` (its frames,
 * tick countdown, allocation counters and lock state). The VM never creates
 * threads: the caller starts pthreads and gives each its own vm_thread.
 *
 * Every call that can fail returns an enum vm_result and fills a vm_error with
 * one line (compile errors: "file:line:col: message") or, for runtime errors, a
 * Python-style traceback. Nothing here prints to stderr or exits.
 */
#ifndef VM_H
#define VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "locks/gil.h"

enum vm_result {
    VM_OK = 0,
    VM_RUNTIME_ERROR = 1,   /* exit status 1 */
    VM_COMPILE_ERROR = 2,   /* exit status 2 */
    VM_IO_ERROR = 3,        /* missing/unreadable file: reported with exit status 2 */
    VM_USAGE_ERROR = 4,     /* unknown entry, wrong argument count ...: exit status 2 */
};

struct vm_error {
    char msg[2048];         /* one line, or a traceback ending in "Kind: message" */
    int line, col;          /* compile errors: 1-based position, else 0 */
};

struct vm_program;
struct vm_runtime;
struct vm_thread;

/* ---- compiling ------------------------------------------------------------------- */

enum vm_result vm_compile_file(const char *path, struct vm_program **out, struct vm_error *err);
enum vm_result vm_compile_source(const char *filename, const char *src, size_t len,
                                 struct vm_program **out, struct vm_error *err);
void vm_program_free(struct vm_program *p);
/* The layout of Python's dis: one block per code object. */
void vm_dis(const struct vm_program *p, FILE *out);

/* ---- running ----------------------------------------------------------------------- */

/* A runtime for program p under lock g (never NULL: use the "noop" lock for a
   plain single-threaded run). `out` receives print(). */
enum vm_result vm_runtime_new(struct vm_program *p, struct gil *g, FILE *out,
                              struct vm_runtime **rt, struct vm_error *err);
void vm_runtime_free(struct vm_runtime *rt);

/* A thread state with lock-thread id `id` and optional trace buffer. */
enum vm_result vm_thread_new(struct vm_runtime *rt, int id, struct trace_buf *trace,
                             struct vm_thread **out, struct vm_error *err);
void vm_thread_free(struct vm_thread *ts);
struct gil_thread *vm_thread_gil(struct vm_thread *ts);

/* Run the module body with __name__ == "__main__" (as `python3 FILE`). Takes
   the lock on entry and drops it on return. The program ends there, as at
   interpreter exit (see vm_runtime_end), so every object the run made is freed. */
enum vm_result vm_run_main(struct vm_runtime *rt, struct vm_thread *ts, struct vm_error *err);
/* Run the module body as an imported module (the `if __name__ == "__main__":`
   block is skipped). Call once per runtime, before any vm_call. */
enum vm_result vm_load_module(struct vm_runtime *rt, struct vm_thread *ts, struct vm_error *err);
/* Call the module-level function `name` with integer arguments; takes and drops
   the lock. If repr is not NULL, the result's repr() is written there. */
enum vm_result vm_call(struct vm_runtime *rt, struct vm_thread *ts, const char *name,
                       const int64_t *args, int nargs, char *repr, size_t repr_cap,
                       struct vm_error *err);
/* The same, with the result's whole repr() malloc'd into *repr (the caller
   frees it; NULL when repr is NULL, on error, or when there was no memory to
   format it). */
enum vm_result vm_call_repr(struct vm_runtime *rt, struct vm_thread *ts, const char *name,
                            const int64_t *args, int nargs, char **repr, struct vm_error *err);
/* Make every object reachable from the module's globals immortal: from now on
   no reference count of theirs is written (PEP 683's immortal objects, made at
   a point of the run: before a fork, before threads share them). They are
   freed when the run ends (vm_runtime_end, the end of vm_run_main,
   vm_runtime_free), never before. Call while no VM thread runs, or from the
   only one, or from the one holding a lock that serialises the VM (as
   gc.freeze() does). An immortal container may still be given mortal objects; a later
   call makes those immortal too. Returns how many objects this call made
   immortal, or -1 without memory (those made immortal so far stay so). */
long vm_runtime_immortalize(struct vm_runtime *rt);
/* How many objects vm_runtime_immortalize (or gc.freeze()) has made immortal
   in this run so far; they stay alive until its end. */
long vm_runtime_immortals(const struct vm_runtime *rt);
/* End the run as at interpreter exit, while no VM thread runs: the module's
   globals are cleared, reference cycles broken and the immortalised objects
   freed, so vm_live_objects is back where it was before the module ran. The
   runtime runs nothing afterwards; vm_runtime_free ends it when not ended. */
void vm_runtime_end(struct vm_runtime *rt);
/* Does the module define a function `name`, and with how many parameters
   (-1 when it does not exist or is not a function)? After vm_load_module. */
int vm_function_arity(struct vm_runtime *rt, const char *name);

/* ---- accounting ---------------------------------------------------------------------- */

/* Opcode counts (`gillab run --opstats`). Once vm_thread_count_ops has been
   called (before the thread runs; 0, or -1 without memory), the thread counts
   every instruction it runs into an array of VM_OPCODE_SLOTS counters indexed
   by opcode number (EXTENDED_ARG included; an instruction the loop runs fused
   with the one before it, such as the jump after a comparison, counts too).
   Counting runs a second copy of the eval loop, so a thread that does not
   count pays nothing for it. vm_thread_opcounts returns the counters (NULL
   when not counting); read them only while the thread is not running. */
#define VM_OPCODE_SLOTS 256
int vm_thread_count_ops(struct vm_thread *ts);
const uint64_t *vm_thread_opcounts(const struct vm_thread *ts);
/* CPython 3.8's name of opcode `op` ("LOAD_FAST"), or NULL when it is not one of gillab's. */
const char *vm_opcode_name(int op);

/* While no VM thread runs: complete what the threads left pending, counts
   queued for a merge and releases deferred to a grace period (the
   multi-threaded policies'), as a collector that stopped the world would.
   vm_live_objects and the end of a run do it themselves; call it before
   vm_runtime_immortalize, so that nothing pending refers to an object that
   the end of the run will free as immortal. */
void vm_runtime_settle(struct vm_runtime *rt);
/* Objects alive right now that were allocated by running code (not the
   program's constants). Call only when no VM thread is running: it first
   completes what the threads left pending (counts queued for a merge, and
   releases deferred to a grace period), as a collector that stopped the world
   would, so that every object that is garbage has been freed. */
long vm_live_objects(struct vm_runtime *rt);

/* What the VM itself did for thread safety, per thread: the counters of the
   multi-threaded policies (the lock layer's are GIL_STATS, gil.h). Each line:
   the field (also the CSV column), the policies it applies to (a mask of
   VM_STAT_POLICY(kind) bits; elsewhere the column is empty), and what it
   counts. The struct, the sums, the CSV columns and the tables are all made
   from this list, so a new counter is one line here (and the code counting it). */
#define VM_STAT_POLICY(kind) (1u << (kind))
#define VM_STAT_MT (VM_STAT_POLICY(GIL_VM_ATOMIC) | VM_STAT_POLICY(GIL_VM_BIASED))
#define VM_STAT_BIASED VM_STAT_POLICY(GIL_VM_BIASED)
#define VM_STATS(X)                                                                       \
    X(refcount_atomics, VM_STAT_MT,                                                       \
      "atomic updates of a reference count: every incref and decref of a mortal object "  \
      "under atomic; under biased those by a thread other than the owner, and merges")   \
    X(biased_queued, VM_STAT_BIASED,                                                      \
      "objects queued for their owner thread to merge (a decrement that would have made " \
      "the shared count negative)")                                                       \
    X(biased_merged, VM_STAT_BIASED,                                                      \
      "objects whose owner and shared counts a thread merged into one (from its queue, "  \
      "when its own count reached zero while others held references, or for an owner "   \
      "that had exited)")                                                                 \
    X(objlock_contended, VM_STAT_MT,                                                      \
      "acquisitions of a per-object lock (a list's, dict's, cell's or instance's, or a "  \
      "registry's) that found it held and had to spin")                                  \
    X(deferred_releases, VM_STAT_MT,                                                      \
      "references (replaced list items and globals) and item arrays released only after " \
      "a grace period, because a thread reading without a lock might still hold them")

/* Written only by the owning thread while it runs; read by others after join. */
struct vm_stats {
#define VM_STAT_FIELD(field, policies, help) uint64_t field;
    VM_STATS(VM_STAT_FIELD)
#undef VM_STAT_FIELD
};

struct vm_stat_info {
    const char *name;           /* the field, and the CSV column */
    unsigned policies;          /* VM_STAT_POLICY bits */
    const char *help;
    size_t offset;              /* of the member in struct vm_stats */
};
extern const struct vm_stat_info vm_stat_infos[];
extern const size_t vm_nstats;
static inline uint64_t vm_stat_get(const struct vm_stats *s, size_t i)
{
    return *(const uint64_t *)((const char *)s + vm_stat_infos[i].offset);
}
/* Does counter i count anything under a policy (a kind, flags ignored)? */
bool vm_stat_applies(size_t i, enum gil_vm_safety s);
/* Does any counter? */
bool vm_stats_apply(enum gil_vm_safety s);
void vm_stats_add(struct vm_stats *a, const struct vm_stats *b);
/* The thread's counters; read them only while it is not running. */
const struct vm_stats *vm_thread_stats(const struct vm_thread *ts);

/* Tunables */
#define VM_RECURSION_LIMIT 1000     /* frames per thread, as sys.getrecursionlimit() */
#define VM_MAX_SOURCE_BYTES (16L << 20)

#endif
