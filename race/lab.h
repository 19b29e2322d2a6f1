/*
 * lab.h — the two things every race exercise shares: a checked pthread call and
 * the program's own verdict on its result.
 *
 * Everything here is a macro or a tiny function that runs after the threads are
 * joined, so every ThreadSanitizer frame that matters stays in the exercise's own
 * file. The checker (race/check.py) reads the last line a program prints:
 *   "RESULT ok: ..."     the program's own check passed (exit status 0);
 *   "RESULT WRONG: ..."  it failed (exit status 1).
 * Under TSan the exit status is replaced by 66 whenever a report was printed, so
 * the checker trusts that line, not the status.
 */
#ifndef RACE_LAB_H
#define RACE_LAB_H

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A pthread call that returns an error number: report file, line and call, abort. */
#define PT_CHECK(call)                                                        \
    do {                                                                      \
        int pt_rc_ = (call);                                                  \
        if (pt_rc_ != 0) {                                                    \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,     \
                    #call, strerror(pt_rc_));                                 \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* A call that returns -1 and sets errno (sem_init, sem_wait, sem_post, ...). */
#define SYS_CHECK(call)                                                       \
    do {                                                                      \
        if ((call) != 0) {                                                    \
            fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__,     \
                    #call, strerror(errno));                                  \
            abort();                                                          \
        }                                                                     \
    } while (0)

/* pthread_barrier_wait returns PTHREAD_BARRIER_SERIAL_THREAD to one waiter: not an error. */
#define BARRIER_WAIT(barrier)                                                 \
    do {                                                                      \
        int bw_rc_ = pthread_barrier_wait(barrier);                           \
        if (bw_rc_ != PTHREAD_BARRIER_SERIAL_THREAD)                          \
            PT_CHECK(bw_rc_);                                                 \
    } while (0)

/* Print the program's verdict on its own result; return the exit status. */
static inline int lab_verdict(int ok, const char *fmt, ...)
{
    va_list ap;
    fputs(ok ? "RESULT ok: " : "RESULT WRONG: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return ok ? 0 : 1;
}

#endif
