"""Operations: the always-on service that keeps models served, watched and retrained.

- :mod:`core.operations.config`: the ``[monitor]``, ``[retrain]``, ``[notify]`` and
  ``[imports.NAME]`` tables of shipway.toml;
- :mod:`core.operations.notices` and :mod:`core.operations.notify`: what is told, and how
  (e-mail, webhook, the app);
- :mod:`core.operations.service`: the service's loop (``shipway service run``), with
  :mod:`.lock` (one service per project, the heartbeat), :mod:`.schedule` (when a schedule is
  due), :mod:`.runner` (jobs on a thread of their own), :mod:`.keeper` (kept deployments),
  :mod:`.retraining`, :mod:`.housekeeping` (imports, pruning) and :mod:`.outbox` (notices);
- :mod:`core.operations.jobs`: the jobs as the front door shows them (``ws.jobs``);
- :mod:`core.operations.install` with :mod:`.user_config`, :mod:`.unit_files`,
  :mod:`.service_managers` and :mod:`.service_status`: the per-user service of the operating
  system (``shipway service install|uninstall|status|logs``).

docs/operations.md tells a team how to set it up.
"""
