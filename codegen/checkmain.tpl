/* ---------------- the gradient check (dxc --emit=check) ----------------
 *
 * Checks every function above at seeded random points:
 *   - the gradient (f_grad, or f_vjp with a random out_bar) against
 *     central differences, coordinate by coordinate and along random
 *     directions;
 *   - f_jvp against central differences along the same directions, and
 *     against the gradient by the dot-product test <out_bar, J v> =
 *     <J^T out_bar, v>, which holds to rounding (Griewank & Walther,
 *     Evaluating Derivatives, 2008, ch. 3);
 *   - f_hvp against central differences of the gradient along v, and its
 *     symmetry <u, H v> = <v, H u>;
 *   - that every entry point computes f's own value.
 *
 * The references are central differences in double: of f and the
 * gradient themselves, or for a float model of the double copy of it
 * written above.  A value passes when |ad - ref| <= atol + rtol * scale
 * + noise: scale is
 * the larger magnitude (or, for inner products, the sum of the terms'
 * magnitudes), noise the rounding a central difference divides by its
 * step.  A value that fails is checked again with a step 16 times
 * smaller; if the two differences disagree, f is not smooth at that scale
 * (a kink of relu, abs or max between x - h and x + h, or chaos), and if
 * f(x) is far from the mean of f(x - h) and f(x + h), f jumps at x (a
 * branch that flips there): either way the value is skipped, not failed,
 * and so is a value that is not finite where a derivative overflows.
 * Points are drawn uniformly from [-1, 1)
 * (times -r), then, when f is not finite there, from [0.1, 1), so log and
 * sqrt have a point.
 *
 *   usage: PROGRAM [-s SEED] [-n POINTS] [-c COORDINATES] [-r RANGE]
 *   exit status: 0 every check passed, 1 one failed, 2 a bad argument
 */
int printf(const char *format, ...);

typedef struct {
    const char *name, *cname;   /* the .dx function, and its C name */
    int n, m;                   /* inputs (every parameter, flat) and outputs */
    int np;                     /* parameters */
    const char *const *pname;   /* their names */
    const int *poff;            /* where each starts among the inputs; poff[np] == n */
    const unsigned char *act;   /* per parameter: 1 active, 0 data */
    void (*f)(const dxchk_real *x, dxchk_real *y);
    /* NULL when the entry point was not generated */
    void (*grad)(const dxchk_real *x, const dxchk_real *ybar, dxchk_real *y, dxchk_real *xbar);
    void (*jvp)(const dxchk_real *x, const dxchk_real *v, dxchk_real *y, dxchk_real *ydot);
    void (*hvp)(const dxchk_real *x, const dxchk_real *v, dxchk_real *y, dxchk_real *hv);
    const char *grad_name, *jvp_name, *hvp_name; /* their C names */
    /* the references' f and gradient, in double: f and grad themselves,
     * or with --real=float a double copy of the model (rgrad NULL when
     * there is no gradient) */
    void (*rf)(const double *x, double *y);
    void (*rgrad)(const double *x, const double *ybar, double *y, double *xbar);
} dxchk_fn;

/* The checks, one row of the table each per function. */
enum {
    dxchk_VALUES, dxchk_GRAD_COORD, dxchk_GRAD_DIR, dxchk_JVP_FD, dxchk_DOT, dxchk_HVP_FD,
    dxchk_HVP_SYM, dxchk_NCHECKS
};

/* What one check found: its worst value is the largest fraction of its
 * own tolerance. */
typedef struct {
    long n, failed, skipped, overflow;
    double worst_rel, worst_ratio, ad, ref;
    int where, point; /* the worst: a flat input or output index, or -1 */
    int output;       /* where counts outputs, not inputs */
    int apart;        /* at the worst's point the references' f differs */
    double fy, ry;    /* (the first output that differs: f's and theirs) */
} dxchk_tally;

static dxchk_tally dxchk_rows[dxchk_NFN][dxchk_NCHECKS];
static int dxchk_nofinite[dxchk_NFN];
static unsigned long long dxchk_state;
static double dxchk_range = 1;
static int dxchk_ovf; /* a derivative at this point overflows */
/* The references' f (a float model's double copy) differs from f at
 * this point beyond the tolerance: rounding takes another path there (a
 * branch whose condition is within float rounding of its tie, or
 * chaos), so the accurate derivative is that of another computation.
 * Its output dxchk_apart_k. */
static int dxchk_apart, dxchk_apart_k;

/* splitmix64 (Steele, Lea & Flood, OOPSLA 2014). */
static unsigned long long dxchk_next(void)
{
    unsigned long long z = (dxchk_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1), from the top 53 bits. */
static double dxchk_uniform(void)
{
    return (double)(dxchk_next() >> 11) * 0x1.0p-52 - 1.0;
}

static int dxchk_finite(const dxchk_real *y, int m)
{
    for (int k = 0; k < m; k++)
        if (!isfinite(y[k]))
            return 0;
    return 1;
}

/* |ad - ref| as a fraction of its tolerance (> 1 fails), and in *rel as
 * a fraction of scale. */
static double dxchk_ratio(double ad, double ref, double terms, double noise, int exact, double *rel)
{
    double atol = exact ? dxchk_EXACT_ATOL : dxchk_FD_ATOL;
    double rtol = exact ? dxchk_EXACT_RTOL : dxchk_FD_RTOL;
    double err = fabs(ad - ref);
    double scale = fmax(fmax(fabs(ad), fabs(ref)), terms);
    *rel = scale > 0 ? err / scale : err;
    return err == err ? err / (atol + rtol * scale + noise) : HUGE_VAL;
}

static dxchk_real dxchk_x[dxchk_NMAX], dxchk_v[dxchk_NMAX], dxchk_u[dxchk_NMAX],
    dxchk_xbar[dxchk_NMAX], dxchk_hv[dxchk_NMAX], dxchk_hu[dxchk_NMAX];
static dxchk_real dxchk_y[dxchk_MMAX], dxchk_y2[dxchk_MMAX], dxchk_ybar[dxchk_MMAX],
    dxchk_ydot[dxchk_MMAX];
static int dxchk_coords[dxchk_NMAX];
/* the references' side, in double: x, v and ybar, f and the gradient at
 * x, and at the points the differences take */
static double dxchk_rx[dxchk_NMAX], dxchk_rxs[dxchk_NMAX], dxchk_rv[dxchk_NMAX],
    dxchk_rxbar[dxchk_NMAX], dxchk_rgp[dxchk_NMAX], dxchk_rgm[dxchk_NMAX];
static double dxchk_ry[dxchk_MMAX], dxchk_rybar[dxchk_MMAX], dxchk_ryp[dxchk_MMAX],
    dxchk_rym[dxchk_MMAX];

/* Counts one comparison into a row.  One that is not finite where a
 * derivative overflows is not counted, but tallied as an overflow. */
static void dxchk_record(dxchk_tally *t, double ratio, double rel, double ad, double ref, int where,
                         int output, int point)
{
    if (!isfinite(ratio) && dxchk_ovf) {
        t->overflow++;
        return;
    }
    if (!(ratio <= 1))
        t->failed++;
    if (t->n == 0 || !(ratio <= t->worst_ratio)) {
        t->worst_ratio = ratio;
        t->worst_rel = rel;
        t->ad = ad;
        t->ref = ref;
        t->where = where;
        t->output = output;
        t->point = point;
        t->apart = dxchk_apart;
        t->fy = dxchk_apart ? (double)dxchk_y[dxchk_apart_k] : 0;
        t->ry = dxchk_apart ? dxchk_ry[dxchk_apart_k] : 0;
    }
    t->n++;
}

/* A comparison that holds to rounding: no differences involved. */
static void dxchk_cmp(dxchk_tally *t, double ad, double ref, double terms, int where, int point)
{
    double rel, ratio = dxchk_ratio(ad, ref, terms, 0, 1, &rel);
    dxchk_record(t, ratio, rel, ad, ref, where, where >= 0, point);
}

/* The rounding error of a central difference (in double) of values fp
 * and fm over a distance dx (16 ulps each, for functions that sum many
 * terms). */
static double dxchk_noise(double fp, double fm, double dx)
{
    return 16 * 2.220446049250313e-16 * (fabs(fp) + fabs(fm)) / fabs(dx);
}

/* The values one group of central differences checks (dxchk_judge):
 * the derivative code's value, its terms' magnitudes (for inner
 * products), where it is, and its row (NULL: not checked). */
typedef struct {
    double ad, terms;
    int where, output;
    dxchk_tally *row;
} dxchk_want;
enum { dxchk_LMAX = (dxchk_NMAX > dxchk_MMAX ? dxchk_NMAX : dxchk_MMAX) + 1 };
static dxchk_want dxchk_w[dxchk_LMAX];
static double dxchk_r1[dxchk_LMAX], dxchk_n1[dxchk_LMAX], dxchk_r2[dxchk_LMAX], dxchk_n2[dxchk_LMAX];
static unsigned char dxchk_jp1[dxchk_LMAX], dxchk_jp2[dxchk_LMAX];

/* A random direction over the active inputs (0 on data ones). */
static void dxchk_direction(const dxchk_fn *d, dxchk_real *v)
{
    for (int p = 0; p < d->np; p++)
        for (int i = d->poff[p]; i < d->poff[p + 1]; i++)
            v[i] = d->act[p] ? (dxchk_real)dxchk_uniform() : 0;
}

/* rxs = rx + s * rv. */
static void dxchk_move(const dxchk_fn *d, double s)
{
    for (int i = 0; i < d->n; i++)
        dxchk_rxs[i] = dxchk_rx[i] + s * dxchk_rv[i];
}

/* <ybar, y> over m outputs. */
static double dxchk_phi(const double *y, int m)
{
    double s = 0;
    for (int k = 0; k < m; k++)
        s += dxchk_rybar[k] * y[k];
    return s;
}

/* Is the value c at x far from the mean of its values p and m at x + h
 * and x - h, farther than their difference (f jumps at x: a branch
 * whose condition flips at x itself, an equality test on reals)?  A
 * smooth f is within h^2 f''/2 of it. */
static unsigned char dxchk_jump(double c, double p, double m)
{
    return fabs(c - 0.5 * (p + m)) > 1e-6 * (1 + fabs(c)) + fabs(p - m); /* in double */
}

/* The central differences a group checks, with step h, into r, their
 * rounding into nz and whether f jumps at x into jp, all in double (the
 * references' f and gradient):
 *   'c': <ybar, f> along input i;
 *   'v': <ybar, f> along v, then each output of f along v;
 *   'h': the gradient along v, every input. */
enum { dxchk_COORD = 'c', dxchk_ALONG = 'v', dxchk_HESS = 'h' };
static void dxchk_refs(int kind, const dxchk_fn *d, int i, double h, double *r, double *nz,
                       unsigned char *jp)
{
    if (kind == dxchk_COORD) {
        for (int k = 0; k < d->n; k++)
            dxchk_rxs[k] = dxchk_rx[k];
        double xp = dxchk_rx[i] + h, xm = dxchk_rx[i] - h;
        dxchk_rxs[i] = xp;
        d->rf(dxchk_rxs, dxchk_ryp);
        dxchk_rxs[i] = xm;
        d->rf(dxchk_rxs, dxchk_rym);
        double fp = dxchk_phi(dxchk_ryp, d->m), fm = dxchk_phi(dxchk_rym, d->m);
        r[0] = (fp - fm) / (xp - xm);
        nz[0] = dxchk_noise(fp, fm, xp - xm);
        jp[0] = dxchk_jump(dxchk_phi(dxchk_ry, d->m), fp, fm);
        return;
    }
    if (kind == dxchk_ALONG) {
        dxchk_move(d, h);
        d->rf(dxchk_rxs, dxchk_ryp);
        dxchk_move(d, -h);
        d->rf(dxchk_rxs, dxchk_rym);
        double fp = dxchk_phi(dxchk_ryp, d->m), fm = dxchk_phi(dxchk_rym, d->m);
        r[0] = (fp - fm) / (2 * h);
        nz[0] = dxchk_noise(fp, fm, 2 * h);
        jp[0] = dxchk_jump(dxchk_phi(dxchk_ry, d->m), fp, fm);
        for (int k = 0; k < d->m; k++) {
            r[k + 1] = (dxchk_ryp[k] - dxchk_rym[k]) / (2 * h);
            nz[k + 1] = dxchk_noise(dxchk_ryp[k], dxchk_rym[k], 2 * h);
            jp[k + 1] = dxchk_jump(dxchk_ry[k], dxchk_ryp[k], dxchk_rym[k]);
        }
        return;
    }
    dxchk_move(d, h);
    d->rgrad(dxchk_rxs, dxchk_rybar, dxchk_ryp, dxchk_rgp);
    dxchk_move(d, -h);
    d->rgrad(dxchk_rxs, dxchk_rybar, dxchk_rym, dxchk_rgm);
    for (int k = 0; k < d->n; k++) {
        r[k] = (dxchk_rgp[k] - dxchk_rgm[k]) / (2 * h);
        nz[k] = dxchk_noise(dxchk_rgp[k], dxchk_rgm[k], 2 * h);
        jp[k] = dxchk_jump(dxchk_rxbar[k], dxchk_rgp[k], dxchk_rgm[k]);
    }
}

/* Checks the nw values of dxchk_w against central differences with step
 * h.  A value that fails is checked again with a step 16 times smaller:
 * it passes when it agrees with either difference; it fails when the two
 * differences agree with each other (f is smooth there, so the code is
 * wrong); otherwise f is not smooth at this scale (a kink of relu, abs or
 * max within h, or chaos) and the value is skipped, as it is when f
 * jumps at x itself (dxchk_jump). */
static void dxchk_judge(int kind, const dxchk_fn *d, int nw, int i, double h, int point)
{
    double rel, rel2;
    int again = 0;
    dxchk_refs(kind, d, i, h, dxchk_r1, dxchk_n1, dxchk_jp1);
    for (int k = 0; k < nw; k++) {
        const dxchk_want *w = &dxchk_w[k];
        again |= w->row && !(dxchk_ratio(w->ad, dxchk_r1[k], w->terms, dxchk_n1[k], 0, &rel) <= 1);
    }
    if (again)
        dxchk_refs(kind, d, i, h / 16, dxchk_r2, dxchk_n2, dxchk_jp2);
    for (int k = 0; k < nw; k++) {
        const dxchk_want *w = &dxchk_w[k];
        if (!w->row)
            continue;
        double q = dxchk_ratio(w->ad, dxchk_r1[k], w->terms, dxchk_n1[k], 0, &rel), ref = dxchk_r1[k];
        if (!(q <= 1) && again) {
            double q2 = dxchk_ratio(w->ad, dxchk_r2[k], w->terms, dxchk_n2[k], 0, &rel2);
            double settle = dxchk_ratio(dxchk_r1[k], dxchk_r2[k], 0, dxchk_n1[k] + dxchk_n2[k], 0,
                                        &rel2);
            if (q2 < q || q != q) {
                q = dxchk_ratio(w->ad, dxchk_r2[k], w->terms, dxchk_n2[k], 0, &rel);
                ref = dxchk_r2[k];
            }
            if (!(q <= 1) && (!(settle <= 1) || dxchk_jp1[k] || dxchk_jp2[k])) {
                w->row->skipped++;
                continue;
            }
        }
        dxchk_record(w->row, q, rel, w->ad, ref, w->where, w->output, point);
    }
}

/* Whether any of a[0..n) is infinite or within a factor 2^20 of
 * overflowing. */
static int dxchk_huge(const dxchk_real *a, int n)
{
    for (int i = 0; i < n; i++)
        if (isinf(a[i]) || fabs(a[i]) > dxchk_HUGE)
            return 1;
    return 0;
}

/* f's outputs compared with the value an entry point computed. */
static void dxchk_values(dxchk_tally *row, const dxchk_fn *d, const dxchk_real *y2, int point)
{
    for (int k = 0; k < d->m; k++)
        dxchk_cmp(row, y2[k], dxchk_y[k], 0, k, point);
}

/* A random point where f is finite, into dxchk_x and dxchk_y; 0 when
 * twenty tries found none. */
static int dxchk_draw(const dxchk_fn *d)
{
    for (int try = 0; try < 20; try++) {
        for (int i = 0; i < d->n; i++) {
            double r = dxchk_uniform();
            dxchk_x[i] = (dxchk_real)(dxchk_range * (try < 10 ? r : 0.55 + 0.45 * r));
        }
        d->f(dxchk_x, dxchk_y);
        if (dxchk_finite(dxchk_y, d->m))
            return 1;
    }
    return 0;
}

/* The active inputs checked coordinate by coordinate at one point: all
 * of them, or ncoords drawn at random. */
static int dxchk_pick(const dxchk_fn *d, int ncoords)
{
    int n = 0;
    for (int p = 0; p < d->np; p++)
        for (int i = d->poff[p]; d->act[p] && i < d->poff[p + 1]; i++)
            dxchk_coords[n++] = i;
    if (n <= ncoords)
        return n;
    for (int k = 0; k < ncoords; k++) { /* a partial Fisher-Yates shuffle */
        int j = k + (int)(dxchk_next() % (unsigned long long)(n - k));
        int c = dxchk_coords[k];
        dxchk_coords[k] = dxchk_coords[j];
        dxchk_coords[j] = c;
    }
    return ncoords;
}

/* Every check of function fi at one point. */
static void dxchk_point(int fi, const dxchk_fn *d, int point, int ncoords)
{
    dxchk_tally *row = dxchk_rows[fi];
    if (!dxchk_draw(d)) {
        dxchk_nofinite[fi]++;
        return;
    }
    for (int k = 0; k < d->m; k++)
        dxchk_ybar[k] = (dxchk_real)(d->m == 1 ? 1 : dxchk_uniform());
    dxchk_direction(d, dxchk_v);
    for (int i = 0; i < d->n; i++) {
        dxchk_rx[i] = dxchk_x[i];
        dxchk_rv[i] = dxchk_v[i];
        dxchk_rxbar[i] = 0;
    }
    for (int k = 0; k < d->m; k++)
        dxchk_rybar[k] = dxchk_ybar[k];
    d->rf(dxchk_rx, dxchk_ry);
    dxchk_apart = 0;
    for (int k = 0; k < d->m && !dxchk_apart; k++) {
        double rel;
        dxchk_apart = !(dxchk_ratio(dxchk_y[k], dxchk_ry[k], 0, 0, 0, &rel) <= 1);
        dxchk_apart_k = k;
    }
    if (d->rgrad)
        d->rgrad(dxchk_rx, dxchk_rybar, dxchk_ryp, dxchk_rxbar);
    double big = 1; /* the step along v: dxchk_STEP times the largest input */
    for (int i = 0; i < d->n; i++)
        big = fmax(big, fabs(dxchk_x[i]));
    double h = dxchk_STEP * big;
    for (int i = 0; i < d->n; i++)
        dxchk_xbar[i] = dxchk_hv[i] = dxchk_hu[i] = 0;
    for (int k = 0; k < d->m; k++)
        dxchk_ydot[k] = 0;
    if (d->jvp)
        d->jvp(dxchk_x, dxchk_v, dxchk_y2, dxchk_ydot);
    if (d->hvp) {
        dxchk_direction(d, dxchk_u);
        d->hvp(dxchk_x, dxchk_u, dxchk_y2, dxchk_hu);
        d->hvp(dxchk_x, dxchk_v, dxchk_y2, dxchk_hv);
    }
    if (d->grad)
        d->grad(dxchk_x, dxchk_ybar, dxchk_y2, dxchk_xbar);
    dxchk_ovf = dxchk_huge(dxchk_y, d->m) || dxchk_huge(dxchk_xbar, d->n) ||
                dxchk_huge(dxchk_ydot, d->m) || dxchk_huge(dxchk_hv, d->n) ||
                dxchk_huge(dxchk_hu, d->n);
    if (d->grad) {
        dxchk_values(&row[dxchk_VALUES], d, dxchk_y2, point);
        for (int c = 0, nc = dxchk_pick(d, ncoords); c < nc; c++) {
            int i = dxchk_coords[c];
            dxchk_want w = {dxchk_xbar[i], 0, i, 0, &row[dxchk_GRAD_COORD]};
            dxchk_w[0] = w;
            dxchk_judge(dxchk_COORD, d, 1, i, dxchk_STEP * fmax(1, fabs(dxchk_x[i])), point);
        }
    }
    if (d->jvp) {
        d->jvp(dxchk_x, dxchk_v, dxchk_y2, dxchk_ydot);
        dxchk_values(&row[dxchk_VALUES], d, dxchk_y2, point);
    }
    if (d->hvp) {
        d->hvp(dxchk_x, dxchk_v, dxchk_y2, dxchk_hv);
        dxchk_values(&row[dxchk_VALUES], d, dxchk_y2, point);
    }
    double dot = 0, terms = 0;
    for (int i = 0; i < d->n; i++) {
        dot += (double)dxchk_xbar[i] * dxchk_v[i];
        terms += fabs((double)dxchk_xbar[i] * dxchk_v[i]);
    }
    dxchk_want w = {dot, terms, -1, 0, d->grad ? &row[dxchk_GRAD_DIR] : 0};
    dxchk_w[0] = w;
    for (int k = 0; k < d->m; k++) {
        dxchk_want wk = {dxchk_ydot[k], 0, k, 1, d->jvp ? &row[dxchk_JVP_FD] : 0};
        dxchk_w[k + 1] = wk;
    }
    if (d->grad || d->jvp)
        dxchk_judge(dxchk_ALONG, d, d->m + 1, 0, h, point);
    if (d->grad && d->jvp) {
        double lhs = 0, lterms = 0;
        for (int k = 0; k < d->m; k++) {
            lhs += (double)dxchk_ybar[k] * dxchk_ydot[k];
            lterms += fabs((double)dxchk_ybar[k] * dxchk_ydot[k]);
        }
        dxchk_cmp(&row[dxchk_DOT], lhs, dot, lterms + terms, -1, point);
    }
    if (d->hvp) {
        if (d->rgrad) {
            for (int p = 0; p < d->np; p++)
                for (int i = d->poff[p]; i < d->poff[p + 1]; i++) {
                    dxchk_want wi = {dxchk_hv[i], 0, i, 0, d->act[p] ? &row[dxchk_HVP_FD] : 0};
                    dxchk_w[i] = wi;
                }
            dxchk_judge(dxchk_HESS, d, d->n, 0, h, point);
        }
        double uhv = 0, vhu = 0, hterms = 0;
        for (int i = 0; i < d->n; i++) {
            uhv += (double)dxchk_u[i] * dxchk_hv[i];
            vhu += (double)dxchk_v[i] * dxchk_hu[i];
            hterms += fabs((double)dxchk_u[i] * dxchk_hv[i]) + fabs((double)dxchk_v[i] * dxchk_hu[i]);
        }
        dxchk_cmp(&row[dxchk_HVP_SYM], uhv, vhu, hterms, -1, point);
    }
}

/* Where t's worst value is: "of w[3] at point 2". */
static void dxchk_where(const dxchk_fn *d, const dxchk_tally *t)
{
    if (t->where < 0) {
        printf("at point %d", t->point + 1);
        return;
    }
    if (t->output) {
        if (d->m == 1)
            printf("of the value at point %d", t->point + 1);
        else
            printf("of out[%d] at point %d", t->where, t->point + 1);
        return;
    }
    for (int p = 0; p < d->np; p++)
        if (t->where < d->poff[p + 1]) {
            if (d->poff[p + 1] - d->poff[p] == 1)
                printf("of %s at point %d", d->pname[p], t->point + 1);
            else
                printf("of %s[%d] at point %d", d->pname[p], t->where - d->poff[p], t->point + 1);
            return;
        }
}

/* a, then b, then spaces to width w (and one more). */
static void dxchk_pad(const char *a, const char *b, int w)
{
    int n = printf("%s%s", a, b);
    printf("%*s", n < w ? w - n + 1 : 1, "");
}

/* A non-negative decimal number (digits, maybe a point and more) into
 * *x; 0 when s is not one. */
static int dxchk_number(const char *s, double *x)
{
    double scale = 0;
    int digits = 0;
    for (*x = 0; *s; s++) {
        if (*s == '.' && scale == 0) {
            scale = 1;
            continue;
        }
        if (*s < '0' || *s > '9' || *x > 1e15)
            return 0;
        *x = *x * 10 + (*s - '0');
        scale *= 10;
        digits++;
    }
    if (scale > 0)
        *x /= scale;
    return digits > 0;
}

/* @FUNCTIONS@ */

int main(int argc, char **argv)
{
    double seed = 1, points = 3, coords = 64;
    for (int i = 1; i < argc; i += 2) {
        double *opt = 0;
        if (argv[i][0] == '-' && argv[i][1] && argv[i][2] == 0)
            opt = argv[i][1] == 's'   ? &seed
                  : argv[i][1] == 'n' ? &points
                  : argv[i][1] == 'c' ? &coords
                  : argv[i][1] == 'r' ? &dxchk_range
                                      : 0;
        if (!opt || i + 1 == argc || !dxchk_number(argv[i + 1], opt) ||
            (opt == &seed ? seed != floor(seed) || seed > 1e15
             : opt == &dxchk_range ? !(dxchk_range > 0 && dxchk_range <= 1e6)
                                   : *opt != floor(*opt) || *opt < 1 || *opt > 100000)) {
            printf("usage: %s [-s SEED] [-n POINTS] [-c COORDINATES] [-r RANGE]\n"
                   "  -s SEED         the random points' seed (default 1)\n"
                   "  -n POINTS       points per function (default 3, at most 100000)\n"
                   "  -c COORDINATES  inputs checked one by one per point, at most\n"
                   "                  (default 64; all of them along random directions)\n"
                   "  -r RANGE        points uniform in [-RANGE, RANGE) (default 1)\n",
                   argv[0]);
            return 2;
        }
    }
    printf("gradient check of %s (%s): seed %.0f, %.0f point%s per function\n\n", dxchk_SOURCE,
           dxchk_REAL_NAME, seed, points, points == 1 ? "" : "s");
    dxchk_pad("entry", "", dxchk_NAME_WIDTH);
    dxchk_pad("check", "", 44);
    printf("%8s %14s %8s  %s\n", "compared", "worst rel err", "err/tol", "result");
    int checks = 0, failed = 0, skipped = 0;
    for (int fi = 0; fi < dxchk_NFN; fi++) {
        const dxchk_fn *d = &dxchk_fns[fi];
        dxchk_state = (unsigned long long)seed ^ (0x9E3779B97F4A7C15ULL * (unsigned long long)(fi + 1));
        for (int p = 0; p < (int)points; p++)
            dxchk_point(fi, d, (int)p, (int)coords);
        if (dxchk_nofinite[fi]) {
            dxchk_pad(d->cname, "", dxchk_NAME_WIDTH);
            printf("no point where it is finite (%d of %.0f points)  FAIL\n", dxchk_nofinite[fi],
                   points);
            checks++;
            failed++;
        }
        for (int c = 0; c < dxchk_NCHECKS; c++) {
            const dxchk_tally *t = &dxchk_rows[fi][c];
            if (t->n == 0 && t->skipped == 0 && t->overflow == 0)
                continue;
            int bad = t->failed > 0;
            const char *entry = c == dxchk_VALUES ? d->cname
                                : c <= dxchk_GRAD_DIR ? d->grad_name
                                : c <= dxchk_DOT ? d->jvp_name : d->hvp_name;
            dxchk_pad(entry, "", dxchk_NAME_WIDTH);
            switch (c) {
            case dxchk_VALUES: dxchk_pad("every entry point computes its value", "", 44); break;
            case dxchk_GRAD_COORD: dxchk_pad("central differences, input by input", "", 44); break;
            case dxchk_GRAD_DIR:
            case dxchk_JVP_FD: dxchk_pad("central differences along directions", "", 44); break;
            case dxchk_DOT: dxchk_pad("dot-product test with ", d->grad_name, 44); break;
            case dxchk_HVP_FD: dxchk_pad("central differences of ", d->grad_name, 44); break;
            default: dxchk_pad("symmetry, <u, H v> = <v, H u>", "", 44); break;
            }
            if (t->n)
                printf("%8ld %14.2g %8.2g  %s\n", t->n, t->worst_rel, t->worst_ratio,
                       bad ? "FAIL" : "ok");
            else
                printf("%8d %14s %8s  skipped\n", 0, "-", "-");
            if (t->skipped)
                printf("    %ld more skipped: the central differences did not settle (f is not\n"
                       "    smooth within the step: a kink of relu, abs or max, a branch, chaos;\n"
                       "    try -r)\n",
                       t->skipped);
            if (t->overflow)
                printf("    %ld more skipped: not finite where a derivative overflows (try -r)\n",
                       t->overflow);
            skipped += t->n == 0;
            if (bad) {
                printf("    %ld of %ld out of tolerance; the worst ", t->failed, t->n);
                dxchk_where(d, t);
                printf(": %.17g against %.17g\n", t->ad, t->ref);
                if (t->apart)
                    printf("    there f is %.9g, its double copy %.17g: rounding\n"
                           "    takes another path at that point (a branch within float rounding of\n"
                           "    its tie, or chaos), so the references differentiate another computation\n",
                           t->fy, t->ry);
            }
            checks++;
            failed += bad;
        }
    }
    if (failed)
        printf("\n%d of %d checks FAILED\n", failed, checks);
    else if (skipped)
        printf("\n%d of %d checks passed, %d skipped\n", checks - skipped, checks, skipped);
    else
        printf("\nall %d checks passed\n", checks);
    return failed ? 1 : 0;
}
