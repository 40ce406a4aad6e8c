/*
 * main.c - runs every Check suite of dx.  Each stage has a suite_<stage>()
 * in its own tests/test_<stage>.c; tests/suites.def lists them.
 *
 * Environment: the Makefile sets DXC (the compiler), DXRT_DIR (runtime
 * headers), DXRT_LIB (the runtime archive) and DX_ROOT (the source tree)
 * for the end-to-end suites.
 */
#include <check.h>
#include <stdlib.h>

#include "testutil.h"

#define SUITE(name) Suite *suite_##name(void);
#include "suites.def"
#undef SUITE

int main(void)
{
    SRunner *sr = srunner_create(NULL);
#define SUITE(name) srunner_add_suite(sr, suite_##name());
#include "suites.def"
#undef SUITE
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
