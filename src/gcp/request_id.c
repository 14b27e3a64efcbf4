/*
 * request_id.c - requestId values for idempotent retries of mutations.
 *
 * Compute (and the newer APIs, per AIP-155) ignore a mutation whose
 * requestId they have already completed, which is what makes retrying a
 * POST safe. The value must be a UUID other than the all-zero one.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/rand.h>

#include "gcp/gcp.h"

int edv__request_id(char *out)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char b[16];
  size_t i, n;

  if (!out)
    return -1;
  out[0] = '\0';
  if (RAND_bytes(b, (int)sizeof(b)) != 1)
    return -1;
  /* RFC 4122 section 4.4: version 4, variant 10xx. The version nibble
   * alone guarantees the result is never the all-zero UUID. */
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  n = 0;
  for (i = 0; i < sizeof(b); i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10)
      out[n++] = '-';
    out[n++] = hex[b[i] >> 4];
    out[n++] = hex[b[i] & 15];
  }
  out[n] = '\0';
  return 0;
}
