/* Tests for captions and chapter lists: a hand-made timeline (frames chosen
 * so millisecond rounding matters, texts with & < > "-->" and line breaks,
 * titles with every character ffmetadata escapes) and a shipped routine
 * planned with the clip estimator are written as WebVTT, SubRip, CUE,
 * Podcasting 2.0 JSON and ffmetadata through export sidecars, parsed back,
 * and compared with the plan: count, order, times to the millisecond under
 * the rounding rule, text. Then WAV cue points read back with libsndfile at
 * the exact chapter frames, and sidecar failures leaving nothing behind. */
#define _POSIX_C_SOURCE 200809L /* access, setrlimit, signal */

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "coach/captions.h"
#include "coach/chapters.h"
#include "coach/clips.h"
#include "coach/common.h"
#include "coach/diag.h"
#include "coach/export.h"
#include "coach/plan.h"
#include "coach/routine.h"
#include "coach/tone.h"
#include "coach/voice.h"
#include "testutil.h"

#define RATE 44100 /* not a multiple of 1000: rounding shows */

static const char *const texts[] = {
    "Get ready",
    "Fish & <chips> --> now",
    "Two\nlines",
    "Dashes ---> and -->> end",
};
#define N_TEXTS 4
#define SPECIAL 1 /* the clip with & < > and "-->" */

/* Adds an event; keep calls in frame order (the timeline is sorted). */
static void add_ev(struct timeline *tl, enum event_kind k, uint64_t frame, uint64_t len,
                   uint32_t clip)
{
    tl->ev[tl->n_ev++] = (struct event){
        .frame = frame, .len_frames = len, .clip = clip, .step = 0, .kind = (uint8_t)k};
    if (len > tl->max_event_frames) tl->max_event_frames = len;
}

static void add_ch(struct timeline *tl, uint64_t frame, const char *title)
{
    if (tl->n_ch) tl->ch[tl->n_ch - 1].end_frame = frame;
    tl->ch[tl->n_ch++] = (struct chapter){
        .frame = frame, .end_frame = tl->len_frames, .step = (int32_t)tl->n_ch - 1,
        .title = coach_strdup(title)};
}

/* Speech at odd frames (44101 is 1000.0227 ms: start 1000, and a length
 * of 441 frames ends on a whole 10 ms, which must not round up), beeps in
 * between (no cues), three chapters. */
/* The clips (texts and lengths) of the timeline being checked. */
static struct clipstore hand_cs;
static const struct clipstore *texts_of = &hand_cs;

static void build_timeline(struct timeline *tl)
{
    memset(tl, 0, sizeof *tl);
    tl->rate_hz = RATE;
    tl->len_frames = 12 * (uint64_t)RATE;
    tl->n_clips = N_TEXTS;
    static const uint64_t lens[N_TEXTS] = {441, 30001, 22050, 12345};
    CHECK(clipstore_init(&hand_cs, NULL, RATE) == 0);
    for (uint32_t i = 0; i < N_TEXTS; i++) {
        uint32_t id;
        CHECK(clipstore_add(&hand_cs, texts[i], lens[i], &id) == 0 && id == i);
    }
    tl->cap_ev = 16;
    tl->ev = calloc(tl->cap_ev, sizeof *tl->ev);
    add_ev(tl, EV_SPEECH, 88200, lens[0], 0); /* 2000 ms .. exactly 2010 ms */
    add_ev(tl, EV_BEEP, 3 * RATE, tone_default_len(EV_BEEP, RATE), 0);
    add_ev(tl, EV_SPEECH, 4 * RATE + 1, lens[1], 1);
    add_ev(tl, EV_SPEECH, 6 * RATE + 43, lens[2], 2);
    add_ev(tl, EV_SPEECH, 7 * RATE + 44099, lens[3], 3);
    add_ev(tl, EV_SPEECH, 9 * RATE + 1, lens[0], 0); /* a clip again */
    add_ev(tl, EV_BEEP_FINAL, 11 * RATE, tone_default_len(EV_BEEP_FINAL, RATE), 0);
    tl->cap_ch = 4;
    tl->ch = calloc(tl->cap_ch, sizeof *tl->ch);
    add_ch(tl, 0, "Intro");
    add_ch(tl, 4 * RATE - 7, "Exercise 1 of 2: Bridge = \"hip\"; #1 \\ & <x>");
    add_ch(tl, 9 * RATE + 1, "Exercise 2 of 2: Two\nlines");
}

/* ---- reading the files back ---- */

/* Next line of *p (NUL-terminated in place), NULL at the end. */
static char *next_line(char **p)
{
    if (!*p || !**p) return NULL;
    char *line = *p, *nl = strchr(line, '\n');
    if (nl) {
        *nl = 0;
        *p = nl + 1;
    } else {
        *p = line + strlen(line);
    }
    return line;
}

static int parse_time(const char *s, char sep, uint64_t *ms)
{
    unsigned h, m, sec, milli;
    char c;
    int used = 0;
    if (sscanf(s, "%u:%2u:%2u%c%3u%n", &h, &m, &sec, &c, &milli, &used) != 5 || c != sep ||
        used != 12 || m > 59 || sec > 59)
        return -1;
    *ms = ((uint64_t)h * 3600 + m * 60 + sec) * 1000 + milli;
    return 0;
}

/* The rounding rule itself: start is the last ms at or before the frame,
 * end the first ms at or after it. */
static int start_ok(uint64_t ms, uint64_t frame)
{
    return ms * RATE <= frame * 1000 && frame * 1000 < (ms + 1) * RATE;
}
static int end_ok(uint64_t ms, uint64_t frame)
{
    return ms * RATE >= frame * 1000 && (ms == 0 || (ms - 1) * RATE < frame * 1000);
}

/* What a cue's text must read as, once the format's escaping is undone. */
static void expected_text(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++)
        out[n++] = *s == '\n' ? ' ' : *s;
    out[n] = 0;
}

static void vtt_unescape(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    while (*s && n + 1 < cap) {
        if (strncmp(s, "&amp;", 5) == 0) out[n++] = '&', s += 5;
        else if (strncmp(s, "&lt;", 4) == 0) out[n++] = '<', s += 4;
        else if (strncmp(s, "&gt;", 4) == 0) out[n++] = '>', s += 4;
        else out[n++] = *s++;
    }
    out[n] = 0;
}

/* SRT: the only change is a space before a '>' that follows "--". */
static void srt_unescape(const char *s, char *out, size_t cap)
{
    size_t n = 0;
    for (; *s && n + 1 < cap; s++) {
        if (*s == ' ' && s[1] == '>' && n >= 2 && out[n - 1] == '-' && out[n - 2] == '-') continue;
        out[n++] = *s;
    }
    out[n] = 0;
}

/* Steps over the note cues ("[rest, 20 seconds]": no phrase's) at *p;
 * returns how many. */
static size_t skip_notes(char **p, int vtt)
{
    size_t n = 0;
    for (;;) {
        char *q = *p, *line = next_line(&q);
        if (line && !vtt) line = next_line(&q); /* the number */
        if (line) line = next_line(&q);         /* the text */
        if (!line || line[0] != '[') {
            /* next_line cut the lines it read: put the newlines back */
            for (char *c = *p; c < q; c++)
                if (!*c) *c = '\n';
            return n;
        }
        for (char *c = *p; c < q; c++)
            if (!*c) *c = '\n';
        for (int k = vtt ? 3 : 4; k > 0; k--) next_line(p); /* and its blank line */
        n++;
    }
}

/* Parses captions back and compares every cue with tl's speech. */
static void check_captions(const char *name, const struct timeline *tl, const char *path,
                           enum captions_format fmt, const char *title)
{
    const int vtt = fmt == CAPTIONS_VTT;
    char *buf = test_read_file(path, NULL);
    CHECKF(buf != NULL, "%s: cannot read %s", name, path);
    if (!buf) return;
    CHECKF(strstr(buf, "\r") == NULL, "%s: carriage return", name);
    char *p = buf, *line;
    if (vtt) {
        line = next_line(&p);
        CHECKF(line && strcmp(line, "WEBVTT") == 0, "%s: no WEBVTT header", name);
        line = next_line(&p);
        CHECK(line && !*line);
        line = next_line(&p);
        char got[512] = "", want[512];
        if (line && strncmp(line, "NOTE ", 5) == 0) srt_unescape(line + 5, got, sizeof got);
        expected_text(title, want, sizeof want); /* a NOTE only breaks "-->" */
        CHECKF(line && strcmp(got, want) == 0 && !strstr(line, "-->"), "%s: NOTE is '%s'", name,
               line ? line : "");
        line = next_line(&p);
        CHECK(line && !*line);
    }
    size_t cue = 0, n_speech = 0;
    for (size_t i = 0; i < tl->n_ev; i++) {
        const struct event *e = &tl->ev[i];
        if (e->kind != EV_SPEECH) continue;
        n_speech++;
        cue += skip_notes(&p, vtt);
        if (!vtt) {
            line = next_line(&p);
            CHECKF(line && strtoul(line, NULL, 10) == cue + 1, "%s: cue %zu number '%s'", name,
                   cue + 1, line ? line : "(end)");
        }
        line = next_line(&p);
        uint64_t a = 0, b = 0;
        int ok = line && strlen(line) == 29 && parse_time(line, vtt ? '.' : ',', &a) == 0 &&
                 strncmp(line + 12, " --> ", 5) == 0 && parse_time(line + 17, vtt ? '.' : ',', &b) == 0;
        CHECKF(ok, "%s: cue %zu timing line '%s'", name, cue + 1, line ? line : "(end)");
        CHECKF(ok && start_ok(a, e->frame), "%s: cue %zu starts at %" PRIu64 " ms for frame %" PRIu64,
               name, cue + 1, a, e->frame);
        CHECKF(ok && end_ok(b, e->frame + e->len_frames),
               "%s: cue %zu ends at %" PRIu64 " ms for frame %" PRIu64, name, cue + 1, b,
               e->frame + e->len_frames);
        line = next_line(&p);
        char got[1024] = "", want[1024];
        if (line) {
            CHECKF(strstr(line, "-->") == NULL, "%s: '-->' in text '%s'", name, line);
            if (vtt) CHECKF(strpbrk(line, "<>") == NULL, "%s: raw < or > in '%s'", name, line);
            (vtt ? vtt_unescape : srt_unescape)(line, got, sizeof got);
        }
        expected_text(clipstore_text(texts_of, e->clip), want, sizeof want);
        CHECKF(strcmp(got, want) == 0, "%s: cue %zu text '%s', wanted '%s'", name, cue + 1, got,
               want);
        line = next_line(&p);
        CHECKF(line && !*line, "%s: cue %zu not followed by a blank line", name, cue + 1);
        cue++;
    }
    cue += skip_notes(&p, vtt);
    CHECKF(next_line(&p) == NULL, "%s: more cues than the %zu speech events", name, n_speech);
    free(buf);
}

/* ffmetadata / CUE / JSON values undone, each by its own rules. */
static void check_chapter(const char *name, const struct timeline *tl, size_t i, uint64_t start_ms,
                          const char *title, int cue_frames)
{
    if (i >= tl->n_ch) {
        CHECKF(0, "%s: more chapters than %zu", name, tl->n_ch);
        return;
    }
    uint64_t f = tl->ch[i].frame;
    if (cue_frames) /* 1/75 s, rounded down */
        CHECKF(start_ms * RATE <= f * 75 && f * 75 < (start_ms + 1) * RATE,
               "%s: chapter %zu at %" PRIu64 "/75 s for frame %" PRIu64, name, i, start_ms, f);
    else
        CHECKF(start_ok(start_ms, f), "%s: chapter %zu at %" PRIu64 " ms for frame %" PRIu64, name,
               i, start_ms, f);
    CHECKF(strcmp(title, tl->ch[i].title) == 0, "%s: chapter %zu title '%s', wanted '%s'", name, i,
           title, tl->ch[i].title);
}

static void check_cue_sheet(const struct timeline *tl, const char *path, const char *audio)
{
    char *buf = test_read_file(path, NULL);
    CHECK(buf != NULL);
    if (!buf) return;
    char *p = buf, *line, title[512] = "";
    size_t track = 0;
    int have_file = 0;
    while ((line = next_line(&p))) {
        char want[512];
        snprintf(want, sizeof want, "FILE \"%s\" %s", audio, strstr(audio, ".mp3") ? "MP3" : "WAVE");
        if (strncmp(line, "FILE ", 5) == 0) have_file = strcmp(line, want) == 0;
        unsigned n, m, s, ff;
        if (sscanf(line, "  TRACK %u AUDIO", &n) == 1) {
            CHECKF(n == track + 1, "cue: TRACK %u after %zu", n, track);
        } else if (strncmp(line, "    TITLE \"", 11) == 0) {
            snprintf(title, sizeof title, "%s", line + 11);
            char *q = strrchr(title, '"');
            if (q) *q = 0;
        } else if (sscanf(line, "    INDEX 01 %u:%u:%u", &m, &s, &ff) == 3) {
            CHECK(s < 60 && ff < 75);
            /* CUE has no escapes: " became ' and a line break a space */
            char want_title[512];
            snprintf(want_title, sizeof want_title, "%s", track < tl->n_ch ? tl->ch[track].title : "");
            for (char *c = want_title; *c; c++)
                if (*c == '"') *c = '\'';
                else if (*c == '\n') *c = ' ';
            CHECKF(strcmp(title, want_title) == 0, "cue: title '%s'", title);
            check_chapter("cue", tl, track, ((uint64_t)m * 60 + s) * 75 + ff,
                          track < tl->n_ch ? tl->ch[track].title : "", 1);
            track++;
        }
    }
    CHECKF(have_file, "cue: FILE line does not name %s", audio);
    CHECKF(track == tl->n_ch, "cue: %zu tracks for %zu chapters", track, tl->n_ch);
    free(buf);
}

/* JSON string at p (after the opening quote) undone into out; returns the
 * character after the closing quote. */
static const char *json_string(const char *p, char *out, size_t cap)
{
    size_t n = 0;
    while (*p && *p != '"' && n + 1 < cap) {
        if (*p == '\\') {
            p++;
            if (*p == 'n') out[n++] = '\n';
            else if (*p == 'u') {
                out[n++] = (char)strtoul((char[]){p[1], p[2], p[3], p[4], 0}, NULL, 16);
                p += 4;
            } else out[n++] = *p;
            p++;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = 0;
    return *p == '"' ? p + 1 : p;
}

static void check_json(const struct timeline *tl, const char *path, const char *session)
{
    char *buf = test_read_file(path, NULL);
    CHECK(buf != NULL);
    if (!buf) return;
    CHECK(strstr(buf, "\"version\": \"1.2.0\"") != NULL);
    char t[512];
    const char *p = strstr(buf, "\"title\": \"");
    CHECK(p && (json_string(p + 10, t, sizeof t), strcmp(t, session) == 0));
    size_t i = 0;
    for (p = buf; (p = strstr(p, "{\"startTime\": ")); i++) {
        char *end;
        double sec = strtod(p + 14, &end);
        CHECK(end[0] == ',' && end - (p + 14) >= 5 && end[-4] == '.'); /* 3 decimals */
        uint64_t ms = (uint64_t)(sec * 1000 + 0.5);
        const char *q = strstr(end, "\"title\": \"");
        CHECK(q != NULL);
        if (!q) break;
        p = json_string(q + 10, t, sizeof t);
        check_chapter("json", tl, i, ms, t, 0);
    }
    CHECKF(i == tl->n_ch, "json: %zu chapters for %zu", i, tl->n_ch);
    free(buf);
}

/* ffmetadata value: a backslash makes the next character literal (a
 * newline included); returns the rest after the value's end of line. */
static char *ffmeta_value(char *p, char *out, size_t cap)
{
    size_t n = 0;
    while (*p && *p != '\n') {
        if (*p == '\\' && p[1]) p++;
        else CHECKF(!strchr("=;#", *p), "ffmetadata: unescaped '%c'", *p);
        if (n + 1 < cap) out[n++] = *p;
        p++;
    }
    out[n] = 0;
    return *p ? p + 1 : p;
}

static void check_ffmetadata(const struct timeline *tl, const char *path, const char *session)
{
    char *buf = test_read_file(path, NULL);
    CHECK(buf != NULL);
    if (!buf) return;
    CHECK(strncmp(buf, ";FFMETADATA1\ntitle=", 19) == 0);
    char v[512];
    char *p = buf + 19;
    p = ffmeta_value(p, v, sizeof v);
    CHECKF(strcmp(v, session) == 0, "ffmetadata: title '%s'", v);
    size_t i = 0;
    uint64_t prev_end = 0;
    while ((p = strstr(p, "\n[CHAPTER]\n"))) {
        unsigned long long a, b;
        int used = 0;
        CHECK(sscanf(p, "\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=%llu\nEND=%llu\ntitle=%n", &a, &b,
                     &used) == 2 && used > 0);
        if (!used) break;
        p = ffmeta_value(p + used, v, sizeof v);
        check_chapter("ffmetadata", tl, i, a, v, 0);
        CHECKF(i == 0 || a == prev_end, "ffmetadata: chapter %zu starts at %llu, previous ended at %" PRIu64,
               i, a, prev_end);
        if (i < tl->n_ch) CHECK(start_ok(b, tl->ch[i].end_frame) && b >= a);
        prev_end = b;
        i++;
        p--; /* the newline before the next [CHAPTER] */
    }
    CHECKF(i == tl->n_ch, "ffmetadata: %zu chapters for %zu", i, tl->n_ch);
    free(buf);
}

/* ---- writing ---- */

static int write_captions(const struct timeline *tl, const char *path, const char *title)
{
    struct export_sidecar sc;
    char err[256];
    int rc = export_sidecar_open(&sc, path, err, sizeof err);
    if (rc == 0) rc = captions_write(tl, texts_of, captions_format_from_path(path), title, sc.f);
    if (rc == 0) rc = export_sidecar_commit(&sc, err, sizeof err);
    export_sidecar_discard(&sc);
    return rc;
}

static int write_chapters(const struct timeline *tl, const char *path, const char *title,
                          const char *audio)
{
    struct export_sidecar sc;
    char err[256];
    int rc = export_sidecar_open(&sc, path, err, sizeof err);
    char *ref = chapters_audio_ref(path, audio);
    if (rc == 0) rc = chapters_write(tl, chapters_format_from_path(path), title, ref, sc.f);
    if (rc == 0) rc = export_sidecar_commit(&sc, err, sizeof err);
    export_sidecar_discard(&sc);
    free(ref);
    return rc;
}

static void write_and_check_all(const char *name, const struct timeline *tl, const char *title)
{
    const char *dir = test_tmpdir(name);
    char path[4096], audio[4096];
    snprintf(audio, sizeof audio, "%s/session.mp3", dir);
    snprintf(path, sizeof path, "%s/session.vtt", dir);
    CHECK(write_captions(tl, path, title) == 0);
    check_captions(name, tl, path, CAPTIONS_VTT, title);
    snprintf(path, sizeof path, "%s/session.SRT", dir);
    CHECK(write_captions(tl, path, title) == 0);
    check_captions(name, tl, path, CAPTIONS_SRT, title);
    snprintf(path, sizeof path, "%s/session.cue", dir);
    CHECK(write_chapters(tl, path, title, audio) == 0);
    check_cue_sheet(tl, path, "session.mp3");
    snprintf(path, sizeof path, "%s/session.json", dir);
    CHECK(write_chapters(tl, path, title, audio) == 0);
    check_json(tl, path, title);
    snprintf(path, sizeof path, "%s/session.txt", dir);
    CHECK(write_chapters(tl, path, title, audio) == 0);
    check_ffmetadata(tl, path, title);
    CHECKF(count_entries(dir) == 5, "%s: %d files (temporary files left?)", name,
           count_entries(dir));
}

static void test_names(void)
{
    CHECK(captions_format_from_path("a.vtt") == CAPTIONS_VTT);
    CHECK(captions_format_from_path("/x/A.VTT") == CAPTIONS_VTT);
    CHECK(captions_format_from_path("b.Srt") == CAPTIONS_SRT);
    CHECK(captions_format_from_path("b.txt") == CAPTIONS_UNKNOWN);
    CHECK(captions_format_from_path("dir.vtt/b") == CAPTIONS_UNKNOWN);
    CHECK(captions_format_from_path("b.vttx") == CAPTIONS_UNKNOWN);
    CHECK(captions_format_from_path(NULL) == CAPTIONS_UNKNOWN);
    CHECK(chapters_format_from_path("c.cue") == CHAPTERS_CUE);
    CHECK(chapters_format_from_path("c.JSON") == CHAPTERS_JSON);
    CHECK(chapters_format_from_path("c.txt") == CHAPTERS_FFMETADATA);
    CHECK(chapters_format_from_path("c.vtt") == CHAPTERS_UNKNOWN);
    CHECK(captions_ms_floor(44101, 44100) == 1000 && captions_ms_ceil(44101, 44100) == 1001);
    CHECK(captions_ms_floor(88640, 44100) == 2009 && captions_ms_ceil(88640, 44100) == 2010);
    CHECK(captions_ms_ceil(88200 + 441, 44100) == 2010); /* exact: not rounded up */
    char *r = chapters_audio_ref("/a/b/x.cue", "/a/b/x.wav");
    CHECK(r && strcmp(r, "x.wav") == 0);
    free(r);
    r = chapters_audio_ref("x.cue", "x.wav");
    CHECK(r && strcmp(r, "x.wav") == 0);
    free(r);
    r = chapters_audio_ref("/a/x.cue", "/a/b/x.wav");
    CHECK(r && strcmp(r, "/a/b/x.wav") == 0);
    free(r);
}

/* The special text's exact spelling in each format. */
static void test_escaping(const struct timeline *tl)
{
    const char *dir = test_tmpdir("captions-escape");
    char path[4096];
    snprintf(path, sizeof path, "%s/e.vtt", dir);
    CHECK(write_captions(tl, path, "A --> B") == 0);
    char *v = test_read_file(path, NULL);
    CHECK(v && strstr(v, "\nFish &amp; &lt;chips&gt; --&gt; now\n"));
    CHECK(v && strstr(v, "\nDashes ---&gt; and --&gt;&gt; end\n"));
    CHECK(v && strstr(v, "\nTwo lines\n"));
    CHECK(v && strstr(v, "NOTE A -- > B\n"));
    CHECK(v && strstr(v, "\n00:00:02.000 --> 00:00:02.010\n")); /* exact end stays */
    CHECK(v && strstr(v, "\n00:00:04.000 --> 00:00:04.681\n")); /* 176401 .. 206402 frames */
    free(v);
    snprintf(path, sizeof path, "%s/e.srt", dir);
    CHECK(write_captions(tl, path, NULL) == 0);
    char *s = test_read_file(path, NULL);
    static const char first[] = "1\n00:00:02,000 --> 00:00:02,010\nGet ready\n\n2\n";
    CHECK(s && strncmp(s, first, strlen(first)) == 0);
    CHECK(s && strstr(s, "\nFish & <chips> -- > now\n"));
    CHECK(s && strstr(s, "\nDashes --- > and -- >> end\n"));
    free(s);
    snprintf(path, sizeof path, "%s/e.txt", dir);
    CHECK(write_chapters(tl, path, "T=1", "e.wav") == 0);
    char *f = test_read_file(path, NULL);
    CHECK(f && strstr(f, "\ntitle=T\\=1\n"));
    CHECK(f && strstr(f, "\ntitle=Exercise 1 of 2: Bridge \\= \"hip\"\\; \\#1 \\\\ & <x>\n"));
    CHECK(f && strstr(f, "\ntitle=Exercise 2 of 2: Two\\\nlines\n"));
    free(f);
    snprintf(path, sizeof path, "%s/e.json", dir);
    CHECK(write_chapters(tl, path, NULL, "e.wav") == 0);
    char *j = test_read_file(path, NULL);
    CHECK(j && strstr(j, "\"title\": \"Exercise 1 of 2: Bridge = \\\"hip\\\"; #1 \\\\ & <x>\"}"));
    CHECK(j && strstr(j, "{\"startTime\": 3.999, ")); /* 176393 frames = 3999.84 ms */
    free(j);
    snprintf(path, sizeof path, "%s/e.cue", dir);
    CHECK(write_chapters(tl, path, NULL, "e.wav") == 0);
    char *c = test_read_file(path, NULL);
    CHECK(c && strstr(c, "FILE \"e.wav\" WAVE\n"));
    CHECK(c && strstr(c, "TITLE \"Exercise 1 of 2: Bridge = 'hip'; #1 \\ & <x>\"\n"));
    CHECK(c && strstr(c, "  TRACK 02 AUDIO\n    TITLE ") && strstr(c, "INDEX 01 00:03:74\n"));
    free(c);
}

/* A beeps-only timeline needs no speech: a zeroed clip store will do. */
static void test_wav_cues(const struct timeline *hand)
{
    struct timeline tl = *hand;
    tl.n_ev = 0;
    for (size_t i = 0; i < hand->n_ev; i++)
        if (hand->ev[i].kind != EV_SPEECH) tl.n_ev++;
    struct event ev[16];
    size_t k = 0;
    for (size_t i = 0; i < hand->n_ev; i++)
        if (hand->ev[i].kind != EV_SPEECH) ev[k++] = hand->ev[i];
    tl.ev = ev;
    struct clipstore cs = {0};
    const char *dir = test_tmpdir("captions-wav");
    char path[4096];
    snprintf(path, sizeof path, "%s/cues.wav", dir);
    struct export_opts o = {.format = EXPORT_WAV, .channels = 1, .title = "Cues"};
    char err[256] = "";
    int rc = export_timeline(&tl, &cs, path, &o, err, sizeof err);
    CHECKF(rc == 0, "wav export: %s", err);
    SF_INFO info = {0};
    SNDFILE *f = sf_open(path, SFM_READ, &info);
    CHECK(f != NULL);
    if (f) {
        uint32_t n = 0;
        CHECK(sf_command(f, SFC_GET_CUE_COUNT, &n, sizeof n) == SF_TRUE);
        CHECKF(n == tl.n_ch, "%u cue points for %zu chapters", n, tl.n_ch);
        SF_CUES *cues = calloc(1, sizeof *cues);
        CHECK(n <= 100 && sf_command(f, SFC_GET_CUE, cues, sizeof *cues) == SF_TRUE);
        for (uint32_t i = 0; i < n && i < tl.n_ch; i++) {
            CHECKF(cues->cue_points[i].position == tl.ch[i].frame &&
                       cues->cue_points[i].sample_offset == tl.ch[i].frame,
                   "cue %u at %u / %u, chapter at %" PRIu64, i, cues->cue_points[i].position,
                   cues->cue_points[i].sample_offset, tl.ch[i].frame);
        }
        free(cues);
        CHECK(info.frames == (sf_count_t)tl.len_frames);
        sf_close(f);
    }
    /* FLAC cannot hold them: it still exports, without */
    snprintf(path, sizeof path, "%s/cues.flac", dir);
    o.format = EXPORT_FLAC;
    CHECKF(export_timeline(&tl, &cs, path, &o, err, sizeof err) == 0, "flac export: %s", err);
    /* a missing directory leaves nothing */
    snprintf(path, sizeof path, "%s/no/such/cues.wav", dir);
    o.format = EXPORT_WAV;
    CHECK(export_timeline(&tl, &cs, path, &o, err, sizeof err) == COACH_EIO);
    CHECK(access(path, F_OK) != 0);
    CHECK(count_entries(dir) == 2);
}

static void test_failures_leave_nothing(const struct timeline *tl)
{
    int rc_errno;
    const char *dir = test_tmpdir("captions-fail");
    char path[4096], err[256] = "";
    struct export_sidecar sc;
    /* a directory that does not exist */
    snprintf(path, sizeof path, "%s/no/such/x.vtt", dir);
    errno = 0;
    CHECK(export_sidecar_open(&sc, path, err, sizeof err) == COACH_EIO && errno == ENOENT);
    CHECK(err[0] && sc.f == NULL && sc.tmp == NULL);
    CHECK(write_captions(tl, path, "T") != 0);
    snprintf(path, sizeof path, "%s/no/such/x.cue", dir);
    CHECK(write_chapters(tl, path, "T", "x.wav") != 0);
    CHECK(count_entries(dir) == 0);
    /* written but discarded (the audio failed): an existing file is untouched */
    snprintf(path, sizeof path, "%s/keep.vtt", dir);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs("keep me\n", f) >= 0 && fclose(f) == 0);
    CHECK(export_sidecar_open(&sc, path, err, sizeof err) == 0);
    CHECK(captions_write(tl, texts_of, CAPTIONS_VTT, "T", sc.f) == 0);
    CHECK(export_sidecar_close(&sc, err, sizeof err) == 0);
    CHECK(count_entries(dir) == 2); /* the target and its hidden temporary file */
    export_sidecar_discard(&sc);
    char *k = test_read_file(path, NULL);
    CHECK(k && strcmp(k, "keep me\n") == 0);
    free(k);
    CHECK(count_entries(dir) == 1);
    /* a commit replaces it */
    CHECK(write_captions(tl, path, "T") == 0);
    k = test_read_file(path, NULL);
    CHECK(k && strncmp(k, "WEBVTT\n", 7) == 0);
    free(k);
    CHECK(count_entries(dir) == 1);
    /* a writer that meets an error writes nothing: bad format, bad clip */
    CHECK(export_sidecar_open(&sc, path, err, sizeof err) == 0);
    CHECK(captions_write(tl, texts_of, CAPTIONS_UNKNOWN, "T", sc.f) == COACH_EINVAL);
    CHECK(chapters_write(tl, CHAPTERS_UNKNOWN, "T", "x", sc.f) == COACH_EINVAL);
    CHECK(chapters_write(tl, CHAPTERS_CUE, "T", NULL, sc.f) == COACH_EINVAL);
    struct clipstore few; /* the speech events point past its clips */
    CHECK(clipstore_init(&few, NULL, RATE) == 0 && clipstore_add(&few, texts[0], 441, NULL) == 0);
    CHECK(captions_write(tl, &few, CAPTIONS_VTT, "T", sc.f) == COACH_EINVAL);
    clipstore_free(&few);
    CHECK(ftell(sc.f) == 0);
    export_sidecar_discard(&sc);
    CHECK(count_entries(dir) == 1);
    /* a write error stdio holds back until the flush (RLIMIT_FSIZE stands
     * in for a full disk): the commit fails, the target stays, no temp */
    struct rlimit saved;
    CHECK(getrlimit(RLIMIT_FSIZE, &saved) == 0);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = {.rlim_cur = 64, .rlim_max = saved.rlim_max};
    CHECK(export_sidecar_open(&sc, path, err, sizeof err) == 0);
    CHECK(setrlimit(RLIMIT_FSIZE, &small) == 0);
    CHECK(captions_write(tl, texts_of, CAPTIONS_VTT, "T", sc.f) == 0); /* still in the buffer */
    rc_errno = 0;
    int rc = export_sidecar_commit(&sc, err, sizeof err);
    rc_errno = errno;
    CHECK(setrlimit(RLIMIT_FSIZE, &saved) == 0);
    CHECKF(rc == COACH_EIO && rc_errno == EFBIG, "commit over the size limit: %d, %s", rc, err);
    k = test_read_file(path, NULL);
    CHECK(k && strncmp(k, "WEBVTT\n", 7) == 0 && strstr(k, "\nGet ready\n"));
    free(k);
    CHECK(count_entries(dir) == 1);
    signal(SIGXFSZ, SIG_DFL);
}

/* A shipped routine planned with the estimator: the real planner's
 * chapters and speech, every cue and chapter compared. */
static void test_planned(void)
{
    struct coach_diags d;
    diags_init(&d);
    struct voice voice;
    struct routine r;
    int rc = voice_load(test_src_path("voices/en-us.ini"), &voice, &d);
    CHECK(rc == 0);
    if (rc) goto out;
    rc = routine_load(test_src_path("routines/lower-back-relief.ini"), &r, &d);
    CHECK(rc == 0);
    if (rc) {
        voice_free(&voice);
        goto out;
    }
    struct clipstore est;
    test_estimator(&est, RATE);
    struct plan_opts po = {.rate_hz = RATE, .level = r.level};
    struct timeline tl;
    char err[512] = "";
    rc = plan_build(&r, &voice, &est, &po, &tl, err, sizeof err);
    CHECKF(rc == 0, "plan: %s", err);
    if (rc == 0) {
        size_t n_speech = 0;
        for (size_t i = 0; i < tl.n_ev; i++) n_speech += tl.ev[i].kind == EV_SPEECH;
        CHECK(n_speech > 20 && tl.n_ch == r.n_steps + 1);
        texts_of = &est;
        write_and_check_all("captions-planned", &tl, r.title);
        texts_of = &hand_cs;
        timeline_free(&tl);
    }
    clipstore_free(&est);
    routine_free(&r);
    voice_free(&voice);
out:
    diags_print(&d, stderr);
    diags_free(&d);
}

/* Every shipped routine (its own voice, the estimator's clip lengths):
 * between the first cue and the closing words no stretch of more than
 * 10 s has no cue, tone-only parts and silent rests included; the same
 * cues as plain text, one "M:SS text" line each. */
static void test_no_long_gaps(void)
{
    DIR *d = opendir(test_src_path("routines"));
    CHECK(d != NULL);
    if (!d) return;
    struct dirent *de;
    size_t n_routines = 0;
    while ((de = readdir(d)) != NULL) {
        size_t len = strlen(de->d_name);
        if (len < 5 || strcmp(de->d_name + len - 4, ".ini") != 0) continue;
        char rel[300], vpath[300];
        snprintf(rel, sizeof rel, "routines/%s", de->d_name);
        struct coach_diags dg;
        diags_init(&dg);
        struct routine r;
        struct voice v;
        bool have_voice = false;
        int rc = routine_load(test_src_path(rel), &r, &dg);
        CHECKF(rc == 0, "%s: cannot load", rel);
        if (rc) {
            diags_free(&dg);
            continue;
        }
        snprintf(vpath, sizeof vpath, "voices/%s.ini", r.voice ? r.voice : "en-us");
        rc = voice_load(test_src_path(vpath), &v, &dg);
        CHECKF(rc == 0, "%s: cannot load %s", rel, vpath);
        have_voice = rc == 0;
        struct clipstore est;
        test_estimator(&est, RATE);
        struct plan_opts po = {.rate_hz = RATE, .level = r.level};
        struct timeline tl;
        char err[512] = "";
        if (rc == 0) {
            rc = plan_build(&r, &v, &est, &po, &tl, err, sizeof err);
            CHECKF(rc == 0, "%s: plan: %s", rel, err);
        }
        if (rc == 0) {
            n_routines++;
            char *buf = NULL, *txt = NULL;
            size_t len_buf = 0, len_txt = 0;
            FILE *f = open_memstream(&buf, &len_buf), *g = open_memstream(&txt, &len_txt);
            CHECK(captions_write(&tl, &est, CAPTIONS_VTT, r.title, f) == 0);
            CHECK(captions_write(&tl, &est, CAPTIONS_TEXT, r.title, g) == 0);
            fclose(f);
            fclose(g);
            uint64_t end_ms = captions_ms_floor(tl.ending_frame, RATE), covered = 0, worst = 0,
                     worst_at = 0;
            size_t n_cues = 0, n_notes = 0;
            bool first = true;
            char *p = buf, *line;
            while ((line = next_line(&p)) != NULL) {
                uint64_t a, b;
                if (strlen(line) != 29 || parse_time(line, '.', &a) || parse_time(line + 17, '.', &b))
                    continue;
                n_cues++;
                char *text = next_line(&p);
                n_notes += text && text[0] == '[';
                if (!first && a > covered && a - covered > worst && a <= end_ms) {
                    worst = a - covered;
                    worst_at = covered;
                }
                if (first || b > covered) covered = b;
                first = false;
            }
            CHECKF(worst <= 10000, "%s: %" PRIu64 " ms without a caption from %" PRIu64 ".%03" PRIu64
                   " s", rel, worst, worst_at / 1000, worst_at % 1000);
            /* the transcript: the same cues, one plain timed line each */
            size_t n_lines = 0;
            p = txt;
            while ((line = next_line(&p)) != NULL) {
                unsigned m, sec;
                int used = 0;
                CHECKF(sscanf(line, "%u:%2u %n", &m, &sec, &used) == 2 && used > 0 && sec < 60 &&
                           line[used] && !strchr(line, '\r'),
                       "%s: transcript line '%s'", rel, line);
                n_lines++;
            }
            CHECKF(n_lines == n_cues, "%s: %zu transcript lines for %zu cues", rel, n_lines, n_cues);
            if (strstr(rel, "breathing")) CHECKF(n_notes >= 10, "%s: %zu notes", rel, n_notes);
            free(buf);
            free(txt);
            timeline_free(&tl);
        }
        clipstore_free(&est);
        if (have_voice) voice_free(&v);
        routine_free(&r);
        diags_print(&dg, stderr);
        diags_free(&dg);
    }
    closedir(d);
    CHECK(n_routines >= 10);
}

int main(void)
{
    struct timeline tl;
    build_timeline(&tl);
    test_names();
    write_and_check_all("captions-hand", &tl, "Session & <one> --> \"two\"");
    test_escaping(&tl);
    test_wav_cues(&tl);
    test_failures_leave_nothing(&tl);
    test_planned();
    test_no_long_gaps();
    timeline_free(&tl);
    clipstore_free(&hand_cs);
    return test_done();
}
