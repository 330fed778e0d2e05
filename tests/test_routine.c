/* Unit tests for routine parsing: every field of every section kind, the
 * defaults, numbers, ranges and levels, and the reading rules (long lines
 * and the line numbers after them, CRLF, BOM, comments, indentation, text
 * without a terminating NUL). Also loads every .ini in tests/good and feeds
 * mutated routines to the parser to prove it never crashes. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "coach/common.h"
#include "coach/routine.h"
#include "testutil.h"

/* Parses text (copied to an exact-size heap buffer, so ASan/valgrind catch
 * any read past len) and returns the code; *out gets the sorted messages. */
static int parse(const char *text, struct routine *r, char **out)
{
    size_t len = strlen(text);
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    struct coach_diags d;
    diags_init(&d);
    int rc = routine_parse("t.ini", copy, len, r, &d);
    free(copy);
    diags_sort(&d);
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    diags_print(&d, f);
    fclose(f);
    diags_free(&d);
    if (out)
        *out = buf;
    else
        free(buf);
    return rc;
}

/* Parses text that must be valid; prints the messages if it is not. */
static int parse_ok(const char *text, struct routine *r)
{
    char *msg;
    int rc = parse(text, r, &msg);
    CHECKF(rc == 0, "rc %d, messages:\n%s", rc, msg);
    free(msg);
    return rc;
}

/* Parses text that must fail with exactly the messages want. */
static void parse_bad(const char *text, const char *want)
{
    struct routine r;
    char *msg;
    int rc = parse(text, &r, &msg);
    CHECK(rc == COACH_EINVAL);
    CHECK(r.n_steps == 0 && r.steps == NULL && r.title == NULL);
    CHECKF(strcmp(msg, want) == 0, "got:\n%swant:\n%s", msg, want);
    free(msg);
    routine_free(&r);
}

static void test_exercise_fields(void)
{
    struct routine r;
    const char *t = "[routine]\n"
                    "title = Full test\n"
                    "summary = Every field\n"
                    "voice = en-gb_2\n"
                    "caution = First caution\n"
                    "caution = Second caution\n"
                    "rest = 20.5\n"
                    "prepare = 7\n"
                    "countdown = 5\n"
                    "level = medium\n"
                    "\n"
                    "[exercise bridge]\n"
                    "name = Bridge\n"
                    "setup = Lie down\n"
                    "setup = Bend your knees\n"
                    "cue = Lift\n"
                    "tip = Squeeze\n"
                    "finish = Lower\n"
                    "sides = left leg, right leg , both\n"
                    "sets = 2-3\n"
                    "reps = 8 - 12\n"
                    "hold = 1.5-2.25\n"
                    "rest_reps = 0.5\n"
                    "rest_sets = 45\n"
                    "metronome = 60\n"
                    "[exercise curl]\n"
                    "name = Curl\n"
                    "tempo = 2, 1.5,0.5\n"
                    "phases = Up, Hold ,Down\n"
                    "[exercise march]\n"
                    "name = March\n"
                    "duration = 60-90\n"
                    "metronome = 0\n";
    if (parse_ok(t, &r)) return;
    CHECK(strcmp(r.path, "t.ini") == 0);
    CHECK(strcmp(r.title, "Full test") == 0);
    CHECK(strcmp(r.summary, "Every field") == 0);
    CHECK(strcmp(r.voice, "en-gb_2") == 0);
    CHECK(r.voice_line == 4);
    CHECK(r.cautions.len == 2 && strcmp(r.cautions.items[1], "Second caution") == 0);
    CHECK(r.rest_ms == 20500);
    CHECK(r.prepare_ms == 7000);
    CHECK(r.countdown_s == 5);
    CHECK(r.level == LEVEL_MEDIUM);
    CHECK(r.n_steps == 3);
    CHECK(routine_count_moves(&r) == 3);

    const struct step *s = &r.steps[0];
    CHECK(s->kind == STEP_EXERCISE);
    CHECK(strcmp(s->id, "bridge") == 0 && s->line == 12);
    CHECK(strcmp(s->name, "Bridge") == 0);
    CHECK(s->setup.len == 2 && strcmp(s->setup.items[0], "Lie down") == 0 &&
          strcmp(s->setup.items[1], "Bend your knees") == 0);
    CHECK(strcmp(s->cue, "Lift") == 0);
    CHECK(strcmp(s->tip, "Squeeze") == 0);
    CHECK(strcmp(s->finish, "Lower") == 0);
    CHECK(s->sides.len == 3 && strcmp(s->sides.items[0], "left leg") == 0 &&
          strcmp(s->sides.items[1], "right leg") == 0 && strcmp(s->sides.items[2], "both") == 0);
    CHECK(s->sets.lo == 2 && s->sets.hi == 3);
    CHECK(s->reps.lo == 8 && s->reps.hi == 12);
    CHECK(s->hold_ms.lo == 1500 && s->hold_ms.hi == 2250);
    CHECK(s->duration_ms.lo == 0 && s->duration_ms.hi == 0);
    CHECK(s->n_tempo == 0 && s->phases.len == 0);
    CHECK(s->rest_reps_ms == 500);
    CHECK(s->rest_sets_ms == 45000);
    CHECK(s->metronome_bpm == 60);
    CHECK(s->text == NULL);

    s = &r.steps[1];
    CHECK(strcmp(s->id, "curl") == 0 && s->line == 26);
    CHECK(s->n_tempo == 3 && s->tempo_ms[0] == 2000 && s->tempo_ms[1] == 1500 &&
          s->tempo_ms[2] == 500);
    CHECK(s->phases.len == 3 && strcmp(s->phases.items[1], "Hold") == 0 &&
          strcmp(s->phases.items[2], "Down") == 0);
    CHECK(s->hold_ms.lo == 0 && s->hold_ms.hi == 0);
    /* defaults */
    CHECK(s->sets.lo == 1 && s->sets.hi == 1 && s->reps.lo == 1 && s->reps.hi == 1);
    CHECK(s->rest_reps_ms == 0 && s->rest_sets_ms == 30000 && s->metronome_bpm == 0);
    CHECK(s->cue == NULL && s->tip == NULL && s->finish == NULL && s->setup.len == 0 &&
          s->sides.len == 0);

    s = &r.steps[2];
    CHECK(s->duration_ms.lo == 60000 && s->duration_ms.hi == 90000);
    CHECK(s->metronome_bpm == 0);
    routine_free(&r);
}

static void test_other_kinds(void)
{
    struct routine r;
    const char *t = "[routine]\n"
                    "title = Breathe\n"
                    "[breathing box]\n"
                    "name = Box breathing\n"
                    "setup = Sit tall\n"
                    "cue = Follow the tones\n"
                    "tip = Relax\n"
                    "finish = Breathe normally\n"
                    "inhale = 4\n"
                    "hold = 4.5\n"
                    "exhale = 6\n"
                    "hold_out = 2\n"
                    "cycles = 6-10\n"
                    "spoken_cycles = 3\n"
                    "[breathing plain]\n"
                    "name = Plain\n"
                    "inhale = 1\n"
                    "exhale = 30\n"
                    "cycles = 1\n"
                    "[rest pause]\n"
                    "seconds = 30-60\n"
                    "say = Have a drink of water\n"
                    "[rest short]\n"
                    "seconds = 1.5\n"
                    "[say bye]\n"
                    "text = Well done\n";
    if (parse_ok(t, &r)) return;
    /* defaults of [routine] */
    CHECK(strcmp(r.voice, "en-us") == 0 && r.voice_line == 0);
    CHECK(r.summary == NULL && r.cautions.len == 0);
    CHECK(r.rest_ms == 15000 && r.prepare_ms == 5000 && r.countdown_s == 3);
    CHECK(r.level == LEVEL_EASY);
    CHECK(r.n_steps == 5);
    CHECK(routine_count_moves(&r) == 2);

    const struct step *s = &r.steps[0];
    CHECK(s->kind == STEP_BREATHING && strcmp(s->id, "box") == 0 && s->line == 3);
    CHECK(strcmp(s->name, "Box breathing") == 0 && s->setup.len == 1);
    CHECK(strcmp(s->cue, "Follow the tones") == 0 && strcmp(s->tip, "Relax") == 0 &&
          strcmp(s->finish, "Breathe normally") == 0);
    CHECK(s->inhale_ms == 4000 && s->breath_hold_ms == 4500 && s->exhale_ms == 6000 &&
          s->hold_out_ms == 2000);
    CHECK(s->hold_ms.lo == 0 && s->hold_ms.hi == 0);
    CHECK(s->cycles.lo == 6 && s->cycles.hi == 10);
    CHECK(s->spoken_cycles == 3);

    s = &r.steps[1];
    CHECK(s->breath_hold_ms == 0 && s->hold_out_ms == 0);
    CHECK(s->inhale_ms == 1000 && s->exhale_ms == 30000);
    CHECK(s->cycles.lo == 1 && s->cycles.hi == 1);
    CHECK(s->spoken_cycles == 1); /* the default 2, capped to the cycles */

    s = &r.steps[2];
    CHECK(s->kind == STEP_REST && strcmp(s->id, "pause") == 0);
    CHECK(s->rest_ms.lo == 30000 && s->rest_ms.hi == 60000);
    CHECK(strcmp(s->text, "Have a drink of water") == 0);
    s = &r.steps[3];
    CHECK(s->rest_ms.lo == 1500 && s->rest_ms.hi == 1500 && s->text == NULL);
    s = &r.steps[4];
    CHECK(s->kind == STEP_SAY && strcmp(s->text, "Well done") == 0);
    routine_free(&r);
}

static void test_numbers(void)
{
    struct routine r;
    /* the limits themselves are accepted */
    const char *t = "[routine]\ntitle = T\nrest = 0\nprepare = 120\ncountdown = 0\nlevel = hard\n"
                    "[exercise a]\nname = A\nhold = 600\nreps = 100\nsets = 20\nrest_reps = 600\n"
                    "rest_sets = 0\nmetronome = 240\n"
                    "[exercise b]\nname = B\nhold = 1\nreps = 1-100\nmetronome = 20\n"
                    "[exercise c]\nname = C\nduration = 3600\n"
                    "[exercise d]\nname = D\ntempo = 0.5, 60, 1, 1, 1, 1, 1, 1\n"
                    "[rest e]\nseconds = 3600\n"
                    "[exercise f]\nname = F\nhold = 0.001-1.999\n";
    char *msg;
    int rc = parse(t, &r, &msg);
    /* 0.001 is below the 1 s minimum of hold: the only message */
    CHECKF(strcmp(msg, "t.ini:30: 'hold' must be from 1 to 600 seconds, got '0.001-1.999'\n") == 0,
           "%s", msg);
    CHECK(rc == COACH_EINVAL);
    free(msg);
    routine_free(&r);

    t = "[routine]\ntitle = T\nrest = 0\nprepare = 120\ncountdown = 0\nlevel = hard\n"
        "[exercise a]\nname = A\nhold = 600\nreps = 100\nsets = 20\nrest_reps = 600\n"
        "rest_sets = 0\nmetronome = 240\n"
        "[exercise d]\nname = D\ntempo = 0.5, 60, 1, 1, 1, 1, 1, 1.999\n"
        "[rest e]\nseconds = 3600\n"
        "[exercise f]\nname = F\nhold = 1.000-1.999\n";
    if (parse_ok(t, &r) == 0) {
        CHECK(r.rest_ms == 0 && r.prepare_ms == 120000 && r.countdown_s == 0);
        CHECK(r.level == LEVEL_HARD);
        CHECK(r.steps[0].hold_ms.lo == 600000 && r.steps[0].metronome_bpm == 240);
        CHECK(r.steps[1].n_tempo == 8 && r.steps[1].tempo_ms[7] == 1999);
        CHECK(r.steps[2].rest_ms.hi == 3600000);
        CHECK(r.steps[3].hold_ms.lo == 1000 && r.steps[3].hold_ms.hi == 1999);
    }
    routine_free(&r);

    /* one past each limit, and the messages that say the range */
    parse_bad("[routine]\ntitle = T\nrest = 600.001\nprepare = 121\ncountdown = 11\n"
              "[exercise a]\nname = A\nhold = 601\nreps = 0\nsets = 21\nmetronome = 19\n"
              "rest_sets = 99999999999999999999\n",
              "t.ini:3: 'rest' must be from 0 to 600 seconds, got '600.001'\n"
              "t.ini:4: 'prepare' must be from 0 to 120 seconds, got '121'\n"
              "t.ini:5: 'countdown' must be from 0 to 10, got '11'\n"
              "t.ini:8: 'hold' must be from 1 to 600 seconds, got '601'\n"
              "t.ini:9: 'reps' must be from 1 to 100, got '0'\n"
              "t.ini:10: 'sets' must be from 1 to 20, got '21'\n"
              "t.ini:11: 'metronome' must be 0 (off) or from 20 to 240 bpm, got '19'\n"
              "t.ini:12: 'rest_sets' must be from 0 to 600 seconds, got '99999999999999999999'\n");
    parse_bad("[routine]\ntitle = T\nrest = 1.5.2\ncountdown = 2.5\nprepare = -3\n"
              "[exercise a]\nname = A\nhold = 10-5\nreps = 3-\nsets = 1e3\n",
              "t.ini:3: bad value '1.5.2' for 'rest': expected seconds like 30 or 1.5\n"
              "t.ini:4: bad value '2.5' for 'countdown': expected a whole number like 3\n"
              "t.ini:5: 'prepare' must be from 0 to 120 seconds, got '-3'\n"
              "t.ini:8: bad range '10-5' for 'hold': 10 is more than 5\n"
              "t.ini:9: bad range '3-' for 'reps': expected 'lo-hi' like 8-12\n"
              "t.ini:10: bad value '1e3' for 'sets': expected a whole number like 10 or a "
              "range like 8-12\n");
}

static void test_levels(void)
{
    enum level lv = LEVEL_HARD;
    CHECK(level_parse("easy", &lv) == 0 && lv == LEVEL_EASY);
    CHECK(level_parse("medium", &lv) == 0 && lv == LEVEL_MEDIUM);
    CHECK(level_parse("hard", &lv) == 0 && lv == LEVEL_HARD);
    CHECK(level_parse("Hard", &lv) == COACH_EINVAL && lv == LEVEL_HARD);
    CHECK(level_parse("", &lv) == COACH_EINVAL);
    CHECK(strcmp(level_name(LEVEL_EASY), "easy") == 0);
    CHECK(strcmp(level_name(LEVEL_MEDIUM), "medium") == 0);
    CHECK(strcmp(level_name(LEVEL_HARD), "hard") == 0);
    CHECK(strcmp(step_kind_name(STEP_EXERCISE), "exercise") == 0);
    CHECK(strcmp(step_kind_name(STEP_BREATHING), "breathing") == 0);
    CHECK(strcmp(step_kind_name(STEP_REST), "rest") == 0);
    CHECK(strcmp(step_kind_name(STEP_SAY), "say") == 0);

    struct range a = {10, 15};
    CHECK(range_pick(a, LEVEL_EASY) == 10);
    CHECK(range_pick(a, LEVEL_MEDIUM) == 13); /* 12.5 rounds up */
    CHECK(range_pick(a, LEVEL_HARD) == 15);
    struct range b = {10, 14};
    CHECK(range_pick(b, LEVEL_MEDIUM) == 12);
    struct range c = {7, 7};
    CHECK(range_pick(c, LEVEL_EASY) == 7 && range_pick(c, LEVEL_MEDIUM) == 7 &&
          range_pick(c, LEVEL_HARD) == 7);
    struct range big = {UINT32_MAX - 1, UINT32_MAX};
    CHECK(range_pick(big, LEVEL_MEDIUM) == UINT32_MAX);
}

/* Builds "prefix" + filler up to exactly n bytes. */
static char *line_of(const char *prefix, size_t n)
{
    char *s = malloc(n + 1);
    size_t p = strlen(prefix);
    memcpy(s, prefix, p);
    memset(s + p, 'x', n - p);
    s[n] = 0;
    return s;
}

static void test_long_lines(void)
{
    const size_t max = ROUTINE_MAX_LINE_BYTES;
    /* A longest line: a 190-byte value and an inline comment filling it up. */
    char *val = line_of("", 190);
    char *longest = line_of("", max);
    snprintf(longest, max + 1, "cue = %s ; ", val);
    memset(longest + strlen(longest), 'c', max - strlen(longest));
    CHECK(strlen(longest) == max);
    char *tool = line_of("tip = ", max + 1);
    char *way = line_of("; ", 5 * max + 7);

    size_t cap = 20 * max + 1000;
    char *t = malloc(cap);
    snprintf(t, cap,
             "[routine]\n"    /* 1 */
             "title = T\n"    /* 2 */
             "%s\n"           /* 3: too long (in [routine]) */
             "[exercise a]\n" /* 4 */
             "name = A\n"     /* 5 */
             "%s\n"           /* 6: longest allowed */
             "hold = 5\n"     /* 7 */
             "%s\n"           /* 8: comment, far too long */
             "%s\r\n"         /* 9: one too long, CRLF */
             "hodl = 3\n",    /* 10 */
             tool, longest, way, tool);
    struct routine r;
    char *msg;
    int rc = parse(t, &r, &msg);
    char want[1024];
    /* the longest line's inline comment is cut from a spoken value: said */
    snprintf(want, sizeof want,
             "t.ini:3: line too long (%zu bytes; at most %zu)\n"
             "t.ini:6: warning: '; %.58s...' after 'cue' is a comment and is not spoken (' ;' "
             "starts one); to have it said, remove the blank before ';'\n"
             "t.ini:8: line too long (%zu bytes; at most %zu)\n"
             "t.ini:9: line too long (%zu bytes; at most %zu)\n"
             "t.ini:10: unknown key 'hodl' in [exercise a]; did you mean 'hold'?\n",
             max + 1, max, longest + max - 58, 5 * max + 7, max, max + 1, max);
    CHECK(rc == COACH_EINVAL);
    CHECKF(strcmp(msg, want) == 0, "got:\n%swant:\n%s", msg, want);
    free(msg);
    routine_free(&r);

    /* the longest line is read whole: the value ends before the comment */
    snprintf(t, cap, "[routine]\ntitle = T\n[exercise a]\nname = A\n%s\nhold = 5\n", longest);
    if (parse_ok(t, &r) == 0) CHECK(strcmp(r.steps[0].cue, val) == 0);
    routine_free(&r);

    /* a value of exactly ROUTINE_MAX_TEXT_BYTES is fine; one more is not */
    char *v500 = line_of("cue = ", 6 + ROUTINE_MAX_TEXT_BYTES);
    char *v501 = line_of("tip = ", 6 + ROUTINE_MAX_TEXT_BYTES + 1);
    snprintf(t, cap, "[routine]\ntitle = T\n[exercise a]\nname = A\n%s\nhold = 5\n%s\n", v500,
             v501);
    rc = parse(t, &r, &msg);
    snprintf(want, sizeof want, "t.ini:7: value of 'tip' is too long (%d bytes; at most %d)\n",
             ROUTINE_MAX_TEXT_BYTES + 1, ROUTINE_MAX_TEXT_BYTES);
    CHECKF(strcmp(msg, want) == 0, "got:\n%swant:\n%s", msg, want);
    free(msg);
    routine_free(&r);
    free(v500);
    free(v501);
    free(val);
    free(longest);
    free(tool);
    free(way);
    free(t);
}

static void test_reading_rules(void)
{
    struct routine r;
    /* CRLF, a BOM, both comment styles, inline comments, indentation, "key: value" */
    const char *t = "\xEF\xBB\xBF[routine]\r\n"
                    "; a comment\r\n"
                    "# another\r\n"
                    "title = Hash #1 is kept; so is this ; but not this\r\n"
                    "\r\n"
                    "   \t  \r\n"
                    "  [exercise a]   ; a comment after the header\r\n"
                    "    name: Indented colon\r\n"
                    "\tcue = Tabbed = value: with colon\r\n"
                    "hold = 5 ; seconds\r\n"
                    "[say end]\n"
                    "text = Caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x91\x8D\n"
                    "[say no-break]\n"
                    "text = last line without a line break";
    if (parse_ok(t, &r) == 0) {
        CHECK(strcmp(r.title, "Hash #1 is kept; so is this") == 0);
        CHECK(strcmp(r.steps[0].name, "Indented colon") == 0);
        CHECK(strcmp(r.steps[0].cue, "Tabbed = value: with colon") == 0);
        CHECK(r.steps[0].hold_ms.lo == 5000);
        CHECK(r.steps[0].line == 7);
        CHECK(strcmp(r.steps[1].text, "Caf\xC3\xA9 \xE2\x9C\x93 \xF0\x9F\x91\x8D") == 0);
        CHECK(strcmp(r.steps[2].text, "last line without a line break") == 0);
    }
    routine_free(&r);

    /* line numbers stay right with CRLF, a BOM and indentation */
    parse_bad("\xEF\xBB\xBF[routine]\r\ntitle = T\r\n\r\n  [exercise a]\r\n  name = A\r\n"
              "  hodl = 5\r\n",
              "t.ini:6: unknown key 'hodl' in [exercise a]; did you mean 'hold'?\n");
    /* a BOM anywhere else is not skipped */
    parse_bad("[routine]\ntitle = T\n\xEF\xBB\xBF[say a]\ntext = x\n",
              "t.ini:1: routine has no steps; add [exercise <id>], [breathing <id>], [rest <id>] "
              "or [say <id>] sections\n"
              "t.ini:3: expected 'key = value', got '\xEF\xBB\xBF[say a]'\n"
              "t.ini:4: key 'text' is not valid in [routine] (only in say steps)\n");
}

static void test_files(void)
{
    struct routine r;
    struct coach_diags d;
    diags_init(&d);
    int rc = routine_load("/nonexistent/coach/x.ini", &r, &d);
    CHECK(rc == COACH_ENOTFOUND);
    CHECK(d.len == 1 && d.items[0].line == 0 &&
          strcmp(d.items[0].msg, "cannot open: No such file or directory") == 0 &&
          strcmp(d.items[0].file, "/nonexistent/coach/x.ini") == 0);
    CHECK(r.steps == NULL && r.title == NULL);
    diags_free(&d);

    /* a directory is refused when opened, not read */
    rc = routine_load(test_src_path("tests"), &r, &d);
    CHECK(rc == COACH_EIO);
    CHECK(d.len == 1 &&
          strcmp(d.items[0].msg, "cannot open: it is a directory, not a regular file") == 0);
    diags_free(&d);

    /* a file over ROUTINE_MAX_FILE_BYTES is refused before parsing */
    char big[4200];
    snprintf(big, sizeof big, "%s/big.ini", test_tmpdir("routine"));
    FILE *f = fopen(big, "wb");
    CHECK(f != NULL);
    if (f) {
        fputs("[routine]\ntitle = Big\n[say a]\ntext = a\n", f);
        for (unsigned i = 0; i < ROUTINE_MAX_FILE_BYTES / 10 + 1; i++)
            fputs(";comment \n", f);
        fclose(f);
        rc = routine_load(big, &r, &d);
        CHECK(rc == COACH_EINVAL);
        CHECK(d.len == 1 && d.items[0].line == 0 &&
              strcmp(d.items[0].msg, "file too large (more than 1048576 bytes)") == 0);
        CHECK(r.steps == NULL && r.title == NULL);
        diags_free(&d);
        remove(big);
    }

    /* every shipped routine and every tests/good file is valid */
    const char *dirs[] = {"routines", "tests/good"};
    int n_good = 0;
    for (int k = 0; k < 2; k++) {
        DIR *dir = opendir(test_src_path(dirs[k]));
        CHECKF(dir != NULL, "cannot open %s", dirs[k]);
        if (!dir) continue;
        struct dirent *e;
        while ((e = readdir(dir))) {
            size_t n = strlen(e->d_name);
            if (n < 5 || strcmp(e->d_name + n - 4, ".ini") != 0) continue;
            char rel[512];
            snprintf(rel, sizeof rel, "%s/%s", dirs[k], e->d_name);
            rc = routine_load(test_src_path(rel), &r, &d);
            /* shipped routines without a warning too; tests/good may
             * have some (inline comments) */
            size_t allowed = k == 1 ? diags_warnings(&d) : 0;
            CHECKF(rc == 0 && d.len == allowed, "%s: rc %d, first message: %s", rel, rc,
                   d.len ? d.items[0].msg : "");
            CHECK(rc != 0 || (r.n_steps > 0 && r.title && r.voice));
            n_good += k == 1;
            routine_free(&r);
            diags_free(&d);
        }
        closedir(dir);
    }
    CHECK(n_good >= 3);

    /* routine_free is safe on a zeroed struct and twice */
    memset(&r, 0, sizeof r);
    routine_free(&r);
    routine_free(&r);
}

/* Empty input, NULL text, and text that is a prefix of a valid routine cut
 * at every byte: none may crash or read past len. */
static void test_edges(void)
{
    struct routine r;
    struct coach_diags d;
    diags_init(&d);
    CHECK(routine_parse("e.ini", NULL, 0, &r, &d) == COACH_EINVAL);
    CHECK(d.len == 2 && d.items[0].line == 0);
    diags_free(&d);

    const char *t = "[routine]\ntitle = T\n[exercise a]\nname = A\nhold = 5\n";
    size_t n = strlen(t);
    for (size_t cut = 0; cut <= n; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, t, cut);
        int rc = routine_parse("cut.ini", copy, cut, &r, &d);
        CHECK(rc == (cut >= n - 1 ? 0 : COACH_EINVAL));
        routine_free(&r);
        diags_free(&d);
        free(copy);
    }
}

/* The example routines in the man page are valid: every .EX block that
 * starts with [routine] or a comment (not the SYNOPSIS, with its \fI
 * placeholders, nor the list of messages). */
static void test_man_examples(void)
{
    char *man = test_read_file(test_src_path("docs/coach-routine.5"), NULL);
    CHECKF(man != NULL, "cannot read docs/coach-routine.5");
    if (!man) return;
    size_t cap = strlen(man) + 1;
    char *block = malloc(cap);
    size_t n = 0;
    int in = 0, examples = 0;
    for (char *line = strtok(man, "\n"); line; line = strtok(NULL, "\n")) {
        if (strcmp(line, ".EX") == 0) {
            in = 1;
            n = 0;
            continue;
        }
        if (!in) continue;
        if (strcmp(line, ".EE") == 0) {
            in = 0;
            block[n] = 0;
            if ((strncmp(block, "[routine]\n", 10) == 0 || block[0] == ';') &&
                !strstr(block, "\\f")) {
                struct routine r;
                examples++;
                if (parse_ok(block, &r) == 0) CHECK(r.n_steps >= 4);
                routine_free(&r);
            }
            continue;
        }
        /* roff escapes used in the examples: \- and \& */
        for (const char *c = line; *c; c++) {
            if (c[0] == '\\' && c[1] == '-') {
                block[n++] = '-';
                c++;
            } else if (c[0] == '\\' && c[1] == '&') {
                c++;
            } else {
                block[n++] = *c;
            }
        }
        block[n++] = '\n';
    }
    CHECK(examples >= 2);
    free(block);
    free(man);
}

/* A small deterministic mutation fuzzer over a valid routine. */
static void test_mutations(void)
{
    const char *seed = "[routine]\ntitle = T\nvoice = en-us\nlevel = hard\ncaution = c\n"
                       "[exercise a]\nname = A\nsides = l, r\nsets = 2-3\nreps = 8-12\n"
                       "tempo = 2, 1.5\nphases = up, down\nrest_reps = 1\nmetronome = 60\n"
                       "[breathing b]\nname = B\ninhale = 4\nhold = 2\nexhale = 6\ncycles = 3-5\n"
                       "spoken_cycles = 2\n[rest c]\nseconds = 10-20\nsay = s\n[say d]\ntext = x\n";
    const char alphabet[] = "[]=:;# \t\r\n-.,0123456789az_\0\x01\x7f\xc3\xa9\xff\xef\xbb\xbf";
    size_t n = strlen(seed);
    uint32_t x = 12345;
    int ok = 0;
    for (int iter = 0; iter < 3000; iter++) {
        char buf[2048];
        size_t len = n;
        memcpy(buf, seed, n);
        int edits = 1 + iter % 8;
        for (int e = 0; e < edits; e++) {
            x = x * 1103515245u + 12345u;
            size_t pos = (x >> 8) % (len + 1);
            char c = alphabet[(x >> 20) % (sizeof alphabet - 1)];
            switch ((x >> 4) % 3) {
            case 0: /* replace */
                if (pos < len) buf[pos] = c;
                break;
            case 1: /* insert */
                if (len < sizeof buf - 1) {
                    memmove(buf + pos + 1, buf + pos, len - pos);
                    buf[pos] = c;
                    len++;
                }
                break;
            default: /* delete */
                if (pos < len) {
                    memmove(buf + pos, buf + pos + 1, len - pos - 1);
                    len--;
                }
            }
        }
        char *copy = malloc(len ? len : 1);
        memcpy(copy, buf, len);
        struct routine r;
        struct coach_diags d;
        diags_init(&d);
        int rc = routine_parse("m.ini", copy, len, &r, &d);
        CHECK(rc == 0 || rc == COACH_EINVAL);
        CHECK((rc == 0) == (d.len == diags_warnings(&d)));
        ok += rc == 0;
        for (size_t i = 0; i < d.len; i++) {
            const char *m = d.items[i].msg;
            size_t ml = strlen(m);
            CHECKF(ml > 0 && m[ml - 1] != '.' && !(m[0] >= 'A' && m[0] <= 'Z'),
                   "badly formed message: %s", m);
        }
        routine_free(&r);
        diags_free(&d);
        free(copy);
    }
    CHECK(ok > 0);
}

int main(void)
{
    test_exercise_fields();
    test_other_kinds();
    test_numbers();
    test_levels();
    test_long_lines();
    test_reading_rules();
    test_files();
    test_man_examples();
    test_edges();
    test_mutations();
    return test_done();
}
