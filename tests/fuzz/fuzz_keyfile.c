/*
 * fuzz_keyfile.c - credentials files: the key file / ADC file as
 * Application Default Credentials loads it (src/auth/adc.c, keyfile.c):
 * read from disk, parsed, validated, described; a service account key that
 * loads is then used to sign the JWT-bearer assertion (jwt.c), so the
 * fields that reach the JWT (client_email, private_key_id, token_uri) and
 * the PEM key itself come from the input.
 *
 * Input: the file's bytes.
 */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "auth/internal.h"
#include "fuzz.h"

static char path[64];
static int fd = -1;

static void remove_file(void)
{
  unlink(path);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
  (void)argc;
  (void)argv;
  fuzz_quiet_logs();
  /* tmpfs when there is one: ext4 flushes a file truncated to zero and
   * rewritten when it is closed, which would cost milliseconds a run. */
  snprintf(path, sizeof(path), "%s/edv-fuzz-keyfile-%ld",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp", (long)getpid());
  fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
  if (fd < 0)
    abort();
  atexit(remove_file);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  edv__adc_opts opts = {.key_file = path};
  edv__creds c;
  edv_error err;
  char desc[512];

  if (size > 64 * 1024)
    return 0;
  if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
    abort();
  if (edv__adc_find(&opts, &c, &err) == 0) {
    edv__creds_describe(&c, 0, desc, sizeof(desc));
    edv__creds_describe(&c, 1, desc, sizeof(desc));
    if (c.kind == EDV_CRED_SERVICE_ACCOUNT) {
      char *jwt = edv__jwt_assertion(&c, EDV__AUTH_SCOPE, "sub@example.com",
                                     1800000000, &err);
      edv__secret_free(jwt);
    }
    edv__creds_clear(&c);
  }
  return 0;
}
