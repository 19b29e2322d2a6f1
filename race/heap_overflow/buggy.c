/* heap_overflow/buggy.c — room for the characters, none for the terminator.
 * copy_name() allocates strlen(name) bytes and copies the string into them:
 * strcpy writes strlen(name) + 1 bytes, the last one past the end of the block.
 * In a plain build the byte usually lands in the allocator's padding (a 5-byte
 * request gets a 24-byte chunk) and nothing seems wrong, until a length hits the
 * chunk size exactly and the byte lands on the next chunk's header.
 * Who owns what: copy_name's result is owned by the caller, who frees it. */
#define _POSIX_C_SOURCE 200809L
#include "../lab.h"

static char *copy_name(const char *name)
{
    char *copy = malloc(strlen(name)); /* BUG: strlen does not count the '\0' */
    if (copy == NULL)
        abort();
    strcpy(copy, name); /* MEMORY: writes one byte past the block */
    return copy;
}

int main(void)
{
    char *name = copy_name("grace");
    int ok = strcmp(name, "grace") == 0;
    free(name);
    return lab_verdict(ok, "the copy does not read grace");
}
