"""The marketplace: plugin bundles, the scan pipeline, signatures, the LLM review, submissions and the
admin's review; and the runtime: approved plugins enabled per workspace, run in the sandbox.

- bundles: :mod:`~automatos.marketplace.manifest`, :mod:`~automatos.marketplace.archive`,
  :mod:`~automatos.marketplace.bundle`, :mod:`~automatos.marketplace.signing`,
  :mod:`~automatos.marketplace.settings`;
- scanning: :mod:`~automatos.marketplace.scan` (one scan), :mod:`~automatos.marketplace.jobs` (the
  scan process), :mod:`~automatos.marketplace.queue` (scans as job-queue jobs),
  :mod:`~automatos.marketplace.review` (the LLM review);
- the service (:mod:`~automatos.marketplace.service`, a façade): :mod:`~automatos.marketplace.submissions`,
  :mod:`~automatos.marketplace.scans`, :mod:`~automatos.marketplace.admin`, sharing
  :mod:`~automatos.marketplace.queries`; tables in :mod:`~automatos.marketplace.models`
  (``plugin_categories``, ``marketplace_plugins``, ``plugin_versions``, ``plugin_scan_results``);
- the runtime (:mod:`automatos.marketplace.runtime`): the catalogue, enablement per workspace and
  agents' lists (``workspace_plugins``, ``agent_plugins``), declarations cached per version, the
  proxies joined to workspace views, calls through ``SandboxService.run_plugin``, content through the
  KV cache, quarantine.

It may import the kernel, ``sandbox/``, ``jobs/`` and ``tools/`` (docs/architecture.md).
"""
