/*
 * jsonutil.h - the small json-c accessors every API module of the
 * simulator uses. Static inline so each module keeps its short names
 * without a copy of its own.
 */
#ifndef EDV_SIM_JSONUTIL_H
#define EDV_SIM_JSONUTIL_H

#include <stddef.h>

#include <json-c/json.h>

/* o[key] when it is a string, else NULL (also for a NULL or non-object o). */
static inline const char *js(json_object *o, const char *key)
{
  json_object *v;

  if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
      !json_object_is_type(v, json_type_string))
    return NULL;
  return json_object_get_string(v);
}

/* js(), or dflt when the field is absent. */
static inline const char *jsd(json_object *o, const char *key, const char *dflt)
{
  const char *v = js(o, key);

  return v ? v : dflt;
}

/* Length of an array; 0 for anything else (json-c asserts on those). */
static inline size_t alen(json_object *a)
{
  return json_object_is_type(a, json_type_array) ? json_object_array_length(a)
                                                 : 0;
}

/* A deep copy of o (NULL for NULL). */
static inline json_object *copy(json_object *o)
{
  json_object *c = NULL;

  if (o)
    json_object_deep_copy(o, &c, NULL);
  return c;
}

#endif /* EDV_SIM_JSONUTIL_H */
