"""scripts/with-make.sh: the README's two commands work where make is not installed yet.

apt-get is replaced by a stub on PATH that records its calls and "installs" a stub make, so
the test checks the script's own logic without touching the machine's packages.
"""

import os
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

APT_GET = """#!/bin/bash
echo "apt-get $*" >> "$STUB_LOG"
if [[ "$*" == *install*make* ]]; then
    printf '#!/bin/bash\\necho "make $*"\\n' > "$STUB_BIN/make"
    /bin/chmod +x "$STUB_BIN/make"
fi
"""


def _run(bin_dir: Path, log: Path) -> subprocess.CompletedProcess:
    # Only what the script needs besides make: bash itself and dirname.
    for tool in ("bash", "dirname"):
        target = bin_dir / tool
        if not target.exists():
            target.symlink_to(shutil.which(tool))
    env = {"PATH": str(bin_dir), "STUB_LOG": str(log), "STUB_BIN": str(bin_dir)}
    return subprocess.run([shutil.which("bash"), "scripts/with-make.sh", "test", "PYTEST_ARGS=-x"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


def _stub_apt_get(bin_dir: Path) -> None:
    apt_get = bin_dir / "apt-get"
    apt_get.write_text(APT_GET)
    apt_get.chmod(0o755)


def test_make_is_installed_when_missing_then_run_with_the_arguments(tmp_path):
    assert os.geteuid() == 0, "the script installs packages as root, as the README says"
    bin_dir, log = tmp_path / "bin", tmp_path / "apt.log"
    bin_dir.mkdir()
    _stub_apt_get(bin_dir)
    result = _run(bin_dir, log)
    assert result.returncode == 0, result.stderr
    assert log.read_text().splitlines()[0] == "apt-get update -qq"
    assert "install" in log.read_text() and " make" in log.read_text()
    assert result.stdout.strip().splitlines()[-1] == "make test PYTEST_ARGS=-x"


def test_an_installed_make_is_used_as_it_is(tmp_path):
    bin_dir, log = tmp_path / "bin", tmp_path / "apt.log"
    bin_dir.mkdir()
    _stub_apt_get(bin_dir)
    (bin_dir / "make").write_text('#!/bin/bash\necho "make $*"\n')
    (bin_dir / "make").chmod(0o755)
    result = _run(bin_dir, log)
    assert result.returncode == 0, result.stderr
    assert not log.exists()
    assert result.stdout.strip() == "make test PYTEST_ARGS=-x"
