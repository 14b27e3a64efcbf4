/*
 * fuzz_envelope.c - what Google answers besides success: error envelopes
 * of a non-2xx response in every style (src/transport/envelope.c), the
 * Retry-After header (retry.c), and long-running operations: kind
 * detection, done-ness, their errors (src/gcp/ops.c) and the self-links
 * and names they carry (src/gcp/url.c).
 *
 * Input: byte 0 picks the HTTP status; the first line of the rest is a
 * Retry-After value, the remainder a response body (an error envelope, or
 * an operation).
 */
#include <stdio.h>

#include "edv/ops.h"
#include "fuzz.h"
#include "gcp/gcp.h"
#include "transport/transport.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_quiet_logs();
  return 0;
}

/* The names an operation's fields hold, as the waiter reads them. */
static void op_names(json_object *op)
{
  static const char *const keys[] = {"selfLink", "name",   "targetLink",
                                     "zone",     "region", NULL};
  static const char *const colls[] = {"projects",   "zones",  "regions",
                                      "operations", "global", NULL};
  char buf[128];
  json_object *v;
  size_t i, j;

  for (i = 0; keys[i]; i++) {
    const char *s;
    if (!json_object_object_get_ex(op, keys[i], &v))
      continue;
    s = json_object_get_string(v);
    (void)edv__url_path(s);
    (void)edv__api_from_url(s);
    (void)edv__url_last_segment(s, buf, sizeof(buf));
    (void)edv__zone_from_url(s, buf, sizeof(buf));
    (void)edv__region_from_url(s, buf, sizeof(buf));
    for (j = 0; colls[j]; j++)
      (void)edv__url_segment_after(s, colls[j], buf, sizeof(buf));
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const int status[] = {400, 401, 403, 404, 409, 412, 429, 500,
                               502, 503, 504, 200, 301, 418, 0,   599};
  edv_error err;
  json_object *json, *v;
  char *s, *body;
  size_t body_len;
  int http;

  if (size < 1 || size > 64 * 1024)
    return 0;
  http = status[data[0] & 15];
  s = fuzz_str(data + 1, size - 1);
  body = fuzz_split(s, size - 1, &body_len);
  (void)edv__retry_after_ms(s, 1800000000);
  json = fuzz_json(body, body_len);

  /* A non-2xx answer: the envelope and whether it is retried. */
  edv__error_from_http(http, json, body, body_len, &err);
  (void)edv__retry_error_retryable(&err);

  /* The same body as an operation. */
  if (json && json_object_is_type(json, json_type_object)) {
    edv_op_kind kind = edv_op_detect(json);
    int k;
    for (k = EDV_OP_UNKNOWN; k <= EDV_OP_LRO; k++)
      if (edv_op_is_done((edv_op_kind)k, json) == 1)
        (void)edv_op_error((edv_op_kind)k, json, &err);
    (void)edv_op_kind_name(kind);
    (void)edv__error_from_operation(json, http, &err);
    if (json_object_object_get_ex(json, "error", &v))
      (void)edv__error_from_operation(v, http, &err);
    op_names(json);
  }
  json_object_put(json);
  free(s);
  return 0;
}
