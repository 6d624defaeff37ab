"""`python -m bench.emuprof OUT.prof ARGS...`: the emulator (`python -m qbo_emulator ARGS...`)
with every request's handling profiled (cProfile per request, merged; written at exit).

For `python -m bench --profile DIR`: werkzeug serves each request on its own thread, which a
plain `python -m cProfile` of the server would not see."""

from __future__ import annotations

import cProfile
import pstats
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask
from qbo_emulator import cli

_lock = threading.Lock()
_stats: list[pstats.Stats] = []


class Profiled:
    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        prof = cProfile.Profile()
        prof.enable()
        try:
            return list(self.app(environ, start_response))
        finally:
            prof.disable()
            with _lock:
                if _stats:
                    _stats[0].add(prof)
                else:
                    _stats.append(pstats.Stats(prof))


def main() -> None:
    out = sys.argv[1]
    make: Callable[..., Flask] = cli.__dict__["create_app"]  # cli's own name for the factory

    def create_app(*args: Any, **kwargs: Any) -> Flask:
        app = make(*args, **kwargs)
        app.wsgi_app = Profiled(app.wsgi_app)  # type: ignore[method-assign]
        return app

    cli.__dict__["create_app"] = create_app
    try:
        cli.emulator_command.main(sys.argv[2:], standalone_mode=False)
    finally:
        with _lock:
            if _stats:
                _stats[0].dump_stats(out)


if __name__ == "__main__":
    main()
