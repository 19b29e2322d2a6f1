/* uaf/fixed_join.c — the same job, freed by its owner only after pthread_join: the
 * join happens-after everything the worker did, so nobody can touch the job once
 * it is gone. Same schedule as racy.c, with the free moved after the join. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <semaphore.h>
#include "../lab.h"

struct job {
    long input;
    long scale;
};

static sem_t go; /* same schedule as racy.c: the worker starts when main says so */

static void *worker(void *arg)
{
    struct job *job = arg;
    SYS_CHECK(sem_wait(&go));
    long result = job->input * job->scale;
    return (void *)result;
}

int main(void)
{
    pthread_t t;
    SYS_CHECK(sem_init(&go, 0, 0));
    struct job *job = malloc(sizeof *job);
    if (job == NULL)
        abort();
    job->input = 6;
    job->scale = 7;
    PT_CHECK(pthread_create(&t, NULL, worker, job));
    SYS_CHECK(sem_post(&go));
    void *ret;
    PT_CHECK(pthread_join(t, &ret));
    free(job); /* the worker is gone: nobody else holds the pointer */
    SYS_CHECK(sem_destroy(&go));
    long result = (long)ret;
    return lab_verdict(result == 42, "worker computed %ld, expected 42", result);
}
