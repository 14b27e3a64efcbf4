/*
 * logapi.c - the log's public face (edv/log.h), in libedv only: the
 * logger itself (log.c) is linked into libedv and into the simulator
 * library, and a program setting the level must reach libedv's.
 */
#include <stdarg.h>

#include "common/log.h"

void edv_log_set_level(edv_log_level level)
{
  edv__log_set_level(level);
}

edv_log_level edv_log_get_level(void)
{
  return edv__log_get_level();
}

void edv_log_set_json(int json)
{
  edv__log_set_json(json);
}

void edv_log(edv_log_level level, const char *module, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  edv__logv(level, module, fmt, ap);
  va_end(ap);
}
