/*
 * json.h - reading JSON documents (json-c) by key and dotted path. Built
 * into libedv (hidden) and, for the programs that link the shared library,
 * into their support library edvprog (src/common/meson.build).
 */
#ifndef EDV_COMMON_JSON_H
#define EDV_COMMON_JSON_H

#include <stdint.h>

#include <json-c/json.h>

/* The string at `key` of an object, or NULL (absent, not a string). */
const char *edv__jstr(json_object *obj, const char *key);
/* The value at `path` ("a.b.c") of nested objects, or NULL. */
json_object *edv__jget(json_object *obj, const char *path);
/* The integer at `path` (a JSON integer or a decimal string), or def. */
int64_t edv__jint(json_object *obj, const char *key, int64_t def);
/* Length of a JSON array; 0 for anything else (json-c asserts on those). */
size_t edv__jarr_len(json_object *a);

#endif /* EDV_COMMON_JSON_H */
