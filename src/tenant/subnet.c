/*
 * subnet.c - the tenant address plan check (the CIDR helpers and the
 * allocator are common/cidr.c).
 */
#include "tenant/subnet.h"

int edv__subnet_plan_check(const edv_cidr *supernet, unsigned prefix,
                           const edv_cidr *reserved, edv_error *err)
{
  char a[EDV_CIDR_STRLEN], b[EDV_CIDR_STRLEN];

  if (!supernet)
    return edv_error_set(err, EDV_ECONFIG, "subnet supernet is missing");
  if (prefix < EDV_SUBNET_PREFIX_MIN || prefix > EDV_SUBNET_PREFIX_MAX)
    return edv_error_set(err, EDV_ECONFIG, "subnet prefix /%u must be /%d../%d",
                         prefix, EDV_SUBNET_PREFIX_MIN, EDV_SUBNET_PREFIX_MAX);
  if (prefix < supernet->prefix)
    return edv_error_set(err, EDV_ECONFIG,
                         "subnet prefix /%u is larger than the supernet %s",
                         prefix, edv__cidr_format(supernet, a, sizeof(a)));
  if (reserved && edv__cidr_overlaps(supernet, reserved))
    return edv_error_set(err, EDV_ECONFIG,
                         "subnet supernet %s overlaps the reserved range %s",
                         edv__cidr_format(supernet, a, sizeof(a)),
                         edv__cidr_format(reserved, b, sizeof(b)));
  return 0;
}
