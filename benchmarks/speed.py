"""Speed at every scale, measured side by side: a class of 30, a district's semester, and BERTopic.

One run prints one table. Every case runs in its own child process; its wall time is measured from process
start to files written, and its peak memory (RSS) is read from that child's own ``rusage`` (``os.wait4``), so
one case's peak never leaks into another's.

Cases:

- ``--help`` and a missing-file error of the installed ``feedback-assistant`` command (lazy imports: both
  well under 1 s).
- ``warm class``: in one child, the model is loaded and one warm-up analysis is run; then the class file is
  timed end to end (read -> embed -> groups -> stems -> plan -> files written), repeated, median reported.
  Each repetition uses a fresh, empty embedding cache (a new class's responses are never cached), so the
  embedding is really computed, with the model already in memory.
- ``cold CLI``: ``feedback-assistant analyze CLASS --out DIR --no-save`` as a new process, once with an empty
  ``FEEDBACK_ASSISTANT_HOME`` (empty embedding cache) and once more with the cache the first run left.
- ``map_dev``: all 24,066 rows of ``../shared/datasets/map_dev.csv`` (or ``--rows N`` of them), written to a
  temporary CSV with the columns a teacher's file has (``Student``, ``QuestionId``, ``MC_Answer``,
  ``StudentExplanation``), then analysed by a child that makes the CLI's calls (``read_tickets`` with
  ``question_col``/``answer_col``/``response_col`` -> ``pipeline.analyze`` with the default embedder,
  clusterer and library -> ``export.write_outputs``), from process start (imports included) to files
  written. First run with an empty cache, then a re-run with the embedding cache the first run left. The
  child also reports its stage times.
- ``BERTopic``: on the same rows, in its own child, ``BERTopic(embedding_model=SentenceTransformer(bundled
  model))`` with every other setting at its default, fitted once per question (the unit this tool groups),
  from process start (imports and model load included) to the last question's topics. Its child gets the
  ``OMP_WAIT_POLICY=PASSIVE`` this tool's embedder sets for itself, so neither is favoured when other
  programs share the cores.

Quality (ARI against the misconception gold): gold = ``Misconception`` where present, "Correct" for
``*_Correct``; ``*_Neither`` rows are grouped but left out of the ARI. Each ungrouped response (ours) and
each outlier (BERTopic's topic -1) counts as its own singleton. ARI is computed per question, for both
methods the same way, and the unweighted mean over questions is reported. This tool reads the chosen answer
(``MC_Answer``), as it does in any teacher's file that has one; BERTopic sees the text only (all its API
takes). To show how much of the gap is the answer column, the re-run is repeated on the same rows with the
``MC_Answer`` column removed (``text only``).

Usage:
    .venv/bin/python benchmarks/speed.py [--quick] [--rows N] [--repeat 5] [--class-files a.csv,b.csv]
        [--no-bertopic] [--no-text-only]

``--quick`` skips the map_dev and BERTopic rows. Cases are skipped with a message when the dataset or
bertopic is absent.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

SAMPLES = REPO / "sample_responses"
DEFAULT_CLASS_FILES = ("grade5_fractions.csv", "hs_social_studies.csv")
CLI = Path(sys.executable).parent / "feedback-assistant"
MAP_COLUMNS = {"question_col": "QuestionId", "answer_col": "MC_Answer", "response_col": "StudentExplanation"}

# Targets on a 2-core machine (issue 8).
TARGET_HELP_S = 1.0
TARGET_WARM_S = 0.5
TARGET_COLD_CLI_S = 12.0
TARGET_BIG_FIRST_S = 120.0
TARGET_BIG_RERUN_S = 10.0
TARGET_RSS_MB = 1536.0
TARGET_BERTOPIC_RATIO = 2.0


# ------------------------------------------------------------------------------------------ running children
class Run:
    """One finished child process: wall time, exit code, peak RSS and its output."""

    def __init__(self, wall: float, rc: int, rss_mb: float, out: str, err: str):
        self.wall, self.rc, self.rss_mb, self.out, self.err = wall, rc, rss_mb, out, err

    def json(self) -> dict:
        """The last line of stdout, parsed as JSON (children print their report there)."""
        lines = [ln for ln in self.out.splitlines() if ln.strip()]
        if self.rc != 0 or not lines:
            raise RuntimeError(f"child failed (exit {self.rc}):\n{self.err[-3000:]}")
        return json.loads(lines[-1])


def run_child(cmd: list[str], env: dict[str, str] | None = None) -> Run:
    """Run ``cmd`` to the end; return its wall time and its own peak RSS (from ``wait4``, in MB)."""
    full_env = {**os.environ, **(env or {})}
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=full_env, cwd=REPO)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        return Run(
            wall,
            proc.returncode,
            usage.ru_maxrss / 1024,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
        )


def child_cmd(mode: str, **kwargs) -> list[str]:
    me = str(Path(__file__).resolve())
    return [sys.executable, me, "--child", mode, "--child-args", json.dumps(kwargs)]


# ------------------------------------------------------------------------------------------- child processes
def _child_warm(class_file: str, repeat: int, home: str) -> dict:
    """Model loaded and warmed up; then the class file end to end ``repeat`` times, each with a new cache."""
    from feedback_assistant import pipeline
    from feedback_assistant.embedding import EmbeddingCache, MiniLMEmbedder, load_model
    from feedback_assistant.export import write_outputs
    from feedback_assistant.tickets import read_tickets

    load_model()
    library = _default_library()

    def once(tag: str) -> tuple[float, dict]:
        stages = {}
        t0 = time.perf_counter()
        tickets = read_tickets(class_file)
        stages["read"] = time.perf_counter() - t0
        emb = _TimedEmbedder(MiniLMEmbedder(cache=EmbeddingCache(Path(home) / tag)))
        t1 = time.perf_counter()
        analysis = pipeline.analyze(tickets, embedder=emb, library=library)
        stages["embed"] = emb.seconds
        stages["group+stems+plan"] = time.perf_counter() - t1 - emb.seconds
        t2 = time.perf_counter()
        write_outputs(analysis, Path(home) / f"out-{tag}")
        stages["write"] = time.perf_counter() - t2
        return time.perf_counter() - t0, stages

    once("warmup")
    times, all_stages = [], []
    for i in range(repeat):
        t, st = once(f"rep{i}")
        times.append(t)
        all_stages.append(st)
    stages = {k: statistics.median(s[k] for s in all_stages) for k in all_stages[0]}
    return {
        "median": statistics.median(times),
        "min": min(times),
        "max": max(times),
        "stages": stages,
        "responses": len(read_tickets(class_file).frame),
    }


def _child_pipeline(csv: str, out: str, labels_path: str, columns: dict[str, str]) -> dict:
    """What ``feedback-assistant analyze CSV --out OUT --no-save`` with column flags does, timed by stage."""
    t0 = time.perf_counter()
    import numpy as np

    from feedback_assistant import pipeline
    from feedback_assistant.export import write_outputs
    from feedback_assistant.tickets import read_tickets

    stages = {"imports": time.perf_counter() - t0}
    t = time.perf_counter()
    tickets = read_tickets(csv, **columns)
    stages["read"] = time.perf_counter() - t
    emb = _TimedEmbedder(pipeline.default_embedder())
    t = time.perf_counter()
    library = _default_library()
    analysis = pipeline.analyze(tickets, embedder=emb, library=library)
    stages["embed (incl. model load)"] = emb.seconds
    stages["group+stems+plan"] = time.perf_counter() - t - emb.seconds
    t = time.perf_counter()
    write_outputs(analysis, Path(out))
    stages["write"] = time.perf_counter() - t
    labels = np.full(len(analysis.frame), -1, dtype=int)
    for result in analysis.results:
        for r, lab in zip(result.responses, result.labels, strict=True):
            labels[r.row] = lab
    np.save(labels_path, labels)
    return {"stages": stages, "groups": sum(len(r.groups) for r in analysis.results), "responses": len(analysis.frame)}


def _child_bertopic(csv: str, labels_path: str) -> dict:
    """BERTopic with its defaults and the bundled model, fitted per question; topics saved per row."""
    t0 = time.perf_counter()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import numpy as np
    import pandas as pd
    from bertopic import BERTopic
    from sentence_transformers import SentenceTransformer

    from feedback_assistant.embedding import bundled_model_path

    stages = {"imports": time.perf_counter() - t0}
    t = time.perf_counter()
    model = SentenceTransformer(bundled_model_path(), device="cpu", local_files_only=True)
    stages["model load"] = time.perf_counter() - t
    df = pd.read_csv(csv, keep_default_na=False, dtype=str)
    topics = np.full(len(df), -1, dtype=int)
    t = time.perf_counter()
    failed = []
    for q in sorted(df[MAP_COLUMNS["question_col"]].unique()):
        idx = np.flatnonzero(df[MAP_COLUMNS["question_col"]].to_numpy() == q)
        docs = df[MAP_COLUMNS["response_col"]].iloc[idx].tolist()
        try:
            found, _ = BERTopic(embedding_model=model).fit_transform(docs)
            topics[idx] = np.asarray(found, dtype=int)
        except Exception as exc:  # e.g. too few rows for UMAP's defaults after --rows
            failed.append(f"{q}: {type(exc).__name__}: {exc}")
    stages["fit per question"] = time.perf_counter() - t
    np.save(labels_path, topics)
    pairs = set(zip(df[MAP_COLUMNS["question_col"]], topics.tolist(), strict=True))
    return {"stages": stages, "failed": failed, "topics": len(pairs)}


class _TimedEmbedder:
    """Wraps an embedder and adds up the seconds spent in ``encode``."""

    def __init__(self, inner):
        self.inner = inner
        self.name = getattr(inner, "name", "embedder")
        self.seconds = 0.0

    def encode(self, texts, progress=None):
        t = time.perf_counter()
        try:
            return self.inner.encode(texts, progress=progress)
        finally:
            self.seconds += time.perf_counter() - t


def _default_library():
    """The library the CLI opens with ``--no-save`` (None when the module is absent)."""
    try:
        from feedback_assistant.library import MisconceptionLibrary
    except ImportError:
        return None
    return MisconceptionLibrary()


CHILDREN = {"warm": _child_warm, "pipeline": _child_pipeline, "bertopic": _child_bertopic}


# ---------------------------------------------------------------------------------------------- quality
def mean_ari(labels, gold, scored, questions) -> float:
    """Mean over questions of the ARI on scored rows; each label -1 counts as its own singleton."""
    import numpy as np
    from sklearn.metrics import adjusted_rand_score

    labels = np.asarray(labels)
    aris = []
    for q in sorted(set(questions.tolist())):
        m = (questions == q) & scored
        if m.sum() < 2:
            continue
        lab = labels[m].copy()
        ung = lab < 0
        lab[ung] = lab.max(initial=0) + 1 + np.arange(ung.sum())
        aris.append(adjusted_rand_score(gold[m], lab))
    return float(np.mean(aris)) if aris else float("nan")


# ---------------------------------------------------------------------------------------------- the table
class Table:
    def __init__(self):
        self.rows: list[tuple[str, str, str, str, str, str]] = []

    def add(
        self, case: str, wall: float | None, rss: float | None, target: str = "", ok: bool | None = None, note: str = ""
    ):
        self.rows.append(
            (
                case,
                "-" if wall is None else f"{wall:.2f}",
                "-" if rss is None else f"{rss:.0f}",
                target,
                "" if ok is None else ("yes" if ok else "NO"),
                note,
            )
        )
        c, w, r, t, o, n = self.rows[-1]
        print(f"  .. {c}: {w} s, {r} MB {n}", file=sys.stderr, flush=True)

    def print(self):
        heads = ("case", "wall s", "peak RSS MB", "target", "met", "notes")
        widths = [max(len(h), *(len(r[i]) for r in self.rows)) for i, h in enumerate(heads)]
        line = "  ".join(f"{{:{'<' if i in (0, 5) else '>'}{w}}}" for i, w in enumerate(widths))
        print(line.format(*heads))
        print(line.format(*("-" * w for w in widths)))
        for r in self.rows:
            print(line.format(*r))


def _rss_ok(run: Run) -> bool:
    return run.rss_mb < TARGET_RSS_MB


def bench_startup(table: Table, tmp: Path) -> None:
    for label, args in (
        ("feedback-assistant --help", ["--help"]),
        ("missing-file error", ["analyze", str(tmp / "no-such-file.csv"), "--out", str(tmp / "o"), "--no-save"]),
    ):
        runs = [run_child([str(CLI), *args]) for _ in range(3)]
        wall = statistics.median(r.wall for r in runs)
        rc = runs[0].rc
        table.add(
            label,
            wall,
            max(r.rss_mb for r in runs),
            f"< {TARGET_HELP_S:g} s",
            wall < TARGET_HELP_S,
            f"median of 3, exit {rc}",
        )


def bench_class(table: Table, tmp: Path, files: list[Path], repeat: int) -> None:
    for f in files:
        run = run_child(
            child_cmd("warm", class_file=str(f), repeat=repeat, home=str(tmp / f"warm-{f.stem}")),
            env={"FEEDBACK_ASSISTANT_HOME": str(tmp / f"warm-{f.stem}")},
        )
        rep = run.json()
        st = ", ".join(f"{k} {v:.2f}" for k, v in rep["stages"].items())
        table.add(
            f"warm class: {f.name} ({rep['responses']} resp.)",
            rep["median"],
            run.rss_mb,
            f"< {TARGET_WARM_S:g} s",
            rep["median"] < TARGET_WARM_S and _rss_ok(run),
            f"in-process, model loaded, new cache; median of {repeat} (min {rep['min']:.2f}); {st}",
        )
    f = files[0]
    home = tmp / f"cold-{f.stem}"
    for label in ("empty cache", "warm cache"):
        run = run_child(
            [str(CLI), "analyze", str(f), "--out", str(home / "out"), "--no-save"],
            env={"FEEDBACK_ASSISTANT_HOME": str(home)},
        )
        if run.rc != 0:
            raise RuntimeError(f"CLI failed (exit {run.rc}):\n{run.err[-3000:]}")
        table.add(
            f"cold CLI: {f.name}, {label}",
            run.wall,
            run.rss_mb,
            f"< {TARGET_COLD_CLI_S:g} s",
            run.wall < TARGET_COLD_CLI_S and _rss_ok(run),
            "new process: start to files written",
        )


def bench_big(table: Table, tmp: Path, rows: int | None, bertopic: bool, text_only: bool) -> None:
    import numpy as np
    import pandas as pd
    from _datasets import DATASETS, load_map

    df = load_map()
    if df is None:
        print("map_dev.csv not found in ../shared/datasets: skipping the map_dev and BERTopic rows.")
        return
    raw = pd.read_csv(DATASETS / "map_dev.csv", keep_default_na=False, dtype=str)
    if rows and rows < len(raw):
        keep = np.sort(np.random.default_rng(0).choice(len(raw), rows, replace=False))
        raw, df = raw.iloc[keep].reset_index(drop=True), df.iloc[keep].reset_index(drop=True)
    csv = tmp / "map_rows.csv"
    teacher = raw[["row_id", "QuestionId", "MC_Answer", "StudentExplanation"]]
    teacher = teacher.rename(columns={"row_id": "Student"})
    teacher.to_csv(csv, index=False)
    text_csv = tmp / "map_rows_text_only.csv"  # no answer column at all (else it would be detected)
    teacher.drop(columns=["MC_Answer"]).to_csv(text_csv, index=False)
    n = len(teacher)
    gold, scored, questions = df["gold"].to_numpy(), df["scored"].to_numpy(), df["question"].to_numpy()
    home = tmp / "big-home"
    ours = {}
    for label, path, columns, target in (
        ("first run (empty cache)", csv, MAP_COLUMNS, TARGET_BIG_FIRST_S),
        ("re-run (embedding cache)", csv, MAP_COLUMNS, TARGET_BIG_RERUN_S),
        (
            "re-run, text only (no answer column)",
            text_csv,
            {k: v for k, v in MAP_COLUMNS.items() if k != "answer_col"},
            None,
        ),
    ):
        if target is None and not text_only:
            continue
        lab_path = tmp / f"labels-{len(ours)}.npy"
        run = run_child(
            child_cmd(
                "pipeline", csv=str(path), out=str(home / f"out{len(ours)}"), labels_path=str(lab_path), columns=columns
            ),
            env={"FEEDBACK_ASSISTANT_HOME": str(home)},
        )
        rep = run.json()
        ari = mean_ari(np.load(lab_path), gold, scored, questions)
        ours[label] = (run, ari)
        st = ", ".join(f"{k} {v:.1f}" for k, v in rep["stages"].items())
        table.add(
            f"map_dev {n} rows: ours, {label}",
            run.wall,
            run.rss_mb,
            f"< {target:g} s" if target else "",
            (run.wall < target and _rss_ok(run)) if target else None,
            f"ARI {ari:.3f}; {rep['groups']} groups; {st}",
        )
    if not bertopic:
        return
    try:
        import bertopic as _  # noqa: F401
    except ImportError:
        print("bertopic is not installed (pip install -e '.[bench]'): skipping the BERTopic row.")
        return
    lab_path = tmp / "labels-bertopic.npy"
    # Same OpenMP setting as this tool's embedder sets for itself (neutral when idle; fair under load).
    run = run_child(
        child_cmd("bertopic", csv=str(csv), labels_path=str(lab_path)),
        env={"FEEDBACK_ASSISTANT_HOME": str(tmp / "bertopic-home"), "OMP_WAIT_POLICY": "PASSIVE"},
    )
    rep = run.json()
    ari = mean_ari(np.load(lab_path), gold, scored, questions)
    st = ", ".join(f"{k} {v:.1f}" for k, v in rep["stages"].items())
    failed = f"; FAILED on {len(rep['failed'])} questions" if rep["failed"] else ""
    table.add(
        f"map_dev {n} rows: BERTopic defaults",
        run.wall,
        run.rss_mb,
        "",
        None,
        f"ARI {ari:.3f}; {rep['topics']} topics (incl. -1) over all questions; {st}{failed}",
    )
    first, our_ari = ours["first run (empty cache)"]
    ratio = run.wall / first.wall
    ok = ratio >= TARGET_BERTOPIC_RATIO and our_ari > ari
    table.add(
        "  BERTopic time / ours (first run)",
        ratio,
        None,
        f">= {TARGET_BERTOPIC_RATIO:g}x, higher ARI",
        ok,
        f"ARI ours {our_ari:.3f} vs BERTopic {ari:.3f} (ours / BERTopic = {our_ari / ari:.2f}x)"
        if ari > 0
        else f"ARI ours {our_ari:.3f} vs BERTopic {ari:.3f}",
    )
    if rep["failed"]:
        print("BERTopic failures:", *rep["failed"], sep="\n  ")


# ---------------------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="skip the map_dev and BERTopic rows")
    ap.add_argument("--rows", type=int, help="subsample map_dev to N rows (seed 0)")
    ap.add_argument("--repeat", type=int, default=5, help="repetitions of the warm class (median reported)")
    ap.add_argument("--class-files", help="comma-separated class files (default: two from sample_responses)")
    ap.add_argument("--no-bertopic", action="store_true", help="skip the BERTopic row")
    ap.add_argument("--no-text-only", action="store_true", help="skip the text-only re-run")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--child-args", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        print(json.dumps(CHILDREN[args.child](**json.loads(args.child_args))))
        return 0

    if not CLI.exists():
        print(f"{CLI} not found: run this with the project's venv python (.venv/bin/python).")
        return 1
    files = (
        [Path(f) for f in args.class_files.split(",")]
        if args.class_files
        else [SAMPLES / f for f in DEFAULT_CLASS_FILES]
    )
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    load = os.getloadavg()
    tmp = Path(tempfile.mkdtemp(prefix="fa-speed-"))
    table = Table()
    try:
        bench_startup(table, tmp)
        bench_class(table, tmp, files, args.repeat)
        if not args.quick:
            bench_big(table, tmp, args.rows, not args.no_bertopic, not args.no_text_only)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    end = os.getloadavg()
    print(
        f"\nfeedback-assistant speed, {started}, {os.cpu_count()} CPUs; load average (1/5/15 min) at start "
        f"{load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}, at end {end[0]:.2f} / {end[1]:.2f} / {end[2]:.2f}"
    )
    print("peak RSS = each child process's own ru_maxrss; wall = process start to files written, unless noted\n")
    table.print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
