/* heap_overflow/fixed_room_for_nul.c — strlen(name) + 1 bytes: the characters and
 * the terminator. (strdup does exactly this; snprintf with the buffer's size
 * never writes past it.)
 * Who owns what: copy_name's result is owned by the caller, who frees it. */
#define _POSIX_C_SOURCE 200809L
#include "../lab.h"

static char *copy_name(const char *name)
{
    size_t size = strlen(name) + 1; /* the characters and the '\0' */
    char *copy = malloc(size);
    if (copy == NULL)
        abort();
    memcpy(copy, name, size);
    return copy;
}

int main(void)
{
    char *name = copy_name("grace");
    int ok = strcmp(name, "grace") == 0;
    free(name);
    return lab_verdict(ok, "the copy does not read grace");
}
