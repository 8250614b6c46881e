"""Benchmark runner: ``./dev bench [NAME ...] [--n N] [--repeat R] [--postgres] [--list]``.

Discovers the modules ``bench/bench_*.py``; each exposes ``NAME`` (str) and ``run(ctx) -> dict``
returning at least ``n``, ``ours_s`` and ``baseline_s`` (seconds for the whole batch of ``n``
items, ours and a bare baseline measured in the same run, usually through ``ctx.compare``). The
runner adds ``ratio`` (ours_s / baseline_s) and the circumstances of the run, prints one line per
benchmark and writes ``bench/results/NAME.json`` (``NAME.postgresql.json`` when the database is
PostgreSQL). Timings belong here, never in the test suite.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
for path in (ROOT, BENCH_DIR):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from pgserver import temporary_postgres  # noqa: E402  (needs BENCH_DIR on sys.path)

REQUIRED_KEYS = ("n", "ours_s", "baseline_s")


@dataclass
class Context:
    """What a benchmark's ``run(ctx)`` gets: the size and repeat options and timing helpers."""

    n: int | None  # --n: overrides every benchmark's default size
    repeat: int  # --repeat: timed runs of each side; the best (minimum) counts

    def size(self, default: int) -> int:
        """The number of items to use: ``--n`` when given, else the benchmark's default."""
        return self.n or default

    def time(self, fn: Callable[[], object]) -> float:
        """Best wall-clock seconds of ``repeat`` calls of ``fn`` (garbage collector paused)."""
        return min(self._once(fn) for _ in range(self.repeat))

    def compare(
        self, ours: Callable[[], object], baseline: Callable[[], object]
    ) -> tuple[float, float]:
        """``(ours_s, baseline_s)``: best of ``repeat`` runs each, the two sides alternating so
        that a slower or faster moment of the machine affects both alike."""
        ours_times, baseline_times = [], []
        for _ in range(self.repeat):
            ours_times.append(self._once(ours))
            baseline_times.append(self._once(baseline))
        return min(ours_times), min(baseline_times)

    @staticmethod
    def _once(fn: Callable[[], object]) -> float:
        gc.collect()
        gc.disable()
        try:
            start = time.perf_counter()
            fn()
            return time.perf_counter() - start
        finally:
            gc.enable()


def discover() -> dict[str, ModuleType]:
    """``NAME -> module`` for every ``bench/bench_*.py``."""
    found: dict[str, ModuleType] = {}
    for path in sorted(BENCH_DIR.glob("bench_*.py")):
        module = importlib.import_module(path.stem)
        name = getattr(module, "NAME", None)
        if not isinstance(name, str) or not callable(getattr(module, "run", None)):
            raise SystemExit(f"{path.name}: a benchmark needs NAME (str) and run(ctx)")
        if name in found:
            raise SystemExit(f"{path.name}: NAME {name!r} already used by {found[name].__file__}")
        found[name] = module
    return found


def describe(module: ModuleType) -> str:
    return (module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else ""


def run_one(name: str, module: ModuleType, ctx: Context, database: str) -> dict:
    result = module.run(ctx)
    missing = [key for key in REQUIRED_KEYS if key not in result]
    if missing:
        raise ValueError(f"run() result lacks {', '.join(missing)}")
    import django

    return {
        "name": name,
        "description": describe(module),
        "n": result["n"],
        "ours_s": result["ours_s"],
        "baseline_s": result["baseline_s"],
        "ratio": result["ours_s"] / result["baseline_s"],
        **{k: v for k, v in result.items() if k not in REQUIRED_KEYS},
        "repeat": ctx.repeat,
        "database": database,
        "python": platform.python_version(),
        "django": django.get_version(),
        "machine": f"{platform.system()} {platform.machine()}, {os.cpu_count()} CPUs",
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_result(result: dict) -> Path:
    suffix = "" if result["database"] == "sqlite" else f".{result['database']}"
    path = RESULTS_DIR / f"{result['name']}{suffix}.json"
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)
    return path


def report(result: dict) -> str:
    n = result["n"]

    def side(label: str, seconds: float) -> str:
        return f"{label} {seconds:8.3f} s ({seconds / n * 1e6:6.2f} µs/item)"

    return (
        f"{result['name']:<14} n={n:<9,} ratio {result['ratio']:6.2f}×   "
        f"{side('ours', result['ours_s'])}   {side('baseline', result['baseline_s'])}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="./dev bench", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (all)")
    parser.add_argument("--n", type=int, help="items per benchmark (each has its own default)")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per side (3)")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="run against a throwaway PostgreSQL 15 (bench/pg.sh) instead of DATABASE_URL/SQLite",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.repeat < 1 or (args.n is not None and args.n < 1):
        parser.error("--n and --repeat must be positive")

    benchmarks = discover()
    if args.list:
        for name, module in benchmarks.items():
            print(f"{name:<14} {describe(module)}")
        return 0
    unknown = [name for name in args.names if name not in benchmarks]
    if unknown:
        parser.error(f"unknown benchmark {', '.join(unknown)}; known: {', '.join(benchmarks)}")
    selected = args.names or list(benchmarks)

    with contextlib.ExitStack() as stack:
        if args.postgres:
            os.environ["DATABASE_URL"] = stack.enter_context(temporary_postgres())
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.bench")
        import django
        from django.db import connection

        django.setup()
        ctx = Context(n=args.n, repeat=args.repeat)
        RESULTS_DIR.mkdir(exist_ok=True)
        failed = []
        for name in selected:
            try:
                result = run_one(name, benchmarks[name], ctx, connection.vendor)
            except Exception:
                traceback.print_exc()
                print(f"{name:<14} FAILED", flush=True)
                failed.append(name)
                continue
            path = write_result(result)
            print(f"{report(result)}   → {path.relative_to(ROOT)}", flush=True)
        connection.close()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
