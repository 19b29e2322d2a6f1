/* rwlock/racy.c — readers and a writer share a struct with no lock. The writer
 * keeps x + y == 0 by moving one unit from y to x; a reader that looks between the
 * two stores sees a torn pair, x + y != 0. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { READERS = 2, UPDATES = 20000, READS = 20000 };

struct point {
    long x, y; /* protected by nothing, on purpose: invariant x + y == 0 */
};

static struct point shared;
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

/* Not inlined, so the compiler cannot fold the writer's loop into two big adds. */
__attribute__((noinline)) static void move_one(void)
{
    shared.x += 1; /* RACE: readers may look right now, between the two stores */
    shared.y -= 1; /* RACE */
}

static void *writer(void *arg)
{
    (void)arg;
    BARRIER_WAIT(&start_line);
    for (int i = 0; i < UPDATES; i++)
        move_one();
    return NULL;
}

__attribute__((noinline)) static long read_sum(void)
{
    long x = shared.x; /* RACE: may see the x of one update... */
    long y = shared.y; /* RACE: ...and the y of another */
    return x + y;
}

static void *reader(void *arg)
{
    long *torn = arg; /* this reader's own count: no sharing */
    BARRIER_WAIT(&start_line);
    for (int i = 0; i < READS; i++)
        if (read_sum() != 0)
            (*torn)++;
    return NULL;
}

int main(void)
{
    pthread_t w, r[READERS];
    long torn[READERS] = {0};
    PT_CHECK(pthread_barrier_init(&start_line, NULL, READERS + 1));
    for (int i = 0; i < READERS; i++)
        PT_CHECK(pthread_create(&r[i], NULL, reader, &torn[i]));
    PT_CHECK(pthread_create(&w, NULL, writer, NULL));
    PT_CHECK(pthread_join(w, NULL));
    long total = 0;
    for (int i = 0; i < READERS; i++) {
        PT_CHECK(pthread_join(r[i], NULL));
        total += torn[i];
    }
    PT_CHECK(pthread_barrier_destroy(&start_line));
    return lab_verdict(total == 0 && shared.x == UPDATES && shared.x + shared.y == 0,
                       "torn reads = %ld (expected 0), x = %ld, y = %ld", total, shared.x, shared.y);
}
