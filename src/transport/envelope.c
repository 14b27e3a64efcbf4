/*
 * envelope.c - Google error envelopes and operation errors -> edv_error.
 *
 * Three body shapes reach us on a non-2xx answer:
 *   - legacy (Compute, Cloud SQL, DNS): {"error":{"code","message",
 *     "errors":[{"domain","reason","message"}]}}, `status` often absent;
 *   - AIP-193: {"error":{"code","message","status","details":[{"@type":
 *     "type.googleapis.com/google.rpc.ErrorInfo","reason",...}]}}, and
 *     mixtures of both (Cloud SQL's 429 carries errors[] and details[]);
 *   - OAuth token endpoints: {"error":"invalid_grant","error_description"}.
 * Anything else (an HTML 502 from a proxy) keeps its status and a short,
 * printable excerpt as the message.
 *
 * The code comes from the HTTP status, refined by the reason: Compute says
 * "rate limited" with a 403, Cloud SQL "busy" with a 409. The legacy reason
 * (camelCase) is kept in edv_error.reason when present, as it is the finer
 * one; otherwise the ErrorInfo reason (UPPER_SNAKE) or the OAuth error.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "transport/transport.h"

static int env_eq(const char *a, const char *b)
{
  return a && b && strcmp(a, b) == 0;
}

static const char *env_str(json_object *obj, const char *key)
{
  json_object *v;

  if (!obj || !json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

/* Any of the three spellings of the same reason. */
static int env_reason_is(const char *reason, const char *info,
                         const char *camel, const char *snake)
{
  return env_eq(reason, camel) || env_eq(info, snake) ||
         env_eq(reason, snake) || env_eq(info, camel);
}

/* 400 is INVALID_ARGUMENT unless the reason says the resource is busy. */
static edv_code env_code_400(const char *reason, const char *info,
                             const char *status)
{
  if (env_reason_is(reason, info, "resourceNotReady", "RESOURCE_NOT_READY"))
    return EDV_ENOTREADY;
  if (env_reason_is(reason, info, "resourceInUseByAnotherResource",
                    "RESOURCE_IN_USE_BY_ANOTHER_RESOURCE"))
    return EDV_EINUSE;
  if (env_eq(status, "FAILED_PRECONDITION"))
    return EDV_EPRECONDITION;
  return EDV_EINVAL;
}

/* Compute signals rate limits and quotas with 403 as well. */
static edv_code env_code_403(const char *reason, const char *info)
{
  if (env_reason_is(reason, info, "rateLimitExceeded", "RATE_LIMIT_EXCEEDED") ||
      env_reason_is(reason, info, "userRateLimitExceeded",
                    "USER_RATE_LIMIT_EXCEEDED"))
    return EDV_ERATELIMIT;
  if (env_reason_is(reason, info, "quotaExceeded", "QUOTA_EXCEEDED"))
    return EDV_EQUOTA;
  return EDV_EPERM;
}

/* 409: exists, busy (Cloud SQL), aborted (etag), or another conflict. */
static edv_code env_code_409(const char *reason, const char *info,
                             const char *status)
{
  if (env_reason_is(reason, info, "alreadyExists", "ALREADY_EXISTS") ||
      env_reason_is(reason, info, "instanceAlreadyExists",
                    "INSTANCE_ALREADY_EXISTS") ||
      env_eq(status, "ALREADY_EXISTS"))
    return EDV_EEXIST;
  if (env_reason_is(reason, info, "operationInProgress",
                    "OPERATION_IN_PROGRESS"))
    return EDV_EOPINPROGRESS;
  if (env_eq(status, "ABORTED"))
    return EDV_EABORTED;
  return EDV_ECONFLICT;
}

/*
 * 429 is a rate limit, except for hard quotas that merely borrow the status:
 * Monitoring's uptime-check limit ("too many configs in project") and any
 * answer whose reason says quotaExceeded. Retrying those cannot help.
 */
static edv_code env_code_429(const char *reason, const char *info,
                             const char *message)
{
  if (env_reason_is(reason, info, "quotaExceeded", "QUOTA_EXCEEDED"))
    return EDV_EQUOTA;
  if (message && strstr(message, "too many configs"))
    return EDV_EQUOTA;
  return EDV_ERATELIMIT;
}

edv_code edv__code_from_http(int http_status, const char *reason,
                             const char *info_reason, const char *status,
                             const char *message)
{
  if (http_status >= 200 && http_status < 300)
    return EDV_OK;
  switch (http_status) {
  case 400:
    return env_code_400(reason, info_reason, status);
  case 401:
    return EDV_EUNAUTH;
  case 403:
    return env_code_403(reason, info_reason);
  case 404:
    return EDV_ENOTFOUND;
  case 408:
    return EDV_EUNAVAIL;
  case 409:
    return env_code_409(reason, info_reason, status);
  case 412:
    return EDV_EPRECONDITION;
  case 413:
    return EDV_EINVAL;
  case 429:
    return env_code_429(reason, info_reason, message);
  case 500:
    return EDV_EINTERNAL;
  case 502:
  case 503:
  case 504: /* a gateway gave up on the backend: try again */
    return EDV_EUNAVAIL;
  case 501:
  case 505:
    return EDV_EHTTP; /* permanent: retrying cannot help */
  default:
    return http_status > 500 && http_status < 600 ? EDV_EINTERNAL : EDV_EHTTP;
  }
}

static const char *const env_rpc_names[] = {
    "OK",
    "CANCELLED",
    "UNKNOWN",
    "INVALID_ARGUMENT",
    "DEADLINE_EXCEEDED",
    "NOT_FOUND",
    "ALREADY_EXISTS",
    "PERMISSION_DENIED",
    "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION",
    "ABORTED",
    "OUT_OF_RANGE",
    "UNIMPLEMENTED",
    "INTERNAL",
    "UNAVAILABLE",
    "DATA_LOSS",
    "UNAUTHENTICATED",
};

const char *edv__rpc_name(int rpc_code)
{
  if (rpc_code < 0 ||
      rpc_code >= (int)(sizeof(env_rpc_names) / sizeof(env_rpc_names[0])))
    return "UNKNOWN";
  return env_rpc_names[rpc_code];
}

edv_code edv__code_from_rpc(int rpc_code)
{
  static const edv_code map[] = {
      EDV_OK,        EDV_ECANCELED,     EDV_EOPFAILED, EDV_EINVAL,
      EDV_ETIMEDOUT, EDV_ENOTFOUND,     EDV_EEXIST,    EDV_EPERM,
      EDV_EQUOTA,    EDV_EPRECONDITION, EDV_EABORTED,  EDV_EINVAL,
      EDV_EOPFAILED, EDV_EINTERNAL,     EDV_EUNAVAIL,  EDV_EOPFAILED,
      EDV_EUNAUTH,
  };

  if (rpc_code < 0 || rpc_code >= (int)(sizeof(map) / sizeof(map[0])))
    return EDV_EOPFAILED;
  return map[rpc_code];
}

/* The reason of the first google.rpc.ErrorInfo in details[], or NULL. */
static const char *env_info_reason(json_object *error)
{
  json_object *details, *d;
  const char *type;
  size_t i, n;

  if (!json_object_object_get_ex(error, "details", &details) ||
      !json_object_is_type(details, json_type_array))
    return NULL;
  n = json_object_array_length(details);
  for (i = 0; i < n; i++) {
    d = json_object_array_get_idx(details, i);
    type = env_str(d, "@type");
    if (type && strstr(type, "google.rpc.ErrorInfo"))
      return env_str(d, "reason");
  }
  return NULL;
}

/* errors[0] of a legacy envelope or operation error, or NULL. */
static json_object *env_first_error(json_object *error)
{
  json_object *errors;

  if (!json_object_object_get_ex(error, "errors", &errors) ||
      !json_object_is_type(errors, json_type_array) ||
      json_object_array_length(errors) == 0)
    return NULL;
  return json_object_array_get_idx(errors, 0);
}

/*
 * Copies a printable, one-line excerpt of a non-JSON body: the <title> of
 * an HTML page when there is one, else the start of the text.
 */
static void env_excerpt(const char *raw, size_t len, char *out, size_t size)
{
  const char *start = raw, *end = raw + len, *t;
  size_t n = 0;

  t = len ? memmem(raw, len, "<title>", 7) : NULL;
  if (t) {
    start = t + 7;
    t = memmem(start, (size_t)(end - start), "</title>", 8);
    if (t)
      end = t;
  }
  while (start < end && isspace((unsigned char)*start))
    start++;
  for (; start < end && n + 1 < size && n < 200; start++) {
    unsigned char c = (unsigned char)*start;
    if (c == '\r' || c == '\n' || c == '\t')
      c = ' ';
    if (c < 0x20 || c == 0x7f)
      continue;
    if (c == ' ' && n && out[n - 1] == ' ')
      continue;
    out[n++] = (char)c;
  }
  while (n && out[n - 1] == ' ')
    n--;
  out[n] = '\0';
}

/* {"error":"invalid_grant","error_description":"..."}: token endpoints. */
static void env_oauth(int http_status, json_object *json, edv_error *out)
{
  const char *error = env_str(json, "error");
  const char *desc = env_str(json, "error_description");

  edv__strlcpy(out->reason, error, sizeof(out->reason));
  snprintf(out->message, sizeof(out->message), "%s%s%s", error,
           desc ? ": " : "", desc ? desc : "");
  /* The server refused our credentials themselves: retrying with the same
   * key cannot help, unlike a 401 on an API call. */
  if (env_eq(error, "invalid_grant") || env_eq(error, "invalid_client") ||
      env_eq(error, "unauthorized_client") || env_eq(error, "invalid_scope"))
    out->code = EDV_ECRED;
  else if (env_eq(error, "temporarily_unavailable") ||
           env_eq(error, "server_error") || env_eq(error, "internal_failure"))
    out->code = EDV_EUNAVAIL;
  else
    out->code = edv__code_from_http(http_status, error, NULL, NULL, desc);
}

/* The {"error":{...}} envelope, legacy or AIP-193 or both. */
static void env_google(int http_status, json_object *error, edv_error *out)
{
  json_object *first = env_first_error(error);
  const char *reason = env_str(first, "reason");
  const char *info = env_info_reason(error);
  const char *status = env_str(error, "status");
  const char *msg = env_str(error, "message");

  if (!msg)
    msg = env_str(first, "message");
  edv__strlcpy(out->status, status, sizeof(out->status));
  edv__strlcpy(out->reason, reason ? reason : info, sizeof(out->reason));
  edv__strlcpy(out->message, msg, sizeof(out->message));
  out->code = edv__code_from_http(http_status, reason, info, status, msg);
}

void edv__error_from_http(int http_status, json_object *json, const char *raw,
                          size_t raw_len, edv_error *out)
{
  json_object *error = NULL;

  edv_error_clear(out);
  out->http_status = http_status;
  if (json && json_object_is_type(json, json_type_object))
    json_object_object_get_ex(json, "error", &error);
  if (error && json_object_is_type(error, json_type_object)) {
    env_google(http_status, error, out);
  } else if (error && json_object_is_type(error, json_type_string)) {
    env_oauth(http_status, json, out);
  } else {
    out->code = edv__code_from_http(http_status, NULL, NULL, NULL, NULL);
    if (raw && raw_len)
      env_excerpt(raw, raw_len, out->message, sizeof(out->message));
  }
  if (!out->message[0])
    snprintf(out->message, sizeof(out->message), "HTTP %d", http_status);
  if (out->code == EDV_OK) /* a 2xx passed in by mistake */
    out->code = EDV_EHTTP;
}

/* UPPER_SNAKE operation error codes (Compute and Cloud SQL). */
static edv_code env_op_code(const char *code, int http_status_hint)
{
  static const struct {
    const char *name;
    edv_code code;
  } map[] = {
      {"RESOURCE_IN_USE_BY_ANOTHER_RESOURCE", EDV_EINUSE},
      {"QUOTA_EXCEEDED", EDV_EQUOTA},
      {"RESOURCE_NOT_READY", EDV_ENOTREADY},
      {"RESOURCE_NOT_FOUND", EDV_ENOTFOUND},
      {"NOT_FOUND", EDV_ENOTFOUND},
      {"ALREADY_EXISTS", EDV_EEXIST},
      {"RESOURCE_ALREADY_EXISTS", EDV_EEXIST},
      {"INSTANCE_ALREADY_EXISTS", EDV_EEXIST},
      {"CONDITION_NOT_MET", EDV_EPRECONDITION},
      {"RATE_LIMIT_EXCEEDED", EDV_ERATELIMIT},
      {"PERMISSION_DENIED", EDV_EPERM},
      {"FORBIDDEN", EDV_EPERM},
      {"INVALID_ARGUMENT", EDV_EINVAL},
      {"INVALID_FIELD_VALUE", EDV_EINVAL},
      {"BAD_REQUEST", EDV_EINVAL},
      {"OPERATION_CANCELED", EDV_ECANCELED},
      {"OPERATION_CANCELLED", EDV_ECANCELED},
  };
  size_t i;

  (void)http_status_hint;
  for (i = 0; code && i < sizeof(map) / sizeof(map[0]); i++)
    if (strcmp(code, map[i].name) == 0)
      return map[i].code;
  return EDV_EOPFAILED;
}

/* Compute and Cloud SQL: {errors:[{code:"UPPER_SNAKE",message}]}. */
static edv_code env_op_errors(json_object *error, int hint, edv_error *out)
{
  json_object *first = env_first_error(error);
  json_object *errors;
  const char *code = env_str(first, "code");
  size_t n = 0;

  json_object_object_get_ex(error, "errors", &errors);
  if (errors && json_object_is_type(errors, json_type_array))
    n = json_object_array_length(errors);
  edv__strlcpy(out->reason, code, sizeof(out->reason));
  if (n > 1)
    snprintf(out->message, sizeof(out->message), "%s (and %zu more)",
             env_str(first, "message") ? env_str(first, "message") : "", n - 1);
  else
    edv__strlcpy(out->message, env_str(first, "message"), sizeof(out->message));
  out->http_status = hint;
  out->code = env_op_code(code, hint);
  return out->code;
}

/* google.longrunning: error is a google.rpc.Status with an rpc code. */
static edv_code env_op_status(json_object *error, edv_error *out)
{
  json_object *c;
  int rpc = 2; /* UNKNOWN */
  const char *info = env_info_reason(error);

  if (json_object_object_get_ex(error, "code", &c))
    rpc = json_object_get_int(c);
  edv__strlcpy(out->status, edv__rpc_name(rpc), sizeof(out->status));
  edv__strlcpy(out->reason, info, sizeof(out->reason));
  edv__strlcpy(out->message, env_str(error, "message"), sizeof(out->message));
  out->code = edv__code_from_rpc(rpc);
  if (out->code == EDV_OK)
    out->code = EDV_EOPFAILED; /* an error object claiming OK */
  return out->code;
}

edv_code edv__error_from_operation(json_object *op_error, int http_status_hint,
                                   edv_error *out)
{
  json_object *inner, *hint;
  edv_error scratch;

  if (!out)
    out = &scratch;
  edv_error_clear(out);
  if (!op_error || !json_object_is_type(op_error, json_type_object))
    return EDV_OK;
  /* A whole operation: take its error and Compute's HTTP status. */
  if (json_object_object_get_ex(op_error, "error", &inner)) {
    if (json_object_object_get_ex(op_error, "httpErrorStatusCode", &hint))
      http_status_hint = json_object_get_int(hint);
    op_error = inner;
    if (!json_object_is_type(op_error, json_type_object))
      return EDV_OK;
  }
  if (json_object_object_get_ex(op_error, "errors", &inner))
    env_op_errors(op_error, http_status_hint, out);
  else if (json_object_object_get_ex(op_error, "code", &inner) ||
           json_object_object_get_ex(op_error, "message", &inner))
    env_op_status(op_error, out);
  else
    return EDV_OK;
  if (!out->message[0])
    edv__strlcpy(out->message, edv_strerror(out->code), sizeof(out->message));
  return out->code;
}
