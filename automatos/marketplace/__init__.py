"""The marketplace: today its categories; next bundles, the scan pipeline, verdicts, enablement and
the runtime proxy into the sandbox (issues: marketplace).

- :mod:`automatos.marketplace.models`: the ``plugin_categories`` table (seeded reference data).
- :mod:`automatos.marketplace.categories`: its read-only service.

It may import the kernel, ``sandbox/``, ``jobs/`` and ``tools/`` (docs/architecture.md).
"""
