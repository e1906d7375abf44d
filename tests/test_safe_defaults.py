"""Safe by default: the app is served on this computer only unless someone chooses otherwise."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_streamlit_config_binds_loopback():
    config = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text())
    assert config["server"]["address"] == "127.0.0.1"


def test_make_run_binds_loopback_unless_an_address_is_given():
    dry = subprocess.run(["make", "-n", "-W", "pyproject.toml", "run"], cwd=REPO, capture_output=True, text=True)
    line = next(x for x in dry.stdout.splitlines() if "streamlit run" in x)
    assert re.search(r"--server\.address 127\.0\.0\.1\b", line)
    wide = subprocess.run(["make", "-n", "run", "ADDRESS=0.0.0.0"], cwd=REPO, capture_output=True, text=True)
    assert "--server.address 0.0.0.0" in wide.stdout  # serving a network is an explicit setting
