/* uptodate.h: the key of an export changes with anything its bytes are made
 * from (an event, a chapter's title, an option, one byte of a clip's
 * source) and with nothing else; a record says fresh only for the file as
 * it was recorded, with the same key; damaged, missing and unwritable
 * records only make an export happen. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "coach/clips.h"
#include "coach/common.h"
#include "coach/export.h"
#include "coach/speech.h"
#include "coach/timeline.h"
#include "coach/uptodate.h"
#include "testutil.h"

static char *title0;

static void build(struct timeline *tl, struct clipstore *cs)
{
    memset(tl, 0, sizeof *tl);
    tl->rate_hz = cs->rate_hz;
    uint32_t a, b;
    uint64_t la, lb;
    CHECK(clipstore_intern(cs, "Lie on your back.", &a, &la) == 0);
    CHECK(clipstore_intern(cs, "Hug both knees.", &b, &lb) == 0);
    tl->cap_ev = 4;
    tl->ev = calloc(tl->cap_ev, sizeof *tl->ev);
    tl->ev[tl->n_ev++] = (struct event){.frame = 100, .len_frames = la, .clip = a, .kind = EV_SPEECH};
    tl->ev[tl->n_ev++] = (struct event){.frame = 100 + la, .len_frames = 4800, .kind = EV_BEEP};
    tl->ev[tl->n_ev++] = (struct event){.frame = 48000, .len_frames = lb, .clip = b, .kind = EV_SPEECH};
    tl->len_frames = 48000 + lb + 4800;
    tl->n_clips = cs->len;
    tl->cap_ch = 1;
    tl->ch = calloc(1, sizeof *tl->ch);
    title0 = coach_strdup("Knee hug");
    tl->ch[tl->n_ch++] = (struct chapter){.frame = 0, .end_frame = tl->len_frames, .step = 0,
                                          .title = title0};
}

static void key_of(const struct timeline *tl, const struct clipstore *cs, const struct export_opts *o,
                   char *k)
{
    CHECK(uptodate_key(tl, cs, o, k) == 0);
    CHECK(strlen(k) == UPTODATE_KEY_HEX);
}

static void test_key(struct clipstore *cs)
{
    struct timeline tl;
    build(&tl, cs);
    struct export_opts o = {.format = EXPORT_FLAC, .channels = 1, .title = "T", .artist = "coach"};
    char k0[UPTODATE_KEY_HEX + 1], k[UPTODATE_KEY_HEX + 1];
    key_of(&tl, cs, &o, k0);
    key_of(&tl, cs, &o, k);
    CHECKF(!strcmp(k, k0), "the same export, two keys: %s %s", k0, k);

    /* made on a thread: the same key */
    struct uptodate_job *job = NULL;
    CHECK(uptodate_key_start(&job, &tl, cs, &o) == 0);
    CHECK(uptodate_key_finish(job, k) == 0);
    CHECK(!strcmp(k, k0));
    CHECK(uptodate_key_finish(NULL, k) == COACH_EINVAL && k[0] == 0);

    /* what is not in the file (a progress callback) does not count */
    o.progress_ctx = &o;
    key_of(&tl, cs, &o, k);
    CHECK(!strcmp(k, k0));
    o.progress_ctx = NULL;

    /* an event one frame later */
    tl.ev[1].frame++;
    key_of(&tl, cs, &o, k);
    CHECK(strcmp(k, k0) != 0);
    tl.ev[1].frame--;
    key_of(&tl, cs, &o, k);
    CHECK(!strcmp(k, k0));

    /* another tone, the same place */
    tl.ev[1].kind = EV_BEEP_FINAL;
    key_of(&tl, cs, &o, k);
    CHECK(strcmp(k, k0) != 0);
    tl.ev[1].kind = EV_BEEP;

    /* a chapter's title (inside the file) */
    tl.ch[0].title = "Knee hugs";
    key_of(&tl, cs, &o, k);
    CHECK(strcmp(k, k0) != 0);
    tl.ch[0].title = title0;

    /* options: channels, format, a tag, the range, the loudness */
    struct export_opts o2 = o;
    o2.channels = 2;
    key_of(&tl, cs, &o2, k);
    CHECK(strcmp(k, k0) != 0);
    o2 = o;
    o2.format = EXPORT_WAV;
    key_of(&tl, cs, &o2, k);
    CHECK(strcmp(k, k0) != 0);
    o2 = o;
    o2.title = "U";
    key_of(&tl, cs, &o2, k);
    CHECK(strcmp(k, k0) != 0);
    o2 = o;
    o2.title = NULL;
    key_of(&tl, cs, &o2, k);
    CHECK(strcmp(k, k0) != 0);
    o2 = o;
    o2.to_frame = 48000;
    key_of(&tl, cs, &o2, k);
    CHECK(strcmp(k, k0) != 0);
    o2 = o;
    o2.loudness = LOUDNESS_BROADCAST;
    key_of(&tl, cs, &o2, k);
    CHECK(strcmp(k, k0) != 0);

    /* the voice's volume */
    float v = cs->volume;
    cs->volume = v * 0.5f;
    key_of(&tl, cs, &o, k);
    CHECK(strcmp(k, k0) != 0);
    cs->volume = v;

    /* background music: read while rendering, never keyed */
    o2 = o;
    o2.music = (const struct music *)&o2; /* only its presence is looked at */
    CHECK(uptodate_key(&tl, cs, &o2, k) == COACH_EINVAL);

    /* one byte of a spoken clip's source */
    const struct clip *c = &cs->clips[tl.ev[2].clip];
    CHECK(c->flac_bytes > 100);
    uint8_t byte, flipped;
    CHECK(clipstore_source_read(cs, tl.ev[2].clip, 60, &byte, 1) == 0);
    flipped = byte ^ 1;
    if (cs->spill_mem)
        cs->spill_mem[c->flac_off + 60] = flipped;
    else
        CHECK(coach_write_at(cs->spill_fd, &flipped, 1, c->flac_off + 60) == 0);
    key_of(&tl, cs, &o, k);
    CHECK(strcmp(k, k0) != 0);
    if (cs->spill_mem)
        cs->spill_mem[c->flac_off + 60] = byte;
    else
        CHECK(coach_write_at(cs->spill_fd, &byte, 1, c->flac_off + 60) == 0);
    key_of(&tl, cs, &o, k);
    CHECK(!strcmp(k, k0));

    /* outside a source, or an unknown clip: refused */
    uint8_t b2[2];
    CHECK(clipstore_source_read(cs, tl.ev[2].clip, c->flac_bytes - 1, b2, 2) == COACH_EINVAL);
    CHECK(clipstore_source_read(cs, 999, 0, b2, 1) == COACH_EINVAL);

    /* a clip in the store that the timeline does not speak does not count */
    uint32_t id;
    uint64_t len;
    CHECK(clipstore_intern(cs, "Not said.", &id, &len) == 0);
    key_of(&tl, cs, &o, k);
    CHECK(!strcmp(k, k0));

    free(tl.ev);
    free(tl.ch);
    free(title0);
}

static void test_records(void)
{
    const char *dir = test_tmpdir("uptodate");
    char *records = uptodate_records_dir(dir);
    char *file = coach_asprintf("%s/a.flac", dir);
    char key[UPTODATE_KEY_HEX + 1], other[UPTODATE_KEY_HEX + 1];
    memset(key, 'a', UPTODATE_KEY_HEX);
    key[UPTODATE_KEY_HEX] = 0;
    memcpy(other, key, sizeof key);
    other[5] = 'b';

    /* no file, no record */
    CHECK(!uptodate_is_fresh(records, file, key));
    CHECK(uptodate_record(records, file, key) != 0);
    test_write_file(file, "audio");
    CHECK(!uptodate_is_fresh(records, file, key));
    CHECK(!uptodate_may_be_fresh(records, file));
    CHECK(uptodate_record(records, file, key) == 0);
    CHECK(uptodate_is_fresh(records, file, key));
    CHECK(!uptodate_is_fresh(records, file, other));
    CHECK(uptodate_may_be_fresh(records, file)); /* whatever the key */
    CHECK(!uptodate_may_be_fresh(NULL, file));
    /* the same file by another name of its directory */
    char *dotted = coach_asprintf("%s/./a.flac", dir);
    CHECK(uptodate_is_fresh(records, dotted, key));
    free(dotted);
    CHECK(!uptodate_is_fresh(NULL, file, key));
    CHECK(!uptodate_is_fresh(records, file, "short"));

    /* changed in place with the same size, and its mtime put back: the
     * ctime still moved */
    struct stat st0;
    CHECK(stat(file, &st0) == 0);
    struct timespec pause = {0, 20 * 1000 * 1000};
    nanosleep(&pause, NULL);
    test_write_file(file, "AUDIO");
    struct timespec times[2] = {st0.st_atim, st0.st_mtim};
    CHECK(utimensat(AT_FDCWD, file, times, 0) == 0);
    CHECK(!uptodate_is_fresh(records, file, key));
    CHECK(!uptodate_may_be_fresh(records, file));
    CHECK(uptodate_record(records, file, key) == 0);
    CHECK(uptodate_is_fresh(records, file, key));

    /* replaced by another file */
    char *tmp = coach_asprintf("%s/b", dir);
    test_write_file(tmp, "AUDIO");
    CHECK(rename(tmp, file) == 0);
    CHECK(!uptodate_is_fresh(records, file, key));
    CHECK(uptodate_record(records, file, key) == 0);

    /* a damaged record: a byte changed, cut short, longer */
    char *rec_path = NULL;
    DIR *d = opendir(records);
    CHECK(d != NULL);
    for (struct dirent *de; d && (de = readdir(d));)
        if (coach_path_has_ext(de->d_name, ".export")) rec_path = coach_asprintf("%s/%s", records, de->d_name);
    if (d) closedir(d);
    size_t n = 0;
    char *rec = rec_path ? test_read_file(rec_path, &n) : NULL;
    CHECK(rec != NULL && n > 3);
    if (rec && n > 3) {
        rec[n - 3] ^= 1;
        test_write_file(rec_path, rec);
        CHECK(!uptodate_is_fresh(records, file, key));
        rec[n - 3] ^= 1;
        rec[n - 1] = 0; /* cut short by its newline */
        test_write_file(rec_path, rec);
        CHECK(!uptodate_is_fresh(records, file, key));
        rec[n - 1] = '\n';
        test_write_file(rec_path, rec);
        CHECK(uptodate_is_fresh(records, file, key));
        FILE *f = fopen(rec_path, "a");
        if (f) {
            fputs("x\n", f);
            fclose(f);
        }
        CHECK(!uptodate_is_fresh(records, file, key));
    }
    free(rec);
    free(rec_path);

    /* clear: the records go, the rest of the directory stays */
    CHECK(uptodate_record(records, file, key) == 0);
    size_t removed = 0;
    CHECK(uptodate_clear(records, &removed) == 0);
    CHECK(removed == 1);
    CHECK(!uptodate_is_fresh(records, file, key));
    CHECK(access(file, F_OK) == 0);
    CHECK(uptodate_clear(records, &removed) == 0 && removed == 0); /* none: fine */

    /* records that cannot be kept (the directory's place is a file) */
    test_write_file(records, "in the way");
    CHECK(uptodate_record(records, file, key) != 0);
    CHECK(!uptodate_is_fresh(records, file, key));

    free(tmp);
    free(file);
    free(records);
}

int main(void)
{
    test_records();
    struct speech *sp = NULL;
    struct speech_settings set = {.espeak_voice = "en-us", .rate_wpm = 175, .pitch = 50, .volume = 100};
    if (speech_open(&sp, &set) != 0) {
        fprintf(stderr, "espeak-ng unavailable: the keys of spoken clips skipped\n");
        return test_done();
    }
    struct clipstore cs;
    clipstore_init(&cs, sp, 48000);
    clipstore_set_workers(&cs, 1);
    test_key(&cs);
    clipstore_free(&cs);
    speech_close(sp);
    return test_done();
}
