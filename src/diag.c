/* Diagnostics list: collect every problem of an input file, then print them
 * in line order as "file:line: message". */
#include "coach/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/textsafe.h"

void diags_init(struct coach_diags *d) { memset(d, 0, sizeof *d); }

void diags_free(struct coach_diags *d)
{
    for (size_t i = 0; i < d->len; i++) {
        free(d->items[i].file);
        free(d->items[i].msg);
    }
    free(d->items);
    memset(d, 0, sizeof *d);
}

static int add(struct coach_diags *d, const char *file, int line, int warning, const char *fmt,
               va_list ap0)
{
    if (d->len == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct coach_diag *p = realloc(d->items, cap * sizeof *p);
        if (!p) return COACH_ENOMEM;
        d->items = p;
        d->cap = cap;
    }
    const char *prefix = warning ? "warning: " : "";
    size_t pre = strlen(prefix);
    va_list ap;
    va_copy(ap, ap0);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = n >= 0 ? malloc(pre + (size_t)n + 1) : NULL;
    char *f = coach_strdup(file ? file : "");
    if (!msg || !f) {
        free(msg);
        free(f);
        return COACH_ENOMEM;
    }
    memcpy(msg, prefix, pre);
    va_copy(ap, ap0);
    vsnprintf(msg + pre, (size_t)n + 1, fmt, ap);
    va_end(ap);
    d->items[d->len++] = (struct coach_diag){.file = f, .line = line, .msg = msg, .warning = warning};
    return 0;
}

int diags_add(struct coach_diags *d, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = add(d, file, line, 0, fmt, ap);
    va_end(ap);
    return rc;
}

int diags_warn(struct coach_diags *d, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = add(d, file, line, 1, fmt, ap);
    va_end(ap);
    return rc;
}

size_t diags_warnings(const struct coach_diags *d)
{
    size_t n = 0;
    for (size_t i = 0; i < d->len; i++) n += d->items[i].warning != 0;
    return n;
}

/* Insertion sort: lists are short and it is stable. Files keep the order in
 * which they first appear. */
void diags_sort(struct coach_diags *d)
{
    for (size_t i = 1; i < d->len; i++) {
        struct coach_diag x = d->items[i];
        size_t j = i;
        while (j > 0 && strcmp(d->items[j - 1].file, x.file) == 0 && d->items[j - 1].line > x.line) {
            d->items[j] = d->items[j - 1];
            j--;
        }
        d->items[j] = x;
    }
}

void diags_print(const struct coach_diags *d, FILE *out)
{
    for (size_t i = 0; i < d->len; i++) {
        const struct coach_diag *x = &d->items[i];
        /* a file name can hold anything, even an escape sequence */
        text_fput_safe(x->file, out);
        if (x->line > 0) fprintf(out, ":%d", x->line);
        fputs(": ", out);
        text_fput_safe(x->msg, out);
        fputc('\n', out);
    }
}
