/*
 * scenario.c — the scenario table; see scenario.h.
 */
#include "runner/scenario.h"

#include <stdio.h>
#include <string.h>


const struct scenario scenarios[] = {
    {
        .name = "seq",
        .summary = "one thread calls the entry T times in a row: the work of T threads, "
                   "without a second thread",
        .threads_means = "how many calls the one thread makes",
        .min_threads = 1,
        .default_threads = 1,
        .sequential = true,
    },
    {
        .name = "threads",
        .summary = "T threads call the entry at once",
        .threads_means = "how many threads run at once",
        .min_threads = 1,
        .default_threads = 1,
    },
    {
        .name = "convoy",
        .summary = "T-1 CPU-bound threads call the entry while one I/O thread calls the I/O "
                   "entry, which returns its wake-up latencies in us",
        .threads_means = "the CPU threads plus the one I/O thread",
        .min_threads = 2,
        .default_threads = 2,
        .io_thread = true,
        .options = SCN_OPT_IO | SCN_OPT_SAMPLES,
    },
    {
        .name = "fork",
        .summary = "the parent calls the setup function (--setup NAME, given the --arg values), "
                   "then forks --workers N processes that each call the entry (no arguments) "
                   "while the parent reads their memory from /proc/PID/smaps_rollup",
        .threads_means = "not given: each worker process runs one VM thread (the threads column is 1)",
        .min_threads = 1,
        .default_threads = 1,
        .forks = true,
        .options = SCN_OPT_FORK,
    },
    {.name = NULL},
};

const struct scenario *const scenario_default = &scenarios[1];

const struct scenario *scenario_find(const char *name)
{
    for (const struct scenario *s = scenarios; s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

void scenario_names(char *buf, size_t cap, const char *sep, unsigned options)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const struct scenario *s = scenarios; s->name && n < cap; s++)
        if ((s->options & options) == options)
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? sep : "", s->name);
}

int scenario_concurrency(const struct scenario *s, int threads)
{
    return s->sequential ? 1 : threads;
}
