"""scripts/bootstrap.sh: a command that fails inside one of its functions stops it with a message.

The script runs from a copy of the repository's layout with the system tools it calls stubbed
on PATH (dpkg-query, pg_lsclusters, pg_isready, runuser, psql), so the test drives its logic
without touching the machine's packages or PostgreSQL.
"""

import os
import re
import shutil
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# The superuser's psql (run through runuser): a server that answers, has PostGIS, has no role
# `icebox`, and refuses to create it.
RUNUSER = """#!/bin/bash
case "$*" in
    *"create role"*) echo "ERROR:  permission denied to create role" >&2; exit 1 ;;
    *server_version_num*) echo 150000 ;;
    *pg_available_extensions*) echo 1 ;;
    *pg_roles*) ;;
    *) echo 1 ;;
esac
"""
STUBS = {
    "dpkg-query": "#!/bin/sh\nprintf 'install ok installed'\n",
    "apt-get": "#!/bin/sh\necho 'apt-get must not run' >&2; exit 99\n",
    "pg_lsclusters": "#!/bin/sh\necho '15 main 5432 online'\n",
    "pg_isready": "#!/bin/sh\nexit 0\n",
    "psql": "#!/bin/sh\nexit 0\n",
    "runuser": RUNUSER,
}


def test_a_failure_inside_a_function_names_the_failed_command(tmp_path):
    assert os.geteuid() == 0, "the script refuses to run as anyone but root"
    repo, bin_dir = tmp_path / "repo", tmp_path / "bin"
    (repo / "scripts").mkdir(parents=True)
    shutil.copy(REPO / "scripts" / "bootstrap.sh", repo / "scripts" / "bootstrap.sh")
    (repo / "requirements.txt").write_text("")
    bin_dir.mkdir()
    for name, text in STUBS.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(tmp_path)}
    result = subprocess.run(["bash", str(repo / "scripts" / "bootstrap.sh")], env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "permission denied to create role" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("bootstrap: ERROR:")]
    assert len(errors) == 1, result.stderr
    match = re.search(r"in admin_psql called from line (\d+)\)", errors[0])
    assert match, errors[0]
    script = (repo / "scripts" / "bootstrap.sh").read_text().splitlines()
    assert "create role" in script[int(match.group(1)) - 1]
    assert not (repo / ".venv").exists()
