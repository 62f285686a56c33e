"""Workflow code never reads the clock, randomness or the environment directly.

``workflows`` is passed through Temporal's sandbox (workers/main.py ``PASSTHROUGH``: one
import per process instead of one per run), so the sandbox's restricted proxies no
longer refuse such calls at run time; this check refuses them before they ship."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / "workflows"
# module attribute calls a replay would answer differently (workflow.now(),
# workflow.random(), workflow.uuid4() are the deterministic ones)
FORBIDDEN = {
    ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"),
    ("time", "time"), ("time", "monotonic"), ("time", "perf_counter"), ("time", "sleep"),
    ("uuid", "uuid1"), ("uuid", "uuid4"), ("os", "getenv"), ("os", "urandom"),
    ("secrets", "token_hex"), ("secrets", "token_bytes"),
}
FORBIDDEN_MODULES = {"random", "socket", "subprocess", "threading"}


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and ((node.value.id, node.attr) in FORBIDDEN or node.value.id == "environ")):
            found.append(f"{path.name}:{node.lineno} {node.value.id}.{node.attr}")
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else [
                a.name for a in node.names]
            found += [f"{path.name}:{node.lineno} imports {n}" for n in names
                      if n.split(".")[0] in FORBIDDEN_MODULES]
    return found


def scan() -> list[str]:
    return [o for path in sorted(WORKFLOWS.rglob("*.py")) for o in _offences(path)]


def test_no_workflow_module_reads_the_clock_randomness_or_environment() -> None:
    # In a process of its own: CPython 3.11's parser keeps its recursion depth in
    # interpreter-wide state, and a sandboxed workflow thread still compiling (a worker
    # of an earlier test winding down) made ``ast.parse`` here fail with "AST constructor
    # recursion depth mismatch".
    run = subprocess.run([sys.executable, "-c", "from tests.workflows."
                          "test_workflow_code_is_deterministic import scan; print(scan())"],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_the_check_finds_what_it_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import random\nfrom datetime import datetime\nx = datetime.now()\n")
    assert sorted(_offences(bad)) == ["bad.py:1 imports random", "bad.py:3 datetime.now"]
