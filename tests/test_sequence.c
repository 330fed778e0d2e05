/* Sequences (several routines as one session): the plan of a + b is one
 * intro (the titles in order, every routine's cautions once, the whole
 * length), then a's body and b's body exactly as each plans alone,
 * shifted, each after its own chapter and announcement, each with its own
 * settings (countdown, rest) and level; one ending. The session reads
 * "before"/"after" with --with-warm-up (a name not found is the file's
 * error at its line), refuses mixed voices and --from/--resume; --progress
 * moves each routine by its own records (and says so after its name); the
 * player writes one history record per routine reached. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "coach/clips.h"
#include "coach/common.h"
#include "coach/history.h"
#include "coach/plan.h"
#include "coach/player.h"
#include "coach/position.h"
#include "coach/progress.h"
#include "coach/routine.h"
#include "coach/session.h"
#include "coach/sink.h"
#include "coach/voice.h"
#include "testutil.h"

#define RATE 48000

static struct voice voice;

/* a: countdown 2, a level of its own (hard: 4 reps); b: countdown 3,
 * rest 4 between moves; both share a caution */
static const char *text_a =
    "[routine]\ntitle = Seq A\nlevel = hard\ncountdown = 2\nrest = 3\nprepare = 2\n"
    "caution = Shared caution.\ncaution = Only in A.\n"
    "[exercise a1]\nname = Alpha\nreps = 2-4\ntempo = 1, 1\n"
    "[exercise a2]\nname = Beta\nhold = 3\n";
static const char *text_b =
    "[routine]\ntitle = Seq B\ncountdown = 3\nrest = 4\nprepare = 2\n"
    "caution = Shared caution.\ncaution = Only in B.\n"
    "[say intro]\ntext = Now the second part.\n"
    "[exercise b1]\nname = Gamma\nhold = 3\n"
    "[breathing b2]\nname = Delta\ninhale = 2\nexhale = 2\ncycles = 2\n";

static int parse(const char *name, const char *text, struct routine *r)
{
    struct coach_diags d;
    diags_init(&d);
    int rc = routine_parse(name, text, strlen(text), r, &d);
    diags_print(&d, stderr);
    diags_free(&d);
    CHECKF(rc == 0, "%s parses", name);
    return rc;
}

static int plan(const struct routine *r, struct clipstore *cs, enum level lv, struct timeline *tl)
{
    struct plan_opts o = {.rate_hz = RATE, .level = lv, .part = PLAN_FULL};
    char err[512] = "";
    int rc = plan_build(r, &voice, cs, &o, tl, err, sizeof err);
    CHECKF(rc == 0, "%s", err);
    return rc;
}

static size_t count_said(const struct timeline *tl, const struct clipstore *cs, const char *text)
{
    size_t n = 0;
    for (size_t i = 0; i < tl->n_ev; i++)
        n += tl->ev[i].kind == EV_SPEECH && strcmp(clipstore_text(cs, tl->ev[i].clip), text) == 0;
    return n;
}

static size_t count_kind(const struct timeline *tl, enum event_kind k)
{
    size_t n = 0;
    for (size_t i = 0; i < tl->n_ev; i++) n += tl->ev[i].kind == k;
    return n;
}

/* The events of steps [off, off + n) of whole equal the events of steps
 * [0, n) of alone, every one shifted by the same number of frames. */
static void same_body(const char *what, const struct timeline *whole, size_t off, size_t n,
                      const struct timeline *alone)
{
    size_t i = 0, j = 0, matched = 0;
    int64_t shift = 0;
    bool have_shift = false, ok = true;
    for (;;) {
        while (i < whole->n_ev && !(whole->ev[i].step >= (int32_t)off &&
                                    whole->ev[i].step < (int32_t)(off + n)))
            i++;
        while (j < alone->n_ev && alone->ev[j].step < 0) j++;
        if (i == whole->n_ev || j == alone->n_ev) {
            CHECKF(i == whole->n_ev && j == alone->n_ev, "%s: as many events (%zu matched)", what,
                   matched);
            break;
        }
        const struct event *a = &whole->ev[i], *b = &alone->ev[j];
        if (!have_shift) {
            shift = (int64_t)a->frame - (int64_t)b->frame;
            have_shift = true;
        }
        if ((int64_t)a->frame - (int64_t)b->frame != shift || a->kind != b->kind ||
            a->clip != b->clip || a->len_frames != b->len_frames ||
            a->step != b->step + (int32_t)off || a->rep != b->rep || a->set != b->set) {
            ok = false;
            fprintf(stderr, "  %s: event %zu differs: frame %llu vs %llu + %lld, kind %d/%d\n", what,
                    matched, (unsigned long long)a->frame, (unsigned long long)b->frame,
                    (long long)shift, a->kind, b->kind);
            break;
        }
        matched++, i++, j++;
    }
    CHECKF(ok && matched > 10, "%s: the body is the routine's own, shifted (%zu events)", what,
           matched);
    CHECKF(shift > 0, "%s: shifted later", what);
}

static void plan_sequence(void)
{
    struct routine a, b, ab;
    if (parse("a.ini", text_a, &a)) return;
    if (parse("b.ini", text_b, &b)) return;
    const struct routine *src[] = {&a, &b};
    const char *names[] = {"a", "b"};
    CHECK(routine_join(&ab, src, names, 2, true) == 0);
    CHECK(ab.n_parts == 2 && ab.n_steps == 5 && strcmp(ab.title, "Seq A, Seq B") == 0);
    CHECK(ab.cautions.len == 3); /* the shared caution once */
    CHECK(routine_part_of(&ab, 1) == &ab.parts[0] && routine_part_of(&ab, 2) == &ab.parts[1]);
    CHECK(routine_part_of(&ab, 5) == NULL && routine_part_of(&a, 0) == NULL);
    /* its own level: a's hard picks 4 reps, whatever the session's level */
    CHECK(ab.steps[0].reps.lo == 4 && ab.steps[0].reps.hi == 4);

    struct clipstore cs;
    test_estimator(&cs, RATE);
    struct timeline ta, tb, tab;
    if (plan(&a, &cs, LEVEL_HARD, &ta) || plan(&b, &cs, LEVEL_EASY, &tb) ||
        plan(&ab, &cs, LEVEL_EASY, &tab))
        return;
    test_plan_invariants("a + b", &tab, &cs);

    /* one intro: the titles in order, each caution once, one length */
    CHECK(tab.ev[0].kind == EV_SPEECH && tab.ev[0].frame == 0 &&
          strcmp(clipstore_text(&cs, tab.ev[0].clip), "Seq A, Seq B.") == 0);
    CHECK(count_said(&tab, &cs, "Shared caution.") == 1);
    CHECK(count_said(&tab, &cs, "Only in A.") == 1 && count_said(&tab, &cs, "Only in B.") == 1);
    CHECK(count_said(&tab, &cs, "Before we start, please listen.") == 1);
    CHECK(count_said(&tab, &cs, "Let's begin.") == 1);
    CHECK(count_said(&tab, &cs, "Routine complete. Well done.") == 1);
    CHECK(count_kind(&tab, EV_BELL) == 1);
    /* the transitions */
    CHECK(count_said(&tab, &cs, "First routine: Seq A.") == 1);
    CHECK(count_said(&tab, &cs, "Next routine: Seq B.") == 1);
    /* moves counted per routine */
    CHECK(count_said(&tab, &cs, "Exercise 1 of 2: Alpha.") == 1);
    CHECK(count_said(&tab, &cs, "Exercise 1 of 2: Gamma.") == 1);

    /* chapters: intro, "Seq A", a1, a2, "Seq B", intro(say), b1, b2 */
    CHECKF(tab.n_ch == 8, "%zu chapters", tab.n_ch);
    if (tab.n_ch == 8) {
        CHECK(tab.ch[0].step == -1 && strcmp(tab.ch[0].title, "Seq A, Seq B") == 0);
        CHECK(tab.ch[1].step == -1 && strcmp(tab.ch[1].title, "Seq A") == 0);
        CHECK(tab.ch[2].step == 0 && tab.ch[3].step == 1);
        CHECK(tab.ch[4].step == -1 && strcmp(tab.ch[4].title, "Seq B") == 0);
        CHECK(tab.ch[5].step == 2 && tab.ch[6].step == 3 && tab.ch[7].step == 4);
        CHECK(strcmp(tab.ch[6].title, "Exercise 1 of 2: Gamma") == 0);
        CHECK(tab.ch[4].frame > tab.ch[3].frame && tab.ch[5].frame > tab.ch[4].frame);
    }
    /* live commands: "next" in a's last move goes to b's announcement,
     * which is the lead-in of b's first move ("where": next is Gamma) */
    if (tab.n_ch == 8) {
        uint64_t to = 0;
        CHECK(position_next(&tab, &ab, tab.ch[3].body_frame + 4 * RATE, UINT64_MAX, &to) == NAV_OK);
        CHECKF(to == tab.ch[4].frame, "next went to %llu, not %llu", (unsigned long long)to,
               (unsigned long long)tab.ch[4].frame);
        char *where = position_where(&tab, &ab, &voice, LEVEL_EASY, tab.ch[4].frame + 10, false);
        CHECKF(where && strstr(where, "Next: Gamma."), "%s", where ? where : "(null)");
        free(where);
    }
    /* each body exactly as alone, shifted: a at hard (its level), b with
     * its own countdown and rest */
    same_body("a", &tab, 0, 2, &ta);
    same_body("b", &tab, 2, 3, &tb);
    /* the length: both bodies and more, less than both sessions whole */
    uint64_t body_a = ta.ending_frame - ta.ch[1].frame, body_b = tb.ending_frame - tb.ch[1].frame;
    CHECK(tab.len_frames > body_a + body_b);
    CHECK(tab.len_frames < ta.len_frames + tb.len_frames);
    timeline_free(&ta), timeline_free(&tb), timeline_free(&tab);
    clipstore_free(&cs);
    routine_free(&ab);
    CHECK(ab.parts == NULL && ab.steps == NULL);
    routine_free(&a), routine_free(&b);
}

/* ---- sessions: names, --with-warm-up, refusals ---- */

static char dir[512];

static void put(const char *name, const char *text)
{
    char path[700];
    snprintf(path, sizeof path, "%s/routines/%s.ini", dir, name);
    FILE *f = fopen(path, "w");
    CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

static enum session_fail open_seq(struct session *s, const char *const *names, size_t n,
                                  bool warm, const char *voice_arg, const char *from,
                                  const char *history, char *err, size_t cap,
                                  struct coach_diags *d)
{
    struct session_opts so = {.routine = names[0], .routines = n > 1 ? names : NULL,
                              .n_routines = n > 1 ? n : 0, .with_warm_up = warm,
                              .voice = voice_arg, .speech_rate = -1, .pitch = -1,
                              .speech_volume = -1, .rate_hz = RATE, .clips = CLIPS_AUDIO,
                              .from = from, .history_path = history};
    return session_open(s, &so, d, err, cap);
}

static void sessions(void)
{
    snprintf(dir, sizeof dir, "%s", test_tmpdir("sequence"));
    char sub[600];
    snprintf(sub, sizeof sub, "%s/routines", dir);
    mkdir(sub, 0700);
    setenv("COACH_DATA_DIR", dir, 1);
    const char *vpath = test_src_path("voices/en-us.ini");
    put("seq-warm", "[routine]\ntitle = Warm\nprepare = 2\ncountdown = 1\n"
                    "[exercise w]\nname = March\nhold = 2\n");
    put("seq-cool", "[routine]\ntitle = Cool\nprepare = 2\ncountdown = 1\n"
                    "[exercise c]\nname = Stretch\nhold = 2\n");
    put("seq-main", "[routine]\ntitle = Main\nprepare = 2\ncountdown = 1\nbefore = seq-warm\n"
                    "after = seq-cool\n[exercise m]\nname = Plank\nhold = 2\n");
    put("seq-bad", "[routine]\ntitle = Bad\nbefore = seq-warm\nafter = seq-nope\n"
                   "[exercise m]\nname = Plank\nhold = 2\n");
    put("seq-up", "[routine]\ntitle = Up\nprepare = 2\ncountdown = 1\n"
                  "[exercise u]\nname = Squat\nhold = 2-4\n");
    put("seq-de", "[routine]\ntitle = De\nvoice = de\n[exercise m]\nname = Brett\nhold = 2\n");

    struct session s;
    struct coach_diags d;
    char err[1024] = "";
    /* without --with-warm-up, before/after are not used */
    const char *main_only[] = {"seq-main"};
    diags_init(&d);
    CHECK(open_seq(&s, main_only, 1, false, vpath, NULL, NULL, err, sizeof err, &d) == SESSION_OK);
    CHECK(s.n_parts == 0 && s.routine.parts == NULL && s.routine.before.len == 1 &&
          strcmp(s.routine.before.items[0], "seq-warm") == 0 && s.routine.before_line == 5);
    session_free(&s);
    diags_free(&d);
    /* with it: warm, main, cool */
    diags_init(&d);
    CHECK(open_seq(&s, main_only, 1, true, vpath, NULL, NULL, err, sizeof err, &d) == SESSION_OK);
    CHECK(s.n_parts == 3 && s.routine.n_parts == 3);
    if (s.n_parts == 3) {
        CHECK(strcmp(s.part_names[0], "seq-warm") == 0 && strcmp(s.part_names[1], "seq-main") == 0 &&
              strcmp(s.part_names[2], "seq-cool") == 0);
        CHECK(strcmp(s.routine.title, "Warm, Main, Cool") == 0 && s.have_tl);
    }
    session_free(&s);
    diags_free(&d);
    /* the warm-up named too is not played twice */
    const char *warm_main[] = {"seq-warm", "seq-main"};
    diags_init(&d);
    CHECK(open_seq(&s, warm_main, 2, true, vpath, NULL, NULL, err, sizeof err, &d) == SESSION_OK);
    CHECKF(s.n_parts == 3, "%zu parts", s.n_parts);
    session_free(&s);
    diags_free(&d);
    /* a name not found: the file's error, at its line */
    const char *bad[] = {"seq-bad"};
    diags_init(&d);
    CHECK(open_seq(&s, bad, 1, true, vpath, NULL, NULL, err, sizeof err, &d) == SESSION_INVALID);
    CHECKF(d.len == 1 && d.items[0].line == 4 && strstr(d.items[0].file, "seq-bad.ini") &&
               strstr(d.items[0].msg, "after: no routine 'seq-nope'"),
           "%s", d.len ? d.items[0].msg : "(none)");
    session_free(&s);
    diags_free(&d);
    /* mixed voices without --voice: refused, both named */
    const char *mixed[] = {"seq-warm", "seq-de"};
    diags_init(&d);
    CHECK(open_seq(&s, mixed, 2, false, NULL, NULL, NULL, err, sizeof err, &d) == SESSION_SEQUENCE);
    CHECKF(strstr(err, "seq-warm: en-us") && strstr(err, "seq-de: de") && strstr(err, "--voice"),
           "%s", err);
    session_free(&s);
    diags_free(&d);
    /* --from with several: refused */
    diags_init(&d);
    CHECK(open_seq(&s, warm_main, 2, false, vpath, "1", NULL, err, sizeof err, &d) ==
          SESSION_SEQUENCE);
    CHECKF(strstr(err, "--from takes one routine"), "%s", err);
    session_free(&s);
    diags_free(&d);
}

/* ---- the player: one history record per routine reached ---- */

static enum player_state play(struct session *s, const char *history, const char *stop_in,
                              struct player_summary *sum)
{
    struct player_opts po = {.sink = &sink_memory_ops,
                             .sink_cfg = {.rate_hz = RATE, .channels = 1, .block_frames = 480},
                             .history_path = history};
    struct player *p;
    char err[512] = "";
    CHECKF(player_open(&p, s, &po, err, sizeof err) == PLAYER_OK, "%s", err);
    if (!p) return PLAYER_FAILED;
    bool stopping = false;
    for (int i = 0; i < 200000; i++) {
        player_run(p, 20);
        struct player_status st;
        player_status(p, &st);
        if (st.state != PLAYER_PLAYING) break;
        const struct timeline *tl = player_timeline(p);
        if (stop_in && !stopping && st.chapter >= 0 && (size_t)st.chapter < tl->n_ch &&
            tl->ch[st.chapter].step >= 0 &&
            strcmp(s->routine.steps[tl->ch[st.chapter].step].id, stop_in) == 0 &&
            st.pos >= tl->ch[st.chapter].body_frame + RATE) {
            char reply[256];
            player_command(p, CTL_STOP, reply, sizeof reply);
            stopping = true;
        }
    }
    player_close(p, sum);
    return sum->state;
}

static size_t lines(const char *text)
{
    size_t n = 0;
    for (const char *c = text; c && *c; c++) n += *c == '\n';
    return n;
}

static void history(void)
{
    const char *vpath = test_src_path("voices/en-us.ini");
    char hist[700];
    snprintf(hist, sizeof hist, "%s/history.tsv", dir);
    const char *main_only[] = {"seq-main"};
    struct session s;
    struct coach_diags d;
    char err[1024] = "";
    struct player_summary sum;

    /* stopped in the main routine: warm completed, main stopped at m,
     * cool not begun */
    diags_init(&d);
    CHECK(open_seq(&s, main_only, 1, true, vpath, NULL, hist, err, sizeof err, &d) == SESSION_OK);
    diags_free(&d);
    CHECK(play(&s, hist, "m", &sum) == PLAYER_STOPPED);
    CHECKF(sum.stop_part == 1 && sum.stop_step == 1, "stopped in part %d, step %d", sum.stop_part,
           sum.stop_step);
    session_free(&s);
    char *text = test_read_file(hist, NULL);
    CHECKF(text && lines(text) == 2, "%s", text ? text : "(none)");
    CHECKF(text && strstr(text, "\tseq-warm\tWarm\t1\t1\t") && strstr(text, "\tcompleted\t0\n"),
           "%s", text ? text : "");
    CHECKF(text && strstr(text, "\tseq-main\tMain\t0\t1\t") && strstr(text, "\tstopped\t0\t-\tm\n"),
           "%s", text ? text : "");
    CHECK(text && !strstr(text, "seq-cool"));
    free(text);
    /* --resume of the main routine alone starts at m */
    struct history_resume hr;
    CHECK(history_resume_point(hist, "seq-main", &hr) == 0 && strcmp(hr.stop_step, "m") == 0);

    /* played to the end: three records, all completed */
    remove(hist);
    diags_init(&d);
    CHECK(open_seq(&s, main_only, 1, true, vpath, NULL, hist, err, sizeof err, &d) == SESSION_OK);
    diags_free(&d);
    CHECK(play(&s, hist, NULL, &sum) == PLAYER_ENDED);
    CHECK(sum.moves_total == 3 && sum.moves_done == 3);
    CHECK(sum.stop_part == -1 && sum.stop_step == -1);
    session_free(&s);
    text = test_read_file(hist, NULL);
    CHECKF(text && lines(text) == 3, "%s", text ? text : "(none)");
    size_t completed = 0;
    for (const char *c = text; c && (c = strstr(c, "\tcompleted\t")); c++) completed++;
    CHECK(completed == 3);
    CHECK(text && strstr(text, "\tseq-warm\t") && strstr(text, "\tseq-main\t") &&
          strstr(text, "\tseq-cool\t"));
    free(text);
}

/* --progress in a sequence: each routine at the level its own records
 * give, its sentence said after its name; what a session of the sequence
 * records counts for each routine. */
static void progress_parts(void)
{
    const char *vpath = test_src_path("voices/en-us.ini");
    char hist[700];
    snprintf(hist, sizeof hist, "%s/progress.tsv", dir);
    remove(hist);
    for (int i = 0; i < 2; i++) { /* two clean sessions of seq-up alone */
        struct history_record rec = {.when = 1795290005 + i * 3600, .routine = "seq-up",
                                     .title = "Up", .steps_done = 1, .steps_total = 1,
                                     .seconds = 30, .ending = "completed"};
        CHECK(history_append(hist, &rec) == 0);
    }
    const char *names[] = {"seq-warm", "seq-up"};
    struct session_opts so = {.routine = names[0], .routines = names, .n_routines = 2,
                              .voice = vpath, .speech_rate = -1, .pitch = -1,
                              .speech_volume = -1, .rate_hz = RATE, .clips = CLIPS_AUDIO,
                              .progress = true, .history_path = hist};
    struct session s;
    struct coach_diags d;
    char err[1024] = "";
    diags_init(&d);
    CHECKF(session_open(&s, &so, &d, err, sizeof err) == SESSION_OK, "%s", err);
    diags_free(&d);
    CHECK(s.n_parts == 2 && s.part_progress && s.part_announce);
    if (!s.part_progress || !s.part_announce) return;
    CHECK(s.part_progress[0].streak == 0 && s.part_progress[0].level == LEVEL_EASY);
    CHECK(s.part_progress[1].streak == 2 && s.part_progress[1].level == LEVEL_EASY);
    CHECK(!s.part_announce[0] && !s.part_announce[1] && !s.announce);
    CHECK(s.routine.steps[1].hold_ms.lo == 2000 && s.routine.steps[1].hold_ms.hi == 2000);
    struct player_summary sum;
    CHECK(play(&s, hist, NULL, &sum) == PLAYER_ENDED); /* one record each, completed */
    session_free(&s);

    /* the third clean session of seq-up: medium, said after "Next routine: Up." */
    diags_init(&d);
    CHECKF(session_open(&s, &so, &d, err, sizeof err) == SESSION_OK, "%s", err);
    diags_free(&d);
    if (!s.part_progress || !s.part_announce) return;
    CHECKF(s.part_progress[0].streak == 1 && s.part_progress[0].level == LEVEL_EASY, "warm %u",
           s.part_progress[0].streak);
    CHECKF(s.part_progress[1].streak == 3 && s.part_progress[1].level == LEVEL_MEDIUM, "up %u",
           s.part_progress[1].streak);
    CHECK(!s.part_announce[0] && s.part_announce[1] && strstr(s.part_announce[1], "medium"));
    CHECKF(s.routine.steps[1].hold_ms.lo == 3000 && s.routine.steps[1].hold_ms.hi == 3000,
           "hold %u", (unsigned)s.routine.steps[1].hold_ms.lo);
    size_t said_next = 0, said_up = 0;
    for (size_t i = 0; s.part_announce[1] && i < s.tl.n_ev; i++) {
        const struct event *e = &s.tl.ev[i];
        if (e->kind != EV_SPEECH) continue;
        const char *t = clipstore_text(&s.clips, e->clip);
        if (t && strcmp(t, "Next routine: Up.") == 0) said_next = i;
        if (t && strcmp(t, s.part_announce[1]) == 0) said_up = i;
    }
    CHECKF(said_next && said_up > said_next, "next at %zu, progress at %zu", said_next, said_up);
    session_free(&s);
}

/* unless_after: a [say] step left out when a routine it names is joined
 * before its own, kept when it is not (alone, after it, another before). */
static void unless_after(void)
{
    struct routine warm, main_r, other, joined;
    if (parse("routines/seq-warm.ini", "[routine]\ntitle = W\n[exercise w]\nname = M\nhold = 2\n",
              &warm) ||
        parse("seq-other", "[routine]\ntitle = O\n[exercise o]\nname = N\nhold = 2\n", &other) ||
        parse("routines/seq-main.ini",
              "[routine]\ntitle = Main\n[say first]\ntext = Warm up first.\n"
              "unless_after = seq-nope, seq-warm\n[exercise m]\nname = P\nhold = 2\n",
              &main_r))
        return;
    CHECK(main_r.steps[0].unless_after.len == 2 &&
          strcmp(main_r.steps[0].unless_after.items[1], "seq-warm") == 0);
    const struct routine *wm[] = {&warm, &main_r}, *mw[] = {&main_r, &warm},
                         *om[] = {&other, &main_r};
    const char *n_wm[] = {"seq-warm", "seq-main"}, *n_mw[] = {"seq-main", "seq-warm"},
               *n_om[] = {"seq-other", "seq-main"};
    CHECK(routine_join(&joined, wm, n_wm, 2, true) == 0);
    CHECKF(joined.n_steps == 2 && joined.parts[1].n_steps == 1 &&
               strcmp(joined.steps[1].id, "m") == 0,
           "%zu steps", joined.n_steps);
    routine_free(&joined);
    CHECK(routine_join(&joined, mw, n_mw, 2, true) == 0);
    CHECK(joined.n_steps == 3 && strcmp(joined.steps[0].id, "first") == 0);
    routine_free(&joined);
    CHECK(routine_join(&joined, om, n_om, 2, true) == 0);
    CHECK(joined.n_steps == 3 && joined.parts[1].n_steps == 2);
    routine_free(&joined);
    routine_free(&warm);
    routine_free(&main_r);
    routine_free(&other);
}

int main(void)
{
    struct coach_diags d;
    diags_init(&d);
    CHECK(voice_load(test_src_path("voices/en-us.ini"), &voice, &d) == 0);
    diags_print(&d, stderr);
    diags_free(&d);
    plan_sequence();
    unless_after();
    sessions();
    history();
    progress_parts();
    voice_free(&voice);
    return test_done();
}
