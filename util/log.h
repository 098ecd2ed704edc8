/* log.h - one logging path for the whole program.
 * Plain lines on stderr: "[pure] message". log_set_quiet(1) keeps only warnings
 * and errors. Progress lines (runner) redraw in place only on a terminal. */
#ifndef PURE_LOG_H
#define PURE_LOG_H

void log_set_quiet(int quiet);
int log_is_quiet(void);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
