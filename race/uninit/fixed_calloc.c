/* uninit/fixed_calloc.c — the same histograms, from calloc: every count starts
 * at zero, whatever the block held before. (malloc followed by memset would do
 * the same; calloc also checks the size multiplication for overflow.)
 * Who owns what: each histogram is owned by main, which frees it after use. */
#define _POSIX_C_SOURCE 200809L
#include "../lab.h"

#define BYTE_VALUES 256

static size_t *histogram(const char *text)
{
    size_t *counts = calloc(BYTE_VALUES, sizeof *counts); /* every count starts at 0 */
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
        if (counts[c] > counts[best])
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
