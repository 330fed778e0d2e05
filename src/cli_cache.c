/* coach cache: where the phrase cache is, how full, its limit; and
 * 'coach cache clear'. Plain lines, one thing a line. Also the one warning
 * line a cache that cannot be written gives. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "coach/common.h"
#include "coach/phrasecache.h"
#include "coach/textsafe.h"
#include "coach/uptodate.h"

void cli_cache_warn(const char *message)
{
    char safe[1024]; /* holds a path from the environment */
    fprintf(stderr, "coach: warning: %s\n", text_safe(safe, sizeof safe, message));
}

int cmd_cache(int argc, char **argv)
{
    bool clear = argc == 1 && strcmp(argv[0], "clear") == 0;
    if (argc > 1 || (argc == 1 && !clear))
        return usage_error("cache takes nothing or 'clear', not '%s'", argv[argc > 1 ? 1 : 0]);
    uint64_t max = phrasecache_default_max_bytes();
    struct phrasecache *pc = NULL;
    /* shown even when the limit is 0 (the cache is off): it says so */
    int rc = phrasecache_open(&pc, NULL, max ? max : 1);
    if (rc) {
        fprintf(stderr, "coach: no cache directory: neither XDG_CACHE_HOME nor HOME is an "
                        "absolute path\n");
        return EXIT_NOTFOUND;
    }
    char dir[1024];
    text_safe(dir, sizeof dir, phrasecache_dir(pc));
    int st = EXIT_OK;
    if (clear) {
        size_t n;
        uint64_t bytes;
        if (phrasecache_clear(pc, &n, &bytes)) {
            fprintf(stderr, "coach: cannot clear %s: %s\n", dir, strerror(errno));
            st = EXIT_OUTPUT;
        }
        /* and what exports were written with: without the phrases, the
         * next export of each is done in full anyway */
        size_t records = 0;
        char *rd = uptodate_records_dir(phrasecache_dir(pc));
        if (!rd || uptodate_clear(rd, &records)) {
            fprintf(stderr, "coach: cannot clear %s/exports: %s\n", dir, strerror(errno));
            st = EXIT_OUTPUT;
        }
        free(rd);
        printf("removed %zu entries (%.1f MB) and %zu export records from %s\n", n,
               (double)bytes / 1e6, records, dir);
    } else {
        struct phrasecache_stats s;
        phrasecache_stats(pc, &s);
        printf("directory: %s%s\n", dir, s.exists ? "" : " (not made yet)");
        printf("entries: %zu\n", s.entries);
        printf("size: %.1f MB\n", (double)s.bytes / 1e6);
        if (max)
            printf("limit: %llu MB (COACH_CACHE_MAX_MB)\n", (unsigned long long)(max >> 20));
        else
            printf("limit: 0: the cache is off (COACH_CACHE_MAX_MB=0)\n");
    }
    phrasecache_close(pc);
    return st;
}
