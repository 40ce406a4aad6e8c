/*
 * cmaths.c - the maths hooks: the generated code calls every <math.h>
 * function through a macro of its own, DX_ and the function's name in
 * capitals (DX_EXP for exp, DX_EXPF for expf, DX_LOG1P for log1p), so
 * that firmware can put its own function in (a CMSIS-DSP routine, a
 * cheaper approximation) without editing the file:
 *
 *   #ifdef DX_MATH_HEADER        a header of the user's, included first,
 *   #include DX_MATH_HEADER      that may define hooks and declare the
 *   #endif                       functions they name
 *   #ifndef DX_EXP               each hook the file calls, the libm
 *   #define DX_EXP exp           function unless defined already
 *   #endif
 *
 * The block follows #include <math.h> and lists only the hooks the file
 * calls, so a file that calls none is as before.  C reserves the library's
 * names as macros once <math.h> is included (C99 7.1.3), so the hooks are
 * names of dxc's own, reserved here against the file's other names.
 */
#include "cgen.h"

#include <stdio.h>
#include <string.h>

/* Every <math.h> function generated code may call: the K_MATH ops' C
 * names (ops.def), and round for the polygamma helpers (cpoly.c). */
static const char *const fns[] = {"pow",   "exp",  "log",   "log1p", "expm1", "sqrt",
                                  "sin",   "cos",  "tan",   "asin",  "acos",  "atan",
                                  "sinh",  "cosh", "tanh",  "erf",   "fabs",  "lgamma",
                                  "atan2", "hypot", "round"};
enum { NFNS = sizeof fns / sizeof fns[0] };
_Static_assert((int)NFNS == (int)CG_MATHS, "CG_MATHS (cgen.h) counts fns");

/* The hook of fns[k], of the float function with fl: "DX_EXPF". */
static void hook_name(char buf[32], int k, int fl)
{
    snprintf(buf, 32, "DX_%s%s", fns[k], fl ? "F" : "");
    for (char *s = buf + 3; *s; s++)
        if (*s >= 'a' && *s <= 'z')
            *s = (char)(*s - 'a' + 'A');
}

static const char *hook(Arena *A, int k, int fl)
{
    char buf[32];
    hook_name(buf, k, fl);
    return arena_strdup(A, buf);
}

const char *cg_maths(Cg *c, const char *fn, int use_float)
{
    if (c->o->no_hooks)
        return use_float ? arena_printf(c->A, "%sf", fn) : fn;
    for (int k = 0; k < NFNS; k++)
        if (!strcmp(fns[k], fn)) {
            int i = 2 * k + use_float;
            c->maths_used[i] = 1;
            if (!c->maths_hook[i])
                c->maths_hook[i] = hook(c->A, k, use_float);
            return c->maths_hook[i];
        }
    BUG("cgen: a maths function without a hook");
}

int cg_maths_hook(const char *name)
{
    char buf[32];
    if (strncmp(name, "DX_", 3) != 0) /* as every hook's name starts */
        return 0;
    for (int k = 0; k < 2 * NFNS; k++) {
        hook_name(buf, k / 2, k % 2);
        if (!strcmp(buf, name))
            return 1;
    }
    return !strcmp(name, "DX_MATH_HEADER");
}

void cg_maths_reserve(Cg *c)
{
    char buf[32];
    for (int k = 0; k < 2 * NFNS; k++) {
        hook_name(buf, k / 2, k % 2);
        if (!cg_names_has(&c->globals, buf))
            cg_names_add(&c->globals, arena_strdup(c->A, buf));
    }
    if (!cg_names_has(&c->globals, "DX_MATH_HEADER"))
        cg_names_add(&c->globals, "DX_MATH_HEADER");
}

void cg_maths_hooks(const Cg *c, FILE *out)
{
    int any = 0;
    for (int k = 0; k < 2 * NFNS; k++)
        any |= c->maths_used[k];
    if (!any)
        return;
    fputs("\n/* Maths hooks: the code calls <math.h> through these macros.  To use\n"
          " * functions of your own, define a hook (-DDX_EXP=my_exp), or name a\n"
          " * header that defines hooks and declares your functions\n"
          " * (-DDX_MATH_HEADER='\"my_math.h\"'). */\n"
          "#ifdef DX_MATH_HEADER\n#include DX_MATH_HEADER\n#endif\n",
          out);
    for (int k = 0; k < NFNS; k++)
        for (int fl = 0; fl < 2; fl++)
            if (c->maths_used[2 * k + fl]) {
                const char *h = hook(c->A, k, fl);
                fprintf(out, "#ifndef %s\n#define %s %s%s\n#endif\n", h, h, fns[k], fl ? "f" : "");
            }
}
