/*
 * cnames.c - the C generator's formatted text, name sets and literals:
 * cg_putf, open-addressing sets of names in use, unique names (against C
 * keywords, the C library, the file's functions and each other), and real
 * literals that read back exactly.
 */
#include "cgen.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *cg_real_t(const Cg *c)
{
    return c->o->use_float ? "float" : "double";
}

void cg_fput_quoted(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch < 32 || ch > 126)
            fprintf(out, "\\%03o", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void put_int(Str *s, long long v)
{
    char buf[24], *e = buf + sizeof buf, *p = e;
    unsigned long long u = v < 0 ? 0 - (unsigned long long)v : (unsigned long long)v;
    do
        *--p = (char)('0' + u % 10);
    while (u /= 10);
    if (v < 0)
        *--p = '-';
    cg_put(s, p, (size_t)(e - p));
}

/* Formats straight into the string.  The conversions the generator
 * writes most (%s, %c, %d, %ld, %lld and %%) cg_putf writes itself, in
 * one pass over fmt (vsnprintf costs several hundred instructions a
 * call, about a fifth of dxc's time); at any other conversion it takes
 * back what it wrote and hands the whole format to vsnprintf, into the
 * string's free room, and only when that is too small a second time
 * after making room. */
void cg_putf(Str *s, const char *fmt, ...)
{
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    size_t start = s->n;
    const char *run = fmt, *f = fmt;
    for (; *f; f++) {
        if (*f != '%')
            continue;
        const char *conv = f + 1;
        int longs = 0;
        while (*conv == 'l' && longs < 2) {
            longs++;
            conv++;
        }
        if (*conv == 's' || *conv == 'c' || *conv == '%' ? longs != 0 : *conv != 'd')
            goto general;
        if (f > run)
            cg_put(s, run, (size_t)(f - run));
        switch (*conv) {
        case 's': cg_puts(s, va_arg(ap, const char *)); break;
        case 'c': {
            char ch = (char)va_arg(ap, int);
            cg_put(s, &ch, 1);
            break;
        }
        case 'd':
            put_int(s, longs == 2 ? va_arg(ap, long long) : longs ? va_arg(ap, long) : va_arg(ap, int));
            break;
        default: cg_put(s, "%", 1); break;
        }
        f = conv;
        run = conv + 1;
    }
    if (f > run || !s->p)
        cg_put(s, run, (size_t)(f - run));
    va_end(ap);
    va_end(again);
    return;
general:
    va_end(ap);
    if (s->p) { /* what the simple conversions wrote, taken back */
        s->n = start;
        s->p[start] = 0;
    }
    size_t room = s->cap ? s->cap - s->n : 0;
    int n = vsnprintf(room ? s->p + s->n : NULL, room, fmt, again);
    va_end(again);
    if ((size_t)n >= room) {
        cg_str_reserve(s, (size_t)n);
        va_start(ap, fmt);
        vsnprintf(s->p + s->n, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    s->n += (size_t)n;
}

/* Whether s has the form t<digits>. */
static int tmp_form(const char *s)
{
    if (s[0] != 't' || !s[1])
        return 0;
    for (const char *p = s + 1; *p; p++)
        if (*p < '0' || *p > '9')
            return 0;
    return 1;
}

/* Whether s, of hash hs (dx_hash), is in ns. */
static int has_h(const Names *ns, const char *s, unsigned hs)
{
    if (!ns->cap)
        return 0;
    for (unsigned h = hs & (unsigned)(ns->cap - 1); ns->slot[h].name;
         h = (h + 1) & (unsigned)(ns->cap - 1))
        if (ns->slot[h].hash == hs && !strcmp(ns->slot[h].name, s))
            return 1;
    return 0;
}

static void put_h(Names *ns, const char *s, unsigned hs)
{
    unsigned h = hs & (unsigned)(ns->cap - 1);
    while (ns->slot[h].name)
        h = (h + 1) & (unsigned)(ns->cap - 1);
    ns->slot[h].name = s;
    ns->slot[h].hash = hs;
    ns->n++;
}

/* Room in ns for `more` names beyond those it holds, the table at most
 * half full. */
static void room_h(Names *ns, long more)
{
    if (2 * (ns->n + more) <= ns->cap)
        return;
    NameSlot *old = ns->slot;
    int oc = ns->cap;
    long cap = oc ? oc : 64;
    while (2 * (ns->n + more) > cap)
        cap *= 2;
    ns->cap = (int)cap;
    ns->slot = arena_alloc(ns->a, sizeof(NameSlot) * (size_t)ns->cap);
    ns->n = 0;
    for (int i = 0; i < oc; i++)
        if (old[i].name)
            put_h(ns, old[i].name, old[i].hash);
    arena_drop(ns->a, old, sizeof(NameSlot) * (size_t)oc);
}

static void add_h(Names *ns, const char *s, unsigned hs)
{
    room_h(ns, 1);
    put_h(ns, s, hs);
    ns->tmp_forms |= tmp_form(s);
}

void cg_names_reserve(Names *ns, long n)
{
    room_h(ns, n);
}

int cg_names_has(const Names *ns, const char *s)
{
    return has_h(ns, s, dx_hash(s));
}

void cg_names_add(Names *ns, const char *s)
{
    add_h(ns, s, dx_hash(s));
}

/* The next suffix to try for a base name (so that naming n versions of
 * one variable costs O(n), not O(n^2)). */
static int *next_suffix(Cg *c, const char *base, unsigned hash)
{
    if (2 * (c->nsuffix + 1) > c->suffix_cap) {
        const char **ok = c->suffix_key;
        int *ov = c->suffix_val, oc = c->suffix_cap;
        c->suffix_cap = oc ? 2 * oc : 64;
        c->suffix_key = arena_alloc(c->A, sizeof(char *) * (size_t)c->suffix_cap);
        c->suffix_val = arena_alloc(c->A, sizeof(int) * (size_t)c->suffix_cap);
        c->nsuffix = 0;
        for (int i = 0; i < oc; i++)
            if (ok[i])
                *next_suffix(c, ok[i], dx_hash(ok[i])) = ov[i];
    }
    unsigned h = hash & (unsigned)(c->suffix_cap - 1);
    while (c->suffix_key[h] && strcmp(c->suffix_key[h], base))
        h = (h + 1) & (unsigned)(c->suffix_cap - 1);
    if (!c->suffix_key[h]) {
        c->suffix_key[h] = base;
        c->suffix_val[h] = 2;
        c->nsuffix++;
    }
    return &c->suffix_val[h];
}

/* Whether s is in ns, an unlisted temporary's name (t1 ... t<tmp_unlisted>,
 * written without a leading zero) counting in locals. */
static int taken_h(const Cg *c, const Names *ns, const char *s, unsigned hs)
{
    if (has_h(ns, s, hs))
        return 1;
    if (ns != &c->locals || !c->tmp_unlisted || !tmp_form(s) || s[1] == '0' || strlen(s) > 10)
        return 0;
    return atol(s + 1) <= c->tmp_unlisted;
}

int cg_local_taken(const Cg *c, const char *s)
{
    return taken_h(c, &c->locals, s, dx_hash(s));
}

const char *cg_unique(Cg *c, Names *ns, const char *base)
{
    const char *b = base;
    unsigned h = dx_hash(b);
    int global = ns != &c->globals; /* n may be a global's name too */
    if (sema_c_taken_h(b, h) || has_h(&c->globals, b, h)) {
        b = arena_name(c->A, b, "_", -1);
        h = dx_hash(b);
    } else {
        global = 0; /* b, just looked for there */
    }
    const char *n = b;
    if (taken_h(c, ns, n, h) || (global && has_h(&c->globals, n, h))) {
        int *k = next_suffix(c, b, h);
        do {
            n = arena_name(c->A, b, "_", (*k)++);
            h = dx_hash(n);
        } while (taken_h(c, ns, n, h) || (ns != &c->globals && has_h(&c->globals, n, h)));
    }
    if (ns == &c->locals && tmp_form(n))
        c->t_named = 1;
    add_h(ns, n, h);
    return n;
}

const char *cg_unique_tmp(Cg *c)
{
    const char *n = arena_name(c->A, "t", "", ++c->tmp);
    /* t<k> is no C keyword or reserved name, and no other local has it
     * while none has that form (the temporaries before it were t1 ...
     * t<k-1>): unique unless a global has it */
    if (c->t_named || c->tmp_unlisted != c->tmp - 1 ||
        (c->globals.tmp_forms && has_h(&c->globals, n, dx_hash(n))))
        return cg_unique(c, &c->locals, n);
    c->tmp_unlisted = c->tmp;
    return n;
}

/* ---------------- literals ---------------- */

/* What "%.*g" writes for the integer v (|v| < 2^24) at the smallest
 * precision that reads back as v in double and in float: its digits
 * without trailing zeros, in fixed notation when the exponent is below
 * the precision (C11 7.21.6.1, the g conversion), else as d.ddde+XX.
 * Integers are most of a program's literals, and snprintf with strtod
 * costs a thousand instructions a try. */
static void int_literal(long v, char *buf)
{
    char d[16];
    int n = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    do
        d[n++] = (char)('0' + u % 10);
    while (u /= 10);
    int exp = n - 1, prec = n;
    while (prec > 1 && d[n - prec] == '0')
        prec--;
    char *p = buf;
    if (v < 0)
        *p++ = '-';
    if (exp < prec) {
        for (int i = n - 1; i >= 0; i--)
            *p++ = d[i];
    } else {
        *p++ = d[n - 1];
        if (prec > 1)
            *p++ = '.';
        for (int i = 1; i < prec; i++)
            *p++ = d[n - 1 - i];
        *p++ = 'e';
        *p++ = '+';
        if (exp < 10)
            *p++ = '0';
        p += sprintf(p, "%d", exp);
    }
    *p = 0;
}

static unsigned lit_slot(const struct CgLits *l, uint64_t bits)
{
    unsigned h = (unsigned)((bits ^ (bits >> 32)) * 0x9e3779b97f4a7c15u >> 32) & (unsigned)(l->cap - 1);
    while (l->text[h] && l->key[h] != bits)
        h = (h + 1) & (unsigned)(l->cap - 1);
    return h;
}

static void lit_add(Arena *A, struct CgLits *l, uint64_t bits, const char *text)
{
    if (2 * (l->n + 1) > l->cap) {
        struct CgLits old = *l;
        l->cap = old.cap ? 2 * old.cap : 64;
        l->key = arena_alloc(A, sizeof(uint64_t) * (size_t)l->cap);
        l->text = arena_alloc(A, sizeof(char *) * (size_t)l->cap);
        l->n = 0;
        for (int i = 0; i < old.cap; i++)
            if (old.text[i])
                lit_add(A, l, old.key[i], old.text[i]);
    }
    unsigned h = lit_slot(l, bits);
    l->key[h] = bits;
    l->text[h] = text;
    l->n++;
}

/* The shortest decimal that reads back as v (in float with --real=float),
 * always with a '.' or an exponent so C reads a floating constant. */
void cg_literal(const Cg *c, double v, Str *s)
{
    char buf[64];
    if (v == 0)
        v = 0; /* -0 prints as 0 */
    if (isinf(v)) {
        cg_putf(s, "%sHUGE_VAL%s", v < 0 ? "-" : "", c->o->use_float ? "F" : "");
        return;
    }
    uint64_t bits = 0;
    if (v == (long)v && fabs(v) < 16777216.0) {
        int_literal((long)v, buf);
    } else {
        memcpy(&bits, &v, sizeof bits);
        if (c->lits->cap) {
            unsigned h = lit_slot(c->lits, bits);
            if (c->lits->text[h]) {
                cg_puts(s, c->lits->text[h]);
                return;
            }
        }
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, sizeof buf, "%.*g", prec, v);
            double back = strtod(buf, NULL);
            if (c->o->use_float ? (float)back == (float)v : back == v)
                break;
        }
    }
    if (!strpbrk(buf, ".en"))
        strcat(buf, ".0");
    if (c->o->use_float)
        strcat(buf, "f");
    cg_puts(s, buf);
    if (bits)
        lit_add(c->A, c->lits, bits, arena_strdup(c->A, buf));
}
