/*
 * stats.c — summing and summarising a run's measurements.
 */
#include "runner/stats.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void run_stats_sum(const struct run_thread_stats *t, int n, struct run_thread_stats *sum)
{
    memset(sum, 0, sizeof *sum);
    for (int i = 0; i < n; i++) {
        gil_stats_add(&sum->gil, &t[i].gil);
        vm_stats_add(&sum->vm, &t[i].vm);
        sum->ctx_voluntary += t[i].ctx_voluntary;
        sum->ctx_involuntary += t[i].ctx_involuntary;
        sum->user_s += t[i].user_s;
        sum->sys_s += t[i].sys_s;
        if (t[i].wall_s > sum->wall_s)
            sum->wall_s = t[i].wall_s;
    }
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest rank: the smallest sample with at least p% of samples <= it. */
static int64_t rank(const int64_t *sorted, size_t n, unsigned p)
{
    size_t k = (n * p + 99) / 100;   /* ceil(n * p / 100) */
    return sorted[k == 0 ? 0 : k - 1];
}

int run_latency_summary(const int64_t *lat_us, size_t n, struct run_latency *out)
{
    if (n == 0)
        return EINVAL;
    int64_t *s = malloc(n * sizeof *s);
    if (!s)
        return ENOMEM;
    memcpy(s, lat_us, n * sizeof *s);
    qsort(s, n, sizeof *s, cmp_i64);
    out->n = n;
    out->p50_us = rank(s, n, 50);
    out->p90_us = rank(s, n, 90);
    out->p99_us = rank(s, n, 99);
    out->max_us = s[n - 1];
    free(s);
    return 0;
}

int run_parse_int_list(const char *repr, int64_t **out, size_t *n)
{
    size_t cap = 0, len = 0;
    int64_t *v = NULL;
    const char *p = repr;
    while (*p == ' ')
        p++;
    if (*p++ != '[')
        return EINVAL;
    while (*p == ' ')
        p++;
    if (*p != ']') {
        for (;;) {
            char *end;
            if (!(*p == '-' || (*p >= '0' && *p <= '9')))
                goto bad;
            errno = 0;
            long long x = strtoll(p, &end, 10);
            if (errno || end == p)
                goto bad;
            if (len == cap) {
                size_t ncap = cap ? cap * 2 : 64;
                int64_t *nv = realloc(v, ncap * sizeof *nv);
                if (!nv) {
                    free(v);
                    return ENOMEM;
                }
                v = nv;
                cap = ncap;
            }
            v[len++] = x;
            p = end;
            while (*p == ' ')
                p++;
            if (*p == ']')
                break;
            if (*p++ != ',')
                goto bad;
            while (*p == ' ')
                p++;
        }
    }
    p++;   /* the ']' */
    while (*p == ' ' || *p == '\n')
        p++;
    if (*p)
        goto bad;
    *out = v;
    *n = len;
    return 0;
bad:
    free(v);
    return EINVAL;
}
