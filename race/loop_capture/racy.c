/* loop_capture/racy.c — each thread is handed &i, the address of main's loop
 * counter, instead of its value. By the time a thread reads *arg, main may have
 * moved i on: two threads get the same id and one id gets none. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { THREADS = 4 };

static void *worker(void *arg)
{
    int id = *(int *)arg; /* RACE: reads main's i while main keeps changing it */
    return (void *)(long)id;
}

int main(void)
{
    pthread_t t[THREADS];
    int i; /* shared with every worker through its address: protected by nothing */
    for (i = 0; i < THREADS; i++) /* RACE: i++ while workers may still read i */
        PT_CHECK(pthread_create(&t[i], NULL, worker, &i));
    int count[THREADS + 1] = {0};
    for (int k = 0; k < THREADS; k++) {
        void *id;
        PT_CHECK(pthread_join(t[k], &id));
        long n = (long)id;
        count[n >= 0 && n < THREADS ? n : THREADS]++;
    }
    int distinct = 0;
    for (int k = 0; k < THREADS; k++)
        distinct += count[k] == 1;
    return lab_verdict(distinct == THREADS, "%d of %d ids were seen exactly once", distinct, THREADS);
}
