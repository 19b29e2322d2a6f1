/* leak/fixed_free_old.c — free the old value before the new one takes its place.
 * (free(NULL) does nothing, so the first set needs no special case.)
 * Who owns what: a user owns its name; replacing it frees the old one. */
#define _POSIX_C_SOURCE 200809L
#include "../lab.h"

struct user {
    int id;
    char *name; /* owned */
};

/* noinline: as if set_name lived in another file; inlined, clang -O1 sees that the
 * first name is never read and drops its allocation, leak and all. */
__attribute__((noinline)) static void set_name(struct user *user, const char *name)
{
    char *copy = strdup(name);
    if (copy == NULL)
        abort();
    free(user->name);
    user->name = copy;
}

int main(void)
{
    struct user user = {1, NULL};
    set_name(&user, "ada");
    set_name(&user, "ada lovelace");
    int status = lab_verdict(strcmp(user.name, "ada lovelace") == 0,
                             "the user is named %s, expected ada lovelace", user.name);
    free(user.name);
    return status;
}
