/*
 * edv/url.h - Google Cloud REST paths and URLs: which API serves one, and
 * their parts (`edvctl api` sends a caller's path through the engine).
 */
#ifndef EDV_URL_H
#define EDV_URL_H

#include <stddef.h>

#include "edv/engine.h"
#include "edv/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The API called `name` ("compute", ..., "oauth2"; edv_api_name()), or
 * EDV_API__COUNT when none is. */
EDV_EXPORT edv_api edv_api_from_name(const char *name);

/*
 * The API that serves `path_or_url`: by host for "*.googleapis.com" URLs,
 * else by path prefix ("/compute/" compute, "/sql/" sqladmin, "/dns/"
 * dns, "/v3/" monitoring, ...). EDV_API_OTHER when unknown.
 */
EDV_EXPORT edv_api edv_api_from_url(const char *path_or_url);

/* The path part of an absolute URL ("https://h:1/a/b?q" -> "/a/b?q"), the
 * string itself when it starts with '/', "/" for a bare "https://host";
 * NULL for anything else. Points into url. */
EDV_EXPORT const char *edv_url_path(const char *url);

/* The segment after the collection `key` ("projects/p/zones/z", "zones"
 * -> "z"), copied into buf: buf, or NULL when absent or too long. */
EDV_EXPORT char *edv_url_segment_after(const char *url, const char *key,
                                       char *buf, size_t size);

#ifdef __cplusplus
}
#endif
#endif /* EDV_URL_H */
