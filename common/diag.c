/*
 * diag.c - user errors (and notes on them) with a source line and a
 * caret, and BUG().
 *
 * The source line is shown as bytes: printable ASCII as is, tabs kept so
 * the caret lines up, anything else (NUL, invalid UTF-8, control bytes)
 * as '?'.  Very long lines are cut to a window around the caret.
 */
#include "dx.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { WINDOW = 120 };

static void show_line(const Source *s, Loc loc)
{
    if (!s || !s->text || loc.line < 1)
        return;
    size_t i = 0;
    for (int l = 1; l < loc.line && i < s->len; i++)
        if (s->text[i] == '\n')
            l++;
    size_t start = i, end = i;
    while (end < s->len && s->text[end] != '\n')
        end++;
    size_t caret = start + (size_t)(loc.col > 0 ? loc.col - 1 : 0);
    if (caret > end)
        caret = end;
    size_t from = start, to = end;
    if (caret - from > WINDOW / 2)
        from = caret - WINDOW / 2;
    if (to - from > WINDOW)
        to = from + WINDOW;
    fputs("    ", stderr);
    if (from > start)
        fputs("...", stderr);
    for (size_t k = from; k < to; k++) {
        unsigned char c = (unsigned char)s->text[k];
        fputc(c == '\t' || (c >= 32 && c < 127) ? c : '?', stderr);
    }
    if (to < end)
        fputs("...", stderr);
    fputs("\n    ", stderr);
    if (from > start)
        fputs("   ", stderr);
    for (size_t k = from; k < caret; k++)
        fputc(s->text[k] == '\t' ? '\t' : ' ', stderr);
    fputs("^\n", stderr);
}

/* Prints "FILE:LINE:COL: KIND: TEXT", the source line and a caret. */
static void report(const Diag *d, Loc loc, const char *kind, const char *text)
{
    fprintf(stderr, "%s:%d:%d: %s: %s\n", d->src ? d->src->path : "<input>", loc.line, loc.col,
            kind, text);
    show_line(d->src, loc);
}

int diag_error(Diag *d, Loc loc, const char *fmt, ...)
{
    if (d->nerrors >= DIAG_MAX_ERRORS)
        return 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->last, sizeof d->last, fmt, ap);
    va_end(ap);
    d->last_loc = loc;
    d->nerrors++;
    if (!d->quiet) {
        report(d, loc, "error", d->last);
        if (d->nerrors == DIAG_MAX_ERRORS)
            fprintf(stderr, "dxc: error: too many errors, stopping\n");
    }
    return d->nerrors >= DIAG_MAX_ERRORS;
}

void diag_note(Diag *d, Loc loc, const char *fmt, ...)
{
    if (d->nerrors >= DIAG_MAX_ERRORS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->last_note, sizeof d->last_note, fmt, ap);
    va_end(ap);
    d->last_note_loc = loc;
    d->nnotes++;
    if (!d->quiet)
        report(d, loc, "note", d->last_note);
}

void diag_plain(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("dxc: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

const char *diag_name(Arena *a, const char *name)
{
    size_t n = strlen(name);
    if (n <= 40)
        return name;
    return arena_printf(a, "%.32s...", name);
}

void dx_bug(const char *file, int line, const char *msg)
{
    fprintf(stderr, "dxc: internal error at %s:%d: %s\n", file, line, msg);
    abort();
}
