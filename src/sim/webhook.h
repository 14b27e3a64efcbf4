/*
 * webhook.h - the simulator's small asynchronous HTTP/1.1 client for
 * Monitoring's webhook notification channels: one POST of a JSON body to
 * an http:// URL on the libuv loop (name resolution on libuv's thread
 * pool, uv_tcp, Connection: close), answered by the status line, within 5
 * seconds. It never blocks the loop and never logs what it sends (an
 * Authorization header is a secret).
 */
#ifndef EDV_SIM_WEBHOOK_H
#define EDV_SIM_WEBHOOK_H

#include <stddef.h>

#include <uv.h>

typedef struct sim_webhook sim_webhook;

/* status: the HTTP status, or 0 with error set (refused, timed out...). */
typedef void (*sim_webhook_cb)(void *data, int status, const char *error);

/*
 * Starts a POST of body to url ("http://host[:port][/path]") with an
 * optional Authorization header value. cb runs once, later, unless the
 * POST is cancelled. NULL with err filled when the URL is not one this
 * client speaks (cb is not called).
 */
sim_webhook *sim_webhook_post(uv_loop_t *loop, const char *url,
                              const char *authorization, const char *body,
                              sim_webhook_cb cb, void *data, char *err,
                              size_t errn);
/* Stops a POST in flight: cb is not called; the memory goes once libuv
 * has closed the handles. */
void sim_webhook_cancel(sim_webhook *w);

/* "Basic " + base64(user ":" password) into out. */
void sim_webhook_basic(const char *user, const char *password, char *out,
                       size_t n);

#endif
