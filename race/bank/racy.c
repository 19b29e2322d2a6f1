/* bank/racy.c — transfers between two accounts with no lock: money appears and vanishes. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { START = 1000, TRANSFERS = 20000 };

struct account {
    long balance; /* protected by nothing, on purpose: this is the race */
};

static struct account alice = {START}, bob = {START};
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

__attribute__((noinline)) static void transfer(struct account *from, struct account *to, long amount)
{
    from->balance -= amount; /* RACE: the other thread may be updating the same balance */
    to->balance += amount;   /* RACE: same, on the other account */
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
    PT_CHECK(pthread_create(&a, NULL, alice_pays_bob, NULL));
    PT_CHECK(pthread_create(&b, NULL, bob_pays_alice, NULL));
    PT_CHECK(pthread_join(a, NULL));
    PT_CHECK(pthread_join(b, NULL));
    PT_CHECK(pthread_barrier_destroy(&start_line));
    /* Each paid the other the same amount: both balances must be back at START. */
    return lab_verdict(alice.balance == START && bob.balance == START,
                       "alice = %ld, bob = %ld, expected %d each (total %ld of %d)",
                       alice.balance, bob.balance, START, alice.balance + bob.balance, 2 * START);
}
