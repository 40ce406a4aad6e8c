/*
 * dxrt_train.c - the training loop's arithmetic: PyTorch's SGD and Adam
 * update rules and its gradient clipping by the global norm, on the
 * caller's flat arrays, in double and float (the f variants are the same
 * code, instantiated by the macros below for each real type).
 *
 * The rules follow PyTorch's documentation and its single-tensor
 * implementations (torch/optim/sgd.py, adam.py; torch/nn/utils/
 * clip_grad.py): SGD's momentum buffer starts as the first gradient,
 * which a velocity that starts at zero gives too (0 * momentum + g);
 * Adam's first moment is updated as lerp(m, g, 1 - beta1) = m + (1 -
 * beta1)(g - m), its step is lr / (1 - beta1^t) times m over
 * sqrt(v) / sqrt(1 - beta2^t) + eps; the clipping coefficient is
 * max_norm / (norm + 1e-6), applied when below 1, and the norm is the
 * 2-norm of the parts' 2-norms.  Kingma and Ba, "Adam: a method for
 * stochastic optimization", ICLR 2015, gives the algorithm; Pascanu,
 * Mikolov and Bengio, "On the difficulty of training recurrent neural
 * networks", ICML 2013, the clipping.
 */
#include "dxrt.h"

#include <math.h>

#define SGD(NAME, T)                                                                              \
    void NAME(size_t n, T *param, const T *grad, T *velocity, T lr, T momentum, T weight_decay)  \
    {                                                                                             \
        for (size_t i = 0; i < n; i++) {                                                          \
            T g = grad[i];                                                                        \
            if (weight_decay != 0)                                                                \
                g += weight_decay * param[i];                                                     \
            if (momentum != 0 && velocity) {                                                      \
                velocity[i] = momentum * velocity[i] + g;                                         \
                g = velocity[i];                                                                  \
            }                                                                                     \
            param[i] -= lr * g;                                                                   \
        }                                                                                         \
    }

SGD(dxrt_sgd, double)
SGD(dxrt_sgdf, float)

dxrt_adam dxrt_adam_defaults(double lr)
{
    dxrt_adam o = {lr, 0.9, 0.999, 1e-8, 0};
    return o;
}

dxrt_adamf dxrt_adamf_defaults(float lr)
{
    dxrt_adamf o = {lr, 0.9f, 0.999f, 1e-8f, 0};
    return o;
}

#define ADAM(NAME, OPT, T, POW, SQRT)                                                            \
    void NAME(const OPT *opt, long t, size_t n, T *param, const T *grad, T *m, T *v)              \
    {                                                                                             \
        T bc1 = 1 - POW(opt->beta1, (T)t), bc2 = 1 - POW(opt->beta2, (T)t);                       \
        T step = opt->lr / bc1, bc2_sqrt = SQRT(bc2);                                             \
        for (size_t i = 0; i < n; i++) {                                                          \
            T g = grad[i];                                                                        \
            if (opt->weight_decay != 0)                                                           \
                g += opt->weight_decay * param[i];                                                \
            m[i] += (1 - opt->beta1) * (g - m[i]);                                                \
            v[i] = v[i] * opt->beta2 + (1 - opt->beta2) * g * g;                                  \
            param[i] -= step * (m[i] / (SQRT(v[i]) / bc2_sqrt + opt->eps));                       \
        }                                                                                         \
    }

ADAM(dxrt_adam_step, dxrt_adam, double, pow, sqrt)
ADAM(dxrt_adamf_step, dxrt_adamf, float, powf, sqrtf)

#define NORMS(NAME, T, SQRT)                                                                      \
    T NAME(size_t nparts, const T *const grad[], const size_t n[], T *norms)                      \
    {                                                                                             \
        T total = 0;                                                                              \
        for (size_t k = 0; k < nparts; k++) {                                                     \
            T s = 0;                                                                              \
            for (size_t i = 0; i < n[k]; i++)                                                     \
                s += grad[k][i] * grad[k][i];                                                     \
            T nk = SQRT(s);                                                                       \
            if (norms)                                                                            \
                norms[k] = nk;                                                                    \
            total += nk * nk;                                                                     \
        }                                                                                         \
        return SQRT(total);                                                                       \
    }

NORMS(dxrt_grad_norms, double, sqrt)
NORMS(dxrt_grad_normsf, float, sqrtf)

#define CLIP(NAME, NORMS_FN, T)                                                                   \
    T NAME(T max_norm, size_t nparts, T *const grad[], const size_t n[])                          \
    {                                                                                             \
        T norm = NORMS_FN(nparts, (const T *const *)grad, n, NULL);                               \
        T coef = max_norm / (norm + (T)1e-6);                                                     \
        if (coef < 1)                                                                             \
            for (size_t k = 0; k < nparts; k++)                                                   \
                for (size_t i = 0; i < n[k]; i++)                                                 \
                    grad[k][i] *= coef;                                                           \
        return norm;                                                                              \
    }

CLIP(dxrt_clip_grad_norm, dxrt_grad_norms, double)
CLIP(dxrt_clip_grad_normf, dxrt_grad_normsf, float)

/* ---- initial weights ---- */

/* A standard normal value: the Box-Muller transform (Box and Muller,
 * Ann. Math. Statist. 1958) of two uniform ones in (0, 1]. */
static double normal(uint64_t *state)
{
    double u1 = 0.5 * (1 - dxrt_uniform(state)), u2 = 0.5 * (1 - dxrt_uniform(state));
    return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

#define INIT(XNAME, HNAME, T)                                                                     \
    void XNAME(size_t fan_in, size_t fan_out, T *w, size_t n, uint64_t *state)                    \
    {                                                                                             \
        double a = sqrt(6.0 / (double)(fan_in + fan_out));                                       \
        for (size_t i = 0; i < n; i++)                                                            \
            w[i] = (T)(a * dxrt_uniform(state));                                                  \
    }                                                                                             \
    void HNAME(size_t fan_in, T *w, size_t n, uint64_t *state)                                    \
    {                                                                                             \
        double sd = sqrt(2.0 / (double)fan_in);                                                  \
        for (size_t i = 0; i < n; i++)                                                            \
            w[i] = (T)(sd * normal(state));                                                       \
    }

INIT(dxrt_init_xavier, dxrt_init_he, double)
INIT(dxrt_init_xavierf, dxrt_init_hef, float)
