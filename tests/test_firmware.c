/*
 * test_firmware.c - the kit for firmware and build-system users:
 *
 *   - examples/firmware, the bare-metal Cortex-M4 program, built with
 *     arm-none-eabi-gcc and run under qemu-system-arm -M mps2-an386: its
 *     `make check` runs the float gradients dxc generated on the emulated
 *     board and on the host and compares them at float tolerance; its
 *     `make sizes` gives a flash and stack figure for every generated
 *     function.  Skipped, with a message, where the cross compiler or
 *     qemu is missing.
 *   - integration/: `make install-integration` into a temporary prefix,
 *     then the tiny project of examples/buildsys built with the installed
 *     dx.mk (make) and the installed CMake package (find_package(dx),
 *     dx_generate(); skipped without cmake): each program runs and prints
 *     the gradient, a second build does nothing, and touching the model
 *     runs dxc again, once.
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

/* Runs cmd; fails the test, with what it printed, unless it exits 0.
 * Returns standard output (malloc'ed). */
static char *run_ok(const char *what, const char *cmd)
{
    char *out = NULL, *err = NULL;
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0, "%s failed (status %d):\n$ %s\n%s\n%s", what, st, cmd,
                  out ? out : "", err ? err : "");
    free(err);
    return out ? out : strdup("");
}

/* Occurrences of needle in hay. */
static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* ---- examples/firmware under qemu ---- */

/* README.md's ```text firmware run block against what the board printed
 * (out): the same "name value" lines, in the same order, the values
 * within compare.awk's float tolerance (a newer toolchain may round
 * differently; the README shows one). */
static void assert_readme_run(const char *out)
{
    char *path = tu_printf("%s/README.md", tu_root());
    char *readme = tu_read(path, NULL);
    free(path);
    ck_assert_msg(readme, "cannot read README.md");
    const char *open = strstr(readme, "```text firmware run\n");
    ck_assert_msg(open, "README.md has no ```text firmware run block");
    const char *p = strchr(open, '\n') + 1, *end = strstr(p, "```");
    ck_assert_msg(end, "README.md's ```text firmware run block is not closed");
    const char *q = out;
    int n = 0;
    while (p < end) {
        const char *eol = strchr(p, '\n');
        char line[256], name[128];
        float want;
        snprintf(line, sizeof line, "%.*s", (int)(eol - p), p);
        p = eol + 1;
        if (line[0] == '#' || sscanf(line, "%127s %f", name, &want) != 2)
            continue;
        char *key = tu_printf("\n%s ", name);
        q = strstr(q, key);
        ck_assert_msg(q, "the board did not print README's line '%s' (in that order):\n%s", line, out);
        q += strlen(key);
        float got = strtof(q, NULL);
        ck_assert_msg(fabsf(got - want) <= 1e-4f * fmaxf(fabsf(got), fabsf(want)) + 1e-6f,
                      "README shows '%s', the board printed %.9g", line, (double)got);
        free(key);
        n++;
    }
    ck_assert_msg(n == 19, "README's ```text firmware run block has %d values, not 19", n);
    free(readme);
}

START_TEST(test_firmware_qemu)
{
    if (!tu_have_cortex_m4("test_firmware_qemu: the Cortex-M4 example"))
        return;
    char *cmd = tu_printf(TU_MAKE " -j2 -C '%s/examples/firmware' O='%s/fw' DXC='%s' check",
                          tu_root(), tu_tmpdir(), tu_dxc());
    char *out = run_ok("make -C examples/firmware check", cmd);
    free(cmd);
    /* the board ran every entry point, its own checks passed, and the host
     * printed the same values within float tolerance */
    static const char *want[] = {
        "\nspring ", "\nspring_grad.k_bar ", "\nspring_jvp.out_dot ", "\nspring_hvp.c_hv ",
        "\nmlp ", "\nmlp_grad.b2_bar[3] ", "\nmlp_jvp.out_dot ", "\nmlp_hvp.b2_hv[0] ",
        "# stack used: ", "# ok\n", "compare: 19 values, 0 differences\n",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        ck_assert_msg(strstr(out, want[i]), "make check in examples/firmware printed no '%s':\n%s",
                      want[i], out);
    ck_assert_msg(!strstr(out, "FAIL"), "a check failed on the board:\n%s", out);
    assert_readme_run(out);
    free(out);

    /* the size table: one row per generated function, numbers in it */
    cmd = tu_printf(TU_MAKE " -s -C '%s/examples/firmware' O='%s/fw' DXC='%s' sizes", tu_root(),
                    tu_tmpdir(), tu_dxc());
    out = run_ok("make -C examples/firmware sizes", cmd);
    free(cmd);
    static const char *fns[] = { "spring", "spring_grad", "spring_jvp", "spring_hvp",
                                 "mlp",    "mlp_grad",    "mlp_jvp",    "mlp_hvp" };
    ck_assert_msg(strstr(out, "| function | flash (bytes) | stack (bytes) |"), "no table:\n%s", out);
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        char *row = tu_printf("| `%s` | ", fns[i]);
        const char *p = strstr(out, row);
        ck_assert_msg(p, "make sizes has no row for %s:\n%s", fns[i], out);
        long flash = -1, stack = -1;
        ck_assert_msg(sscanf(p + strlen(row), "%ld | %ld |", &flash, &stack) == 2 && flash > 0 &&
                          stack >= 0,
                      "make sizes: no numbers for %s:\n%s", fns[i], out);
        free(row);
    }
    free(out);

    /* a failing program: its status comes back through semihosting and
     * qemu, and make run fails */
    cmd = tu_printf("cd '%s' && sed 's/return fails;/return fails + 7;/' "
                    "'%s/examples/firmware/main.c' > main.c && grep -q 'fails + 7' main.c",
                    tu_tmpdir(), tu_root());
    free(run_ok("editing main.c", cmd));
    free(cmd);
    cmd = tu_printf("cd '%s' && " TU_MAKE " -C '%s/examples/firmware' O='%s/fw7' DXC='%s' "
                    "MAIN='%s/main.c' run 2>&1; echo \"status $?\"",
                    tu_tmpdir(), tu_root(), tu_tmpdir(), tu_dxc(), tu_tmpdir());
    out = run_ok("make run", cmd);
    free(cmd);
    ck_assert_msg(strstr(out, "# ok\n") && strstr(out, "Error 7") && strstr(out, "status 2\n"),
                  "a status of 7 from main did not fail make run:\n%s", out);
    free(out);
}
END_TEST

/* ---- dx.mk and the CMake package on the tiny project ---- */

static const char ball_out[] =
    "ball 16.710550\n"
    "d ball / d v 0.835528, d a -9.129015, d d -8.140576\n";

/* The installed files in PREFIX (tu_path("prefix")) and a fresh copy of
 * examples/buildsys in tu_path(dir). */
static void install_and_copy(const char *dir)
{
    char *cmd = tu_printf(TU_MAKE " -C '%s' install-integration PREFIX='%s/prefix' >/dev/null && "
                          "cp -R '%s/examples/buildsys' '%s/%s'",
                          tu_root(), tu_tmpdir(), tu_root(), tu_tmpdir(), dir);
    free(run_ok("make install-integration", cmd));
    free(cmd);
}

START_TEST(test_make_rule)
{
    install_and_copy("mk");
    char *make = tu_printf("cd '%s/mk' && " TU_MAKE " DX_MK='%s/prefix/share/dx/dx.mk' DXC='%s'",
                           tu_tmpdir(), tu_tmpdir(), tu_dxc());
    char *cmd = tu_printf("%s -j2", make);
    char *out = run_ok("make with dx.mk", cmd);
    free(cmd);
    ck_assert_msg(count(out, "ball.dx -o ball.c --header ball.h") == 1,
                  "dxc did not run exactly once for ball.c and ball.h:\n%s", out);
    free(out);
    cmd = tu_printf("cd '%s/mk' && ./ball", tu_tmpdir());
    out = run_ok("the program built with dx.mk", cmd);
    free(cmd);
    ck_assert_str_eq(out, ball_out);
    free(out);
    /* nothing to do; the generated files kept; then a newer model: dxc
     * once, and everything that depends on it */
    cmd = tu_printf("%s -q && test -f ball.c && test -f ball.h && sleep 1 && touch ball.dx && "
                    "%s -j2",
                    make, make);
    out = run_ok("make after touching ball.dx", cmd);
    free(cmd);
    ck_assert_msg(count(out, "ball.dx -o ball.c --header ball.h") == 1 && strstr(out, "main.o") &&
                      strstr(out, "-o ball "),
                  "touching ball.dx did not remake ball.c, ball.h, main.o and ball once:\n%s", out);
    free(out);
    /* DX_OUTDIR puts the generated files elsewhere */
    cmd = tu_printf("cd '%s/mk' && printf 'DX_OUTDIR = gen/\\ninclude %s/prefix/share/dx/dx.mk\\n"
                    "all: gen/ball.c gen/ball.h\\n' > out.mk && " TU_MAKE " -f out.mk DXC='%s' && "
                    "test -s gen/ball.c && grep -q 'ball_grad' gen/ball.h",
                    tu_tmpdir(), tu_tmpdir(), tu_dxc());
    free(run_ok("dx.mk with DX_OUTDIR", cmd));
    free(cmd);
    free(make);
}
END_TEST

START_TEST(test_cmake_function)
{
    if (!tu_have("cmake")) {
        fprintf(stderr, "test_cmake_function: dx_generate() SKIPPED: cmake is not installed "
                        "(.ci/run installs it: apt-get install cmake)\n");
        return;
    }
    install_and_copy("cm");
    /* find_package(dx) through CMAKE_PREFIX_PATH, the compiler from DXC */
    char *build = tu_printf("cd '%s/cm' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CC -u CFLAGS "
                            "DXC='%s' cmake --build b",
                            tu_tmpdir(), tu_dxc());
    char *cmd = tu_printf("cd '%s/cm' && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u CC -u CFLAGS "
                          "DXC='%s' cmake -S . -B b -DCMAKE_PREFIX_PATH='%s/prefix' >/dev/null && "
                          "%s",
                          tu_tmpdir(), tu_dxc(), tu_tmpdir(), build);
    char *out = run_ok("cmake with dx_generate", cmd);
    free(cmd);
    ck_assert_msg(count(out, "dxc ball.dx") == 1, "dxc did not run once:\n%s", out);
    free(out);
    cmd = tu_printf("cd '%s/cm' && ./b/ball", tu_tmpdir());
    out = run_ok("the program built with CMake", cmd);
    free(cmd);
    ck_assert_str_eq(out, ball_out);
    free(out);
    /* nothing to do, then a newer model runs dxc again */
    out = run_ok("a second cmake --build", build);
    ck_assert_msg(!strstr(out, "dxc ball.dx"), "dxc ran again with nothing changed:\n%s", out);
    free(out);
    cmd = tu_printf("cd '%s/cm' && sleep 1 && touch ball.dx && %s", tu_tmpdir(), build);
    out = run_ok("cmake --build after touching ball.dx", cmd);
    free(cmd);
    ck_assert_msg(count(out, "dxc ball.dx") == 1, "touching ball.dx did not run dxc once:\n%s", out);
    free(out);
    free(build);
}
END_TEST

Suite *suite_firmware(void);

Suite *suite_firmware(void)
{
    Suite *s = suite_create("firmware");
    TCase *tc = tcase_create("firmware");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_firmware_qemu);
    tcase_add_test(tc, test_make_rule);
    tcase_add_test(tc, test_cmake_function);
    suite_add_tcase(s, tc);
    return s;
}
