/*
 * edv/config.h - configuration shared by the library, edvctl and edvd.
 *
 * A configuration is a set of string keys with validated values. It is
 * filled from a file (one `key = value` per line, `#` starts a comment; see
 * docs/config.md), from EDV_* environment variables and from flags, in that
 * order, later sources overriding earlier ones. Every setter validates the
 * value and names the key in its error.
 */
#ifndef EDV_CONFIG_H
#define EDV_CONFIG_H

#include "edv/export.h"

#include "edv/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct edv_config edv_config;

/* A new configuration holding the defaults. NULL only when out of memory. */
EDV_EXPORT edv_config *edv_config_new(void);

/* Frees the configuration; edv_config_free(NULL) does nothing. */
EDV_EXPORT void edv_config_free(edv_config *cfg);

/*
 * Sets `key` to `value` after validating both. Unknown keys and bad values
 * are refused with EDV_ECONFIG naming the key; the old value is kept.
 */
EDV_EXPORT int edv_config_set(edv_config *cfg, const char *key,
                              const char *value, edv_error *err);

/*
 * Reads a config file. Errors name the file, line and key. Nothing of a
 * file with an error is applied.
 */
EDV_EXPORT int edv_config_load_file(edv_config *cfg, const char *path,
                                    edv_error *err);

/*
 * Applies the EDV_* environment: EDV_ENDPOINT -> endpoint,
 * EDV_PROJECT -> project, EDV_KEY_FILE -> key_file, and generally
 * EDV_FOO_BAR -> foo_bar / foo.bar as listed in docs/config.md.
 */
EDV_EXPORT int edv_config_load_env(edv_config *cfg, edv_error *err);

/* 1 when `key` is a configuration key (docs/config.md), else 0. */
EDV_EXPORT int edv_config_key_valid(const char *key);

/* The value of `key`, or NULL when unset. Valid until the key changes. */
EDV_EXPORT const char *edv_config_get(const edv_config *cfg, const char *key);

/* Integer value of `key`, or `def` when unset. */
EDV_EXPORT long long edv_config_get_int(const edv_config *cfg, const char *key,
                                        long long def);

/*
 * Reads the secret in the file that key `key` names (a `*_file` key such
 * as alerts.intake_password_file) into buf, NUL-terminated, one trailing
 * newline dropped. The file must be a regular file of this user, readable
 * by nobody else (0600 or stricter), of 1 to size-1 bytes. Returns 0; 1
 * when the key is unset (buf empty); or EDV_ECONFIG with `err` naming the
 * key and the file, never the secret (buf zeroed). Reads synchronously:
 * call it where the configuration is read.
 */
EDV_EXPORT int edv_config_read_secret(const edv_config *cfg, const char *key,
                                      char *buf, size_t size, edv_error *err);

/*
 * Calls fn for every key that is set, in key order; secret values (none
 * today: keys hold file names, never key material) would be masked.
 */
EDV_EXPORT void edv_config_foreach(const edv_config *cfg,
                                   void (*fn)(void *data, const char *key,
                                              const char *value),
                                   void *data);

/*
 * Sets `key` to `value` in the config file at `path` (value NULL removes
 * the key), keeping every other line and comment: lines that set the key
 * are dropped and `key = "value"` is appended. The key and value are
 * validated first, and the edited file must load before it atomically
 * replaces the old one (which keeps its mode; a new file is 0600). A
 * missing file is created. Errors name the key, or the file and line.
 */
EDV_EXPORT int edv_config_file_set(const char *path, const char *key,
                                   const char *value, edv_error *err);

#ifdef __cplusplus
}
#endif
#endif /* EDV_CONFIG_H */
