/* lazy_init/racy.c — double-checked locking with a plain pointer. The first check
 * reads `instance` without the lock, so it can see the pointer stored by another
 * thread with no ordering to the stores that filled the object in: a reader may
 * find a pointer to a half-built config. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { THREADS = 4 };

struct config {
    int size;
    int ready;
};

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static struct config *instance; /* written under init_lock, read without it: the race */

static struct config *get_config(void)
{
    if (instance == NULL) { /* RACE: unlocked read of the pointer */
        PT_CHECK(pthread_mutex_lock(&init_lock));
        if (instance == NULL) {
            struct config *c = malloc(sizeof *c); /* RACE: TSan counts the allocation as a write */
            if (c == NULL)
                abort();
            c->size = 42;  /* RACE: filled in with no ordering to the readers */
            c->ready = 1;  /* RACE: same */
            instance = c;  /* RACE: published with a plain store */
        }
        PT_CHECK(pthread_mutex_unlock(&init_lock));
    }
    return instance; /* RACE: unlocked read again */
}

static void *user(void *arg)
{
    struct config **seen = arg;
    struct config *c = get_config();
    *seen = c->ready && c->size == 42 ? c : NULL; /* RACE: reads the fields */
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
    int good = 0;
    for (int i = 0; i < THREADS; i++)
        good += seen[i] != NULL && seen[i] == instance;
    free(instance);
    return lab_verdict(good == THREADS, "%d of %d threads saw one complete config", good, THREADS);
}
