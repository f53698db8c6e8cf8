"""Operations: the always-on service that keeps models served, watched and retrained.

- :mod:`core.operations.config`: the ``[monitor]``, ``[retrain]``, ``[notify]`` and
  ``[imports.NAME]`` tables of shipway.toml;
- :mod:`core.operations.notices` and :mod:`core.operations.notify`: what is told, and how
  (e-mail, webhook, the app);
- :mod:`core.operations.service`: the service's loop (``shipway service run``);
- :mod:`core.operations.install`: the per-user service of the operating system.

docs/operations.md tells a team how to set it up.
"""
