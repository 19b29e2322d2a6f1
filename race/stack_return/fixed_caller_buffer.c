/* stack_return/fixed_caller_buffer.c — the caller owns the characters. make_label()
 * writes into a buffer the caller passes (the snprintf convention), so the text
 * lives in the caller's frame, as long as the caller needs it.
 * Who owns what: each buffer belongs to main; a label only points into one. */
#define _POSIX_C_SOURCE 200809L
#include "../lab.h"

struct label {
    const char *text; /* not NUL-terminated: len characters */
    size_t len;
};

__attribute__((noinline)) static struct label make_label(int id, char *buf, size_t size)
{
    int n = snprintf(buf, size, "order-%d", id);
    struct label label = {buf, n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1};
    return label;
}

static int label_is(struct label label, const char *want)
{
    return label.len == strlen(want) && memcmp(label.text, want, label.len) == 0;
}

int main(void)
{
    char first_text[32], second_text[32];
    struct label first = make_label(7, first_text, sizeof first_text);
    struct label second = make_label(8, second_text, sizeof second_text);
    int ok = label_is(first, "order-7") && label_is(second, "order-8");
    return lab_verdict(ok, "the labels do not read order-7 and order-8");
}
