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

int diags_add(struct coach_diags *d, const char *file, int line, const char *fmt, ...)
{
    if (d->len == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct coach_diag *p = realloc(d->items, cap * sizeof *p);
        if (!p) return COACH_ENOMEM;
        d->items = p;
        d->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *msg = n >= 0 ? malloc((size_t)n + 1) : NULL;
    char *f = coach_strdup(file ? file : "");
    if (!msg || !f) {
        free(msg);
        free(f);
        return COACH_ENOMEM;
    }
    va_start(ap, fmt);
    vsnprintf(msg, (size_t)n + 1, fmt, ap);
    va_end(ap);
    d->items[d->len++] = (struct coach_diag){.file = f, .line = line, .msg = msg};
    return 0;
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
