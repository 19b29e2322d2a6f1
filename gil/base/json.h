/*
 * json.h — the little JSON the command line prints for the lab driver
 * (`gillab designs --json`, `scenarios --json`, `csv-schema --json`): strings
 * escaped per RFC 8259, numbers written so that they read back exactly.
 * Writing only; nothing here allocates. Write errors are left in the stream's
 * error flag for the caller to check.
 */
#ifndef BASE_JSON_H
#define BASE_JSON_H

#include <stdio.h>

/* "s" with quotes, backslashes and control characters escaped; NULL is null. */
void json_str(FILE *out, const char *s);
/* "key": ... — a key followed by its colon; the caller writes the value. */
void json_key(FILE *out, const char *key);
/* A number: integral values without a fraction, others with %.17g. */
void json_num(FILE *out, double v);
/* A comma-separated line ("a,b,c", a trailing newline ignored) as a list of strings. */
void json_csv_list(FILE *out, const char *line);

#endif
