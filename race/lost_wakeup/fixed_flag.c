/* lost_wakeup/fixed_flag.c — the same hand-off with a `done` flag next to the
 * condition variable. The flag remembers what the signal only announces: main
 * looks at it first and waits only while it is still false. Same schedule as
 * racy_noflag.c: the signal still comes first, and nothing is lost. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <semaphore.h>
#include "../lab.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cv = PTHREAD_COND_INITIALIZER; /* signalled when done becomes 1 */
static int done;        /* protected by lock */
static int answer;      /* protected by lock */
static sem_t signalled; /* fixes the schedule: posted after the worker's signal */

static void *worker(void *arg)
{
    (void)arg;
    PT_CHECK(pthread_mutex_lock(&lock));
    answer = 42;
    done = 1;
    PT_CHECK(pthread_cond_signal(&done_cv));
    PT_CHECK(pthread_mutex_unlock(&lock));
    SYS_CHECK(sem_post(&signalled));
    return NULL;
}

int main(void)
{
    pthread_t t;
    SYS_CHECK(sem_init(&signalled, 0, 0));
    PT_CHECK(pthread_create(&t, NULL, worker, NULL));
    SYS_CHECK(sem_wait(&signalled));
    PT_CHECK(pthread_mutex_lock(&lock));
    while (!done) /* the flag, not the signal, is the truth */
        PT_CHECK(pthread_cond_wait(&done_cv, &lock));
    int got = answer;
    PT_CHECK(pthread_mutex_unlock(&lock));
    PT_CHECK(pthread_join(t, NULL));
    SYS_CHECK(sem_destroy(&signalled));
    return lab_verdict(got == 42, "answer = %d, expected 42", got);
}
