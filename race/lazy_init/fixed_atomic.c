/* lazy_init/fixed_atomic.c — double-checked locking done right: the pointer is an
 * atomic, published with a release store and read with an acquire load. A reader
 * that sees the pointer also sees every store made before it was published. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdatomic.h>
#include "../lab.h"

enum { THREADS = 4 };

struct config {
    int size;
    int ready;
};

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER; /* serialises the builders */
static _Atomic(struct config *) instance; /* atomic; the object behind it is immutable once published */

static struct config *get_config(void)
{
    /* Acquire pairs with the release below: seeing the pointer means seeing the fields. */
    struct config *c = atomic_load_explicit(&instance, memory_order_acquire);
    if (c == NULL) {
        PT_CHECK(pthread_mutex_lock(&init_lock));
        /* Relaxed is enough here: init_lock orders this load after any earlier
         * builder's store, because that builder stored before unlocking. */
        c = atomic_load_explicit(&instance, memory_order_relaxed);
        if (c == NULL) {
            c = malloc(sizeof *c);
            if (c == NULL)
                abort();
            c->size = 42;
            c->ready = 1;
            /* Release: the two field stores above happen-before any acquire load
             * that reads this pointer. */
            atomic_store_explicit(&instance, c, memory_order_release);
        }
        PT_CHECK(pthread_mutex_unlock(&init_lock));
    }
    return c;
}

static void *user(void *arg)
{
    struct config **seen = arg;
    struct config *c = get_config();
    *seen = c->ready && c->size == 42 ? c : NULL;
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    struct config *seen[THREADS];
    for (int i = 0; i < THREADS; i++)
        PT_CHECK(pthread_create(&t[i], NULL, user, &seen[i]));
    for (int i = 0; i < THREADS; i++)
        PT_CHECK(pthread_join(t[i], NULL));
    /* After the joins: relaxed is enough. */
    struct config *final = atomic_load_explicit(&instance, memory_order_relaxed);
    int good = 0;
    for (int i = 0; i < THREADS; i++)
        good += seen[i] != NULL && seen[i] == final;
    free(final);
    return lab_verdict(good == THREADS, "%d of %d threads saw one complete config", good, THREADS);
}
