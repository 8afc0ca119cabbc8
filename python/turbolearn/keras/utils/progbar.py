"""Keras' progress bar: ``n/total ━━━━── ETA/elapsed time/step - metric: value ...``."""
import sys
import time

__all__ = ["Progbar"]


def _format_time(seconds):
    if seconds >= 3600:
        return f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{int(seconds % 60):02d}"
    if seconds >= 60:
        return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
    return f"{int(seconds)}s"


def _format_per_step(seconds, unit):
    if seconds >= 1:
        return f"{seconds:.0f}s/{unit}"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.0f}ms/{unit}"
    return f"{seconds * 1e6:.0f}us/{unit}"


def _format_value(value):
    value = float(value)
    return f"{value:.4f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.4e}"


class Progbar:
    """``update(current, values)`` redraws at most every ``interval`` seconds (so a fast
    training loop does not pay for printing); ``finalize=True`` prints the final line.
    ``verbose=1``: a live bar; ``verbose=2``: only the final line."""

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None,
                 unit_name="step", file=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.file = file
        self.seen_so_far = 0
        self._values = {}
        self._start = time.perf_counter()
        self._last_update = 0.0
        self._live = hasattr(self._out(), "isatty") and self._out().isatty()

    def _out(self):
        return self.file or sys.stdout

    def update(self, current, values=None, finalize=None):
        for key, value in values or ():
            self._values[key] = value
        self.seen_so_far = current
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        if not self.verbose or (self.verbose == 2 and not finalize):
            return
        now = time.perf_counter()
        if not finalize and now - self._last_update < self.interval:
            return
        self._last_update = now
        elapsed = now - self._start
        per_step = elapsed / current if current else 0.0
        metrics = "".join(f" - {k}: {_format_value(v)}" for k, v in self._values.items())
        if self.verbose == 2:
            line = (f"{current}/{self.target or current} - {_format_time(elapsed)} - "
                    f"{_format_per_step(per_step, self.unit_name)}{metrics}")
        else:
            if self.target:
                done = int(self.width * min(current, self.target) / self.target)
                bar = "━" * done + "─" * (self.width - done)
                digits = len(str(self.target))
                count = f"{current:>{digits}}/{self.target} {bar}"
            else:
                count = f"{current}"
            shown = elapsed if finalize or not self.target else \
                per_step * (self.target - current)
            line = (f"{count} {_format_time(shown)} "
                    f"{_format_per_step(per_step, self.unit_name)}{metrics}")
        out = self._out()
        if finalize:
            out.write(("\r" if self._live else "") + line + "\n")
        elif self._live:
            out.write("\r" + line)
        out.flush()

    def add(self, n, values=None):
        self.update(self.seen_so_far + n, values)
