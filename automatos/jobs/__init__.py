"""The shared job queue: work submitted by API nodes and served by worker processes, possibly elsewhere.

Sandbox runs in ``SANDBOX_MODE=queue`` travel this way today; recipe steps and marketplace scans
will. The queue is SAQ's, over the Redis protocol; this package adds what a platform needs on top
(deadlines, withdrawal, never running a job twice, graceful stops) once, for every feature:

- :mod:`automatos.jobs.queue` — the submitting side: :class:`~automatos.jobs.queue.JobQueue`
  enqueues a job with a deadline, waits for its status (pub/sub notification, or a poll), withdraws
  it when the deadline passes or its caller goes away, and returns a
  :class:`~automatos.jobs.queue.JobOutcome` the feature words in its own terms.
- :mod:`automatos.jobs.worker` — the serving side: :class:`~automatos.jobs.worker.JobWorker` runs
  the :class:`~automatos.jobs.worker.JobFunction` s features register (``sandbox.run``…) in
  ``concurrency`` slots: refusals of withdrawn and expired jobs, cancellation of jobs their caller
  aborted, hand-backs of jobs taken while stopping, a grace period on stop, its entry in SAQ's
  worker list.
- :mod:`automatos.jobs.backend` — where the jobs live. The package reaches its server through the
  kernel's backend hooks, never by importing an extension: the kernel defines the ``queue`` backend
  family (:class:`automatos.kernel.backends.QueueBackend`, hook ``register_queue_backends``), the
  Redis cache extension registers ``redis``, and :func:`~automatos.jobs.backend.queue_backend`
  builds the one the settings name (``redis`` when ``REDIS_URL`` is set). A queue backend hands out
  Redis-protocol clients and the pub/sub and key-value stores of the same server; the kernel does
  not build it at start — only a process that submits or serves jobs does.

Imports: the kernel only (the import rules of ``docs/architecture.md``). The features built on it
(``sandbox/``, later ``recipes/`` and ``marketplace/``) import it; it imports none of them. This
module imports nothing of SAQ or redis, which are the ``redis`` extra: import the submodules only
where queue mode is used.
"""

from __future__ import annotations

__all__: list[str] = []
