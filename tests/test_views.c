/*
 * test_views.c - values at a point (--at), the report it prints, and
 * --emit=json.
 *
 * The seed examples are checked against hand-derived values (y = x^2 at
 * 3: 9 and 6; (a + b) * c at (2, 3, 4): 20 and (4, 4, 5); the neuron's
 * loss).  The recording interpreter behind --at (ir_record) is checked
 * against f_grad run in the interpreter and against central differences
 * on every model of the repository (dc_check's "record" check, which
 * the differential tester also runs on its random programs).  Every JSON
 * document dxc writes is parsed by a strict JSON parser written here
 * (RFC 8259's grammar), with and without --at.  Every --at mistake is an
 * error that names it, exits 1 and leaves the output file untouched.
 */
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgrun.h"
#include "diffcheck.h"
#include "testutil.h"

/* rel inside the source tree (malloc'ed). */
static char *vw_root_path(const char *rel)
{
    return tu_printf("%s/%s", tu_root(), rel);
}

/* ---- a strict JSON parser (RFC 8259), for validity only ---- */

static const char *js_value(const char *s, int depth);

static const char *js_ws(const char *s)
{
    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    return s;
}

static const char *js_string(const char *s)
{
    if (*s++ != '"')
        return NULL;
    for (; *s != '"'; s++) {
        if ((unsigned char)*s < 0x20)
            return NULL;
        if (*s == '\\') {
            s++;
            if (*s == 'u') {
                for (int k = 1; k <= 4; k++)
                    if (!isxdigit((unsigned char)s[k]))
                        return NULL;
                s += 4;
            } else if (!strchr("\"\\/bfnrt", *s) || !*s) {
                return NULL;
            }
        }
    }
    return s + 1;
}

static const char *js_number(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (isdigit((unsigned char)*s))
        while (isdigit((unsigned char)*s))
            s++;
    else
        return NULL;
    if (*s == '.') {
        if (!isdigit((unsigned char)*++s))
            return NULL;
        while (isdigit((unsigned char)*s))
            s++;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!isdigit((unsigned char)*s))
            return NULL;
        while (isdigit((unsigned char)*s))
            s++;
    }
    return s;
}

/* An array or object: items (object: "key": value) between open and close. */
static const char *js_items(const char *s, int depth, char close, int object)
{
    s = js_ws(s + 1);
    if (*s == close)
        return s + 1;
    for (;;) {
        if (object) {
            if (!(s = js_string(js_ws(s))))
                return NULL;
            s = js_ws(s);
            if (*s++ != ':')
                return NULL;
        }
        if (!(s = js_value(s, depth + 1)))
            return NULL;
        s = js_ws(s);
        if (*s == close)
            return s + 1;
        if (*s++ != ',')
            return NULL;
    }
}

static const char *js_value(const char *s, int depth)
{
    s = js_ws(s);
    if (depth > 64)
        return NULL;
    switch (*s) {
    case '{': return js_items(s, depth, '}', 1);
    case '[': return js_items(s, depth, ']', 0);
    case '"': return js_string(s);
    case 't': return strncmp(s, "true", 4) ? NULL : s + 4;
    case 'f': return strncmp(s, "false", 5) ? NULL : s + 5;
    case 'n': return strncmp(s, "null", 4) ? NULL : s + 4;
    default: return js_number(s);
    }
}

static int json_valid(const char *text)
{
    const char *end = text ? js_value(text, 0) : NULL;
    return end && !*js_ws(end);
}

START_TEST(test_json_parser)
{
    ck_assert(json_valid("{\"a\": [1, -2.5e3, null, true, \"x\\u00e9\"]}"));
    ck_assert(!json_valid("{\"a\": nan}"));
    ck_assert(!json_valid("{\"a\": inf}"));
    ck_assert(!json_valid("[1, 2,]"));
    ck_assert(!json_valid("{\"a\" 1}"));
    ck_assert(!json_valid("\"tab\there\""));
    ck_assert(!json_valid("[01]"));
    ck_assert(!json_valid("[1] x"));
}
END_TEST

/* ---- the seed examples, by hand ---- */

static void copy_example(const char *name)
{
    char *t = tu_read(tu_path(name), NULL);
    if (t) {
        free(t);
        return;
    }
    char *src = vw_root_path(name);
    t = tu_read(src, NULL);
    free(src);
    ck_assert_msg(t, "no %s", name);
    char *dir = tu_printf("mkdir -p '%s/examples'", tu_tmpdir());
    ck_assert_int_eq(tu_run(dir, NULL, NULL), 0);
    free(dir);
    ck_assert_int_eq(tu_write(tu_path(name), t, (size_t)-1), 0);
    free(t);
}

START_TEST(test_at_square)
{
    copy_example("examples/square.dx");
    char *out = cr_dxc_ok("examples/square.dx --at x=3");
    const char *want = "square(x = 3) = 9\n"
                       "\n"
                       "forward pass, in the order it computes:\n"
                       "  line 2   square = x^2                    9\n"
                       "\n"
                       "backward pass, from dsquare/dsquare = 1 (x_bar is dsquare/dx):\n"
                       "           square_bar = 1\n"
                       "  line 2   x_bar += square_bar * 2*x = 1 * 6\n"
                       "           x_bar = 6\n"
                       "\n"
                       "gradient:\n"
                       "  dsquare/dx = 6\n";
    ck_assert_str_eq(out, want);
    free(out);
}
END_TEST

START_TEST(test_at_graph_json)
{
    copy_example("examples/graph.dx");
    char *out = cr_dxc_ok("examples/graph.dx --at a=2 --at b=3 --at c=4 --emit=json");
    ck_assert_msg(json_valid(out), "%s", out);
    ck_assert_msg(strstr(out, "\"name\": \"a\", \"shape\": [], \"data\": false, \"node\": 0, \"value\": 2, "
                              "\"grad\": 4}") &&
                      strstr(out, "\"name\": \"b\", \"shape\": [], \"data\": false, \"node\": 1, \"value\": 3, "
                                  "\"grad\": 4}") &&
                      strstr(out, "\"name\": \"c\", \"shape\": [], \"data\": false, \"node\": 2, \"value\": 4, "
                                  "\"grad\": 5}") &&
                      strstr(out, "\"value\": 20,"),
                  "%s", out);
    /* s = a + b: value 5, adjoint c = 4; the product's edges carry c and s */
    ck_assert_msg(strstr(out, "\"op\": \"add\", \"name\": \"s\"") && strstr(out, "\"value\": 5, \"adjoint\": 4}") &&
                      strstr(out, "{\"from\": 3, \"to\": 4, \"kind\": \"operand\", \"d\": \"c\", \"d_value\": 4}") &&
                      strstr(out, "{\"from\": 2, \"to\": 4, \"kind\": \"operand\", \"d\": \"s\", \"d_value\": 5}"),
                  "%s", out);
    free(out);
    /* without --at: no values */
    out = cr_dxc_ok("examples/graph.dx --emit=json");
    ck_assert_msg(json_valid(out) && !strstr(out, "\"value\"") && !strstr(out, "\"grad\""), "%s", out);
    free(out);
}
END_TEST

START_TEST(test_at_neuron)
{
    copy_example("examples/neuron.dx");
    /* relu(2*0.5 + 0.1) = 1.1, err = 0.1, loss = 0.005; dloss/dw = err*x,
     * dloss/db = err */
    char *out = cr_dxc_ok("examples/neuron.dx --only=loss --at w=0.5 --at b=0.1 --at x=2 --at target=1");
    ck_assert_msg(strstr(out, "  line 2   y = relu(x * w + b)             1.1\n") &&
                      strstr(out, "  line 6   err = y - target                0.1\n") &&
                      strstr(out, "  dloss/dw = 0.2\n  dloss/db = 0.1\n  x is data: no gradient\n"),
                  "%s", out);
    free(out);
    /* below the kink, relu passes nothing back */
    out = cr_dxc_ok("examples/neuron.dx --only=loss --at w=-0.5 --at b=0.1 --at x=2 --at target=1");
    ck_assert_msg(strstr(out, "  dloss/dw = 0\n  dloss/db = 0\n"), "%s", out);
    free(out);
}
END_TEST

/* A loop: the carried value's history, one value per iteration. */
START_TEST(test_at_loop)
{
    const char *src = "fn pw(x) {\n"
                      "    h = 1\n"
                      "    for t in 0..4 {\n"
                      "        h = h * x\n"
                      "    }\n"
                      "    return h\n"
                      "}\n";
    ck_assert_int_eq(tu_write(tu_path("pw.dx"), src, (size_t)-1), 0);
    char *out = cr_dxc_ok("pw.dx --at x=2 --emit=json");
    ck_assert_msg(json_valid(out), "%s", out);
    /* h at the start of each of the four steps: 1, 2, 4, 8; adjoints
     * d(x^4)/dh_t = x^(4-t): 16, 8, 4, 2; dx = 4 x^3 = 32 */
    ck_assert_msg(strstr(out, "\"runs\": 4, \"value\": [1, 2, 4, 8], \"adjoint\": [16, 8, 4, 2]") &&
                      strstr(out, "\"grad\": 32}") && strstr(out, "\"kind\": \"for\", \"label\": \"for t in 0..4\""),
                  "%s", out);
    free(out);
}
END_TEST

/* dxc FILE ARGS on src written to file prints every line of want (a
 * NULL-terminated list). */
static void at_says(const char *file, const char *src, const char *args, const char *const *want)
{
    ck_assert_int_eq(tu_write(tu_path(file), src, (size_t)-1), 0);
    char *cmd = tu_printf("%s %s", file, args);
    char *out = cr_dxc_ok(cmd);
    for (int i = 0; want[i]; i++)
        ck_assert_msg(strstr(out, want[i]), "%s: no\n%s\nin\n%.3000s", cmd, want[i], out);
    free(cmd);
    free(out);
}

/* A name several values carry is numbered in the order they are made
 * (y, y_2, y_3): a branch's result is not "x > 1 ? y : y", nor its
 * adjoint step "y_bar += y_bar * 1"; a numbered result goes by the
 * function's name; a number never takes a name of the source.  An if's
 * result sends its adjoint to the branch that ran, and says so. */
START_TEST(test_at_versions)
{
    const char *branch = "fn f(x) {\n"
                         "    y = x * x\n"
                         "    if x > 1 {\n"
                         "        y = y * 3\n"
                         "    }\n"
                         "    return y + x\n"
                         "}\n";
    /* f = 3 x^2 + x past 1: 14, and df/dx = 6 x + 1 = 13 */
    static const char *const branch_says[] = {
        "  line 4   y_2 = y * 3                     12\n",
        "  line 3   y_3 = x > 1 ? y_2 : y           12\n",
        "  line 6   f = y_3 + x                     14\n",
        "  line 3   y_2_bar += y_3_bar if x > 1\n",
        "  line 3   y_bar += y_3_bar unless x > 1 (not taken: adds nothing)\n",
        "  line 4   y_bar += y_2_bar * 3 = 1 * 3\n",
        "  df/dx = 13\n",
        NULL,
    };
    at_says("branch.dx", branch, "--at x=2", branch_says);
    static const char *const json_says[] = {
        "\"name\": \"y\", \"var\": \"y_3\", \"label\": \"y_3\", \"expr\": \"x > 1 ? y_2 : y\"", NULL};
    at_says("branch.dx", branch, "--at x=2 --emit=json", json_says);
    /* the parameter x doubled until it passes 2: a numbered result */
    const char *loop = "fn g(x) {\n"
                       "    for i in 0..3 {\n"
                       "        if x > 2 {\n"
                       "            break\n"
                       "        }\n"
                       "        x = x * 2\n"
                       "    }\n"
                       "    return x\n"
                       "}\n";
    static const char *const loop_says[] = {
        "  line 6   x_2 = x[i] * 2 ", "  line 2   g = x[i+1] ",
        "backward pass, from dg/dg = 1 (x_bar is dg/dx):\n", "  dg/dx = 4\n", NULL,
    };
    at_says("dbl.dx", loop, "--at x=0.7", loop_says);
    /* the model's own y_2: y's second value is y_3; h = x^2 (x^2 + 1) + 1
     * = 21, dh/dx = 4 x^3 + 2 x = 36 */
    const char *own = "fn h(x) {\n"
                      "    y = x * x\n"
                      "    y_2 = y + 1\n"
                      "    y = y * y_2\n"
                      "    return y + 1\n"
                      "}\n";
    static const char *const own_says[] = {
        "  line 3   y_2 = y + 1 ", "  line 4   y_3 = y * y_2 ", "  line 5   h = y_3 + 1 ", "  dh/dx = 36\n", NULL,
    };
    at_says("own.dx", own, "--at x=2", own_says);
}
END_TEST

START_TEST(test_at_nonfinite_json)
{
    ck_assert_int_eq(tu_write(tu_path("lg.dx"), "fn lg(x) = log(x) * 2\n", (size_t)-1), 0);
    char *out = cr_dxc_ok("lg.dx --at x=0 --emit=json");
    ck_assert_msg(json_valid(out) && strstr(out, "\"value\": null"), "%s", out);
    free(out);
}
END_TEST

/* ---- --at mistakes ---- */

static void at_error(const char *args, const char *want)
{
    ck_assert_int_eq(tu_write(tu_path("keep.out"), "untouched\n", (size_t)-1), 0);
    char *cmd = tu_printf("%s -o keep.out", args);
    char *out = NULL, *err = NULL;
    int rc = cr_dxc(cmd, &out, &err);
    ck_assert_msg(rc == 1, "dxc %s: exit %d", cmd, rc);
    ck_assert_msg(err && strstr(err, want), "dxc %s: wanted '%s' in:\n%s", cmd, want, err);
    char *kept = tu_read(tu_path("keep.out"), NULL);
    ck_assert_str_eq(kept, "untouched\n");
    free(kept);
    free(out);
    free(err);
    free(cmd);
}

START_TEST(test_at_errors)
{
    copy_example("examples/neuron.dx");
    ck_assert_int_eq(tu_write(tu_path("mv.dx"), "fn mv(W[2, 3], data v[3]) = sum(W @ v)\n", (size_t)-1), 0);
    at_error("mv.dx --at q=1 --at W=[1,2,3,4,5,6] --at v=[1,2,3]",
             "dxc: error: --at: 'q' is not a parameter of mv (its parameters: W, v)");
    at_error("mv.dx --at W=[1,2,3,4,5,x6] --at v=[1,2,3]", "dxc: error: --at W=[1,2,3,4,5,x6]: 'x6' is not a number");
    at_error("mv.dx --at W=[1,2,3,4] --at v=[1,2,3]",
             "dxc: error: --at W=[1,2,3,4]: W is [2, 3]: 6 values in row-major order; got 4 values");
    at_error("mv.dx --at W=[1,2,3,4,5,6]",
             "dxc: error: --at: no value for 'v', a parameter of mv (every parameter, data ones included, "
             "needs one: --at v=[...])");
    at_error("mv.dx --at W=[1,2,3,4,5,6] --at v=[1,2,3] --at v=[1,2,3]", "dxc: error: --at: 'v' is given twice");
    at_error("mv.dx --at W=[[1,2,3],[4,5,6] --at v=[1,2,3]", "unbalanced brackets");
    at_error("mv.dx --at W", "dxc: error: --at needs NAME=VALUE, not 'W'");
    at_error("examples/neuron.dx --at w=1",
             "--at evaluates one function, and 'examples/neuron.dx' has 2 (neuron, loss): choose one with --only=F");
    at_error("examples/neuron.dx --only=loss --at w=1e --at b=0 --at x=0 --at target=0", "'1e' is not a number");
    at_error("mv.dx --emit=c --at W=1", "--at shows values in the learning views");
    ck_assert_int_eq(tu_write(tu_path("big.dx"),
                              "fn big(x) {\n    h = x\n    for t in 0..3000000 {\n        h = sin(h) * 0.5 + x\n"
                              "    }\n    return h\n}\n",
                              (size_t)-1),
                     0);
    at_error("big.dx --at x=1", "dxc: error: --at: big computes more values than dxc records (8388608)");
    at_error("mv.dx --at W=@nothere.txt --at v=[1,2,3]", "dxc: error: --at W=@nothere.txt: cannot read 'nothere.txt'");
    ck_assert_int_eq(tu_write(tu_path("w.txt"), "[1, 2, 3,\n 4, 5, 6]\n", (size_t)-1), 0);
    char *fromfile = cr_dxc_ok("mv.dx --at W=@w.txt --at v=[1,0,0]");
    ck_assert_msg(strstr(fromfile, ") = 5\n"), "%s", fromfile);
    free(fromfile);
    /* --help names the views and --at */
    char *help = cr_dxc_ok("--help");
    ck_assert_msg(strstr(help, "--emit=json") && strstr(help, "--emit=html") && strstr(help, "--emit=mermaid") &&
                      strstr(help, "--at NAME=VALUE"),
                  "%s", help);
    free(help);
    /* nested brackets only group */
    char *out = cr_dxc_ok("mv.dx --at W=[[1,2,3],[4,5,6]] --at v=[1,1,1]");
    ck_assert_msg(strstr(out, ") = 21\n") && strstr(out, "v is data: no gradient"), "%s", out);
    free(out);
}
END_TEST

/* ---- every model of the repository ---- */

/* The .dx files of dir (relative to the source tree), sorted. */
static int dx_files(const char *dir, char names[][64], int cap)
{
    char *path = vw_root_path(dir);
    DIR *d = opendir(path);
    free(path);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) && n < cap;) {
        size_t len = strlen(e->d_name);
        if (len > 3 && len < 60 && !strcmp(e->d_name + len - 3, ".dx"))
            snprintf(names[n++], 64, "%s", e->d_name);
    }
    if (d)
        closedir(d);
    qsort(names, (size_t)n, 64, (int (*)(const void *, const void *))strcmp);
    return n;
}

/* ir_record against f_grad, both in the interpreter, on every function
 * of text at a fixed point: the value exactly, the gradient to 1e-9. */
static long long record_vs_grad(const char *rel, const char *text)
{
    long long most = 0;
    TuLowered c;
    ck_assert_msg(tu_lower(&c, text) == 0, "%s does not compile", rel);
    for (int i = 0; i < c.prog.units.n; i++) {
        Unit *u = &c.prog.units.p[i];
        ad_unit(u);
        const Fn *f = u->primal, *g = u->grad;
        if (f->out.p[0].ty.rank)
            continue;
        double **in = calloc((size_t)f->in.n + 1, sizeof *in);
        long long all = 0;
        for (int k = 0; k < f->in.n; k++)
            all += ty_size(f->in.p[k].ty);
        most = all > most ? all : most;
        for (int k = 0; k < f->in.n; k++) {
            long long n = ty_size(f->in.p[k].ty);
            in[k] = calloc((size_t)n + 1, sizeof(double));
            for (long long j = 0; j < n; j++)
                in[k][j] = 0.5 + 0.4 * sin(1.7 * (double)j + 0.3 * k + 0.2);
        }
        double **out = calloc((size_t)g->out.n + 1, sizeof *out);
        for (int k = 0; k < g->out.n; k++)
            out[k] = calloc((size_t)ty_size(g->out.p[k].ty) + 1, sizeof(double));
        ir_interp(g, (const double *const *)in, out);
        IrRecord *rec = ir_record(c.a, f, (const double *const *)in, 1);
        if (strstr(rel, "spring_long.dx")) { /* a million steps: over the limit, by design */
            ck_assert_msg(rec->too_big, "%s: recorded", rel);
            for (int k = 0; k < f->in.n; k++)
                free(in[k]);
            for (int k = 0; k < g->out.n; k++)
                free(out[k]);
            free(in);
            free(out);
            continue;
        }
        ck_assert_msg(!rec->too_big, "%s: too big to record", rel);
        ck_assert_msg(rec->out[0][0] == out[0][0] || (isnan(rec->out[0][0]) && isnan(out[0][0])), "%s: %s: recorded %.17g, f_grad %.17g", rel, f->name,
                      rec->out[0][0], out[0][0]);
        ck_assert_msg(isfinite(out[0][0]), "%s: %s is not finite at the test's point", rel, f->name);
        for (int k = 1; k < g->out.n; k++) {
            const Output *o = &g->out.p[k];
            for (long long j = 0; j < ty_size(o->ty); j++) {
                double a = rec->grad[o->of][j], b = out[k][j];
                ck_assert_msg(fabs(a - b) <= 1e-9 * (fabs(a) + fabs(b)) + 1e-13, "%s: %s: d/d%s[%lld]: recorded %.17g, f_grad %.17g",
                              rel, f->name, f->in.p[o->of].name, j, a, b);
            }
        }
        for (int k = 0; k < g->out.n; k++)
            free(out[k]);
        for (int k = 0; k < f->in.n; k++)
            free(in[k]);
        free(out);
        free(in);
    }
    arena_free(c.a);
    return most;
}

/* For each model in dir: ir_record against f_grad (record_vs_grad
 * returns the most inputs of its functions); with fd and at most 2000
 * inputs (central differences take two runs per input), also every check of the differential tester (dc_check: central
 * differences, the other modes, ir_record again at its own point); valid
 * JSON from dxc. */
static void models_in(const char *dir, int fd)
{
    char names[64][64];
    int n = dx_files(dir, names, 64);
    ck_assert_int_gt(n, 0);
    for (int i = 0; i < n; i++) {
        char *rel = tu_printf("%s/%s", dir, names[i]);
        char *path = vw_root_path(rel);
        char *text = tu_read(path, NULL);
        ck_assert_msg(text, "%s", path);
        if (record_vs_grad(rel, text) <= 2000 && fd) {
            DcOpts o = {0};
            o.seed = 11 + (uint64_t)i;
            DcResult r = dc_check(text, &o);
            /* "nonfinite": its random point left the model's domain */
            ck_assert_msg(r.status == DC_OK || !strcmp(r.what, "nonfinite"), "%s: %s: %s", rel, r.what, r.msg);
        }
        char *cmd = tu_printf("'%s' --emit=json", path);
        char *out = cr_dxc_ok(cmd);
        ck_assert_msg(json_valid(out), "%s: invalid JSON", rel);
        free(out);
        free(cmd);
        free(text);
        free(path);
        free(rel);
    }
}

START_TEST(test_models_record)
{
    models_in("examples", 1);
    models_in("tests/models", 1);
    models_in("bench", 1);
}
END_TEST

Suite *suite_views(void);
Suite *suite_views(void)
{
    Suite *s = suite_create("views");
    TCase *tc = tcase_create("views");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_json_parser);
    tcase_add_test(tc, test_at_square);
    tcase_add_test(tc, test_at_graph_json);
    tcase_add_test(tc, test_at_neuron);
    tcase_add_test(tc, test_at_loop);
    tcase_add_test(tc, test_at_versions);
    tcase_add_test(tc, test_at_nonfinite_json);
    tcase_add_test(tc, test_at_errors);
    tcase_add_test(tc, test_models_record);
    suite_add_tcase(s, tc);
    return s;
}
