/* leak/buggy_overwrite.c — the only pointer to a block, overwritten. set_name()
 * stores a fresh copy of the new name in the user, over the pointer to the old
 * one: the old name is still allocated, and nothing points to it any more.
 * valgrind's memcheck scans memory at exit for pointers to every block still
 * allocated; a block none leads to is "definitely lost".
 * Who owns what: a user owns its name; replacing it means freeing the old one. */
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
    char *copy = strdup(name); /* LEAK: the old name, allocated here, is dropped below */
    if (copy == NULL)
        abort();
    user->name = copy; /* BUG: overwrites the only pointer to the old name */
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
