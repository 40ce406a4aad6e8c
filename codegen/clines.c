/*
 * clines.c - --line-directives: `#line N "model.dx"` before each statement
 * that comes from line N of the .dx file, so that compiler messages and
 * debuggers (gdb, addr2line, a profiler's listing) point into the model;
 * a line of code that comes from no line of it (a signature, a
 * declaration, a closing brace, the helpers) returns to the C file's own
 * numbering with `#line M "model.c"` (C99 6.10.4).
 *
 * cbody.c writes a mark (CG_LINE_MARK, then N) on a line of its own
 * before each statement it knows the source line of.  Only once the file
 * is whole are its line numbers known, so the marks become directives
 * here, in one pass: a mark is dropped when the statement would have line
 * N anyway (the one before it was line N - 1), and a blank line or a
 * one-line comment after a statement needs no directive back.
 */
#include "cgen.h"

#include <stdlib.h>
#include <string.h>

/* The line s[0..n) holds no code: it is blank, or one comment. */
static int no_code(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] == ' ')
        i++;
    if (i == n)
        return 1;
    if (n - i < 4 || strncmp(s + i, "/*", 2))
        return 0;
    const char *end = strstr(s + i + 2, "*/");
    if (!end || end >= s + n)
        return 0;
    for (end += 2; end < s + n; end++)
        if (*end != ' ')
            return 0;
    return 1;
}

void cg_line_directives(const char *dx, const char *cfile, const char *text, size_t len, FILE *out)
{
    long written = 0;    /* lines of out so far */
    int in_dx = 0;       /* the lines now count in the .dx file ... */
    long next = 0;       /* ... and the next one there is line `next` */
    int marked = 0;      /* the next line is a marked statement */
    for (size_t at = 0; at < len;) {
        const char *s = text + at, *nl = memchr(s, '\n', len - at);
        size_t n = nl ? (size_t)(nl - s) : len - at;
        at += n + (nl != NULL);
        if (n && s[0] == CG_LINE_MARK) {
            long line = strtol(s + 1, NULL, 10);
            if (!in_dx || next != line) {
                fprintf(out, "#line %ld ", line);
                cg_fput_quoted(out, dx);
                fputc('\n', out);
                written++;
                in_dx = 1;
                next = line;
            }
            marked = 1;
            continue;
        }
        if (in_dx && !marked && !no_code(s, n)) {
            fprintf(out, "#line %ld ", written + 2);
            cg_fput_quoted(out, cfile);
            fputc('\n', out);
            written++;
            in_dx = 0;
        }
        fwrite(s, 1, n, out);
        if (nl)
            fputc('\n', out);
        written++;
        next++;
        marked = 0;
    }
}
