"""A throwaway PostgreSQL 15 server for benchmarks: ``with temporary_postgres() as url: ...``.

The server itself is started and stopped by ``bench/pg.sh`` (the same script ``.ci/run`` uses):
as the ``postgres`` user through ``runuser`` when we are root, Debian's postgresql-15 binaries,
a free port on 127.0.0.1, no durability. Standard library only, so it can run before Django is
set up (DATABASE_URL is read when the settings load).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_SH = Path(__file__).resolve().parent / "pg.sh"


@contextmanager
def temporary_postgres(dbname: str = "shebao_bench") -> Iterator[str]:
    """Start a server in a temporary directory, yield its DATABASE_URL, stop it and clean up."""
    tmp = tempfile.mkdtemp(prefix="shebao-pg-")
    try:
        url = subprocess.run(
            [str(PG_SH), "start", tmp, dbname], check=True, stdout=subprocess.PIPE, text=True
        ).stdout.strip()
        yield url
    finally:
        subprocess.run([str(PG_SH), "stop", tmp], check=False)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":  # smoke test: python3 bench/pgserver.py
    with temporary_postgres() as url:
        print(url)
        subprocess.run(["psql", url, "-Atc", "select version()"], check=True)
