/* uaf/racy.c — a pointer shared across threads outlives the object. main hands a
 * job to a worker, then frees the job as soon as it has queued it, while the worker
 * still holds the pointer. The worker then reads freed memory: whatever the
 * allocator put there since. (The semaphore fixes the schedule so the free always
 * comes first; without it the bug would come and go.) */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <semaphore.h>
#include "../lab.h"

struct job {
    long input;
    long scale;
};

static sem_t job_freed; /* fixes the schedule: posted after the free */

static void *worker(void *arg)
{
    struct job *job = arg;
    SYS_CHECK(sem_wait(&job_freed));
    long result = job->input * job->scale; /* RACE: use after free: the owner already freed job */
    return (void *)result;
}

int main(void)
{
    pthread_t t;
    SYS_CHECK(sem_init(&job_freed, 0, 0));
    struct job *job = malloc(sizeof *job);
    if (job == NULL)
        abort();
    job->input = 6;
    job->scale = 7;
    PT_CHECK(pthread_create(&t, NULL, worker, job));
    free(job); /* RACE: freed while the worker still holds the pointer */
    SYS_CHECK(sem_post(&job_freed));
    void *ret;
    PT_CHECK(pthread_join(t, &ret));
    SYS_CHECK(sem_destroy(&job_freed));
    long result = (long)ret;
    return lab_verdict(result == 42, "worker computed %ld, expected 42", result);
}
