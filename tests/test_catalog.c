/* The catalog among stray entries (issue 10): a dangling symbolic link, a
 * directory and a FIFO named *.ini in a search directory are passed over,
 * each told to the caller with its path and why, and the routines and
 * voice profiles around them are still listed (they once made every
 * listing fail as "out of memory"); the menu loads the rest. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/catalog.h"
#include "coach/common.h"
#include "coach/menu.h"
#include "testutil.h"

struct skips {
    char text[4096]; /* "path: why\n" for each */
    int n;
};

static void on_skip(void *ctx, const char *path, const char *why)
{
    struct skips *s = ctx;
    size_t l = strlen(s->text);
    snprintf(s->text + l, sizeof s->text - l, "%s: %s\n", path, why);
    s->n++;
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECKF(f != NULL, "cannot write %s", path);
    if (f) {
        fputs(text, f);
        fclose(f);
    }
}

/* Three strays in dir: dangle.ini, dir.ini, fifo.ini. */
static void strays(const char *dir)
{
    char p[600];
    snprintf(p, sizeof p, "%s/dangle.ini", dir);
    CHECK(symlink("/nonexistent/coach/gone.ini", p) == 0);
    snprintf(p, sizeof p, "%s/dir.ini", dir);
    CHECK(mkdir(p, 0700) == 0);
    snprintf(p, sizeof p, "%s/fifo.ini", dir);
    CHECK(mkfifo(p, 0600) == 0);
}

static int has(const char *text, const char *dir, const char *file, const char *why)
{
    char line[700];
    snprintf(line, sizeof line, "%s/%s: %s\n", dir, file, why);
    return strstr(text, line) != NULL;
}

int main(void)
{
    alarm(60);
    const char *root = test_tmpdir("catalog");
    char routines[600], voices[600], p[700];
    snprintf(routines, sizeof routines, "%s/routines", root);
    snprintf(voices, sizeof voices, "%s/voices", root);
    CHECK(mkdir(routines, 0700) == 0 && mkdir(voices, 0700) == 0);
    setenv("COACH_DATA_DIR", root, 1);
    setenv("HOME", root, 1);
    setenv("XDG_DATA_HOME", "", 1);
    setenv("XDG_DATA_DIRS", "/nonexistent", 1);

    snprintf(p, sizeof p, "%s/good.ini", routines);
    put(p, "[routine]\ntitle = Good\n[say a]\ntext = Hello.\n");
    snprintf(p, sizeof p, "%s/linked.ini", routines);
    CHECK(symlink("good.ini", p) == 0); /* a link to a file is a file */
    size_t len = 0;
    char *en = test_read_file(test_src_path("voices/en-us.ini"), &len);
    CHECK(en != NULL);
    snprintf(p, sizeof p, "%s/en-us.ini", voices);
    if (en) put(p, en);
    free(en);
    strays(routines);
    strays(voices);

    /* routines: the two files, the three strays told */
    char **names = NULL, **paths = NULL;
    size_t n = 0;
    CHECK(catalog_list(CATALOG_ROUTINES, &names, &paths, &n) == 0);
    CHECKF(n == 2 && strcmp(names[0], "good") == 0 && strcmp(names[1], "linked") == 0,
           "%zu routines", n);
    if (n == 2) {
        snprintf(p, sizeof p, "%s/good.ini", routines);
        CHECK(strcmp(paths[0], p) == 0);
    }
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);

    struct skips s = {.n = 0};
    CHECK(catalog_list_checked(CATALOG_ROUTINES, &names, &paths, &n, on_skip, &s) == 0);
    CHECK(n == 2);
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    CHECKF(s.n == 3, "%d skipped:\n%s", s.n, s.text);
    CHECKF(has(s.text, routines, "dangle.ini", "a dangling symbolic link"), "%s", s.text);
    CHECKF(has(s.text, routines, "dir.ini", "a directory"), "%s", s.text);
    CHECKF(has(s.text, routines, "fifo.ini", "a FIFO (named pipe)"), "%s", s.text);

    /* voices: the same */
    s = (struct skips){.n = 0};
    CHECK(catalog_list_checked(CATALOG_VOICES, &names, &paths, &n, on_skip, &s) == 0);
    CHECKF(n == 1 && strcmp(names[0], "en-us") == 0, "%zu voices", n);
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    CHECKF(s.n == 3, "%d skipped:\n%s", s.n, s.text);

    /* a stray never hides a file of its name further down the search */
    char xdg[600], shadow[700], stray[700];
    snprintf(xdg, sizeof xdg, "%s/xdg", root);
    setenv("XDG_DATA_HOME", xdg, 1);
    snprintf(shadow, sizeof shadow, "%s/xdg/coach", root);
    CHECK(mkdir(xdg, 0700) == 0 && mkdir(shadow, 0700) == 0);
    snprintf(shadow, sizeof shadow, "%s/xdg/coach/routines", root);
    CHECK(mkdir(shadow, 0700) == 0);
    snprintf(shadow, sizeof shadow, "%s/xdg/coach/routines/shadow.ini", root);
    put(shadow, "[routine]\ntitle = Shadow\n[say a]\ntext = Hello.\n");
    snprintf(stray, sizeof stray, "%s/shadow.ini", routines);
    CHECK(symlink("/nonexistent/coach/gone.ini", stray) == 0);
    s = (struct skips){.n = 0};
    CHECK(catalog_list_checked(CATALOG_ROUTINES, &names, &paths, &n, on_skip, &s) == 0);
    CHECKF(n == 3 && strcmp(names[2], "shadow") == 0 && strcmp(paths[2], shadow) == 0,
           "%zu routines", n);
    catalog_strv_free(names, n);
    catalog_strv_free(paths, n);
    CHECK(s.n == 4 && has(s.text, routines, "shadow.ini", "a dangling symbolic link"));
    char *found = NULL;
    CHECK(catalog_find(CATALOG_ROUTINES, "shadow", &found) == 0 && found &&
          strcmp(found, shadow) == 0);
    free(found);

    /* the menu offers what is there */
    struct menu m;
    s = (struct skips){.n = 0};
    CHECK(menu_load_checked(&m, -1, NULL, false, on_skip, &s) == 0);
    CHECKF(m.n == 3 && m.skipped == 0, "menu: %zu items, %zu skipped", m.n, m.skipped);
    CHECK(s.n == 4);
    menu_free(&m);
    CHECK(menu_load(&m, -1, NULL) == 0 && m.n == 3);
    menu_free(&m);
    return test_done();
}
