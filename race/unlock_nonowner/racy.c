/* unlock_nonowner/racy.c — a mutex used as a signal: main locks it, and the worker
 * unlocks it to say "the answer is ready". POSIX says only the owner may unlock a
 * mutex; for a default mutex anything else is undefined. glibc lets it pass, so
 * the program seems to work, but an error-checking mutex would refuse (EPERM), a
 * robust or priority-inheritance mutex would break, and the next reader takes
 * it for a lock that protects something. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

static pthread_mutex_t ready = PTHREAD_MUTEX_INITIALIZER; /* misused: locked by main, unlocked by the worker */
static long answer; /* meant to be published by the unlock: to TSan, protected by nothing */

static void *worker(void *arg)
{
    (void)arg;
    answer = 42; /* RACE: TSan does not count a non-owner's unlock as a release */
    PT_CHECK(pthread_mutex_unlock(&ready)); /* MISUSE: unlocks a mutex this thread does not hold */
    return NULL;
}

int main(void)
{
    pthread_t t;
    PT_CHECK(pthread_mutex_lock(&ready));
    PT_CHECK(pthread_create(&t, NULL, worker, NULL));
    PT_CHECK(pthread_mutex_lock(&ready)); /* MISUSE: "wait for the signal": relocks its own mutex */
    long got = answer; /* RACE: so nothing orders this read after the worker's write */
    PT_CHECK(pthread_mutex_unlock(&ready));
    PT_CHECK(pthread_join(t, NULL));
    return lab_verdict(got == 42, "answer = %ld, expected 42", got);
}
