/*
 * kinds_platform.c - the platform's resource kinds (tenant/kinds.h,
 * edv__platform_kinds): one row per platform step, read by
 * steps_platform.c for each resource's API, path, create call and the
 * marks its body carries. The platform's resources are named by
 * constants, so the rows have no names, lists or views.
 */
#include "tenant/kinds.h"

#define CPT EDV_KIND_CPT
#define CMT EDV_KIND_CMT

/* A platform kind in Compute Engine: {N} in collection `coll`, created by
 * POST to it. */
#define PLATFORM_CPT_ROW(kid, step_, title_, coll, insert, own_, marks_,       \
                         labels_)                                              \
  [kid] = {                                                                    \
      .id = step_,                                                             \
      .title = title_,                                                         \
      .step = step_,                                                           \
      .api = EDV_API_COMPUTE,                                                  \
      .path = CPT coll "/{N}",                                                 \
      .create = CPT coll,                                                      \
      .create_label = insert,                                                  \
      .own = own_,                                                             \
      .marks = marks_,                                                         \
      .labels_at = labels_,                                                    \
  }
#define BOTH (EDV_MARK_DESC | EDV_MARK_LABELS)

const edv__kind edv__platform_kinds[EDV_PKIND__COUNT] = {
    PLATFORM_CPT_ROW(EDV_PKIND_NETWORK, "network", "network",
                     "/global/networks", "compute.networks.insert",
                     EDV_OWN_DESC, EDV_MARK_DESC, NULL),
    PLATFORM_CPT_ROW(EDV_PKIND_PSA_RANGE, "psa_range",
                     "private services access range", "/global/addresses",
                     "compute.globalAddresses.insert", EDV_OWN_LABELS, BOTH,
                     "labels"),
    /* Listed by network, made once: owned by its reserved range. */
    [EDV_PKIND_PSA_CONNECTION] =
        {
            .id = "psa_connection",
            .title = "private services access connection",
            .step = "psa_connection",
            .api = EDV_API_SERVICENETWORKING,
            .path = "/v1/services/servicenetworking.googleapis.com/"
                    "connections",
            .create = "/v1/services/servicenetworking.googleapis.com/"
                      "connections",
            .create_label = "servicenetworking.services.connections.create",
            .own = EDV_OWN_NONE,
        },
    PLATFORM_CPT_ROW(EDV_PKIND_ROUTER, "router", "router",
                     "/regions/{R}/routers", "compute.routers.insert",
                     EDV_OWN_DESC, EDV_MARK_DESC, NULL),
    PLATFORM_CPT_ROW(EDV_PKIND_LB_ADDRESS, "lb_address", "global address",
                     "/global/addresses", "compute.globalAddresses.insert",
                     EDV_OWN_LABELS, BOTH, "labels"),
    PLATFORM_CPT_ROW(EDV_PKIND_HEALTH_CHECK, "health_check", "health check",
                     "/global/healthChecks", "compute.healthChecks.insert",
                     EDV_OWN_DESC, EDV_MARK_DESC, NULL),
    PLATFORM_CPT_ROW(EDV_PKIND_URL_MAP, "url_map", "URL map", "/global/urlMaps",
                     "compute.urlMaps.insert", EDV_OWN_DESC, EDV_MARK_DESC,
                     NULL),
    [EDV_PKIND_CERT_MAP] =
        {
            .id = "cert_map",
            .title = "certificate map",
            .step = "cert_map",
            .api = EDV_API_CERTIFICATEMANAGER,
            .path = CMT "/certificateMaps/{N}",
            .create = CMT "/certificateMaps?certificateMapId={N}",
            .create_label = "certificatemanager.certificateMaps.create",
            .own = EDV_OWN_LABELS,
            .marks = BOTH,
            .labels_at = "labels",
        },
    PLATFORM_CPT_ROW(EDV_PKIND_HTTPS_PROXY, "https_proxy", "target HTTPS proxy",
                     "/global/targetHttpsProxies",
                     "compute.targetHttpsProxies.insert", EDV_OWN_DESC,
                     EDV_MARK_DESC, NULL),
    PLATFORM_CPT_ROW(EDV_PKIND_FORWARDING_RULE, "forwarding_rule",
                     "global forwarding rule", "/global/forwardingRules",
                     "compute.globalForwardingRules.insert", EDV_OWN_LABELS,
                     BOTH, "labels"),
    /* The fleet's zone is made by its operator, found by its DNS name. */
    [EDV_PKIND_DNS_ZONE] =
        {
            .id = "dns_zone",
            .title = "Cloud DNS managed zone",
            .step = "dns_zone",
            .api = EDV_API_DNS,
            .path = "/dns/v1/projects/{P}/managedZones",
            .own = EDV_OWN_NONE,
        },
    /* Found by type and address among ours (userLabels edv-managed). */
    [EDV_PKIND_NOTIFICATION_CHANNELS] =
        {
            .id = "notification_channels",
            .title = "notification channel",
            .step = "notification_channels",
            .api = EDV_API_MONITORING,
            .path = "/v3/projects/{P}/notificationChannels",
            .create = "/v3/projects/{P}/notificationChannels",
            .create_label = "monitoring.notificationChannels.create",
            .own = EDV_OWN_LABELS,
            .marks = EDV_MARK_LABELS,
            .labels_at = "userLabels",
        },
    /* Found by display name ("edv: <alert>"), made one at a time. */
    [EDV_PKIND_ALERT_POLICIES] =
        {
            .id = "alert_policies",
            .title = "alert policy",
            .step = "alert_policies",
            .api = EDV_API_MONITORING,
            .path = "/v3/projects/{P}/alertPolicies",
            .create = "/v3/projects/{P}/alertPolicies",
            .create_label = "monitoring.alertPolicies.create",
            .own = EDV_OWN_NONE,
        },
};
#undef BOTH
