/*
 * json.c - reading JSON documents by key and path (see json.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

const char *edv__jstr(json_object *obj, const char *key)
{
  json_object *v;

  if (!obj || !json_object_is_type(obj, json_type_object) ||
      !json_object_object_get_ex(obj, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

json_object *edv__jget(json_object *obj, const char *path)
{
  char buf[256];
  char *save = NULL, *tok;

  snprintf(buf, sizeof(buf), "%s", path ? path : "");
  for (tok = strtok_r(buf, ".", &save); tok && obj;
       tok = strtok_r(NULL, ".", &save)) {
    json_object *v;
    if (!json_object_is_type(obj, json_type_object) ||
        !json_object_object_get_ex(obj, tok, &v))
      return NULL;
    obj = v;
  }
  return obj;
}

int64_t edv__jint(json_object *obj, const char *key, int64_t def)
{
  json_object *v = edv__jget(obj, key);

  if (!v)
    return def;
  if (json_object_is_type(v, json_type_int))
    return json_object_get_int64(v);
  if (json_object_is_type(v, json_type_string)) {
    char *end;
    long long n = strtoll(json_object_get_string(v), &end, 10);
    return *end ? def : n;
  }
  return def;
}

size_t edv__jarr_len(json_object *a)
{
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}
