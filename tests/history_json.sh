#!/usr/bin/env bash
# coach history and coach history --json, as a user and a program see them:
# no history yet ("No sessions yet.", and [] in JSON, both exit 0); records
# with the start and stop steps the history keeps (--from, --resume, an
# unfinished session) printed in the sentences; --json a valid JSON array
# (python3 -m json.tool) with every field of every record, strings escaped
# (a quote, a backslash, a control character, a broken UTF-8 byte),
# damaged lines left out and warned about once; a history that cannot be
# read: exit 4, a message, and no half document on stdout.
set -u
coach=${COACH:?path to coach}
src=${COACH_SOURCE_DIR:?}
tmp=${COACH_TEST_TMP:-/tmp}/history_json.$$
rm -rf "$tmp"
mkdir -p "$tmp/home/state"
chmod 700 "$tmp/home" "$tmp/home/state"
case $coach in /*) ;; *) coach=$PWD/$coach ;; esac
. "$src/tests/tools/checks.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 is needed to check the JSON"; exit 77; }
export HOME="$tmp/home" COACH_HISTORY_FILE="$tmp/home/state/history.tsv"

section "no history yet"
expect 0 "$coach" history
[ "$out" = "No sessions yet." ] && ok || bad "plain, no history: '$out'"
expect 0 "$coach" history --json
[ "$out" = "[]" ] && ok || bad "json, no history: '$out'"
[ -z "$err" ] && ok || bad "json, no history, stderr: '$err'"

section "records"
h=$COACH_HISTORY_FILE
{
  printf '2026-11-21T19:40:05\tcore-strength\tCore "strength"\t5\t5\t900\tcompleted\t0\n'
  printf '2026-11-22T07:10:00\tcore-strength\tCore strength\t2\t5\t300\tstopped\t1\tdead-bug\tbird-dog\n'
  printf 'torn line\n'
  printf '2026-11-23T07:10:00\tback\\slash\tTab\x01and\xe9\t1\t5\t60\tinterrupted\t0\t-\tplank\n'
  printf '2026-11-20T07:00:00\told\tOld record\t1\t1\t10\tcompleted\n'
  printf '2026-11-24T07:00:00\tselfp\tSelf paced\t2\t2\t120\tcompleted\t0\t-\t-\t45,38\n'
  printf '2026-11-25T07:00:00\tcore-strength\tCore strength\t3\t5\t400\tstopped\t1\t-\tplank\t-\tbird-dog\t4\n'
} >"$h"
chmod 600 "$h"
expect 0 "$coach" history
has "$out" "Core strength (core-strength), stopped at bird-dog, 2 of 5 exercises, 1 skipped, started at dead-bug, 5 min."
has "$out" "interrupted at plank, 1 of 5 exercises, 1 min."
has "$out" "Self paced (selfp), completed, 2 of 2 exercises, 2 min, held 45 s, 38 s."
has "$out" "stopped at plank, 3 of 5 exercises, 1 skipped, stopped for pain at bird-dog, 6 min 40 s, pain 4 of 10."
has "$err" "history.tsv:3: warning:"
expect 0 "$coach" history --json
printf '%s\n' "$out" >"$tmp/h.json"
if python3 -m json.tool "$tmp/h.json" >/dev/null 2>"$tmp/jerr"; then ok; else bad "not valid JSON: $(cat "$tmp/jerr")"; fi
has "$err" "history.tsv:3: warning:"
# every field of every record, read back by a JSON parser
python3 - "$tmp/h.json" <<'PY' && ok || bad "JSON records are not what the history holds"
import json, sys
recs = json.load(open(sys.argv[1], encoding="utf-8"))
keys = ["when", "routine", "title", "steps_done", "steps_total", "seconds", "ending",
        "skipped", "from_step", "stop_step", "held_seconds", "pain_step", "pain"]
assert len(recs) == 6, recs
assert all(list(r) == keys for r in recs), recs
assert recs[0] == {"when": "2026-11-21T19:40:05", "routine": "core-strength",
                   "title": 'Core "strength"', "steps_done": 5, "steps_total": 5,
                   "seconds": 900, "ending": "completed", "skipped": 0,
                   "from_step": None, "stop_step": None, "held_seconds": [],
                   "pain_step": None, "pain": None}, recs[0]
assert recs[1]["from_step"] == "dead-bug" and recs[1]["stop_step"] == "bird-dog", recs[1]
assert recs[1]["skipped"] == 1 and recs[1]["ending"] == "stopped", recs[1]
assert recs[2]["routine"] == "back\\slash", recs[2]
assert recs[2]["title"] == "Tab\x01and\ufffd", recs[2]
assert recs[2]["from_step"] is None and recs[2]["stop_step"] == "plank", recs[2]
assert recs[3]["routine"] == "old" and recs[3]["skipped"] == 0, recs[3]
assert recs[4]["held_seconds"] == [45, 38] and recs[4]["pain"] is None, recs[4]
assert recs[5]["pain_step"] == "bird-dog" and recs[5]["pain"] == 4, recs[5]
assert recs[5]["held_seconds"] == [] and recs[5]["stop_step"] == "plank", recs[5]
PY
# the JSON is safe on a terminal too: no raw control byte
if LC_ALL=C grep -q "$(printf '\001')" "$tmp/h.json"; then bad "a raw control byte in the JSON"; else ok; fi

section "a history that cannot be read"
rm -f "$h"
mkdir "$h"
expect 4 "$coach" history --json
[ -z "$out" ] && ok || bad "half a document on stdout: '$out'"
has "$err" "cannot read the history"
expect 4 "$coach" history
rmdir "$h"

section "usage"
expect 2 "$coach" history --json extra
has "$err" "history takes no arguments"

echo "history_json: $pass passed, $fail failed"
[ "$fail" -eq 0 ] && rm -rf "$tmp"
[ "$fail" -eq 0 ]
