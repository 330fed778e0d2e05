/* Shared helpers for the unit tests. */
#include "testutil.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int test_failures;
int test_checks;

int test_done(void)
{
    printf("%d passed, %d failed\n", test_checks - test_failures, test_failures);
    return test_failures ? 1 : 0;
}

const char *test_src_path(const char *rel)
{
    static char buf[4][4096];
    static int k;
    const char *root = getenv("COACH_SOURCE_DIR");
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s", root ? root : ".", rel);
    return b;
}

static void mkdir_p(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0777);
            *p = '/';
        }
    }
    mkdir(tmp, 0777);
}

const char *test_tmpdir(const char *name)
{
    static char buf[4][4096];
    static int k;
    const char *root = getenv("COACH_TEST_TMP");
    char *b = buf[k++ & 3];
    snprintf(b, sizeof buf[0], "%s/%s.%ld", root ? root : "/tmp/coach-test", name, (long)getpid());
    mkdir_p(b);
    return b;
}

char *test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0;
    char *p = malloc(cap + 1);
    size_t r;
    while (p && (r = fread(p + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *q = realloc(p, cap * 2 + 1);
            if (!q) { free(p); p = NULL; break; }
            p = q;
            cap *= 2;
        }
    }
    fclose(f);
    if (!p) return NULL;
    p[n] = 0;
    if (len) *len = n;
    return p;
}
