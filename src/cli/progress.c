/*
 * progress.c - the live view of a tenant's steps, and its plain-lines
 * fallback (progress.h says which is used when).
 *
 * A frame is rendered into memory and written with one fwrite: the cursor
 * goes back up to the frame's first line, every line is rewritten and
 * cleared to its end ("\033[K"), and what an older, taller frame left below
 * is cleared ("\033[J"). Nothing is erased before it is redrawn, so the
 * frame does not flicker. Lines are cut to the terminal's width so that none
 * wraps (a wrapped line would make the cursor-up count wrong).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cli/progress.h"
#include "edv/log.h"

#define VIEW_TICK_MS 200 /* spinner and elapsed-time refresh */
#define VIEW_TITLE_W 34  /* column of the step titles */

/* ---- terminal ------------------------------------------------------------*/

static void view_term_size(const cli_view *v, int *cols, int *rows)
{
  struct winsize ws;

  *cols = 80;
  *rows = 24;
  if (ioctl(fileno(v->ctx->err), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    *cols = ws.ws_col;
    *rows = ws.ws_row > 0 ? ws.ws_row : 24;
  }
}

/* The locale's charset says whether the marks may be UTF-8. */
static int view_utf8(void)
{
  const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};

  for (size_t i = 0; i < sizeof(vars) / sizeof(*vars); i++) {
    const char *s = getenv(vars[i]);
    if (s && *s)
      return strstr(s, "UTF-8") || strstr(s, "utf8") || strstr(s, "UTF8") ||
             strstr(s, "utf-8");
  }
  return 0;
}

static int view_live_possible(const cli_ctx *ctx)
{
  const char *term = getenv("TERM");

  return isatty(fileno(ctx->err)) && !ctx->quiet && !ctx->verbose &&
         ctx->format != CLI_FORMAT_JSON && term && *term &&
         strcmp(term, "dumb") != 0;
}

/* ---- rendering
 * -------------------------------------------------------------*/

/* Copies `src` into dst for display: control characters become spaces and
 * the text is cut to `cols` columns (UTF-8 aware; counts code points). */
static void view_fit(char *dst, size_t size, const char *src, int cols)
{
  size_t o = 0;
  int used = 0;

  for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
    int starts = (*p & 0xC0) != 0x80;
    if (starts && used >= cols)
      break;
    if (o + 1 >= size)
      break;
    used += starts;
    dst[o++] = *p < 0x20 || *p == 0x7f ? ' ' : (char)*p;
  }
  /* Never end inside a multi-byte sequence. */
  while (o > 0 && ((unsigned char)dst[o - 1] & 0xC0) == 0xC0)
    o--;
  dst[o] = '\0';
}

static const char *view_mark(const cli_view *v, int state, const char **color)
{
  static const char *const spin_u[] = {"⠋", "⠙", "⠹", "⠸", "⠼",
                                       "⠴", "⠦", "⠧", "⠇", "⠏"};
  static const char *const spin_a[] = {"|", "/", "-", "\\"};

  switch (state) {
  case CLI_STEP_DONE:
    *color = "\033[32m";
    return v->utf8 ? "✔" : "+";
  case CLI_STEP_FAILED:
    *color = "\033[31m";
    return v->utf8 ? "✘" : "x";
  case CLI_STEP_STOPPED:
    *color = "\033[33m";
    return v->utf8 ? "■" : "#";
  case CLI_STEP_RUNNING:
  case CLI_STEP_RETRYING:
    *color = "\033[33m";
    return v->utf8 ? spin_u[v->spin % 10] : spin_a[v->spin % 4];
  default:
    *color = "\033[2m";
    return v->utf8 ? "·" : ".";
  }
}

/* One step's line (without the newline). */
static void view_step_line(FILE *f, const cli_view *v, const cli_view_step *s,
                           uint64_t now, int cols)
{
  char text[512], fitted[512], right[32] = "";
  const char *color, *mark = view_mark(v, s->state, &color), *note = "";

  switch (s->state) {
  case CLI_STEP_RUNNING:
    snprintf(right, sizeof(right), "%.1fs", (double)(now - s->start_ms) / 1e3);
    note = s->note;
    break;
  case CLI_STEP_RETRYING:
    snprintf(right, sizeof(right), "%.1fs", (double)(now - s->start_ms) / 1e3);
    note = s->note;
    break;
  case CLI_STEP_DONE:
    snprintf(right, sizeof(right), "%.1fs", (double)s->took_ms / 1e3);
    break;
  case CLI_STEP_FAILED:
    snprintf(right, sizeof(right), "failed");
    note = s->note;
    break;
  case CLI_STEP_STOPPED:
    snprintf(right, sizeof(right), "stopped");
    break;
  default:
    break;
  }
  snprintf(text, sizeof(text), "%-*s %8s  %s", VIEW_TITLE_W, s->title, right,
           note);
  /* "  M " takes 4 columns; keep the last column free. */
  view_fit(fitted, sizeof(fitted), text, cols - 5);
  while (*fitted && fitted[strlen(fitted) - 1] == ' ')
    fitted[strlen(fitted) - 1] = '\0';
  if (v->color && s->state == CLI_STEP_PENDING)
    fprintf(f, "  %s%s %s\033[0m", color, mark, fitted);
  else if (v->color)
    fprintf(f, "  %s%s\033[0m %s", color, mark, fitted);
  else
    fprintf(f, "  %s %s", mark, fitted);
}

static void view_counts(const cli_view *v, unsigned *done, unsigned *running,
                        unsigned *failed)
{
  *done = *running = *failed = 0;
  for (unsigned i = 0; i < v->nsteps; i++) {
    int st = v->steps[i].state;
    *done += st == CLI_STEP_DONE;
    *running += st == CLI_STEP_RUNNING || st == CLI_STEP_RETRYING;
    *failed += st == CLI_STEP_FAILED;
  }
}

/* Renders the frame into `f`; returns its number of lines. */
static int view_render(FILE *f, const cli_view *v, uint64_t now, int cols,
                       int rows)
{
  char buf[512];
  unsigned done, running, failed;
  int lines = 0, compact = (int)v->nsteps + 3 > rows - 1;

  view_fit(buf, sizeof(buf), v->heading, cols - 1);
  fprintf(f, "%s%s%s\033[K\n", v->color ? "\033[1m" : "", buf,
          v->color ? "\033[0m" : "");
  lines++;
  for (unsigned i = 0; i < v->nsteps; i++) {
    const cli_view_step *s = &v->steps[i];
    /* A short terminal: only what is moving or broken, as room allows. */
    if (compact && (s->state == CLI_STEP_PENDING || s->state == CLI_STEP_DONE ||
                    lines >= rows - 3))
      continue;
    view_step_line(f, v, s, now, cols);
    fputs("\033[K\n", f);
    lines++;
  }
  view_counts(v, &done, &running, &failed);
  if (v->end_ms)
    snprintf(buf, sizeof(buf), "%s", v->outcome);
  else if (v->stopping)
    snprintf(buf, sizeof(buf),
             "Stopping at a durable point (Ctrl-C again quits at once)...");
  else
    snprintf(buf, sizeof(buf), "%u/%u done, %u running%s%s, %.0fs elapsed",
             done, v->nsteps, running, failed ? ", " : "",
             failed ? "some failed" : "", (double)(now - v->start_ms) / 1e3);
  {
    char fitted[512];
    view_fit(fitted, sizeof(fitted), buf, cols - 1);
    fprintf(f, "%s\033[K\n", fitted);
  }
  lines++;
  return lines;
}

static void view_redraw(cli_view *v)
{
  char *mem = NULL;
  size_t len = 0;
  FILE *f;
  int cols, rows, lines;
  uint64_t now;

  if (v->mode != CLI_VIEW_LIVE)
    return;
  f = open_memstream(&mem, &len);
  if (!f)
    return;
  now = v->end_ms ? v->end_ms : uv_now(v->ctx->loop);
  view_term_size(v, &cols, &rows);
  fputc('\r', f);
  /* A resized terminal may have re-wrapped or scrolled the old frame: the
   * cursor cannot find its top again, so the new frame starts below it. */
  if (v->lines > 0 && cols == v->cols && rows == v->rows)
    fprintf(f, "\033[%dA", v->lines);
  v->cols = cols;
  v->rows = rows;
  lines = view_render(f, v, now, cols, rows);
  fputs("\033[J", f); /* what a taller frame left below */
  fclose(f);
  cli_term_cursor(v->ctx, 0);
  fwrite(mem, 1, len, v->ctx->err);
  fflush(v->ctx->err);
  free(mem);
  v->lines = lines;
}

static void view_on_tick(uv_timer_t *t)
{
  cli_view *v = t->data;

  v->spin++;
  view_redraw(v);
}

/* ---- events
 * ----------------------------------------------------------------*/

static cli_view_step *view_step(cli_view *v, const char *name)
{
  for (unsigned i = 0; name && i < v->nsteps; i++)
    if (strcmp(v->steps[i].name, name) == 0)
      return &v->steps[i];
  return NULL;
}

/* Keeps the start of `text` as the step's note (cut on purpose). */
static void note_set(cli_view_step *s, const char *text)
{
  size_t n = text ? strlen(text) : 0;

  if (n >= sizeof(s->note))
    n = sizeof(s->note) - 1;
  if (n)
    memcpy(s->note, text, n);
  s->note[n] = '\0';
}

/* The plain-lines mode: one line per transition. */
static void view_line(cli_view *v, const edv_event *ev)
{
  cli_ctx *ctx = v->ctx;
  char ebuf[700];
  const char *e =
      ev->error ? edv_error_format(ev->error, ebuf, sizeof(ebuf)) : "";

  switch (ev->kind) {
  case EDV_EVENT_PHASE:
    cli_progress(ctx, "%s: phase %s", ev->tenant, ev->phase);
    break;
  case EDV_EVENT_STEP_START:
    cli_progress(ctx, "%s: %s: started%s", ev->tenant, ev->step,
                 ev->message ? " (retry)" : "");
    break;
  case EDV_EVENT_STEP_DONE:
    cli_progress(ctx, "%s: %s: done (%.1fs)", ev->tenant, ev->step,
                 (double)ev->elapsed_ms / 1e3);
    break;
  case EDV_EVENT_STEP_RETRY:
    cli_progress(ctx, "%s: %s: %s: %s", ev->tenant, ev->step,
                 ev->message ? ev->message : "retrying", e);
    break;
  case EDV_EVENT_STEP_FAIL:
    cli_progress(ctx, "%s: %s: FAILED: %s", ev->tenant, ev->step, e);
    break;
  case EDV_EVENT_INFO:
    if (ctx->verbose)
      cli_progress(ctx, "%s: %s: %s", ev->tenant, ev->step ? ev->step : "-",
                   ev->message ? ev->message : "");
    break;
  default:
    break;
  }
}

void cli_view_event(cli_view *v, const edv_event *ev)
{
  cli_view_step *s;
  uint64_t now = uv_now(v->ctx->loop);

  if (ev->kind == EDV_EVENT_PLAN || ev->kind == EDV_EVENT_CALL ||
      ev->kind == EDV_EVENT_END)
    return;
  if (v->mode == CLI_VIEW_LINES)
    view_line(v, ev);
  if (v->tenant && strcmp(ev->tenant, v->tenant) != 0)
    return;
  if (ev->kind == EDV_EVENT_PHASE && ev->phase)
    snprintf(v->phase, sizeof(v->phase), "%s", ev->phase);
  s = view_step(v, ev->step);
  if (!s)
    return;
  switch (ev->kind) {
  case EDV_EVENT_STEP_START:
    s->state = CLI_STEP_RUNNING;
    s->start_ms = now - ev->elapsed_ms;
    note_set(s, NULL);
    break;
  case EDV_EVENT_STEP_DONE:
    s->state = CLI_STEP_DONE;
    s->took_ms = now - s->start_ms;
    note_set(s, NULL);
    break;
  case EDV_EVENT_STEP_RETRY:
    s->state = CLI_STEP_RETRYING;
    note_set(s, ev->error ? ev->error->message : ev->message);
    break;
  case EDV_EVENT_STEP_FAIL:
    s->state = CLI_STEP_FAILED;
    note_set(s, ev->error ? ev->error->message : ev->message);
    break;
  case EDV_EVENT_INFO:
    if (s->state == CLI_STEP_RUNNING || s->state == CLI_STEP_RETRYING)
      note_set(s, ev->message);
    break;
  default:
    break;
  }
  view_redraw(v);
}

/* ---- life
 * --------------------------------------------------------------------*/

void cli_view_start(cli_view *v, cli_ctx *ctx, const char *tenant,
                    const char *heading, int platform, int live_ok)
{
  const char *nc = getenv("NO_COLOR");

  memset(v, 0, sizeof(*v));
  v->ctx = ctx;
  v->tenant = tenant;
  snprintf(v->heading, sizeof(v->heading), "%s", heading ? heading : "");
  while (v->nsteps < CLI_VIEW_MAX_STEPS &&
         edv_fleet_step(platform, v->nsteps, &v->steps[v->nsteps].name,
                        &v->steps[v->nsteps].title) == 0)
    v->nsteps++;
  v->start_ms = uv_now(ctx->loop);
  if (ctx->quiet || ctx->format == CLI_FORMAT_JSON)
    v->mode = CLI_VIEW_SILENT;
  else if (live_ok && tenant && view_live_possible(ctx))
    v->mode = CLI_VIEW_LIVE;
  else
    v->mode = CLI_VIEW_LINES;
  if (v->mode != CLI_VIEW_LIVE)
    return;
  v->utf8 = view_utf8();
  v->color = !(nc && *nc);
  /* Log lines would tear the frame: only errors while it is drawn. */
  edv_log_set_level(EDV_LOG_ERROR);
  uv_timer_init(ctx->loop, &v->tick);
  v->tick.data = v;
  uv_timer_start(&v->tick, view_on_tick, VIEW_TICK_MS, VIEW_TICK_MS);
  v->tick_on = 1;
  view_redraw(v);
}

void cli_view_stopping(cli_view *v)
{
  if (!v->ctx)
    return;
  v->stopping = 1;
  if (v->mode == CLI_VIEW_LINES)
    cli_progress(v->ctx, "interrupted: stopping at a durable point (Ctrl-C "
                         "again quits at once)");
  view_redraw(v);
}

void cli_view_finish(cli_view *v, int interrupted, const char *fmt, ...)
{
  va_list ap;

  if (v->end_ms || !v->ctx)
    return;
  v->end_ms = uv_now(v->ctx->loop);
  if (v->end_ms == 0)
    v->end_ms = 1;
  for (unsigned i = 0; interrupted && i < v->nsteps; i++)
    if (v->steps[i].state == CLI_STEP_RUNNING ||
        v->steps[i].state == CLI_STEP_RETRYING)
      v->steps[i].state = CLI_STEP_STOPPED;
  va_start(ap, fmt);
  vsnprintf(v->outcome, sizeof(v->outcome), fmt, ap);
  va_end(ap);
  if (v->tick_on)
    uv_timer_stop(&v->tick);
  view_redraw(v);
  if (v->mode == CLI_VIEW_LIVE)
    fputc('\n', v->ctx->err); /* a blank line before the result */
  else if (v->mode == CLI_VIEW_LINES && !interrupted)
    cli_progress(v->ctx, "%s", v->outcome);
  cli_term_cursor(v->ctx, 1);
}

void cli_view_close(cli_view *v)
{
  if (v->tick_on) {
    uv_timer_stop(&v->tick);
    uv_close((uv_handle_t *)&v->tick, NULL);
    v->tick_on = 0;
  }
  if (v->ctx)
    cli_term_cursor(v->ctx, 1);
}
