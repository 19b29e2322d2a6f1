/* publish/racy.c — a writer fills in a payload, then raises an atomic flag with
 * memory_order_relaxed; a reader spins on the flag, then reads the payload. The
 * flag itself is race-free, but relaxed orders nothing else: seeing the flag does
 * not mean seeing the payload. x86 happens to keep stores in order; the C memory
 * model (and ARM or POWER hardware, and the optimiser) does not. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include "../lab.h"

static long payload[4]; /* protected by nothing, on purpose: "published" through ready */
static atomic_int ready; /* atomic, but relaxed: carries no happens-before */

static void *writer(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4; i++)
        payload[i] = 10 * (i + 1); /* RACE: nothing orders these stores before the flag */
    /* Relaxed is NOT enough here: that is the bug this exercise shows. */
    atomic_store_explicit(&ready, 1, memory_order_relaxed);
    return NULL;
}

static void *reader(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&ready, memory_order_relaxed)) /* relaxed: the bug's other half */
        sched_yield();
    long sum = 0;
    for (int i = 0; i < 4; i++)
        sum += payload[i]; /* RACE: may read a payload from before the writer's stores */
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
