/*
 * log.c - internal logging (see log.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <json-c/json.h>

#include "common/log.h"

static edv_log_level log_level = EDV_LOG_WARN;
static int log_json;
static void (*log_sink)(void *, edv_log_level, const char *);
static void *log_sink_data;

static int log_journal = -1; /* stderr is journald's stream; -1: not known */

static const char *const level_names[] = {"error", "warn", "info", "debug"};
/* Cloud Logging's LogSeverity names and syslog's priorities (the
 * journal's), by level; an error line starting "ALERT " is an alert. */
static const char *const severities[] = {"ERROR", "WARNING", "INFO", "DEBUG"};
static const int priorities[] = {3, 4, 6, 7};
#define ALERT_PREFIX   "ALERT "
#define ALERT_PRIORITY 1

/* The message's fields that become JSON fields of their own. */
static const char *const log_fields[] = {"tenant", "step", "call"};

/* systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connects
 * to stderr; a child whose stderr went elsewhere inherits the variable, so
 * stderr must be that very stream (sd-daemon(3), systemd.exec(5)). */
static int journal_detect(void)
{
  const char *js = getenv("JOURNAL_STREAM");
  unsigned long long dev, ino;
  struct stat st;

  if (!js || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(2, &st) != 0)
    return 0;
  return (unsigned long long)st.st_dev == dev &&
         (unsigned long long)st.st_ino == ino;
}

void edv__log_set_level(edv_log_level level)
{
  log_level = level;
  log_journal = -1;
}

edv_log_level edv__log_get_level(void)
{
  return log_level;
}

void edv__log_set_json(int json)
{
  log_json = json;
  log_journal = -1;
}

/* The value of the message's `key=` token (at its start or after a space
 * or '('), up to a space or one of ",:;)", into out; 0 when absent. */
static int log_field(const char *msg, const char *key, char *out, size_t size)
{
  size_t kl = strlen(key);

  for (const char *p = msg; (p = strstr(p, key)) != NULL; p += kl) {
    size_t n;
    if ((p != msg && p[-1] != ' ' && p[-1] != '(') || p[kl] != '=')
      continue;
    n = strcspn(p + kl + 1, " ,:;)");
    if (n == 0 || n >= size)
      continue;
    memcpy(out, p + kl + 1, n);
    out[n] = '\0';
    return 1;
  }
  return 0;
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
  char line[4096];
  char ts[64];
  struct timespec now;
  struct tm tm;
  int alert;

  if (level > log_level)
    return;
  vsnprintf(msg, sizeof(msg), fmt, ap);

  clock_gettime(CLOCK_REALTIME, &now);
  gmtime_r(&now.tv_sec, &tm);
  snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
           tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
           tm.tm_sec, (int)(now.tv_nsec / 1000000));

  alert = level == EDV_LOG_ERROR &&
          strncmp(msg, ALERT_PREFIX, strlen(ALERT_PREFIX)) == 0;
  if (log_json) {
    json_object *o = json_object_new_object();
    char val[256];

    json_object_object_add(o, "time", json_object_new_string(ts));
    json_object_object_add(
        o, "severity",
        json_object_new_string(alert ? "ALERT" : severities[level]));
    json_object_object_add(o, "module",
                           json_object_new_string(module ? module : ""));
    json_object_object_add(o, "message", json_object_new_string(msg));
    for (size_t i = 0; i < sizeof(log_fields) / sizeof(log_fields[0]); i++)
      if (log_field(msg, log_fields[i], val, sizeof(val)))
        json_object_object_add(o, log_fields[i], json_object_new_string(val));
    snprintf(line, sizeof(line), "%s",
             json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
  } else {
    snprintf(line, sizeof(line), "%s %-5s %s: %s", ts, level_names[level],
             module ? module : "edv", msg);
  }
  if (log_sink) {
    log_sink(log_sink_data, level, line);
    return;
  }
  if (log_journal < 0)
    log_journal = journal_detect();
  /* journald takes the priority from a "<N>" prefix and strips it. */
  if (log_journal)
    fprintf(stderr, "<%d>%s\n", alert ? ALERT_PRIORITY : priorities[level],
            line);
  else
    fprintf(stderr, "%s\n", line);
}
