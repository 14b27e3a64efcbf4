/*
 * schema.c - walks a request body against a generated discovery table
 * (see schema.h).
 */
#include <stdio.h>
#include <string.h>

#include "sim/schema.h"

const sim_schema_type *sim_schema_find(const sim_schema_type *table,
                                       const char *name)
{
  size_t lo = 0, hi = 0;

  if (table == NULL || name == NULL)
    return NULL;
  while (table[hi].name)
    hi++;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(table[mid].name, name);

    if (c == 0)
      return &table[mid];
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static const sim_schema_prop *prop_find(const sim_schema_type *t,
                                        const char *name)
{
  for (const sim_schema_prop *p = t->props; p->name; p++)
    if (strcmp(p->name, name) == 0)
      return p;
  return NULL;
}

/* The proto type name Google prints in "Invalid value at" messages. */
static const char *type_label(char type)
{
  switch (type) {
  case 's':
    return "TYPE_STRING";
  case 'i':
    return "TYPE_INT32";
  case 'n':
    return "TYPE_DOUBLE";
  case 'b':
    return "TYPE_BOOL";
  default:
    return "TYPE_MESSAGE";
  }
}

/* 1 when v may stand for a scalar of this type in proto3 JSON (which
 * also accepts numbers written as strings). */
static int scalar_ok(char type, json_object *v)
{
  json_type jt = json_object_get_type(v);

  if (jt == json_type_null)
    return 1;
  switch (type) {
  case 's':
    return jt == json_type_string;
  case 'i':
  case 'n':
    return jt == json_type_int || jt == json_type_double ||
           jt == json_type_string;
  case 'b':
    return jt == json_type_boolean;
  default:
    return 1;
  }
}

static int bad_value(sim_resp *resp, const char *at, char type, json_object *v)
{
  sim_err(resp, 400, "invalid", "Invalid value at '%s' (%s), %s", at,
          type_label(type),
          json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
  return -1;
}

static int check_object(sim_resp *resp, const sim_schema_type *table,
                        const char *type, json_object *obj, const char *at);

/* One value of property p (an array element or map value when elem). */
static int check_value(sim_resp *resp, const sim_schema_type *table,
                       const sim_schema_prop *p, json_object *v, const char *at,
                       int elem)
{
  char type = p->type;

  if (v == NULL || json_object_is_type(v, json_type_null))
    return 0;
  if (!elem && type == 'a') {
    if (!json_object_is_type(v, json_type_array))
      return bad_value(resp, at, p->ref ? 'o' : 's', v);
    for (size_t i = 0; i < json_object_array_length(v); i++) {
      char sub[512];

      snprintf(sub, sizeof(sub), "%s[%zu]", at, i);
      if (check_value(resp, table, p, json_object_array_get_idx(v, i), sub, 1) <
          0)
        return -1;
    }
    return 0;
  }
  if (!elem && type == 'm') {
    if (!json_object_is_type(v, json_type_object))
      return bad_value(resp, at, 'o', v);
    json_object_object_foreach(v, k, mv)
    {
      char sub[512];

      snprintf(sub, sizeof(sub), "%s[%s]", at, k);
      if (check_value(resp, table, p, mv, sub, 1) < 0)
        return -1;
    }
    return 0;
  }
  /* A single value: an object of schema ref, or a scalar. Elements of
   * arrays and maps without a ref are scalars of a type the table does not
   * record (strings, mostly): let them pass. */
  if (p->ref)
    return check_object(resp, table, p->ref, v, at);
  if (elem)
    return 0;
  return scalar_ok(type, v) ? 0 : bad_value(resp, at, type, v);
}

static int check_object(sim_resp *resp, const sim_schema_type *table,
                        const char *type, json_object *obj, const char *at)
{
  const sim_schema_type *t = sim_schema_find(table, type);

  if (t == NULL)
    return 0;
  if (!json_object_is_type(obj, json_type_object))
    return bad_value(resp, at, 'o', obj);
  json_object_object_foreach(obj, key, val)
  {
    const sim_schema_prop *p = prop_find(t, key);
    char sub[512];

    if (p == NULL) {
      sim_err(resp, 400, "invalid",
              "Invalid JSON payload received. Unknown name \"%s\" at '%s': "
              "Cannot find field.",
              key, at);
      return -1;
    }
    snprintf(sub, sizeof(sub), "%s.%s", at, key);
    if (check_value(resp, table, p, val, sub, 0) < 0)
      return -1;
  }
  return 0;
}

int sim_schema_check(sim_resp *resp, const sim_schema_type *table,
                     const char *type, json_object *body, const char *where)
{
  if (body == NULL)
    return 0;
  return check_object(resp, table, type, body, where ? where : "resource");
}
