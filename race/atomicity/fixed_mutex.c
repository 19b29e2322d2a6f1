/* atomicity/fixed_mutex.c — the check and the act in one critical section: no
 * other withdrawal can fall between them, so the second customer sees the
 * balance after the first one's withdrawal and is refused. Same schedule. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { START = 100, AMOUNT = 80, CUSTOMERS = 2 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long balance = START;           /* protected by lock */
static pthread_barrier_t both_checked; /* same schedule as racy.c */

/* Returns 1 and takes the money if there is enough, else 0: all under one lock. */
static int try_withdraw(long amount)
{
    PT_CHECK(pthread_mutex_lock(&lock));
    int enough = balance >= amount;
    if (enough)
        balance -= amount;
    PT_CHECK(pthread_mutex_unlock(&lock));
    return enough;
}

static void *customer(void *arg)
{
    int *paid = arg; /* this customer's own flag */
    *paid = try_withdraw(AMOUNT);
    int rc = pthread_barrier_wait(&both_checked);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        PT_CHECK(rc);
    return NULL;
}

int main(void)
{
    pthread_t t[CUSTOMERS];
    int paid[CUSTOMERS] = {0};
    PT_CHECK(pthread_barrier_init(&both_checked, NULL, CUSTOMERS));
    for (int i = 0; i < CUSTOMERS; i++)
        PT_CHECK(pthread_create(&t[i], NULL, customer, &paid[i]));
    int payouts = 0;
    for (int i = 0; i < CUSTOMERS; i++) {
        PT_CHECK(pthread_join(t[i], NULL));
        payouts += paid[i];
    }
    PT_CHECK(pthread_barrier_destroy(&both_checked));
    return lab_verdict(balance >= 0 && payouts == 1,
                       "balance = %ld, payouts = %d (expected >= 0 and exactly 1)", balance, payouts);
}
