/* unlock_nonowner/fixed_sem.c — the same signal with a semaphore, which has no
 * owner: any thread may post it, and the post happens-before the wait it ends. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <semaphore.h>
#include "../lab.h"

static sem_t ready; /* posted once by the worker when answer is set */
static long answer; /* written before the post; read after the wait */

static void *worker(void *arg)
{
    (void)arg;
    answer = 42;
    SYS_CHECK(sem_post(&ready));
    return NULL;
}

int main(void)
{
    pthread_t t;
    SYS_CHECK(sem_init(&ready, 0, 0));
    PT_CHECK(pthread_create(&t, NULL, worker, NULL));
    SYS_CHECK(sem_wait(&ready));
    long got = answer;
    PT_CHECK(pthread_join(t, NULL));
    SYS_CHECK(sem_destroy(&ready));
    return lab_verdict(got == 42, "answer = %ld, expected 42", got);
}
