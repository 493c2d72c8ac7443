"""The pod sandbox itself: it must forbid what a pod forbids, or the sandbox tests prove nothing."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pod_sandbox
import pytest

pytestmark = pytest.mark.usefixtures("pod_sandbox_ready")

PROBE = """
import json, os, tempfile
def writable(path):
    try:
        with open(os.path.join(path, "probe"), "w") as out:
            out.write("x")
        return True
    except OSError:
        return False
print(json.dumps({
    "ids": [os.getuid(), os.getgid(), os.getgroups()],
    "cwd": os.getcwd(),
    "home": os.environ.get("HOME"),
    "env": sorted(os.environ),
    "writable": {p: writable(p) for p in ["/", "/tmp", "/var/tmp", os.environ["HOME"],
                                          "/dev/shm", "/volume"]},
    "read_only_volume": writable("/config"),
    "config": open("/config/settings.txt").read(),
}))
"""


@pytest.mark.parametrize("uid", [1000, pod_sandbox.OPENSHIFT_UID])
def test_only_the_volumes_and_dev_shm_are_writable(uid: int, tmp_path: Path) -> None:
    volume, config = tmp_path / "volume", tmp_path / "config"
    volume.mkdir(mode=0o777)
    volume.chmod(0o777)
    config.mkdir()
    (config / "settings.txt").write_text("from a ConfigMap")
    config.chmod(0o777)  # writable on the host; the pod mounts it read-only
    pod = pod_sandbox.Pod(
        [sys.executable, "-c", PROBE],
        {"HOME": "/home/app", "PATH": "/usr/bin:/bin"},
        "/home/app",
        uid=uid,
        volumes=[
            pod_sandbox.Volume("/volume", volume),
            pod_sandbox.Volume("/config", config, read_only=True),
        ],
        image_dirs=["/home/app"],
    )
    result = pod_sandbox.run(pod, tmp_path / "stage", timeout=60)
    assert result.returncode == 0, result.stdout
    seen = json.loads(result.stdout)
    assert seen["ids"] == [uid, 0, []]
    assert seen["cwd"] == seen["home"] == "/home/app"
    # Nothing leaks from this machine; Python's C-locale coercion (PEP 538) adds LC_CTYPE itself.
    assert set(seen["env"]) - {"LC_CTYPE"} == {"HOME", "PATH"}
    assert seen["writable"] == {
        "/": False, "/tmp": False, "/var/tmp": False, "/home/app": False,
        "/dev/shm": True, "/volume": True,
    }  # fmt: skip
    assert seen["read_only_volume"] is False and seen["config"] == "from a ConfigMap"
    assert (volume / "probe").read_text() == "x"
    assert not (config / "probe").exists()
    assert not Path("/home/app").exists()  # the image's directories live in the sandbox only


def test_image_config_is_read_from_the_final_stage(repo_root: Path) -> None:
    image = pod_sandbox.ImageConfig.from_dockerfile(
        repo_root / "operator" / "Dockerfile", venv_bin=Path("/venv/bin")
    )
    assert image.user == 1000 and image.workdir == image.home == "/home/katib"
    assert image.env["PATH"].split(":")[0] == "/venv/bin"
    assert image.env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert image.entrypoint == ["katib-enas"] and image.cmd[0] == "serve"
