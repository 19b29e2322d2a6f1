/* counter/fixed_atomic.c — the same counter as one atomic read-modify-write. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include "../lab.h"

enum { THREADS = 2, ADDS = 20000 };

static atomic_long counter; /* atomic: no lock needed */
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

__attribute__((noinline)) static void add_one(void)
{
    /* Relaxed is enough: the add itself is indivisible, and nobody reads the
     * total until after pthread_join, which orders every add before the read. */
    atomic_fetch_add_explicit(&counter, 1, memory_order_relaxed);
}

static void *adder(void *arg)
{
    (void)arg;
    BARRIER_WAIT(&start_line);
    for (int i = 0; i < ADDS; i++)
        add_one();
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    PT_CHECK(pthread_barrier_init(&start_line, NULL, THREADS));
    for (int i = 0; i < THREADS; i++)
        PT_CHECK(pthread_create(&t[i], NULL, adder, NULL));
    for (int i = 0; i < THREADS; i++)
        PT_CHECK(pthread_join(t[i], NULL));
    PT_CHECK(pthread_barrier_destroy(&start_line));
    long got = atomic_load_explicit(&counter, memory_order_relaxed); /* after join: relaxed is enough */
    long want = (long)THREADS * ADDS;
    return lab_verdict(got == want, "counter = %ld, expected %ld", got, want);
}
