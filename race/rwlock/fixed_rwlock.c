/* rwlock/fixed_rwlock.c — the same struct behind a pthread_rwlock: readers share
 * the read lock with each other, the writer holds the write lock alone, so no
 * reader can look between the writer's two stores. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { READERS = 2, UPDATES = 20000, READS = 20000 };

struct point {
    long x, y; /* protected by rw; invariant x + y == 0 outside the write lock */
};

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static struct point shared;
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

static void move_one(void)
{
    PT_CHECK(pthread_rwlock_wrlock(&rw));
    shared.x += 1;
    shared.y -= 1;
    PT_CHECK(pthread_rwlock_unlock(&rw));
}

static void *writer(void *arg)
{
    (void)arg;
    BARRIER_WAIT(&start_line);
    for (int i = 0; i < UPDATES; i++)
        move_one();
    return NULL;
}

static long read_sum(void)
{
    PT_CHECK(pthread_rwlock_rdlock(&rw));
    long x = shared.x;
    long y = shared.y;
    PT_CHECK(pthread_rwlock_unlock(&rw));
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
