/*
 * persist.c - the whole simulated cloud in one JSON file.
 *
 * Saved atomically: write FILE.tmp (created 0600, since it holds the
 * simulator's private key and live tokens), fsync, rename over FILE, fsync
 * the directory. The write is synchronous on the loop; it is debounced
 * (one save per 200 ms of changes) and the file is small, which we accept
 * for a test tool rather than push it to the thread pool.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"
#include "sim/sim_int.h"

#define SIM_STATE_VERSION 1

static json_object *save_resources(sim *s)
{
  json_object *arr = json_object_new_array();

  for (size_t i = 0; i < s->res.n; i++) {
    sim_entry *e = s->res.v[i].p;
    json_object *o = json_object_new_object();

    json_object_object_add(o, "name", json_object_new_string(e->name));
    json_object_object_add(o, "kind", json_object_new_string(e->kind));
    json_object_object_add(o, "obj", json_object_get(e->obj));
    json_object_array_add(arr, o);
  }
  return arr;
}

static int write_all(int fd, const char *p, size_t n)
{
  while (n > 0) {
    ssize_t w = write(fd, p, n);

    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int sim__save(sim *s)
{
  json_object *root = json_object_new_object(), *rng = json_object_new_array();
  const char *text;
  char tmp[4096], dir[4096];
  int fd, result = -1;

  if (s->state_file == NULL)
    return 0;
  json_object_object_add(root, "version",
                         json_object_new_int(SIM_STATE_VERSION));
  json_object_object_add(root, "project", json_object_new_string(s->project));
  json_object_object_add(root, "projectNumber",
                         json_object_new_int64((int64_t)s->project_number));
  json_object_object_add(root, "clockMs",
                         json_object_new_int64((int64_t)sim_now_ms(s)));
  for (int i = 0; i < 4; i++)
    json_object_array_add(rng, json_object_new_int64((int64_t)s->rng[i]));
  json_object_object_add(root, "rng", rng);
  json_object_object_add(root, "resources", save_resources(s));
  json_object_object_add(root, "operations", sim__ops_save(s));
  json_object_object_add(root, "requestIds", json_object_get(s->reqids));
  json_object_object_add(root, "quotas", sim__quotas_save(s));
  json_object_object_add(root, "usage", sim__usage_save(s));
  json_object_object_add(root, "auth", sim__auth_save(s));
  text = json_object_to_json_string_ext(
      root, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
  snprintf(tmp, sizeof(tmp), "%s.tmp", s->state_file);
  fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    goto out;
  /* An old temp file may have been made with looser permissions. */
  if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 ||
      fsync(fd) < 0) {
    close(fd);
    unlink(tmp);
    goto out;
  }
  close(fd);
  if (rename(tmp, s->state_file) < 0) {
    unlink(tmp);
    goto out;
  }
  snprintf(dir, sizeof(dir), "%s", s->state_file);
  fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
  result = 0;
out:
  if (result < 0)
    EDV_LOG_E("sim", "cannot save state to %s: %s", s->state_file,
              strerror(errno));
  json_object_put(root);
  return result;
}

/* Returns 0 (loaded, or no file yet) or -1 with *err filled. */
int sim__load(sim *s, edv_error *err)
{
  json_object *root, *v, *arr;
  size_t n;

  if (access(s->state_file, F_OK) != 0)
    return 0;
  root = json_object_from_file(s->state_file);
  if (root == NULL || !json_object_is_type(root, json_type_object)) {
    json_object_put(root);
    edv_error_set(err, EDV_ECONFIG, "sim: state file %s is not JSON",
                  s->state_file);
    return -1;
  }
  if (json_object_object_get_ex(root, "project", &v) &&
      strcmp(json_object_get_string(v), s->project) != 0) {
    edv_error_set(err, EDV_ECONFIG,
                  "sim: state file %s belongs to project %s, not %s",
                  s->state_file, json_object_get_string(v), s->project);
    json_object_put(root);
    return -1;
  }
  if (json_object_object_get_ex(root, "projectNumber", &v))
    s->project_number = (uint64_t)json_object_get_int64(v);
  if (json_object_object_get_ex(root, "clockMs", &v)) {
    /* The clock continues from where it stopped. */
    s->clock_base = (uint64_t)json_object_get_int64(v);
    s->hr_base = uv_hrtime();
  }
  if (json_object_object_get_ex(root, "rng", &v) &&
      json_object_array_length(v) == 4)
    for (int i = 0; i < 4; i++)
      s->rng[i] = (uint64_t)json_object_get_int64(
          json_object_array_get_idx(v, (size_t)i));
  arr = json_object_object_get(root, "resources");
  n = arr ? json_object_array_length(arr) : 0;
  for (size_t i = 0; i < n; i++) {
    json_object *o = json_object_array_get_idx(arr, i);
    const char *name =
        json_object_get_string(json_object_object_get(o, "name"));
    json_object *obj = json_object_object_get(o, "obj");

    if (name && obj)
      sim_store_put(s, name,
                    json_object_get_string(json_object_object_get(o, "kind")),
                    json_object_get(obj));
  }
  if (json_object_object_get_ex(root, "requestIds", &v) &&
      json_object_is_type(v, json_type_object)) {
    json_object_put(s->reqids);
    s->reqids = json_object_get(v);
  }
  sim__quotas_load(s, json_object_object_get(root, "quotas"));
  sim__usage_load(s, json_object_object_get(root, "usage"));
  sim__auth_load(s, json_object_object_get(root, "auth"));
  sim__ops_load(s, json_object_object_get(root, "operations"));
  json_object_put(root);
  return 0;
}
