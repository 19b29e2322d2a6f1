/* barrier/fixed_barrier.c — the same rendezvous with pthread_barrier_wait, which
 * generalises the two semaphores to N threads: nobody leaves the barrier until
 * all have arrived, and every write before it happens-before every read after it. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { PARTNERS = 2 };

static pthread_barrier_t phase_end;
static long slot[PARTNERS]; /* slot[i] written by partner i before the barrier; read after it */
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

static void *partner(void *arg)
{
    long me = (long)arg, other = 1 - me;
    BARRIER_WAIT(&start_line);
    slot[me] = 100 + me;
    int rc = pthread_barrier_wait(&phase_end);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        PT_CHECK(rc);
    long seen = slot[other];
    return (void *)(long)(seen == 100 + other);
}

int main(void)
{
    pthread_t t[PARTNERS];
    int good = 0;
    PT_CHECK(pthread_barrier_init(&start_line, NULL, PARTNERS));
    PT_CHECK(pthread_barrier_init(&phase_end, NULL, PARTNERS));
    for (long i = 0; i < PARTNERS; i++)
        PT_CHECK(pthread_create(&t[i], NULL, partner, (void *)i));
    for (int i = 0; i < PARTNERS; i++) {
        void *ok;
        PT_CHECK(pthread_join(t[i], &ok));
        good += ok != NULL;
    }
    PT_CHECK(pthread_barrier_destroy(&start_line));
    PT_CHECK(pthread_barrier_destroy(&phase_end));
    return lab_verdict(good == PARTNERS, "%d of %d partners saw the other's phase-1 value",
                       good, PARTNERS);
}
