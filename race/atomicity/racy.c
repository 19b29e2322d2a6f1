/* atomicity/racy.c — every access to the balance is inside the lock, yet two
 * customers each withdraw 80 from an account of 100. The check ("is there
 * enough?") and the act ("take it") are two separate critical sections, and the
 * other customer's withdrawal fits between them. No data race exists, so
 * ThreadSanitizer is silent: the bug is in the atomicity, not in the accesses.
 * A barrier fixes the schedule (both check before either acts), so the outcome is
 * the same on every run. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { START = 100, AMOUNT = 80, CUSTOMERS = 2 };

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long balance = START;           /* protected by lock */
static pthread_barrier_t both_checked; /* fixes the schedule */

static long get_balance(void)
{
    PT_CHECK(pthread_mutex_lock(&lock));
    long b = balance;
    PT_CHECK(pthread_mutex_unlock(&lock));
    return b;
}

static void withdraw(long amount)
{
    PT_CHECK(pthread_mutex_lock(&lock));
    balance -= amount;
    PT_CHECK(pthread_mutex_unlock(&lock));
}

static void *customer(void *arg)
{
    int *paid = arg; /* this customer's own flag */
    int enough = get_balance() >= AMOUNT; /* BUG: the check, in one critical section... */
    int rc = pthread_barrier_wait(&both_checked);
    if (rc != 0 && rc != PTHREAD_BARRIER_SERIAL_THREAD)
        PT_CHECK(rc);
    if (enough) {
        withdraw(AMOUNT); /* BUG: ...the act, in another: the check may be stale by now */
        *paid = 1;
    }
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
