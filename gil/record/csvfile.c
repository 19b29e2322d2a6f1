/*
 * csvfile.c — append-only result files; see csvfile.h.
 */
#include "record/csvfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- files ------------------------------------------------------------------------ */

static void set_err(const struct rec_file *f, char *err, size_t cap, const char *what)
{
    snprintf(err, cap, "%s %s: %s", f->flag, f->path, what);
}

/* Is a non-empty file's content acceptable to append to? 0, or -1 with err. */
static int check_existing(struct rec_file *f, off_t size, char *err, size_t errcap)
{
    size_t hlen = strlen(f->header);
    char *first = malloc(hlen + 1);
    if (!first) {
        set_err(f, err, errcap, strerror(ENOMEM));
        return -1;
    }
    ssize_t n = pread(f->fd, first, hlen, 0);
    int same = n == (ssize_t)hlen && memcmp(first, f->header, hlen) == 0;
    /* The header itself, cut short of its newline: a torn file, not another schema. */
    int header_torn = n == (ssize_t)hlen - 1 && size == (off_t)hlen - 1 && memcmp(first, f->header, hlen - 1) == 0;
    free(first);
    if (n < 0) {
        set_err(f, err, errcap, strerror(errno));
        return -1;
    }
    if (!same && !header_torn) {
        set_err(f, err, errcap,
                "header differs from this version's schema; refusing to append (move the file away)");
        return -1;
    }
    char last;
    if (pread(f->fd, &last, 1, size - 1) != 1 || last != '\n') {
        set_err(f, err, errcap,
                "does not end with a newline (a torn last row?); refusing to append (move the file away)");
        return -1;
    }
    return 0;
}

int rec_file_open(struct rec_file *f, const char *flag, const char *path, const char *header,
                char *err, size_t errcap)
{
    struct stat sb;
    *f = (struct rec_file){.fd = -1};
    f->path = strdup(path);
    f->flag = strdup(flag);
    f->header = strdup(header);
    if (!f->path || !f->flag || !f->header) {
        snprintf(err, errcap, "%s %s: %s", flag, path, strerror(ENOMEM));
        goto fail;
    }
    struct stat pre;
    if (stat(path, &pre) == 0 && !S_ISREG(pre.st_mode)) {
        set_err(f, err, errcap, "not a regular file");
        goto fail;
    }
    /* O_EXCL first, to know whether this process made the file. */
    f->fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (f->fd >= 0)
        f->created = true;
    else if (errno == EEXIST)
        f->fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    if (f->fd < 0) {
        set_err(f, err, errcap, strerror(errno));
        goto fail;
    }
    if (fstat(f->fd, &sb) != 0) {
        set_err(f, err, errcap, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(sb.st_mode)) {
        set_err(f, err, errcap, "not a regular file");
        goto fail;
    }
    if (sb.st_size > 0 && check_existing(f, sb.st_size, err, errcap) != 0)
        goto fail;
    return 0;

fail:
    rec_file_close(f);
    return -1;
}

int rec_file_append(struct rec_file *f, const char *rows, size_t len, char *err, size_t errcap)
{
    struct stat sb;
    char *joined = NULL;
    int rc = -1;
    if (flock(f->fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno != EWOULDBLOCK) {
            set_err(f, err, errcap, strerror(errno));
            return -1;
        }
        /* Another writer holds the file: say so, then wait for it. */
        if (f->on_wait)
            f->on_wait(f->flag, f->path);
        if (flock(f->fd, LOCK_EX) != 0) {
            set_err(f, err, errcap, strerror(errno));
            return -1;
        }
    }
    if (fstat(f->fd, &sb) != 0) {
        set_err(f, err, errcap, strerror(errno));
        goto out;
    }
    if (sb.st_size > 0) {
        /* Another writer may have started the file since it was opened. */
        if (check_existing(f, sb.st_size, err, errcap) != 0)
            goto out;
    } else {
        size_t hlen = strlen(f->header);
        joined = malloc(hlen + len);
        if (!joined) {
            set_err(f, err, errcap, strerror(ENOMEM));
            goto out;
        }
        memcpy(joined, f->header, hlen);
        memcpy(joined + hlen, rows, len);
        rows = joined;
        len += hlen;
    }
    /* One write, and the length before it: under the flock nobody else
       appends, so truncating back to `before` removes exactly what this write
       left of a failed batch. */
    off_t before = sb.st_size;
    ssize_t n = write(f->fd, rows, len);
    if (n < 0 || (size_t)n != len) {
        int e = n < 0 ? errno : ENOSPC;
        if (n > 0 && ftruncate(f->fd, before) != 0) {
            set_err(f, err, errcap, "a write came up short and the file could not be truncated "
                                    "back; its last row is torn (move the file away)");
            goto out;
        }
        set_err(f, err, errcap, strerror(e));
        goto out;
    }
    f->wrote = true;
    rc = 0;
out:
    free(joined);
    flock(f->fd, LOCK_UN);
    return rc;
}

void rec_file_close(struct rec_file *f)
{
    if (f->fd >= 0) {
        struct stat sb;
        if (f->created && !f->wrote && fstat(f->fd, &sb) == 0 && sb.st_size == 0)
            unlink(f->path);
        close(f->fd);
    }
    free(f->path);
    free(f->flag);
    free(f->header);
    *f = (struct rec_file){.fd = -1};
}
