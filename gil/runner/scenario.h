/*
 * scenario.h — the table of scenarios: which threads a run starts and what each
 * of them does.
 *
 * The command line (its options, its usage text, `gillab scenarios`, which the
 * lab driver reads) and the runner (its checks and its threads) all take their
 * facts from this table; nothing else in the tree names a scenario. A new
 * scenario is one entry here, plus its counterpart in the peer driver
 * (workloads/peers/peer.py) so that real interpreters run it too.
 */
#ifndef RUNNER_SCENARIO_H
#define RUNNER_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>

/* Options that only some scenarios accept (bits of scenario.options). */
enum scn_option {
    SCN_OPT_IO = 1u << 0,        /* --io-entry, --io-arg: the I/O thread's function */
    SCN_OPT_SAMPLES = 1u << 1,   /* --samples-csv: one row per I/O wake-up */
    SCN_OPT_FORK = 1u << 2,      /* --workers, --setup, --refcount-policy, --sample-ms, --smaps-csv */
};

struct scenario {
    const char *name;            /* --scenario NAME, and the CSV's scenario column */
    const char *summary;         /* one line for usage and `gillab scenarios` */
    const char *threads_means;   /* what --threads T means in it */
    int min_threads;             /* smallest T it accepts */
    int default_threads;         /* T when --threads is not given */
    bool sequential;             /* one thread calls the entry T times in a row */
    bool io_thread;              /* the last of the T threads calls the I/O entry once
                                    every other thread has begun (the convoy) */
    bool forks;                  /* processes, not threads: the parent calls the setup
                                    function, then forks workers that each call the
                                    entry on one VM thread (runner/fork.c) */
    unsigned options;            /* the scenario-only options it accepts (SCN_OPT_*) */
};

/* Every scenario; the list ends with an entry whose name is NULL. */
extern const struct scenario scenarios[];
/* The scenario run when none is named. */
extern const struct scenario *const scenario_default;

const struct scenario *scenario_find(const char *name);
/* The names separated by `sep`, only those accepting every bit of `options`. */
void scenario_names(char *buf, size_t cap, const char *sep, unsigned options);
/* How many threads run at once for T: 1 when sequential, else T. */
int scenario_concurrency(const struct scenario *s, int threads);

#endif
