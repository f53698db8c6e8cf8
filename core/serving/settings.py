"""The settings of one served model: limits, access, extra-column policy, prediction log."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

MB = 1024 * 1024
EXTRA_COLUMN_POLICIES = ("ignore", "reject")
CONTRACT_MODES = ("off", "warn", "reject")


@dataclass(frozen=True)
class ServingConfig:
    """How the app answers. Every field has the default a local deployment wants.

    Attributes
    ----------
    token:
        When set, every route but ``GET /health`` needs ``Authorization: Bearer <token>``.
    max_body_bytes:
        Bodies above this are refused with 413, with or without a Content-Length.
    max_depth:
        JSON nested deeper than this (arrays and objects) is refused with 400.
    max_rows:
        Rows in one request above this are refused with 413.
    extra_columns:
        ``"ignore"`` (default: extra columns are dropped and listed in ``ignored_columns``) or
        ``"reject"`` (422 naming each extra column).
    allowed_hosts:
        Host values (``name:port`` or ``name``) accepted besides the loopback names at the
        server's own port; an Origin is accepted when its host part is accepted.
    log_dir:
        Folder of the prediction log (SQLite); ``None`` keeps no log.
    log_inputs:
        Whether the prediction log keeps the raw input rows (outputs are always kept).
    log_queue_size:
        Capacity of the queue between requests and the log writer; past it entries are dropped
        and counted, a request never waits.
    log_queue_bytes:
        The same queue's bound in bytes (entries are measured by their request body's size).
    request_key:
        The key request ids are signed with (:mod:`core.serving.request_ids`); the worker
        processes of one server share it. ``None``: from the environment, else a new one.
    contract:
        How the data contract of the model directory (``contract.json``) is enforced: ``"off"``,
        ``"warn"`` or ``"reject"``; ``None``: the mode written in that file.
    challenger_file:
        A challenger's ``challenger.json`` (:mod:`core.serving.challenger`), followed while the
        server runs; ``None`` for a server without a challenger.
    metrics_dir:
        Where the worker processes of one server publish their counts (see
        :mod:`core.serving.workers`); ``None`` for a server of one process.
    """

    token: str | None = None
    max_body_bytes: int = 10 * MB
    max_depth: int = 32
    max_rows: int = 100_000
    extra_columns: str = "ignore"
    allowed_hosts: tuple[str, ...] = ()
    log_dir: str | None = None
    log_inputs: bool = True
    log_queue_size: int = 10_000
    log_queue_bytes: int = 64 * MB
    metrics_dir: str | None = None
    contract: str | None = None
    challenger_file: str | None = None
    request_key: bytes | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.extra_columns not in EXTRA_COLUMN_POLICIES:
            raise ValueError(f"extra_columns must be one of {EXTRA_COLUMN_POLICIES}")
        if self.contract is not None and self.contract not in CONTRACT_MODES:
            raise ValueError(f"contract must be one of {CONTRACT_MODES}")
        if self.max_body_bytes <= 0 or self.max_depth <= 0 or self.max_rows <= 0:
            raise ValueError("limits must be positive")
        if self.log_queue_size <= 0 or self.log_queue_bytes <= 0:
            raise ValueError("log_queue_size and log_queue_bytes must be positive")
        if self.token is not None and not self.token:
            raise ValueError("an empty token is not a token")

    def with_changes(self, **changes: object) -> ServingConfig:
        return replace(self, **changes)
