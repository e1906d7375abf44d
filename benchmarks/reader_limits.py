"""Reading the pathological files of issue 14: time, peak memory and outcome, today and (optionally) before.

Each file is built by the bad-input corpus's own builders (``tests/test_bad_input.py``) and read by
``read_tickets`` in its own child process, so one case's memory never counts for another. The child's wall time
covers the read only (imports excluded); its peak memory is its own ``ru_maxrss``. A child is stopped after
``--timeout`` seconds and its address space is capped at ``--memory-gb`` (a zip bomb must not take the machine
down), so a "before" that hangs is reported as "> N s".

With ``--before REV`` the same files are also read by ``tickets.py`` as it was at git revision REV (the
single-file reader before the split). The shared-strings bomb is never read by an old revision: the issue
measured 523 s and 20.8 GB for it.

Usage:
    .venv/bin/python benchmarks/reader_limits.py [--before 4cddd6e] [--timeout 60] [--memory-gb 4]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

CASES = {
    "used range A1:Z1048576 (4 KB xlsx)": ("t.xlsx", "huge_dimension_workbook('Z')", True),
    "used range A1:XFD1048576 (xlsx)": ("t.xlsx", "huge_dimension_workbook('XFD')", True),
    "shared strings bomb, 100 MB unpacked": ("t.xlsx", "shared_strings_bomb()", False),
    "10 MB single line of fields (csv)": ("t.csv", "','.join(f'w{i}' for i in range(1_400_000)).encode()", True),
    "10 MB single-cell line (csv)": ("t.csv", "b'x' * 10_000_000", True),
    "Forms 60 questions, 78 KB header, 25 students": ("forms.csv", "forms_export(60, 25, 1300)", True),
    "Forms 200 questions, 30 students": ("forms.csv", "forms_export(200, 30, 120)", True),
    "5,000 columns x 20 students (csv)": ("wide.csv", "many_columns()", True),
    "tabs per period P1/P3/P5 (xlsx)": ("periods.xlsx", "periods_workbook()", True),
}

CHILD = textwrap.dedent(
    """
    import importlib.util, json, resource, sys, time
    path, before = sys.argv[1], sys.argv[2]
    limit = int(float(sys.argv[3]) * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    import feedback_assistant.records  # noqa: F401
    if before:
        spec = importlib.util.spec_from_file_location("feedback_assistant.tickets_before", before)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        read_tickets = module.read_tickets
    else:
        from feedback_assistant.tickets import read_tickets
    start = time.perf_counter()
    try:
        t = read_tickets(path)
        outcome = f"{len(t.frame):,} rows from {t.source_rows:,}"
        if getattr(t, "notices", ()):
            outcome += f"; {len(t.notices)} notice(s)"
    except MemoryError:
        outcome = "MemoryError"
    except Exception as exc:
        outcome = f"{type(exc).__name__}: {str(exc)[:70]}"
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "outcome": outcome}))
    """
)


def _run(path: Path, before: str, timeout: float, memory_gb: float) -> dict:
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(path), before, str(memory_gb)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return {"seconds": None, "peak_mb": None, "outcome": f"stopped after {timeout:.0f} s"}
    lines = done.stdout.strip().splitlines()
    if not lines:
        return {"seconds": None, "peak_mb": None, "outcome": f"crashed: {done.stderr.strip()[-80:]}"}
    return json.loads(lines[-1])


def _fmt(result: dict | None) -> list[str]:
    if result is None:
        return ["not run", "", ""]
    s = result["seconds"]
    seconds = f"{s:.2f}" if s is not None else "-"
    peak = f"{result['peak_mb']:.0f}" if result["peak_mb"] is not None else "-"
    return [seconds, peak, result["outcome"]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--before", help="git revision whose tickets.py to measure too (e.g. 4cddd6e)")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--memory-gb", type=float, default=4.0)
    args = parser.parse_args()
    import test_bad_input as corpus

    with tempfile.TemporaryDirectory() as tmp:
        old = ""
        if args.before:
            old = str(Path(tmp) / "tickets_before.py")
            source = subprocess.run(
                ["git", "show", f"{args.before}:src/feedback_assistant/tickets.py"],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            Path(old).write_text(source, encoding="utf-8")
        rows = []
        for name, (filename, expr, before_ok) in CASES.items():
            folder = Path(tmp) / str(len(rows))
            folder.mkdir()
            path = folder / filename
            path.write_bytes(eval(expr, vars(corpus)))  # noqa: S307 - our own builder expressions above
            size = path.stat().st_size
            now = _run(path, "", args.timeout, args.memory_gb)
            then = _run(path, old, args.timeout, args.memory_gb) if old and before_ok else None
            rows.append([name, f"{size / 1024:,.0f} KB", *_fmt(now), *_fmt(then)])
    header = ["file", "size", "now s", "now MB", "now outcome", "before s", "before MB", "before outcome"]
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)))


if __name__ == "__main__":
    main()
