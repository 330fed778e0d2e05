#!/usr/bin/env bash
# Bash completion (scripts/completion/coach.bash): sources it, calls _coach
# with COMP_WORDS/COMP_CWORD set as bash would, and compares COMPREPLY with
# what is expected: commands, options per command, option values, routine
# and voice names (asked from the built coach), ctl words and file names.
# Also checks it against the binary, so that a command, option or ctl word
# added to coach without its completion fails here.
set -u
src=${COACH_SOURCE_DIR:?} coach=${COACH:?}
tmp=${COACH_TEST_TMP:?}/completion
file=$src/scripts/completion/coach.bash
[ -f "$file" ] || { echo "FAIL: $file is missing"; exit 1; }
rm -rf "$tmp" && mkdir -p "$tmp/work/sub" "$tmp/home" || exit 1
cd "$tmp/work" || exit 1
touch my.ini notes.txt sub/x.ini
# the source tree's routines and voices only, whatever is installed
export COACH_DATA_DIR=$src HOME=$tmp/home XDG_DATA_HOME='' XDG_DATA_DIRS=/nonexistent

# shellcheck source=/dev/null
source "$file" || { echo "FAIL: sourcing $file failed"; exit 1; }
[[ $(complete -p coach 2>/dev/null) == *"-F _coach"* ]] ||
    { echo "FAIL: $file does not register _coach for 'coach'"; exit 1; }

fails=0
# comp WANT WORD...: completes the last WORD (the cursor at its end) of
# "coach WORD..." and checks that the candidates are exactly WANT (words
# separated by spaces, in any order).
comp()
{
    local want=$1
    shift
    COMP_WORDS=("$coach" "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMP_LINE="coach $*" COMP_POINT=${#COMP_LINE}
    COMPREPLY=()
    _coach
    local got
    got=$(printf '%s\n' "${COMPREPLY[@]}" | sed '/^$/d' | sort | tr '\n' ' ')
    # shellcheck disable=SC2086 # WANT is a list of words
    want=$(printf '%s\n' $want | sed '/^$/d' | sort | tr '\n' ' ')
    if [ "$got" != "$want" ]; then
        echo "FAIL: coach $* <TAB>"
        echo "  expected: $want"
        echo "  got:      $got"
        fails=$((fails + 1))
    fi
}
# offered WORD...: the candidates for "coach WORD..." (one line each).
offered()
{
    COMP_WORDS=("$coach" "$@")
    COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
    COMPREPLY=()
    _coach
    printf '%s\n' "${COMPREPLY[@]}"
}

routines=$(cd "$src/routines" && ls -- *.ini | sed 's/\.ini$//')
voices=$(cd "$src/voices" && ls -- *.ini | sed 's/\.ini$//')
[ -n "$routines" ] && [ -n "$voices" ] || { echo "FAIL: no routines or voices in $src"; exit 1; }
cmds='play menu export check plan list ctl history voices devices cache help version'
words='pause resume toggle next back previous repeat where louder softer stop done hurt pain'

# commands, with or without options before them
comp "$cmds" ''
comp 'play plan' pl
comp 'play plan' -q pl
comp 'play plan' --level easy pl
comp '--help --version --quiet' -
# routines: names from 'coach list', plus .ini files and directories
comp "$routines my.ini sub" play ''
comp 'lower-back-relief lower-back-relief.de lower-back-relief.es lower-back-strength' plan lower-back-
comp 'lower-back-relief lower-back-relief.de lower-back-relief.es' --level hard export lower-back-r
comp 'sub/x.ini' play sub/
comp "$routines my.ini sub" check breathing ''
comp "$routines my.ini sub" play breathing '' # several play as one session
comp "$routines my.ini sub" plan -j posture ''
comp '--with-warm-up' play --wi
comp '--with-warm-up' check --wi
comp "$routines my.ini sub" export -o out.flac ''
comp '' export --all out ''
comp '' list ''
comp 'clear' cache ''
# option values
comp 'easy medium hard' play --level ''
comp 'medium' play -l m
comp '--level=medium' play --level=m
comp 'easy medium hard' play --level = ''
comp 'hard' play --level = h
comp 'wav flac ogg opus mp3' export --format ''
comp 'ogg opus' export -f o
comp '48000 44100' -r ''
comp '1 2' play --channels ''
comp "$voices my.ini sub" play --voice ''
en_voices=$(cd "$src/voices" && ls -- en*.ini | sed 's/\.ini$//' | tr '\n' ' ' | sed 's/ $//')
comp "$en_voices" check --voice en
comp "$en_voices" check --voice = en
comp '' play --speech-rate ''
comp '' play --latency 1
comp 'my.ini notes.txt sub' export -o ''
comp 'notes.txt' export posture --captions n
comp '--chapters=notes.txt' export posture --chapters=n
comp 'notes.txt' export posture --chapters = n
comp 'my.ini notes.txt sub' play --music ''
comp 'sub' export --all ''
comp 'my.ini notes.txt sub' ctl --socket ''
# the value of an option is not the command
comp "$routines my.ini sub" --level easy play ''
comp "$routines my.ini sub" -o play.flac export ''
# ctl words
comp "$words" ctl ''
comp 'toggle' ctl t
comp "$words" ctl -s /tmp/sock ''
comp '' ctl toggle ''
comp '0 1 2 3 4 5 6 7 8 9 10' ctl pain ''
comp '10' ctl pain 10
comp '--ask-pain' play --ask
# options per command
comp '--json' plan --j
comp '--socket' ctl -
comp '--quiet' list -
comp '--device' play --dev
comp '--device' menu --dev
comp '--listen' play --lis
comp '--mic' menu --mi
comp '' export --lis
comp '' export --dev
comp '' check --mus
comp '--all' export --al

# Against the binary: every long option in --help is offered for some
# command and nothing else is; the commands and ctl words are coach's own.
help=$("$coach" --help) || { echo "FAIL: coach --help failed"; exit 1; }
want_opts=$(grep -o -- '--[a-z][a-z-]*' <<<"$help" | sort -u)
got_opts=$(for c in '' play menu export check plan ctl list voices devices history; do
    offered $c --
done | sort -u)
if [ "$want_opts" != "$got_opts" ]; then
    echo "FAIL: the long options offered differ from coach --help"
    diff <(echo "$want_opts") <(echo "$got_opts") | sed -n 's/^</  only in --help:/p; s/^>/  only in completion:/p'
    fails=$((fails + 1))
fi
want_cmds=$(sed -n '/^Commands:/,/^$/p' <<<"$help" | grep -o '^  [a-z][a-z]*' | tr -d ' ' | sort -u)
want_cmds=$(printf '%s\nhelp\nversion\n' "$want_cmds" | sort -u)
got_cmds=$(offered '' | sort -u)
if [ "$want_cmds" != "$got_cmds" ]; then
    echo "FAIL: the commands offered differ from coach --help's"
    diff <(echo "$want_cmds") <(echo "$got_cmds") | sed -n 's/^</  only in --help:/p; s/^>/  only in completion:/p'
    fails=$((fails + 1))
fi
# 'coach ctl' with no word names the words it takes
want_words=$("$coach" ctl 2>&1 | sed -n 's/.*needs one word: //p' | tr -d ',' | tr ' ' '\n' | sed '/^$/d' | sort)
got_words=$(offered ctl '' | sort)
if [ -z "$want_words" ] || [ "$want_words" != "$got_words" ]; then
    echo "FAIL: the ctl words offered differ from coach ctl's ($(tr '\n' ' ' <<<"$want_words"))"
    fails=$((fails + 1))
fi

if [ "$fails" -ne 0 ]; then
    echo "completion: $fails check(s) failed"
    exit 1
fi
echo "completion: all checks passed"
