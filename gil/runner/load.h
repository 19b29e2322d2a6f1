/*
 * load.h — how busy the machine was while a run ran, from the kernel's own
 * accounting (/proc/stat): the CPU time every process took, of which the run
 * subtracts its own, and the time the hypervisor stole from this machine's
 * virtual CPUs. A ratio measured while other work ran is not the ratio the lab
 * claims; the rows say how much other work there was.
 */
#ifndef RUNNER_LOAD_H
#define RUNNER_LOAD_H

#include <stdbool.h>

/* A reading of the machine-wide CPU counters, in seconds. */
struct run_load {
    bool ok;            /* /proc/stat was read */
    double busy_s;      /* user + nice + system + irq + softirq, all CPUs */
    double steal_s;     /* stolen by the hypervisor, all CPUs */
};

/* Read the counters now; on failure ok is false. */
struct run_load run_load_read(void);

/* Between two readings, given the run's own CPU time (user + sys): the CPU time
   other processes took (never below 0; /proc/stat counts in ticks of 1/USER_HZ
   s, so small values are noise of that size) and the steal. false when either
   reading failed. */
bool run_load_delta(struct run_load a, struct run_load b, double own_cpu_s, double *others_s,
                    double *steal_s);

#endif
