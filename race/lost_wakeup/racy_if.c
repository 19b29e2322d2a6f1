/* lost_wakeup/racy_if.c — a consumer waits with `if` instead of `while`. One item,
 * two sleeping consumers, one broadcast: both wake, the first takes the item, and
 * the second goes on as if the buffer were still full. Every access is under the
 * lock, so ThreadSanitizer has nothing to say; the program's own count catches it. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { CONSUMERS = 2 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonempty = PTHREAD_COND_INITIALIZER; /* items went up */
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;  /* waiting or woken went up */
static int items;       /* protected by lock */
static int waiting;     /* protected by lock: consumers that went to sleep */
static int woken;       /* protected by lock: returns from pthread_cond_wait */
static int taken;       /* protected by lock */
static int empty_takes; /* protected by lock: takes that found nothing; must stay 0 */

static void *consumer(void *arg)
{
    (void)arg;
    PT_CHECK(pthread_mutex_lock(&lock));
    if (items == 0) { /* BUG: `if`: after waking up nobody looks at items again */
        waiting++;
        PT_CHECK(pthread_cond_broadcast(&changed));
        PT_CHECK(pthread_cond_wait(&nonempty, &lock));
        woken++;
        PT_CHECK(pthread_cond_broadcast(&changed));
    }
    if (items == 0) {
        empty_takes++; /* a real buffer would read a slot that holds nothing */
    } else {
        items--;
        taken++;
    }
    PT_CHECK(pthread_mutex_unlock(&lock));
    return NULL;
}

int main(void)
{
    pthread_t c[CONSUMERS];
    for (int i = 0; i < CONSUMERS; i++)
        PT_CHECK(pthread_create(&c[i], NULL, consumer, NULL));
    PT_CHECK(pthread_mutex_lock(&lock));
    /* The schedule is fixed, not left to luck: produce only once both sleep... */
    while (waiting < CONSUMERS)
        PT_CHECK(pthread_cond_wait(&changed, &lock));
    items = 1;
    PT_CHECK(pthread_cond_broadcast(&nonempty));
    /* ...and the second item only after both have come back from their wait. */
    while (woken < CONSUMERS)
        PT_CHECK(pthread_cond_wait(&changed, &lock));
    items++;
    PT_CHECK(pthread_cond_broadcast(&nonempty));
    PT_CHECK(pthread_mutex_unlock(&lock));
    for (int i = 0; i < CONSUMERS; i++)
        PT_CHECK(pthread_join(c[i], NULL));
    return lab_verdict(empty_takes == 0 && taken == 2 && items == 0,
                       "takes from an empty buffer = %d, items taken = %d, items left = %d "
                       "(expected 0, 2, 0)", empty_takes, taken, items);
}
