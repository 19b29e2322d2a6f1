/* lost_wakeup/racy_noflag.c — a signal with no flag beside it. The worker signals
 * "done" before main starts to wait; a condition variable keeps no memory of a
 * signal nobody was waiting for, so main sleeps forever. There is no data race
 * (everything is under the lock), so ThreadSanitizer stays silent: the program
 * simply never ends, and only a time limit notices. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <semaphore.h>
#include "../lab.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER;
static int answer;      /* protected by lock */
static sem_t signalled; /* fixes the schedule: posted after the worker's signal */

static void *worker(void *arg)
{
    (void)arg;
    PT_CHECK(pthread_mutex_lock(&lock));
    answer = 42;
    PT_CHECK(pthread_cond_signal(&done_cv)); /* nobody waits yet: this signal is lost */
    PT_CHECK(pthread_mutex_unlock(&lock));
    SYS_CHECK(sem_post(&signalled));
    return NULL;
}

int main(void)
{
    pthread_t t;
    SYS_CHECK(sem_init(&signalled, 0, 0));
    PT_CHECK(pthread_create(&t, NULL, worker, NULL));
    SYS_CHECK(sem_wait(&signalled)); /* stands for "main was busy elsewhere for a while" */
    PT_CHECK(pthread_mutex_lock(&lock));
    PT_CHECK(pthread_cond_wait(&done_cv, &lock)); /* BUG: no predicate: waits for a signal already gone */
    int got = answer;
    PT_CHECK(pthread_mutex_unlock(&lock));
    PT_CHECK(pthread_join(t, NULL));
    SYS_CHECK(sem_destroy(&signalled));
    return lab_verdict(got == 42, "answer = %d, expected 42", got);
}
