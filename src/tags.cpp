/* Chapters and tags inside exported audio files, with TagLib: libsndfile
 * writes chapters only as WAV cue points, and TagLib is the well-kept
 * library that writes both conventions phone players read, ID3v2 CHAP and
 * CTOC frames (MP3) and Vorbis comments CHAPTER001 / CHAPTER001NAME (FLAC,
 * Ogg Vorbis, Opus). The only C++ file of the core library: a C API
 * (coach/tags.h) over TagLib's classes, no exception let through. Written
 * by hand: the CHAPTERnnn field names and their HH:MM:SS.mmm times (a
 * convention, not a format), and a WAV's cue point names, a LIST "adtl"
 * chunk of "labl" chunks appended to the file: libsndfile writes the cue
 * points but not their names, and TagLib writes neither. */
#include "coach/tags.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <taglib/chapterframe.h>
#include <taglib/flacfile.h>
#include <taglib/id3v2tag.h>
#include <taglib/mpegfile.h>
#include <taglib/opusfile.h>
#include <taglib/tableofcontentsframe.h>
#include <taglib/textidentificationframe.h>
#include <taglib/vorbisfile.h>
#include <taglib/xiphcomment.h>

extern "C" {
#include "coach/common.h"
}

namespace {

TagLib::String utf8(const char *s) { return TagLib::String(s ? s : "", TagLib::String::UTF8); }

/* Chapter i's times in milliseconds, rounded down like the sidecar lists
 * (chapters.c): a jump never lands after a step's first word. */
unsigned long long start_ms(const struct timeline *tl, size_t i)
{
    return (unsigned long long)(tl->ch[i].frame * 1000 / tl->rate_hz);
}

unsigned long long end_ms(const struct timeline *tl, size_t i)
{
    const struct chapter *c = &tl->ch[i];
    uint64_t end = c->end_frame > c->frame ? c->end_frame : c->frame;
    return (unsigned long long)(end * 1000 / tl->rate_hz);
}

void put_common(TagLib::Tag *tag, const struct tags *t)
{
    if (t->title && *t->title) tag->setTitle(utf8(t->title));
    if (t->artist && *t->artist) tag->setArtist(utf8(t->artist));
    if (t->album && *t->album) tag->setAlbum(utf8(t->album));
    if (t->track) tag->setTrack(t->track);
}

/* FLAC, Vorbis, Opus: CHAPTER001=00:00:00.000 and CHAPTER001NAME=... (the
 * number has 3 digits, more past 999). Chapters of an earlier write go. */
void put_xiph(TagLib::Ogg::XiphComment *x, const struct tags *t)
{
    put_common(x, t);
    TagLib::StringList old;
    for (const auto &field : x->fieldListMap())
        if (field.first.upper().startsWith("CHAPTER")) old.append(field.first);
    for (const auto &key : old) x->removeFields(key);
    const struct timeline *tl = t->chapters;
    for (size_t i = 0; tl && i < tl->n_ch; i++) {
        unsigned long long ms = start_ms(tl, i);
        char key[32], when[48];
        snprintf(key, sizeof key, "CHAPTER%03zu", i + 1);
        snprintf(when, sizeof when, "%02llu:%02llu:%02llu.%03llu", ms / 3600000, ms / 60000 % 60,
                 ms / 1000 % 60, ms % 1000);
        x->addField(key, when);
        x->addField(std::string(key) + "NAME", utf8(tl->ch[i].title));
    }
}

/* MP3: one CHAP frame per chapter (its title in an embedded TIT2; byte
 * offsets unknown, 0xFFFFFFFF, as ID3v2's chapter addendum allows) and a
 * top-level, ordered CTOC listing them. ID3v2.3: more players read it. */
bool save_mp3(const char *path, const struct tags *t)
{
    TagLib::MPEG::File f(path, false);
    if (!f.isValid()) return false;
    TagLib::ID3v2::Tag *tag = f.ID3v2Tag(true);
    put_common(tag, t);
    tag->removeFrames("CHAP");
    tag->removeFrames("CTOC");
    const struct timeline *tl = t->chapters;
    if (tl && tl->n_ch) {
        TagLib::ByteVectorList ids;
        for (size_t i = 0; i < tl->n_ch; i++) {
            TagLib::ByteVector id(("ch" + std::to_string(i + 1)).c_str());
            auto *title = new TagLib::ID3v2::TextIdentificationFrame("TIT2", TagLib::String::UTF8);
            title->setText(utf8(tl->ch[i].title));
            TagLib::ID3v2::FrameList sub;
            sub.append(title);
            auto clamp = [](unsigned long long ms) {
                return (unsigned)(ms < 0xFFFFFFFEull ? ms : 0xFFFFFFFEull);
            };
            tag->addFrame(new TagLib::ID3v2::ChapterFrame(id, clamp(start_ms(tl, i)),
                                                          clamp(end_ms(tl, i)), 0xFFFFFFFFu,
                                                          0xFFFFFFFFu, sub));
            ids.append(id);
        }
        auto *toc = new TagLib::ID3v2::TableOfContentsFrame("toc", ids);
        toc->setIsTopLevel(true);
        toc->setIsOrdered(true);
        tag->addFrame(toc);
    }
    return f.save(TagLib::MPEG::File::ID3v2, TagLib::File::StripNone, TagLib::ID3v2::v3,
                  TagLib::File::DoNotDuplicate);
}

bool save_flac(const char *path, const struct tags *t)
{
    TagLib::FLAC::File f(path, false);
    if (!f.isValid()) return false;
    put_xiph(f.xiphComment(true), t);
    return f.save();
}

template <class File> bool save_ogg(const char *path, const struct tags *t)
{
    File f(path, false);
    if (!f.isValid() || !f.tag()) return false;
    put_xiph(f.tag(), t);
    return f.save();
}

void put_le32(std::string &out, uint32_t v)
{
    for (int i = 0; i < 4; i++) out += (char)((v >> (8 * i)) & 0xff);
}

bool pwrite_all(int fd, const char *p, size_t n, off_t at)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, at);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return false;
        }
        p += w, n -= (size_t)w, at += w;
    }
    return true;
}

/* WAV: chapter i's name as the label of cue point i + 1 (export.c numbers
 * them so), in a LIST "adtl" chunk at the end, and the RIFF size updated. */
bool save_wav_labels(const char *path, const struct timeline *tl)
{
    if (!tl || !tl->n_ch) return true;
    std::string sub = "adtl";
    for (size_t i = 0; i < tl->n_ch; i++) {
        std::string body;
        put_le32(body, (uint32_t)(i + 1));
        body += tl->ch[i].title ? tl->ch[i].title : "";
        body += '\0';
        sub += "labl";
        put_le32(sub, (uint32_t)body.size());
        sub += body;
        if (body.size() & 1) sub += '\0'; /* chunks are word-aligned */
    }
    std::string chunk = "LIST";
    put_le32(chunk, (uint32_t)sub.size());
    chunk += sub;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    char head[12];
    struct stat st;
    bool ok = pread(fd, head, sizeof head, 0) == (ssize_t)sizeof head &&
              memcmp(head, "RIFF", 4) == 0 && memcmp(head + 8, "WAVE", 4) == 0 &&
              fstat(fd, &st) == 0;
    if (!ok && !errno) errno = EINVAL; /* not a RIFF WAVE: not ours */
    off_t end = ok ? st.st_size + (st.st_size & 1) : 0;
    if (ok && (uint64_t)end + chunk.size() - 8 > UINT32_MAX) ok = false, errno = EFBIG;
    std::string size;
    if (ok) put_le32(size, (uint32_t)(end + (off_t)chunk.size() - 8));
    ok = ok && (end == st.st_size || pwrite_all(fd, "", 1, st.st_size)) &&
         pwrite_all(fd, chunk.data(), chunk.size(), end) && pwrite_all(fd, size.data(), 4, 4);
    int e = errno;
    close(fd);
    errno = e;
    return ok;
}

} // namespace

extern "C" int tags_write(const char *path, const char *format, const struct tags *t, char *err,
                          size_t err_cap)
{
    if (err && err_cap) err[0] = 0;
    if (!path || !format || !t || (t->chapters && t->chapters->rate_hz == 0)) {
        coach_set_err(err, err_cap, "invalid tag arguments");
        return COACH_EINVAL;
    }
    std::string fmt(format);
    errno = 0;
    bool ok;
    try {
        if (fmt == "wav") /* cue points and INFO tags: libsndfile's */
            ok = save_wav_labels(path, t->chapters);
        else if (fmt == "mp3")
            ok = save_mp3(path, t);
        else if (fmt == "flac")
            ok = save_flac(path, t);
        else if (fmt == "ogg")
            ok = save_ogg<TagLib::Ogg::Vorbis::File>(path, t);
        else if (fmt == "opus")
            ok = save_ogg<TagLib::Ogg::Opus::File>(path, t);
        else {
            coach_set_err(err, err_cap, "no tags for the format %s", format);
            return COACH_EFORMAT;
        }
    } catch (const std::bad_alloc &) {
        coach_set_err(err, err_cap, "out of memory");
        errno = ENOMEM;
        return COACH_ENOMEM;
    } catch (...) {
        ok = false;
    }
    if (ok) return 0;
    int e = errno ? errno : EIO;
    coach_set_err(err, err_cap, "cannot write the chapters and tags: %s", strerror(e));
    errno = e;
    return COACH_EIO;
}
