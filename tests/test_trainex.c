/*
 * test_trainex.c - the training examples, end to end:
 *
 *   - README.md's model is examples/train/iris.dx, and what it shows the
 *     board printing is what the board prints;
 *   - examples/train on the host, built through its Makefile: the iris
 *     classifier trains from its fixed seed, prints one progress line
 *     per epoch in the plain (not a terminal) format, its loss falls,
 *     and at least 28 of the 30 held-out flowers are classified
 *     correctly; a broken data file is an error with a message and
 *     status 1;
 *   - the model's gradient (loss_grad, compiled by gcc and by clang
 *     under -std=c99 -Wall -Wextra -Wpedantic -Werror) against central
 *     differences at the initial weights (train --check-grad, which
 *     calls dxrt_check_grad);
 *   - the same training in float on the Cortex-M4 of examples/firmware
 *     under qemu (make train-check): at least 28 of 30 held out on the
 *     board, its losses and counts equal to the host's run of the same
 *     program at float tolerance, and its size table (skipped, with a
 *     message, where arm-none-eabi-gcc or qemu-system-arm is missing).
 *
 * Every build runs in the temporary directory; the source tree is only
 * read.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* The runtime's header directory and library: DXRT_DIR and DXRT_LIB, as
 * make check sets them, or the tree's own. */
static char *rt_dir(void)
{
    const char *e = getenv("DXRT_DIR");
    return e ? strdup(e) : tu_printf("%s/runtime", tu_root());
}

static char *rt_lib(void)
{
    const char *e = getenv("DXRT_LIB");
    return e ? strdup(e) : tu_printf("%s/build/libdxrt.a", tu_root());
}

/* Runs cmd; fails the test, with what it printed, unless it exits 0.
 * Returns standard output (malloc'ed). */
static char *run_ok(const char *what, const char *cmd)
{
    char *out = NULL, *err = NULL;
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0, "%s failed (status %d):\n$ %s\n%s\n%s", what, st, cmd, out ? out : "",
                  err ? err : "");
    free(err);
    return out ? out : strdup("");
}

/* The held-out count of a "held-out: K/30 correct" line (-1 if none). */
static int held_out(const char *out)
{
    const char *p = strstr(out, "\nheld-out: ");
    int k = -1, n = 0;
    if (!p || sscanf(p, "\nheld-out: %d/%d correct", &k, &n) != 2 || n != 30)
        return -1;
    return k;
}

/* ---- README.md ---- */

/* The text of README.md's block opened by the fence line `open`
 * (malloc'ed), or fails. */
static char *readme_block(const char *open)
{
    char *path = tu_printf("%s/README.md", tu_root());
    char *readme = tu_read(path, NULL);
    free(path);
    ck_assert_msg(readme, "cannot read README.md");
    const char *p = strstr(readme, open);
    ck_assert_msg(p, "README.md has no block %s", open);
    p += strlen(open);
    const char *end = strstr(p, "```");
    ck_assert_msg(end, "README.md's block %s is not closed", open);
    char *text = tu_printf("%.*s", (int)(end - p), p);
    free(readme);
    return text;
}

/* README's model is examples/train/iris.dx, as it is. */
START_TEST(test_readme_model)
{
    char *shown = readme_block("```dx file=iris.dx\n");
    char *path = tu_printf("%s/examples/train/iris.dx", tu_root());
    char *file = tu_read(path, NULL);
    ck_assert_msg(file, "cannot read %s", path);
    ck_assert_msg(!strcmp(shown, file), "README.md's iris.dx is not examples/train/iris.dx:\n%.3000s", shown);
    free(shown);
    free(file);
    free(path);
}
END_TEST

/* ---- examples/train on the host ---- */

START_TEST(test_host_example)
{
    char *dir = rt_dir(), *lib = rt_lib();
    char *cmd = tu_printf(TU_MAKE " -C '%s/examples/train' O='%s/train' DXC='%s' DXRT_DIR='%s' "
                          "DXRT_LIB='%s'",
                          tu_root(), tu_tmpdir(), tu_dxc(), dir, lib);
    free(run_ok("make -C examples/train", cmd));
    free(cmd);

    /* every epoch, no time column: deterministic; standard output is a
     * pipe, so one plain line per epoch (no \r, no escape) */
    char *csv = tu_printf("%s/examples/train/iris.csv", tu_root());
    cmd = tu_printf("'%s/train/train' --no-time '%s'", tu_tmpdir(), csv);
    char *out = run_ok("train", cmd);
    free(cmd);
    ck_assert_msg(!strchr(out, '\r') && !strchr(out, '\033'), "terminal codes in a pipe:\n%.2000s", out);
    static const char header[] = "120 training flowers, 30 held out; a 4-16-3 network, 131 parameters\n";
    ck_assert_msg(!strncmp(out, header, strlen(header)), "no header line:\n%.2000s", out);
    const char *p = strchr(out, '\n') + 1;
    double first = 0, last = 0, prev = 1e30;
    int rises = 0;
    for (long e = 1; e <= 100; e++) {
        long ep = 0, of = 0;
        double loss = -1, acc = -1, gn = -1;
        int used = 0;
        ck_assert_msg(sscanf(p, "epoch %ld/%ld  loss %lf  accuracy %lf%%  |grad| %lf%n", &ep, &of, &loss,
                             &acc, &gn, &used) == 5 &&
                          ep == e && of == 100 && p[used] == '\n',
                      "epoch %ld: not a progress line: '%.80s'", e, p);
        ck_assert_msg(loss > 0 && acc >= 0 && acc <= 100 && gn >= 0, "epoch %ld: '%.80s'", e, p);
        if (e == 1)
            first = loss;
        rises += loss > prev;
        prev = last = loss;
        p += used + 1;
    }
    /* the loss falls: from about log 3 to a tenth of it, never rising */
    ck_assert_msg(first > 0.9 && first < 1.3 && last < first / 10 && rises == 0,
                  "the loss went from %g to %g, rising %d times:\n%.3000s", first, last, rises, out);
    int k = held_out(out);
    ck_assert_msg(k >= 28, "fewer than 28 of 30 held-out flowers correct:\n%.3000s", out);
    free(out);

    /* with the time: the seconds at the end of each line, still plain
     * lines; --every 10 prints every 10th epoch */
    cmd = tu_printf("'%s/train/train' --every 10 '%s'", tu_tmpdir(), csv);
    out = run_ok("train --every 10", cmd);
    free(cmd);
    int lines = 0;
    for (p = out; (p = strstr(p, "\nepoch ")); p++) {
        const char *eol = strchr(p + 1, '\n');
        ck_assert_msg(eol && eol - p > 3 && (!strncmp(eol - 2, " s", 2) || !strncmp(eol - 3, " ms", 3)), "no seconds: '%.80s'", p + 1);
        lines++;
    }
    ck_assert_msg(lines == 10 && strstr(out, "\nepoch 100/100  loss ") && held_out(out) == k,
                  "--every 10:\n%.3000s", out);
    free(out);

    /* broken files: a message naming the place, status 1 */
    static const struct {
        const char *text, *msg;
    } bad[] = {
        {"150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n4.9,3.0,1.4\n",
         "bad.csv:3: expected four numbers, then the class 0, 1 or 2: '4.9,3.0,1.4'"},
        {"150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,7\n", "bad.csv:2: expected four numbers"},
        {"150,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n", "bad.csv: fewer than 150 flowers"},
        {"sepal,petal\n", "bad.csv:1: expected the header"},
        {"", "bad.csv: empty file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(tu_write(tu_path("bad.csv"), bad[i].text, (size_t)-1), 0);
        cmd = tu_printf("'%s/train/train' '%s'", tu_tmpdir(), tu_path("bad.csv"));
        char *err = NULL;
        out = NULL;
        int st = tu_run(cmd, &out, &err);
        ck_assert_msg(st == 1 && err && strstr(err, bad[i].msg) && !strstr(out, "epoch"),
                      "file %zu: status %d, stderr:\n%s\nwanted '%s'", i, st, err ? err : "", bad[i].msg);
        free(cmd);
        free(out);
        free(err);
    }
    cmd = tu_printf("'%s/train/train' '%s/none.csv' 2>&1; echo \"status $?\"", tu_tmpdir(), tu_tmpdir());
    out = run_ok("train on a missing file", cmd);
    ck_assert_msg(strstr(out, "none.csv: cannot open it\nstatus 1\n"), "%.3000s", out);
    free(cmd);
    free(out);
    free(csv);
    free(dir);
    free(lib);
}
END_TEST

/* ---- the gradient against central differences, gcc and clang ---- */

START_TEST(test_grad_differences)
{
    char *dir = rt_dir(), *lib = rt_lib();
    char *cmd = tu_printf("cd '%s' && '%s' '%s/examples/train/iris.dx' -o iris.c --header iris.h",
                          tu_tmpdir(), tu_dxc(), tu_root());
    free(run_ok("dxc iris.dx", cmd));
    free(cmd);
    static const char *const ccs[] = {"gcc", "clang"};
    int compiled = 0;
    for (int i = 0; i < 2; i++) {
        if (!tu_have(ccs[i])) {
            fprintf(stderr, "trainex: SKIPPED %s: not installed\n", ccs[i]);
            continue;
        }
        /* the generated C alone first: it needs nothing but libm */
        cmd = tu_printf("cd '%s' && %s -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -c iris.c -o iris-%s.o "
                        "&& %s -std=c99 -Wall -Wextra -Wpedantic -Werror -O2 -I. -I'%s' "
                        "'%s/examples/train/train.c' iris-%s.o '%s' -lm -o train-%s && "
                        "./train-%s --check-grad '%s/examples/train/iris.csv'",
                        tu_tmpdir(), ccs[i], ccs[i], ccs[i], dir, tu_root(), ccs[i], lib, ccs[i], ccs[i],
                        tu_root());
        char *out = run_ok("train --check-grad", cmd);
        ck_assert_msg(!strncmp(out, "loss_grad: PASS, 131 values checked", 35), "%s: %s", ccs[i], out);
        free(cmd);
        free(out);
        compiled++;
    }
    ck_assert_msg(compiled > 0, "neither gcc nor clang is installed");
    free(dir);
    free(lib);
}
END_TEST

/* ---- on the Cortex-M4 under qemu ---- */

START_TEST(test_on_device)
{
    if (!tu_have_cortex_m4("test_on_device: on-device training"))
        return;
    char *dir = rt_dir();
    char *cmd = tu_printf(TU_MAKE " -j2 -C '%s/examples/firmware' O='%s/fw' DXC='%s' DXRT_DIR='%s' train-check",
                          tu_root(), tu_tmpdir(), tu_dxc(), dir);
    char *out = run_ok("make -C examples/firmware train-check", cmd);
    free(cmd);
    ck_assert_msg(strstr(out, "# ok\n") && strstr(out, "# stack used: ") && !strstr(out, "FAIL"),
                  "the board's run:\n%.3000s", out);
    /* the board's losses fall (epochs 10, 20, ..., 100) */
    double prev = 1e30;
    for (int e = 10; e <= 100; e += 10) {
        char *key = tu_printf("\nepoch%d.loss ", e);
        const char *p = strstr(out, key);
        ck_assert_msg(p, "no '%s' line:\n%s", key + 1, out);
        double l = strtod(p + strlen(key), NULL);
        ck_assert_msg(l > 0 && l < prev, "epoch %d: loss %g after %g", e, l, prev);
        prev = l;
        free(key);
    }
    ck_assert_msg(prev < 0.1, "the board's last loss is %g", prev);
    const char *p = strstr(out, "\nheld_out_correct ");
    ck_assert_msg(p && atoi(p + 18) >= 28, "fewer than 28 of 30 held-out flowers correct on the board:\n%.3000s", out);
    /* the host's run of the same program agrees value by value */
    ck_assert_msg(strstr(out, "compare: 31 values, 0 differences\n"), "the board and the host differ:\n%.3000s", out);
    /* README's ```text firmware train block: each of its "name value"
     * lines the board printed, in that order, within float tolerance */
    char *shown = readme_block("```text firmware train\n");
    const char *q = out;
    int n = 0;
    for (const char *line = shown; *line; line = strchr(line, '\n') + 1) {
        char name[128];
        double want;
        if (line[0] != '#' && sscanf(line, "%127s %lf", name, &want) == 2) {
            char *key = tu_printf("\n%s ", name);
            q = strstr(q, key);
            ck_assert_msg(q, "the board did not print README's '%s' (in that order):\n%.3000s", name, out);
            q += strlen(key);
            double got = strtod(q, NULL);
            ck_assert_msg(fabs(got - want) <= 1e-4 * fmax(fabs(got), fabs(want)) + 1e-6,
                          "README shows %s %g, the board printed %.9g", name, want, got);
            free(key);
            n++;
        }
        if (!strchr(line, '\n'))
            break;
    }
    ck_assert_msg(n >= 3, "README's ```text firmware train block shows %d values", n);
    free(shown);
    free(out);

    cmd = tu_printf(TU_MAKE " -s -C '%s/examples/firmware' O='%s/fw' DXC='%s' DXRT_DIR='%s' train-sizes",
                    tu_root(), tu_tmpdir(), tu_dxc(), dir);
    out = run_ok("make -C examples/firmware train-sizes", cmd);
    free(cmd);
    static const char *fns[] = {"loss_grad", "logits", "dxrt_adamf_step", "dxrt_clip_grad_normf",
                                "dxrt_init_xavierf", "dxrt_splitmix64"};
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        char *row = tu_printf("| `%s` | ", fns[i]);
        const char *at = strstr(out, row);
        long flash = -1, stack = -1;
        ck_assert_msg(at && sscanf(at + strlen(row), "%ld | %ld |", &flash, &stack) == 2 && flash > 0 &&
                          stack >= 0,
                      "make train-sizes: no numbers for %s:\n%.3000s", fns[i], out);
        free(row);
    }
    /* only what the program links: not loss_hvp, not the double Adam */
    ck_assert_msg(!strstr(out, "`loss_hvp`") && !strstr(out, "`dxrt_adam_step`"), "%.3000s", out);
    long flash = 0, ram = 0;
    p = strstr(out, "\nimage: ");
    ck_assert_msg(p && sscanf(p, "\nimage: %ld bytes of flash", &flash) == 1 && flash > 0 &&
                      (p = strstr(p, "; ")) && sscanf(p, "; %ld bytes of RAM", &ram) == 1 && ram > 0,
                  "no image line:\n%.3000s", out);
    free(out);
    free(dir);
}
END_TEST

Suite *suite_trainex(void);

Suite *suite_trainex(void)
{
    Suite *s = suite_create("trainex");
    TCase *tc = tcase_create("trainex");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_readme_model);
    tcase_add_test(tc, test_host_example);
    tcase_add_test(tc, test_grad_differences);
    tcase_add_test(tc, test_on_device);
    suite_add_tcase(s, tc);
    return s;
}
