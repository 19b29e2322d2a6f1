/* thread_leak/racy.c — main starts a worker, takes its answer through a semaphore,
 * and never joins it (nor detaches it). The finished thread's stack and
 * bookkeeping stay allocated until the process ends; in a server that starts a
 * thread per request, that is a leak that grows until pthread_create fails.
 * Main waits until the worker has really exited (its /proc/self/task entry is
 * gone), so the leak is the same on every run. */
#define _GNU_SOURCE /* syscall(SYS_gettid) */
#include <pthread.h>
#include <semaphore.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "../lab.h"

static long answer;       /* written before the post of done; read after the wait */
static long worker_tid;   /* same */
static sem_t done;

static void *worker(void *arg)
{
    (void)arg;
    worker_tid = syscall(SYS_gettid);
    answer = 42;
    SYS_CHECK(sem_post(&done));
    return NULL;
}

int main(void)
{
    pthread_t t;
    SYS_CHECK(sem_init(&done, 0, 0));
    PT_CHECK(pthread_create(&t, NULL, worker, NULL)); /* LEAK: never joined, never detached */
    SYS_CHECK(sem_wait(&done));
    char task[64];
    snprintf(task, sizeof task, "/proc/self/task/%ld", worker_tid);
    while (access(task, F_OK) == 0) /* until the worker thread has exited */
        sched_yield();
    return lab_verdict(answer == 42, "answer = %ld, expected 42", answer);
}
