/* Tests for export_lock (export.h): a set of targets is held by one writer
 * at a time (a second gets EBUSY and holds nothing), a path named twice is
 * held once, the lock files go at unlock; orphaned temporary files of the
 * targets (nobody holds them locked) are removed, while a held one, a
 * user's look-alike (".x.wav.backup", a wrong length) and another target's
 * stay; a sidecar's temporary file stays locked until its commit; a name
 * of 255 bytes gets hidden files that fit NAME_MAX. */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "coach/common.h"
#include "coach/export.h"
#include "testutil.h"

static void touch(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    CHECKF(f != NULL, "%s: %s", path, strerror(errno));
    if (f) {
        fputs("partial\n", f);
        fclose(f);
    }
}

static int exists(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

/* Whether every entry of dir has a name of at most max bytes. */
static int names_fit(const char *dir, size_t max)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int ok = 1;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strlen(e->d_name) > max) ok = 0;
    closedir(d);
    return ok;
}

static void test_busy(void)
{
    const char *dir = test_tmpdir("lock-busy");
    char a[4096], v[4096], err[256];
    snprintf(a, sizeof a, "%s/x.wav", dir);
    snprintf(v, sizeof v, "%s/x.vtt", dir);
    const char *set[] = {a, v, NULL};
    struct export_lock one, two;
    size_t bad = 9;
    CHECK(export_lock(&one, set, 3, &bad, err, sizeof err) == 0);
    CHECK(exists(dir, ".x.wav.coach-lock") && exists(dir, ".x.vtt.coach-lock"));
    /* a second writer (another open file description): refused, for any
     * file of the set, and it holds nothing afterwards */
    const char *other[] = {NULL, v};
    errno = 0;
    CHECK(export_lock(&two, other, 2, &bad, err, sizeof err) == COACH_EIO);
    CHECKF(errno == EBUSY && bad == 1 && strstr(err, "another coach is writing"), "%d %zu %s",
           errno, bad, err);
    CHECK(two.n == 0);
    export_unlock(&one);
    CHECK(count_entries(dir) == 0); /* the lock files went */
    CHECK(export_lock(&two, other, 2, &bad, err, sizeof err) == 0);
    export_unlock(&two);
    /* the same path twice (or spelled another way): held once */
    char a2[4096];
    snprintf(a2, sizeof a2, "%s/./x.wav", dir);
    const char *twice[] = {a, a2, a};
    CHECKF(export_lock(&one, twice, 3, &bad, err, sizeof err) == 0, "%s", err);
    CHECK(count_entries(dir) == 1);
    export_unlock(&one);
    CHECK(count_entries(dir) == 0);
    export_unlock(&one); /* twice: harmless */
}

static void test_orphans(void)
{
    const char *dir = test_tmpdir("lock-orphans");
    char a[4096], err[256];
    snprintf(a, sizeof a, "%s/x.wav", dir);
    touch(dir, ".x.wav.coach-Ab12Cd"); /* an orphan */
    touch(dir, ".x.wav.coach-lock");   /* a killed coach's lock: taken over */
    touch(dir, ".x.wav.coach-Ef34Gh"); /* held by a live writer (below) */
    touch(dir, ".x.wav.backup");       /* the user's */
    touch(dir, ".x.wav.coach-Ab12C");  /* not our shape */
    touch(dir, ".x.wav.coach-Ab1-Cd"); /* not our shape */
    touch(dir, ".y.wav.coach-Ab12Cd"); /* another target's orphan */
    touch(dir, "x.wav");               /* the target itself */
    char held[4096];
    snprintf(held, sizeof held, "%s/.x.wav.coach-Ef34Gh", dir);
    int fd = open(held, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0);
    const char *set[] = {a};
    struct export_lock l;
    CHECK(export_lock(&l, set, 1, NULL, err, sizeof err) == 0);
    CHECK(!exists(dir, ".x.wav.coach-Ab12Cd"));
    CHECK(exists(dir, ".x.wav.coach-Ef34Gh") && exists(dir, ".x.wav.backup"));
    CHECK(exists(dir, ".x.wav.coach-Ab12C") && exists(dir, ".x.wav.coach-Ab1-Cd"));
    CHECK(exists(dir, ".y.wav.coach-Ab12Cd") && exists(dir, "x.wav"));
    export_unlock(&l);
    CHECK(!exists(dir, ".x.wav.coach-lock"));
    close(fd);

    /* a sidecar's temporary file stays locked from open to commit, even
     * once closed: a second coach's export_lock leaves it alone */
    char v[4096];
    snprintf(v, sizeof v, "%s/s.vtt", dir);
    struct export_sidecar sc;
    CHECK(export_sidecar_open(&sc, v, err, sizeof err) == 0);
    CHECK(sc.f && fputs("WEBVTT\n", sc.f) >= 0);
    CHECK(export_sidecar_close(&sc, err, sizeof err) == 0);
    const char *vset[] = {v};
    CHECK(export_lock(&l, vset, 1, NULL, err, sizeof err) == 0);
    CHECKF(sc.tmp && access(sc.tmp, F_OK) == 0, "a live sidecar's file was removed");
    export_unlock(&l);
    CHECK(export_sidecar_commit(&sc, err, sizeof err) == 0);
    char *got = test_read_file(v, NULL);
    CHECK(got && strcmp(got, "WEBVTT\n") == 0);
    free(got);
}

static void test_long_names(void)
{
    const char *dir = test_tmpdir("lock-long");
    char base[256], path[4096], err[256];
    memset(base, 'n', 251);
    strcpy(base + 251, ".vtt"); /* 255 bytes */
    snprintf(path, sizeof path, "%s/%s", dir, base);
    const char *set[] = {path};
    struct export_lock l;
    CHECKF(export_lock(&l, set, 1, NULL, err, sizeof err) == 0, "%s", err);
    struct export_sidecar sc;
    CHECKF(export_sidecar_open(&sc, path, err, sizeof err) == 0, "%s", err);
    CHECK(count_entries(dir) == 2 && names_fit(dir, 255));
    CHECK(sc.f && fputs("WEBVTT\n", sc.f) >= 0);
    CHECKF(export_sidecar_commit(&sc, err, sizeof err) == 0, "%s", err);
    export_unlock(&l);
    CHECK(count_entries(dir) == 1 && exists(dir, base));
    /* two long names that differ only at the end get different stems */
    char b2[4096];
    snprintf(b2, sizeof b2, "%s/%.*sx.vtt", dir, 250, base);
    const char *both[] = {path, b2};
    CHECKF(export_lock(&l, both, 2, NULL, err, sizeof err) == 0, "%s", err);
    CHECK(count_entries(dir) == 3); /* the file and two lock files */
    export_unlock(&l);
    /* a name that cannot exist: a clear reason */
    char huge[301];
    memset(huge, 'n', 296);
    strcpy(huge + 296, ".vtt");
    snprintf(path, sizeof path, "%s/%s", dir, huge);
    CHECK(export_check_target(path, err, sizeof err) != 0);
    CHECKF(strstr(err, "the file name is too long") != NULL, "%s", err);
}

int main(void)
{
    test_busy();
    test_orphans();
    test_long_names();
    return test_done();
}
