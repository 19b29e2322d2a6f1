/*
 * parse.h — whole numbers from text, the one way the command line and the
 * parameter parser read them: decimal, the whole string, no overflow.
 */
#ifndef BASE_PARSE_H
#define BASE_PARSE_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

/* s as a decimal int64: 0, or -1 when s is empty, has trailing text or overflows. */
static inline int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno)
        return -1;
    *out = v;
    return 0;
}

#endif
