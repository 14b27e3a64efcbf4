/*
 * gcp.h - internal request helpers shared by every Google Cloud client.
 *
 * requestId generation, URL building with percent-encoding, and small
 * parsers for the resource names and self-links the APIs hand back. None of
 * these touch the network or the loop; all are safe to call from anywhere.
 */
#ifndef EDV_GCP_INT_H
#define EDV_GCP_INT_H

#include <stddef.h>

#include "edv/engine.h"

/* Length of a requestId string without its terminating NUL. */
#define EDV__REQUEST_ID_LEN 36

/*
 * Writes a random RFC 4122 version-4 UUID ("xxxxxxxx-xxxx-4xxx-Yxxx-
 * xxxxxxxxxxxx", lowercase hex) into out, which must hold at least 37
 * bytes. Compute and the newer APIs dedupe retried mutations on it, and
 * Compute rejects the all-zero UUID, which a v4 UUID can never be. Returns
 * 0, or -1 when the OpenSSL random generator fails (out is then "").
 */
int edv__request_id(char *out);

/*
 * Percent-encodes `s` for use as one path segment or one query value:
 * everything but the RFC 3986 unreserved set (A-Z a-z 0-9 - . _ ~) becomes
 * %XX. Returns a malloc'd string, or NULL when out of memory or s is NULL.
 */
char *edv__url_escape(const char *s);

/*
 * Builds a path from a template in which every "%s" is replaced by the
 * next argument percent-encoded as one path segment, "%S" by the next
 * argument verbatim (an already-encoded path or name with slashes), and
 * "%%" by '%'. Any other conversion is a bug: the result is NULL. Example:
 *
 *   edv__url_pathf("/compute/v1/projects/%s/zones/%s/instances/%s",
 *                  project, zone, name)
 *
 * Returns a malloc'd string, or NULL when out of memory or when an
 * argument is NULL.
 */
char *edv__url_pathf(const char *fmt, ...);

/*
 * Appends `key=value` to url's query string ('?' first, '&' after), with
 * key and value percent-encoded. Like sds: returns the new string and the
 * old pointer is dead. On out-of-memory returns NULL and frees url, so
 * `url = edv__url_append_query(url, k, v); if (!url) ...` never leaks.
 * A NULL value appends nothing and returns url unchanged.
 */
char *edv__url_append_query(char *url, const char *key, const char *value);

/*
 * The path part of an absolute URL ("https://h:1/a/b?q" -> "/a/b?q"), or
 * the string itself when it already starts with '/', "/" for a bare
 * "https://host". NULL for anything else. Otherwise points into url.
 */
const char *edv__url_path(const char *url);

/*
 * The last path segment of a URL or resource name, ignoring a query string
 * and a trailing slash: ".../zones/us-central1-a" -> "us-central1-a",
 * "us-central1-a" -> "us-central1-a". Copied into buf (NUL-terminated);
 * returns buf, or NULL when the segment does not fit or is empty.
 */
char *edv__url_last_segment(const char *url, char *buf, size_t size);

/*
 * The segment that follows the collection `key` in a URL or resource name:
 * edv__url_segment_after("projects/p/zones/z/operations/o", "zones") ->
 * "z". Copied into buf; returns buf, or NULL when absent or too long.
 */
char *edv__url_segment_after(const char *url, const char *key, char *buf,
                             size_t size);

/*
 * Zone name from a zone URL or a bare zone name ("https://.../zones/
 * europe-west1-b" or "europe-west1-b"). Same for regions. Copied into
 * buf; returns buf or NULL.
 */
char *edv__zone_from_url(const char *zone_url, char *buf, size_t size);
char *edv__region_from_url(const char *region_url, char *buf, size_t size);

/*
 * The API that serves `path_or_url`: by host for "*.googleapis.com" URLs,
 * else by path prefix (/compute/ -> compute, /sql/ -> sqladmin, /dns/ ->
 * dns, /v3/ -> monitoring, /v1/projects/X/locations -> certificatemanager,
 * .../secrets -> secretmanager, .../serviceAccounts -> iam, .../instances
 * and .../operations -> sqladmin, /v1/services and /v1/operations ->
 * servicenetworking, /token -> oauth2). EDV_API_OTHER when unknown.
 */
edv_api edv__api_from_url(const char *path_or_url);

/* The API called `name` ("compute", ...) or EDV_API__COUNT when none. */
edv_api edv__api_from_name(const char *name);

#endif /* EDV_GCP_INT_H */
