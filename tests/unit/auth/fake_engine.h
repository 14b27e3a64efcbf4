/*
 * fake_engine.h - a scripted stand-in for the transport and the config, so
 * the auth unit tests run without a network or the real engine.
 *
 * edv_call_submit() records the request and answers it from the loop
 * (after `delay_ms`, default 1 ms) with the next scripted reply; an
 * unscripted call gets HTTP 599 with EDV_EUNAVAIL. The config functions
 * are a small key/value list.
 */
#ifndef EDV_TEST_FAKE_ENGINE_H
#define EDV_TEST_FAKE_ENGINE_H

#include <stddef.h>

#include <uv.h>

#include "edv/config.h"
#include "edv/engine.h"

typedef struct fake_req {
  char method[8];
  char *url;
  char *form;    /* NULL when none */
  char *headers; /* "Name: value\n" lines */
  unsigned flags;
  uint64_t timeout_ms;
  edv_api api;
} fake_req;

/* Sets up the loop; the fake engine handle is fake_engine(). */
void fake_init(uv_loop_t *loop);
/* Frees recorded requests and scripts. */
void fake_reset(void);
edv_engine *fake_engine(void);

/* Queues a reply: status 0 means a connection failure (EDV_ECONN). */
void fake_script(int status, const char *body, const char *headers,
                 unsigned delay_ms);
/* What edv_engine_endpoint(EDV_API_OAUTH2) returns (NULL by default). */
void fake_set_oauth2_endpoint(const char *url);
/* Makes the next edv_call_submit() fail synchronously. */
void fake_fail_next_submit(void);

size_t fake_count(void);
const fake_req *fake_get(size_t i);
/* Calls currently waiting for their reply. */
size_t fake_in_flight(void);

/* Config: a fresh one per test. */
edv_config *fake_config(void);

#endif /* EDV_TEST_FAKE_ENGINE_H */
