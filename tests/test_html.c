/*
 * test_html.c - dxc --emit=html: the pages of the seed examples, of a
 * loop and of the 784-128-10 MLP.  Static checks first (one
 * self-contained file: no address, no other file; every text escaped;
 * the same bytes twice), then, in headless Chromium, the page's own
 * self-test (its address ending in #selftest): the stepper walked to the
 * end and back, the adjoints it showed, what highlighting each source
 * line selects, the page's width at 375 px, and the time until the
 * stepper is ready.  Screenshots of the neuron page (1280x900 and
 * 375x812) go to build/html/.  Without chromium the browser checks are
 * skipped, and say so on stderr.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cgrun.h"
#include "testutil.h"

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* The page dxc ARGS --emit=html writes to NAME.html (in the temporary
 * directory), malloc'ed; *len its size. */
static char *page(const char *args, const char *name, size_t *len)
{
    char cmd[4096], file[256], *err = NULL;
    snprintf(file, sizeof file, "%s.html", name);
    snprintf(cmd, sizeof cmd, "%s --emit=html -o %s", args, file);
    int st = cr_dxc(cmd, NULL, &err);
    ck_assert_msg(st == 0, "dxc %s: %s", cmd, err ? err : "");
    free(err);
    char *s = tu_read(tu_path(file), len);
    ck_assert_msg(s, "%s not written", file);
    return s;
}

static int has_i(const char *s, const char *what)
{
    size_t n = strlen(what);
    for (; *s; s++)
        if (!strncasecmp(s, what, n))
            return 1;
    return 0;
}

/* Nothing the page would fetch: no address, no file, no external style. */
static void self_contained(const char *name, const char *s)
{
    const char *bad[] = {"http:", "https:", "src=", "<link", "url(http", "@import", "<iframe", "<img"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!has_i(s, bad[i]), "%s: the page holds '%s'", name, bad[i]);
    ck_assert_msg(strstr(s, "<svg class=\"graph"), "%s: no inline graph", name);
    ck_assert_msg(strstr(s, "<script>") && strstr(s, "<style>"), "%s: no inline script or style", name);
    ck_assert_msg(strstr(s, "</html>\n"), "%s: the page is cut short", name);
}

/* Chromium's path, or NULL after saying on stderr that checks are skipped. */
static const char *browser(void)
{
    static const char *found;
    static int looked;
    if (!looked) {
        looked = 1;
        char *out = NULL;
        if (tu_run("command -v chromium || command -v chromium-browser", &out, NULL) == 0 && out &&
            *out) {
            out[strcspn(out, "\n")] = 0;
            found = out;
        } else
            free(out);
    }
    if (!found)
        fprintf(stderr, "test_html: chromium not found: the browser checks are SKIPPED "
                        "(.ci/run installs it)\n");
    return found;
}

/* What the page NAME.html's self-test wrote, in a window W wide
 * (virtual time unless `real`), malloc'ed; NULL without a browser. */
static char *selftest(const char *name, int w, int real)
{
    const char *b = browser();
    if (!b)
        return NULL;
    char cmd[2048], *out = NULL, *err = NULL;
    snprintf(cmd, sizeof cmd,
             "timeout 120 '%s' --headless --no-sandbox --disable-gpu %s --window-size=%d,900 "
             "--dump-dom 'file://%s/%s.html#selftest'",
             b, real ? "" : "--virtual-time-budget=5000", w, tu_tmpdir(), name);
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0 && out, "chromium on %s.html: %d\n%s", name, st, err ? err : "");
    free(err);
    char *at = strstr(out, "<pre id=\"selftest\">");
    ck_assert_msg(at, "%s.html: no self-test in the DOM:\n%.2000s", name, out);
    at += strlen("<pre id=\"selftest\">");
    char *end = strstr(at, "</pre>");
    ck_assert_msg(end && end > at, "%s.html: the self-test wrote nothing", name);
    char *r = strndup(at, (size_t)(end - at));
    free(out);
    return r;
}

static void says(const char *name, const char *r, const char *want)
{
    ck_assert_msg(strstr(r, want), "%s.html: the self-test did not say\n  %s\nit said:\n%s", name, want, r);
}

/* The page fits the window: no horizontal scroll ("width SCROLL INNER"). */
static void fits(const char *name, const char *r)
{
    const char *w = strstr(r, "\nwidth ");
    int scroll = 0, inner = 0;
    ck_assert_msg(w && sscanf(w, "\nwidth %d %d", &scroll, &inner) == 2, "%s: no width in\n%s", name, r);
    ck_assert_msg(inner > 0 && scroll <= inner, "%s.html scrolls sideways: %d px in %d", name, scroll, inner);
}

START_TEST(test_html_square)
{
    char args[1024];
    snprintf(args, sizeof args, "'%s/examples/square.dx' --at x=3", tu_root());
    size_t n1, n2;
    char *s = page(args, "square", &n1), *again = page(args, "again", &n2);
    self_contained("square", s);
    ck_assert_msg(n1 == n2 && !memcmp(s, again, n1), "two pages of square differ");
    ck_assert_msg(strstr(s, "<td class=\"gv\" data-param=\"x\">6</td><td>6</td>"), "square: gradient table");
    ck_assert_msg(strstr(s, "aria-live=\"polite\"") && strstr(s, "aria-label=\"Next step\""), "square: a11y");
    char *r = selftest("square", 1024, 0);
    if (r) {
        says("square", r, "at end true");
        says("square", r, "adjoint x = 6\n");
        says("square", r, "live backward, x_bar: | line 2: x_bar += square_bar * 2*x = 1 * 6 | x_bar = 6");
        says("square", r, "back at start true");
        says("square", r, "line 2: nodes x, x^2, square_bar, x_bar; forward ; adjoint ");
        says("square", r, "*x_bar = 2.0 * x;");
        says("square", r, "pinned after true");
        fits("square", r);
    }
    free(r);
    free(s);
    free(again);
}
END_TEST

START_TEST(test_html_graph)
{
    char args[1024];
    snprintf(args, sizeof args, "'%s/examples/graph.dx' --at a=2 --at b=3 --at c=4", tu_root());
    char *s = page(args, "graph", NULL);
    self_contained("graph", s);
    ck_assert_msg(strstr(s, "data-param=\"c\">5</td><td>5</td>"), "graph: gradient table");
    char *r = selftest("graph", 1024, 0);
    if (r) {
        says("graph", r, "steps 10\n");
        says("graph", r, "adjoint a = 4\nadjoint b = 4\nadjoint c = 5\n");
        says("graph", r, "line 4: nodes s, s_bar; forward /* line 4: s = a + b */ double s = a + b;; adjoint "
                         "/* line 4: s = a + b */ double s = a + b; /* line 4: s = a + b */ *c_bar = s;");
        says("graph", r, "line 5: nodes s * c, f_bar;");
        says("graph", r, "*a_bar = c; *b_bar = c;");
    }
    free(r);
    free(s);
}
END_TEST

/* A file's bytes start like a PNG's and are more than a header. */
static void png(const char *path)
{
    size_t n = 0;
    char *s = tu_read(path, &n);
    ck_assert_msg(s && n > 1000 && !memcmp(s, "\x89PNG\r\n\x1a\n", 8), "%s is not a PNG", path);
    free(s);
}

START_TEST(test_html_neuron)
{
    char args[1024];
    snprintf(args, sizeof args,
             "'%s/examples/neuron.dx' --only=loss --at w=0.5 --at b=0.1 --at x=2 --at target=1", tu_root());
    char *s = page(args, "neuron", NULL);
    self_contained("neuron", s);
    ck_assert_msg(strstr(s, "<th scope=\"row\">x</th><td colspan=\"3\">data: no gradient"), "neuron: data");
    char *r = selftest("neuron", 1280, 0);
    if (r) {
        says("neuron", r, "adjoint w = 0.2\nadjoint b = 0.1\n");
        says("neuron", r, "line 2: nodes x * w, x * w + b, y, y_bar");
        says("neuron", r, "line 6: nodes err, err_bar; forward /* line 6: err = y - target */");
        free(r);
        char cmd0[2048], *dom = NULL;
        snprintf(cmd0, sizeof cmd0,
                 "timeout 120 '%s' --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 "
                 "--dump-dom 'file://%s/neuron.html#step=15'",
                 browser(), tu_tmpdir());
        ck_assert_int_eq(tu_run(cmd0, &dom, NULL), 0);
        ck_assert_msg(dom && strstr(dom, "Step 15 of 18, backward pass") &&
                          strstr(dom, "t5_bar += y_bar * ((x * w + b) &gt; 0 ? 1 : 0) = 0.1 * 1"),
                      "neuron.html#step=15 does not open at step 15");
        free(dom);
        r = selftest("neuron", 375, 0); /* a phone */
        fits("neuron", r);
        char cmd[8192], dir[1024];
        snprintf(dir, sizeof dir, "%s", tu_dxc());
        *(strrchr(dir, '/') ? strrchr(dir, '/') : dir) = 0;
        snprintf(cmd, sizeof cmd,
                 "mkdir -p '%s/html' && cd '%s' && for s in 1280,900,neuron 375,812,neuron-phone; do "
                 "timeout 120 '%s' --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 "
                 "--hide-scrollbars --window-size=${s%%,*} --screenshot='%s/html/'${s##*,}.png "
                 "file://%s/neuron.html || exit 1; done",
                 dir, tu_tmpdir(), browser(), dir, tu_tmpdir());
        ck_assert_msg(tu_run(cmd, NULL, NULL) == 0, "chromium --screenshot failed");
        char shot[1100];
        snprintf(shot, sizeof shot, "%s/html/neuron.png", dir);
        png(shot);
        snprintf(shot, sizeof shot, "%s/html/neuron-phone.png", dir);
        png(shot);
    }
    free(r);
    free(s);
}
END_TEST

/* A value carried through a for loop: one box, drawn once per pass. */
static const char LOOP[] = "# A carried value: h is updated ten times.\n"
                           "fn rnn(w, x) {\n"
                           "    h = 0.0\n"
                           "    for t in 0..10 {\n"
                           "        h = tanh(w * h + x)\n"
                           "    }\n"
                           "    return h * h\n"
                           "}\n";

START_TEST(test_html_loop)
{
    ck_assert_int_eq(tu_write(tu_path("loop.dx"), LOOP, (size_t)-1), 0);
    char *s = page("loop.dx --at w=0.5 --at x=0.3", "loop", NULL);
    self_contained("loop", s);
    ck_assert_msg(strstr(s, ">for t in 0..10</text>") && strstr(s, ">for t in 0..10 (backward)</text>"),
                  "loop: the loop's boxes");
    ck_assert_msg(strstr(s, ">next</text>"), "loop: the carried value's next edge");
    /* gradient and central difference agree to 6 digits */
    ck_assert_msg(strstr(s, "data-param=\"x\">1.20020825"), "loop: dx");
    const char *x = strstr(s, "data-param=\"x\">");
    ck_assert_msg(x && strstr(x, "</td><td>1.20020825"), "loop: the central difference of x");
    char *r = selftest("loop", 1024, 0);
    if (r) {
        says("loop", r, "adjoint w = 0.600419\nadjoint x = 1.20021\n");
        says("loop", r, "line 5: nodes w * h[t], w * h[t] + x, h[t+1], h[t+1]_bar, t5_bar, t4_bar; forward /* line 5: h = "
                        "tanh(w * h + x) */ h = tanh(w * h + x);");
    }
    free(r);
    free(s);
}
END_TEST

/* Every text is escaped: a comment holding markup, a file name too. */
START_TEST(test_html_escapes)
{
    ck_assert_int_eq(tu_write(tu_path("a&b.dx"),
                              "# <script>alert(1)</script> a < b && \"c\" > 'd'\nfn f(x) = 2 * x\n",
                              (size_t)-1),
                     0);
    char *s = page("'a&b.dx'", "esc", NULL);
    self_contained("esc", s);
    ck_assert_msg(!strstr(s, "<script>alert"), "markup in the source is not escaped");
    ck_assert_msg(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt; a &lt; b &amp;&amp; &quot;c&quot; &gt; "
                            "&#39;d&#39;"),
                  "the source line is not escaped as expected");
    ck_assert_msg(strstr(s, "<title>a&amp;b.dx - dxc</title>"), "the file name is not escaped");
    /* no --at: the graph and the code, no stepper */
    ck_assert_msg(!strstr(s, "id=\"stepper\"") && strstr(s, "var S=[],"), "a stepper without --at");
    free(s);
}
END_TEST

/* Without --at, every function of the file: a graph and code each. */
START_TEST(test_html_two)
{
    char args[1024];
    snprintf(args, sizeof args, "'%s/examples/neuron.dx'", tu_root());
    char *s = page(args, "two", NULL);
    self_contained("two", s);
    ck_assert_msg(strstr(s, "id=\"g0n0\"") && strstr(s, "id=\"g1n0\"") && strstr(s, "id=\"graph1\""),
                  "two: a graph per function");
    ck_assert_msg(strstr(s, "Forward code: <code>neuron</code>") && strstr(s, "Adjoint code: <code>loss_grad</code>"),
                  "two: the code of both functions");
    char *r = selftest("two", 1024, 0);
    if (r) {
        says("two", r, "steps 0\n");
        says("two", r, "line 6: nodes err, err_bar; forward /* line 6: err = y - target */");
    }
    free(r);
    free(s);
}
END_TEST

/* Deterministic pseudo-random numbers, as text: a bracketed list. */
static void values(FILE *f, long n, double scale, unsigned *seed)
{
    fputc('[', f);
    for (long i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u;
        fprintf(f, "%s%.4g", i ? ", " : "", scale * ((double)(*seed >> 8 & 0xffff) / 32768.0 - 1));
    }
    fputc(']', f);
}

/* The 784-128-10 MLP: a page under 2 MB, ready in under 2 s. */
START_TEST(test_html_mlp)
{
    static const struct {
        const char *name;
        long n;
        double scale;
    } ps[] = {{"W1", 128 * 784, 0.05}, {"b1", 128, 0.1}, {"W2", 1280, 0.1}, {"b2", 10, 0.1}, {"x", 784, 1}};
    unsigned seed = 7;
    char args[2048];
    int at = snprintf(args, sizeof args, "'%s/bench/mlp.dx'", tu_root());
    for (size_t i = 0; i < sizeof ps / sizeof *ps; i++) {
        char file[64];
        snprintf(file, sizeof file, "%s.txt", ps[i].name);
        FILE *f = fopen(tu_path(file), "w");
        ck_assert(f);
        values(f, ps[i].n, ps[i].scale, &seed);
        fclose(f);
        at += snprintf(args + at, sizeof args - (size_t)at, " --at %s=@%s", ps[i].name, file);
    }
    snprintf(args + at, sizeof args - (size_t)at, " --at 'y=[0, 0, 1, 0, 0, 0, 0, 0, 0, 0]'");
    size_t len = 0;
    char *s = page(args, "mlp", &len);
    self_contained("mlp", s);
    ck_assert_msg(len < 2u << 20, "the MLP's page is %zu bytes", len);
    ck_assert_msg(strstr(s, "W1 has 100352 elements: the first 6 are checked."), "mlp: W1 summarised");
    ck_assert_msg(strstr(s, "<th scope=\"row\">W1[5]</th>") && !strstr(s, "W1[6]"), "mlp: 6 rows of W1");
    char *r = selftest("mlp", 1280, 1); /* real time */
    if (r) {
        says("mlp", r, "at end true");
        says("mlp", r, "adjoint W1 = [128,784] |v|=");
        const char *t = strstr(r, "ready ms ");
        double ms = t ? atof(t + 9) : -1;
        ck_assert_msg(ms > 0 && ms < 2000, "the MLP's page was ready after %g ms", ms);
    }
    free(r);
    free(s);
    char *err = NULL;
    snprintf(args, sizeof args, "--emit=html '%s/bench/mlp.dx' --at W1=@nothing.txt", tu_root());
    ck_assert_int_ne(cr_dxc(args, NULL, &err), 0);
    ck_assert_msg(err && strstr(err, "--at W1=@nothing.txt: cannot read 'nothing.txt'"), "%s", err);
    free(err);
}
END_TEST

Suite *suite_html(void);

Suite *suite_html(void)
{
    Suite *s = suite_create("html");
    TCase *tc = tcase_create("pages");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_html_square);
    tcase_add_test(tc, test_html_graph);
    tcase_add_test(tc, test_html_neuron);
    tcase_add_test(tc, test_html_loop);
    tcase_add_test(tc, test_html_escapes);
    tcase_add_test(tc, test_html_two);
    tcase_add_test(tc, test_html_mlp);
    suite_add_tcase(s, tc);
    return s;
}
