/*
 * registry.c — the table of lock designs and the parsing of their parameters.
 *
 * Adding a design: write gil/locks/NAME.c exporting `const struct gil_design
 * gil_design_NAME`, and add one line X(NAME) to GIL_DESIGN_LIST below (its place
 * is its place in every table and figure). Nothing else changes: the command
 * line, `gillab designs`, the CSV columns, the lab, the sweep, the figures and
 * the contract tests all walk this table.
 */
#include "locks/gil.h"

#include "base/json.h"
#include "base/parse.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define GIL_DESIGN_LIST(X) \
    X(py26)                \
    X(py32)                \
    X(none)                \
    X(fifo)                \
    X(ruby)                \
    X(pypy)                \
    X(noop)

#define GIL_DESIGN_EXTERN(name) extern const struct gil_design gil_design_##name;
GIL_DESIGN_LIST(GIL_DESIGN_EXTERN)
#undef GIL_DESIGN_EXTERN

const struct gil_design *const gil_designs[] = {
#define GIL_DESIGN_ENTRY(name) &gil_design_##name,
    GIL_DESIGN_LIST(GIL_DESIGN_ENTRY)
#undef GIL_DESIGN_ENTRY
    NULL,
};

/* `gillab run` without --gil. */
const struct gil_design *const gil_design_default = &gil_design_py32;

const struct gil_design *gil_design_find(const char *name)
{
    for (const struct gil_design *const *d = gil_designs; *d; d++)
        if (strcmp((*d)->name, name) == 0)
            return *d;
    return NULL;
}

bool gil_design_allows(const struct gil_design *d, int threads)
{
    return d->max_threads == 0 || threads <= d->max_threads;
}

void gil_design_names(char *buf, size_t cap, const char *sep, int min_threads)
{
    size_t n = 0;
    buf[0] = '\0';
    for (const struct gil_design *const *d = gil_designs; *d && n < cap; d++)
        if (gil_design_allows(*d, min_threads))
            n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? sep : "", (*d)->name);
}

void gil_params_defaults(const struct gil_design *d, double *values)
{
    for (size_t i = 0; i < d->nparams; i++)
        values[i] = d->params[i].def;
}

/* "interval_us" answers to "interval" too: the stem before a unit suffix. */
static int name_matches(const struct gil_param *p, const char *name, size_t len)
{
    size_t plen = strlen(p->name);
    if (len == plen && strncmp(p->name, name, len) == 0)
        return 1;
    return p->kind == GIL_PARAM_US && plen > 3 && strcmp(p->name + plen - 3, "_us") == 0 &&
           len == plen - 3 && strncmp(p->name, name, len) == 0;
}

static void param_names(const struct gil_design *d, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < d->nparams && n < cap; i++)
        n += (size_t)snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", d->params[i].name);
    if (d->nparams == 0)
        snprintf(buf, cap, "(none: this design has no parameters)");
}

/* Duration in µs: a number with an optional unit ns|us|ms|s (bare: µs). */
static int parse_us(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || !isfinite(v))
        return -1;
    double scale = 1;
    if (*end == '\0' || strcmp(end, "us") == 0)
        scale = 1;
    else if (strcmp(end, "ns") == 0)
        scale = 1e-3;
    else if (strcmp(end, "ms") == 0)
        scale = 1e3;
    else if (strcmp(end, "s") == 0)
        scale = 1e6;
    else
        return -1;
    *out = v * scale;
    return 0;
}

static int parse_count(const char *s, double *out)
{
    int64_t v;
    if (parse_i64(s, &v) != 0)
        return -1;
    *out = (double)v;
    return 0;
}

static int parse_real(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

bool gil_param_numeric(const struct gil_param *p)
{
    return p->kind == GIL_PARAM_COUNT || p->kind == GIL_PARAM_REAL || p->kind == GIL_PARAM_US;
}

static int parse_bool(const char *s, double *out)
{
    static const char *yes[] = {"on", "true", "yes", "1"}, *no[] = {"off", "false", "no", "0"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0) return *out = 0, 0;
    }
    return -1;
}

static int parse_enum(const struct gil_param *p, const char *s, double *out)
{
    const char *c = p->choices;
    size_t len = strlen(s);
    for (int i = 0; c && *c; i++) {
        size_t n = strcspn(c, "|");
        if (n == len && strncmp(c, s, n) == 0)
            return *out = i, 0;
        c += n + (c[n] == '|');
    }
    return -1;
}

static void describe_allowed(const struct gil_param *p, char *buf, size_t cap)
{
    char lo[32], hi[32];
    switch (p->kind) {
    case GIL_PARAM_COUNT:
        snprintf(buf, cap, "a whole number from %.0f to %.0f", p->min, p->max);
        break;
    case GIL_PARAM_REAL:
        snprintf(buf, cap, "a number from %g to %g", p->min, p->max);
        break;
    case GIL_PARAM_US:
        gil_param_format(p, p->min, lo, sizeof lo);
        gil_param_format(p, p->max, hi, sizeof hi);
        snprintf(buf, cap, "a duration from %s to %s (units ns, us, ms, s; a bare number is us)", lo, hi);
        break;
    case GIL_PARAM_BOOL:
        snprintf(buf, cap, "on or off");
        break;
    case GIL_PARAM_ENUM:
        snprintf(buf, cap, "one of %s", p->choices);
        break;
    }
}

int gil_param_set(const struct gil_design *d, double *values, const char *assignment,
                  char *err, size_t errcap)
{
    const char *eq = strchr(assignment, '=');
    char names[256];
    if (!eq || eq == assignment) {
        param_names(d, names, sizeof names);
        snprintf(err, errcap, "--set: expected name=value, got '%s'; parameters of %s: %s",
                 assignment, d->name, names);
        return -1;
    }
    size_t nlen = (size_t)(eq - assignment);
    const char *val = eq + 1;
    for (size_t i = 0; i < d->nparams; i++) {
        const struct gil_param *p = &d->params[i];
        if (!name_matches(p, assignment, nlen))
            continue;
        double v;
        int bad;
        switch (p->kind) {
        case GIL_PARAM_COUNT: bad = parse_count(val, &v); break;
        case GIL_PARAM_REAL: bad = parse_real(val, &v); break;
        case GIL_PARAM_US: bad = parse_us(val, &v); break;
        case GIL_PARAM_BOOL: bad = parse_bool(val, &v); break;
        default: bad = parse_enum(p, val, &v); break;
        }
        if (!bad && gil_param_numeric(p) && (v < p->min || v > p->max))
            bad = 1;
        if (bad) {
            char allowed[160];
            describe_allowed(p, allowed, sizeof allowed);
            snprintf(err, errcap, "--set %s: bad value '%s' for %s: expected %s", assignment, val,
                     p->name, allowed);
            return -1;
        }
        values[i] = v;
        return 0;
    }
    param_names(d, names, sizeof names);
    snprintf(err, errcap, "--set: unknown parameter '%.*s' for design %s; parameters: %s", (int)nlen,
             assignment, d->name, names);
    return -1;
}

void gil_param_format(const struct gil_param *p, double value, char *buf, size_t cap)
{
    switch (p->kind) {
    case GIL_PARAM_COUNT:
        snprintf(buf, cap, "%.0f", value);
        break;
    case GIL_PARAM_REAL:
        snprintf(buf, cap, "%g", value);
        break;
    case GIL_PARAM_US:
        if (value >= 1e6 && fmod(value, 1e6) == 0)
            snprintf(buf, cap, "%gs", value / 1e6);
        else if (value >= 1e3)
            snprintf(buf, cap, "%gms", value / 1e3);
        else
            snprintf(buf, cap, "%gus", value);
        break;
    case GIL_PARAM_BOOL:
        snprintf(buf, cap, "%s", value != 0 ? "on" : "off");
        break;
    case GIL_PARAM_ENUM: {
        const char *c = p->choices;
        for (int i = 0; i < (int)value && *c; i++)
            c += strcspn(c, "|") + (c[strcspn(c, "|")] == '|');
        snprintf(buf, cap, "%.*s", (int)strcspn(c, "|"), c);
        break;
    }
    }
}

void gil_param_format_csv(const struct gil_param *p, double value, char *buf, size_t cap)
{
    if (p->kind == GIL_PARAM_US)
        snprintf(buf, cap, "%g", value);
    else
        gil_param_format(p, value, buf, cap);
}

static const char *kind_name(enum gil_param_kind k)
{
    switch (k) {
    case GIL_PARAM_COUNT: return "count";
    case GIL_PARAM_REAL: return "real";
    case GIL_PARAM_US: return "duration";
    case GIL_PARAM_BOOL: return "bool";
    case GIL_PARAM_ENUM: return "choice";
    }
    return "?";
}

static void describe_threads(const struct gil_design *d, char *buf, size_t cap)
{
    if (d->max_threads == 0)
        snprintf(buf, cap, "any number");
    else
        snprintf(buf, cap, "at most %d at once", d->max_threads);
}

/* ---- policies: the parameter values that change what the VM does ------------------- */

static enum gil_vm_safety safety_of(const struct gil_design *d, const double *v)
{
    return d->vm_safety ? d->vm_safety(v) : GIL_VM_SERIAL;
}

static size_t choices_of(const struct gil_param *p)
{
    if (p->kind == GIL_PARAM_BOOL)
        return 2;
    size_t n = 1;
    for (const char *c = p->choices; c && *c; c++)
        n += *c == '|';
    return n;
}

/* The design's policy parameters: the ENUM and BOOL ones of which some value,
   the others at their defaults, gives another vm_safety. Their indexes into
   idx; returns how many. */
static size_t policy_params(const struct gil_design *d, size_t *idx)
{
    double v[GIL_MAX_PARAMS];
    size_t n = 0;
    gil_params_defaults(d, v);
    enum gil_vm_safety base = safety_of(d, v);
    for (size_t i = 0; i < d->nparams; i++) {
        const struct gil_param *p = &d->params[i];
        if (p->kind != GIL_PARAM_ENUM && p->kind != GIL_PARAM_BOOL)
            continue;
        bool changes = false;
        for (size_t k = 0; k < choices_of(p) && !changes; k++) {
            double w[GIL_MAX_PARAMS];
            memcpy(w, v, sizeof w);
            w[i] = (double)k;
            changes = safety_of(d, w) != base;
        }
        if (changes)
            idx[n++] = i;
    }
    return n;
}

int gil_designs_describe(FILE *out)
{
    for (const struct gil_design *const *dp = gil_designs; *dp; dp++) {
        const struct gil_design *d = *dp;
        double defaults[GIL_MAX_PARAMS];
        char threads[64];
        gil_params_defaults(d, defaults);
        describe_threads(d, threads, sizeof threads);
        fprintf(out, "%s — %s\n    models: %s%s%s\n    threads: %s; the VM's own safety: %s\n",
                d->name, d->summary, d->models, d->original ? "; held against " : "",
                d->original ? d->original : "", threads,
                gil_vm_safety_name(d->vm_safety ? d->vm_safety(defaults) : GIL_VM_SERIAL));
        size_t pidx[GIL_MAX_PARAMS], np = policy_params(d, pidx);
        if (np > 0) {
            fprintf(out, "    the VM's own safety by");
            for (size_t j = 0; j < np; j++)
                fprintf(out, " %s", d->params[pidx[j]].name);
            fprintf(out, ":");
            size_t pos[GIL_MAX_PARAMS] = {0};
            for (;;) {
                double v[GIL_MAX_PARAMS];
                gil_params_defaults(d, v);
                fputs(" ", out);
                for (size_t j = 0; j < np; j++) {
                    char val[64];
                    v[pidx[j]] = (double)pos[j];
                    gil_param_format(&d->params[pidx[j]], v[pidx[j]], val, sizeof val);
                    fprintf(out, "%s%s", j ? "," : "", val);
                }
                fprintf(out, " %s", gil_vm_safety_name(safety_of(d, v)));
                size_t j = np;
                while (j > 0 && ++pos[j - 1] == choices_of(&d->params[pidx[j - 1]]))
                    pos[--j] = 0;
                if (j == 0)
                    break;
                fputc(';', out);
            }
            fputc('\n', out);
        }
        if (d->nparams == 0)
            fprintf(out, "    parameters: none\n");
        for (size_t i = 0; i < d->nparams; i++) {
            const struct gil_param *p = &d->params[i];
            char def[48], allowed[160];
            gil_param_format(p, p->def, def, sizeof def);
            describe_allowed(p, allowed, sizeof allowed);
            fprintf(out, "    %-16s default %-7s unit %-6s allowed: %s\n        %s\n", p->name, def,
                    p->unit[0] ? p->unit : "-", allowed, p->help);
            if (p->sweep)
                fprintf(out, "        make sweep runs it over: %s\n", p->sweep);
        }
        if (dp[1])
            fputc('\n', out);
    }
    return ferror(out) ? -1 : 0;
}

/* "policies": every combination of the policy parameters' values (the others
   at their defaults), first parameter slowest, each with the assignments that
   make it and the vm_safety it gives. */
static void json_policies(FILE *out, const struct gil_design *d)
{
    size_t idx[GIL_MAX_PARAMS], np = policy_params(d, idx), pos[GIL_MAX_PARAMS] = {0};
    double v[GIL_MAX_PARAMS];
    json_key(out, "policies");
    fputc('[', out);
    for (bool first = true;; first = false) {
        gil_params_defaults(d, v);
        for (size_t j = 0; j < np; j++)
            v[idx[j]] = (double)pos[j];
        fputs(first ? "{" : ",{", out);
        json_key(out, "set");
        fputc('[', out);
        for (size_t j = 0; j < np; j++) {
            const struct gil_param *p = &d->params[idx[j]];
            char val[64], set[128];
            gil_param_format(p, v[idx[j]], val, sizeof val);
            snprintf(set, sizeof set, "%s=%s", p->name, val);
            if (j)
                fputc(',', out);
            json_str(out, set);
        }
        fputs("],", out);
        json_key(out, "vm_safety");
        json_str(out, gil_vm_safety_name(safety_of(d, v)));
        fputc('}', out);
        size_t j = np;   /* the next combination: an odometer, last parameter fastest */
        while (j > 0 && ++pos[j - 1] == choices_of(&d->params[idx[j - 1]]))
            pos[--j] = 0;
        if (j == 0)
            break;
    }
    fputc(']', out);
}

/* What the VM must do for itself under the design's default parameters. */
static void json_safety(FILE *out, const struct gil_design *d)
{
    double v[GIL_MAX_PARAMS];
    gil_params_defaults(d, v);
    json_key(out, "vm_safety");
    json_str(out, gil_vm_safety_name(d->vm_safety ? d->vm_safety(v) : GIL_VM_SERIAL));
}

int gil_designs_json(FILE *out)
{
    fputs("{\"designs\":[", out);
    for (const struct gil_design *const *dp = gil_designs; *dp; dp++) {
        const struct gil_design *d = *dp;
        fputs(dp == gil_designs ? "\n{" : ",\n{", out);
        json_key(out, "name"), json_str(out, d->name), fputc(',', out);
        json_key(out, "summary"), json_str(out, d->summary), fputc(',', out);
        json_key(out, "models"), json_str(out, d->models), fputc(',', out);
        json_key(out, "original"), json_str(out, d->original), fputc(',', out);
        json_key(out, "max_threads"), json_num(out, d->max_threads), fputc(',', out);
        json_key(out, "default"), fputs(d == gil_design_default ? "true," : "false,", out);
        json_safety(out, d);
        fputc(',', out);
        json_policies(out, d);
        fputc(',', out);
        json_key(out, "params");
        fputc('[', out);
        for (size_t i = 0; i < d->nparams; i++) {
            const struct gil_param *p = &d->params[i];
            char def[48], csv_def[48];
            gil_param_format(p, p->def, def, sizeof def);
            gil_param_format_csv(p, p->def, csv_def, sizeof csv_def);
            fputs(i ? ",{" : "{", out);
            json_key(out, "name"), json_str(out, p->name), fputc(',', out);
            json_key(out, "column"), json_str(out, p->name), fputc(',', out);
            json_key(out, "kind"), json_str(out, kind_name(p->kind)), fputc(',', out);
            json_key(out, "unit"), json_str(out, p->unit), fputc(',', out);
            json_key(out, "default"), json_str(out, def), fputc(',', out);
            json_key(out, "default_csv"), json_str(out, csv_def), fputc(',', out);
            if (gil_param_numeric(p)) {
                json_key(out, "min"), json_num(out, p->min), fputc(',', out);
                json_key(out, "max"), json_num(out, p->max), fputc(',', out);
            }
            if (p->kind == GIL_PARAM_ENUM) {
                json_key(out, "choices");
                fputc('[', out);
                for (const char *c = p->choices; *c;) {
                    size_t n = strcspn(c, "|");
                    char choice[64];
                    snprintf(choice, sizeof choice, "%.*s", (int)n, c);
                    json_str(out, choice);
                    c += n + (c[n] == '|');
                    if (*c)
                        fputc(',', out);
                }
                fputs("],", out);
            }
            json_key(out, "sweep"), json_str(out, p->sweep), fputc(',', out);
            json_key(out, "help"), json_str(out, p->help);
            fputc('}', out);
        }
        fputs("]}", out);
    }
    fputs("\n]}\n", out);
    return ferror(out) ? -1 : 0;
}
