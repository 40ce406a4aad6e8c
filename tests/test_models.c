/*
 * test_models.c - the array models of tests/models, end to end: each
 * MODEL.dx is compiled by dxc, the generated C by gcc and clang under
 * -std=c99 -Wall -Wextra -Wpedantic -Werror, linked with -lm and the
 * runtime to the model's own driver (MODEL_driver.c), and run.  The
 * drivers check values against plain C, gradients against hand-derived
 * ones, central differences and the runtime's checkers, and that every
 * gradient output is overwritten (see tests/models/README).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define STRICT "-std=c99 -Wall -Wextra -Wpedantic -Werror"

static const char *env_or(const char *name, const char *dflt)
{
    const char *v = getenv(name);
    return v && *v ? v : dflt;
}

static void setup(void)
{
    tu_tmpdir();
}

static void teardown(void)
{
    tu_cleanup();
}

/* dxc MODEL.dx, then build and run its driver with compiler cc. */
static void run_model(const char *model, const char *cc)
{
    char cmd[8192];
    const char *root = tu_root(), *dir = tu_tmpdir();
    snprintf(cmd, sizeof cmd,
             "cd '%s' && timeout 120 '%s' '%s/tests/models/%s.dx' -o %s.c --header %s.h%s",
             dir, tu_dxc(), root, model, model, model,
             /* spring's driver asserts its tape size through spring_grad_WS_BYTES */
             strcmp(model, "spring") == 0 ? " --workspace" : "");
    char *out = NULL, *err = NULL;
    int st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0, "dxc failed on %s.dx (status %d):\n%s", model, st, err ? err : "");
    free(out);
    free(err);
    /* the driver is compiled where it stands (mlp's includes bench/) */
    snprintf(cmd, sizeof cmd,
             "cd '%s' && %s " STRICT " -O2 -c %s.c -o %s_%s.o && "
             "%s " STRICT " -O2 -I'%s' -I'%s' -c '%s/tests/models/%s_driver.c' -o %s_drv_%s.o && "
             "%s -o %s_%s %s_%s.o %s_drv_%s.o '%s' -lm",
             dir, cc, model, model, cc, cc, env_or("DXRT_DIR", "runtime"), dir, root, model,
             model, cc, cc, model, cc, model, cc, model, cc,
             env_or("DXRT_LIB", "build/libdxrt.a"));
    st = tu_run(cmd, &out, &err);
    ck_assert_msg(st == 0, "%s could not build %s (status %d):\n%s%s", cc, model, st,
                  out ? out : "", err ? err : "");
    free(out);
    free(err);
    snprintf(cmd, sizeof cmd, "cd '%s' && timeout 120 ./%s_%s", dir, model, cc);
    st = tu_run(cmd, &out, &err);
    ck_assert_msg(st != -1, "%s driver built by %s crashed:\n%s", model, cc, out ? out : "");
    ck_assert_msg(st == 0 && out && strstr(out, "done 0\n"),
                  "%s driver built by %s failed (status %d):\n%s%s", model, cc, st,
                  out ? out : "", err ? err : "");
    free(out);
    free(err);
}

static const char *const models[] = {"logistic", "mlp", "gmm", "matfn", "rnn", "lstm", "spring",
                                      "sinx", "flip", "nested"};

START_TEST(test_model_gcc)
{
    run_model(models[_i], "gcc");
}
END_TEST

START_TEST(test_model_clang)
{
    run_model(models[_i], "clang");
}
END_TEST

Suite *suite_models(void);
Suite *suite_models(void)
{
    Suite *s = suite_create("models");
    TCase *tc = tcase_create("models");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    int n = (int)(sizeof models / sizeof *models);
    tcase_add_loop_test(tc, test_model_gcc, 0, n);
    tcase_add_loop_test(tc, test_model_clang, 0, n);
    suite_add_tcase(s, tc);
    return s;
}
