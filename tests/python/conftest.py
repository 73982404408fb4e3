"""Where the tests find the built module, the command and the shared corpora.
IMGFLOW_BUILD (default: ../../build beside this folder) holds python/imgflow and app/imgflow."""
import os
import pathlib
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BUILD = pathlib.Path(os.environ.get("IMGFLOW_BUILD", ROOT / "build"))
SHARED = ROOT.parent / "shared"
sys.path.insert(0, str(BUILD / "python"))


@pytest.fixture(scope="session")
def command():
    binary = BUILD / "app" / "imgflow"
    if not binary.exists():
        pytest.skip(f"no imgflow command in {BUILD}")
    return str(binary)


@pytest.fixture(scope="session")
def shared():
    if not SHARED.is_dir():
        pytest.skip(f"the shared corpora are not at {SHARED}")
    return SHARED
