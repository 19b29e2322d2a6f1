/* prodcons/racy.c — the same bounded buffer without its mutex. The semaphores still
 * count right, but two producers (or two consumers) can be inside put (take) at
 * once: both write the same slot, or both read it, and an item is lost or doubled. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <semaphore.h>
#include "../lab.h"

enum { SLOTS = 4, PRODUCERS = 2, CONSUMERS = 2, ITEMS = 500 /* per producer */ };

static sem_t free_slots; /* counts empty slots: starts at SLOTS */
static sem_t full_slots; /* counts filled slots: starts at 0 */
static int ring[SLOTS];  /* protected by nothing, on purpose: this is the race */
static int in, out;      /* protected by nothing, on purpose */
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

static void put(int v)
{
    SYS_CHECK(sem_wait(&free_slots));
    ring[in] = v;          /* RACE: another producer may pick the same slot */
    in = (in + 1) % SLOTS; /* RACE: read-modify-write of the shared index */
    SYS_CHECK(sem_post(&full_slots));
}

static int take(void)
{
    SYS_CHECK(sem_wait(&full_slots));
    int v = ring[out];       /* RACE: another consumer may read the same slot */
    out = (out + 1) % SLOTS; /* RACE: read-modify-write of the shared index */
    SYS_CHECK(sem_post(&free_slots));
    return v;
}

static void *producer(void *arg)
{
    (void)arg;
    BARRIER_WAIT(&start_line);
    for (int i = 1; i <= ITEMS; i++)
        put(i);
    return NULL;
}

static void *consumer(void *arg)
{
    long *sum = arg; /* this consumer's own total: no sharing */
    BARRIER_WAIT(&start_line);
    for (int i = 0; i < PRODUCERS * ITEMS / CONSUMERS; i++)
        *sum += take();
    return NULL;
}

int main(void)
{
    pthread_t p[PRODUCERS], c[CONSUMERS];
    long sums[CONSUMERS] = {0};
    SYS_CHECK(sem_init(&free_slots, 0, SLOTS));
    SYS_CHECK(sem_init(&full_slots, 0, 0));
    PT_CHECK(pthread_barrier_init(&start_line, NULL, PRODUCERS + CONSUMERS));
    for (int i = 0; i < CONSUMERS; i++)
        PT_CHECK(pthread_create(&c[i], NULL, consumer, &sums[i]));
    for (int i = 0; i < PRODUCERS; i++)
        PT_CHECK(pthread_create(&p[i], NULL, producer, NULL));
    for (int i = 0; i < PRODUCERS; i++)
        PT_CHECK(pthread_join(p[i], NULL));
    for (int i = 0; i < CONSUMERS; i++)
        PT_CHECK(pthread_join(c[i], NULL));
    long total = 0, want = (long)PRODUCERS * ITEMS * (ITEMS + 1) / 2;
    for (int i = 0; i < CONSUMERS; i++)
        total += sums[i];
    SYS_CHECK(sem_destroy(&free_slots));
    SYS_CHECK(sem_destroy(&full_slots));
    PT_CHECK(pthread_barrier_destroy(&start_line));
    return lab_verdict(total == want, "consumed sum = %ld, expected %ld", total, want);
}
