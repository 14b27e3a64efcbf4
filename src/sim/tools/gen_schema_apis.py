#!/usr/bin/env python3
"""Generates the request-schema tables of the non-Compute API modules.

Usage: gen_schema_apis.py DISCOVERY_DIR SRC_SIM_DIR

Runs gen_schema_hoist.py once per API (schema_sql.c, schema_dns.c,
schema_certmgr.c, schema_monitoring.c, schema_secrets.c,
schema_resourcemanager.c, schema_bigquery.c,
schema_budgets.c) with one change:
int64/uint64 fields, which discovery types as strings, are emitted as
integers ('i'), because proto3 JSON accepts them as numbers or strings and
clients send both ("dataDiskSizeGb": 10 is as valid as "10").
"""
import contextlib
import io
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_schema  # noqa: E402
import gen_schema_hoist  # noqa: E402

TABLES = [
    ('sqladmin.v1.json', 'sql', ['DatabaseInstance', 'Database', 'User',
                                 'InstancesRestoreBackupRequest',
                                 'InstancesCloneRequest', 'BackupRun']),
    ('dns.v1.json', 'dns', ['Change', 'ResourceRecordSet', 'ManagedZone']),
    ('certificatemanager.v1.json', 'certmgr',
     ['DnsAuthorization', 'Certificate', 'CertificateMap',
      'CertificateMapEntry']),
    ('monitoring.v3.json', 'monitoring',
     ['AlertPolicy', 'NotificationChannel', 'UptimeCheckConfig',
      'CreateTimeSeriesRequest']),
    ('secretmanager.v1.json', 'secrets',
     ['Secret', 'AddSecretVersionRequest', 'SetIamPolicyRequest']),
    ('cloudresourcemanager.v1.json', 'resourcemanager',
     ['GetIamPolicyRequest', 'SetIamPolicyRequest']),
    ('bigquery.v2.json', 'bigquery', ['QueryRequest']),
    ('billingbudgets.v1.json', 'budgets',
     ['GoogleCloudBillingBudgetsV1Budget']),
]

_kind = gen_schema.kind


def kind(p):
    if p.get('type') == 'string' and p.get('format') in ('int64', 'uint64',
                                                         'fixed64'):
        return 'i'
    return _kind(p)


def main():
    disc, sim = sys.argv[1], sys.argv[2]
    gen_schema.kind = kind
    for doc, prefix, roots in TABLES:
        out = io.StringIO()
        # gen_schema_hoist reads (and rewrites) sys.argv.
        sys.argv = ['gen_schema_hoist.py', os.path.join(disc, doc),
                    prefix] + roots
        with contextlib.redirect_stdout(out):
            gen_schema_hoist.main()
        text = out.getvalue().replace('src/sim/tools/gen_schema.py',
                                      'src/sim/tools/gen_schema_apis.py', 1)
        with open(os.path.join(sim, 'schema_%s.c' % prefix), 'w') as f:
            f.write(text)


if __name__ == '__main__':
    main()
