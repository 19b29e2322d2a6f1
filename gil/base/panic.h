/*
 * panic.h — invariant breaks and failed pthread calls stop the program with a
 * message naming the file, the line and the call, as xv6's panic() does. Never
 * inside assert(): these checks must survive NDEBUG.
 */
#ifndef PANIC_H
#define PANIC_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PANIC(...)                                                            \
    do {                                                                      \
        fprintf(stderr, "gillab: panic at %s:%d: ", __FILE__, __LINE__);      \
        fprintf(stderr, __VA_ARGS__);                                         \
        fputc('\n', stderr);                                                  \
        abort();                                                              \
    } while (0)

#define PANIC_IF(cond, ...)                                                   \
    do {                                                                      \
        if (cond)                                                             \
            PANIC(__VA_ARGS__);                                               \
    } while (0)

/* Check a pthread call that returns an error number. */
#define PT_CHECK(call)                                                        \
    do {                                                                      \
        int pt_rc_ = (call);                                                  \
        if (pt_rc_ != 0)                                                      \
            PANIC("%s failed: %s", #call, strerror(pt_rc_));                  \
    } while (0)

#endif
