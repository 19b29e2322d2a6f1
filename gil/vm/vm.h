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

/* Objects alive right now that were allocated by running code (not the
   program's constants). Call only when no VM thread is running. */
long vm_live_objects(struct vm_runtime *rt);

/* Tunables */
#define VM_RECURSION_LIMIT 1000     /* frames per thread, as sys.getrecursionlimit() */
#define VM_MAX_SOURCE_BYTES (16L << 20)

#endif
