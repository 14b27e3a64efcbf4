/*
 * cidr.c - IPv4 CIDR ranges: strict parsing, formatting, overlap tests and
 * the lowest-free-block allocator.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cidr.h"

/* Number of addresses in a /prefix, as 64 bits so /0 does not overflow. */
static uint64_t cidr_size(unsigned prefix)
{
  return (uint64_t)1 << (32 - prefix);
}

static uint32_t cidr_mask(unsigned prefix)
{
  return prefix == 0 ? 0 : (uint32_t)(0xffffffffu << (32 - prefix));
}

/* Parses a decimal number in [0, max] with no sign and no leading zero;
 * advances *p. Returns -1 on error. */
static long cidr_num(const char **p, long max)
{
  const char *s = *p;
  long v = 0;
  int n = 0;

  if (*s < '0' || *s > '9')
    return -1;
  if (s[0] == '0' && s[1] >= '0' && s[1] <= '9')
    return -1;
  while (*s >= '0' && *s <= '9' && n < 4) {
    v = v * 10 + (*s - '0');
    s++;
    n++;
  }
  if ((*s >= '0' && *s <= '9') || v > max)
    return -1;
  *p = s;
  return v;
}

int edv__cidr_parse(const char *text, edv_cidr *out)
{
  const char *p = text;
  uint32_t addr = 0;
  long v;
  int i;

  if (!text || !out)
    return EDV_EINVAL;
  for (i = 0; i < 4; i++) {
    v = cidr_num(&p, 255);
    if (v < 0)
      return EDV_EINVAL;
    addr = (addr << 8) | (uint32_t)v;
    if (*p != (i < 3 ? '.' : '/'))
      return EDV_EINVAL;
    p++;
  }
  v = cidr_num(&p, 32);
  if (v < 0 || *p != '\0')
    return EDV_EINVAL;
  if (addr & ~cidr_mask((unsigned)v))
    return EDV_EINVAL; /* host bits set */
  out->net = addr;
  out->prefix = (unsigned)v;
  return 0;
}

char *edv__cidr_format(const edv_cidr *cidr, char *buf, size_t size)
{
  if (!buf || size == 0)
    return buf;
  snprintf(buf, size, "%u.%u.%u.%u/%u", (cidr->net >> 24) & 0xff,
           (cidr->net >> 16) & 0xff, (cidr->net >> 8) & 0xff, cidr->net & 0xff,
           cidr->prefix);
  return buf;
}

uint32_t edv__cidr_first(const edv_cidr *cidr)
{
  return cidr->net & cidr_mask(cidr->prefix);
}

uint32_t edv__cidr_last(const edv_cidr *cidr)
{
  return edv__cidr_first(cidr) | ~cidr_mask(cidr->prefix);
}

int edv__cidr_overlaps(const edv_cidr *a, const edv_cidr *b)
{
  return edv__cidr_first(a) <= edv__cidr_last(b) &&
         edv__cidr_first(b) <= edv__cidr_last(a);
}

int edv__cidr_contains(const edv_cidr *outer, const edv_cidr *inner)
{
  return edv__cidr_first(outer) <= edv__cidr_first(inner) &&
         edv__cidr_last(inner) <= edv__cidr_last(outer);
}

static int cidr_cmp(const void *pa, const void *pb)
{
  const edv_cidr *a = pa, *b = pb;
  uint32_t fa = edv__cidr_first(a), fb = edv__cidr_first(b);

  return fa < fb ? -1 : fa > fb;
}

/*
 * Walks the taken ranges in order of their first address with a candidate
 * block `cand`. A range that ends before the candidate is irrelevant; one
 * that starts after the candidate's end proves the candidate free (every
 * later range starts later still); anything else overlaps, and the
 * candidate jumps to the first aligned block after that range. O(n log n).
 */
int edv__cidr_alloc(const edv_cidr *supernet, unsigned prefix,
                    const edv_cidr *taken, size_t ntaken, edv_cidr *out,
                    edv_error *err)
{
  edv_cidr *sorted = NULL;
  uint64_t size, cand, end, first, last;
  char buf[EDV_CIDR_STRLEN];
  size_t i;

  if (!supernet || !out || (ntaken && !taken) || prefix > 32 ||
      prefix < supernet->prefix)
    return edv_error_set(err, EDV_EINVAL, "subnet allocation: bad prefix /%u",
                         prefix);
  if (ntaken) {
    sorted = malloc(ntaken * sizeof(*sorted));
    if (!sorted)
      return edv_error_set(err, EDV_ENOMEM, "subnet allocation");
    memcpy(sorted, taken, ntaken * sizeof(*sorted));
    qsort(sorted, ntaken, sizeof(*sorted), cidr_cmp);
  }
  size = cidr_size(prefix);
  cand = edv__cidr_first(supernet);
  end = (uint64_t)edv__cidr_last(supernet);
  for (i = 0; i < ntaken && cand + size - 1 <= end; i++) {
    first = edv__cidr_first(&sorted[i]);
    last = edv__cidr_last(&sorted[i]);
    if (last < cand)
      continue;
    if (first > cand + size - 1)
      break;
    cand = (last + 1 + size - 1) & ~(size - 1); /* align up */
  }
  free(sorted);
  if (cand + size - 1 > end)
    return edv_error_set(err, EDV_EQUOTA,
                         "subnet supernet %s has no free /%u left",
                         edv__cidr_format(supernet, buf, sizeof(buf)), prefix);
  out->net = (uint32_t)cand;
  out->prefix = prefix;
  return 0;
}
