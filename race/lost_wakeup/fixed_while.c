/* lost_wakeup/fixed_while.c — the same consumers, waiting in a `while` loop on the
 * predicate. A consumer that wakes to find the item gone goes back to sleep, and
 * takes the second item when it comes. The schedule is the same as racy_if.c. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { CONSUMERS = 2 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonempty = PTHREAD_COND_INITIALIZER; /* items went up */
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;  /* waiting or woken went up */
static int items;       /* protected by lock */
static int waiting;     /* protected by lock: times a consumer went to sleep */
static int woken;       /* protected by lock: returns from pthread_cond_wait */
static int taken;       /* protected by lock */
static int empty_takes; /* protected by lock: takes that found nothing; must stay 0 */

static void *consumer(void *arg)
{
    (void)arg;
    PT_CHECK(pthread_mutex_lock(&lock));
    while (items == 0) { /* look again after every wake-up: someone may have been first */
        waiting++;
        PT_CHECK(pthread_cond_broadcast(&changed));
        PT_CHECK(pthread_cond_wait(&nonempty, &lock));
        woken++;
        PT_CHECK(pthread_cond_broadcast(&changed));
    }
    if (items == 0) {
        empty_takes++;
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
    while (waiting < CONSUMERS)
        PT_CHECK(pthread_cond_wait(&changed, &lock));
    items = 1;
    PT_CHECK(pthread_cond_broadcast(&nonempty));
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
