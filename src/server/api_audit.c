/*
 * api_audit.c - the audit log (STATE_DIR/audit.log, one JSON line per
 * mutating call) and its bound on requests refused without a valid token.
 *
 * A client without a token can send requests as fast as it likes, and
 * each refused write would cost a line. Their lines are limited per
 * source address: at most AUDIT_ANON_LINES in a window of
 * AUDIT_ANON_WINDOW_MS from the source's first line, and at most
 * AUDIT_ANON_LINES_ALL for every source together; the others are counted,
 * and one summary line per source and window reports them ("N
 * unauthenticated requests suppressed from ADDR in the last S s"), written
 * when the window ends (a timer while anything is pending) or at shutdown.
 * The table of sources is bounded (AUDIT_ANON_SOURCES): the least recently
 * seen one makes room, its count going to one "other addresses" summary.
 * So whatever clients send, a window adds at most AUDIT_ANON_LINES_ALL +
 * AUDIT_ANON_SOURCES + 1 lines, and memory stays fixed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edv/log.h"
#include "server/api.h"

#define MOD "api"

#define AUDIT_ANON_LINES     10  /* per source and window */
#define AUDIT_ANON_LINES_ALL 100 /* every source together, per window */
#define AUDIT_ANON_WINDOW_MS 60000u
#define AUDIT_ANON_SOURCES   256

typedef struct anon_src {
  char addr[EDVD_ADDR_SZ];
  uint64_t start_ms;   /* the window's start (loop clock) */
  unsigned lines;      /* written in this window */
  uint64_t suppressed; /* not written since the last summary */
  uint64_t since_ms;   /* the first of them */
  uint64_t seen_ms;    /* last request (to pick one to forget) */
} anon_src;

/* The unauthenticated sources' bounds: one edvd per process. */
static struct {
  edvd *d;
  anon_src src[AUDIT_ANON_SOURCES];
  unsigned n;
  anon_src all;         /* every source's lines, per window */
  anon_src other;       /* what forgotten sources had suppressed */
  uint64_t other_addrs; /* how many sources that was */
  uv_timer_t timer;     /* reports the windows that ended */
  int timer_init;
} anon;

void edvd_audit_line(edvd *d, json_object *o)
{
  const char *line;
  size_t len;
  char *buf;

  if (d->audit_fd < 0)
    return;
  line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                               JSON_C_TO_STRING_NOSLASHESCAPE);
  len = strlen(line);
  buf = malloc(len + 2);
  if (!buf) {
    edv_log(EDV_LOG_ERROR, MOD, "audit log write failed: out of memory");
    return;
  }
  /* One write(2) on an O_APPEND descriptor: lines never interleave. */
  memcpy(buf, line, len);
  buf[len] = '\n';
  if (write(d->audit_fd, buf, len + 1) != (ssize_t)(len + 1))
    edv_log(EDV_LOG_ERROR, MOD, "audit log write failed");
  free(buf);
}

/* The fields every API line starts with. */
static json_object *audit_head(const char *who, const char *role,
                               const char *source)
{
  json_object *o = json_object_new_object();
  char ts[40];

  api_time(api_wall_ms(), ts, sizeof(ts));
  json_object_object_add(o, "time", json_object_new_string(ts));
  json_object_object_add(o, "who", json_object_new_string(who));
  json_object_object_add(o, "role", json_object_new_string(role));
  json_object_object_add(o, "source", json_object_new_string(source));
  return o;
}

/* Writes the summary of what `s` had suppressed (from `from`), if any. */
static void anon_report(anon_src *s, const char *from, uint64_t now)
{
  json_object *o;
  char msg[200];
  uint64_t secs;

  if (!s->suppressed || !anon.d)
    return;
  secs = (now - s->since_ms + 999) / 1000;
  if (secs == 0)
    secs = 1;
  snprintf(msg, sizeof(msg),
           "%llu unauthenticated requests suppressed from %s in the last "
           "%llu s",
           (unsigned long long)s->suppressed, from, (unsigned long long)secs);
  o = audit_head("-", edv__role_name(EDV_ROLE_NONE), s->addr);
  json_object_object_add(o, "event",
                         json_object_new_string("unauthenticated_suppressed"));
  json_object_object_add(o, "suppressed",
                         json_object_new_int64((int64_t)s->suppressed));
  json_object_object_add(o, "period_s", json_object_new_int64((int64_t)secs));
  json_object_object_add(o, "result", json_object_new_string("denied"));
  json_object_object_add(o, "message", json_object_new_string(msg));
  edvd_audit_line(anon.d, o);
  json_object_put(o);
  edv_log(EDV_LOG_WARN, MOD, "%s", msg);
  s->suppressed = 0;
}

static void anon_report_other(uint64_t now)
{
  char from[64];

  snprintf(from, sizeof(from), "%llu other addresses",
           (unsigned long long)anon.other_addrs);
  anon_report(&anon.other, from, now);
  anon.other_addrs = 0;
}

/* Starts a new window when the one of `s` has ended (reporting it). */
static void anon_roll(anon_src *s, uint64_t now)
{
  if (now - s->start_ms < AUDIT_ANON_WINDOW_MS)
    return;
  anon_report(s, s->addr, now);
  s->start_ms = now;
  s->lines = 0;
}

static void anon_tick(uv_timer_t *t)
{
  uint64_t now = uv_now(t->loop);
  int pending = 0;

  for (unsigned i = 0; i < anon.n; i++) {
    anon_roll(&anon.src[i], now);
    pending |= anon.src[i].suppressed != 0;
  }
  anon_report_other(now);
  if (!pending)
    uv_timer_stop(t);
}

/* The source's entry: found, new, or the least recently seen one reused. */
static anon_src *anon_find(const char *addr, uint64_t now)
{
  anon_src *s = NULL;

  for (unsigned i = 0; i < anon.n; i++)
    if (strcmp(anon.src[i].addr, addr) == 0)
      return &anon.src[i];
  if (anon.n < AUDIT_ANON_SOURCES) {
    s = &anon.src[anon.n++];
  } else {
    s = &anon.src[0];
    for (unsigned i = 1; i < anon.n; i++)
      if (anon.src[i].seen_ms < s->seen_ms)
        s = &anon.src[i];
    if (s->suppressed) {
      if (!anon.other.suppressed)
        anon.other.since_ms = s->since_ms;
      anon.other.suppressed += s->suppressed;
      anon.other_addrs++;
    }
  }
  memset(s, 0, sizeof(*s));
  snprintf(s->addr, sizeof(s->addr), "%s", addr);
  s->start_ms = now;
  return s;
}

/* 1 when the line of a request refused without a valid token from `addr`
 * may be written now; else counts it for the summary. */
static int anon_admit(edvd *d, const char *addr)
{
  uint64_t now = uv_now(d->loop);
  anon_src *s;

  if (!anon.d) {
    anon.d = d;
    anon.all.start_ms = now;
    snprintf(anon.other.addr, sizeof(anon.other.addr), "-");
  }
  s = anon_find(addr, now);
  s->seen_ms = now;
  anon_roll(s, now);
  if (now - anon.all.start_ms >= AUDIT_ANON_WINDOW_MS) {
    anon.all.start_ms = now;
    anon.all.lines = 0;
  }
  if (s->lines < AUDIT_ANON_LINES && anon.all.lines < AUDIT_ANON_LINES_ALL) {
    s->lines++;
    anon.all.lines++;
    return 1;
  }
  if (!s->suppressed++)
    s->since_ms = now;
  if (!anon.timer_init) {
    uv_timer_init(d->loop, &anon.timer);
    uv_unref((uv_handle_t *)&anon.timer);
    anon.timer_init = 1;
  }
  if (!uv_is_active((uv_handle_t *)&anon.timer))
    uv_timer_start(&anon.timer, anon_tick, AUDIT_ANON_WINDOW_MS,
                   AUDIT_ANON_WINDOW_MS);
  return 0;
}

void api_audit(api_ctx *c, unsigned status)
{
  json_object *o;

  if (!c->audit || c->d->audit_fd < 0)
    return;
  if (!c->token_id[0] && !c->basic && !anon_admit(c->d, c->source))
    return;
  o = audit_head(c->who[0] ? c->who : "-", edv__role_name(c->role), c->source);
  if (c->token_id[0])
    json_object_object_add(o, "token_id", json_object_new_string(c->token_id));
  json_object_object_add(o, "method", json_object_new_string(c->method));
  json_object_object_add(o, "path", json_object_new_string(c->path));
  if (c->tenant[0])
    json_object_object_add(o, "tenant", json_object_new_string(c->tenant));
  if (c->idem_key[0])
    json_object_object_add(o, "idempotency_key",
                           json_object_new_string(c->idem_key));
  json_object_object_add(o, "status", json_object_new_int((int)status));
  json_object_object_add(o, "result",
                         json_object_new_string(status < 300 ? "ok"
                                                : status == 401 || status == 403
                                                    ? "denied"
                                                    : "error"));
  edvd_audit_line(c->d, o);
  json_object_put(o);
}

static void anon_timer_closed(uv_handle_t *h)
{
  (void)h;
}

void api_audit_close(edvd *d)
{
  uint64_t now = uv_now(d->loop);

  for (unsigned i = 0; i < anon.n; i++)
    anon_report(&anon.src[i], anon.src[i].addr, now);
  anon_report_other(now);
  anon.n = 0;
  anon.d = NULL;
  if (anon.timer_init) {
    uv_close((uv_handle_t *)&anon.timer, anon_timer_closed);
    anon.timer_init = 0;
  }
}
