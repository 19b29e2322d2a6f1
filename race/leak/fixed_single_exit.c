/* leak/fixed_single_exit.c — one way out, and the free on it. Every path leaves
 * through the same end of the function, where the copy is freed (the C idiom for
 * this is often a `goto out;`).
 * Who owns what: count_words owns its copy and frees it on every path. */
#define _POSIX_C_SOURCE 200809L
#include "../lab.h"

static int count_words(const char *line)
{
    char *copy = strdup(line);
    if (copy == NULL)
        abort();
    int words = 0;
    if (copy[0] != '#') {
        for (char *word = strtok(copy, " "); word != NULL; word = strtok(NULL, " "))
            words++;
    }
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
