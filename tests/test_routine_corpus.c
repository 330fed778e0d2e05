/* Golden tests for routine errors: every tests/bad/NAME.ini must fail to
 * parse with exactly the messages in tests/bad/NAME.err (sorted, printed as
 * "tests/bad/NAME.ini:line: message"); a tests/bad/warn-NAME.ini is read
 * (it has warnings only) with exactly those warnings. A .ini without a .err, or a .err
 * without a .ini, is a failure too. With COACH_REGEN_ERR=1 the .err files
 * are rewritten from the current output instead (review the diff!). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/routine.h"
#include "testutil.h"

static char *dup_n(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    memcpy(c, s, n);
    c[n] = 0;
    return c;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in tests/bad ending in ext, sorted; returns the count. */
static size_t list(const char *ext, char ***out)
{
    DIR *dir = opendir(test_src_path("tests/bad"));
    size_t n = 0, cap = 0;
    char **v = NULL;
    CHECKF(dir != NULL, "cannot open %s", test_src_path("tests/bad"));
    if (!dir) {
        *out = NULL;
        return 0;
    }
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name), el = strlen(ext);
        if (len <= el || strcmp(e->d_name + len - el, ext) != 0) continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            v = realloc(v, cap * sizeof *v);
        }
        v[n++] = dup_n(e->d_name, len - el);
    }
    closedir(dir);
    if (n) qsort(v, n, sizeof *v, by_name);
    *out = v;
    return n;
}

int main(void)
{
    int regen = getenv("COACH_REGEN_ERR") && strcmp(getenv("COACH_REGEN_ERR"), "1") == 0;
    char **inis, **errs;
    size_t n_ini = list(".ini", &inis), n_err = list(".err", &errs);
    CHECKF(n_ini >= 35, "only %zu bad files", n_ini);

    for (size_t i = 0; i < n_ini; i++) {
        char rel[600], err_rel[600];
        snprintf(rel, sizeof rel, "tests/bad/%s.ini", inis[i]);
        snprintf(err_rel, sizeof err_rel, "tests/bad/%s.err", inis[i]);
        size_t len = 0;
        char *text = test_read_file(test_src_path(rel), &len);
        CHECKF(text != NULL, "cannot read %s", rel);
        if (!text) continue;

        struct routine r;
        struct coach_diags d;
        diags_init(&d);
        int rc = routine_parse(rel, text, len, &r, &d);
        if (strncmp(inis[i], "warn-", 5) == 0) {
            CHECKF(rc == 0 && d.len > 0 && diags_warnings(&d) == d.len,
                   "%s: rc %d, %zu messages, %zu warnings", rel, rc, d.len, diags_warnings(&d));
        } else {
            CHECKF(rc == COACH_EINVAL, "%s: rc %d, want %d", rel, rc, COACH_EINVAL);
            CHECK(r.steps == NULL && r.n_steps == 0);
        }
        diags_sort(&d);
        char *got = NULL;
        size_t got_len = 0;
        FILE *f = open_memstream(&got, &got_len);
        diags_print(&d, f);
        fclose(f);

        if (regen) {
            FILE *o = fopen(test_src_path(err_rel), "wb");
            CHECKF(o != NULL, "cannot write %s", err_rel);
            if (o) {
                fwrite(got, 1, got_len, o);
                fclose(o);
            }
        } else {
            size_t want_len = 0;
            char *want = test_read_file(test_src_path(err_rel), &want_len);
            CHECKF(want != NULL, "%s has no %s", rel, err_rel);
            if (want) {
                int same = want_len == got_len && memcmp(want, got, got_len) == 0;
                CHECKF(same, "%s: messages differ\n--- got:\n%s--- want (%s):\n%s", rel, got,
                       err_rel, want);
            }
            free(want);
        }
        free(got);
        diags_free(&d);
        routine_free(&r);
        free(text);
    }

    /* every .err belongs to a .ini */
    for (size_t i = 0; i < n_err; i++) {
        char **hit = n_ini == 0 ? NULL : bsearch(&errs[i], inis, n_ini, sizeof *inis, by_name);
        CHECKF(hit != NULL, "tests/bad/%s.err has no tests/bad/%s.ini", errs[i], errs[i]);
    }
    for (size_t i = 0; i < n_ini; i++)
        free(inis[i]);
    for (size_t i = 0; i < n_err; i++)
        free(errs[i]);
    free(inis);
    free(errs);
    return test_done();
}
