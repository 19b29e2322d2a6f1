/*
 * json.c — see json.h.
 */
#include "base/json.h"

#include <math.h>
#include <string.h>

void json_str(FILE *out, const char *s)
{
    if (!s) {
        fputs("null", out);
        return;
    }
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        default:
            if (*p < 0x20)
                fprintf(out, "\\u%04x", *p);
            else
                fputc(*p, out);
        }
    }
    fputc('"', out);
}

void json_key(FILE *out, const char *key)
{
    json_str(out, key);
    fputc(':', out);
}

void json_num(FILE *out, double v)
{
    if (!isfinite(v))
        fputs("null", out);
    else if (v == trunc(v) && fabs(v) < 9007199254740992.0)
        fprintf(out, "%.0f", v);
    else
        fprintf(out, "%.17g", v);
}

void json_csv_list(FILE *out, const char *line)
{
    fputc('[', out);
    for (const char *p = line; *p && *p != '\n';) {
        size_t n = strcspn(p, ",\n");
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)n, p);
        if (p != line)
            fputc(',', out);
        json_str(out, name);
        p += n + (p[n] == ',');
    }
    fputc(']', out);
}
