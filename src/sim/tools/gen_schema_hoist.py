#!/usr/bin/env python3
"""gen_schema.py for schemas with inline objects in arrays and maps.

Usage: gen_schema_hoist.py DISCOVERY.json PREFIX ROOT... > schema_PREFIX.c

Some Compute schemas declare array items as inline objects rather than
$refs (Metadata.items[{key,value}], Firewall.allowed[{IPProtocol,ports}]).
gen_schema.py emits those arrays without a ref, and sim_schema_check()
then takes their elements for strings. This wrapper first hoists every
inline object schema into a named one ("Metadata_items") with a $ref to
it, then runs gen_schema.py on the result, so the elements are checked as
the objects they are. Used for schema_compute_vm.c.
"""
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen_schema  # noqa: E402


def hoist(schemas, owner, prop, p):
    """Replaces an inline object in p (or its items/values) by a $ref."""
    for key in ('items', 'additionalProperties'):
        if isinstance(p.get(key), dict):
            hoist(schemas, owner, prop, p[key])
    if p.get('type') == 'object' and 'properties' in p:
        name = '%s_%s' % (owner, prop)
        sub = {'id': name, 'type': 'object', 'properties': p['properties']}
        schemas[name] = sub
        for k, v in list(sub['properties'].items()):
            hoist(schemas, name, k, v)
        for k in list(p):
            del p[k]
        p['$ref'] = name


def main():
    doc = json.load(open(sys.argv[1]))
    schemas = doc['schemas']
    for name in list(schemas):
        for k, v in schemas[name].get('properties', {}).items():
            hoist(schemas, name, k, v)
    with tempfile.NamedTemporaryFile('w', suffix='.json', delete=False) as t:
        json.dump(doc, t)
    try:
        sys.argv[1] = t.name
        gen_schema.main()
    finally:
        os.unlink(t.name)


if __name__ == '__main__':
    main()
