# bash completion for coach(1).
# Installed as <datadir>/bash-completion/completions/coach (loaded on demand
# by bash-completion); it can also be sourced on its own: it needs nothing
# from bash-completion. Routine, voice and device names come from the coach
# being completed (its own 'list', 'voices' and 'devices'), so they are the
# ones it will find.

# The coach being completed: the command as typed (./build/coach, ~/bin/coach)
# when it runs, else the one in PATH.
_coach_bin()
{
    local c=${COMP_WORDS[0]}
    # shellcheck disable=SC2088 # a literal ~/ as typed (not expanded in COMP_WORDS)
    [[ $c == "~/"* ]] && c=$HOME/${c#"~/"}
    if [[ $c == */* && -x $c ]] || type -P -- "$c" >/dev/null 2>&1; then
        printf '%s\n' "$c"
    else
        printf '%s\n' coach
    fi
}

# Names from "NAME: ..." lines of a coach listing (stdin); lines that start
# with a space (details, searched directories) are skipped.
_coach_names()
{
    local line
    while IFS= read -r line; do
        [[ $line =~ ^([^[:space:]:][^:]*):\  ]] && printf '%s\n' "${BASH_REMATCH[1]}"
    done
}

_coach_routines()
{
    "$(_coach_bin)" list 2>/dev/null | _coach_names
}

# Only the voice profiles: the listing's first block, up to its blank line
# (the espeak-ng voices after it are not --voice names).
_coach_voices()
{
    "$(_coach_bin)" voices 2>/dev/null | while IFS= read -r line; do
        [[ -z $line ]] && break
        [[ $line =~ ^\ \ ([^[:space:]:][^:]*):\  ]] && printf '%s\n' "${BASH_REMATCH[1]}"
    done
}

# Device names ("0: NAME (API), ..."): --device takes part of a name; the
# output devices come first, the microphones (--mic) after their heading.
# $1: out or mic.
_coach_devices()
{
    local part=out
    "$(_coach_bin)" devices 2>/dev/null | while IFS= read -r line; do
        [[ $line == Microphones* ]] && part=mic
        [[ $part == "$1" && $line =~ ^[0-9]+:\ (.*)\ \([^\(]*\),\ [0-9]+\ channels ]] &&
            printf '%s\n' "${BASH_REMATCH[1]}"
    done
}

# Adds the words given after $1 that start with $1 to COMPREPLY. With -q
# first they are quoted for the command line (device names hold spaces);
# without, they go with file names, which bash quotes itself (-o filenames).
# (Words come as arguments, not on a pipe: a pipe's end runs in a subshell
# and its COMPREPLY would be lost.)
_coach_add()
{
    local q=false w
    if [[ $1 == -q ]]; then
        q=true
        shift
    fi
    local cur=$1
    shift
    for w; do
        [[ -n $w && $w == "$cur"* ]] || continue
        if $q; then
            COMPREPLY+=("$(printf '%q' "$w")")
        else
            COMPREPLY+=("$w")
        fi
    done
}

# File names starting with $2 (-f all, -d directories, -i .ini files and
# directories to reach them), marked as file names so that bash quotes them
# and ends directories with /.
_coach_files()
{
    local f IFS=$'\n'
    for f in $(compgen "${1/-i/-f}" -- "$2"); do
        [[ $1 != -i || -d $f || $f == *.ini ]] && COMPREPLY+=("$f")
    done
    compopt -o filenames 2>/dev/null
    return 0
}

_coach()
{
    COMPREPLY=()
    local cword=$COMP_CWORD
    local -a words=("${COMP_WORDS[@]}")
    local cur=${words[cword]} prev=
    local -a names

    # Bash splits "--level=easy" at '=' (see COMP_WORDBREAKS) into "--level"
    # "=" "easy": glue such words back so that the rest sees one word.
    local -a w=()
    local i n=${#words[@]} nc=$cword
    for ((i = 0; i < n; i++)); do
        if [[ ${words[i]} == "=" ]] && ((${#w[@]})) && [[ ${w[-1]} == --* && ${w[-1]} != *=* ]]; then
            w[-1]+="="
            ((i == cword)) && nc=$((${#w[@]} - 1))
            if ((i + 1 < n && i + 1 <= cword)); then
                ((i++))
                w[-1]+=${words[i]}
                ((i == cword)) && nc=$((${#w[@]} - 1))
            fi
        else
            w+=("${words[i]}")
            ((i == cword)) && nc=$((${#w[@]} - 1))
        fi
    done
    words=("${w[@]}")
    cword=$nc
    cur=${words[cword]-}
    ((cword > 0)) && prev=${words[cword - 1]}

    # Options that take a value, as getopt_long in src/main.c knows them.
    local valopts='-o|--output|-f|--format|-l|--level|-r|--rate|-c|--channels|-d|--device|-s|--socket|--latency|--captions|--chapters|--transcript|--voice|--speech-rate|--pitch|--speech-volume|--volume|--all|--split|--music|--preroll|--mic|--from|--loudness'

    # The command: the first word that is neither an option nor an option's
    # value (options may come before the command: getopt permutes).
    local cmd='' cmdi=0 j
    for ((j = 1; j < cword; j++)); do
        local x=${words[j]}
        if [[ $x == -* ]]; then
            [[ $x != *=* && $x =~ ^($valopts)$ ]] && ((j++))
            continue
        fi
        cmd=$x
        cmdi=$j
        break
    done

    # --opt=value: complete the value part. When bash split the word at '='
    # it replaces only the value; when it did not, the whole word.
    local opt=$prev val=$cur pre=
    if [[ $cur == --*=* ]]; then
        opt=${cur%%=*}
        val=${cur#*=}
        [[ ${COMP_WORDS[COMP_CWORD]} == --*=* ]] && pre=$opt=
    elif [[ ! $prev =~ ^($valopts)$ ]]; then
        opt=
    fi
    if [[ -n $opt ]]; then
        local n=${#COMPREPLY[@]}
        case $opt in
        -l | --level) _coach_add "$val" easy medium hard ;;
        -f | --format) _coach_add "$val" wav flac ogg opus mp3 ;;
        -r | --rate) _coach_add "$val" 48000 44100 ;;
        -c | --channels) _coach_add "$val" 1 2 ;;
        --loudness) _coach_add "$val" podcast broadcast off ;;
        --voice)
            mapfile -t names < <(_coach_voices)
            _coach_add "$val" "${names[@]}"
            _coach_files -i "$val"
            ;;
        -d | --device)
            mapfile -t names < <(_coach_devices out)
            _coach_add -q "$val" "${names[@]}"
            ;;
        --mic)
            mapfile -t names < <(_coach_devices mic)
            _coach_add -q "$val" "${names[@]}"
            ;;
        --all | --split) _coach_files -d "$val" ;;
        -o | --output | --captions | --chapters | --transcript | --music | -s | --socket) _coach_files -f "$val" ;;
        *) ;; # numbers: nothing to offer
        esac
        if [[ -n $pre ]]; then
            for ((i = n; i < ${#COMPREPLY[@]}; i++)); do COMPREPLY[i]=$pre${COMPREPLY[i]}; done
        fi
        return 0
    fi

    local session='--level --progress --voice --speech-rate --pitch --speech-volume --volume --rate --quiet --no-cache'
    local live='--music --channels --device --latency --socket --replace --no-mpris --verbose --preroll --listen --mic --echo-cancelled --no-echo-cancel'
    if [[ $cur == -* ]]; then
        local opts
        case $cmd in
        play) opts="$session $live --from --resume --with-warm-up --ask-pain --loudness" ;;
        menu) opts="$session $live --ask-pain --loudness" ;;
        export) opts="$session --output --format --captions --chapters --transcript --all --split --music --channels --preroll --from --resume --with-warm-up --loudness --rewrite" ;;
        check) opts="$session --strict --with-warm-up" ;;
        plan) opts="$session --json --from --resume --with-warm-up" ;;
        ctl) opts='--socket' ;;
        history) opts='--quiet --json' ;;
        list | voices | devices | cache) opts='--quiet' ;;
        help | version) opts= ;;
        *) opts='--help --version --quiet' ;;
        esac
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
        return 0
    fi

    if [[ -z $cmd ]]; then
        mapfile -t COMPREPLY < <(compgen -W 'play menu export check plan list ctl history voices devices cache help version' -- "$cur")
        return 0
    fi

    # Arguments after the command: how many came before this one.
    local nargs=0
    for ((j = cmdi + 1; j < cword; j++)); do
        local x=${words[j]}
        if [[ $x == -* ]]; then
            [[ $x != *=* && $x =~ ^($valopts)$ ]] && ((j++))
            continue
        fi
        ((nargs++))
    done
    case $cmd in
    ctl)
        ((nargs == 0)) && mapfile -t COMPREPLY < <(compgen -W 'pause resume toggle next back previous repeat where louder softer stop done hurt pain' -- "$cur")
        # pain takes the rating
        ((nargs == 1)) && [[ ${words[cword - 1]} == pain ]] && mapfile -t COMPREPLY < <(compgen -W '0 1 2 3 4 5 6 7 8 9 10' -- "$cur")
        ;;
    cache)
        ((nargs == 0)) && mapfile -t COMPREPLY < <(compgen -W 'clear' -- "$cur")
        ;;
    play | export | plan | check)
        # any number of routines (several play as one session); export --all takes none
        [[ $cmd == export && " ${words[*]} " == *" --all"[\ =]* ]] && return 0
        mapfile -t names < <(_coach_routines)
        _coach_add "$cur" "${names[@]}"
        _coach_files -i "$cur" # a path works too
        ;;
    esac
    return 0
}

complete -F _coach coach
