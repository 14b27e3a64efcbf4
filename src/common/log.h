/*
 * log.h - internal logging.
 *
 * One line per event to stderr (or a sink set by the embedding program).
 * Format "text" for humans, "json" for edvd's structured logs (fields and
 * journald's priority prefix on stderr: edv/log.h). Never pass a
 * secret (private key, access token, assertion, DB password) to these
 * functions: callers log names and ids, not values.
 */
#ifndef EDV_LOG_H
#define EDV_LOG_H

#include <stdarg.h>

#include "edv/log.h" /* the levels; the programs' edv_log_set_level() */

/* Current threshold; messages above it are dropped. Default WARN. */
void edv__log_set_level(edv_log_level level);
edv_log_level edv__log_get_level(void);

/* 0 = text lines, 1 = JSON lines. This and edv__log_set_level look at
 * JOURNAL_STREAM again (read once, at the first line, otherwise). */
void edv__log_set_json(int json);

/* Redirects output: fn gets the formatted line (no newline). NULL restores
 * stderr. */
void edv__log_set_sink(void (*fn)(void *data, edv_log_level level,
                                  const char *line),
                       void *data);

void edv__log(edv_log_level level, const char *module, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* The same with a va_list (edv_log, src/common/logapi.c). */
void edv__logv(edv_log_level level, const char *module, const char *fmt,
               va_list ap);

#define EDV_LOG_E(mod, ...) edv__log(EDV_LOG_ERROR, mod, __VA_ARGS__)
#define EDV_LOG_W(mod, ...) edv__log(EDV_LOG_WARN, mod, __VA_ARGS__)
#define EDV_LOG_I(mod, ...) edv__log(EDV_LOG_INFO, mod, __VA_ARGS__)
#define EDV_LOG_D(mod, ...)                                                    \
  do {                                                                         \
    if (edv__log_get_level() >= EDV_LOG_DEBUG)                                 \
      edv__log(EDV_LOG_DEBUG, mod, __VA_ARGS__);                               \
  } while (0)

#endif /* EDV_LOG_H */
