/*
 * fuzz_diff.c - the differential tester, standalone (`make fuzz-diff`).
 *
 *   fuzz_diff [-n N] [-s SEED] [-c CC_RUNS] [-j JOBS] [--dxc PATH]
 *             [--cc CC] [--regress DIR] [--no-save] [--edge] [-v] [FILE.dx ...]
 *   fuzz_diff -p PROGRAM_SEED [--compiled [--workspace]] [--print]   one program
 *   fuzz_diff -n N -s SEED --print                     the programs, unchecked
 *
 * Generates N random programs (tests/progen.c) from SEED, runs the
 * interpreter checks on all of them and the compiled checks on CC_RUNS of
 * them, spread evenly (tests/diffcheck.c), in JOBS processes; with
 * --cc gcc,clang the compiled ones alternate between the compilers, and
 * every other one is compiled with --workspace (its f_ws run too).  A failing
 * program is reduced, printed, and saved as DIR/NNN.dx with a comment
 * saying what failed (once per kind of failure and run; not when a file
 * of DIR already records the same failure).  With files, checks those
 * instead.  Prints a summary: programs, checks, skips, failures, time.
 * --edge: the programs also have the guarded singular constructs
 * (PgOpts.edge) and are checked at edge inputs too (DcOpts.edge: no
 * derivative is NaN where the function is finite and differentiable);
 * the summary counts the edge points.
 * Exits 1 if anything failed.
 *
 * DX_DIFF_CFLAGS in the environment adds flags to the compiles of the
 * compiled checks: make fuzz-diff FUZZ_CFLAGS="-fsanitize=address,undefined
 * -fno-sanitize-recover=all" runs the generated code under the sanitizers.
 *
 * Programs with for loops go through the compiled checks only when dxc
 * compiles a loop (tried once at the start); otherwise the programs
 * chosen for compiling are generated without loops.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../tests/diffcheck.h"
#include "../tests/progen.h"
#include "../tests/testutil.h"

typedef struct {
    long programs, compiled, checks, skips, unstable, noisy, failures, saved, refused;
    long edge_points, edge_clean, excused;
} Stats;

typedef struct {
    long n, cc_runs;
    uint64_t seed;
    int jobs, save, verbose, loops_compile;
    uint64_t one_seed;     /* -p: just this program */
    int one_compiled, one_workspace, print_only;
    const char *dxc, *cc, *regress;
    int edge;              /* --edge: edge constructs and edge checks */
} Conf;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Does DIR already hold a regression file recording this failure? */
static int recorded(const char *dir, const DcResult *r)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char want[256];
    snprintf(want, sizeof want, "# failure: %s: %s\n", r->what, r->sig);
    struct dirent *e;
    int found = 0;
    while (!found && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 3, ".dx"))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *t = tu_read(path, NULL);
        found = t && strstr(t, want);
        free(t);
    }
    closedir(d);
    return found;
}

/* Saves the reduced program as the next free DIR/NNN.dx. */
static void save(FILE *rep, const Conf *cf, const char *text, const DcResult *r, uint64_t pseed, uint64_t iseed,
                 int compiled, const char *cc, int workspace)
{
    mkdir(cf->regress, 0755);
    for (int k = 1; k < 1000; k++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%03d.dx", cf->regress, k);
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd < 0) {
            if (errno == EEXIST)
                continue;
            perror(path);
            return;
        }
        FILE *f = fdopen(fd, "w");
        fprintf(f, "# Found by make fuzz-diff (program seed %llu), reduced.\n", (unsigned long long)pseed);
        fprintf(f, "# failure: %s: %s\n", r->what, r->sig);
        /* the message, one comment line per line */
        const char *m = r->msg;
        while (*m) {
            size_t n = strcspn(m, "\n");
            if (n)
                fprintf(f, "#   %.*s\n", (int)(n > 200 ? 200 : n), m);
            m += n + (m[n] == '\n');
        }
        fprintf(f, "# inputs: %llu\n", (unsigned long long)iseed);
        if (dc_small_tape(pseed))
            fprintf(f, "# tape: small\n");
        if (dc_sum_lanes(pseed))
            fprintf(f, "# sum-lanes: %d\n", dc_sum_lanes(pseed));
        if (cf->edge)
            fprintf(f, "# edge\n");
        if (compiled)
            fprintf(f, "# compiled\n# cc: %s\n%s", cc, workspace ? "# workspace\n" : "");
        fprintf(f, "# (the bug is open: delete the next line once it is fixed)\n# open\n");
        fputs(text, f);
        fclose(f);
        fprintf(rep, "saved %s\n", path);
        return;
    }
}

/* One program: checks, and on a failure reduction, printing, saving. */
static void one(const Conf *cf, const DcOpts *base, Stats *st, uint64_t pseed, int compiled, char seen[][200],
                int *nseen)
{
    PgOpts po = pg_defaults();
    if (compiled && !cf->loops_compile)
        po.loops = 0;
    po.edge = cf->edge;
    PgProg p = pg_generate(pseed, &po);
    char *text = pg_print(p.root);
    DcOpts o = *base;
    o.edge = cf->edge;
    o.compiled = compiled;
    o.seed = dc_input_seed(pseed);
    o.small_tape = dc_small_tape(pseed);
    o.sum_lanes = dc_sum_lanes(pseed);
    DcResult r = dc_check(text, &o);
    /* the report is written at once: jobs share the output */
    char *buf = NULL;
    size_t len = 0;
    FILE *rep = open_memstream(&buf, &len);
    if (!rep)
        abort();
    st->programs++;
    st->compiled += r.compiled;
    st->refused += r.refused;
    st->checks += r.checks;
    st->skips += r.skips;
    st->unstable += r.unstable;
    st->noisy += r.noisy;
    st->edge_points += r.edge_points;
    st->edge_clean += r.edge_clean;
    st->excused += r.excused;
    if (cf->verbose)
        fprintf(rep, "program %llu: %s (%ld checks, %ld skips)\n", (unsigned long long)pseed,
               r.status ? r.what : "ok", r.checks, r.skips);
    if (r.status) {
        st->failures++;
        char key[200];
        snprintf(key, sizeof key, "%s: %s", r.what, r.sig);
        /* a specific signature (an error message) is reduced once; a
         * mismatch of values may be one of several bugs: up to 4 times */
        int dup = 0;
        for (int i = 0; i < *nseen; i++)
            dup += !strcmp(seen[i], key);
        dup = dup >= (strcmp(r.what, r.sig) ? 1 : 4);
        fprintf(rep, "\n=== FAIL program seed %llu: %s\n%s\n", (unsigned long long)pseed, key, r.msg);
        if (dup) {
            fprintf(rep, "(failures of this kind were already reduced in this run)\n");
        } else {
            if (*nseen < 256)
                snprintf(seen[(*nseen)++], 200, "%s", key);
            fprintf(rep, "--- program:\n%s", text);
            int tries = dc_reduce(&p, &r, &o, compiled ? 400 : 3000);
            char *small = pg_print(p.root);
            DcResult r2 = dc_check(small, &o);
            fprintf(rep, "--- reduced (%d programs tried):\n%s--- %s\n", tries, small, r2.msg);
            if (cf->save && cf->regress && !recorded(cf->regress, &r2)) {
                save(rep, cf, small, &r2, pseed, o.seed, compiled, o.cc, o.workspace);
                st->saved++;
            }
            free(small);
        }
    }
    fclose(rep);
    fflush(stdout);
    if (len && write(1, buf, len) != (ssize_t)len)
        perror("write");
    free(buf);
    free(text);
    pg_free(&p);
}

static int usage(void)
{
    fprintf(stderr, "usage: fuzz_diff [-n N] [-s SEED] [-c CC_RUNS] [-j JOBS] [--dxc PATH] [--cc CC] "
                    "[--regress DIR] [--no-save] [--edge] [-v] [FILE.dx ...]\n"
                    "       fuzz_diff -p PROGRAM_SEED [--compiled [--workspace]] [--print] [--dxc PATH] "
                    "[--regress DIR]\n");
    return 2;
}

/* Checks the given files (regression tests) instead of random programs. */
static int files(const Conf *cf, const DcOpts *base, char **argv, int argc)
{
    int bad = 0;
    for (int i = 0; i < argc; i++) {
        char *text = tu_read(argv[i], NULL);
        if (!text) {
            perror(argv[i]);
            bad = 1;
            continue;
        }
        DcResult r;
        char why[2048];
        int b = dc_check_file(text, base, cf->loops_compile, &r, why, sizeof why);
        printf("%s: %s (%ld checks, %ld skips%s)%s%s\n", argv[i], r.status ? r.what : "ok", r.checks, r.skips,
               r.compiled ? ", compiled" : "", b ? "\n  " : "", b ? why : "");
        bad |= b;
        free(text);
    }
    return bad;
}

int main(int argc, char **argv)
{
    Conf cf = {1000, 100, 1, 1, 1, 0, 0, 0, 0, 0, 0, NULL, "gcc", NULL, 0};
    int i;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "-n") && val)
            cf.n = atol(argv[++i]);
        else if (!strcmp(a, "-s") && val)
            cf.seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(a, "-c") && val)
            cf.cc_runs = atol(argv[++i]);
        else if (!strcmp(a, "-j") && val)
            cf.jobs = atoi(argv[++i]);
        else if (!strcmp(a, "--dxc") && val)
            cf.dxc = argv[++i];
        else if (!strcmp(a, "--cc") && val)
            cf.cc = argv[++i];
        else if (!strcmp(a, "--regress") && val)
            cf.regress = argv[++i];
        else if (!strcmp(a, "--no-save"))
            cf.save = 0;
        else if (!strcmp(a, "-p") && val)
            cf.one_seed = strtoull(argv[++i], NULL, 0);
        else if (!strcmp(a, "--compiled"))
            cf.one_compiled = 1;
        else if (!strcmp(a, "--workspace"))
            cf.one_workspace = 1;
        else if (!strcmp(a, "--print"))
            cf.print_only = 1;
        else if (!strcmp(a, "-v"))
            cf.verbose = 1;
        else if (!strcmp(a, "--edge"))
            cf.edge = 1;
        else if (a[0] == '-')
            return usage();
        else
            break;
    }
    if (!cf.dxc)
        cf.dxc = tu_dxc();
    /* the checks run it from their own directory */
    static char dxc_abs[4096];
    char cwd[2048];
    if (cf.dxc[0] != '/' && strchr(cf.dxc, '/') && getcwd(cwd, sizeof cwd)) {
        snprintf(dxc_abs, sizeof dxc_abs, "%s/%s", cwd, cf.dxc);
        cf.dxc = dxc_abs;
    }
    if (cf.jobs < 1)
        cf.jobs = 1;
    if (cf.cc_runs > cf.n)
        cf.cc_runs = cf.n;
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* does dxc compile a for loop yet? */
    const char *tmp = tu_tmpdir();
    /* --cc gcc,clang: the compiled programs alternate between them */
    const char *ccs[4] = {cf.cc};
    int ncc = 1;
    char cclist[256];
    snprintf(cclist, sizeof cclist, "%s", cf.cc);
    if (strchr(cclist, ',')) {
        ncc = 0;
        for (char *t = strtok(cclist, ","); t && ncc < 4; t = strtok(NULL, ","))
            ccs[ncc++] = t;
        cf.cc = ccs[0];
    }
    cf.loops_compile = dc_loops_compile(cf.dxc, cf.cc, tmp);

    DcOpts base = {0};
    base.dxc = cf.dxc;
    base.cc = cf.cc;
    base.seed = 1;
    if (i < argc) {
        base.workdir = tmp;
        int bad = files(&cf, &base, argv + i, argc - i);
        tu_cleanup();
        return bad;
    }
    if (cf.one_seed) {
        if (cf.print_only) {
            PgOpts po = pg_defaults();
            if (cf.one_compiled && !cf.loops_compile)
                po.loops = 0;
            po.edge = cf.edge;
            PgProg p = pg_generate(cf.one_seed, &po);
            char *t = pg_print(p.root);
            fputs(t, stdout);
            free(t);
            pg_free(&p);
            tu_cleanup();
            return 0;
        }
        Stats st = {0};
        static char seen1[256][200];
        int nseen = 0;
        base.workdir = tmp;
        base.workspace = cf.one_workspace;
        cf.verbose = 1;
        one(&cf, &base, &st, cf.one_seed, cf.one_compiled, seen1, &nseen);
        tu_cleanup();
        return st.failures != 0;
    }
    if (cf.print_only) { /* the programs of the run, not checked */
        long every = cf.cc_runs ? cf.n / cf.cc_runs : 0;
        for (long k = 0; k < cf.n; k++) {
            int compiled = every && k % every == 0 && k / every < cf.cc_runs;
            PgOpts po = pg_defaults();
            if (compiled && !cf.loops_compile)
                po.loops = 0;
            po.edge = cf.edge;
            uint64_t ps = dc_program_seed(cf.seed, k);
            PgProg p = pg_generate(ps, &po);
            char *t = pg_print(p.root);
            printf("# program %ld, seed %llu%s\n%s", k, (unsigned long long)ps, compiled ? ", compiled" : "", t);
            free(t);
            pg_free(&p);
        }
        tu_cleanup();
        return 0;
    }
    printf("fuzz_diff: %ld programs from seed %llu, %ld compiled (for loops %s), %d jobs\n", cf.n,
           (unsigned long long)cf.seed, cf.cc_runs, cf.loops_compile ? "included" : "not compiled yet", cf.jobs);
    double t0 = now();
    int (*pipes)[2] = calloc((size_t)cf.jobs, sizeof *pipes);
    pid_t *pids = calloc((size_t)cf.jobs, sizeof *pids);
    for (int w = 0; w < cf.jobs; w++) {
        if (pipe(pipes[w]) != 0) {
            perror("pipe");
            return 2;
        }
        fflush(NULL);
        pids[w] = fork();
        if (pids[w] == 0) {
            close(pipes[w][0]);
            char dir[1024];
            snprintf(dir, sizeof dir, "%s/w%d", tmp, w);
            mkdir(dir, 0755);
            DcOpts o = base;
            o.workdir = dir;
            Stats st = {0};
            static char seen[256][200];
            int nseen = 0;
            long every = cf.cc_runs ? cf.n / cf.cc_runs : 0;
            for (long k = w; k < cf.n; k += cf.jobs) {
                int compiled = every && k % every == 0 && k / every < cf.cc_runs;
                o.cc = ccs[(k / (every ? every : 1)) % ncc];
                o.workspace = (k / (every ? every : 1)) / ncc % 2; /* every other one per compiler */
                one(&cf, &o, &st, dc_program_seed(cf.seed, k), compiled, seen, &nseen);
                if (w == 0 && k % 1000 < (long)cf.jobs && k)
                    printf("... %ld programs (%.0f s)\n", k, now() - t0);
            }
            ssize_t wr = write(pipes[w][1], &st, sizeof st);
            _exit(wr == (ssize_t)sizeof st ? 0 : 3);
        }
        close(pipes[w][1]);
    }
    Stats all = {0};
    int bad = 0;
    for (int w = 0; w < cf.jobs; w++) {
        Stats st = {0};
        if (read(pipes[w][0], &st, sizeof st) != (ssize_t)sizeof st)
            bad = 1;
        close(pipes[w][0]);
        int status;
        waitpid(pids[w], &status, 0);
        all.programs += st.programs;
        all.compiled += st.compiled;
        all.refused += st.refused;
        all.checks += st.checks;
        all.skips += st.skips;
        all.unstable += st.unstable;
        all.noisy += st.noisy;
        all.failures += st.failures;
        all.saved += st.saved;
        all.edge_points += st.edge_points;
        all.edge_clean += st.edge_clean;
        all.excused += st.excused;
    }
    printf("\nfuzz_diff summary: %ld programs (%ld also compiled), %ld checks, %ld skipped (a branch "
           "crossed), %ld skipped (ill-conditioned differences), %ld held only to their rounding noise, "
           "%ld failures, %ld saved, %.1f s\n",
           all.programs, all.compiled, all.checks, all.skips, all.unstable, all.noisy, all.failures, all.saved,
           now() - t0);
    if (all.refused)
        printf("%ld refused by the stack budget of DX_DIFF_DXFLAGS (not failures)\n", all.refused);
    if (cf.edge)
        printf("edge points: %ld tried, %ld where f and every value it computes are finite\n",
               all.edge_points, all.edge_clean);
    if (all.excused)
        printf("%ld derivatives excused as overflows (a tangent, an adjoint or the recorder's sweep past "
               "the doubles)\n", all.excused);
    free(pipes);
    free(pids);
    tu_cleanup();
    return bad || all.failures ? 1 : 0;
}
