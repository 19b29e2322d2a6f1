/* tls_scratch/racy.c — a formatting helper returns a pointer into one static
 * scratch buffer, like asctime() or strtok() of old. Two threads call it at once:
 * each writes its digits into the same bytes, and reads back the other's. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { THREADS = 2, CALLS = 2000 };

static char scratch[32]; /* shared by every thread; protected by nothing, on purpose */
/* Every worker waits here before it starts, so all are alive at once. Without it
 * one thread may finish before the next begins, and TSan, which recycles a
 * finished thread's bookkeeping for the next one, can miss the race. */
static pthread_barrier_t start_line;

/* Formats "id-N" in a local array, then copies it into the scratch buffer and
 * returns that: the caller gets a pointer it never has to free. */
static const char *format_id(int n)
{
    char text[sizeof scratch];
    int start = (int)sizeof text - 1;
    text[start] = '\0';
    do {
        text[--start] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    text[--start] = '-';
    text[--start] = 'd';
    text[--start] = 'i';
    memcpy(scratch, text + start, sizeof text - (size_t)start); /* RACE: the other thread copies into the same bytes */
    return scratch;
}

static int parse_id(const char *s)
{
    int n = 0;
    for (s += 3; *s != '\0'; s++) /* RACE: may read the other thread's digits */
        n = 10 * n + (*s - '0');
    return n;
}

struct task {
    int id;   /* set before pthread_create */
    long bad; /* written by its own thread only; read after join */
};

static void *worker(void *arg)
{
    struct task *task = arg;
    BARRIER_WAIT(&start_line);
    for (int i = 0; i < CALLS; i++) {
        int n = task->id * 100000 + i;
        if (parse_id(format_id(n)) != n)
            task->bad++;
    }
    return NULL;
}

int main(void)
{
    pthread_t t[THREADS];
    struct task task[THREADS];
    PT_CHECK(pthread_barrier_init(&start_line, NULL, THREADS));
    for (int i = 0; i < THREADS; i++) {
        task[i] = (struct task){.id = i + 1, .bad = 0};
        PT_CHECK(pthread_create(&t[i], NULL, worker, &task[i]));
    }
    long bad = 0;
    for (int i = 0; i < THREADS; i++) {
        PT_CHECK(pthread_join(t[i], NULL));
        bad += task[i].bad;
    }
    PT_CHECK(pthread_barrier_destroy(&start_line));
    return lab_verdict(bad == 0, "%ld of %d ids came back garbled (expected 0)", bad, THREADS * CALLS);
}
