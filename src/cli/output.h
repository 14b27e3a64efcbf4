/*
 * output.h - edvctl's structured output, in gcloud's spirit: the same JSON
 * document a command prints with --format json, as YAML (--format yaml) or
 * as the values of some fields, tab-separated (--format
 * "value(id,phase,monthly_cost_estimate.total)"), after --filter and
 * --sort-by have picked and ordered its items.
 *
 * A document's items: the document itself when it is an array; else its
 * one member that is an array of objects ("tenants", "events",
 * "backups"); else the document as the only item.
 *
 * Filters (a subset of gcloud's `topic filters`): terms KEY OP VALUE
 * joined by spaces or AND, OR binding tighter than AND, NOT or - before a
 * term. KEY is a dotted path ("monthly_cost_estimate.total"). OP: `=` and
 * `!=` equal (a `*` in VALUE is a wildcard; strings compared without case),
 * `:` has (a substring of a string, an element of an array, a key of an
 * object; `KEY:*` is presence), `~` and `!~` a regular expression
 * (POSIX extended) found in the value, `<` `<=` `>` `>=` numbers, or
 * strings (RFC 3339 times compare as strings). VALUE bare or "quoted".
 */
#ifndef EDV_CLI_OUTPUT_H
#define EDV_CLI_OUTPUT_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

/* The array of the document's items (borrowed), or NULL when the
 * document is a single item. */
json_object *cli_out_items(json_object *doc);

typedef struct cli_filter cli_filter;

/* Compiles a filter: 0, or -1 with `why` naming the problem. */
int cli_filter_new(const char *expr, cli_filter **out, char *why, size_t size);
void cli_filter_free(cli_filter *f);
/* 1 when `item` passes. */
int cli_filter_match(const cli_filter *f, json_object *item);

/*
 * Keeps the document's items that pass `filter` (NULL: all) and sorts
 * them by `sort_by` ("tier,~created": fields, ~ for descending; NULL:
 * kept in order). A document that is a single item is left alone (the
 * filter does not apply to it). 0, or -1 with `why` filled.
 */
int cli_out_shape(json_object *doc, const char *filter, const char *sort_by,
                  char *why, size_t size);

/* The document as YAML (block style; strings quoted when YAML would read
 * them as something else). */
void cli_out_yaml(FILE *f, json_object *doc);

/* `spec`: "value(F1,F2,...)". Checks it: 0, or -1 with `why` filled. */
int cli_out_value_check(const char *spec, char *why, size_t size);
/* One line per item: the fields' values separated by tabs (arrays joined
 * with ";", objects as JSON, null as ""). */
void cli_out_value(FILE *f, json_object *doc, const char *spec);

/* A table column: its header and the dotted path of its value. */
typedef struct cli_col {
  const char *header; /* "TENANT" */
  const char *field;  /* "id", "monthly_cost_estimate.total" */
} cli_col;

/*
 * The document's items as a table: a header line, then one line per item,
 * each column as wide as its widest cell (the last one unpadded); arrays
 * joined with ",", null and missing values as "-". Nothing but the header
 * when there are no items.
 */
void cli_out_table(FILE *f, json_object *doc, const cli_col *cols,
                   size_t ncols);

#endif /* EDV_CLI_OUTPUT_H */
