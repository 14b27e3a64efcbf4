/*
 * progress.h - how edvctl shows a tenant's steps while they run.
 *
 * Three modes, chosen when the view starts:
 *  - live: stderr is a terminal (not -q, -v or --format json, TERM not
 *    "dumb"): one line per step (pending, running with its elapsed time,
 *    done with its duration, failed with the error), a header and a footer,
 *    redrawn in place like `docker pull`: each frame is written at once,
 *    cursor hidden, lines cut to the terminal's width. A terminal too short
 *    for every step shows the running and failed ones only.
 *  - lines: one line per transition on stderr, for logs and pipes.
 *  - silent: -q or --format json.
 */
#ifndef EDV_CLI_PROGRESS_H
#define EDV_CLI_PROGRESS_H

#include <stdint.h>

#include "cli/cli.h"
#include "edv/fleet.h"

#define CLI_VIEW_MAX_STEPS 48

enum {
  CLI_STEP_PENDING = 0,
  CLI_STEP_RUNNING = 1,
  CLI_STEP_DONE = 2,
  CLI_STEP_FAILED = 3,
  CLI_STEP_RETRYING = 4,
  CLI_STEP_STOPPED = 5, /* interrupted while running */
};

typedef struct cli_view_step {
  const char *name;  /* "sql_instance" */
  const char *title; /* "Cloud SQL instance" */
  int state;         /* CLI_STEP_* */
  uint64_t start_ms; /* loop time it started */
  uint64_t took_ms;  /* when done */
  char note[160];    /* last info or error */
} cli_view_step;

enum { CLI_VIEW_SILENT = 0, CLI_VIEW_LINES = 1, CLI_VIEW_LIVE = 2 };

typedef struct cli_view {
  cli_ctx *ctx;
  int mode;           /* CLI_VIEW_* */
  const char *tenant; /* the tenant whose steps are shown (NULL: any) */
  char heading[160];  /* "Provisioning school001 (premium, us-central1)" */
  char phase[24];     /* the tenant's phase, from PHASE events */
  cli_view_step steps[CLI_VIEW_MAX_STEPS];
  unsigned nsteps;
  uint64_t start_ms; /* loop time the view started */
  uint64_t end_ms;   /* when finished, else 0 */
  char outcome[200]; /* the footer once finished */
  int lines;         /* lines of the frame on screen */
  int cols, rows;    /* the terminal size when it was drawn */
  int utf8;          /* the terminal takes UTF-8 marks */
  int color;         /* colours (not NO_COLOR) */
  unsigned spin;     /* spinner frame */
  int stopping;      /* Ctrl-C seen; the runs are stopping */
  uv_timer_t tick;   /* redraws elapsed times and the spinner */
  int tick_on;
} cli_view;

/* Starts a view of the steps of a tenant's plan (`platform`: the
 * platform's; edv_fleet_step) for `tenant` (NULL: one line per transition
 * of any tenant, never live). `live_ok` 0 forces lines even on a
 * terminal. */
void cli_view_start(cli_view *v, cli_ctx *ctx, const char *tenant,
                    const char *heading, int platform, int live_ok);

/* Feeds one fleet event (edv_fleet_subscribe's). */
void cli_view_event(cli_view *v, const edv_event *ev);

/* Ctrl-C: the footer says the runs are stopping at a durable point. */
void cli_view_stopping(cli_view *v);

/* Draws the final frame with `outcome` as its footer ("READY in 38.2s");
 * running steps are shown as stopped when `interrupted`. */
void cli_view_finish(cli_view *v, int interrupted, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Stops the timer (closed through the loop) and shows the cursor. */
void cli_view_close(cli_view *v);

#endif /* EDV_CLI_PROGRESS_H */
