/* heap_uaf/fixed_index.c — keep an index, not a pointer. An index into the vector
 * stays valid across an append; the address of an item does not. (Where a pointer
 * is needed, take it again after the last append, or reserve the capacity first.)
 * Who owns what: each vector owns its items block. */
#define _POSIX_C_SOURCE 200809L
#include "../lab.h"

struct vec {
    int *items; /* owned: cap slots, len of them used */
    size_t len, cap;
};

static void vec_push(struct vec *v, int item)
{
    if (v->len == v->cap) {
        size_t cap = v->cap != 0 ? 2 * v->cap : 4;
        int *items = realloc(v->items, cap * sizeof *items);
        if (items == NULL)
            abort();
        v->items = items;
        v->cap = cap;
    }
    v->items[v->len++] = item;
}

int main(void)
{
    struct vec evens = {NULL, 0, 0}, odds = {NULL, 0, 0};
    for (int i = 0; i < 8; i++)
        vec_push(i % 2 == 0 ? &evens : &odds, i); /* both full: 4 of 4 */
    size_t first = 0; /* an index survives the move */
    vec_push(&evens, 8);
    int seen = evens.items[first];
    int ok = seen == 0 && evens.len == 5;
    free(evens.items);
    free(odds.items);
    return lab_verdict(ok, "the first even number read %d, expected 0", seen);
}
