/* publish/fixed_atomic.c — the same hand-off with a release store of the flag and
 * an acquire load that reads it: everything the writer did before the release
 * happens-before everything the reader does after the acquire that saw it. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include "../lab.h"

static long payload[4]; /* written before ready is released; read after it is acquired */
static atomic_int ready; /* release/acquire: publishes payload */

static void *writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4; i++)
        payload[i] = 10 * (i + 1);
    /* Release: the payload stores above become visible to whoever acquires 1. */
    atomic_store_explicit(&ready, 1, memory_order_release);
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    /* Acquire: pairs with the writer's release, so the loads below see the payload. */
    while (!atomic_load_explicit(&ready, memory_order_acquire))
        sched_yield();
    long sum = 0;
    for (int i = 0; i < 4; i++)
        sum += payload[i];
    return (void *)sum;
}

int main(void)
{
    pthread_t w, r;
    PT_CHECK(pthread_create(&r, NULL, reader, NULL));
    PT_CHECK(pthread_create(&w, NULL, writer, NULL));
    void *sum;
    PT_CHECK(pthread_join(r, &sum));
    PT_CHECK(pthread_join(w, NULL));
    return lab_verdict((long)sum == 100, "reader summed %ld, expected 100", (long)sum);
}
