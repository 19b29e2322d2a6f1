/* uninit/buggy.c — counts that start from whatever was in memory. histogram()
 * counts how often each byte occurs in a text, in an array it gets from malloc,
 * which leaves the memory as it was: the counts start from garbage. The first
 * text gets fresh pages from the kernel, which are zero, so its answer is right
 * by luck; the second gets the block the first one freed, counts included, and
 * its answer is wrong. valgrind's memcheck tracks, bit by bit, which memory was
 * ever written, and reports the first decision taken on a value that never was.
 * Who owns what: each histogram is owned by main, which frees it after use. */
#define _POSIX_C_SOURCE 200809L
#include "../lab.h"

#define BYTE_VALUES 256

static size_t *histogram(const char *text)
{
    size_t *counts = malloc(BYTE_VALUES * sizeof *counts); /* BUG: malloc, not calloc: counts start as garbage */
    if (counts == NULL)
        abort();
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        counts[*p]++;
    return counts;
}

/* The most frequent lower-case letter (the first one, on a tie). */
static int most_frequent(const size_t *counts)
{
    int best = 'a';
    for (int c = 'b'; c <= 'z'; c++) {
        if (counts[c] > counts[best]) /* MEMORY: a decision on a count nobody set */
            best = c;
    }
    return best;
}

int main(void)
{
    size_t *first = histogram("banana bandana"); /* a 6, n 4, b 2, d 1 */
    int first_best = most_frequent(first);
    free(first);
    size_t *second = histogram("mississippi"); /* i 4, s 4, p 2, m 1 */
    int second_best = most_frequent(second);
    free(second);
    return lab_verdict(first_best == 'a' && second_best == 'i',
                       "most frequent letters '%c' and '%c', expected 'a' and 'i'",
                       first_best, second_best);
}
