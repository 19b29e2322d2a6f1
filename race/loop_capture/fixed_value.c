/* loop_capture/fixed_value.c — each thread gets the address of its own slot,
 * written before pthread_create and never changed after: pthread_create
 * happens-before everything the new thread does, so the read is ordered. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { THREADS = 4 };

static void *worker(void *arg)
{
    int id = *(int *)arg;
    return (void *)(long)id;
}

int main(void)
{
    pthread_t t[THREADS];
    int ids[THREADS]; /* ids[i] written before thread i starts, read-only after */
    for (int i = 0; i < THREADS; i++) {
        ids[i] = i;
        PT_CHECK(pthread_create(&t[i], NULL, worker, &ids[i]));
    }
    int count[THREADS + 1] = {0};
    for (int i = 0; i < THREADS; i++) {
        void *id;
        PT_CHECK(pthread_join(t[i], &id));
        long n = (long)id;
        count[n >= 0 && n < THREADS ? n : THREADS]++;
    }
    int distinct = 0;
    for (int k = 0; k < THREADS; k++)
        distinct += count[k] == 1;
    return lab_verdict(distinct == THREADS, "%d of %d ids were seen exactly once", distinct, THREADS);
}
