/* barrier/racy.c — two threads work in two phases: phase 1 writes your own slot,
 * phase 2 reads your partner's. With no rendezvous between the phases a thread
 * can read its partner's slot before the partner has written it. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { PARTNERS = 2 };

static long slot[PARTNERS]; /* protected by nothing, on purpose: this is the race */
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

static void *partner(void *arg)
{
    long me = (long)arg, other = 1 - me;
    BARRIER_WAIT(&start_line);
    slot[me] = 100 + me;      /* RACE: phase 1: the partner may already be reading */
    /* (the rendezvous is missing here) */
    long seen = slot[other];  /* RACE: phase 2: the partner may not have written yet */
    return (void *)(long)(seen == 100 + other);
}

int main(void)
{
    pthread_t t[PARTNERS];
    int good = 0;
    PT_CHECK(pthread_barrier_init(&start_line, NULL, PARTNERS));
    for (long i = 0; i < PARTNERS; i++)
        PT_CHECK(pthread_create(&t[i], NULL, partner, (void *)i));
    for (int i = 0; i < PARTNERS; i++) {
        void *ok;
        PT_CHECK(pthread_join(t[i], &ok));
        good += ok != NULL;
    }
    PT_CHECK(pthread_barrier_destroy(&start_line));
    return lab_verdict(good == PARTNERS, "%d of %d partners saw the other's phase-1 value",
                       good, PARTNERS);
}
