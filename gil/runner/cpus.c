/*
 * cpus.c — parsing --cpus and pinning threads (sched_setaffinity).
 */
#include "runner/cpus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *run_cpus_placement(enum run_cpus_mode m)
{
    switch (m) {
    case RUN_CPUS_ONE: return "one";
    case RUN_CPUS_LIST: return "list";
    default: return "all";
    }
}

int run_cpus_format(const cpu_set_t *set, bool ranges, char *buf, size_t cap)
{
    size_t len = 0;
    if (cap == 0)
        return -1;
    buf[0] = '\0';
    for (int i = 0; i < CPU_SETSIZE; i++) {
        if (!CPU_ISSET(i, set))
            continue;
        int j = i;
        if (ranges)
            while (j + 1 < CPU_SETSIZE && CPU_ISSET(j + 1, set))
                j++;
        int n;
        const char *sep = len ? (ranges ? "," : " ") : "";
        if (j > i)
            n = snprintf(buf + len, cap - len, "%s%d-%d", sep, i, j);
        else
            n = snprintf(buf + len, cap - len, "%s%d", sep, i);
        if (n < 0 || (size_t)n >= cap - len)
            return -1;
        len += (size_t)n;
        i = j;
    }
    return (int)len;
}

static int parse_id(const char *s, char **end, long *out)
{
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    long v = strtol(s, end, 10);
    if (errno || v > 1000000)
        return -1;
    *out = v;
    return 0;
}

int run_cpus_parse(const char *spec, struct run_cpus *out, char *err, size_t errcap)
{
    cpu_set_t allowed;
    char allowed_text[1024];
    CPU_ZERO(&allowed);
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) {
        snprintf(err, errcap, "--cpus %s: cannot read this process's CPUs: %s", spec, strerror(errno));
        return -1;
    }
    if (run_cpus_format(&allowed, true, allowed_text, sizeof allowed_text) < 0)
        snprintf(allowed_text, sizeof allowed_text, "(too many to list)");

    memset(out, 0, sizeof *out);
    CPU_ZERO(&out->set);
    if (strcmp(spec, "all") == 0) {
        out->mode = RUN_CPUS_ALL;
        out->set = allowed;
        snprintf(out->requested, sizeof out->requested, "all");
        return 0;
    }
    if (strcmp(spec, "1") == 0) {
        out->mode = RUN_CPUS_ONE;
        for (int i = 0; i < CPU_SETSIZE; i++)
            if (CPU_ISSET(i, &allowed)) {
                CPU_SET(i, &out->set);
                break;
            }
        snprintf(out->requested, sizeof out->requested, "1");
        return 0;
    }
    out->mode = RUN_CPUS_LIST;
    const char *s = spec;
    for (;;) {
        char *end;
        long lo, hi;
        if (parse_id(s, &end, &lo) != 0)
            goto syntax;
        hi = lo;
        if (*end == '-' && parse_id(end + 1, &end, &hi) != 0)
            goto syntax;
        if (hi < lo)
            goto syntax;
        for (long c = lo; c <= hi; c++) {
            if (c >= CPU_SETSIZE || !CPU_ISSET((int)c, &allowed)) {
                snprintf(err, errcap, "--cpus %s: CPU %ld does not exist or is not allowed; allowed CPUs: %s",
                         spec, c, allowed_text);
                return -1;
            }
            CPU_SET((int)c, &out->set);
        }
        if (*end == '\0')
            break;
        if (*end != ',')
            goto syntax;
        s = end + 1;
    }
    if (run_cpus_format(&out->set, false, out->requested, sizeof out->requested) < 0)
        goto syntax;
    return 0;

syntax:
    snprintf(err, errcap, "--cpus %s: expected 1, all, or a list of CPU ids like 0,1 or 0-1; allowed CPUs: %s",
             spec, allowed_text);
    return -1;
}

int run_cpus_pin_self(const struct run_cpus *c)
{
    /* pid 0: the calling thread, not the whole process. */
    return sched_setaffinity(0, sizeof c->set, &c->set) == 0 ? 0 : errno;
}

int run_cpus_current(cpu_set_t *out)
{
    CPU_ZERO(out);
    return sched_getaffinity(0, sizeof *out, out) == 0 ? 0 : errno;
}
