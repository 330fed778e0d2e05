/* libFLAC's switch for the STREAMINFO MD5 of what an encoder is given.
 * Exported by libFLAC (1.4.2) but declared in its private headers only:
 * weak, so a libFLAC without it leaves the MD5 on (a little wasted time,
 * the same frames). coach never needs that MD5: the FLAC writer of an
 * export (flacpar.c) computes the file's own over the whole stream, and
 * the phrase store's streams (pcmstore.c) are checked by their frames'
 * CRCs and the phrase cache's checksum. */
#ifndef COACH_FLACMD5_H
#define COACH_FLACMD5_H

#include <FLAC/stream_encoder.h>

extern FLAC__bool FLAC__stream_encoder_set_do_md5(FLAC__StreamEncoder *e, FLAC__bool value)
    __attribute__((weak));

/* Turns e's MD5 off where libFLAC can; true (a libFLAC without the switch
 * only computes it). */
static inline FLAC__bool flac_md5_off(FLAC__StreamEncoder *e)
{
    return !FLAC__stream_encoder_set_do_md5 || FLAC__stream_encoder_set_do_md5(e, false);
}

#endif
