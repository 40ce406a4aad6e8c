/*
 * test_graphs.c - dxc --emit=dot and --emit=mermaid: the forward and
 * backward graph in one picture.  The seed examples at their points
 * (exact nodes, derivative labels and values, adjoint nodes and arrows),
 * a loop drawn once as a cluster with its carried values, nested
 * clusters, and labels that would break either notation unescaped.
 * Every picture is also rendered by the real tools: Graphviz's dot
 * (dot -Tsvg) and the Mermaid library (installed by .ci/run with npm)
 * in headless Chromium; the SVGs must hold the labels.  Without the
 * tools a rendering is skipped, saying why on stderr; the checks on the
 * text still run.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../codegen/view.h"
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

/* The picture of dxc FILE (under the source tree, or absolute) with the
 * options. */
static char *picture(const char *file, const char *opts)
{
    char args[1024];
    if (file[0] == '/')
        snprintf(args, sizeof args, "'%s' %s", file, opts);
    else
        snprintf(args, sizeof args, "'%s/%s' %s", tu_root(), file, opts);
    return cr_dxc_ok(args);
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void has(const char *text, const char *want)
{
    ck_assert_msg(strstr(text, want), "no\n%s\nin:\n%.3000s", want, text);
}

/* The brace-balanced block of a DOT text that opens at `open` (quoted
 * strings skipped), malloc'ed. */
static char *dot_block(const char *text, const char *open)
{
    const char *s = strstr(text, open), *p;
    ck_assert_msg(s != NULL, "no %s in:\n%s", open, text);
    int depth = 0;
    for (p = s; *p; p++) {
        if (*p == '"') {
            for (p++; *p && *p != '"'; p++)
                p += *p == '\\' && p[1];
        } else if (*p == '{') {
            depth++;
        } else if (*p == '}' && --depth == 0) {
            break;
        }
    }
    ck_assert_msg(*p == '}', "unbalanced braces after %s", open);
    return strndup(s, (size_t)(p - s + 1));
}

/* The lines of a Mermaid text from `open` to its subgraph's "end". */
static char *mm_block(const char *text, const char *open)
{
    const char *s = strstr(text, open), *p;
    ck_assert_msg(s != NULL, "no %s in:\n%s", open, text);
    int depth = 0;
    for (p = s; *p; p = strchr(p, '\n') + 1) {
        const char *w = p + strspn(p, " ");
        depth += !strncmp(w, "subgraph ", 9);
        if (!strncmp(w, "end\n", 4) && --depth == 0)
            break;
        if (!strchr(p, '\n'))
            ck_abort_msg("no end after %s", open);
    }
    return strndup(s, (size_t)(p - s));
}

/* ---------------- rendering ---------------- */

/* dot -Tsvg of text (as TAG.gv): the SVG (malloc'ed), or NULL when
 * Graphviz is not installed. */
static char *dot_svg(const char *tag, const char *text)
{
    if (tu_run("command -v dot", NULL, NULL) != 0) {
        fprintf(stderr, "test_graphs %s: Graphviz's dot is not installed; dot -Tsvg SKIPPED "
                        "(.ci/run installs the graphviz package)\n", tag);
        return NULL;
    }
    char gv[256], svg[256], cmd[1024];
    snprintf(gv, sizeof gv, "%s", tu_path(tag));
    strcat(gv, ".gv");
    snprintf(svg, sizeof svg, "%s.svg", gv);
    ck_assert_int_eq(tu_write(gv, text, (size_t)-1), 0);
    char *err = NULL;
    snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' -o '%s'", gv, svg);
    ck_assert_msg(tu_run(cmd, NULL, &err) == 0, "%s: %s", cmd, err);
    ck_assert_msg(!err || !*err, "dot warned: %s\non:\n%.2000s", err, text);
    free(err);
    char *s = tu_read(svg, NULL);
    ck_assert_msg(s && strstr(s, "<svg"), "dot made no SVG");
    return s;
}

/* The Mermaid library: $DX_MERMAID_JS, else where .ci/run's npm install
 * puts it; NULL (and why, on stderr) when it or Chromium is missing. */
static const char *mermaid_js(const char *tag)
{
    static char path[4096];
    const char *env = getenv("DX_MERMAID_JS");
    char want[2048];
    if (env && *env)
        snprintf(want, sizeof want, "%s", env);
    else
        snprintf(want, sizeof want, "%s/build/npm/node_modules/mermaid/dist/mermaid.min.js", tu_root());
    const char *why = NULL;
    char cwd[1024] = "";
    if (want[0] != '/' && !getcwd(cwd, sizeof cwd))
        cwd[0] = 0;
    snprintf(path, sizeof path, "%s%s%s", cwd, cwd[0] ? "/" : "", want);
    if (access(path, R_OK) != 0)
        why = "the npm package mermaid is not installed (.ci/run installs it with npm install "
              "--prefix build/npm; or set DX_MERMAID_JS to a mermaid.min.js)";
    else if (tu_run("command -v chromium", NULL, NULL) != 0)
        why = "chromium is not installed (.ci/run installs it)";
    if (why) {
        fprintf(stderr, "test_graphs %s: Mermaid rendering SKIPPED: %s\n", tag, why);
        return NULL;
    }
    return path;
}

/* The page that renders a Mermaid text: the text (HTML-escaped) in a
 * <pre>; a script that replaces the body with the SVG mermaid.render
 * makes (in <div class="rendered">) or with its error (in <div
 * class="failed">). */
static void page(const char *path, const char *js, const char *text)
{
    TuBuf b = {0};
    tu_bprintf(&b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
                   "<script src=\"file://%s\"></script></head><body>\n<pre id=\"src\">", js);
    for (const char *c = text; *c; c++)
        tu_bprintf(&b, "%s", *c == '<' ? "&lt;" : *c == '>' ? "&gt;" : *c == '&' ? "&amp;"
                             : (char[2]){*c, 0});
    tu_bprintf(&b, "%s",
               "</pre>\n<script>\n"
               "function show(cls, html, text) {\n"
               "  var d = document.createElement('div');\n"
               "  d.className = cls;\n"
               "  if (html) d.innerHTML = html; else d.textContent = text;\n"
               "  document.body.innerHTML = '';\n"
               "  document.body.appendChild(d);\n"
               "}\n"
               "if (typeof mermaid === 'undefined') {\n"
               "  show('failed', null, 'the library did not load');\n"
               "} else {\n"
               "  mermaid.initialize({startOnLoad: false});\n"
               "  mermaid.render('picture', document.getElementById('src').textContent).then(\n"
               "    function (r) { show('rendered', r.svg); },\n"
               "    function (e) { show('failed', null, String(e && e.message ? e.message : e)); });\n"
               "}\n"
               "</script></body></html>\n");
    ck_assert_int_eq(tu_write(path, b.s, b.n), 0);
    free(b.s);
}

/* text rendered by Mermaid in headless Chromium: the page's DOM holding
 * the SVG (malloc'ed); NULL when skipped.  A parse error fails. */
static char *mermaid_svg(const char *tag, const char *text)
{
    const char *js = mermaid_js(tag);
    if (!js)
        return NULL;
    char html[512], profile[512], cmd[2048];
    snprintf(html, sizeof html, "%s.html", tu_path(tag));
    snprintf(profile, sizeof profile, "%s", tu_path("chromium-profile"));
    page(html, js, text);
    snprintf(cmd, sizeof cmd,
             "timeout 120 chromium --headless --no-sandbox --disable-gpu --allow-file-access-from-files "
             "--user-data-dir='%s' --virtual-time-budget=10000 --dump-dom 'file://%s'",
             profile, html);
    char *dom = NULL, *err = NULL;
    int rc = tu_run(cmd, &dom, &err);
    ck_assert_msg(rc == 0 && dom, "%s: exit %d: %s", cmd, rc, err);
    ck_assert_msg(!strstr(dom, "class=\"failed\""), "Mermaid refused %s: %.2000s\non:\n%.2000s", tag, dom, text);
    ck_assert_msg(strstr(dom, "class=\"rendered\"") && strstr(dom, "<svg"),
                  "Mermaid rendered nothing for %s: %.2000s", tag, dom);
    free(err);
    return dom;
}

/* Both notations of dxc FILE OPTS, rendered; each holds every label of
 * `labels` (NULL-terminated) in its SVG. */
static void renders(const char *tag, const char *file, const char *opts, const char *const *labels)
{
    char o[1024];
    snprintf(o, sizeof o, "%s --emit=dot", opts);
    char *gv = picture(file, o), *svg = dot_svg(tag, gv);
    for (int i = 0; svg && labels[i]; i++)
        ck_assert_msg(strstr(svg, labels[i]), "%s: dot's SVG lacks '%s':\n%.3000s", tag, labels[i], svg);
    free(svg);
    free(gv);
    snprintf(o, sizeof o, "%s --emit=mermaid", opts);
    char *mm = picture(file, o), *dom = mermaid_svg(tag, mm);
    for (int i = 0; dom && labels[i]; i++)
        ck_assert_msg(strstr(dom, labels[i]), "%s: Mermaid's SVG lacks '%s':\n%.3000s", tag, labels[i], dom);
    free(dom);
    free(mm);
}

/* ---------------- the seed examples ---------------- */

/* y = x^2 at x = 3: the node of x and of the result, the derivative 2*x
 * and its value 6 on the forward arrow, x_bar = 6 and the adjoint arrow
 * carrying square_bar * 2*x = 6. */
START_TEST(test_square)
{
    char *t = picture("examples/square.dx", "--at x=3 --emit=dot");
    has(t, "digraph dx {\n  rankdir=LR;\n");
    has(t, "  subgraph \"cluster_f0_fn\" {\n    label=\"square(x = 3) = 9\";\n");
    has(t, "    \"f0_n0\" [label=\"x\\nparameter\\n= 3\", shape=box, style=filled, fillcolor=lightblue];\n");
    has(t, "    \"f0_n1\" [label=\"square = x^2\\npowi, the result\\n= 9\", shape=box, peripheries=2, "
           "style=filled, fillcolor=palegreen];\n");
    has(t, "    \"f0_b0\" [label=\"x_bar = dsquare/dx\\n= 6\", shape=box, style=\"dashed,rounded,filled\"");
    has(t, "    \"f0_b1\" [label=\"square_bar\\n= 1\"");
    has(t, "  \"f0_n0\" -> \"f0_n1\" [label=\"dsquare/dx = 2*x = 6\"];\n");
    /* drawn x_bar -> square_bar with its arrowhead at x_bar */
    has(t, "  \"f0_b0\" -> \"f0_b1\" [label=\"square_bar * 2*x = 6\", dir=back, style=dashed, "
           "color=firebrick");
    free(t);
    t = picture("examples/square.dx", "--at x=3 --emit=mermaid");
    has(t, "flowchart LR\n  subgraph f0_fn[\"square(x = 3) = 9\"]\n"
           "    f0_n0[\"x<br>parameter<br>= 3\"]:::param\n"
           "    f0_n1[[\"square = x^2<br>powi, the result<br>= 9\"]]:::result\n"
           "    f0_b0[\"x_bar = dsquare/dx<br>= 6\"]:::adj\n"
           "    f0_b1[\"square_bar<br>= 1\"]:::adj\n  end\n"
           "  f0_n0 -->|\"dsquare/dx = 2*x = 6\"| f0_n1\n"
           "  f0_b1 -.->|\"square_bar * 2*x = 6\"| f0_b0\n");
    has(t, "  classDef adj ");
    has(t, "  linkStyle 1 stroke:#b22222");
    free(t);
    /* without a point: the derivative alone, no values */
    t = picture("examples/square.dx", "--emit=dot");
    has(t, "  \"f0_n0\" -> \"f0_n1\" [label=\"dsquare/dx = 2*x\"];\n");
    has(t, "    \"f0_b0\" [label=\"x_bar = dsquare/dx\", ");
    ck_assert_msg(!strstr(t, "= 6") && !strstr(t, "= 3"), "%s", t);
    free(t);
    const char *labels[] = {"dsquare/dx = 2*x = 6", "square_bar * 2*x = 6", "x_bar = dsquare/dx",
                            "square = x^2", "square(x = 3) = 9", NULL};
    renders("square", "examples/square.dx", "--at x=3", labels);
}
END_TEST

/* (a + b) * c at a = 2, b = 3, c = 4: every local derivative with its
 * value, every adjoint (4, 4, 5) and the arrows between them. */
START_TEST(test_graph)
{
    char *t = picture("examples/graph.dx", "--at a=2 --at b=3 --at c=4 --emit=dot");
    has(t, "label=\"f(a = 2, b = 3, c = 4) = 20\"");
    has(t, "    \"f0_n3\" [label=\"s = a + b\\nadd\\n= 5\", shape=ellipse];\n");
    has(t, "  \"f0_n0\" -> \"f0_n3\" [label=\"ds/da = 1\"];\n");
    has(t, "  \"f0_n3\" -> \"f0_n4\" [label=\"df/ds = c = 4\"];\n");
    has(t, "  \"f0_n2\" -> \"f0_n4\" [label=\"df/dc = s = 5\"];\n");
    has(t, "  \"f0_b3\" -> \"f0_b4\" [label=\"f_bar * c = 4\", dir=back");
    has(t, "  \"f0_b2\" -> \"f0_b4\" [label=\"f_bar * s = 5\", dir=back");
    has(t, "  \"f0_b0\" -> \"f0_b3\" [label=\"s_bar = 4\", dir=back");
    has(t, "[label=\"a_bar = df/da\\n= 4\"");
    has(t, "[label=\"b_bar = df/db\\n= 4\"");
    has(t, "[label=\"c_bar = df/dc\\n= 5\"");
    ck_assert_int_eq(count(t, "dir=back"), 4);
    free(t);
    const char *labels[] = {"s = a + b", "df/ds = c = 4", "f_bar * s = 5", "c_bar = df/dc", NULL};
    renders("graph", "examples/graph.dx", "--at a=2 --at b=3 --at c=4", labels);
}
END_TEST

/* The neuron's loss: data parameters drawn apart and without adjoints,
 * relu's derivative (a comparison: '>' escaped for Mermaid), the
 * gradient on the parameters' adjoints. */
START_TEST(test_neuron)
{
    const char *at = "--only=loss --at w=0.5 --at b=0.1 --at x=2 --at target=1";
    char opts[256];
    snprintf(opts, sizeof opts, "%s --emit=dot", at);
    char *t = picture("examples/neuron.dx", opts);
    has(t, "    \"f0_n2\" [label=\"x\\ndata\\n= 2\", shape=box, style=\"filled,dotted\", fillcolor=gray92];\n");
    has(t, "[label=\"w_bar = dloss/dw\\n= 0.2\"");
    has(t, "[label=\"b_bar = dloss/db\\n= 0.1\"");
    has(t, "[label=\"y = relu(x * w + b)\\nrelu\\n= 1.1\"");
    has(t, "[label=\"dy/dt5 = ((x * w + b) > 0 ? 1 : 0) = 1\"]");
    has(t, "[label=\"y_bar * ((x * w + b) > 0 ? 1 : 0) = 0.1\", dir=back");
    ck_assert_msg(!strstr(t, "\"f0_b2\"") && !strstr(t, "x_bar"), "data x has an adjoint: %s", t);
    free(t);
    snprintf(opts, sizeof opts, "%s --emit=mermaid", at);
    t = picture("examples/neuron.dx", opts);
    has(t, "    f0_n2[/\"x<br>data<br>= 2\"/]:::data\n");
    has(t, "|\"dy/dt5 = ((x * w + b) #62; 0 ? 1 : 0) = 1\"|");
    has(t, "  classDef data ");
    free(t);
    const char *labels[] = {"y = relu(x * w + b)", "w_bar = dloss/dw", "err = y ", NULL};
    renders("neuron", "examples/neuron.dx", at, labels);
}
END_TEST

/* Every function of a file without --at: one box each. */
START_TEST(test_functions)
{
    char *t = picture("examples/neuron.dx", "--emit=dot");
    has(t, "subgraph \"cluster_f0_fn\" {\n    label=\"neuron(w, b, x)\";\n");
    has(t, "subgraph \"cluster_f1_fn\" {\n    label=\"loss(w, b, x, target)\";\n");
    free(t);
    t = picture("examples/neuron.dx", "--emit=mermaid");
    has(t, "  subgraph f0_fn[\"neuron(w, b, x)\"]\n");
    has(t, "  subgraph f1_fn[\"loss(w, b, x, target)\"]\n");
    ck_assert_int_eq(count(t, "flowchart LR\n"), 1);
    free(t);
}
END_TEST

/* A recurrent cell: h carried through 5 steps. */
static const char rnn_dx[] =
    "fn rnn(w, u, data x[5]) {\n"
    "    h = 0\n"
    "    for t in 0..5 {\n"
    "        h = tanh(w * h + u * x[t])\n"
    "    }\n"
    "    return h ^ 2\n"
    "}\n";

/* The loop once, as a cluster: the carried h with its "init" and "next"
 * arrows (and their adjoints), the body's values run by run. */
START_TEST(test_loop)
{
    char dx[512];
    snprintf(dx, sizeof dx, "%s", tu_path("rnn.dx"));
    ck_assert_int_eq(tu_write(dx, rnn_dx, (size_t)-1), 0);
    const char *at = "--at w=0.5 --at u=1 --at 'x=[1, 2, 3, 4, 5]'";
    char opts[256];
    snprintf(opts, sizeof opts, "%s --emit=dot", at);
    char *t = picture(dx, opts), *body = dot_block(t, "subgraph \"cluster_f0_c0\"");
    has(body, "    label=\"for t in 0..5\";\n");
    has(body, "[label=\"h[t]\\ncarried: 0, then h of the step before\\n"
              "5 runs: 0, 0.761594, 0.983041, 0.998147, ...");
    has(body, "[label=\"h[t+1] = tanh(w * h[t] + u * x[t])\\ntanh\\n5 runs: 0.761594, ");
    has(body, "[label=\"h[t]_bar\\n5 runs: ");
    ck_assert_int_eq(count(t, "label=\"h[t+1] = tanh"), 1); /* never unrolled */
    has(t, "  \"f0_n3\" -> \"f0_n4\" [label=\"init\"];\n");
    has(t, "  \"f0_n9\" -> \"f0_n4\" [label=\"next\", constraint=false];\n");
    has(t, "  \"f0_b9\" -> \"f0_b4\" [label=\"next: h[t]_bar\", dir=back");
    has(t, "[label=\"h[t+1]_bar * (1 - h[t+1]^2)\", dir=back");
    has(t, "  \"f0_n8\" -> \"f0_n9\" [label=\"dh[t+1]/dt8 = 1 - h[t+1]^2\"];\n");
    free(body);
    free(t);
    snprintf(opts, sizeof opts, "%s --emit=mermaid", at);
    t = picture(dx, opts);
    body = mm_block(t, "  subgraph f0_fn[");
    has(body, "\n  subgraph f0_c0[\"for t in 0..5\"]\n");
    has(body, "    f0_n4[\\\"h[t]<br>carried: 0, then h of the step before<br>5 runs: ");
    has(t, "  f0_n3 -->|\"init\"| f0_n4\n");
    has(t, "  f0_n9 -->|\"next\"| f0_n4\n");
    has(t, "  f0_b4 -.->|\"next: h[t]_bar\"| f0_b9\n");
    free(body);
    free(t);
    const char *labels[] = {"for t in 0..5", "carried: 0, then h", "init", "next", "dh[t+1]/dt8 = 1", NULL};
    renders("loop", dx, at, labels);
}
END_TEST

/* tests/models/rnn.dx: a GEN and SUMs (the matrix products) inside the
 * for, drawn nested in both notations. */
START_TEST(test_nested)
{
    char *t = picture("tests/models/rnn.dx", "--emit=dot");
    char *loop = dot_block(t, "subgraph \"cluster_f0_c0\""), *gen = dot_block(loop, "subgraph \"cluster_f0_c1\"");
    has(loop, "label=\"for t in 0..20\"");
    has(gen, "label=\"each j in 0..4\"");
    has(gen, "subgraph \"cluster_f0_c2\" {\n    label=\"sum k in 0..4\"");
    ck_assert_int_eq(count(t, "{"), count(t, "}"));
    free(gen);
    free(loop);
    free(t);
    t = picture("tests/models/rnn.dx", "--emit=mermaid");
    loop = mm_block(t, "subgraph f0_c0[");
    has(loop, "subgraph f0_c1[\"each j in 0..4\"]");
    has(loop, "subgraph f0_c2[\"sum k in 0..4\"]");
    ck_assert_int_eq(count(t, "subgraph "), count(t, "  end\n"));
    free(loop);
    free(t);
    const char *labels[] = {"for t in 0..20", "each j in 0..4", "sum k in 0..4", "loss_bar", NULL};
    renders("nested", "tests/models/rnn.dx", "", labels);
}
END_TEST

/* A branch: its two sides as clusters, their conditions escaped. */
START_TEST(test_branch)
{
    char dx[512];
    snprintf(dx, sizeof dx, "%s", tu_path("sel.dx"));
    ck_assert_int_eq(tu_write(dx, "fn sel(x, c) {\n    if c > 0 { y = x * 2 } else { y = x + 1 }\n"
                                  "    return y\n}\n", (size_t)-1), 0);
    char *t = picture(dx, "--at x=3 --at c=1 --emit=dot");
    has(t, "    label=\"then (c > 0)\";\n    style=dashed;");
    has(t, "    label=\"else (not c > 0)\";\n    style=dashed;");
    has(t, "[label=\"then\"]");
    has(t, "(not computed)");  /* the side not taken */
    free(t);
    t = picture(dx, "--at x=3 --at c=1 --emit=mermaid");
    has(t, "  subgraph f0_c0[\"then (c #62; 0)\"]\n");
    free(t);
    const char *labels[] = {"then (c &gt; 0)", "else (not c &gt; 0)", "(not computed)", NULL};
    renders("branch", dx, "--at x=3 --at c=1", labels);
}
END_TEST

/* A name and labels holding what each notation gives a meaning to. */
#define NASTY "a\"b\\c|d<e>#f;g&h`i$j[k]{l}(m) end"

/* A made-up view of two nodes whose names and labels are NASTY, in a
 * cluster so labelled: each notation must keep its syntax, and render. */
START_TEST(test_escapes)
{
    Arena *A = arena_new();
    Fn f = {0};
    f.name = f.src_name = NASTY;
    VNode nodes[2] = {
        {.op = "param", .name = NASTY, .label = NASTY, .expr = NASTY, .var = NASTY, .cluster = -1,
         .param = 0, .active = 1},
        {.op = "sin", .label = "sin(" NASTY ")", .expr = "sin(" NASTY ")", .var = "y", .cluster = 0,
         .param = -1, .active = 1},
    };
    VEdge edges[1] = {{.from = 0, .to = 1, .d = "cos(" NASTY ")"}};
    VCluster clusters[1] = {{.kind = "for", .label = "for " NASTY, .parent = -1, .head = -1}};
    VParam params[1] = {{.name = NASTY, .node = 0}};
    View v = {.f = &f, .nodes = nodes, .nnodes = 2, .edges = edges, .nedges = 1, .clusters = clusters,
              .nclusters = 1, .params = params, .nparams = 1, .result = 1, .scalar = 1};
    View *vs[1] = {&v};
    char gv[512], mmd[512];
    snprintf(gv, sizeof gv, "%s", tu_path("nasty.gv"));
    snprintf(mmd, sizeof mmd, "%s", tu_path("nasty.mmd"));
    FILE *out = fopen(gv, "w");
    cg_dot(A, vs, 1, out);
    fclose(out);
    out = fopen(mmd, "w");
    cg_mermaid(A, vs, 1, out);
    fclose(out);
    arena_free(A);
    char *t = tu_read(gv, NULL);
    has(t, "[label=\"dy/da\\\"b\\\\c|d<e>#f;g&h`i$j[k]{l}(m) end = cos(a\\\"b\\\\c");
    free(dot_svg("nasty", t));
    free(t);
    t = tu_read(mmd, NULL);
    has(t, "|\"dy/da#quot;b\\c#124;d#60;e#62;#35;f#59;g#38;h#96;i#36;j[k]{l}(m) end = cos(");
    char *dom = mermaid_svg("nasty", t);
    if (dom)
        has(dom, "b\\c|d&lt;e&gt;#f;g&amp;h`i$j[k]{l}(m) end");
    free(dom);
    free(t);
}
END_TEST

Suite *suite_graphs(void);
Suite *suite_graphs(void)
{
    Suite *s = suite_create("graphs");
    TCase *tc = tcase_create("graphs");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_square);
    tcase_add_test(tc, test_graph);
    tcase_add_test(tc, test_neuron);
    tcase_add_test(tc, test_functions);
    tcase_add_test(tc, test_loop);
    tcase_add_test(tc, test_nested);
    tcase_add_test(tc, test_branch);
    tcase_add_test(tc, test_escapes);
    suite_add_tcase(s, tc);
    return s;
}
