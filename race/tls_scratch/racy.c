/* tls_scratch/racy.c — a formatting helper returns a pointer into one static
 * scratch buffer, like asctime() or strtok() of old. Two threads call it at once:
 * each writes its digits into the same bytes, and reads back the other's. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include "../lab.h"

enum { THREADS = 2, CALLS = 20000 };

static char scratch[32]; /* shared by every thread; protected by nothing, on purpose */

/* Writes "id-N" into the scratch buffer and returns it (by hand, so every byte
 * store is in this file, where ThreadSanitizer can see it). */
static const char *format_id(int n)
{
    char digits[16];
    int len = 0;
    do {
        digits[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n > 0);
    scratch[0] = 'i'; /* RACE: every store here meets the other thread's stores */
    scratch[1] = 'd'; /* RACE */
    scratch[2] = '-'; /* RACE */
    for (int i = 0; i < len; i++)
        scratch[3 + i] = digits[len - 1 - i]; /* RACE */
    scratch[3 + len] = '\0';                  /* RACE */
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
    for (int i = 0; i < THREADS; i++) {
        task[i] = (struct task){.id = i + 1, .bad = 0};
        PT_CHECK(pthread_create(&t[i], NULL, worker, &task[i]));
    }
    long bad = 0;
    for (int i = 0; i < THREADS; i++) {
        PT_CHECK(pthread_join(t[i], NULL));
        bad += task[i].bad;
    }
    return lab_verdict(bad == 0, "%ld of %d ids came back garbled (expected 0)", bad, THREADS * CALLS);
}
