/*
 * cthread.c - writing C on several threads (cgen.c's writers, cbody.c's
 * second half of a large body): the threads, each with a stack as large
 * as the compiler's own, as expressions are written recursively; and
 * what a writer's text calls, merged into the file's.
 */
#include "cgen.h"

int cg_thread(pthread_t *t, void *(*run)(void *), void *arg)
{
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0)
        return 0;
    int ok = pthread_attr_setstacksize(&attr, (size_t)1 << 30) == 0 &&
             pthread_create(t, &attr, run, arg) == 0;
    pthread_attr_destroy(&attr);
    return ok;
}

void cg_merge_used(Cg *c, const int helper_used[H_COUNT], const unsigned char maths_used[2 * CG_MATHS], int ties_used)
{
    c->ties_used |= ties_used;
    for (int h = 0; h < H_COUNT; h++)
        c->helper_used[h] |= helper_used[h];
    for (int m = 0; m < 2 * CG_MATHS; m++)
        c->maths_used[m] |= maths_used[m];
}
