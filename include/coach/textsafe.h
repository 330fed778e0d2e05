/* Text that reaches a terminal: which characters may never be shown raw,
 * and printing that replaces them. A routine or a voice profile is refused
 * when it holds one (the INI reader checks every line with
 * text_unsafe_kind); text from anywhere else (a history file, file names)
 * is printed through text_fput_safe or text_safe_stream. The unsafe ones:
 * C0 controls other than tab, DEL, C1 controls (U+0080-U+009F: CSI U+009B
 * and OSC U+009D start escape sequences on some terminals, NEL U+0085
 * ends a line), the bidirectional controls that reorder what is shown
 * (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) and the line and
 * paragraph separators U+2028, U+2029. */
#ifndef COACH_TEXTSAFE_H
#define COACH_TEXTSAFE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The UTF-8 sequence at s[0..n) (n > 0): its length in bytes (1-4) with
 * *cp the code point; 0 if s[0] starts no valid sequence (a stray
 * continuation byte, an overlong form, a surrogate, above U+10FFFF, a
 * broken sequence); -1 if s holds the valid beginning of a sequence cut
 * short by n. */
int utf8_next(const unsigned char *s, size_t n, uint32_t *cp);
/* What cp is if it may not be shown raw: "control character",
 * "bidirectional control character", "line or paragraph separator"; NULL
 * for tab and every other character. */
const char *text_unsafe_kind(uint32_t cp);
/* Prints the string s with every unsafe character (a newline too) as '?',
 * and each byte of a broken UTF-8 sequence as '?'. */
void text_fput_safe(const char *s, FILE *out);
/* s as a JSON string literal, quotes included: '"', '\\' and newline,
 * tab escaped, every other control and unsafe character as \uXXXX (so the
 * JSON is also safe on a terminal), each byte of a broken UTF-8 sequence as
 * \ufffd (JSON text is UTF-8); other UTF-8 passes through. NULL is "". */
void text_fput_json(const char *s, FILE *out);
/* s made safe the same way into buf[0..cap) (cut on a character boundary
 * if it does not fit); returns buf. For a name or path in a message. */
const char *text_safe(char *buf, size_t cap, const char *s);
/* A stream that passes what is written to it on to out the same way, but
 * keeping newlines (for whole listings); a sequence cut between two writes
 * is put together first. fclose() it to flush it (out stays open); an
 * error writing to out is an error of the stream. NULL if no memory. */
FILE *text_safe_stream(FILE *out);

#endif
