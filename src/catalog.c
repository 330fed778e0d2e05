/* Finding routines and voice profiles: a path is used as given; a name is
 * looked up in the search directories (see include/coach/catalog.h). */
#define _POSIX_C_SOURCE 200809L
#include "coach/catalog.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/openfile.h"

static const char *sub(enum catalog_kind k) { return k == CATALOG_ROUTINES ? "routines" : "voices"; }

struct strv {
    char **v;
    size_t n, cap;
    bool oom;
};

static void strv_push_owned(struct strv *s, char *x)
{
    if (!x) {
        s->oom = true;
        return;
    }
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], x) == 0) { /* same directory twice: keep the first */
            free(x);
            return;
        }
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        char **v = realloc(s->v, cap * sizeof *v);
        if (!v) {
            free(x);
            s->oom = true;
            return;
        }
        s->v = v;
        s->cap = cap;
    }
    s->v[s->n++] = x;
}

void catalog_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* The directory holding the running binary, for a relocatable install
 * (bin/coach -> share/coach). */
static char *exe_dir(void)
{
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return NULL;
    buf[n] = 0;
    char *slash = strrchr(buf, '/');
    if (!slash) return NULL;
    *slash = 0;
    return coach_strdup(buf);
}

int catalog_dirs(enum catalog_kind kind, char ***dirs, size_t *n)
{
    struct strv s = {0};
    const char *k = sub(kind);
    const char *env = getenv("COACH_DATA_DIR");
    if (env && *env) strv_push_owned(&s, coach_asprintf("%s/%s", env, k));
    strv_push_owned(&s, coach_asprintf("%s", k));
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (xdg && *xdg == '/')
        strv_push_owned(&s, coach_asprintf("%s/coach/%s", xdg, k));
    else if (home && *home)
        strv_push_owned(&s, coach_asprintf("%s/.local/share/coach/%s", home, k));
    const char *dd = getenv("XDG_DATA_DIRS");
    if (!dd || !*dd) dd = "/usr/local/share:/usr/share";
    for (const char *p = dd; *p;) {
        const char *e = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && p[0] == '/') strv_push_owned(&s, coach_asprintf("%.*s/coach/%s", (int)len, p, k));
        p += len + (e ? 1 : 0);
    }
    char *exe = exe_dir();
    if (exe) {
        strv_push_owned(&s, coach_asprintf("%s/../share/coach/%s", exe, k));
        strv_push_owned(&s, coach_asprintf("%s/../%s", exe, k)); /* build dir in the source tree */
    }
    free(exe);
    strv_push_owned(&s, coach_asprintf("%s/%s", COACH_DATADIR, k));
    if (s.oom) {
        catalog_strv_free(s.v, s.n);
        return COACH_ENOMEM;
    }
    *dirs = s.v;
    *n = s.n;
    return 0;
}

static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static bool valid_name(const char *s)
{
    if (!*s || *s == '.') return false;
    for (; *s; s++)
        if (*s == '/') return false;
    return true;
}

/* NAME.ini in the search directories, the first that is a regular file
 * and not the one (skip_dev, skip_ino) when skip: its path in *path. */
static int find_in_dirs(enum catalog_kind kind, const char *name, bool skip,
                        unsigned long long skip_dev, unsigned long long skip_ino, char **path)
{
    if (!valid_name(name)) return COACH_ENOTFOUND;
    char **dirs;
    size_t n;
    int rc = catalog_dirs(kind, &dirs, &n);
    if (rc) return rc;
    rc = COACH_ENOTFOUND;
    for (size_t i = 0; i < n && rc == COACH_ENOTFOUND; i++) {
        char *p = coach_asprintf("%s/%s.ini", dirs[i], name);
        struct stat st;
        if (!p) {
            rc = COACH_ENOMEM;
        } else if (stat(p, &st) == 0 && S_ISREG(st.st_mode) &&
                   !(skip && (unsigned long long)st.st_dev == skip_dev &&
                     (unsigned long long)st.st_ino == skip_ino)) {
            *path = p;
            rc = 0;
        } else {
            free(p);
        }
    }
    catalog_strv_free(dirs, n);
    return rc;
}

int catalog_find(enum catalog_kind kind, const char *arg, char **path)
{
    size_t len = strlen(arg);
    bool looks_like_path = strchr(arg, '/') || (len > 4 && strcmp(arg + len - 4, ".ini") == 0);
    if (looks_like_path || is_file(arg)) {
        if (!is_file(arg)) return COACH_ENOTFOUND;
        *path = coach_strdup(arg);
        return *path ? 0 : COACH_ENOMEM;
    }
    return find_in_dirs(kind, arg, false, 0, 0, path);
}

int catalog_find_other(enum catalog_kind kind, const char *name, unsigned long long skip_dev,
                       unsigned long long skip_ino, char **path)
{
    return find_in_dirs(kind, name, true, skip_dev, skip_ino, path);
}

/* The usable entries of a listing so far: names and their files. */
struct entries {
    char **names, **paths;
    size_t n, cap;
};

/* Takes name and path (both heap) unless the name is known already (an
 * earlier directory wins). Returns 0 or COACH_ENOMEM; frees what it does
 * not keep. */
static int entries_add(struct entries *es, char *name, char *path)
{
    for (size_t k = 0; k < es->n; k++)
        if (strcmp(es->names[k], name) == 0) {
            free(name);
            free(path);
            return 0;
        }
    if (es->n == es->cap) {
        size_t cap = es->cap ? es->cap * 2 : 16;
        char **nm = realloc(es->names, cap * sizeof *nm);
        if (nm) es->names = nm;
        char **ps = nm ? realloc(es->paths, cap * sizeof *ps) : NULL;
        if (ps) es->paths = ps;
        if (!nm || !ps) {
            free(name);
            free(path);
            return COACH_ENOMEM;
        }
        es->cap = cap;
    }
    es->names[es->n] = name;
    es->paths[es->n++] = path;
    return 0;
}

/* Why path (a *.ini entry) cannot be listed, or NULL if it is a regular
 * file or a link to one. */
static const char *unusable(const char *path, char *buf, size_t cap)
{
    struct stat st;
    if (stat(path, &st) == 0) return S_ISREG(st.st_mode) ? NULL : coach_file_kind(st.st_mode);
    int e = errno;
    if (e == ENOENT && lstat(path, &st) == 0 && S_ISLNK(st.st_mode))
        return "a dangling symbolic link";
    snprintf(buf, cap, "cannot be read: %s", strerror(e));
    return buf;
}

/* Sorts names by name, carrying paths along (insertion sort: a catalog
 * holds tens of files). */
static void entries_sort(struct entries *es)
{
    for (size_t i = 1; i < es->n; i++) {
        char *nm = es->names[i], *ps = es->paths[i];
        size_t j = i;
        for (; j > 0 && strcmp(es->names[j - 1], nm) > 0; j--) {
            es->names[j] = es->names[j - 1];
            es->paths[j] = es->paths[j - 1];
        }
        es->names[j] = nm;
        es->paths[j] = ps;
    }
}

int catalog_list_checked(enum catalog_kind kind, char ***names, char ***paths, size_t *n,
                         catalog_skip_fn skip, void *ctx)
{
    char **dirs;
    size_t nd;
    int rc = catalog_dirs(kind, &dirs, &nd);
    if (rc) return rc;
    struct entries es = {0};
    for (size_t i = 0; i < nd && !rc; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d) continue;
        struct dirent *e;
        while (!rc && (e = readdir(d))) {
            size_t l = strlen(e->d_name);
            if (l <= 4 || e->d_name[0] == '.' || strcmp(e->d_name + l - 4, ".ini") != 0) continue;
            char *path = coach_asprintf("%s/%s", dirs[i], e->d_name);
            char why_buf[160];
            const char *why = path ? unusable(path, why_buf, sizeof why_buf) : NULL;
            if (why) {
                /* a stray entry (a dangling link, a directory, a FIFO) is
                 * passed over: it never hides the files around it */
                if (skip) skip(ctx, path, why);
                free(path);
                continue;
            }
            char *name = coach_asprintf("%.*s", (int)(l - 4), e->d_name);
            if (!path || !name) {
                free(path);
                free(name);
                rc = COACH_ENOMEM;
            } else {
                rc = entries_add(&es, name, path);
            }
        }
        closedir(d);
    }
    catalog_strv_free(dirs, nd);
    if (!rc && !es.n) { /* callers free what they get, even when empty */
        es.names = calloc(1, sizeof *es.names);
        es.paths = calloc(1, sizeof *es.paths);
        if (!es.names || !es.paths) rc = COACH_ENOMEM;
    }
    if (rc) {
        catalog_strv_free(es.names, es.n);
        catalog_strv_free(es.paths, es.n);
        return rc;
    }
    entries_sort(&es);
    *names = es.names;
    *paths = es.paths;
    *n = es.n;
    return 0;
}

int catalog_list(enum catalog_kind kind, char ***names, char ***paths, size_t *n)
{
    return catalog_list_checked(kind, names, paths, n, NULL, NULL);
}
