"""Seeds that type-check: imports inferred by autoimport, then pyright on batches of seeds, a seed
with any error dropped (high_quality_subset.py)."""
from __future__ import annotations

import json
import logging
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Callable

log = logging.getLogger(__name__)


def infer_imports(code: str, timeout_s: int = 10) -> tuple[str, str]:
    """(code with the imports its names need, "fixed" | "unchanged" | "failed"), by the autoimport
    package as high_quality_subset.py:99-113 (10 s alarm; on any error the code stays as it was)."""
    import signal
    import threading

    import autoimport

    main = threading.current_thread() is threading.main_thread()

    def expire(signum, frame):
        raise TimeoutError("autoimport took too long")

    old = signal.signal(signal.SIGALRM, expire) if main else None
    try:
        if main:
            signal.alarm(timeout_s)
        fixed = autoimport.fix_code(code)
    except Exception as e:  # autoimport raises whatever its parsers raise on odd code
        log.debug("autoimport failed: %s", e)
        return code, "failed"
    finally:
        if main:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, old)
    return fixed, ("unchanged" if fixed == code else "fixed")


# high_quality_subset.py:38-46 runs bare `pyright` on the batch's folder: no configuration, so
# pyright's default checking mode ("standard"), the Python version and packages of the interpreter
# it finds. We name that interpreter (the harness's own, whose packages the sandbox also mounts):
# otherwise pyright takes whichever `python` is first on PATH.
PYRIGHT_CONFIG: dict = {}


def _pyright_batch(sources: list[str], timeout_s: int) -> list[int] | None:
    """Error count per source, or None when pyright crashed or timed out on the batch."""
    with tempfile.TemporaryDirectory(prefix="selfalign-pyright-") as d:
        root = Path(d)
        (root / "pyrightconfig.json").write_text(json.dumps(PYRIGHT_CONFIG))
        for i, src in enumerate(sources):
            (root / f"f{i}.py").write_text(src)
        cmd = [sys.executable, "-m", "pyright", "--outputjson", "--pythonpath", sys.executable,
               "-p", str(root / "pyrightconfig.json")]
        try:
            proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None
        if proc.returncode not in (0, 1):
            log.warning("pyright exited %s: %s", proc.returncode, (proc.stderr or proc.stdout)[-300:])
            return None
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            return None
        counts = [0] * len(sources)
        for diag in report.get("generalDiagnostics", []):
            if diag.get("severity") != "error":
                continue
            name = Path(diag.get("file", "")).name
            if name.startswith("f") and name.endswith(".py") and name[1:-3].isdigit():
                counts[int(name[1:-3])] += 1
        return counts


def pyright_errors(sources: list[str], batch_size: int = 200, timeout_s: int = 300,
                   progress: Callable[[int], None] | None = None) -> list[int | None]:
    """Pyright error count per source. A batch that crashes is bisected, so one bad input costs
    only itself (None) rather than its whole batch."""
    out: list[int | None] = [None] * len(sources)

    def run(lo: int, hi: int) -> None:
        res = _pyright_batch(sources[lo:hi], timeout_s)
        if res is not None:
            out[lo:hi] = res
            if progress:
                progress(hi - lo)
            return
        if hi - lo == 1:
            log.warning("pyright failed on one function; dropping it")
            if progress:
                progress(1)
            return
        mid = (lo + hi) // 2
        run(lo, mid)
        run(mid, hi)

    for lo in range(0, len(sources), batch_size):
        run(lo, min(lo + batch_size, len(sources)))
    return out
