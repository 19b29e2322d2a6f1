/* lazy_init/fixed_once.c — lazy initialisation with pthread_once. The library
 * runs init exactly once, and every pthread_once return happens-after init's
 * stores, so every user sees the finished object. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { THREADS = 4 };

struct config {
    int size;
    int ready;
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct config *instance; /* written once inside init; read after pthread_once */

static void init(void)
{
    struct config *c = malloc(sizeof *c);
    if (c == NULL)
        abort();
    c->size = 42;
    c->ready = 1;
    instance = c;
}

static struct config *get_config(void)
{
    PT_CHECK(pthread_once(&once, init));
    return instance;
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
    int good = 0;
    for (int i = 0; i < THREADS; i++)
        good += seen[i] != NULL && seen[i] == instance;
    free(instance);
    return lab_verdict(good == THREADS, "%d of %d threads saw one complete config", good, THREADS);
}
