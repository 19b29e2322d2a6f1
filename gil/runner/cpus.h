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
#ifndef WL_CPUS_H
#define WL_CPUS_H

#include <sched.h>
#include <stdbool.h>
#include <stddef.h>

enum wl_cpus_mode { WL_CPUS_ALL, WL_CPUS_ONE, WL_CPUS_LIST };

struct wl_cpus {
    enum wl_cpus_mode mode;
    cpu_set_t set;           /* the mask every thread is pinned to */
    char requested[4096];    /* the CSV `cpus` column: "1", "all" or "0 1" */
};

/* Parse a --cpus value against this process's allowed CPUs. 0, or -1 with a
   message naming the value and the allowed CPUs in err. */
int wl_cpus_parse(const char *spec, struct wl_cpus *out, char *err, size_t errcap);
/* Pin the calling thread to c->set. 0 or an errno value. */
int wl_cpus_pin_self(const struct wl_cpus *c);
/* The calling thread's mask as it is now. 0 or an errno value. */
int wl_cpus_current(cpu_set_t *out);
/* CPU ids of set: separated by spaces ("0 1"), or as ranges ("0-1,3") when
   ranges is true. Returns the length, or -1 when cap is too small. */
int wl_cpus_format(const cpu_set_t *set, bool ranges, char *buf, size_t cap);

#endif
