/*
 * load.c — reading /proc/stat; see load.h.
 */
#include "runner/load.h"

#include <stdio.h>
#include <unistd.h>

struct run_load run_load_read(void)
{
    struct run_load l = {0};
    unsigned long long user, nice, system, idle, iowait, irq, softirq, steal;
    FILE *f = fopen("/proc/stat", "re");
    if (!f)
        return l;
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &user, &nice, &system, &idle,
                   &iowait, &irq, &softirq, &steal);
    fclose(f);
    long hz = sysconf(_SC_CLK_TCK);
    if (n != 8 || hz <= 0)
        return l;
    l.busy_s = (double)(user + nice + system + irq + softirq) / (double)hz;
    l.steal_s = (double)steal / (double)hz;
    l.ok = true;
    return l;
}

bool run_load_delta(struct run_load a, struct run_load b, double own_cpu_s, double *others_s,
                    double *steal_s)
{
    if (!a.ok || !b.ok)
        return false;
    double others = (b.busy_s - a.busy_s) - own_cpu_s;
    *others_s = others > 0 ? others : 0;
    *steal_s = b.steal_s > a.steal_s ? b.steal_s - a.steal_s : 0;
    return true;
}
