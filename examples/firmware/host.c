/*
 * host.c - put() on the host, through stdio: the host build of main.c
 * (make host) prints what the board prints, from the same generated code
 * compiled by the host's C compiler.
 */
#include <stdio.h>

#include "io.h"

void put(const char *s)
{
    fputs(s, stdout);
}
