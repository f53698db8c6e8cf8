"""Running the app under waitress: start on a free port, stop cleanly.

Stopping follows the sequence measured to never hang: shut the task dispatcher down first, then
have the loop thread close every channel and the server itself, then join the loop thread.
``server.close()`` is never called from another thread; doing so let the loop poll closed
descriptors that later code reused.

The loop thread runs waitress' loop one poll at a time (at most :data:`LOOP_SLICE` seconds
each) and, once :meth:`RunningServer.stop` asks, closes everything itself. The stop pulls the
trigger only to wake it sooner: in a long test run other code once closed a descriptor of the
trigger's pipe (it then reported ``EBADF``, or waitress closed the trigger on the pipe's hang-up),
and a stop that depended on the pipe could not end the server.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask import Flask
from waitress import create_server, wasyncore

from core.serving.app import ServingState, create_app, state_of
from core.serving.errors import ServerStartError
from core.serving.model import LoadedModel
from core.serving.settings import ServingConfig
from core.serving.signals import install_signal_handlers
from core.serving.slot import ModelSlot
from core.serving.watch import PointerWatcher, read_pointer

log = logging.getLogger("shipway.serving")
LOOP_SLICE = 0.2  # seconds: the longest a stop waits for the loop when nothing can wake it


def is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _named_address(host: str) -> bool:
    """A specific, non-loopback address (not 0.0.0.0 or ::, which answer on every address)."""
    if is_loopback(host):
        return False
    try:
        return not ipaddress.ip_address(host).is_unspecified
    except ValueError:
        return True  # a host name


def url_host(host: str) -> str:
    """``host`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


def http_url(host: str, port: int) -> str:
    return f"http://{url_host(host)}:{port}"


def write_ready(path: str | os.PathLike[str], host: str, port: int) -> None:
    """Tell whoever started the server where it listens: ``{"port", "pid", "host", "url"}``
    in ``path``, written whole (through a temporary file) so a reader never sees half."""
    file = Path(path)
    data = {"port": port, "pid": os.getpid(), "host": host, "url": http_url(host, port)}
    temporary = file.with_name(f".{file.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(data), encoding="utf-8")
    os.replace(temporary, file)


def check_bind(host: str, token: str | None) -> None:
    """Refuse an address other hosts can reach unless a token guards it."""
    if not is_loopback(host) and not token:
        raise ServerStartError(
            f"serving on {host} makes the model reachable from other machines: give a token "
            "(--token) or serve on 127.0.0.1",
            code="token_required",
        )


@dataclass
class RunningServer:
    """A waitress server answering in a background thread; :meth:`stop` ends it."""

    app: Flask
    server: Any = field(repr=False)
    thread: threading.Thread = field(repr=False)
    host: str
    port: int
    _stopped: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return http_url(self.host, self.port)

    @property
    def state(self) -> ServingState:
        return state_of(self.app)

    @property
    def slot(self) -> ModelSlot:
        return self.state.slot

    def stop(self, timeout: float = 10.0) -> None:
        """Stop answering, flush the prediction log, and join the loop thread."""
        if self._stopped:
            return
        self._stopped = True
        _stop_loop(self.server, self.thread, timeout)
        self.state.close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _stop_loop(server: Any, thread: threading.Thread, timeout: float) -> None:
    """The stop sequence of the module's docstring: no new tasks, answers flushed, then the
    loop ``thread`` closes everything and ends."""
    server.shipway_stopping = True
    server.task_dispatcher.shutdown(cancel_pending=True, timeout=timeout)
    _await_flushed(server, deadline=time.monotonic() + 1.0)
    server.shipway_close = True  # the loop thread closes everything at its next turn
    try:
        server.trigger.pull_trigger()
    except OSError as exc:  # the wake-up pipe is gone: the loop notices within a slice
        log.warning("the server loop could not be woken (%s); it stops on its own", exc)
    thread.join(timeout)
    if thread.is_alive():
        log.warning("the server loop did not stop within %.0f s", timeout)


def _await_flushed(server: Any, deadline: float) -> None:
    """Give answers already computed a moment to reach their clients (read-only peeking)."""
    while time.monotonic() < deadline:
        channels = list(server.active_channels.values())
        if not any(getattr(c, "total_outbufs_len", 0) for c in channels):
            return
        time.sleep(0.01)


def _close_all(server: Any) -> None:
    """Runs in the loop thread: close client channels, then the server and its trigger."""
    for channel in list(server._map.values()):
        if channel is server or channel is server.trigger:
            continue
        with contextlib.suppress(OSError):
            if hasattr(channel, "outbufs"):
                channel.handle_close()  # waitress' own way to drop a connection and its buffers
            else:
                channel.close()
    try:
        server.close()  # the trigger's pipe too
    except OSError as exc:  # a descriptor of that pipe was closed by other code
        log.debug("closing the server after its trigger failed: %s", exc)
    # Where waitress gave up on the trigger (or the server) halfway, close what is still ours:
    # the trigger's own copy of the pipe's read end, and the listening socket.
    for dispatcher in (server.trigger, server):
        if dispatcher.socket is not None:
            with contextlib.suppress(OSError):
                wasyncore.dispatcher.close(dispatcher)


def _bind(
    app: Flask, host: str, port: int, threads: int, config: ServingConfig, sock: Any = None
) -> Any:
    server = _create(app, host, port, threads, config, sock)
    if not hasattr(server, "effective_port"):  # a name resolving to several addresses
        server.close()  # safe here: no loop runs yet
        raise ServerStartError(f"{host} resolves to several addresses: give one address")
    return server


def _create(
    app: Flask, host: str, port: int, threads: int, config: ServingConfig, sock: Any = None
) -> Any:
    where: dict[str, Any] = {"host": host, "port": port}
    if sock is not None:
        where = {"sockets": [sock]}
    try:
        return create_server(
            app,
            **where,
            threads=threads,
            # Past our own limit, so that our JSON 413 answers bodies up to twice the limit;
            # waitress refuses larger ones itself before they are buffered in full.
            max_request_body_size=2 * config.max_body_bytes + 65536,
            ident="shipway",
            expose_tracebacks=False,
            clear_untrusted_proxy_headers=True,
            channel_timeout=30,
        )
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ServerStartError(
                f"port {port} on {host} is already in use: choose another port (or 0 for a "
                "free one)",
                code="port_in_use",
            ) from None
        raise ServerStartError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def start_server(
    model: ModelSlot | LoadedModel | str | os.PathLike[str],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    config: ServingConfig | None = None,
    threads: int = 4,
    sock: Any = None,
) -> RunningServer:
    """Serve ``model`` in a background thread; returns once the socket is listening.

    ``sock`` is a listening socket to accept on instead of binding ``host:port`` (the worker
    processes of one server share the socket their supervisor bound: see
    :mod:`core.serving.workers`).
    """
    config = config or ServingConfig()
    host = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
    check_bind(host, config.token)
    if _named_address(host):  # clients reaching a named address send it as their Host
        config = config.with_changes(allowed_hosts=(*config.allowed_hosts, url_host(host)))
    app = create_app(model, config)
    try:
        server = _bind(app, host, port, threads, config, sock)
    except BaseException:
        state_of(app).close()
        raise
    bound = int(server.effective_port)
    server.shipway_stopping = server.shipway_close = False
    thread = threading.Thread(
        target=_run_loop, args=(server,), name=f"shipway-serving-{bound}", daemon=True
    )
    thread.start()
    log.info("serving %s on http://%s:%d", state_of(app).slot.current().label, host, bound)
    return RunningServer(app, server, thread, host, bound)


def _run_loop(server: Any) -> None:
    """The loop thread: waitress' loop a poll at a time until a stop asks it to close all."""
    use_poll = server.adj.asyncore_use_poll
    while server._map and not server.shipway_close:
        try:
            wasyncore.loop(timeout=LOOP_SLICE, map=server._map, use_poll=use_poll, count=1)
        except OSError as exc:
            if not server.shipway_stopping:  # not a stop: a real failure
                raise
            log.debug("the server loop polled closed descriptors while stopping: %s", exc)
            break
    if server.shipway_stopping:
        _close_all(server)


def wait_until_stopped(stop: threading.Event, poll: float = 0.2) -> None:
    """Block until ``stop`` is set, waking often so that signal handlers run promptly."""
    while not stop.wait(poll):
        pass


def serve(
    model_dir: str | os.PathLike[str] | None,
    host: str = "127.0.0.1",
    port: int = 0,
    token: str | None = None,
    *,
    log_dir: str | os.PathLike[str] | None = None,
    watch: str | os.PathLike[str] | None = None,
    ready_file: str | os.PathLike[str] | None = None,
    threads: int = 4,
    config: ServingConfig | None = None,
    stop: threading.Event | None = None,
    sock: Any = None,
) -> None:
    """Serve a model directory until SIGTERM/SIGINT (or ``stop`` is set), then stop cleanly.

    ``watch`` names a pointer file to follow (see :mod:`core.serving.watch`); without
    ``model_dir`` the pointer's directory is served from the start. ``ready_file`` receives
    ``{"port", "pid", "host", "url"}`` once the socket listens, and is removed at the end.
    """
    base = config or ServingConfig()
    changes: dict[str, Any] = {}
    if token is not None:
        changes["token"] = token
    if log_dir is not None:
        changes["log_dir"] = str(log_dir)
    config = base.with_changes(**changes) if changes else base
    if model_dir is None:
        if watch is None:
            raise ServerStartError("give a model directory or a pointer file to watch")
        model_dir = read_pointer(watch)
    stop = stop or threading.Event()
    restore = install_signal_handlers(stop)
    try:
        running = start_server(
            model_dir, host=host, port=port, config=config, threads=threads, sock=sock
        )
    except BaseException:
        restore()
        raise
    watcher = PointerWatcher(watch, running.slot).start() if watch is not None else None
    try:
        if ready_file is not None:
            write_ready(ready_file, running.host, running.port)
        wait_until_stopped(stop)
        log.info("stopping")
    finally:
        if watcher is not None:
            watcher.stop()
        running.stop()
        if ready_file is not None:
            Path(ready_file).unlink(missing_ok=True)
        restore()
