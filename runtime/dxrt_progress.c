/*
 * dxrt_progress.c - the progress line of a training loop, and a clock
 * for it.  Host-side (stdio, isatty, clock_gettime); the training
 * arithmetic of dxrt_train.c needs neither.
 */
#include "dxrt.h"

#include <time.h>
#include <unistd.h>

double dxrt_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The digits of n (at least 1). */
static int digits(long n)
{
    int d = 1;
    while (n >= 10 || n <= -10) {
        n /= 10;
        d++;
    }
    return d;
}

void dxrt_progress(FILE *out, long epoch, long epochs, double loss, double accuracy, double grad_norm,
                   double seconds)
{
    char line[200];
    size_t k = (size_t)snprintf(line, sizeof line, "epoch %*ld/%ld  loss %.4f", digits(epochs), epoch, epochs,
                                loss);
    if (accuracy >= 0 && k < sizeof line)
        k += (size_t)snprintf(line + k, sizeof line - k, "  accuracy %5.1f%%", 100 * accuracy);
    if (grad_norm >= 0 && k < sizeof line)
        k += (size_t)snprintf(line + k, sizeof line - k, "  |grad| %.3g", grad_norm);
    if (seconds >= 0 && k < sizeof line) /* a fast loop's time in milliseconds */
        snprintf(line + k, sizeof line - k, seconds < 0.9995 ? "  %.0f ms" : "  %.1f s",
                 seconds < 0.9995 ? 1000 * seconds : seconds);
    if (isatty(fileno(out))) /* one line, rewritten in place: \r, then erase to its end */
        fprintf(out, "\r%s\033[K%s", line, epoch >= epochs ? "\n" : "");
    else
        fprintf(out, "%s\n", line);
    fflush(out);
}
