/*
 * csvfile.h — a result file that only ever grows by whole rows.
 *
 * A file is opened O_APPEND before any run starts (so a bad path fails early).
 * Every batch of rows goes out with one write(2) under an flock, so two writers
 * never interleave and never both write a header; the header is written only
 * into an empty file, together with the first rows. A non-empty file whose first
 * line is not the expected header, or whose last byte is not a newline, is
 * refused. A write that fails or comes up short (a full disk) is undone: the file
 * is truncated back to its length before the write, so it never keeps half a row.
 *
 * Nothing here prints or exits: errors come back as one line in `err`, starting
 * with "FLAG PATH: ".
 */
#ifndef RECORD_CSVFILE_H
#define RECORD_CSVFILE_H

#include <stdbool.h>
#include <stddef.h>

struct rec_file {
    int fd;                /* -1 when closed */
    char *path;            /* owned copy */
    char *flag;            /* owned copy of the option that named it, for messages */
    char *header;          /* owned copy of the line the file must start with */
    bool created;          /* this process created the file */
    bool wrote;            /* at least one row was written */
    /* Called when another process holds the file's lock and this append must
       wait for it (the command line says so on stderr); NULL: wait silently. */
    void (*on_wait)(const char *flag, const char *path);
};

/* Open (creating if missing) for appending rows under `header`. 0 or -1. */
int rec_file_open(struct rec_file *f, const char *flag, const char *path, const char *header,
                  char *err, size_t errcap);
/* Append whole rows (each ending in '\n') with one write(2); the header goes in
   front when the file is empty. On failure nothing of them stays. 0 or -1. */
int rec_file_append(struct rec_file *f, const char *rows, size_t len, char *err, size_t errcap);
/* Close; a file this process created and never wrote to is removed. */
void rec_file_close(struct rec_file *f);

#endif
