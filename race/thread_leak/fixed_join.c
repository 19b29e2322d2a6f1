/* thread_leak/fixed_join.c — the same worker, joined: pthread_join waits for the
 * thread to end and frees what it held (a detached thread would free itself). */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <semaphore.h>
#include "../lab.h"

static long answer; /* written before the post of done; read after the wait */
static sem_t done;

static void *worker(void *arg)
{
    (void)arg;
    answer = 42;
    SYS_CHECK(sem_post(&done));
    return NULL;
}

int main(void)
{
    pthread_t t;
    SYS_CHECK(sem_init(&done, 0, 0));
    PT_CHECK(pthread_create(&t, NULL, worker, NULL));
    SYS_CHECK(sem_wait(&done));
    PT_CHECK(pthread_join(t, NULL)); /* reclaims the thread */
    SYS_CHECK(sem_destroy(&done));
    return lab_verdict(answer == 42, "answer = %ld, expected 42", answer);
}
