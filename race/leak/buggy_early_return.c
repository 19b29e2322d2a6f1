/* leak/buggy_early_return.c — an early return that skips the free. count_words()
 * works on a private copy of its line (strtok writes into the string) and frees
 * it at the end; but a comment line returns early, and its copy is never freed.
 * Every comment line costs a few bytes, for as long as the program runs.
 * LeakSanitizer looks, at exit, for blocks no pointer in memory leads to.
 * Who owns what: count_words owns its copy and must free it on every path. */
#define _POSIX_C_SOURCE 200809L
#include "../lab.h"

static int count_words(const char *line)
{
    char *copy = strdup(line); /* LEAK: allocated here; the early return below keeps it */
    if (copy == NULL)
        abort();
    if (copy[0] == '#')
        return 0; /* BUG: returns without free(copy) */
    int words = 0;
    for (char *word = strtok(copy, " "); word != NULL; word = strtok(NULL, " "))
        words++;
    free(copy);
    return words;
}

int main(void)
{
    const char *lines[] = {"one two three", "# a comment", "four five", "# another"};
    int words = 0;
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        words += count_words(lines[i]);
    return lab_verdict(words == 5, "counted %d words, expected 5", words);
}
