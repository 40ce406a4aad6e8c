/*
 * train_main.c - on-device learning: the iris classifier of
 * examples/train (iris.dx, compiled with --real=float) trained on the
 * board, the same way examples/train/train.c trains it on the host in
 * double.  The flowers are compiled in (iris_data.h, made from iris.csv
 * by iris_table.awk); there are no files and no stdio, only put() and
 * put_float() (io.h).
 *
 * The training is train.c's, in float: splitmix64 from seed 3 shuffles
 * the 150 flowers, the first 10 of each class are held out, the other
 * 120 are the batch; the features are standardised with the training
 * rows' mean and standard deviation; the weights start from
 * dxrt_init_xavierf (the biases at 0); each of the 100 epochs is one
 * call of loss_grad, dxrt_clip_grad_normf to norm 1 and one
 * dxrt_adamf_step (learning rate 0.02).
 *
 * Every 10th epoch it prints the loss, the training flowers classified
 * correctly and the gradient's norm as "name value" lines, then the
 * held-out flowers classified correctly; main returns 0 when at least
 * 28 of the 30 are, 1 otherwise (the board's exit status).  The same
 * file runs on the host (make train-host), and make train-check compares
 * the two runs at float tolerance (compare.awk).
 */
#include <math.h>
#include <stdint.h>

#include "dxrt.h"
#include "io.h"
#include "iris.h"
#include "iris_data.h"

/* The shapes of iris.dx: NTRAIN is its batch B. */
enum {
    NI = 4, NH = 16, NO = 3,
    NTEST = 30, NTRAIN = IRIS_ROWS - NTEST, TEST_PER_CLASS = NTEST / NO,
    NP = NH * NI + NH + NO * NH + NO,  /* 131 parameters */
    EPOCHS = 100, EVERY = 10, SEED = 3, MIN_CORRECT = 28
};

/* The batch and the held-out flowers, one flat array each (row-major). */
static float Xtr[NTRAIN * NI], Ytr[NTRAIN * NO], Xte[NTEST * NI];
static unsigned char ytr[NTRAIN], yte[NTEST];

/* W1, b1, W2, b2 in one vector; the gradient and Adam's moments alike. */
static float theta[NP], grad[NP], m1[NP], m2[NP];
#define W1(v) (v)
#define B1(v) ((v) + NH * NI)
#define W2(v) ((v) + NH * NI + NH)
#define B2(v) ((v) + NH * NI + NH + NO * NH)

static void put_int(long n)
{
    char buf[24], *p = buf + sizeof buf;
    int neg = n < 0;
    unsigned long u = neg ? 0ul - (unsigned long)n : (unsigned long)n;
    *--p = 0;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (neg)
        *--p = '-';
    put(p);
}

/* "epoch10.loss 3.02578270e-01" */
static void show(long epoch, const char *what, float v)
{
    put("epoch");
    put_int(epoch);
    put(".");
    put(what);
    put(" ");
    put_float(v);
    put("\n");
}

/* train.c's split: Fisher-Yates on splitmix64, the first TEST_PER_CLASS
 * flowers of each class held out; then standardisation by the training
 * rows' mean and (population) standard deviation. */
static void split(uint64_t *rng)
{
    int order[IRIS_ROWS], taken[NO] = {0}, ntr = 0, nte = 0;
    for (int i = 0; i < IRIS_ROWS; i++)
        order[i] = i;
    for (int i = IRIS_ROWS - 1; i > 0; i--) {
        int j = (int)(dxrt_splitmix64(rng) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < IRIS_ROWS; i++) {
        int r = order[i], c = iris_y[r];
        if (taken[c] < TEST_PER_CLASS) {
            taken[c]++;
            for (int j = 0; j < NI; j++)
                Xte[nte * NI + j] = iris_x[r][j];
            yte[nte++] = (unsigned char)c;
        } else {
            for (int j = 0; j < NI; j++)
                Xtr[ntr * NI + j] = iris_x[r][j];
            Ytr[ntr * NO + c] = 1;
            ytr[ntr++] = (unsigned char)c;
        }
    }
    for (int j = 0; j < NI; j++) {
        float mean = 0, var = 0;
        for (int i = 0; i < NTRAIN; i++)
            mean += Xtr[i * NI + j];
        mean /= NTRAIN;
        for (int i = 0; i < NTRAIN; i++)
            var += (Xtr[i * NI + j] - mean) * (Xtr[i * NI + j] - mean);
        float sd = sqrtf(var / NTRAIN);
        for (int i = 0; i < NTRAIN; i++)
            Xtr[i * NI + j] = (Xtr[i * NI + j] - mean) / sd;
        for (int i = 0; i < NTEST; i++)
            Xte[i * NI + j] = (Xte[i * NI + j] - mean) / sd;
    }
}

/* The predicted class of a flower: its largest logit. */
static int classify(const float *x)
{
    float z[NO];
    int best = 0;
    logits(W1(theta), B1(theta), W2(theta), B2(theta), x, z);
    for (int k = 1; k < NO; k++)
        if (z[k] > z[best])
            best = k;
    return best;
}

#ifdef DX_BOARD
uint32_t stack_used(void);
#endif

int main(void)
{
    put("# dx on-device training: the 4-16-3 iris classifier, float, 120 flowers, 100 epochs\n");
    uint64_t rng = SEED;
    split(&rng);
    dxrt_init_xavierf(NI, NH, W1(theta), NH * NI, &rng);
    dxrt_init_xavierf(NH, NO, W2(theta), NO * NH, &rng);

    float *parts[] = {W1(grad), B1(grad), W2(grad), B2(grad)};
    const size_t sizes[] = {NH * NI, NH, NO * NH, NO};
    dxrt_adamf opt = dxrt_adamf_defaults(0.02f);
    for (long t = 1; t <= EPOCHS; t++) {
        float l = loss_grad(W1(theta), B1(theta), W2(theta), B2(theta), Xtr, Ytr, W1(grad),
                            B1(grad), W2(grad), B2(grad));
        float norm = dxrt_clip_grad_normf(1.0f, 4, parts, sizes);
        if (t % EVERY == 0) {
            int right = 0;
            for (int i = 0; i < NTRAIN; i++)
                right += classify(&Xtr[i * NI]) == ytr[i];
            show(t, "loss", l);
            show(t, "train_correct", (float)right);
            show(t, "grad_norm", norm);
        }
        dxrt_adamf_step(&opt, t, NP, theta, grad, m1, m2);
    }

    int right = 0;
    for (int i = 0; i < NTEST; i++)
        right += classify(&Xte[i * NI]) == yte[i];
    put("held_out_correct ");
    put_int(right);
    put("\n# held-out: ");
    put_int(right);
    put("/30 correct\n");
#ifdef DX_BOARD
    put("# stack used: ");
    put_int((long)stack_used());
    put(" bytes\n");
#endif
    put(right >= MIN_CORRECT ? "# ok\n" : "# FAILED: fewer than 28 correct\n");
    return right < MIN_CORRECT;
}
