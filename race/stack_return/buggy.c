/* stack_return/buggy.c — a function hands out a pointer into its own stack frame.
 * make_label() formats "order-<id>" into a local buffer and returns a label that
 * points at it. Once make_label returns, its frame is gone: the next call builds
 * its frame in the same place, so the first label now reads the second one's
 * text. (`return buf;` would draw a compiler warning; the same pointer stored in
 * a struct or through an out-parameter draws none, and is just as dead.)
 * Who owns what: a label owns nothing; its text belongs to whoever made it. */
#define _POSIX_C_SOURCE 200809L
#include "../lab.h"

struct label {
    const char *text; /* not NUL-terminated: len characters */
    size_t len;
};

/* noinline: inlined into main, buf would live in main's own frame and the bug
 * would hide (ASan would then call it stack-use-after-scope). */
__attribute__((noinline)) static struct label make_label(int id)
{
    char buf[32];
    int n = snprintf(buf, sizeof buf, "order-%d", id);
    struct label label = {buf, (size_t)n}; /* BUG: points into this frame, which dies at return */
    return label;
}

static int label_is(struct label label, const char *want)
{
    return label.len == strlen(want) &&
           memcmp(label.text, want, label.len) == 0; /* MEMORY: reads a dead frame */
}

int main(void)
{
    struct label first = make_label(7);
    struct label second = make_label(8);
    int ok = label_is(first, "order-7") && label_is(second, "order-8");
    return lab_verdict(ok, "the labels do not read order-7 and order-8");
}
