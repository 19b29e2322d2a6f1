/* barrier/fixed_sem.c — the two phases separated by a rendezvous made of two
 * semaphores: each partner announces "I have arrived" on its own semaphore, then
 * waits for the other's. The sem_post after the write happens-before the sem_wait
 * that lets the partner read, so phase 2 always sees phase 1. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <semaphore.h>
#include "../lab.h"

enum { PARTNERS = 2 };

static sem_t arrived[PARTNERS]; /* arrived[i] is posted once partner i finished phase 1 */
static long slot[PARTNERS];     /* slot[i] written by partner i before its post; read after the wait */
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

static void *partner(void *arg)
{
    long me = (long)arg, other = 1 - me;
    BARRIER_WAIT(&start_line);
    slot[me] = 100 + me;
    SYS_CHECK(sem_post(&arrived[me]));    /* "I am here" (post first, or both would wait forever) */
    SYS_CHECK(sem_wait(&arrived[other])); /* "...and so are you" */
    long seen = slot[other];
    return (void *)(long)(seen == 100 + other);
}

int main(void)
{
    pthread_t t[PARTNERS];
    int good = 0;
    PT_CHECK(pthread_barrier_init(&start_line, NULL, PARTNERS));
    for (int i = 0; i < PARTNERS; i++)
        SYS_CHECK(sem_init(&arrived[i], 0, 0));
    for (long i = 0; i < PARTNERS; i++)
        PT_CHECK(pthread_create(&t[i], NULL, partner, (void *)i));
    for (int i = 0; i < PARTNERS; i++) {
        void *ok;
        PT_CHECK(pthread_join(t[i], &ok));
        good += ok != NULL;
    }
    PT_CHECK(pthread_barrier_destroy(&start_line));
    for (int i = 0; i < PARTNERS; i++)
        SYS_CHECK(sem_destroy(&arrived[i]));
    return lab_verdict(good == PARTNERS, "%d of %d partners saw the other's phase-1 value",
                       good, PARTNERS);
}
