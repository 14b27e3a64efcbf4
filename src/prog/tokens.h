/*
 * tokens.h - the Management API's bearer tokens (edvd) and the file that
 * holds them (`edvctl token create`).
 *
 * A token is "edv_<id>_<secret>": <id> is 8 hex digits that name the entry
 * (not secret: it appears in the audit log), <secret> 32 random bytes in
 * base64url. The file keeps, per token, its name, role, a 16-byte random
 * salt and SHA-256(salt || token) in hex: never the token. Verification
 * finds the entry by id and compares hashes in constant time.
 *
 * The file is JSON, created 0600 and replaced atomically (write a
 * temporary file, fsync, rename), so edvd can reload it at any moment
 * (SIGHUP) and never sees half a file.
 */
#ifndef EDV_PROG_TOKENS_H
#define EDV_PROG_TOKENS_H

#include <stddef.h>

#include "edv/error.h"

/* Roles, ordered: a higher role may do everything a lower one may. */
typedef enum {
  EDV_ROLE_NONE = 0,
  EDV_ROLE_VIEWER = 1,   /* GET only */
  EDV_ROLE_OPERATOR = 2, /* tenant lifecycle */
  EDV_ROLE_ADMIN = 3,    /* everything */
} edv_role;

/* "viewer", ...; "none" for EDV_ROLE_NONE. */
const char *edv__role_name(edv_role role);
/* The role named `name`, or EDV_ROLE_NONE. */
edv_role edv__role_parse(const char *name);

/* The token file's name inside the state directory. */
#define EDV_TOKENS_FILE "api-tokens.json"

/* The longest token text (with its NUL). */
#define EDV_TOKEN_MAX 96
/* Token names: 1..64 of [A-Za-z0-9._@-]. */
#define EDV_TOKEN_NAME_MAX 64

typedef struct edv__tokens edv__tokens;

/*
 * Loads the token file. A missing file is an empty set (edvd then refuses
 * every authenticated request with 401). EDV_ECONFIG for a malformed file
 * or one readable by others than its owner (it must be 0600).
 */
int edv__tokens_load(const char *path, edv__tokens **out, edv_error *err);
void edv__tokens_free(edv__tokens *t);
size_t edv__tokens_count(const edv__tokens *t);

/*
 * Checks a presented token. Returns its role (EDV_ROLE_NONE when unknown
 * or wrong) and, for a valid one, points *name and *id at the entry's name
 * and id (valid while `t` lives).
 */
edv_role edv__tokens_verify(const edv__tokens *t, const char *token,
                            const char **name, const char **id);

/*
 * Adds a token named `name` with `role` to the file (created 0600 when
 * missing) and writes the token text, to be shown once, into out.
 * EDV_EEXIST when the name is taken, EDV_EINVAL for a bad name or role.
 */
int edv__tokens_create(const char *path, const char *name, edv_role role,
                       char *out, size_t size, edv_error *err);

#endif /* EDV_PROG_TOKENS_H */
