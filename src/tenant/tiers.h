/*
 * tiers.h - subscription tiers (tiers.json): load, validate, estimate cost.
 *
 * tiers.json at the repository root holds the four tiers of the seed
 * (basic, standard, premium, enterprise) with everything a tenant machine
 * needs to size its resources: machine type, boot disk, Cloud SQL tier and
 * settings, backup and snapshot retention, features and app access; plus
 * the list prices and the cost model behind edv__tier_cost().
 *
 * Loading validates every field. An error names the file, the tier and the
 * field, e.g. "tiers.json: tier 'premium': field 'disk_gb' must be an
 * integer 10..65536", and the whole file is refused: a half-valid tier set
 * is never used. Unknown keys are refused too (a misspelt key would
 * otherwise silently fall back to nothing); "notes" and "comment" are the
 * only free-form keys.
 *
 * A loaded edv__tiers is immutable plain data: share it freely on the loop
 * thread, free it with edv__tiers_free().
 */
#ifndef EDV_TENANT_TIERS_H
#define EDV_TENANT_TIERS_H

#include <stddef.h>

#include "edv/error.h"

#define EDV_TIERS_SCHEMA_VERSION 1

#define EDV_TIERS_MAX        16 /* tiers in one file */
#define EDV_TIER_NAME_MAX    31 /* tier names: a label value, [a-z][a-z0-9_-]* */
#define EDV_TIER_LIST_MAX    32 /* features / apps per tier and per catalog */
#define EDV_TIER_ITEM_MAX    31 /* feature and app names */
#define EDV_TIER_PRICES_MAX  32 /* entries per price table */
#define EDV_MACHINE_TYPE_MAX 63

/* Cloud SQL allows at most 365 retained backups; with daily backups that
 * is also the longest retention a tier can promise. */
#define EDV_TIER_RETENTION_MAX 365

/* A deleted tenant's final backup is kept at least this many days (the
 * tier's backup.final_backup_days, default this). */
#define EDV_TIER_FINAL_BACKUP_MIN 30

typedef struct edv__tier_sql {
  char tier[EDV_MACHINE_TYPE_MAX + 1]; /* db-f1-micro, db-custom-2-4096 */
  char edition[16];                    /* ENTERPRISE */
  char database_version[24];           /* POSTGRES_15 */
  int regional;                        /* availabilityType REGIONAL (HA) */
  int data_disk_gb;                    /* dataDiskSizeGb, >= 10 */
  char data_disk_type[16];             /* PD_SSD */
  char backup_start_time[6];           /* "HH:MM" UTC */
  int pitr;                            /* pointInTimeRecoveryEnabled */
  int transaction_log_retention_days;  /* 1..7 */
  int retained_backups;                /* backupRetentionSettings, COUNT */
  int shared_core;                     /* db-f1-micro / db-g1-small */
  int custom_vcpu;                     /* db-custom-<vcpu>-<mb>, else 0 */
  int custom_memory_mb;                /* db-custom-<vcpu>-<mb>, else 0 */
} edv__tier_sql;

typedef struct edv__tier {
  char name[EDV_TIER_NAME_MAX + 1];            /* "premium": label value */
  char display_name[64];                       /* "Premium" */
  char machine_type[EDV_MACHINE_TYPE_MAX + 1]; /* "e2-standard-2" */
  int vcpu;                                    /* display only (the seed's) */
  double memory_gb;                            /* display only (the seed's) */
  int disk_gb;                                 /* boot disk size */
  char disk_type[16];                          /* "pd-ssd" */
  int max_users;                               /* license limit */
  char backup_frequency[8];                    /* "daily" */
  int retention_days;                          /* backup retention, 1..365 */
  int final_backup_days;                       /* kept after deletion */
  edv__tier_sql sql;                           /* Cloud SQL settings */
  char snapshot_start_time[6];                 /* "04:00" UTC, 4-hour grid */
  int snapshot_retention_days;                 /* maxRetentionDays */
  char snapshot_on_delete[32];                 /* onSourceDiskDelete */
  size_t nfeatures;                            /* entries of features[] */
  char features[EDV_TIER_LIST_MAX][EDV_TIER_ITEM_MAX + 1];
  size_t napps; /* entries of app_access[] */
  char app_access[EDV_TIER_LIST_MAX][EDV_TIER_ITEM_MAX + 1];
} edv__tier;

/* One "name": price entry of a price table. */
typedef struct edv__price {
  char name[EDV_MACHINE_TYPE_MAX + 1];
  double value;
} edv__price;

/* One dated price source ("PRICE-CE", "2026-07-30"). */
typedef struct edv__price_source {
  char ref[16];
  char date[16];
} edv__price_source;

typedef struct edv__prices {
  char currency[8]; /* "USD" */
  char region[32];  /* region the list prices are for */
  size_t nsources;
  edv__price_source sources[8];
  size_t ncompute; /* machine type -> $/hour */
  edv__price compute_per_hour[EDV_TIER_PRICES_MAX];
  size_t ndisk; /* disk type -> $/GB-month */
  edv__price disk_per_gb_month[EDV_TIER_PRICES_MAX];
  double snapshot_per_gb_month;
  double sql_vcpu_per_hour[2];      /* [0] ZONAL, [1] REGIONAL */
  double sql_memory_gb_per_hour[2]; /* same indexing */
  size_t nshared;                   /* shared-core SQL tiers */
  edv__price sql_shared_per_hour[EDV_TIER_PRICES_MAX][2];
  double sql_storage_per_gb_month[2];
  double sql_backup_per_gb_month;
  double forwarding_rule_per_hour;
  double dns_zone_per_month;
} edv__prices;

/*
 * How monthly costs are estimated (all documented in tiers.json):
 * incremental snapshots and SQL backups are assumed to hold
 * disk * (used_fraction + daily_change_fraction * retention_days) GB; the
 * platform's shared forwarding rule(s) and DNS zone(s) are split evenly
 * across fleet_size tenants.
 */
typedef struct edv__cost_model {
  double hours_per_month;       /* 730 */
  int fleet_size;               /* default tenants sharing the platform */
  int shared_forwarding_rules;  /* global forwarding rules of the platform */
  int shared_dns_zones;         /* managed zones of the platform */
  double disk_used_fraction;    /* share of a disk a full snapshot holds */
  double daily_change_fraction; /* share of a disk changed per day */
} edv__cost_model;

typedef struct edv__tiers {
  int schema_version;
  size_t ntiers;
  edv__tier tiers[EDV_TIERS_MAX]; /* in file order */
  size_t nfeatures;               /* the feature catalog */
  char features[EDV_TIER_LIST_MAX][EDV_TIER_ITEM_MAX + 1];
  size_t napps; /* the app catalog */
  char apps[EDV_TIER_LIST_MAX][EDV_TIER_ITEM_MAX + 1];
  edv__prices prices;
  edv__cost_model cost;
} edv__tiers;

/* A monthly estimate in the price currency; total is the sum of the rest. */
typedef struct edv__tier_cost {
  double vm;          /* machine type, hours_per_month */
  double disk;        /* boot disk GB * disk price */
  double sql;         /* SQL instance (shared-core price, or vCPU + memory) */
  double sql_storage; /* dataDiskSizeGb * SSD price (doubled for HA) */
  double sql_backups; /* modelled backup GB * backup price */
  double snapshots;   /* modelled snapshot GB * snapshot price */
  double lb_share;    /* forwarding rule(s) / fleet size */
  double dns_share;   /* DNS zone(s) / fleet size */
  double total;
} edv__tier_cost;

/*
 * Loads and validates a tiers file. On success *out holds a new edv__tiers
 * (free with edv__tiers_free). On failure returns EDV_ECONFIG (EDV_EIO when
 * the file cannot be read, EDV_ENOMEM) with a message naming the file, the
 * tier and the field, and *out is NULL.
 */
int edv__tiers_load_file(const char *path, edv__tiers **out, edv_error *err);

/* Same from a string; `label` names the source in messages ("tiers.json"). */
int edv__tiers_load_string(const char *json, const char *label,
                           edv__tiers **out, edv_error *err);

/* Frees; NULL is a no-op. */
void edv__tiers_free(edv__tiers *tiers);

/* The tier called `name`, or NULL. */
const edv__tier *edv__tiers_find(const edv__tiers *tiers, const char *name);

/* 1 when the tier has `feature` / may use `app`. */
int edv__tier_has_feature(const edv__tier *tier, const char *feature);
int edv__tier_has_app(const edv__tier *tier, const char *app);

/*
 * Checks a Cloud SQL tier name for PostgreSQL: db-f1-micro, db-g1-small, or
 * db-custom-<vcpu>-<mb> with vCPU 1 or even 2..96, memory a multiple of
 * 256 MB, at least 3840 MB, and 0.9..6.5 GB (GiB: 921.6..6656 MB) per
 * vCPU. Returns 1 when valid and fills the optional outputs (vcpu and mb
 * are 0 for the shared-core tiers); 0 otherwise.
 */
int edv__sql_tier_parse(const char *tier, int *shared_core, int *vcpu,
                        int *memory_mb);

/* 1 when `mt` looks like a Compute machine type ("e2-standard-2"). */
int edv__machine_type_valid(const char *mt);

/*
 * Monthly cost estimate of one tenant of `tier`. fleet_size splits the
 * shared platform costs; 0 means the file's cost_model.fleet_size.
 * Returns 0, or EDV_ENOTFOUND when a price the tier needs is missing (a
 * validated file always has them).
 */
int edv__tier_cost_estimate(const edv__tiers *tiers, const edv__tier *tier,
                            int fleet_size, edv__tier_cost *out,
                            edv_error *err);

#endif /* EDV_TENANT_TIERS_H */
