/*
 * test_train.c - the runtime's training arithmetic (runtime/dxrt_train.c):
 *   - SGD, with and without momentum and weight decay, step by step
 *     against its update rule written out here, in double and float;
 *   - Adam against Kingma and Ba's algorithm as the paper writes it
 *     (bias-corrected moments), ten steps, double and float, and its
 *     defaults;
 *   - per-part gradient norms and clipping by the global norm: the norm
 *     returned, the gradients scaled above max_norm and untouched below;
 *   - Xavier and He initial weights: bounds, mean, variance (and He's
 *     kurtosis) over 20 000 draws, the same for the same seed;
 *   - the progress line, in a file and on a terminal;
 *   - all three against PyTorch's torch.optim.SGD, torch.optim.Adam and
 *     torch.nn.utils.clip_grad_norm_ (float64) where python3 imports
 *     torch (skipped, with a message, where it does not).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dxrt.h"
#include "testutil.h"

enum { N = 5, STEPS = 4 };

/* The parameters and the gradient of step s, deterministic. */
static double p0(int i)
{
    return 0.5 - 0.3 * i;
}
static double gr(int s, int i)
{
    return sin(1.3 * i + 0.7 * s) + 0.1 * s;
}

START_TEST(test_sgd_rule)
{
    static const double moms[] = {0, 0.9}, wds[] = {0, 0.01};
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 2; b++) {
            double p[N], g[N], vel[N] = {0}, q[N], w[N] = {0};
            float pf[N], gf[N], velf[N] = {0};
            for (int i = 0; i < N; i++)
                p[i] = q[i] = p0(i), pf[i] = (float)p0(i);
            for (int s = 0; s < STEPS; s++) {
                for (int i = 0; i < N; i++)
                    g[i] = gr(s, i), gf[i] = (float)g[i];
                dxrt_sgd(N, p, g, moms[a] != 0 ? vel : NULL, 0.1, moms[a], wds[b]);
                dxrt_sgdf(N, pf, gf, moms[a] != 0 ? velf : NULL, 0.1f, (float)moms[a], (float)wds[b]);
                for (int i = 0; i < N; i++) { /* the rule, written out */
                    double d = g[i] + wds[b] * q[i];
                    w[i] = moms[a] * w[i] + d;
                    q[i] = q[i] - 0.1 * (moms[a] != 0 ? w[i] : d);
                }
                for (int i = 0; i < N; i++) {
                    ck_assert_msg(fabs(p[i] - q[i]) <= 1e-15 * (1 + fabs(q[i])), "momentum %g, decay %g, step %d: "
                                  "p[%d] %.17g, the rule %.17g", moms[a], wds[b], s, i, p[i], q[i]);
                    ck_assert_msg(fabsf(pf[i] - (float)q[i]) <= 1e-5f * (1 + fabsf((float)q[i])),
                                  "float: p[%d] %.9g, the rule %.9g", i, (double)pf[i], q[i]);
                }
            }
        }
}
END_TEST

START_TEST(test_adam_rule)
{
    dxrt_adam o = dxrt_adam_defaults(0.01);
    ck_assert(o.lr == 0.01 && o.beta1 == 0.9 && o.beta2 == 0.999 && o.eps == 1e-8 && o.weight_decay == 0);
    dxrt_adamf of = dxrt_adamf_defaults(0.01f);
    ck_assert(of.beta1 == 0.9f && of.beta2 == 0.999f && of.eps == 1e-8f && of.weight_decay == 0);
    o.weight_decay = 0.05;
    of.weight_decay = 0.05f;
    double p[N], m[N] = {0}, v[N] = {0}, q[N], mm[N] = {0}, vv[N] = {0}, g[N];
    float pf[N], mf[N] = {0}, vf[N] = {0}, gf[N];
    for (int i = 0; i < N; i++)
        p[i] = q[i] = p0(i), pf[i] = (float)p0(i);
    for (int t = 1; t <= 10; t++) {
        for (int i = 0; i < N; i++)
            g[i] = gr(t, i), gf[i] = (float)g[i];
        dxrt_adam_step(&o, t, N, p, g, m, v);
        dxrt_adamf_step(&of, t, N, pf, gf, mf, vf);
        for (int i = 0; i < N; i++) { /* Kingma and Ba, Algorithm 1 */
            double d = g[i] + 0.05 * q[i];
            mm[i] = 0.9 * mm[i] + 0.1 * d;
            vv[i] = 0.999 * vv[i] + 0.001 * d * d;
            double mhat = mm[i] / (1 - pow(0.9, t)), vhat = vv[i] / (1 - pow(0.999, t));
            q[i] -= 0.01 * mhat / (sqrt(vhat) + 1e-8);
        }
        for (int i = 0; i < N; i++) {
            ck_assert_msg(fabs(p[i] - q[i]) <= 1e-13 * (1 + fabs(q[i])), "step %d: p[%d] %.17g, Kingma and Ba %.17g",
                          t, i, p[i], q[i]);
            ck_assert_msg(fabsf(pf[i] - (float)q[i]) <= 2e-5f * (1 + fabsf((float)q[i])), "float step %d: p[%d] %.9g vs %.9g",
                          t, i, (double)pf[i], q[i]);
        }
    }
}
END_TEST

START_TEST(test_clip)
{
    double a[3] = {3, 0, -4}, b[2] = {12, 0}, *parts[2] = {a, b}, norms[2];
    const size_t n[2] = {3, 2};
    double total = dxrt_grad_norms(2, (const double *const *)parts, n, norms);
    ck_assert(norms[0] == 5 && norms[1] == 12 && total == 13);
    /* under max_norm: untouched, bit for bit */
    ck_assert(dxrt_clip_grad_norm(20, 2, parts, n) == 13);
    ck_assert(a[0] == 3 && a[2] == -4 && b[0] == 12);
    /* over it: scaled by max_norm / (norm + 1e-6) */
    double c = 6.5 / (13 + 1e-6);
    ck_assert(dxrt_clip_grad_norm(6.5, 2, parts, n) == 13);
    ck_assert_msg(a[0] == 3 * c && a[2] == -4 * c && b[0] == 12 * c && b[1] == 0, "%.17g", a[0]);
    double after = dxrt_grad_norms(2, (const double *const *)parts, n, NULL);
    ck_assert_msg(fabs(after - 6.5) < 1e-6, "%.17g", after);
    float af[3] = {3, 0, -4}, bf[2] = {12, 0}, *pf[2] = {af, bf};
    ck_assert(dxrt_clip_grad_normf(6.5f, 2, pf, n) == 13.0f);
    ck_assert(fabsf(af[0] - 1.5f) < 1e-6f && fabsf(bf[0] - 6.0f) < 1e-6f);
}
END_TEST

/* The same steps through PyTorch (float64), where it is installed. */
static const char torch_py[] =
    "import math, torch\n"
    "N, STEPS = 5, 4\n"
    "p0 = lambda i: 0.5 - 0.3 * i\n"
    "gr = lambda s, i: math.sin(1.3 * i + 0.7 * s) + 0.1 * s\n"
    "def run(make, steps):\n"
    "    p = torch.tensor([p0(i) for i in range(N)], dtype=torch.float64, requires_grad=True)\n"
    "    opt = make([p])\n"
    "    for s in steps:\n"
    "        p.grad = torch.tensor([gr(s, i) for i in range(N)], dtype=torch.float64)\n"
    "        opt.step()\n"
    "    return p.detach().tolist()\n"
    "out = []\n"
    "out += run(lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=0.01), range(STEPS))\n"
    "out += run(lambda ps: torch.optim.Adam(ps, lr=0.01, weight_decay=0.05), range(1, 11))\n"
    "a = torch.tensor([3.0, 0.0, -4.0], dtype=torch.float64, requires_grad=True)\n"
    "b = torch.tensor([12.0, 0.0], dtype=torch.float64, requires_grad=True)\n"
    "a.grad = a.detach().clone(); b.grad = b.detach().clone()\n"
    "out.append(float(torch.nn.utils.clip_grad_norm_([a, b], 6.5)))\n"
    "out += a.grad.tolist() + b.grad.tolist()\n"
    "print(' '.join('%.17g' % x for x in out))\n";

START_TEST(test_against_torch)
{
    /* python3, or Debian's when another python3 comes first in the PATH
     * (as bench/run.sh looks for it) */
    static const char *const pys[] = {"python3", "/usr/bin/python3"};
    const char *py = NULL;
    char *cmd;
    for (int k = 0; k < 2 && !py; k++) {
        cmd = tu_printf("%s -c 'import torch' >/dev/null 2>&1", pys[k]);
        if (tu_run(cmd, NULL, NULL) == 0)
            py = pys[k];
        free(cmd);
    }
    if (!py) {
        fprintf(stderr, "train: SKIPPED the comparison with PyTorch: python3 cannot import torch "
                        "(Debian: apt-get install python3-torch)\n");
        return;
    }
    ck_assert_int_eq(tu_write(tu_path("t.py"), torch_py, (size_t)-1), 0);
    cmd = tu_printf("cd '%s' && %s t.py", tu_tmpdir(), py);
    char *out = NULL, *err = NULL;
    ck_assert_msg(tu_run(cmd, &out, &err) == 0, "%s%s", out, err);
    free(cmd);
    double want[2 * N + 6], got[2 * N + 6];
    int k = 0;
    for (char *s = out, *e; k < 2 * N + 6; s = e, k++) {
        want[k] = strtod(s, &e);
        ck_assert_msg(e != s, "torch printed: %s", out);
    }
    double p[N], g[N], vel[N] = {0};
    for (int i = 0; i < N; i++)
        p[i] = p0(i);
    for (int s = 0; s < STEPS; s++) {
        for (int i = 0; i < N; i++)
            g[i] = gr(s, i);
        dxrt_sgd(N, p, g, vel, 0.1, 0.9, 0.01);
    }
    memcpy(got, p, sizeof p);
    dxrt_adam o = dxrt_adam_defaults(0.01);
    o.weight_decay = 0.05;
    double m[N] = {0}, v[N] = {0};
    for (int i = 0; i < N; i++)
        p[i] = p0(i);
    for (int t = 1; t <= 10; t++) {
        for (int i = 0; i < N; i++)
            g[i] = gr(t, i);
        dxrt_adam_step(&o, t, N, p, g, m, v);
    }
    memcpy(got + N, p, sizeof p);
    double a[3] = {3, 0, -4}, b[2] = {12, 0}, *parts[2] = {a, b};
    const size_t n[2] = {3, 2};
    got[2 * N] = dxrt_clip_grad_norm(6.5, 2, parts, n);
    memcpy(got + 2 * N + 1, a, sizeof a);
    memcpy(got + 2 * N + 4, b, sizeof b);
    for (k = 0; k < 2 * N + 6; k++)
        ck_assert_msg(fabs(got[k] - want[k]) <= 1e-12 * (1 + fabs(want[k])), "[%d] dxrt %.17g, PyTorch %.17g", k,
                      got[k], want[k]);
    free(out);
    free(err);
}
END_TEST

/* Xavier within its bound and He's spread, over 20 000 draws; the same
 * seed the same weights, in double and float. */
START_TEST(test_init)
{
    enum { M = 20000 };
    static double w[M], w2[M];
    static float wf[M];
    uint64_t st = 42, st2 = 42, stf = 42;
    dxrt_init_xavier(100, 50, w, M, &st);
    dxrt_init_xavier(100, 50, w2, M, &st2);
    dxrt_init_xavierf(100, 50, wf, M, &stf);
    double a = sqrt(6.0 / 150), s1 = 0, s2 = 0;
    for (int i = 0; i < M; i++) {
        ck_assert(fabs(w[i]) <= a && w[i] == w2[i] && wf[i] == (float)w[i]);
        s1 += w[i];
        s2 += w[i] * w[i];
    }
    /* uniform on (-a, a): mean 0, variance a^2 / 3 */
    ck_assert_msg(fabs(s1 / M) < 0.02 * a && fabs(s2 / M / (a * a / 3) - 1) < 0.03, "%g %g", s1 / M, s2 / M);
    st = 7;
    dxrt_init_he(200, w, M, &st);
    s1 = s2 = 0;
    double s4 = 0, sd = sqrt(2.0 / 200);
    for (int i = 0; i < M; i++) {
        ck_assert(isfinite(w[i]));
        s1 += w[i];
        s2 += w[i] * w[i];
        s4 += pow(w[i] / sd, 4);
    }
    /* normal: mean 0, variance 2 / fan_in, kurtosis 3 */
    ck_assert_msg(fabs(s1 / M) < 0.03 * sd && fabs(s2 / M / (sd * sd) - 1) < 0.04 && fabs(s4 / M - 3) < 0.25,
                  "%g %g %g", s1 / M, s2 / M, s4 / M);
    stf = 7;
    dxrt_init_hef(200, wf, M, &stf);
    ck_assert(wf[0] == (float)w[0] && wf[M - 1] == (float)w[M - 1]);
}
END_TEST

/* The progress line: plain lines in a file; on a terminal (script(1)
 * gives the program one) rewritten in place with \r and an erase to the
 * end of the line, ending at the last epoch. */
START_TEST(test_progress)
{
    const char *path = tu_path("progress.txt");
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    dxrt_progress(f, 3, 50, 0.421349, 0.9333, 1.2345, 2.08);
    dxrt_progress(f, 4, 50, 0.4, -1, -1, 0.0047);
    dxrt_progress(f, 5, 50, 0.4, -1, -1, 0.9996);
    dxrt_progress(f, 50, 50, 0.05, -1, -1, -1);
    fclose(f);
    char *got = tu_read(path, NULL);
    ck_assert_str_eq(got, "epoch  3/50  loss 0.4213  accuracy  93.3%  |grad| 1.23  2.1 s\n"
                          "epoch  4/50  loss 0.4000  5 ms\n"
                          "epoch  5/50  loss 0.4000  1.0 s\n"
                          "epoch 50/50  loss 0.0500\n");
    free(got);
    double t0 = dxrt_seconds(), t1 = dxrt_seconds();
    ck_assert(t0 > 0 && t1 >= t0);
    const char *dir = getenv("DXRT_DIR"), *lib = getenv("DXRT_LIB");
    char *cmd = tu_printf("command -v script >/dev/null");
    int have = dir && lib && tu_run(cmd, NULL, NULL) == 0;
    free(cmd);
    if (!have) {
        fprintf(stderr, "train: SKIPPED the progress line on a terminal (no script(1) or DXRT_DIR)\n");
        return;
    }
    ck_assert_int_eq(tu_write(tu_path("p.c"),
                              "#include \"dxrt.h\"\n"
                              "int main(void)\n{\n"
                              "    for (long e = 1; e <= 3; e++)\n"
                              "        dxrt_progress(stdout, e, 3, 1.0 / e, -1, -1, -1);\n"
                              "    return 0;\n}\n",
                              (size_t)-1),
                     0);
    cmd = tu_printf("cd '%s' && cc -std=c99 -I'%s' p.c '%s' -lm -o p && script -qec ./p /dev/null", tu_tmpdir(), dir,
                    lib);
    char *out = NULL, *err = NULL;
    ck_assert_msg(tu_run(cmd, &out, &err) == 0, "%s%s", out, err);
    ck_assert_msg(strstr(out, "\repoch 1/3  loss 1.0000\033[K\repoch 2/3  loss 0.5000\033[K"
                              "\repoch 3/3  loss 0.3333\033[K"),
                  "%s", out);
    free(cmd);
    free(out);
    free(err);
}
END_TEST

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

Suite *suite_train(void);
Suite *suite_train(void)
{
    Suite *s = suite_create("train");
    TCase *tc = tcase_create("train");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sgd_rule);
    tcase_add_test(tc, test_adam_rule);
    tcase_add_test(tc, test_clip);
    tcase_add_test(tc, test_init);
    tcase_add_test(tc, test_progress);
    tcase_add_test(tc, test_against_torch);
    suite_add_tcase(s, tc);
    return s;
}
