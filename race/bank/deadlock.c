/* bank/deadlock.c — one mutex per account, locked in the order of the arguments.
 * alice->bob takes alice then bob; bob->alice takes bob then alice. Run at the same
 * time, each can hold its first lock and wait forever for the other's. Here the two
 * directions run one after another, so the program never hangs, yet ThreadSanitizer
 * still sees both orders and reports the cycle: the deadlock is possible, not luck. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { START = 1000, TRANSFERS = 1000 };

struct account {
    pthread_mutex_t lock;
    long balance; /* protected by lock */
};

static struct account alice = {PTHREAD_MUTEX_INITIALIZER, START};
static struct account bob = {PTHREAD_MUTEX_INITIALIZER, START};

static void transfer(struct account *from, struct account *to, long amount)
{
    PT_CHECK(pthread_mutex_lock(&from->lock)); /* DEADLOCK: first lock, chosen by the caller */
    PT_CHECK(pthread_mutex_lock(&to->lock));   /* DEADLOCK: second lock, taken while holding the first */
    from->balance -= amount;
    to->balance += amount;
    PT_CHECK(pthread_mutex_unlock(&to->lock));
    PT_CHECK(pthread_mutex_unlock(&from->lock));
}

static void *alice_pays_bob(void *arg)
{
    (void)arg;
    for (int i = 0; i < TRANSFERS; i++)
        transfer(&alice, &bob, 1);
    return NULL;
}

static void *bob_pays_alice(void *arg)
{
    (void)arg;
    for (int i = 0; i < TRANSFERS; i++)
        transfer(&bob, &alice, 1);
    return NULL;
}

int main(void)
{
    pthread_t t;
    /* One direction at a time: the inversion is recorded, the deadlock cannot happen. */
    PT_CHECK(pthread_create(&t, NULL, alice_pays_bob, NULL));
    PT_CHECK(pthread_join(t, NULL));
    PT_CHECK(pthread_create(&t, NULL, bob_pays_alice, NULL));
    PT_CHECK(pthread_join(t, NULL));
    return lab_verdict(alice.balance == START && bob.balance == START,
                       "alice = %ld, bob = %ld, expected %d each", alice.balance, bob.balance, START);
}
