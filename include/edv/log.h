/*
 * edv/log.h - libedv's log: one line per event on stderr, as text or as
 * JSON ({time, severity, module, message}, with Cloud Logging's severity
 * names, ALERT for an error message starting "ALERT ", and the message's
 * tenant=, step= and call= tokens as fields of their own). When stderr is
 * the journal's stream (JOURNAL_STREAM), each line starts with its syslog
 * priority ("<3>"), which journald takes and strips. A program linking
 * the library sets its level and format here and writes its own lines
 * into the same log. Never log a secret (a key, a token, a password): log
 * names and ids.
 */
#ifndef EDV_LOG_PUBLIC_H
#define EDV_LOG_PUBLIC_H

#include "edv/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  EDV_LOG_ERROR = 0,
  EDV_LOG_WARN = 1,
  EDV_LOG_INFO = 2,
  EDV_LOG_DEBUG = 3,
} edv_log_level;

/* Lines above `level` are dropped (default EDV_LOG_WARN). */
EDV_EXPORT void edv_log_set_level(edv_log_level level);
EDV_EXPORT edv_log_level edv_log_get_level(void);

/* 0: text lines (the default); 1: JSON lines. */
EDV_EXPORT void edv_log_set_json(int json);

/* Writes one line at `level` for `module` ("edvd"), printf-style. */
EDV_EXPORT void edv_log(edv_log_level level, const char *module,
                        const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

#ifdef __cplusplus
}
#endif
#endif /* EDV_LOG_PUBLIC_H */
