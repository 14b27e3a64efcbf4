/*
 * edv/log.h - how much libedv logs.
 *
 * libedv writes one line per event to stderr: "text" lines for humans by
 * default. A program linking the shared library sets the threshold here;
 * the library's logger is its own (a copy of the logging code linked into
 * the program would be another logger, which this setting does not reach).
 */
#ifndef EDV_LOG_PUBLIC_H
#define EDV_LOG_PUBLIC_H

#include "edv/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  EDV_LOG_ERROR = 0,
  EDV_LOG_WARN = 1, /* the default */
  EDV_LOG_INFO = 2,
  EDV_LOG_DEBUG = 3,
} edv_log_level;

/* Messages above `level` are dropped from now on. */
EDV_EXPORT void edv_log_set_level(edv_log_level level);

#ifdef __cplusplus
}
#endif
#endif /* EDV_LOG_PUBLIC_H */
