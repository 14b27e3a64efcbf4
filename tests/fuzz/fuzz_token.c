/*
 * fuzz_token.c - token endpoint and metadata server answers
 * (src/auth/exchange.c, metadata.c): the token response validation both
 * share, the OAuth error body of a refused exchange (with the redaction of
 * the secrets of the request form), and the metadata server's project id.
 *
 * Input: byte 0 picks the HTTP status class and the source, the rest is
 * the body as received.
 */
#include "auth/exchange.c"
#include "fuzz.h"
#include "transport/transport.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_quiet_logs();
  return 0;
}

/* What ex_done() does with a response, minus the transport. */
static void answer(const edv_response *res, edv__fetch *f)
{
  if (ex_oauth_error(res, EDV__AUTH_TOKEN_URI, f))
    return;
  if (!res->error)
    (void)edv__token_response_parse(res->json, EDV__AUTH_TOKEN_URI, f, &f->err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const int status[] = {200, 400, 401, 403, 429, 500, 503, 200};
  edv__fetch f;
  edv_response res;
  edv_error e;
  char *body, msg[512];

  if (size < 1 || size > 64 * 1024)
    return 0;
  body = fuzz_str(data + 1, size - 1);
  memset(&f, 0, sizeof(f));
  memset(&res, 0, sizeof(res));
  /* A form holding secrets the answer may echo back. */
  f.form = strdup("grant_type=refresh_token&client_id=id.apps&client_secret="
                  "d-FL95Q19q7MQmFpd7hHD0Ty&refresh_token=1%2F%2Fsecret-"
                  "refresh-token-value");
  res.http_status = status[data[0] & 7];
  res.raw = body;
  res.raw_len = size - 1;
  res.json = fuzz_json(body, size - 1);
  if (res.http_status >= 300) {
    edv__error_from_http(res.http_status, res.json, body, size - 1, &e);
    res.error = &e;
  }
  if (data[0] & 8) {
    /* The metadata server: same validation, no OAuth error body. */
    if (!res.error)
      (void)edv__token_response_parse(res.json, "metadata server", &f, &f.err);
  } else {
    answer(&res, &f);
  }
  snprintf(msg, sizeof(msg), "%s", f.err.message);
  edv__redact(msg, f.token);
  edv__secret_free(f.token);
  edv__secret_free(f.form);
  json_object_put(res.json);
  free(body);
  return 0;
}
