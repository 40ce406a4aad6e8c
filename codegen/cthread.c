/*
 * cthread.c - the threads the C generator writes on (cgen.c's writers,
 * cbody.c's second half of a large body): each with a stack as large as
 * the compiler's own, as expressions are written recursively.
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
