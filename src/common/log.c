/*
 * log.c - internal logging (see log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "common/log.h"

static edv_log_level log_level = EDV_LOG_WARN;
static int log_json;
static void (*log_sink)(void *, edv_log_level, const char *);
static void *log_sink_data;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void edv__log_set_level(edv_log_level level)
{
  log_level = level;
}

edv_log_level edv__log_get_level(void)
{
  return log_level;
}

void edv__log_set_json(int json)
{
  log_json = json;
}

void edv__log_set_sink(void (*fn)(void *, edv_log_level, const char *),
                       void *data)
{
  log_sink = fn;
  log_sink_data = data;
}

void edv__log(edv_log_level level, const char *module, const char *fmt, ...)
{
  va_list ap;

  va_start(ap, fmt);
  edv__logv(level, module, fmt, ap);
  va_end(ap);
}

void edv__logv(edv_log_level level, const char *module, const char *fmt,
               va_list ap)
{
  char msg[1024];
  char line[1400];
  char ts[64];
  struct timespec now;
  struct tm tm;

  if (level > log_level)
    return;
  vsnprintf(msg, sizeof(msg), fmt, ap);

  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, (int)(now.tv_nsec / 1000000));

  if (log_json) {
    json_object *o = json_object_new_object();
    json_object_object_add(o, "time", json_object_new_string(ts));
    json_object_object_add(o, "level",
                           json_object_new_string(level_names[level]));
    json_object_object_add(o, "module",
                           json_object_new_string(module ? module : ""));
    json_object_object_add(o, "msg", json_object_new_string(msg));
    snprintf(line, sizeof(line), "%s",
             json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
  } else {
    snprintf(line, sizeof(line), "%s %-5s %s: %s", ts, level_names[level],
             module ? module : "edv", msg);
  }
  if (log_sink)
    log_sink(log_sink_data, level, line);
  else
    fprintf(stderr, "%s\n", line);
}
