/* counter/racy.c — two threads add to one counter without a lock: updates get lost. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { THREADS = 2, ADDS = 20000 };

static long counter; /* protected by nothing, on purpose: this is the race */
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

/* Not inlined, so the compiler cannot fold the loop into one "counter += ADDS". */
__attribute__((noinline)) static void add_one(void)
{
    counter = counter + 1; /* RACE: load, add, store; another store can land in between */
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
    /* After the joins every add happens-before this read: no race here. */
    long want = (long)THREADS * ADDS;
    return lab_verdict(counter == want, "counter = %ld, expected %ld", counter, want);
}
