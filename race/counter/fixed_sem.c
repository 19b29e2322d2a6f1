/* counter/fixed_sem.c — the same counter, guarded by a semaphore used as a lock. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <semaphore.h>
#include "../lab.h"

enum { THREADS = 2, ADDS = 20000 };

/* A binary semaphore: initial count 1 lets exactly one adder in at a time.
 * sem_post happens-before the sem_wait that takes the token, so each add sees
 * the previous one's store. */
static sem_t token;
static long counter; /* protected by token */
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

__attribute__((noinline)) static void add_one(void)
{
    SYS_CHECK(sem_wait(&token));
    counter = counter + 1;
    SYS_CHECK(sem_post(&token));
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
    SYS_CHECK(sem_init(&token, 0, 1));
    for (int i = 0; i < THREADS; i++)
        PT_CHECK(pthread_create(&t[i], NULL, adder, NULL));
    for (int i = 0; i < THREADS; i++)
        PT_CHECK(pthread_join(t[i], NULL));
    PT_CHECK(pthread_barrier_destroy(&start_line));
    SYS_CHECK(sem_destroy(&token));
    long want = (long)THREADS * ADDS;
    return lab_verdict(counter == want, "counter = %ld, expected %ld", counter, want);
}
