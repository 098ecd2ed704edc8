/* log.c - stderr logging with a quiet switch. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static int g_quiet;

void log_set_quiet(int quiet) { g_quiet = quiet; }
int log_is_quiet(void) { return g_quiet; }

static void emit(const char *tag, const char *fmt, va_list ap) {
    fprintf(stderr, "[pure]%s ", tag);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    fflush(stderr);
}

void log_info(const char *fmt, ...) {
    if (g_quiet) return;
    va_list ap;
    va_start(ap, fmt);
    emit("", fmt, ap);
    va_end(ap);
}

void log_warn(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(" warning:", fmt, ap);
    va_end(ap);
}

void log_error(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    emit(" error:", fmt, ap);
    va_end(ap);
}
