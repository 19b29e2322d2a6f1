/* bank/ordered.c — one mutex per account, always locked in one global order (by
 * account number), whatever the direction of the transfer. A cycle of waits needs
 * someone to hold a higher lock while waiting for a lower one; nobody ever does. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { START = 1000, TRANSFERS = 1000 };

struct account {
    int number; /* never written after start-up */
    pthread_mutex_t lock;
    long balance; /* protected by lock */
};

static struct account alice = {1, PTHREAD_MUTEX_INITIALIZER, START};
static struct account bob = {2, PTHREAD_MUTEX_INITIALIZER, START};
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

static void transfer(struct account *from, struct account *to, long amount)
{
    struct account *first = from->number < to->number ? from : to;
    struct account *second = first == from ? to : from;
    PT_CHECK(pthread_mutex_lock(&first->lock));
    PT_CHECK(pthread_mutex_lock(&second->lock));
    from->balance -= amount;
    to->balance += amount;
    PT_CHECK(pthread_mutex_unlock(&second->lock));
    PT_CHECK(pthread_mutex_unlock(&first->lock));
}

static void *alice_pays_bob(void *arg)
{
    (void)arg;
    BARRIER_WAIT(&start_line);
    for (int i = 0; i < TRANSFERS; i++)
        transfer(&alice, &bob, 1);
    return NULL;
}

static void *bob_pays_alice(void *arg)
{
    (void)arg;
    BARRIER_WAIT(&start_line);
    for (int i = 0; i < TRANSFERS; i++)
        transfer(&bob, &alice, 1);
    return NULL;
}

int main(void)
{
    pthread_t a, b;
    PT_CHECK(pthread_barrier_init(&start_line, NULL, 2));
    /* Both directions at once: with the ordering this can no longer deadlock. */
    PT_CHECK(pthread_create(&a, NULL, alice_pays_bob, NULL));
    PT_CHECK(pthread_create(&b, NULL, bob_pays_alice, NULL));
    PT_CHECK(pthread_join(a, NULL));
    PT_CHECK(pthread_join(b, NULL));
    PT_CHECK(pthread_barrier_destroy(&start_line));
    return lab_verdict(alice.balance == START && bob.balance == START,
                       "alice = %ld, bob = %ld, expected %d each", alice.balance, bob.balance, START);
}
