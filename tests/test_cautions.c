/* The safety advice of the shipped routines (issue 12, part 4): every
 * routines/NAME.ini carries each requirement of tests/cautions/NAME.txt
 * (the articles' cautions for its exercises, the red flags in full), and
 * every routine has such a list. A translation (NAME.LANG.ini) keeps the
 * original's shape: as many cautions, the same steps in the same order,
 * each with the same kinds of advice (setup lines, cue, tip, finish), so
 * a caution added to one is not forgotten in another. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/routine.h"
#include "testutil.h"

/* ASCII-case-insensitive substring (UTF-8 bytes compared as they are). */
static bool has(const char *hay, const char *needle)
{
    if (!hay) return false;
    size_t n = strlen(needle);
    for (const char *h = hay; *h; h++) {
        size_t i = 0;
        for (; i < n && h[i]; i++) {
            char a = h[i], b = needle[i];
            if (a >= 'A' && a <= 'Z') a = (char)(a - 'A' + 'a');
            if (b >= 'A' && b <= 'Z') b = (char)(b - 'A' + 'a');
            if (a != b) break;
        }
        if (i == n) return true;
    }
    return false;
}

static bool list_has(const struct strlist *l, const char *t)
{
    for (size_t i = 0; i < l->len; i++)
        if (has(l->items[i], t)) return true;
    return false;
}

static const struct step *find_step(const struct routine *r, const char *id)
{
    for (size_t i = 0; i < r->n_steps; i++)
        if (r->steps[i].id && strcmp(r->steps[i].id, id) == 0) return &r->steps[i];
    return NULL;
}

static bool step_has(const struct step *s, const char *t)
{
    return list_has(&s->setup, t) || has(s->cue, t) || has(s->tip, t) || has(s->finish, t) ||
           has(s->text, t);
}

/* Checks routine name (routines/NAME.ini) against tests/cautions/NAME.txt;
 * returns the number of requirements read. */
static int check_one(const char *name)
{
    char path[512], list[512];
    snprintf(path, sizeof path, "routines/%s.ini", name);
    snprintf(list, sizeof list, "tests/cautions/%s.txt", name);
    struct routine r;
    struct coach_diags d;
    diags_init(&d);
    int rc = routine_load(test_src_path(path), &r, &d);
    diags_print(&d, stderr);
    diags_free(&d);
    CHECKF(rc == 0, "%s does not load", path);
    char *text = test_read_file(test_src_path(list), NULL);
    CHECKF(text != NULL, "%s has no list of required cautions (%s)", path, list);
    int n = 0;
    for (char *line = text ? strtok(text, "\n") : NULL; !rc && line; line = strtok(NULL, "\n")) {
        if (line[0] == '#' || line[0] == 0) continue;
        char *colon = strstr(line, ": ");
        CHECKF(colon != NULL, "%s: not 'WHERE: TEXT': %s", list, line);
        if (!colon) continue;
        *colon = 0;
        const char *where = line, *want = colon + 2;
        n++;
        if (strcmp(where, "caution") == 0) {
            CHECKF(list_has(&r.cautions, want), "%s: no caution says \"%s\"", path, want);
        } else {
            const struct step *s = find_step(&r, where);
            CHECKF(s != NULL, "%s: no step '%s' (%s)", path, where, list);
            if (s) CHECKF(step_has(s, want), "%s: step '%s' does not say \"%s\"", path, where, want);
        }
    }
    CHECKF(text == NULL || n > 0, "%s lists nothing", list);
    free(text);
    if (!rc) routine_free(&r);
    return n;
}

/* NAME.LANG against NAME: the same shape. */
static void same_shape(const char *lang_name)
{
    char base[256], a[512], b[512];
    snprintf(base, sizeof base, "%s", lang_name);
    *strchr(base, '.') = 0;
    snprintf(a, sizeof a, "routines/%s.ini", base);
    snprintf(b, sizeof b, "routines/%s.ini", lang_name);
    struct routine x, y;
    struct coach_diags d;
    diags_init(&d);
    int rx = routine_load(test_src_path(a), &x, &d), ry = routine_load(test_src_path(b), &y, &d);
    diags_free(&d);
    CHECKF(rx == 0 && ry == 0, "%s or %s does not load", a, b);
    if (rx || ry) {
        if (!rx) routine_free(&x);
        if (!ry) routine_free(&y);
        return;
    }
    CHECKF(x.cautions.len == y.cautions.len, "%s has %zu cautions, %s %zu", b, y.cautions.len, a,
           x.cautions.len);
    CHECKF(x.n_steps == y.n_steps, "%s has %zu steps, %s %zu", b, y.n_steps, a, x.n_steps);
    for (size_t i = 0; i < x.n_steps && i < y.n_steps; i++) {
        const struct step *s = &x.steps[i], *t = &y.steps[i];
        CHECKF(s->kind == t->kind && strcmp(s->id, t->id) == 0 && !s->setup.len == !t->setup.len &&
                   !s->cue == !t->cue && !s->tip == !t->tip && !s->finish == !t->finish,
               "%s: step %zu ('%s') differs in shape from %s ('%s')", b, i + 1, t->id, a, s->id);
    }
    routine_free(&x);
    routine_free(&y);
}

int main(void)
{
    DIR *dir = opendir(test_src_path("routines"));
    CHECK(dir != NULL);
    int routines = 0;
    struct dirent *e;
    while (dir && (e = readdir(dir))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".ini") != 0) continue;
        char name[256];
        snprintf(name, sizeof name, "%.*s", (int)(n - 4), e->d_name);
        int req = check_one(name);
        CHECKF(req >= 3, "routines/%s.ini: only %d required cautions listed", name, req);
        if (strchr(name, '.')) same_shape(name);
        routines++;
    }
    if (dir) closedir(dir);
    CHECKF(routines >= 10, "only %d routines", routines);

    /* every list belongs to a routine */
    dir = opendir(test_src_path("tests/cautions"));
    CHECK(dir != NULL);
    while (dir && (e = readdir(dir))) {
        size_t n = strlen(e->d_name);
        if (n < 5 || strcmp(e->d_name + n - 4, ".txt") != 0) continue;
        char path[512];
        snprintf(path, sizeof path, "routines/%.*s.ini", (int)(n - 4), e->d_name);
        char *t = test_read_file(test_src_path(path), NULL);
        CHECKF(t != NULL, "tests/cautions/%s has no %s", e->d_name, path);
        free(t);
    }
    if (dir) closedir(dir);

    /* the test itself: a missing caution is found */
    struct routine r;
    struct coach_diags d;
    diags_init(&d);
    const char *t = "[routine]\ntitle = T\ncaution = Stop if it hurts.\n[exercise a]\nname = A\n"
                    "tip = Keep your back flat.\nhold = 5\n";
    CHECK(routine_parse("t.ini", t, strlen(t), &r, &d) == 0);
    CHECK(list_has(&r.cautions, "STOP IF IT HURTS") && !list_has(&r.cautions, "loss of bladder"));
    CHECK(step_has(find_step(&r, "a"), "back flat") && !step_has(find_step(&r, "a"), "fever"));
    routine_free(&r);
    diags_free(&d);
    return test_done();
}
