/* heap_uaf/buggy.c — a pointer into a growable array outlives the array's block.
 * A vector keeps its items in one heap block and moves them to a bigger block
 * when it is full (an interpreter's list does the same: CPython's list_resize
 * calls realloc). main takes a pointer to the first item, then appends: the
 * append moves the items and frees the old block, and the pointer now points
 * into freed memory. Two vectors grow side by side, so no block can grow in place.
 * Who owns what: each vector owns its items block; a pointer into it owns nothing
 * and is valid only until the next append. */
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
        int *items = realloc(v->items, cap * sizeof *items); /* MEMORY: moves the items, frees the old block */
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
    const int *first = &evens.items[0]; /* BUG: valid only until the next push */
    vec_push(&evens, 8);
    int seen = *first; /* MEMORY: reads the block the push freed */
    int ok = seen == 0 && evens.items[0] == 0;
    free(evens.items);
    free(odds.items);
    return lab_verdict(ok, "the first even number read %d through the old pointer, expected 0",
                       seen);
}
