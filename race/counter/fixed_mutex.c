/* counter/fixed_mutex.c — the same counter, each add inside one mutex. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { THREADS = 2, ADDS = 20000 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long counter; /* protected by lock */
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

__attribute__((noinline)) static void add_one(void)
{
    PT_CHECK(pthread_mutex_lock(&lock));
    counter = counter + 1; /* load, add, store now happen with no other adder inside */
    PT_CHECK(pthread_mutex_unlock(&lock));
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
    long want = (long)THREADS * ADDS;
    return lab_verdict(counter == want, "counter = %ld, expected %ld", counter, want);
}
