/*
 * error.c - names, messages and formatting of edv_error.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "edv/error.h"

const char *edv_err_name(edv_code code)
{
  switch (code) {
#define EDV__ERR_NAME(name, num, msg)                                          \
  case EDV_##name:                                                             \
    return #name;
    EDV_ERRNO_MAP(EDV__ERR_NAME)
#undef EDV__ERR_NAME
  default:
    return "UNKNOWN";
  }
}

const char *edv_strerror(edv_code code)
{
  switch (code) {
#define EDV__ERR_MSG(name, num, msg)                                           \
  case EDV_##name:                                                             \
    return msg;
    EDV_ERRNO_MAP(EDV__ERR_MSG)
#undef EDV__ERR_MSG
  default:
    return "unknown error";
  }
}

void edv_error_clear(edv_error *err)
{
  if (err)
    memset(err, 0, sizeof(*err));
}

edv_code edv_error_set(edv_error *err, edv_code code, const char *fmt, ...)
{
  va_list ap;

  if (!err)
    return code;
  memset(err, 0, sizeof(*err));
  err->code = code;
  if (fmt) {
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
  }
  return code;
}

char *edv_error_format(const edv_error *err, char *buf, unsigned long size)
{
  size_t n;

  if (!buf || size == 0)
    return buf;
  if (!err) {
    snprintf(buf, size, "OK");
    return buf;
  }
  n = (size_t)snprintf(buf, size, "%s", edv_err_name(err->code));
  if (n < size && (err->http_status || err->reason[0])) {
    n += (size_t)snprintf(buf + n, size - n, " (");
    if (n < size && err->http_status)
      n += (size_t)snprintf(buf + n, size - n, "%d%s", err->http_status,
                            err->reason[0] ? " " : "");
    if (n < size && err->reason[0])
      n += (size_t)snprintf(buf + n, size - n, "%s", err->reason);
    if (n < size)
      n += (size_t)snprintf(buf + n, size - n, ")");
  }
  if (n < size)
    n += (size_t)snprintf(buf + n, size - n, ": %s",
                          err->message[0] ? err->message
                                          : edv_strerror(err->code));
  if (n < size && err->where[0])
    snprintf(buf + n, size - n, " [%s]", err->where);
  return buf;
}

int edv_error_is_transient(const edv_error *err)
{
  if (!err)
    return 0;
  switch (err->code) {
  case EDV_EUNAVAIL:
  case EDV_ERATELIMIT:
  case EDV_ECONN:
  case EDV_EOPINPROGRESS:
    return 1;
  case EDV_EINTERNAL:
    /* 500 is retried (google-cloud-cpp maps it to UNAVAILABLE); a failed
     * long-running operation reported as INTERNAL is not. */
    return err->http_status >= 500;
  default:
    return 0;
  }
}
