/*
 * test_docs.c - keeps README.md and every .md file in docs/ honest: the programs,
 * transcripts and excerpts of generated code they show are run, and what
 * they say is printed is compared with what is printed.
 *
 * The conventions, by the info string of a fenced block (docs/README.md
 * explains them to writers):
 *
 *   ```dx [file=NAME]       a complete program.  dxc compiles it (saved as
 *                           model.dx, or NAME) and gcc, and clang when it
 *                           is installed, compile the C under -std=c99
 *                           -Wall -Wextra -Wpedantic -Werror.  With
 *                           file=NAME it is also saved in the document's
 *                           scratch directory, for later blocks.
 *   ```dx error [file=NAME] a program dxc must reject (exit status 1).
 *                           The next block is a ```text block holding
 *                           exactly what dxc prints on standard error:
 *                           FILE:LINE:COL: error: ..., source line, caret.
 *   ```console              a transcript.  A line "$ CMD" is a command,
 *                           run by sh -c in the scratch directory; the
 *                           lines up to the next "$ " are what it prints
 *                           on standard output and standard error
 *                           together (2>&1), exactly, except that a line
 *                           "..." stands for any run of lines.  Its exit
 *                           status must be 1 if those lines hold an error
 *                           line (FILE:LINE:COL: error: ... or dxc:
 *                           error: ...), 0 otherwise.
 *   ```c dxc ARGS           an excerpt of what `dxc ARGS` writes on
 *   ```mermaid dxc ARGS     standard output (run in the scratch
 *                           directory): its lines appear there, in order,
 *                           as runs of consecutive lines, indentation
 *                           included; a line "..." (maybe indented) skips
 *                           any number of lines.
 *   ```LANG file=NAME       any other block with file=NAME is saved in the
 *                           scratch directory (a C driver, say).
 *
 * Any other block is not checked, but one that looks like a program (its
 * first line that is not blank or a # comment starts with "fn NAME(" or
 * "const NAME =") fails the test unless it is tagged dx: no program goes
 * unchecked.
 *
 * The scratch directory, one per document and shared by its blocks in
 * document order, holds examples/, tests/, bench/ and runtime/ (links into
 * the source tree).  Commands find dxc (the compiler under test) on PATH,
 * and DXRT_DIR and DXRT_LIB name the runtime's header directory and
 * library.  Every failure names the document and the line of its block;
 * a document's failures are all reported together.
 */
#include <check.h>
#include <glob.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define STRICT "-std=c99 -Wall -Wextra -Wpedantic -Werror"

/* ---- lines of text ---- */

typedef struct {
    char *buf; /* the text, each '\n' replaced by a NUL */
    char **p;  /* the lines, pointing into buf */
    int n;
} Lines;

/* Splits text into lines, without their '\n'; a last line without one
 * counts too.  Free with free_lines. */
static Lines split_lines(const char *text)
{
    Lines l = {0};
    size_t len = strlen(text ? text : "");
    l.buf = malloc(len + 1);
    l.p = malloc(sizeof *l.p * (len + 1));
    ck_assert(l.buf && l.p);
    memcpy(l.buf, text ? text : "", len + 1);
    for (char *s = l.buf; *s;) {
        l.p[l.n++] = s;
        char *nl = strchr(s, '\n');
        if (!nl)
            break;
        *nl = 0;
        s = nl + 1;
    }
    return l;
}

/* Frees what split_lines allocated. */
static void free_lines(Lines *l)
{
    free(l->buf);
    free(l->p);
}

/* Is this line "...", maybe indented: the wildcard of transcripts and
 * excerpts? */
static int is_skip(const char *line)
{
    return !strcmp(line + strspn(line, " "), "...");
}

/* Do the actual lines act[0..na) match the pattern pat[0..np), where a
 * "..." line matches any run of lines (none included)?  The greedy
 * wildcard match: on a mismatch, the last "..." absorbs one more line. */
static int glob_lines(char **pat, int np, char **act, int na)
{
    int p = 0, a = 0, star = -1, mark = 0;
    while (a < na) {
        if (p < np && is_skip(pat[p])) {
            star = p++;
            mark = a;
        } else if (p < np && !strcmp(pat[p], act[a])) {
            p++;
            a++;
        } else if (star >= 0) {
            p = star + 1;
            a = ++mark;
        } else {
            return 0;
        }
    }
    while (p < np && is_skip(pat[p]))
        p++;
    return p == np;
}

/* ---- fenced blocks ---- */

typedef struct {
    int line;   /* the line of the opening fence, from 1 */
    char *info; /* its info string, trimmed */
    char *text; /* the lines between the fences, each ending in '\n' */
} Block;

/* The fenced blocks of one document, in order. */
typedef struct {
    Block *p;
    int n;
} Blocks;

/* A fence: up to 3 spaces, then 3 or more '`' or '~'.  Returns the
 * length of the run (0 if the line is no fence), its character in *ch
 * and its indentation in *indent. */
static int fence(const char *line, char *ch, int *indent)
{
    int i = 0;
    while (line[i] == ' ' && i < 4)
        i++;
    if (i > 3 || (line[i] != '`' && line[i] != '~'))
        return 0;
    int k = 0;
    while (line[i + k] == line[i])
        k++;
    if (k < 3)
        return 0;
    *ch = line[i];
    *indent = i;
    return k;
}

/* s with blanks trimmed at both ends (malloc'ed). */
static char *trimmed(const char *s)
{
    s += strspn(s, " \t");
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    char *r = malloc(n + 1);
    ck_assert_ptr_nonnull(r);
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

/* Every fenced block of a Markdown text, in order (CommonMark's rules,
 * enough of them: a block closes at a fence of its character at least
 * as long, with nothing after it; the opening fence's indentation is
 * removed from its lines).  An unclosed block is reported in *unclosed
 * (its line) and dropped. */
static Blocks find_blocks(const char *md, int *unclosed)
{
    Blocks bs = {0};
    Lines l = split_lines(md);
    bs.p = malloc(sizeof *bs.p * (size_t)(l.n / 2 + 1));
    ck_assert_ptr_nonnull(bs.p);
    *unclosed = 0;
    for (int i = 0; i < l.n; i++) {
        char ch, ch2;
        int indent, indent2;
        int k = fence(l.p[i], &ch, &indent);
        if (!k)
            continue;
        TuBuf text = {0};
        tu_bprintf(&text, "%s", "");
        int j = i + 1;
        for (; j < l.n; j++) {
            int k2 = fence(l.p[j], &ch2, &indent2);
            if (k2 >= k && ch2 == ch) {
                const char *after = l.p[j] + indent2 + k2;
                if (!after[strspn(after, " \t")])
                    break;
            }
            const char *s = l.p[j];
            for (int sp = 0; sp < indent && *s == ' '; sp++)
                s++;
            tu_bprintf(&text, "%s\n", s);
        }
        if (j == l.n) {
            *unclosed = i + 1;
            free(text.s);
            break;
        }
        bs.p[bs.n++] = (Block){i + 1, trimmed(l.p[i] + indent + k), text.s};
        i = j;
    }
    free_lines(&l);
    return bs;
}

/* Frees what find_blocks allocated. */
static void free_blocks(Blocks *bs)
{
    for (int i = 0; i < bs->n; i++) {
        free(bs->p[i].info);
        free(bs->p[i].text);
    }
    free(bs->p);
}

/* What an info string asks for. */
typedef enum { K_OTHER, K_DX, K_CONSOLE, K_EXCERPT } Kind;

typedef struct {
    Kind kind;
    int error;         /* ```dx error */
    char file[128];    /* file=NAME, or "" */
    const char *args;  /* ```c dxc ARGS: ARGS, inside the info string */
} Info;

/* A name a block may be saved under: letters, digits, '_', '-', '.',
 * not starting with '.' (so nothing leaves the scratch directory). */
static int good_name(const char *s, size_t n)
{
    if (n == 0 || n >= 128 || s[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.", s[i]))
            return 0;
    return 1;
}

/* Reads an info string into *in.  Returns NULL, or why it is malformed. */
static const char *parse_info(const char *info, Info *in)
{
    memset(in, 0, sizeof *in);
    size_t first = strcspn(info, " \t");
    int dx = first == 2 && !strncmp(info, "dx", 2);
    if (first == 7 && !strncmp(info, "console", 7)) {
        in->kind = K_CONSOLE;
        return info[first] ? "a console block takes nothing after 'console'" : NULL;
    }
    int lang = (first == 1 && info[0] == 'c') || (first == 7 && !strncmp(info, "mermaid", 7));
    if (lang && !strncmp(info + first + strspn(info + first, " \t"), "dxc", 3)) {
        const char *rest = info + first + strspn(info + first, " \t") + 3;
        if (*rest && *rest != ' ' && *rest != '\t')
            return NULL; /* "c dxcfoo": an ordinary c block */
        in->kind = K_EXCERPT;
        in->args = rest + strspn(rest, " \t");
        return *in->args ? NULL : "'c dxc' needs the arguments dxc is run with";
    }
    in->kind = dx ? K_DX : K_OTHER;
    for (const char *w = info + first; *w;) {
        w += strspn(w, " \t");
        size_t n = strcspn(w, " \t");
        if (!n)
            break;
        if (n > 5 && !strncmp(w, "file=", 5)) {
            if (!good_name(w + 5, n - 5))
                return "file= needs a plain file name (letters, digits, _ - .)";
            memcpy(in->file, w + 5, n - 5);
            in->file[n - 5] = 0;
        } else if (dx && n == 5 && !strncmp(w, "error", 5)) {
            in->error = 1;
        } else if (dx) {
            return "a dx block takes only 'error' and 'file=NAME'";
        }
        w += n;
    }
    return NULL;
}

/* Does this text look like a dx program: is its first line that is not
 * blank or a # comment "fn NAME(..." or "const NAME = ..."? */
static int looks_like_program(const char *text)
{
    Lines l = split_lines(text);
    int yes = 0;
    for (int i = 0; i < l.n; i++) {
        const char *s = l.p[i] + strspn(l.p[i], " \t");
        if (!*s || *s == '#')
            continue;
        int fn = !strncmp(s, "fn ", 3), cn = !strncmp(s, "const ", 6);
        if (fn || cn) {
            s += fn ? 3 : 6;
            s += strspn(s, " \t");
            size_t id = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_");
            s += id;
            s += strspn(s, " \t");
            yes = id > 0 && (fn ? *s == '(' : (*s == '=' && s[1] != '='));
        }
        break;
    }
    free_lines(&l);
    return yes;
}

/* ---- a document being checked ---- */

typedef struct {
    const char *name;        /* as failures name it: README.md, docs/x.md */
    char scratch[PATH_MAX];  /* shared by the document's blocks, in order */
    char work[PATH_MAX];     /* where dx blocks are compiled, apart */
    char *env;               /* assignments that precede every command */
    int have_clang;
    TuBuf fails;             /* one paragraph per failure */
    int nfail;
    int nprog, nerror, ncmd, nexcerpt, nfile; /* what was checked */
} Doc;

/* Records a failure of the block b (NULL: of the whole document). */
static void report(Doc *d, const Block *b, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void report(Doc *d, const Block *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = tu_vprintf(fmt, ap);
    va_end(ap);
    if (b)
        tu_bprintf(&d->fails, "%s:%d: ```%s: %s\n", d->name, b->line, b->info, msg);
    else
        tu_bprintf(&d->fails, "%s: %s\n", d->name, msg);
    free(msg);
    d->nfail++;
}

/* Appends s to b quoted for sh. */
static void shq(TuBuf *b, const char *s)
{
    tu_bprintf(b, "'");
    for (; *s; s++)
        tu_bprintf(b, *s == '\'' ? "'\\''" : "%c", *s);
    tu_bprintf(b, "'");
}

/* Runs `sh -c cmd` in dir with the document's environment (dxc on PATH,
 * DXRT_DIR, DXRT_LIB), standard error into standard output if merge.
 * Returns the exit status (-1: killed by a signal); *out and *err are
 * malloc'ed. */
static int run_in(const Doc *d, const char *dir, const char *cmd, int merge, char **out, char **err)
{
    TuBuf b = {0};
    tu_bprintf(&b, "cd ");
    shq(&b, dir);
    tu_bprintf(&b, " && %s timeout 120 sh -c ", d->env);
    shq(&b, cmd);
    if (merge)
        tu_bprintf(&b, " 2>&1");
    int st = tu_run(b.s, out, err);
    free(b.s);
    return st;
}

/* p made absolute (relative to the current directory) in dst, which
 * holds 2 * PATH_MAX bytes. */
static void absolute(char *dst, const char *p)
{
    char cwd[PATH_MAX];
    if (p[0] == '/' || !getcwd(cwd, sizeof cwd))
        snprintf(dst, 2 * PATH_MAX, "%s", p);
    else
        snprintf(dst, 2 * PATH_MAX, "%s/%s", cwd, p);
}

/* Makes the scratch, work and bin directories of document number k and
 * the environment of its commands. */
static void doc_open(Doc *d, const char *name, int k)
{
    char root[2 * PATH_MAX], dxc[2 * PATH_MAX], rtdir[2 * PATH_MAX], rtlib[2 * PATH_MAX];
    char bin[3 * PATH_MAX], tag[32];
    memset(d, 0, sizeof *d);
    d->name = name;
    absolute(root, tu_root());
    absolute(dxc, tu_dxc());
    const char *e = getenv("DXRT_DIR");
    snprintf(bin, sizeof bin, "%s/%s", root, "runtime");
    absolute(rtdir, e && *e ? e : bin);
    e = getenv("DXRT_LIB");
    snprintf(bin, sizeof bin, "%s/%s", root, "build/libdxrt.a");
    absolute(rtlib, e && *e ? e : bin);
    snprintf(tag, sizeof tag, "doc%d", k);
    snprintf(d->scratch, sizeof d->scratch, "%s", tu_path(tag));
    snprintf(tag, sizeof tag, "doc%d.work", k);
    snprintf(d->work, sizeof d->work, "%s", tu_path(tag));
    snprintf(tag, sizeof tag, "doc%d.bin", k);
    snprintf(bin, sizeof bin, "%s", tu_path(tag));
    ck_assert_int_eq(mkdir(d->scratch, 0777), 0);
    ck_assert_int_eq(mkdir(d->work, 0777), 0);
    ck_assert_int_eq(mkdir(bin, 0777), 0);
    static const char *const linked[] = {"examples", "tests", "bench", "runtime"};
    char from[3 * PATH_MAX], to[4 * PATH_MAX];
    for (size_t i = 0; i < sizeof linked / sizeof linked[0]; i++) {
        snprintf(from, sizeof from, "%s/%s", root, linked[i]);
        snprintf(to, sizeof to, "%s/%s", d->scratch, linked[i]);
        ck_assert_msg(symlink(from, to) == 0, "cannot link %s", to);
    }
    snprintf(to, sizeof to, "%s/dxc", bin);
    ck_assert_msg(symlink(dxc, to) == 0, "cannot link %s", to);
    TuBuf env = {0};
    tu_bprintf(&env, "PATH=");
    shq(&env, bin);
    tu_bprintf(&env, "\":$PATH\" DXRT_DIR=");
    shq(&env, rtdir);
    tu_bprintf(&env, " DXRT_LIB=");
    shq(&env, rtlib);
    d->env = env.s;
    d->have_clang = tu_run("command -v clang", NULL, NULL) == 0;
}

/* Frees what doc_open and the checks allocated. */
static void doc_close(Doc *d)
{
    free(d->env);
    free(d->fails.s);
}

/* Writes text to dir/name. */
static void save(Doc *d, const Block *b, const char *dir, const char *name, const char *text)
{
    char path[2 * PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (tu_write(path, text, (size_t)-1) != 0)
        report(d, b, "cannot write %s", path);
}

/* ---- the checks, one per kind of block ---- */

/* Runs dxc on the block's program, saved as name in the work directory;
 * returns its status, *err what it printed on standard error. */
static int compile_dx(Doc *d, const Block *b, const char *name, char **err)
{
    save(d, b, d->work, name, b->text);
    TuBuf cmd = {0};
    tu_bprintf(&cmd, "dxc ");
    shq(&cmd, name);
    tu_bprintf(&cmd, " -o out.c");
    int st = run_in(d, d->work, cmd.s, 0, NULL, err);
    free(cmd.s);
    return st;
}

/* ```dx [file=NAME]: dxc accepts the program and the C it writes
 * compiles cleanly. */
static void check_program(Doc *d, const Block *b, const Info *in)
{
    const char *name = in->file[0] ? in->file : "model.dx";
    if (in->file[0])
        save(d, b, d->scratch, name, b->text);
    char *err = NULL, *out = NULL;
    int st = compile_dx(d, b, name, &err);
    if (st != 0) {
        report(d, b, "dxc rejects the program (status %d):\n%s", st, err ? err : "");
        free(err);
        return;
    }
    free(err);
    err = NULL;
    TuBuf cc = {0};
    tu_bprintf(&cc, "gcc " STRICT " -c out.c -o out.o");
    if (d->have_clang)
        tu_bprintf(&cc, " && clang " STRICT " -c out.c -o out.o");
    st = run_in(d, d->work, cc.s, 1, &out, NULL);
    if (st != 0)
        report(d, b, "the C that dxc writes does not compile (%s):\n%s", cc.s, out ? out : "");
    free(cc.s);
    free(out);
    d->nprog++;
}

/* ```dx error [file=NAME] and the ```text block after it: dxc rejects the
 * program with status 1 and prints exactly that text. */
static void check_error(Doc *d, const Block *b, const Info *in, const Block *text)
{
    if (!text || strcmp(text->info, "text")) {
        report(d, b, "a dx error block must be followed by a ```text block holding dxc's errors");
        return;
    }
    const char *name = in->file[0] ? in->file : "model.dx";
    if (in->file[0])
        save(d, b, d->scratch, name, b->text);
    char *err = NULL;
    int st = compile_dx(d, b, name, &err);
    if (st != 1 || strcmp(err ? err : "", text->text))
        report(d, b, "dxc should fail with status 1 and print the text at line %d:\n%s"
                     "it exits with status %d and prints:\n%s",
               text->line, text->text, st, err ? err : "");
    free(err);
    d->nerror++;
}

/* Does the expected output of a command show an error, so that the
 * command must exit with status 1? */
static int shows_error(char **lines, int n)
{
    for (int i = 0; i < n; i++) {
        const char *s = lines[i];
        if (!strncmp(s, "dxc: error: ", 12))
            return 1;
        /* FILE:LINE:COL: error: */
        const char *c = strstr(s, ": error: ");
        if (!c || strchr(s, ' ') < c)
            continue;
        int colons = 0;
        for (const char *p = s; p < c; p++)
            colons += *p == ':';
        if (colons >= 2)
            return 1;
    }
    return 0;
}

/* Appends lines[0..n) to b, each indented by two spaces. */
static void show_lines(TuBuf *b, char **lines, int n)
{
    for (int i = 0; i < n; i++)
        tu_bprintf(b, "  %s\n", lines[i]);
}

/* Runs one command of a transcript and compares what it prints and its
 * status with what the transcript shows; returns 1 if they agree. */
static int check_command(Doc *d, const Block *b, int line, const char *cmd, char **want, int nwant)
{
    char *out = NULL;
    int st = run_in(d, d->scratch, cmd, 1, &out, NULL);
    Lines got = split_lines(out);
    int want_st = shows_error(want, nwant);
    int ok = glob_lines(want, nwant, got.p, got.n) && st == want_st;
    if (!ok) {
        TuBuf m = {0};
        tu_bprintf(&m, "the command at line %d, $ %s\n", line, cmd);
        tu_bprintf(&m, "should exit with status %d and print:\n", want_st);
        show_lines(&m, want, nwant);
        tu_bprintf(&m, "it exits with status %d and prints:\n", st);
        show_lines(&m, got.p, got.n);
        report(d, b, "%s", m.s);
        free(m.s);
    }
    free_lines(&got);
    free(out);
    d->ncmd++;
    return ok;
}

/* ```console: every command prints what the transcript shows.  The
 * transcript stops at the first command that does not. */
static void check_console(Doc *d, const Block *b)
{
    Lines l = split_lines(b->text);
    if (l.n == 0 || strncmp(l.p[0], "$ ", 2))
        report(d, b, "a console block starts with a command: a line '$ ...'");
    for (int i = 0; i < l.n && !strncmp(l.p[i], "$ ", 2);) {
        int j = i + 1;
        while (j < l.n && strncmp(l.p[j], "$ ", 2))
            j++;
        if (!check_command(d, b, b->line + 1 + i, l.p[i] + 2, l.p + i + 1, j - i - 1))
            break;
        i = j;
    }
    free_lines(&l);
}

/* Where does run[0..n) first occur in act[from..na) as consecutive
 * lines?  -1 if nowhere. */
static int find_run(char **run, int n, char **act, int na, int from)
{
    for (int s = from; s + n <= na; s++) {
        int k = 0;
        while (k < n && !strcmp(run[k], act[s + k]))
            k++;
        if (k == n)
            return s;
    }
    return -1;
}

/* The length of the common prefix of two lines, leading blanks ignored. */
static size_t common(const char *a, const char *b)
{
    a += strspn(a, " ");
    b += strspn(b, " ");
    size_t k = 0;
    while (a[k] && a[k] == b[k])
        k++;
    return k;
}

/* Explains why run[0..n) (lines first.. of the block) is not in act
 * after line `from`: the expected line that differs, and the actual
 * output around the place that matches it best (the longest matching
 * run of lines, else the line most like the run's first). */
static void explain_run(Doc *d, const Block *b, const char *args, int first, char **run, int n,
                        char **act, int na, int from)
{
    int best = -1, bestk = 0;
    for (int s = from; s < na; s++) {
        int k = 0;
        while (k < n && s + k < na && !strcmp(run[k], act[s + k]))
            k++;
        if (k > bestk)
            best = s, bestk = k;
    }
    int at = best + bestk; /* the actual line where the excerpt goes wrong */
    if (best < 0) {
        size_t most = 0;
        at = from < na ? from : na - 1;
        for (int s = from; s < na; s++)
            if (common(run[0], act[s]) > most)
                most = common(run[0], act[s]), at = s;
    }
    TuBuf m = {0};
    tu_bprintf(&m, "line %d of the document (line %d of the excerpt) is not in the output of "
                   "dxc %s where the excerpt puts it:\n  expected: |%s|\n",
               b->line + 1 + first + bestk, first + bestk + 1, args, run[bestk]);
    if (na == 0)
        tu_bprintf(&m, "dxc printed nothing\n");
    else
        tu_bprintf(&m, "dxc's output near the closest match (> marks the line to compare):\n");
    for (int i = at - 4; i <= at + 4; i++)
        if (i >= 0 && i < na)
            tu_bprintf(&m, "  %c%5d | %s\n", i == at ? '>' : ' ', i + 1, act[i]);
    report(d, b, "%s", m.s);
    free(m.s);
}

/* ```c dxc ARGS: the block's runs of lines (separated by "..." lines)
 * appear in order in what `dxc ARGS` writes. */
static void check_excerpt(Doc *d, const Block *b, const char *args)
{
    char *out = NULL, *err = NULL;
    TuBuf cmd = {0};
    tu_bprintf(&cmd, "dxc %s", args);
    int st = run_in(d, d->scratch, cmd.s, 0, &out, &err);
    free(cmd.s);
    d->nexcerpt++;
    if (st != 0) {
        report(d, b, "dxc %s fails (status %d):\n%s", args, st, err ? err : "");
        free(out);
        free(err);
        return;
    }
    Lines want = split_lines(b->text), got = split_lines(out);
    int from = 0;
    for (int i = 0; i < want.n;) {
        if (is_skip(want.p[i])) {
            i++;
            continue;
        }
        int j = i;
        while (j < want.n && !is_skip(want.p[j]))
            j++;
        int s = find_run(want.p + i, j - i, got.p, got.n, from);
        if (s < 0) {
            explain_run(d, b, args, i, want.p + i, j - i, got.p, got.n, from);
            break;
        }
        from = s + (j - i);
        i = j;
    }
    free_lines(&want);
    free_lines(&got);
    free(out);
    free(err);
}

/* Checks one block (and, for dx error, the block after it, which it
 * consumes: returns how many blocks it used). */
static int check_block(Doc *d, const Block *b, const Block *next)
{
    Info in;
    const char *why = parse_info(b->info, &in);
    if (why) {
        report(d, b, "%s", why);
        return 1;
    }
    switch (in.kind) {
    case K_DX:
        if (!in.error) {
            check_program(d, b, &in);
            return 1;
        }
        check_error(d, b, &in, next);
        return next && !strcmp(next->info, "text") ? 2 : 1;
    case K_CONSOLE:
        check_console(d, b);
        return 1;
    case K_EXCERPT:
        check_excerpt(d, b, in.args);
        return 1;
    case K_OTHER:
        break;
    }
    if (looks_like_program(b->text))
        report(d, b, "this looks like a dx program: tag it ```dx so that it is checked");
    if (in.file[0]) {
        save(d, b, d->scratch, in.file, b->text);
        d->nfile++;
    }
    return 1;
}

/* Checks every block of the Markdown file at path, shown as d->name in
 * failures; d was set up by doc_open.  Returns the number of failures. */
static int check_doc(Doc *d, const char *path)
{
    char *md = tu_read(path, NULL);
    if (!md) {
        report(d, NULL, "cannot read %s", path);
        return d->nfail;
    }
    int unclosed;
    Blocks bs = find_blocks(md, &unclosed);
    if (unclosed)
        report(d, NULL, "the fenced block at line %d is never closed", unclosed);
    for (int i = 0; i < bs.n;)
        i += check_block(d, &bs.p[i], i + 1 < bs.n ? &bs.p[i + 1] : NULL);
    free_blocks(&bs);
    free(md);
    return d->nfail;
}

/* ---- the documents of the tree ---- */

enum { MAX_DOCS = 64 };
static char *docs[MAX_DOCS];
static int ndocs;

/* README.md and every .md file in docs/, as paths relative to the root. */
static void find_docs(void)
{
    char pat[PATH_MAX];
    size_t root = strlen(tu_root()) + 1;
    docs[ndocs++] = strdup("README.md");
    snprintf(pat, sizeof pat, "%s/docs/*.md", tu_root());
    glob_t g;
    if (glob(pat, 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc && ndocs < MAX_DOCS; i++)
            docs[ndocs++] = strdup(g.gl_pathv[i] + root);
        globfree(&g);
    }
}

/* Each test has a temporary directory of its own. */
static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* Every block of one document of the tree. */
START_TEST(test_doc)
{
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s/%s", tu_root(), docs[_i]);
    Doc d;
    doc_open(&d, docs[_i], _i);
    check_doc(&d, path);
    if (getenv("DX_VERBOSE"))
        fprintf(stderr, "%s: %d programs, %d rejected programs, %d commands, %d excerpts, %d files\n",
                docs[_i], d.nprog, d.nerror, d.ncmd, d.nexcerpt, d.nfile);
    /* Check cuts assertion messages at 4 KiB: the whole list goes to
     * standard error, its beginning into the message. */
    if (d.nfail)
        fprintf(stderr, "---- %s ----\n%s", docs[_i], d.fails.s);
    ck_assert_msg(d.nfail == 0, "%d failure%s (all of them on standard error):\n%.3000s", d.nfail,
                  d.nfail == 1 ? "" : "s", d.fails.s);
    doc_close(&d);
}
END_TEST

/* ---- the checker itself, on documents written for it ---- */

/* Writes md as NAME in the temporary directory and checks it as
 * document number 90 + k; returns the Doc, for doc_close. */
static Doc check_text(const char *name, const char *md, int k)
{
    Doc d;
    ck_assert_int_eq(tu_write(tu_path(name), md, (size_t)-1), 0);
    doc_open(&d, name, 90 + k);
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", tu_path(name));
    check_doc(&d, path);
    return d;
}

static const char good_md[] =
    "# every kind of block, right\n"
    "```dx file=sq.dx\n"
    "# a comment line first\n"
    "fn sq(x) = x ^ 2\n"
    "```\n"
    "```c file=main.c\n"
    "#include <stdio.h>\n"
    "#include \"sq.h\"\n"
    "int main(void) { double g; double y = sq_grad(3, &g); printf(\"%g %g\\n\", y, g); return 0; }\n"
    "```\n"
    "```console\n"
    "$ dxc sq.dx -o sq.c --header sq.h\n"
    "$ cc -std=c99 main.c sq.c -lm -o main && ./main\n"
    "9 6\n"
    "$ printf 'a\\nb\\nc\\nd\\n'\n"
    "a\n"
    "...\n"
    "d\n"
    "$ dxc nothere.dx\n"
    "dxc: error: cannot open 'nothere.dx': No such file or directory\n"
    "$ ls examples/square.dx && test -n \"$DXRT_DIR\" && test -f \"$DXRT_LIB\"\n"
    "examples/square.dx\n"
    "```\n"
    "```c dxc sq.dx\n"
    "double sq(double x)\n"
    "{\n"
    "...\n"
    "double sq_grad(double x, double *x_bar)\n"
    "{\n"
    "    ...\n"
    "}\n"
    "```\n"
    "```dx error\n"
    "fn f(x) = y\n"
    "```\n"
    "```text\n"
    "model.dx:1:11: error: 'y' is not defined\n"
    "    fn f(x) = y\n"
    "              ^\n"
    "```\n"
    "  ```sh\n"
    "  x = 1\n"
    "  ```\n"
    "````text\n"
    "```dx\n"
    "not a program, inside a longer fence\n"
    "```\n"
    "````\n";

/* A document that follows every convention passes, and each kind of
 * block was checked. */
START_TEST(test_checker_passes)
{
    Doc d = check_text("good.md", good_md, 0);
    ck_assert_msg(d.nfail == 0, "%s", d.fails.s);
    ck_assert_int_eq(d.nprog, 1);
    ck_assert_int_eq(d.nerror, 1);
    ck_assert_int_eq(d.ncmd, 5);
    ck_assert_int_eq(d.nexcerpt, 1);
    ck_assert_int_eq(d.nfile, 1);
    doc_close(&d);
}
END_TEST

static const char bad_md[] =
    "```\n"                                  /* 1: an untagged program */
    "fn f(x) = x\n"
    "```\n"
    "```dx\n"                                /* 4: does not compile */
    "fn f(x) = x +)\n"
    "```\n"
    "```console\n"                           /* 7: wrong output */
    "$ echo 41\n"
    "42\n"
    "$ echo never run\n"
    "never run\n"
    "```\n"
    "```console\n"                           /* 13: an error shown, status 0 */
    "$ echo 'x.dx:1:2: error: no'\n"
    "x.dx:1:2: error: no\n"
    "```\n"
    "```c dxc examples/square.dx\n"          /* 17: an excerpt off by a line */
    "double square_grad(double x, double *x_bar)\n"
    "{\n"
    "    this line is not there\n"
    "```\n"
    "```dx error\n"                          /* 22: wrong error text */
    "fn f(x) = y\n"
    "```\n"
    "```text\n"
    "model.dx:1:11: error: something else\n"
    "```\n"
    "```dx error\n"                          /* 28: no text block after it */
    "fn f(x) = y\n"
    "```\n"
    "```dx file=../x.dx\n"                   /* 31: a bad file name */
    "fn f(x) = x\n"
    "```\n"
    "```text\n"                              /* 34: a constant, untagged */
    "const N = 3\n"
    "```\n"
    "```dx\n";                               /* 37: never closed */

/* Every way a block can be wrong is caught, at its line, and an excerpt
 * that does not match shows the expected line and dxc's output near it. */
START_TEST(test_checker_fails)
{
    Doc d = check_text("bad.md", bad_md, 1);
    if (getenv("DX_VERBOSE")) /* shows what a writer would see */
        fputs(d.fails.s, stderr);
    const char *s = d.fails.s ? d.fails.s : "";
    static const char *const want[] = {
        "bad.md: the fenced block at line 37 is never closed",
        "bad.md:1: ```: this looks like a dx program",
        "bad.md:4: ```dx: dxc rejects the program (status 1):\nmodel.dx:1:14: error: ",
        ("bad.md:7: ```console: the command at line 8, $ echo 41\n"
         "should exit with status 0 and print:\n  42\nit exits with status 0 and prints:\n  41\n"),
        "bad.md:13: ```console: the command at line 14,",
        "should exit with status 1",
        "bad.md:17: ```c dxc examples/square.dx: line 20 of the document (line 3 of the excerpt)",
        "  expected: |    this line is not there|\n",
        " | double square_grad(double x, double *x_bar)\n",
        "bad.md:22: ```dx error: dxc should fail with status 1 and print the text at line 25:\nmodel.dx:1:11: error: something else\nit exits with status 1 and prints:\nmodel.dx:1:11: error: 'y' is not defined\n",
        "bad.md:28: ```dx error: a dx error block must be followed by a ```text block",
        "bad.md:31: ```dx file=../x.dx: file= needs a plain file name",
        "bad.md:34: ```text: this looks like a dx program",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(s, want[i]), "no '%s' in:\n%s", want[i], s);
    ck_assert_msg(!strstr(s, "never run"), "the transcript went on after a failure:\n%s", s);
    ck_assert_msg(d.nfail == 10, "%d failures:\n%s", d.nfail, s);
    doc_close(&d);
}
END_TEST

/* The pieces: the wildcard match and what looks like a program. */
START_TEST(test_checker_pieces)
{
    char *pat[] = {"a", "...", "c", "..."}, *act[] = {"a", "b", "c", "c", "d"};
    ck_assert(glob_lines(pat, 4, act, 5));
    ck_assert(glob_lines(pat, 3, act, 4));
    ck_assert(!glob_lines(pat, 3, act, 5));
    ck_assert(glob_lines(pat + 1, 1, act, 0));
    ck_assert(!glob_lines(pat, 1, act, 0));
    ck_assert(looks_like_program("# c\n\nfn f(x) = x\n"));
    ck_assert(looks_like_program("  const N = 3\n"));
    ck_assert(!looks_like_program("const double x[3];\n"));
    ck_assert(!looks_like_program("x = 1\nfn f(x) = x\n"));
    ck_assert(!looks_like_program("fn\n"));
}
END_TEST

Suite *suite_docs(void);

/* One test per document of the tree (found when the suite is made), and
 * the tests of the checker itself. */
Suite *suite_docs(void)
{
    Suite *s = suite_create("docs");
    TCase *tc = tcase_create("documents");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    if (!ndocs)
        find_docs();
    tcase_add_loop_test(tc, test_doc, 0, ndocs);
    suite_add_tcase(s, tc);
    TCase *self = tcase_create("checker");
    tcase_add_checked_fixture(self, setup, teardown);
    tcase_set_timeout(self, 120);
    tcase_add_test(self, test_checker_pieces);
    tcase_add_test(self, test_checker_passes);
    tcase_add_test(self, test_checker_fails);
    suite_add_tcase(s, self);
    return s;
}
