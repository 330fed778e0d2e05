/* Chapter list writers: CUE sheet, Podcasting 2.0 JSON chapters and
 * ffmetadata, from the timeline's chapters, each with the quoting its
 * format needs. Writes to a FILE; the CLI gives it an export sidecar so
 * the list appears atomically with the audio. */
#include "coach/chapters.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "coach/common.h"
#include "coach/textsafe.h"

enum chapters_format chapters_format_from_path(const char *path)
{
    if (!path) return CHAPTERS_UNKNOWN;
    if (coach_path_has_ext(path, ".cue")) return CHAPTERS_CUE;
    if (coach_path_has_ext(path, ".json")) return CHAPTERS_JSON;
    if (coach_path_has_ext(path, ".txt")) return CHAPTERS_FFMETADATA;
    return CHAPTERS_UNKNOWN;
}

char *chapters_audio_ref(const char *list_path, const char *audio_path)
{
    if (!list_path || !audio_path) return NULL;
    const char *ls = strrchr(list_path, '/'), *as = strrchr(audio_path, '/');
    size_t ld = ls ? (size_t)(ls - list_path) : 0, ad = as ? (size_t)(as - audio_path) : 0;
    int same = (!ls && !as) || (ls && as && ld == ad && memcmp(list_path, audio_path, ld) == 0);
    return coach_strdup(same ? (as ? as + 1 : audio_path) : audio_path);
}

/* CUE strings have no escapes: a double quote becomes a single one, line
 * breaks become spaces. */
static void put_cue_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; s && *s; s++)
        fputc(*s == '"' ? '\'' : (*s == '\n' || *s == '\r') ? ' ' : *s, out);
    fputc('"', out);
}

/* One JSON string writer for every JSON coach prints (textsafe.h). */
static void put_json_string(FILE *out, const char *s) { text_fput_json(s, out); }

/* ffmetadata: = ; # \ and line breaks are escaped with a backslash (a
 * newline as backslash + newline); a carriage return is dropped. */
static void put_ffmeta_value(FILE *out, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\r') continue;
        if (strchr("=;#\\\n", *s)) fputc('\\', out);
        fputc(*s, out);
    }
}

static void write_cue(const struct timeline *tl, const char *title, const char *audio, FILE *out)
{
    fputs("REM COMMENT \"coach\"\n", out);
    if (title && *title) {
        fputs("TITLE ", out);
        put_cue_string(out, title);
        fputc('\n', out);
    }
    fputs("PERFORMER \"coach\"\nFILE ", out);
    put_cue_string(out, audio);
    fprintf(out, " %s\n", coach_path_has_ext(audio, ".mp3") ? "MP3" : "WAVE");
    for (size_t i = 0; i < tl->n_ch; i++) {
        const struct chapter *c = &tl->ch[i];
        uint64_t f75 = c->frame * 75 / tl->rate_hz; /* CD frames, rounded down */
        /* the CUE format stops at 99 tracks; more are written all the same */
        fprintf(out, "  TRACK %02zu AUDIO\n    TITLE ", i + 1);
        put_cue_string(out, c->title);
        fprintf(out, "\n    INDEX 01 %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 "\n", f75 / 4500,
                f75 / 75 % 60, f75 % 75);
    }
}

static void write_json(const struct timeline *tl, const char *title, FILE *out)
{
    fputs("{\n  \"version\": \"1.2.0\",\n", out);
    if (title && *title) {
        fputs("  \"title\": ", out);
        put_json_string(out, title);
        fputs(",\n", out);
    }
    fputs("  \"chapters\": [", out);
    for (size_t i = 0; i < tl->n_ch; i++) {
        const struct chapter *c = &tl->ch[i];
        uint64_t ms = c->frame * 1000 / tl->rate_hz;
        fprintf(out, "%s\n    {\"startTime\": %" PRIu64 ".%03" PRIu64 ", \"title\": ", i ? "," : "",
                ms / 1000, ms % 1000);
        put_json_string(out, c->title);
        fputc('}', out);
    }
    fputs("\n  ]\n}\n", out);
}

static void write_ffmetadata(const struct timeline *tl, const char *title, FILE *out)
{
    fputs(";FFMETADATA1\n", out);
    if (title && *title) {
        fputs("title=", out);
        put_ffmeta_value(out, title);
        fputc('\n', out);
    }
    fputs("artist=coach\n", out);
    for (size_t i = 0; i < tl->n_ch; i++) {
        const struct chapter *c = &tl->ch[i];
        uint64_t end = c->end_frame > c->frame ? c->end_frame : c->frame;
        fprintf(out, "\n[CHAPTER]\nTIMEBASE=1/1000\nSTART=%" PRIu64 "\nEND=%" PRIu64 "\ntitle=",
                c->frame * 1000 / tl->rate_hz, end * 1000 / tl->rate_hz);
        put_ffmeta_value(out, c->title);
        fputc('\n', out);
    }
}

int chapters_write(const struct timeline *tl, enum chapters_format fmt, const char *title,
                   const char *audio, FILE *out)
{
    if (!tl || !out || tl->rate_hz == 0 || (fmt == CHAPTERS_CUE && !audio)) return COACH_EINVAL;
    switch (fmt) {
    case CHAPTERS_CUE:
        write_cue(tl, title, audio, out);
        break;
    case CHAPTERS_JSON:
        write_json(tl, title, out);
        break;
    case CHAPTERS_FFMETADATA:
        write_ffmetadata(tl, title, out);
        break;
    default:
        return COACH_EINVAL;
    }
    if (ferror(out)) {
        if (!errno) errno = EIO;
        return COACH_EIO;
    }
    return 0;
}
