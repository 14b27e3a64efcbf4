/*
 * fuzz.h - helpers shared by the libFuzzer harnesses of tests/fuzz/.
 *
 * Every harness defines LLVMFuzzerTestOneInput() (and may define
 * LLVMFuzzerInitialize()); libFuzzer provides main(). Inputs are raw bytes:
 * the helpers below turn them into the NUL-terminated strings and parsed
 * JSON the library's parsers take, the way the library itself gets them.
 */
#ifndef EDV_FUZZ_H
#define EDV_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* Log lines are formatted (their arguments come from the input) but go
 * nowhere: a fuzzer prints only its findings. */
static void fuzz_log_sink(void *data, edv_log_level level, const char *line)
{
  (void)data;
  (void)level;
  (void)line;
}

static inline void fuzz_quiet_logs(void)
{
  edv__log_set_level(EDV_LOG_DEBUG);
  edv__log_set_sink(fuzz_log_sink, NULL);
}

/* A NUL-terminated heap copy of the input (which may hold NULs). */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
  char *s = malloc(size + 1);

  if (!s)
    abort();
  if (size)
    memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

/* Parses text[0..len) as the transport parses a response body: one JSON
 * value with nothing after it, else NULL. */
static inline json_object *fuzz_json(const char *text, size_t len)
{
  json_tokener *tok = json_tokener_new();
  json_object *o;

  if (!tok)
    abort();
  o = json_tokener_parse_ex(tok, text, (int)len);
  if (o && json_tokener_get_parse_end(tok) < len) {
    json_object_put(o);
    o = NULL;
  }
  json_tokener_free(tok);
  return o;
}

/* Splits the input at the first '\n': *head (NUL-terminated, in place)
 * and the rest. s must be fuzz_str()'s copy. */
static inline char *fuzz_split(char *s, size_t size, size_t *rest_len)
{
  char *nl = memchr(s, '\n', size);

  if (!nl) {
    *rest_len = 0;
    return s + size;
  }
  *nl = '\0';
  *rest_len = size - (size_t)(nl + 1 - s);
  return nl + 1;
}

#endif /* EDV_FUZZ_H */
