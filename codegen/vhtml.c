/*
 * vhtml.c - --emit=html: one self-contained page (no network, no other
 * file) that shows a model four ways side by side: its .dx source, its
 * computational graph (vsvg.c, laid out by vlayout.c), and the C of f
 * and f_grad that --emit=c writes.  Pointing at, clicking or focusing a
 * source line, a graph node or a statement highlights everything of
 * that source line (every such element carries data-line="N"; the C's
 * statements get theirs from the "line N:" comments before them).
 *
 * With --at the page also steps through the run: the forward pass node
 * by node with each value, then the backward pass node by node, each
 * adjoint as it accumulates ("x_bar += y_bar * d = ..."); a table of
 * the gradient beside central differences the compiler computes with
 * the IR interpreter; and the size of every adjoint on a log scale, so
 * a vanishing gradient shows.  The steps are written as data for the
 * page's script; an array is summarised (shape, first values, norm),
 * never written out, so a large model's page stays small.
 *
 * The page is the same bytes for the same input: no dates, no random
 * ids.  An address ending in "#step=N" opens at step N.  With "#selftest" in its address the script walks the stepper to
 * the end, highlights every source line in turn and writes what it saw
 * into <pre id="selftest"> (the tests read it from a headless browser).
 */
#include "vhtml.h"
#include "cgen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { FIRST = 6 };

/* ---------------- text ---------------- */

/* s as a JavaScript string literal that cannot end a <script>. */
static void jstr(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *c = (const unsigned char *)s; c && *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf(out, "\\%c", *c);
        else if (*c == '\n')
            fputs("\\n", out);
        else if (*c < 0x20 || *c == '<' || *c == '>' || *c == '&')
            fprintf(out, "\\u%04x", *c);
        else
            fputc(*c, out);
    }
    fputc('"', out);
}

/* ---------------- the source and the C ---------------- */

/* Which source lines a node or a statement names (hot[line] = 1). */
static unsigned char *hot_lines(Arena *A, View *const *vs, int n, int nlines)
{
    unsigned char *hot = arena_alloc(A, (size_t)nlines + 2);
    for (int k = 0; k < n; k++)
        for (int i = 0; i < vs[k]->nnodes; i++)
            if (vs[k]->nodes[i].line > 0 && vs[k]->nodes[i].line <= nlines)
                hot[vs[k]->nodes[i].line] = 1;
    return hot;
}

static int count_lines(const Source *src)
{
    int n = 1;
    for (size_t i = 0; i < src->len; i++)
        n += src->text[i] == '\n' && i + 1 < src->len;
    return n;
}

static void source_pane(Arena *A, const Program *p, View *const *vs, int n, FILE *out)
{
    const Source *src = p->src;
    int nl = count_lines(src);
    unsigned char *hot = hot_lines(A, vs, n, nl);
    fputs("<section class=\"pane\" aria-labelledby=\"h-src\"><h2 id=\"h-src\">Source: ", out);
    cg_html_esc(out, src->path ? src->path : "<input>");
    fputs("</h2>\n<pre class=\"code src\" tabindex=\"0\" aria-label=\"source\">", out);
    size_t i = 0;
    for (int line = 1; line <= nl; line++) {
        size_t e = i;
        while (e < src->len && src->text[e] != '\n')
            e++;
        fprintf(out, "<span class=\"ln%s\" id=\"L%d\" data-line=\"%d\"", hot[line] ? " hot" : "", line, line);
        if (hot[line])
            fprintf(out, " tabindex=\"0\" role=\"button\" aria-label=\"line %d: highlight its nodes "
                         "and statements\"",
                    line);
        fprintf(out, "><span class=\"no\" aria-hidden=\"true\">%d</span>", line);
        char *t = arena_strndup(A, src->text + i, e - i);
        for (size_t c = 0; c < e - i; c++)
            if (!t[c])
                t[c] = '\x01'; /* a NUL byte: shown as U+FFFD */
        cg_html_esc(out, t);
        fputs("</span>", out);
        i = e + 1;
    }
    fputs("</pre></section>\n", out);
}

/* The source line a C line belongs to, from the "line N:" comments:
 * a comment alone on its line sets *cur for the statements after it, a
 * blank line or another comment ends it, a trailing one names its own
 * line. */
static int c_line(const char *s, size_t len, int *cur)
{
    size_t i = 0;
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i == len)
        return *cur = 0;
    const char *m = NULL;
    for (size_t k = i; k + 8 <= len && !m; k++)
        if (!strncmp(s + k, "/* line ", 8))
            m = s + k;
    if (m == s + i)
        return *cur = atoi(m + 8);
    if (m)
        return atoi(m + 8);
    if (!strncmp(s + i, "/*", 2) || (i == 0 && s[0] == '}'))
        return *cur = 0;
    if (!strncmp(s + i, "return ", 7))
        return 0; /* the result, not the statement before it */
    return *cur;
}

/* The C function `name` of code (its comment, signature and body). */
static void c_pane(const char *title, const char *code, const char *name, FILE *out)
{
    fputs("<section class=\"pane\"><h2>", out);
    cg_html_esc(out, title);
    fputs(": <code>", out);
    cg_html_esc(out, name);
    fputs("</code></h2>\n<pre class=\"code c\" tabindex=\"0\" aria-label=\"", out);
    cg_html_esc(out, title);
    fputs("\">", out);
    size_t nl = strlen(name);
    const char *s = code;
    while ((s = strstr(s, "\n/* ")) && !(strncmp(s + 4, name, nl) == 0 && s[4 + nl] == ':'))
        s++;
    const char *end = s ? strstr(s, "\n}\n") : NULL;
    if (!s || !end) {
        fputs("(not generated)</pre></section>\n", out);
        return;
    }
    int cur = 0;
    for (s++; s <= end + 2;) {
        const char *e = strchr(s, '\n');
        size_t len = (size_t)(e - s);
        int line = c_line(s, len, &cur);
        fputs(line ? "<span class=\"cl\"" : "<span class=\"cl\">", out);
        if (line)
            fprintf(out, " data-line=\"%d\">", line);
        char *t = strndup(s, len);
        if (!t)
            BUG("html: out of memory");
        cg_html_esc(out, t);
        free(t);
        fputs("</span>", out);
        s = e + 1;
    }
    fputs("</pre></section>\n", out);
}

/* The C of p (what --emit=c writes, but that it calls exp, not its hook
 * DX_EXP, has no #line and every entry point, whatever --entries says),
 * malloc'ed. */
static char *c_code(const Program *p, const CgOpts *o)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&buf, &len);
    if (!mem)
        BUG("open_memstream failed");
    CgOpts plain = *o;
    plain.no_hooks = 1;
    plain.line_directives = 0;
    plain.entries = 0;
    cg_c(p, &plain, mem);
    fclose(mem);
    return buf;
}

/* ---------------- the stepper ---------------- */

static void step(FILE *out, const char *g, int line, int back, const char *text, const char *val)
{
    fputs(",\n{g:", out);
    jstr(out, g);
    fprintf(out, ",l:%d,b:%d,t:", line, back);
    jstr(out, text);
    fputs(",v:", out);
    jstr(out, val);
    fputc('}', out);
}

/* The steps of the forward pass: every node but the constants. */
static void forward_steps(Arena *A, const View *v, FILE *out)
{
    for (int i = 0; i < v->nnodes; i++) {
        const VNode *n = &v->nodes[i];
        if (!strcmp(n->op, "const"))
            continue;
        const char *t = n->param >= 0
                            ? arena_printf(A, "forward: parameter %s = %s", n->var, view_values(A, n, n->val))
                            : arena_printf(A, "forward, line %d:\n%s = %s\n  = %s", n->line, n->var,
                                           n->expr, view_values(A, n, n->val));
        step(out, arena_printf(A, "g0n%d", i), n->line, 0, t, cg_html_short(A, n, n->val));
    }
}

/* The backward pass: the seed, then each active node in reverse order,
 * one line per use that adds to its adjoint. */
static void backward_steps(Arena *A, const View *v, FILE *out)
{
    const VNode *r = &v->nodes[v->result];
    step(out, arena_printf(A, "g0b%d", v->result), r->line, 1,
         arena_printf(A, "backward: the seed %s_bar = d%s/d%s = 1", r->var, r->var, r->var), "1");
    for (int i = v->nnodes - 1; i >= 0; i--) {
        const VNode *x = &v->nodes[i];
        if (!x->active || i == v->result)
            continue;
        Str s = {0};
        cg_putf(&s, "backward, %s_bar:", x->var);
        for (int e = v->nedges - 1; e >= 0; e--) {
            const VEdge *ed = &v->edges[e];
            const VNode *y = &v->nodes[ed->to];
            if (ed->from != i || !ed->d || !y->active)
                continue;
            cg_putf(&s, "\nline %d: %s", y->line, view_step(A, v, ed));
        }
        cg_putf(&s, "\n%s_bar = %s", x->var, view_values(A, x, x->adj));
        step(out, arena_printf(A, "g0b%d", i), x->line, 1, s.p, cg_html_short(A, x, x->adj));
        free(s.p);
    }
}

static void stepper_pane(FILE *out)
{
    fputs("<section class=\"pane\" id=\"stepper\" tabindex=\"-1\" aria-labelledby=\"h-step\">"
          "<h2 id=\"h-step\">Step through the run</h2>\n"
          "<p class=\"hint\">Next and Prev, or the arrow keys: the forward pass node by node, then "
          "the backward pass.</p>\n<div class=\"btns\"><button type=\"button\" id=\"prev\" "
          "aria-label=\"Previous step\">&#8592; Prev</button> <button type=\"button\" id=\"next\" "
          "aria-label=\"Next step\">Next &#8594;</button> <span id=\"count\"></span></div>\n"
          "<pre id=\"steptext\" role=\"status\" aria-live=\"polite\"></pre></section>\n",
          out);
}

/* ---------------- the gradient and its flow ---------------- */

/* Central differences of f at the point, element j of parameter i. */
static double central(const View *v, double **in, int i, long j)
{
    const Fn *f = v->f;
    double x = in[i][j], h = 1e-6 * (fabs(x) > 1 ? fabs(x) : 1), y[2];
    double **outs = calloc((size_t)f->out.n + 1, sizeof *outs);
    if (!outs)
        BUG("html: out of memory");
    for (int k = 0; k < f->out.n; k++)
        if (!(outs[k] = calloc((size_t)ty_size(f->out.p[k].ty) + 1, sizeof(double))))
            BUG("html: out of memory");
    for (int s = 0; s < 2; s++) {
        in[i][j] = s ? x - h : x + h;
        ir_interp(f, (const double *const *)in, outs);
        y[s] = outs[0][0];
    }
    in[i][j] = x;
    for (int k = 0; k < f->out.n; k++)
        free(outs[k]);
    free(outs);
    return (y[0] - y[1]) / (2 * h);
}

static void grad_rows(const View *v, double **in, int i, FILE *out)
{
    const VParam *p = &v->params[i];
    long size = (long)ty_size(p->ty), shown = size < FIRST ? size : FIRST;
    for (long j = 0; j < shown; j++) {
        double g = p->grad[j], c = central(v, in, i, j);
        double rel = fabs(g - c) / (fabs(g) > fabs(c) ? (fabs(g) > 1e-300 ? fabs(g) : 1) : fabs(c));
        fputs("<tr><th scope=\"row\">", out);
        cg_html_esc(out, p->name);
        if (p->ty.rank)
            fprintf(out, "[%ld]", j);
        fprintf(out, "</th><td class=\"gv\" data-param=\"%s\">%.10g</td><td>%.10g</td><td>%.1e</td></tr>\n",
                p->ty.rank ? "" : p->name, g, c, rel);
    }
    if (size > shown) {
        fprintf(out, "<tr><td colspan=\"4\" class=\"hint\">");
        cg_html_esc(out, p->name);
        fprintf(out, " has %ld elements: the first %ld are checked.</td></tr>\n", size, shown);
    }
}

static void grads_pane(const View *v, FILE *out)
{
    const VNode *r = &v->nodes[v->result];
    fputs("<section class=\"pane\" aria-labelledby=\"h-grad\"><h2 id=\"h-grad\">Gradient</h2>\n"
          "<p class=\"hint\">f_grad's gradient beside central differences (f(x+h) - f(x-h))/2h, "
          "h = 1e-6 max(1, |x|), computed by dxc with its interpreter.</p>\n"
          "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">d",
          out);
    cg_html_esc(out, r->var);
    fputs("/d</th><th scope=\"col\">gradient</th><th scope=\"col\">central difference</th>"
          "<th scope=\"col\">relative difference</th></tr></thead><tbody>\n",
          out);
    double **in = calloc((size_t)v->nparams + 1, sizeof *in);
    if (!in)
        BUG("html: out of memory");
    for (int i = 0; i < v->nparams; i++) {
        long size = (long)ty_size(v->params[i].ty);
        if (!(in[i] = malloc(sizeof(double) * (size_t)(size + 1))))
            BUG("html: out of memory");
        memcpy(in[i], v->params[i].val, sizeof(double) * (size_t)size);
    }
    for (int i = 0; i < v->nparams; i++) {
        if (v->params[i].data) {
            fputs("<tr><th scope=\"row\">", out);
            cg_html_esc(out, v->params[i].name);
            fputs("</th><td colspan=\"3\">data: no gradient</td></tr>\n", out);
        } else
            grad_rows(v, in, i, out);
    }
    for (int i = 0; i < v->nparams; i++)
        free(in[i]);
    free(in);
    fputs("</tbody></table></div></section>\n", out);
}

/* The size of every active node's adjoint, as log-scaled bars. */
static void flow_pane(Arena *A, const View *v, FILE *out)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < v->nnodes; i++) {
        const VNode *n = &v->nodes[i];
        double m = n->adj ? cg_html_norm(n->adj, n->nval) : 0;
        if (n->active && m > 0 && isfinite(m)) {
            lo = log10(m) < lo ? log10(m) : lo;
            hi = log10(m) > hi ? log10(m) : hi;
        }
    }
    fputs("<section class=\"pane\" aria-labelledby=\"h-flow\"><h2 id=\"h-flow\">Gradient flow</h2>\n"
          "<p class=\"hint\">The size of each adjoint (its norm over every element and run), "
          "from the result back to the parameters, on a log scale: a bar that shrinks to nothing "
          "is a vanishing gradient.</p>\n<div class=\"flow\">",
          out);
    for (int i = v->nnodes - 1; i >= 0; i--) {
        const VNode *n = &v->nodes[i];
        if (!n->active)
            continue;
        double m = n->adj ? cg_html_norm(n->adj, n->nval) : 0;
        double pct = !(m > 0) || !isfinite(m) ? 0 : hi > lo ? 4 + 96 * (log10(m) - lo) / (hi - lo) : 100;
        fprintf(out, "<div class=\"fl\" data-line=\"%d\"><span class=\"fn\">", n->line);
        cg_html_esc(out, arena_printf(A, "%s_bar", n->var));
        fprintf(out, "</span><span class=\"bar\" role=\"img\" aria-label=\"%s\"><span style=\"width:%.1f%%\">"
                     "</span></span><span class=\"fv\">%s</span></div>\n",
                view_num(A, m), pct, view_num(A, m));
    }
    fputs("</div></section>\n", out);
}

/* ---------------- the page ---------------- */

static const char CSS[] =
    "*{box-sizing:border-box}\n"
    "body{margin:0;font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1b1b;"
    "background:#f4f4f0}\n"
    "header{padding:.6rem 1rem;background:#24324a;color:#fff}\n"
    "header h1{font-size:1.15rem;margin:0}\n"
    "header p{margin:.2rem 0 0;font-size:.9rem;overflow-wrap:anywhere}\n"
    "main{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,30rem),1fr));"
    "gap:.8rem;padding:.8rem;align-items:start}\n"
    ".pane{background:#fff;border:1px solid #d5d5cf;border-radius:6px;padding:.5rem .7rem;"
    "min-width:0}\n"
    ".col{display:grid;gap:.8rem;min-width:0;align-content:start}\n"
    ".pane h2{font-size:1rem;margin:.1rem 0 .4rem}\n"
    ".code{margin:0;overflow:auto;max-height:28rem;font:13px/1.45 ui-monospace,Menlo,Consolas,"
    "monospace;background:#fbfbf8;border:1px solid #e6e6e0;padding:.3rem 0}\n"
    ".code>span{display:block;padding:0 .5rem;white-space:pre;min-height:1.45em}\n"
    ".no{display:inline-block;width:2.6em;color:#767676;user-select:none}\n"
    ".ln.hot,.cl[data-line]{cursor:pointer}\n"
    ".hl{background:#ffe680}\n"
    ".ln.cur{box-shadow:inset 4px 0 #c2185b}\n"
    ":focus-visible{outline:3px solid #0a58ca;outline-offset:1px}\n"
    ".nd:focus{outline:none}\n"
    ".nd:focus rect,.nd:focus-visible rect{stroke:#0a58ca;stroke-width:3}\n"
    ".gwrap{overflow:auto;max-height:44rem}\n"
    "svg.graph{display:block;max-width:100%;height:auto;font:12px ui-monospace,Menlo,Consolas,"
    "monospace}\n"
    "svg.graph.wide{max-width:none}\n"
    ".nd{cursor:pointer}\n"
    ".nd rect{fill:#eef3fb;stroke:#5b7db1;stroke-width:1.3}\n"
    ".nd.bar rect{fill:#fdf0e8;stroke:#c0704a}\n"
    ".nd text{text-anchor:middle;fill:#111}\n"
    ".nd .nv{fill:#0b6e2e}\n"
    ".nd.bar .nv{fill:#9a3412}\n"
    ".nd.hl rect{fill:#ffe680;stroke:#9a7b00;stroke-width:2}\n"
    ".nd.cur rect{stroke:#c2185b;stroke-width:3.5}\n"
    ".ef{fill:none;stroke:#5b7db1;stroke-width:1.3}\n"
    ".eb{fill:none;stroke:#c0704a;stroke-width:1.3;stroke-dasharray:5 3}\n"
    "marker path{fill:#555}\n"
    ".el{font-size:11px;fill:#333;paint-order:stroke;stroke:#fff;stroke-width:3px;"
    "text-anchor:middle}\n"
    ".box rect{fill:#f1edf9;fill-opacity:.55;stroke:#8a76b8;stroke-dasharray:6 3}\n"
    ".box text{font-size:11px;fill:#5b4a8a}\n"
    ".btns{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}\n"
    "button{font:inherit;padding:.35rem .9rem;border-radius:4px;border:1px solid #4a5a74;"
    "background:#fff;color:#1b1b1b;cursor:pointer}\n"
    "button:disabled{opacity:.45;cursor:default}\n"
    "#steptext{white-space:pre-wrap;overflow-wrap:anywhere;min-height:6em;background:#fbfbf8;"
    "padding:.4rem .5rem;border:1px solid #e6e6e0;font:13px/1.45 ui-monospace,Menlo,Consolas,"
    "monospace;margin:.5rem 0 0}\n"
    ".hint{font-size:.85rem;color:#555;margin:.2rem 0 .5rem}\n"
    ".scroll{overflow-x:auto}\n"
    "table{border-collapse:collapse;font:13px ui-monospace,Menlo,Consolas,monospace}\n"
    "th,td{padding:.2rem .5rem;border-bottom:1px solid #eee;text-align:right}\n"
    "th{text-align:left}\n"
    ".fl{display:grid;grid-template-columns:minmax(3rem,9rem) 1fr 5.5rem;gap:.5rem;"
    "align-items:center;font:12px/1.8 ui-monospace,Menlo,Consolas,monospace}\n"
    ".fn{overflow:hidden;text-overflow:ellipsis;white-space:nowrap}\n"
    ".bar{background:#eee;height:.8rem;border-radius:2px;overflow:hidden}\n"
    ".bar span{display:block;height:100%;background:#c0704a}\n"
    "#selftest{display:none}\n"
    "@media (max-width:480px){main{padding:.4rem;gap:.5rem}.code{max-height:20rem}}\n";

/* The script: highlighting by source line, the stepper, the self-test.
 * S (the steps) and P (parameter name, adjoint node id) come first. */
static const char JS[] =
    "var pinned='',cur=0,prev,next,out,cnt;\n"
    "function all(q){return Array.prototype.slice.call(document.querySelectorAll(q));}\n"
    "function mark(l){all('.hl').forEach(function(e){e.classList.remove('hl');});\n"
    " if(l&&l!=='0')all('[data-line=\"'+l+'\"]').forEach(function(e){e.classList.add('hl');});}\n"
    "function owner(e){var t=e.target;return t&&t.closest?t.closest('[data-line]'):null;}\n"
    "function clickOn(t){t.dispatchEvent(new MouseEvent('click',{bubbles:true}));}\n"
    "document.addEventListener('mouseover',function(e){var t=owner(e);"
    "mark(t?t.getAttribute('data-line'):pinned);});\n"
    "document.addEventListener('focusin',function(e){var t=owner(e);if(t)mark(t.getAttribute('data-line'));});\n"
    "document.addEventListener('focusout',function(){mark(pinned);});\n"
    "document.addEventListener('click',function(e){var t=owner(e);if(!t)return;\n"
    " var l=t.getAttribute('data-line');if(l==='0')return;pinned=pinned===l?'':l;mark(pinned||l);});\n"
    "document.addEventListener('keydown',function(e){var t=e.target;\n"
    " if((e.key==='Enter'||e.key===' ')&&t.getAttribute&&t.getAttribute('role')==='button'&&\n"
    "  t.hasAttribute('data-line')){e.preventDefault();clickOn(t);return;}\n"
    " if(S.length<2||(e.key!=='ArrowRight'&&e.key!=='ArrowLeft'))return;\n"
    " if(t===document.body||(t.closest&&t.closest('#stepper'))){e.preventDefault();\n"
    "  go(cur+(e.key==='ArrowRight'?1:-1));}});\n"
    "function go(k){k=Math.max(0,Math.min(S.length-1,k));cur=k;\n"
    " all('.nv').forEach(function(e){e.textContent='';});\n"
    " all('.cur').forEach(function(e){e.classList.remove('cur');});\n"
    " for(var i=1;i<=k;i++){var v=document.getElementById(S[i].g+'v');if(v)v.textContent=S[i].v;}\n"
    " var s=S[k],n=document.getElementById(s.g),L=document.getElementById('L'+s.l);\n"
    " if(n)n.classList.add('cur');if(L)L.classList.add('cur');\n"
    " cnt.textContent='Step '+k+' of '+(S.length-1)+(k?(s.b?', backward pass':', forward pass'):'');\n"
    " out.textContent=s.t;prev.disabled=k===0;next.disabled=k===S.length-1;}\n"
    "function selftest(){var r=['steps '+Math.max(0,S.length-1)],n=0;\n"
    " if(S.length>1){while(cur<S.length-1&&n++<100000)next.click();\n"
    "  r.push('at end '+(cur===S.length-1));\n"
    "  P.forEach(function(p){var e=document.getElementById(p[1]+'v');\n"
    "   r.push('adjoint '+p[0]+' = '+(e?e.textContent:'?'));});\n"
    "  r.push('live '+out.textContent.split('\\n').join(' | '));\n"
    "  while(cur>0&&n++<200000)prev.click();r.push('back at start '+(cur===0));}\n"
    " all('.ln.hot').forEach(function(L){clickOn(L);var l=L.getAttribute('data-line');\n"
    "  function txt(q){return all(q).map(function(e){return e.textContent.trim();}).join(' ');}\n"
    "  r.push('line '+l+': nodes '+all('.nd.hl').map(function(e){return e.getAttribute('data-var');})\n"
    "   .join(', ')+'; forward '+txt('.fwd .cl.hl')+'; adjoint '+txt('.adj .cl.hl'));clickOn(L);});\n"
    " r.push('pinned after '+(pinned===''));\n"
    " r.push('width '+document.documentElement.scrollWidth+' '+window.innerWidth);\n"
    " r.push('ready ms '+document.body.getAttribute('data-ready-ms'));\n"
    " document.getElementById('selftest').textContent=r.join('\\n');}\n"
    "function init(){prev=document.getElementById('prev');next=document.getElementById('next');\n"
    " out=document.getElementById('steptext');cnt=document.getElementById('count');\n"
    " if(S.length>1){prev.addEventListener('click',function(){go(cur-1);});\n"
    "  next.addEventListener('click',function(){go(cur+1);});\n"
    "  var m=/^#step=([0-9]+)$/.exec(location.hash);go(m?+m[1]:0);}\n"
    " document.body.setAttribute('data-ready-ms',performance.now().toFixed(1));\n"
    " if(location.hash==='#selftest')selftest();}\n"
    "if(document.readyState==='loading')document.addEventListener('DOMContentLoaded',init);"
    "else init();\n";

static void head(const Program *p, View *const *vs, int n, FILE *out)
{
    Arena *A = p->arena;
    fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
          "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>",
          out);
    cg_html_esc(out, p->src->path ? p->src->path : "<input>");
    fprintf(out, " - dxc</title>\n<style>\n%s</style>\n</head>\n<body>\n<header><h1>dxc: ", CSS);
    cg_html_esc(out, p->src->path ? p->src->path : "<input>");
    fputs("</h1><p>", out);
    for (int k = 0; k < n; k++) {
        const View *v = vs[k];
        fputs(k ? "; " : "", out);
        cg_html_esc(out, v->f->src_name);
        if (!v->at)
            continue;
        fputs("(", out);
        for (int i = 0; i < v->nparams; i++)
            cg_html_esc(out, arena_printf(A, "%s%s = %s", i ? ", " : "", v->params[i].name,
                                          view_summary(A, v->params[i].val, (long)ty_size(v->params[i].ty),
                                                       v->params[i].ty, FIRST)));
        cg_html_esc(out, arena_printf(A, ") = %s", view_summary(A, v->value, (long)ty_size(v->f->out.p[0].ty),
                                                                v->f->out.p[0].ty, FIRST)));
    }
    fputs("</p></header>\n<main>\n", out);
}

static void graph_pane(Arena *A, const View *v, int k, FILE *out)
{
    fprintf(out, "<section class=\"pane\" aria-labelledby=\"h-graph%d\"><h2 id=\"h-graph%d\">Graph of ", k, k);
    cg_html_esc(out, v->f->src_name);
    fputs("</h2>\n<p class=\"hint\">Forward nodes in blue, adjoints x_bar in orange; each edge says "
          "its local derivative; a loop is drawn once, as a box.</p>\n",
          out);
    fprintf(out, "<div class=\"gwrap\" id=\"graph%d\">", k);
    cg_html_svg(A, v, k, out);
    fputs("</div></section>\n", out);
}

static void script(Arena *A, View *const *vs, int n, FILE *out)
{
    const View *v = vs[0];
    fputs("<pre id=\"selftest\"></pre>\n<script>\n\"use strict\";\nvar S=[", out);
    if (n == 1 && v->at) {
        fputs("{g:\"\",l:0,b:0,t:\"Press Next (or the right arrow key) to run the forward pass.\",v:\"\"}",
              out);
        forward_steps(A, v, out);
        if (v->scalar && v->result >= 0 && v->nodes[v->result].active)
            backward_steps(A, v, out);
    }
    fputs("],\nP=[", out);
    for (int i = 0; n == 1 && v->at && i < v->nparams; i++) {
        if (v->params[i].data || v->params[i].node < 0 || !v->nodes[v->params[i].node].active)
            continue;
        fputs(i ? "," : "", out);
        fputc('[', out);
        jstr(out, v->params[i].name);
        fprintf(out, ",\"g0b%d\"]", v->params[i].node);
    }
    fprintf(out, "];\n%s</script>\n", JS);
}

void cg_html(Arena *A, const Program *p, const CgOpts *o, View *const *vs, int n, FILE *out)
{
    char *code = c_code(p, o);
    int point = n == 1 && vs[0]->at; /* the stepper beside the source */
    head(p, vs, n, out);
    if (point)
        fputs("<div class=\"col\">\n", out);
    source_pane(A, p, vs, n, out);
    if (point) {
        stepper_pane(out);
        if (vs[0]->scalar)
            grads_pane(vs[0], out);
        fputs("</div>\n", out);
    }
    for (int k = 0; k < n; k++) {
        const View *v = vs[k];
        const Fn *grad = p->units.p[k].grad;
        graph_pane(A, v, k, out);
        fputs("<div class=\"fwd\" style=\"display:contents\">", out);
        c_pane("Forward code", code, v->f->name, out);
        fputs("</div><div class=\"adj\" style=\"display:contents\">", out);
        c_pane("Adjoint code", code, grad ? grad->name : "", out);
        fputs("</div>\n", out);
    }
    if (point && vs[0]->scalar)
        flow_pane(A, vs[0], out);
    fputs("</main>\n", out);
    script(A, vs, n, out);
    fputs("</body>\n</html>\n", out);
    free(code);
}
