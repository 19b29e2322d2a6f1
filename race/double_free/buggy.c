/* double_free/buggy.c — two owners for one block. main keeps a copy of a record
 * to undo an edit, but copying the struct copies the pointer, not the name: both
 * records now own the same block. The edit frees the old name; dropping the
 * saved copy frees it again. A second free corrupts the allocator's own lists
 * (glibc notices this one and aborts; other double frees go unnoticed and
 * later hand out one block twice).
 * Who owns what: a record owns its name, and must be the only one that does. */
#define _POSIX_C_SOURCE 200809L
#include "../lab.h"

struct record {
    int id;
    char *name; /* owned */
};

/* noinline: the allocation stays opaque to the optimizer, as it would be from
 * another file; inlined, clang -O1 sees the whole life of the block and drops it. */
__attribute__((noinline)) static char *dup_name(const char *name)
{
    char *copy = strdup(name);
    if (copy == NULL)
        abort();
    return copy;
}

int main(void)
{
    struct record current = {1, dup_name("ada")};
    struct record saved = current; /* BUG: a shallow copy: saved.name is current.name */
    free(current.name); /* MEMORY: the edit frees the old name... */
    current.name = dup_name("grace");
    int status = lab_verdict(strcmp(current.name, "grace") == 0,
                             "the edited record is named %s, expected grace", current.name);
    free(saved.name); /* MEMORY: ...and dropping the saved copy frees it again */
    free(current.name);
    return status;
}
