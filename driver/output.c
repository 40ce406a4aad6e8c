/*
 * output.c - dxc's output files: collected while compiling (in memory,
 * and past a megabyte in a scratch file), put in place only once
 * everything succeeded (see output.h for the rules, which follow what a
 * C compiler does with -o).  The C of a large program is hundreds of
 * megabytes: held in memory, it was the largest part of dxc's memory as
 * it finished, and growing it a third of the page faults of the whole
 * compilation.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#define _GNU_SOURCE       /* fopencookie, where the C library has it */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/dx.h"
#include "output.h"

enum { OUT_STDOUT, OUT_DIRECT, OUT_REPLACE, OUT_IN_PLACE };
enum { MAX_LINKS = 40 };

static int is_stdout(const char *name)
{
    return !name || !strcmp(name, "-");
}

/* The directory part of path ("." when it has none), into dir. */
static void dir_of(const char *path, char *dir, size_t cap)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, cap, ".");
    else if (slash == path)
        snprintf(dir, cap, "/");
    else
        snprintf(dir, cap, "%.*s", (int)(slash - path), path);
}

/* Follows name through symbolic links until it names something that is
 * not a link (or nothing): the place a write to name really goes.  A
 * relative link is read from the link's own directory.  Returns 0, or an
 * errno value. */
static int follow_links(const char *name, char *out, size_t cap)
{
    if (snprintf(out, cap, "%s", name) >= (int)cap)
        return ENAMETOOLONG;
    for (int hops = 0;; hops++) {
        struct stat st;
        if (lstat(out, &st) != 0 || !S_ISLNK(st.st_mode))
            return 0;
        if (hops == MAX_LINKS)
            return ELOOP;
        char link[PATH_MAX], dir[PATH_MAX];
        ssize_t n = readlink(out, link, sizeof link - 1);
        if (n < 0)
            return errno;
        link[n] = 0;
        dir_of(out, dir, sizeof dir);
        int w = link[0] == '/' ? snprintf(out, cap, "%s", link)
                               : snprintf(out, cap, "%s/%s", dir, link);
        if (w >= (int)cap)
            return ENAMETOOLONG;
    }
}

/* A name for the place a path writes to, comparable with another's: the
 * device and inode when it exists, else its directory's real path and
 * its last component. */
typedef struct {
    int exists;
    dev_t dev;
    ino_t ino;
    char path[2 * PATH_MAX + 2];
} Place;

static void place_of(const char *name, Place *p)
{
    char target[PATH_MAX], dir[PATH_MAX], real[PATH_MAX];
    struct stat st;
    memset(p, 0, sizeof *p);
    if (follow_links(name, target, sizeof target) != 0)
        snprintf(target, sizeof target, "%s", name);
    if (stat(target, &st) == 0) {
        p->exists = 1;
        p->dev = st.st_dev;
        p->ino = st.st_ino;
        return;
    }
    dir_of(target, dir, sizeof dir);
    const char *base = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
    if (realpath(dir, real))
        snprintf(p->path, sizeof p->path, "%s/%s", real, base);
    else
        snprintf(p->path, sizeof p->path, "%s", target);
}

static int same_place(const char *a, const char *b)
{
    if (is_stdout(a) || is_stdout(b))
        return is_stdout(a) && is_stdout(b);
    Place pa, pb;
    place_of(a, &pa);
    place_of(b, &pb);
    if (pa.exists || pb.exists)
        return pa.exists && pb.exists && pa.dev == pb.dev && pa.ino == pb.ino;
    return !strcmp(pa.path, pb.path);
}

static const char *what(int i)
{
    return i == 0 ? "output file" : "header file";
}

int out_check_names(const char *input, OutFile *const outs[], int n)
{
    for (int i = 0; i < n; i++) {
        const char *name = outs[i]->name;
        if (strcmp(input, "-") && !is_stdout(name) && same_place(input, name)) {
            diag_plain("%s '%s' is the input file; dxc will not overwrite its own input", what(i),
                       name);
            return 1;
        }
        for (int j = 0; j < i; j++)
            if (same_place(outs[j]->name, name)) {
                if (is_stdout(name))
                    diag_plain("the C code and the header cannot both go to standard output");
                else
                    diag_plain("%s '%s' and %s '%s' are the same file", what(j), outs[j]->name,
                               what(i), name);
                return 1;
            }
    }
    return 0;
}

/* A scratch file for o: when o names a regular file, or nothing yet,
 * an unnamed file in its directory (open(2), O_TMPFILE, Linux 3.11),
 * which committing links there under a temporary name and renames over
 * the target (write_temp), where a file in $TMPDIR is copied: the C of
 * 200 000 statements is 250 MB, and copying it took 0.07 s.  Unnamed,
 * it leaves nothing behind however dxc ends.
 * Else, or when the directory or its file system refuses one, a file in
 * $TMPDIR (dx_tmpfile); NULL if neither can be made. */
static FILE *new_scratch(OutFile *o)
{
#if defined(__linux__) && defined(O_TMPFILE)
    char target[PATH_MAX];
    struct stat st;
    if (!is_stdout(o->name) && follow_links(o->name, target, sizeof target) == 0 &&
        (stat(target, &st) != 0 ? errno == ENOENT : S_ISREG(st.st_mode))) {
        dir_of(target, o->beside, sizeof o->beside);
        int fd = open(o->beside, O_TMPFILE | O_RDWR, 0600);
        FILE *f = fd < 0 ? NULL : fdopen(fd, "w+b");
        if (f)
            return f;
        if (fd >= 0)
            close(fd);
        o->beside[0] = 0;
    }
#endif
    return dx_tmpfile();
}

#ifdef __GLIBC__
/* The stream out_open hands out: the text in memory (o->buf) while it is
 * small, and once it exceeds OUT_HELD bytes in a scratch file
 * (o->scratch), which then holds all of it; in memory still when no
 * scratch file can be made.  A model's C stays in memory, and the C of a
 * large program grows no buffer. */
enum { OUT_HELD = 1 << 20 };

/* Moves the text held in memory to a new scratch file, unless one is
 * made already or none can be; 0, or 1 if writing it failed. */
static int to_scratch(OutFile *o)
{
    if (o->scratch || o->no_scratch)
        return 0;
    o->scratch = new_scratch(o);
    o->no_scratch = !o->scratch;
    if (o->scratch && o->len && fwrite(o->buf, 1, o->len, o->scratch) != o->len)
        return 1;
    if (o->scratch) {
        free(o->buf);
        o->buf = NULL;
        o->len = o->cap = 0;
    }
    return 0;
}

/* fopencookie's write: returns n, or 0 on an error (never a negative
 * value, as fopencookie(3) says), which sets the stream's error flag. */
static ssize_t held_write(void *cookie, const char *p, size_t n)
{
    OutFile *o = cookie;
    if (o->len + n > OUT_HELD && to_scratch(o))
        return 0;
    if (o->scratch)
        return fwrite(p, 1, n, o->scratch) == n ? (ssize_t)n : 0;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 1 << 12;
        while (cap < o->len + n)
            cap *= 2;
        char *b = realloc(o->buf, cap);
        if (!b)
            return 0;
        o->buf = b;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    return (ssize_t)n;
}

static FILE *open_held(OutFile *o)
{
    return fopencookie(o, "w", (cookie_io_functions_t){.write = held_write});
}
#else
/* Elsewhere: a scratch file from the start, or memory when none can be
 * made (open_memstream). */
static FILE *open_held(OutFile *o)
{
    FILE *f = new_scratch(o);
    o->scratch = f;
    return f ? f : open_memstream(&o->buf, &o->len);
}
#endif

int out_open(OutFile *o, const char *name)
{
    memset(o, 0, sizeof *o);
    o->name = name;
    o->f = open_held(o);
    if (!o->f) {
        diag_plain("out of memory");
        return 1;
    }
    return 0;
}

FILE *out_stream(const OutFile *o)
{
    return o->f;
}

void out_discard(OutFile *o)
{
    if (o->f)
        fclose(o->f);
    if (o->scratch && o->scratch != o->f)
        fclose(o->scratch);
    free(o->buf);
    o->f = o->scratch = NULL;
    o->buf = NULL;
}

/* Writes all that o collected to fd; 0 on success, else an errno value. */
static int copy_all(OutFile *o, int fd)
{
    if (fflush(o->f) != 0)
        return errno;
    return o->scratch ? dx_tmpfile_copy(o->scratch, 0, -1, fd) : dx_write_all(fd, o->buf, o->len);
}

int out_append(void *out, FILE *from, long long at, long long len)
{
    OutFile *o = out;
    if (fflush(o->f) != 0)
        return errno ? errno : EIO;
#ifdef __GLIBC__
    if (to_scratch(o))
        return errno ? errno : EIO;
#endif
    if (!o->scratch) /* in memory: through the stream */
        return dx_tmpfile_read(from, at, len, dx_put_stream, o->f);
    if (fflush(o->scratch) != 0)
        return errno ? errno : EIO;
    int e = dx_tmpfile_copy(from, at, len, fileno(o->scratch));
    /* the stream's next write goes after what the descriptor wrote */
    return e ? e : fseek(o->scratch, 0, SEEK_END) != 0 ? errno : 0;
}

int out_copy(OutFile *o, FILE *to)
{
    return fflush(to) != 0 || copy_all(o, fileno(to)) != 0;
}

static int fail(const OutFile *o, int err)
{
    diag_plain("cannot write '%s': %s", o->name, strerror(err));
    return 1;
}

/* The permission bits of a new file: 0666 minus the umask. */
static mode_t new_file_mode(void)
{
    mode_t mask = umask(0);
    umask(mask);
    return 0666 & ~mask;
}

/* Gives the new file fd old's owner (where allowed) and permission bits,
 * or those of a new file when there is no old one, and closes it; 0, or
 * an errno value. */
static int set_mode(int fd, const struct stat *old)
{
    int e = 0;
    if (old && fchown(fd, old->st_uid, old->st_gid) != 0) {
        /* not ours to give away: the file becomes ours, as with cp */
    }
    if (fchmod(fd, old ? old->st_mode & 07777 : new_file_mode()) != 0)
        e = errno;
    if (close(fd) != 0 && !e)
        e = errno;
    return e;
}

/* When o's text is in an unnamed scratch file in dir (new_scratch), gives
 * it a name there: o->tmp, its XXXXXX made unique (linkat(2) of
 * /proc/self/fd/N with AT_SYMLINK_FOLLOW, as open(2) describes for
 * O_TMPFILE).  Returns a new descriptor of the file, or -1 when it is
 * not there or cannot be named, and o->tmp has to be written instead. */
static int link_scratch(OutFile *o, const char *dir)
{
#if defined(__linux__) && defined(O_TMPFILE)
    if (!o->scratch || !o->beside[0] || strcmp(o->beside, dir) != 0 || fflush(o->f) != 0 ||
        fflush(o->scratch) != 0)
        return -1;
    char self[64], *x = o->tmp + strlen(o->tmp) - 6;
    snprintf(self, sizeof self, "/proc/self/fd/%d", fileno(o->scratch));
    for (unsigned k = 0; k < 100; k++) {
        snprintf(x, 7, "%06u", ((unsigned)getpid() * 7919u + k) % 1000000u);
        if (linkat(AT_FDCWD, self, AT_FDCWD, o->tmp, AT_SYMLINK_FOLLOW) == 0) {
            int fd = dup(fileno(o->scratch));
            if (fd >= 0)
                return fd;
            unlink(o->tmp);
            break;
        }
        if (errno != EEXIST)
            break;
    }
    memcpy(x, "XXXXXX", 6);
#else
    (void)o, (void)dir;
#endif
    return -1;
}

/* Writes o's text to a new temporary file beside its regular (or not yet
 * existing) target, or names its scratch file there (link_scratch), with
 * the target's mode; sets o->kind to OUT_REPLACE,
 * or to OUT_IN_PLACE when the directory refuses a new file but the target
 * itself may be written.  Returns 0, or an errno value. */
static int write_temp(OutFile *o, const struct stat *old)
{
    char dir[PATH_MAX];
    dir_of(o->target, dir, sizeof dir);
    const char *base = strrchr(o->target, '/') ? strrchr(o->target, '/') + 1 : o->target;
    if (snprintf(o->tmp, sizeof o->tmp, "%s/.%s.dxtmp.XXXXXX", dir, base) >= (int)sizeof o->tmp)
        return ENAMETOOLONG;
    o->replaces = old != NULL;
    int fd = link_scratch(o, dir);
    if (fd >= 0) {
        o->kind = OUT_REPLACE;
        return set_mode(fd, old);
    }
    fd = mkstemp(o->tmp);
    if (fd < 0) {
        int e = errno;
        o->tmp[0] = 0;
        if (old && (e == EACCES || e == EPERM || e == EROFS) && access(o->target, W_OK) == 0) {
            o->kind = OUT_IN_PLACE;
            return 0;
        }
        return e;
    }
    o->kind = OUT_REPLACE;
    int e = copy_all(o, fd);
    if (e) {
        close(fd);
        return e;
    }
    return set_mode(fd, old);
}

/* Phase one for one output: decides where it goes and, for a regular
 * file, writes its temporary file.  Touches nothing the user has. */
static int prepare(OutFile *o)
{
    if (is_stdout(o->name)) {
        o->kind = OUT_STDOUT;
        return 0;
    }
    int e = follow_links(o->name, o->target, sizeof o->target);
    if (e)
        return fail(o, e);
    struct stat st;
    if (stat(o->target, &st) != 0) {
        if (errno != ENOENT)
            return fail(o, errno);
        e = write_temp(o, NULL);
    } else if (S_ISDIR(st.st_mode)) {
        diag_plain("cannot write '%s': it is a directory", o->name);
        return 1;
    } else if (!S_ISREG(st.st_mode)) {
        /* a FIFO or a device: opened when committing (opening a FIFO
         * waits for its reader), so its permission is checked now, before
         * any other output is renamed into place */
        o->kind = OUT_DIRECT;
        return access(o->target, W_OK) == 0 ? 0 : fail(o, errno);
    } else {
        e = write_temp(o, &st);
    }
    return e ? fail(o, e) : 0;
}

/* Puts o's temporary file in the place of the file it replaces by
 * exchanging their names (renameat2 RENAME_EXCHANGE, Linux 3.15, where
 * the file system has it), then removes the old one; 0 if it could not,
 * when rename(2) has to.  The same atomic replacement, but ext4 (with
 * its default auto_da_alloc) takes a rename over an existing file as a
 * sign to write the new one out at once, and renaming the C of 200 000
 * statements (250 MB) over the last one took 0.10 to 0.19 s, where the
 * exchange and the removal take 0.02 to 0.03. */
static int exchange(OutFile *o)
{
#if defined(__linux__) && defined(RENAME_EXCHANGE)
    if (!o->replaces || renameat2(AT_FDCWD, o->tmp, AT_FDCWD, o->target, RENAME_EXCHANGE) != 0)
        return 0;
    unlink(o->tmp); /* the old file; should it stay, it is only a stray temporary */
    return 1;
#else
    (void)o;
    return 0;
#endif
}

/* Phase two for one output: puts it in place. */
static int place(OutFile *o)
{
    int e = 0;
    if (o->kind == OUT_STDOUT) {
        if (out_copy(o, stdout) != 0) {
            diag_plain("cannot write to standard output");
            return 1;
        }
        return 0;
    }
    if (o->kind == OUT_REPLACE) {
        if (!exchange(o) && rename(o->tmp, o->target) != 0) {
            e = errno;
            unlink(o->tmp);
        }
        o->tmp[0] = 0;
        return e ? fail(o, e) : 0;
    }
    int flags = O_WRONLY | (o->kind == OUT_IN_PLACE ? O_TRUNC : 0);
    int fd = open(o->target, flags);
    if (fd < 0)
        return fail(o, errno);
    e = copy_all(o, fd);
    if (close(fd) != 0 && !e)
        e = errno;
    return e ? fail(o, e) : 0;
}

int out_commit_all(OutFile *const outs[], int n)
{
    int bad = 0;
    for (int i = 0; i < n && !bad; i++) {
        if (fflush(outs[i]->f) != 0 || ferror(outs[i]->f)) {
            if (outs[i]->scratch)
                diag_plain("cannot write a temporary file for the %s: %s (TMPDIR says where)", what(i),
                           strerror(errno));
            else
                diag_plain("out of memory");
            bad = 1;
        }
        bad = bad || prepare(outs[i]);
    }
    for (int i = 0; i < n; i++) {
        if (bad && outs[i]->tmp[0])
            unlink(outs[i]->tmp);
        else if (!bad)
            bad |= place(outs[i]);
        out_discard(outs[i]);
    }
    return bad;
}
