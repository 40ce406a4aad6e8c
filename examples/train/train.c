/*
 * train.c - trains the 4-16-3 classifier of iris.dx on Fisher's iris
 * flowers with the gradient dxc generates (loss_grad), the runtime's
 * Adam and gradient clipping, and tests it on flowers it never saw.
 *
 *     train [--epochs N] [--seed S] [--lr RATE] [--every K] [--no-time]
 *           [--check-grad] [CSV]
 *
 * CSV (default iris.csv) is the data set as scikit-learn ships it
 * (sklearn/datasets/data/iris.csv): a header line "150,4,NAME0,NAME1,
 * NAME2" (rows, features, the class names), then one flower per line,
 * its four measurements in cm and its class 0, 1 or 2.
 *
 * The program shuffles the flowers with splitmix64 from the seed (so a
 * seed gives the same run everywhere), holds out the first 10 of each
 * class it meets (30 flowers) and trains on the other 120, all in one
 * batch: the features are standardised with the training rows' mean and
 * standard deviation, the weights start from Xavier's uniform draw
 * (the biases at 0), and each epoch is one call of loss_grad (forward and
 * backward pass), one clipping of the gradient to norm 1 and one Adam
 * step.  It prints a progress line every K epochs (dxrt_progress: the
 * loss, the training accuracy, the gradient's norm before clipping and
 * the seconds since the start, which --no-time leaves out), then how
 * many held-out flowers it classifies correctly, and exits 1 when fewer
 * than 28 of the 30 are.  --check-grad instead compares loss_grad at the
 * initial weights with central differences (dxrt_check_grad) and exits.
 *
 * Plain C99, static arrays, no allocation of its own.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dxrt.h"
#include "iris.h"

/* The shapes of iris.dx: NTRAIN is its batch B. */
enum {
    NI = 4, NH = 16, NO = 3,
    NROWS = 150, NTEST = 30, NTRAIN = NROWS - NTEST, TEST_PER_CLASS = NTEST / NO,
    NP = NH * NI + NH + NO * NH + NO,  /* 131 parameters */
    MIN_CORRECT = 28
};

/* The flowers as read, then split and standardised. */
static double feat[NROWS][NI];
static int label[NROWS];
static char names[NO][32];
/* one flat array each (row-major), as the generated functions take them */
static double Xtr[NTRAIN * NI], Ytr[NTRAIN * NO], Xte[NTEST * NI];
static int ytr[NTRAIN], yte[NTEST], rowte[NTEST];

/* The parameters W1, b1, W2, b2 in one vector (row-major matrices), and
 * their gradient and Adam's moments in the same layout. */
static double theta[NP], grad[NP], m1[NP], m2[NP];
#define W1(v) (v)
#define B1(v) ((v) + NH * NI)
#define W2(v) ((v) + NH * NI + NH)
#define B2(v) ((v) + NH * NI + NH + NO * NH)

static const char *prog = "train";

static void die(const char *path, int line, const char *msg, const char *text)
{
    if (line > 0)
        fprintf(stderr, "%s: %s:%d: %s", prog, path, line, msg);
    else
        fprintf(stderr, "%s: %s: %s", prog, path, msg);
    if (text)
        fprintf(stderr, ": '%.60s'", text);
    fputc('\n', stderr);
    exit(1);
}

/* s without its line end (in place). */
static char *chomp(char *s)
{
    s[strcspn(s, "\r\n")] = 0;
    return s;
}

/* Reads the data set into feat, label and names, or exits with a message. */
static void read_csv(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        die(path, 0, "cannot open it", NULL);
    char line[256];
    int lineno = 0, n = 0, counts[NO] = {0};
    while (fgets(line, sizeof line, f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f))
            die(path, lineno, "line too long", NULL);
        chomp(line);
        char *p = line, *end;
        if (lineno == 1) { /* "150,4,setosa,versicolor,virginica" */
            long rows = strtol(p, &end, 10), nf = 0;
            if (end != p && *end == ',')
                nf = strtol(p = end + 1, &end, 10);
            if (end == p || *end != ',' || rows != NROWS || nf != NI)
                die(path, lineno, "expected the header \"150,4,NAME0,NAME1,NAME2\"", line);
            for (int k = 0; k < NO; k++) {
                p = end + 1;
                size_t len = strcspn(p, ",");
                if (len == 0 || len >= sizeof names[k] || (k < NO - 1 && p[len] != ',') ||
                    (k == NO - 1 && p[len] != 0))
                    die(path, lineno, "expected three class names in the header", line);
                memcpy(names[k], p, len);
                names[k][len] = 0;
                end = p + len;
            }
            continue;
        }
        if (n == NROWS)
            die(path, lineno, "more than 150 flowers", NULL);
        for (int j = 0; j < NI; j++) {
            feat[n][j] = strtod(p, &end);
            if (end == p || *end != ',' || !isfinite(feat[n][j]))
                die(path, lineno, "expected four numbers, then the class 0, 1 or 2", line);
            p = end + 1;
        }
        long c = strtol(p, &end, 10);
        if (end == p || *end != 0 || c < 0 || c >= NO)
            die(path, lineno, "expected four numbers, then the class 0, 1 or 2", line);
        label[n++] = (int)c;
        counts[c]++;
    }
    if (ferror(f))
        die(path, 0, "read error", NULL);
    fclose(f);
    if (lineno == 0)
        die(path, 0, "empty file", NULL);
    if (n != NROWS)
        die(path, 0, "fewer than 150 flowers", NULL);
    for (int k = 0; k < NO; k++)
        if (counts[k] <= TEST_PER_CLASS)
            die(path, 0, "a class has 10 flowers or fewer: nothing left to train on", names[k]);
}

/* Shuffles the rows (Fisher-Yates on splitmix64), holds out the first
 * TEST_PER_CLASS of each class, and standardises both sets with the
 * training set's mean and standard deviation. */
static void split(uint64_t *rng)
{
    int order[NROWS], taken[NO] = {0}, ntr = 0, nte = 0;
    for (int i = 0; i < NROWS; i++)
        order[i] = i;
    for (int i = NROWS - 1; i > 0; i--) {
        int j = (int)(dxrt_splitmix64(rng) % (uint64_t)(i + 1)), t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    for (int i = 0; i < NROWS; i++) {
        int r = order[i], c = label[r];
        if (taken[c] < TEST_PER_CLASS) {
            taken[c]++;
            memcpy(&Xte[nte * NI], feat[r], sizeof feat[r]);
            yte[nte] = c;
            rowte[nte++] = r + 1;
        } else {
            memcpy(&Xtr[ntr * NI], feat[r], sizeof feat[r]);
            ytr[ntr] = c;
            Ytr[ntr * NO + c] = 1;
            ntr++;
        }
    }
    for (int j = 0; j < NI; j++) {
        double mean = 0, var = 0;
        for (int i = 0; i < NTRAIN; i++)
            mean += Xtr[i * NI + j];
        mean /= NTRAIN;
        for (int i = 0; i < NTRAIN; i++)
            var += (Xtr[i * NI + j] - mean) * (Xtr[i * NI + j] - mean);
        double sd = sqrt(var / NTRAIN);
        if (!(sd > 0)) {
            fprintf(stderr, "%s: feature %d is the same in every training flower\n", prog, j + 1);
            exit(1);
        }
        for (int i = 0; i < NTRAIN; i++)
            Xtr[i * NI + j] = (Xtr[i * NI + j] - mean) / sd;
        for (int i = 0; i < NTEST; i++)
            Xte[i * NI + j] = (Xte[i * NI + j] - mean) / sd;
    }
}

/* The predicted class of a flower (the largest logit), and its
 * probability (the softmax) in *p. */
static int classify(const double x[NI], double *p)
{
    double z[NO], s = 0;
    int best = 0;
    logits(W1(theta), B1(theta), W2(theta), B2(theta), x, z);
    for (int k = 1; k < NO; k++)
        if (z[k] > z[best])
            best = k;
    for (int k = 0; k < NO; k++)
        s += exp(z[k] - z[best]);
    *p = 1 / s;
    return best;
}

/* The loss of a flat parameter vector, for dxrt_check_grad. */
static double loss_fn(const double *x, void *ctx)
{
    (void)ctx;
    return loss(W1(x), B1(x), W2(x), B2(x), Xtr, Ytr);
}

static void grad_fn(const double *x, double *g, void *ctx)
{
    (void)ctx;
    loss_grad(W1(x), B1(x), W2(x), B2(x), Xtr, Ytr, W1(g), B1(g), W2(g), B2(g));
}

static long number(const char *opt, const char *s, long lo, long hi)
{
    char *end;
    long v = s ? strtol(s, &end, 10) : 0;
    if (!s || end == s || *end || v < lo || v > hi) {
        fprintf(stderr, "%s: %s needs a number from %ld to %ld\n", prog, opt, lo, hi);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    const char *path = "iris.csv";
    long epochs = 100, every = 1, seed = 3;
    double lr = 0.02;
    int show_time = 1, check = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--epochs"))
            epochs = number(a, argv[++i], 1, 1000000);
        else if (!strcmp(a, "--every"))
            every = number(a, argv[++i], 1, 1000000);
        else if (!strcmp(a, "--seed"))
            seed = number(a, argv[++i], 0, 2147483647);
        else if (!strcmp(a, "--lr")) {
            char *end;
            const char *s = argv[++i];
            lr = s ? strtod(s, &end) : 0;
            if (!s || end == s || *end || !(lr > 0 && lr < 10)) {
                fprintf(stderr, "%s: --lr needs a learning rate in (0, 10)\n", prog);
                return 2;
            }
        } else if (!strcmp(a, "--no-time"))
            show_time = 0;
        else if (!strcmp(a, "--check-grad"))
            check = 1;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "usage: %s [--epochs N] [--seed S] [--lr RATE] [--every K] [--no-time] "
                            "[--check-grad] [CSV]\n", prog);
            return 2;
        } else
            path = a;
    }

    read_csv(path);
    uint64_t rng = (uint64_t)seed;
    split(&rng);
    dxrt_init_xavier(NI, NH, W1(theta), NH * NI, &rng);
    dxrt_init_xavier(NH, NO, W2(theta), NO * NH, &rng);

    if (check) {
        dxrt_report rep;
        int st = dxrt_check_grad(loss_fn, grad_fn, NULL, theta, NP, NULL, &rep);
        dxrt_report_print(stdout, "loss_grad", &rep);
        return st != DXRT_PASS;
    }

    printf("%d training flowers, %d held out; a %d-%d-%d network, %d parameters\n", NTRAIN, NTEST,
           NI, NH, NO, NP);
    double *parts[] = {W1(grad), B1(grad), W2(grad), B2(grad)};
    const size_t sizes[] = {NH * NI, NH, NO * NH, NO};
    dxrt_adam opt = dxrt_adam_defaults(lr);
    double t0 = dxrt_seconds();
    for (long t = 1; t <= epochs; t++) {
        double l = loss_grad(W1(theta), B1(theta), W2(theta), B2(theta), Xtr, Ytr,
                             W1(grad), B1(grad), W2(grad), B2(grad));
        double norm = dxrt_clip_grad_norm(1.0, 4, parts, sizes); /* the norm before clipping */
        if (t % every == 0 || t == epochs) { /* the weights the loss was computed at */
            int right = 0;
            double p;
            for (int i = 0; i < NTRAIN; i++)
                right += classify(&Xtr[i * NI], &p) == ytr[i];
            dxrt_progress(stdout, t, epochs, l, (double)right / NTRAIN, norm,
                          show_time ? dxrt_seconds() - t0 : -1);
        }
        dxrt_adam_step(&opt, t, NP, theta, grad, m1, m2);
    }

    int right = 0;
    for (int i = 0; i < NTEST; i++) {
        double p;
        int c = classify(&Xte[i * NI], &p);
        if (c == yte[i])
            right++;
        else
            printf("flower %d: %s taken for %s (p = %.2f)\n", rowte[i], names[yte[i]], names[c], p);
    }
    printf("held-out: %d/%d correct\n", right, NTEST);
    if (right < MIN_CORRECT) {
        fprintf(stderr, "%s: fewer than %d of the %d held-out flowers correct\n", prog, MIN_CORRECT,
                NTEST);
        return 1;
    }
    return 0;
}
