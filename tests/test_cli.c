/*
 * test_cli.c - dxc's command line: options, where the output goes, the
 * header, the IR and Graphviz dumps.
 */
#include <check.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static void setup(void)
{
    tu_tmpdir();
    ck_assert_int_eq(tu_write(tu_path("m.dx"),
                              "const N = 2\n"
                              "fn f(x, y) = x ^ N * sin(y)\n"
                              "fn g(a, data k) = f(a, k) + sigmoid(a)\n",
                              (size_t)-1),
                     0);
}

static void teardown(void)
{
    tu_cleanup();
}

/* Run dxc with args in the temporary directory. */
static int dxc(const char *args, char **out, char **err)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 60 '%s' %s", tu_tmpdir(), tu_dxc(), args);
    int st = tu_run(cmd, out, err);
    ck_assert_msg(st != -1, "dxc %s crashed", args);
    return st;
}

static int sh(const char *fmt, const char *a)
{
    char cmd[2048], full[2300];
    snprintf(cmd, sizeof cmd, fmt, a);
    snprintf(full, sizeof full, "cd '%s' && %s", tu_tmpdir(), cmd);
    char *err = NULL;
    int st = tu_run(full, NULL, &err);
    if (st != 0)
        fprintf(stderr, "%s:\n%s\n", cmd, err ? err : "");
    free(err);
    return st;
}

static int match(const char *re, const char *s)
{
    regex_t r;
    ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE), 0);
    int m = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return m;
}

START_TEST(test_help_version)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(dxc("--help", &out, &err), 0);
    ck_assert_msg(out && strstr(out, "usage") && strstr(out, "-o") && strstr(out, "--header") &&
                      strstr(out, "--emit") && strstr(out, "--real"),
                  "--help: %s", out);
    free(out);
    free(err);
    ck_assert_int_eq(dxc("--version", &out, &err), 0);
    ck_assert_msg(out && match("^dxc [0-9]+\\.[0-9]+\\.[0-9]+", out), "--version: %s", out);
    free(out);
    free(err);
    /* --help wins over an input file and does not compile it */
    ck_assert_int_eq(dxc("m.dx --help", &out, &err), 0);
    ck_assert_msg(out && strstr(out, "usage"), "m.dx --help: %s", out);
    free(out);
    free(err);
}
END_TEST

static const char *bad_args[] = {
    "--bogus m.dx", "m.dx --bogus", "-x m.dx", "--emit=bogus m.dx", "--real=long m.dx",
    "m.dx -o",      "",             "-o out.c", "m.dx m.dx",        "m.dx --header",
};

START_TEST(test_bad_options)
{
    char *out = NULL, *err = NULL;
    int st = dxc(bad_args[_i], &out, &err);
    ck_assert_msg(st == 1, "dxc %s: status %d", bad_args[_i], st);
    ck_assert_msg(err && match("^dxc: error: .+", err), "dxc %s: stderr '%s'", bad_args[_i], err);
    ck_assert_msg(!out || !strstr(out, "#include"), "dxc %s printed C", bad_args[_i]);
    free(out);
    free(err);
}
END_TEST

START_TEST(test_missing_input)
{
    char *err = NULL;
    ck_assert_int_eq(dxc("nothere.dx -o out.c", NULL, &err), 1);
    ck_assert_msg(err && match("^dxc: error: .*nothere\\.dx", err), "%s", err);
    free(err);
    ck_assert_ptr_null(tu_read(tu_path("out.c"), NULL));
}
END_TEST

START_TEST(test_output_places)
{
    char *out = NULL, *err = NULL;
    /* without -o: stdout */
    ck_assert_int_eq(dxc("m.dx", &out, &err), 0);
    ck_assert_msg(out && strstr(out, "#include <math.h>") && strstr(out, "f_grad("), "stdout: %s", out);
    char *stdout_c = out;
    free(err);
    /* -o writes the file, prints nothing */
    ck_assert_int_eq(dxc("m.dx -o a.c", &out, &err), 0);
    ck_assert_msg(!out || !*out, "-o also printed: %s", out);
    free(out);
    free(err);
    char *a = tu_read(tu_path("a.c"), NULL);
    ck_assert_ptr_nonnull(a);
    ck_assert_str_eq(a, stdout_c);
    /* options after the input file, and before */
    ck_assert_int_eq(dxc("-o b.c m.dx", NULL, NULL), 0);
    ck_assert_int_eq(dxc("m.dx --real=double -o c.c --emit=c", NULL, NULL), 0);
    char *b = tu_read(tu_path("b.c"), NULL), *c = tu_read(tu_path("c.c"), NULL);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_nonnull(c);
    ck_assert_str_eq(a, b);
    ck_assert_str_eq(a, c);
    /* an existing output is overwritten on success */
    ck_assert_int_eq(tu_write(tu_path("d.c"), "old\n", (size_t)-1), 0);
    ck_assert_int_eq(dxc("m.dx -o d.c", NULL, NULL), 0);
    char *d = tu_read(tu_path("d.c"), NULL);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(a, d);
    /* --real=float after the input */
    ck_assert_int_eq(dxc("m.dx -o fl.c --real=float", NULL, NULL), 0);
    char *fl = tu_read(tu_path("fl.c"), NULL);
    ck_assert_ptr_nonnull(fl);
    ck_assert_msg(strstr(fl, "float f(float x, float y)"), "no float API:\n%s", fl);
    free(fl);
    free(a);
    free(b);
    free(c);
    free(d);
    free(stdout_c);
}
END_TEST

START_TEST(test_header)
{
    ck_assert_int_eq(dxc("m.dx -o m.c --header m.h", NULL, NULL), 0);
    char *h = tu_read(tu_path("m.h"), NULL), *c = tu_read(tu_path("m.c"), NULL);
    ck_assert_ptr_nonnull(h);
    ck_assert_ptr_nonnull(c);
    /* include guard */
    ck_assert_msg(match("^#ifndef [A-Za-z_][A-Za-z0-9_]*$", h) && match("^#define [A-Za-z_]", h) &&
                      match("^#endif", h),
                  "no include guard:\n%s", h);
    /* every prototype is the C file's definition line + ';' */
    const char *protos[] = {"double f(double x, double y);",
                            "double f_grad(double x, double y, double *x_bar, double *y_bar);",
                            "double f_jvp(double x, double y, double x_dot, double y_dot, double *out_dot);",
                            "double f_hvp(double x, double y, double x_dot, double y_dot, double *x_hv, double *y_hv);",
                            "double g(double a, double k);",
                            "double g_grad(double a, double k, double *a_bar);",
                            "double g_jvp(double a, double k, double a_dot, double *out_dot);",
                            "double g_hvp(double a, double k, double a_dot, double *a_hv);"};
    for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
        ck_assert_msg(strstr(h, protos[i]), "header lacks %s:\n%s", protos[i], h);
        char def[512];
        snprintf(def, sizeof def, "%.*s\n", (int)strlen(protos[i]) - 1, protos[i]);
        ck_assert_msg(strstr(c, def), "C file lacks the definition %s", def);
    }
    /* the header included twice, then the C file, in one unit: prototypes match */
    ck_assert_int_eq(tu_write(tu_path("use.c"),
                              "#include \"m.h\"\n#include \"m.h\"\n#include \"m.c\"\n"
                              "int main(void) { double gx, gy; return f_grad(1, 2, &gx, &gy) > 0 ? 0 : 1; }\n",
                              (size_t)-1),
                     0);
    ck_assert_int_eq(sh("gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -Wstrict-prototypes "
                        "-Wmissing-prototypes -Wredundant-decls -o use%s use.c -lm && ./use",
                        ""),
                     0);
    ck_assert_int_eq(sh("clang -std=c99 -Wall -Wextra -Wpedantic -Werror -Wstrict-prototypes "
                        "-Wmissing-prototypes -o use%s use.c -lm && ./use",
                        ""),
                     0);
    /* the header alone is valid C */
    ck_assert_int_eq(tu_write(tu_path("sep.c"), "#include \"m.h\"\n", (size_t)-1), 0);
    ck_assert_int_eq(sh("gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -c sep.c -o sep.o%s", ""), 0);
    /* float header */
    ck_assert_int_eq(dxc("--real=float --header mf.h m.dx -o mf.c", NULL, NULL), 0);
    char *hf = tu_read(tu_path("mf.h"), NULL);
    ck_assert_ptr_nonnull(hf);
    ck_assert_msg(strstr(hf, "float f_grad(float x, float y, float *x_bar, float *y_bar);"), "%s", hf);
    free(hf);
    free(h);
    free(c);
}
END_TEST

START_TEST(test_emit_ir)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(dxc("m.dx --emit=ir", &out, &err), 0);
    ck_assert_msg(out && strstr(out, "fn f_grad") && strstr(out, "fn f(") && strstr(out, "fn g_grad"),
                  "IR: %s", out);
    ck_assert_msg(!strstr(out, "#include"), "--emit=ir printed C");
    free(out);
    free(err);
    ck_assert_int_eq(dxc("--emit=ir -o m.ir m.dx", NULL, NULL), 0);
    char *ir = tu_read(tu_path("m.ir"), NULL);
    ck_assert_ptr_nonnull(ir);
    ck_assert_msg(strstr(ir, "fn f_grad"), "%s", ir);
    free(ir);
}
END_TEST

START_TEST(test_emit_dot)
{
    char *out = NULL, *err = NULL;
    ck_assert_int_eq(dxc("m.dx --emit=dot -o m.gv", NULL, NULL), 0);
    char *gv = tu_read(tu_path("m.gv"), NULL);
    ck_assert_ptr_nonnull(gv);
    ck_assert_msg(match("^(strict )?digraph", gv), "not a digraph: %.200s", gv);
    /* balanced braces */
    int depth = 0;
    for (const char *p = gv; *p; p++) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                if (*p == '\\' && p[1])
                    p++;
            if (!*p)
                break;
        } else if (*p == '{') {
            depth++;
        } else if (*p == '}') {
            depth--;
            ck_assert_int_ge(depth, 0);
        }
    }
    ck_assert_int_eq(depth, 0);
    free(gv);
    if (tu_run("command -v dot", NULL, NULL) == 0) {
        ck_assert_int_eq(sh("dot -Tsvg m.gv -o m.svg%s", ""), 0);
        char *svg = tu_read(tu_path("m.svg"), NULL);
        ck_assert_msg(svg && strstr(svg, "<svg"), "dot produced no SVG");
        free(svg);
    } else {
        fprintf(stderr, "test_emit_dot: graphviz's dot not installed; dot -Tsvg skipped\n");
    }
    ck_assert_int_eq(dxc("m.dx --emit=dot", &out, &err), 0);
    ck_assert_msg(out && strstr(out, "digraph"), "%s", out);
    free(out);
    free(err);
}
END_TEST

Suite *suite_cli(void);

Suite *suite_cli(void)
{
    Suite *s = suite_create("cli");
    TCase *tc = tcase_create("cli");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_help_version);
    tcase_add_loop_test(tc, test_bad_options, 0, (int)(sizeof bad_args / sizeof bad_args[0]));
    tcase_add_test(tc, test_missing_input);
    tcase_add_test(tc, test_output_places);
    tcase_add_test(tc, test_header);
    tcase_add_test(tc, test_emit_ir);
    tcase_add_test(tc, test_emit_dot);
    suite_add_tcase(s, tc);
    return s;
}
