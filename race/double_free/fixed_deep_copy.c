/* double_free/fixed_deep_copy.c — the saved copy gets a name of its own. A deep
 * copy duplicates what the record owns, so each block has exactly one owner and
 * is freed exactly once. (The other classic fix: set a pointer to NULL when its
 * block is freed, since free(NULL) does nothing; or count the owners, as an
 * interpreter's reference counts do.)
 * Who owns what: a record owns its name, and is the only one that does. */
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

static struct record record_copy(const struct record *r)
{
    struct record copy = {r->id, dup_name(r->name)};
    return copy;
}

int main(void)
{
    struct record current = {1, dup_name("ada")};
    struct record saved = record_copy(&current);
    free(current.name);
    current.name = dup_name("grace");
    int ok = strcmp(current.name, "grace") == 0 && strcmp(saved.name, "ada") == 0;
    free(saved.name);
    free(current.name);
    return lab_verdict(ok, "the records are not named grace and ada");
}
