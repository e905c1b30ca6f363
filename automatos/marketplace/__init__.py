"""The marketplace: plugin bundles, the scan pipeline, signatures, the LLM review, submissions and the
admin's review; next, enablement and the runtime proxy into the sandbox (issues: marketplace).

- bundles: :mod:`~automatos.marketplace.manifest`, :mod:`~automatos.marketplace.archive`,
  :mod:`~automatos.marketplace.bundle`, :mod:`~automatos.marketplace.signing`,
  :mod:`~automatos.marketplace.settings`;
- scanning: :mod:`~automatos.marketplace.scan` (one scan), :mod:`~automatos.marketplace.jobs` (the
  scan process), :mod:`~automatos.marketplace.queue` (scans as job-queue jobs),
  :mod:`~automatos.marketplace.review` (the LLM review);
- the service (:mod:`~automatos.marketplace.service`, a façade): :mod:`~automatos.marketplace.submissions`,
  :mod:`~automatos.marketplace.scans`, :mod:`~automatos.marketplace.admin`, sharing
  :mod:`~automatos.marketplace.queries`; tables in :mod:`~automatos.marketplace.models`
  (``plugin_categories``, ``marketplace_plugins``, ``plugin_versions``, ``plugin_scan_results``).

It may import the kernel, ``sandbox/``, ``jobs/`` and ``tools/`` (docs/architecture.md).
"""
