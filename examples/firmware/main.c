/*
 * main.c - calls every entry point dxc generated from spring.dx and
 * mlp.dx with --real=float, prints one "name value" line per result, and
 * checks each gradient against forward mode (the dot product identity
 * grad . d == jvp(d)).  Returns the number of failed checks: on the board
 * Reset_Handler (startup.c) hands it to qemu as the exit status.
 *
 * The same file runs on the host (make host), where `make check` compares
 * the two outputs line by line (compare.awk).  Lines starting with '#'
 * are comments the comparison skips.
 */
#include <stdint.h>

#include "io.h"
#include "mlp.h"
#include "spring.h"

static int fails;

static void show(const char *name, float v)
{
    put(name);
    put(" ");
    put_float(v);
    put("\n");
}

static float absf(float x)
{
    return x < 0 ? -x : x;
}

/* Fails unless a and b are finite and agree within rtol of scale. */
static void agree(const char *what, float a, float b, float scale, float rtol)
{
    float d = absf(a - b);
    if (!(d <= rtol * scale) || a != a || b != b) {
        put("FAIL ");
        put(what);
        put(": ");
        put_float(a);
        put(" vs ");
        put_float(b);
        put("\n");
        fails++;
    }
}

static void spring_demo(void)
{
    const float k = 6.0f, c = 0.8f, x0 = 0.5f, v0 = -0.25f;
    const float dk = 1.0f, dc = 0.5f;   /* a direction in (k, c) */
    float k_bar, c_bar, out_dot, k_hv, c_hv;

    float f = spring(k, c, x0, v0);
    float fg = spring_grad(k, c, x0, v0, &k_bar, &c_bar);
    float fj = spring_jvp(k, c, x0, v0, dk, dc, &out_dot);
    float fh = spring_hvp(k, c, x0, v0, dk, dc, &k_hv, &c_hv);

    show("spring", f);
    show("spring_grad.k_bar", k_bar);
    show("spring_grad.c_bar", c_bar);
    show("spring_jvp.out_dot", out_dot);
    show("spring_hvp.k_hv", k_hv);
    show("spring_hvp.c_hv", c_hv);

    agree("spring_grad value", fg, f, absf(f), 0);
    agree("spring_jvp value", fj, f, absf(f), 0);
    agree("spring_hvp value", fh, f, absf(f), 0);
    agree("spring grad . d vs jvp", k_bar * dk + c_bar * dc, out_dot,
          absf(k_bar * dk) + absf(c_bar * dc), 1e-4f);
}

/* The model's shapes (mlp.dx). */
enum { NI = 8, NH = 16, NO = 4, NP = NH * NI + NH + NO * NH + NO };

/* Parameters, their tangents, gradients and Hessian-vector products, each
 * one vector in the order W1, b1, W2, b2 (row-major matrices). */
static float theta[NP], dir[NP], grad[NP], hv[NP];
static float x[NI], y[NO];

#define W1(v) (v)
#define B1(v) ((v) + NH * NI)
#define W2(v) ((v) + NH * NI + NH)
#define B2(v) ((v) + NH * NI + NH + NO * NH)

/* Deterministic numbers in [-0.5, 0.5), exact in float, the same on the
 * board and the host. */
static uint32_t seed = 12345;
static float uniform(void)
{
    seed = seed * 1664525u + 1013904223u;       /* Numerical Recipes' LCG */
    return (float)(seed >> 16) / 65536.0f - 0.5f;
}

static float sum_abs(const float *v, int n)
{
    float s = 0;
    for (int i = 0; i < n; i++)
        s += absf(v[i]);
    return s;
}

static void mlp_demo(void)
{
    for (int i = 0; i < NP; i++) {
        theta[i] = uniform();
        dir[i] = uniform();
    }
    for (int i = 0; i < NI; i++)
        x[i] = 4 * uniform();
    y[2] = 1;                                   /* the label: class 2 */

    float out_dot;
    float f = mlp(W1(theta), B1(theta), W2(theta), B2(theta), x, y);
    float fg = mlp_grad(W1(theta), B1(theta), W2(theta), B2(theta), x, y,
                        W1(grad), B1(grad), W2(grad), B2(grad));
    float fj = mlp_jvp(W1(theta), B1(theta), W2(theta), B2(theta), x, y,
                       W1(dir), B1(dir), W2(dir), B2(dir), &out_dot);
    float fh = mlp_hvp(W1(theta), B1(theta), W2(theta), B2(theta), x, y,
                       W1(dir), B1(dir), W2(dir), B2(dir), W1(hv), B1(hv), W2(hv), B2(hv));

    show("mlp", f);
    show("mlp_grad.sum|W1_bar|", sum_abs(W1(grad), NH * NI));
    show("mlp_grad.sum|W2_bar|", sum_abs(W2(grad), NO * NH));
    for (int i = 0; i < NO; i++) {
        static char name[] = "mlp_grad.b2_bar[0]";
        name[16] = (char)('0' + i);
        show(name, B2(grad)[i]);
    }
    show("mlp_jvp.out_dot", out_dot);
    show("mlp_hvp.sum|W1_hv|", sum_abs(W1(hv), NH * NI));
    for (int i = 0; i < NO; i++) {
        static char name[] = "mlp_hvp.b2_hv[0]";
        name[14] = (char)('0' + i);
        show(name, B2(hv)[i]);
    }

    float dot = 0, scale = 0;
    for (int i = 0; i < NP; i++) {
        dot += grad[i] * dir[i];
        scale += absf(grad[i] * dir[i]);
    }
    agree("mlp_grad value", fg, f, absf(f), 0);
    agree("mlp_jvp value", fj, f, absf(f), 0);
    agree("mlp_hvp value", fh, f, absf(f), 0);
    agree("mlp grad . d vs jvp", dot, out_dot, scale, 1e-4f);
}

#ifdef DX_BOARD
uint32_t stack_used(void);

static void put_uint(uint32_t n)
{
    char buf[12], *p = buf + sizeof buf;
    *--p = 0;
    do
        *--p = (char)('0' + n % 10);
    while (n /= 10);
    put(p);
}
#endif

int main(void)
{
    put("# dx firmware example: spring.dx and mlp.dx, float, every entry point\n");
    spring_demo();
    mlp_demo();
#ifdef DX_BOARD
    put("# stack used: ");
    put_uint(stack_used());
    put(" bytes\n");
#endif
    put(fails ? "# FAILED\n" : "# ok\n");
    return fails;
}
