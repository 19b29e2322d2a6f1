/*
 * cpus.h — where the lab's threads may run (--cpus 1|all|LIST).
 *
 * "1"   every thread pinned to one CPU: the first one this process may use;
 * "all" every CPU this process may use (its affinity mask at start-up);
 * LIST  explicit CPU ids, "0,1", "0-1" or "0,2-3"; each must be one this
 *       process may use. (To name CPU 1 alone, write "1-1".)
 * Every thread of a run gets the same mask; the runner reads it back in each
 * thread to record the CPUs actually used.
 */
#ifndef RUN_CPUS_H
#define RUN_CPUS_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

enum run_cpus_mode {
    RUN_CPUS_UNSET = 0,   /* not given: the runner uses "all" */
    RUN_CPUS_ALL,         /* every CPU this process may use */
    RUN_CPUS_ONE,         /* one CPU for every thread */
    RUN_CPUS_LIST,        /* an explicit list */
};
/* The CSV's placement column for a mode: "all", "one", "list". */
const char *run_cpus_placement(enum run_cpus_mode m);

struct run_cpus {
    enum run_cpus_mode mode;
    cpu_set_t set;           /* the mask every thread is pinned to */
    char requested[4096];    /* the CSV `cpus` column: "1", "all" or "0 1" */
};

/* Parse a --cpus value against this process's allowed CPUs. 0, or -1 with a
   message naming the value and the allowed CPUs in err. */
int run_cpus_parse(const char *spec, struct run_cpus *out, char *err, size_t errcap);
/* Pin the calling thread to c->set. 0 or an errno value. */
int run_cpus_pin_self(const struct run_cpus *c);
/* The calling thread's mask as it is now. 0 or an errno value. */
int run_cpus_current(cpu_set_t *out);
/* CPU ids of set: separated by spaces ("0 1"), or as ranges ("0-1,3") when
   ranges is true. Returns the length, or -1 when cap is too small. */
int run_cpus_format(const cpu_set_t *set, bool ranges, char *buf, size_t cap);

#endif
