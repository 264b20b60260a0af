"""Atomic writes and caches that several processes fill at once (distributed ranks, side-by-side runs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from preserve import weights
from preserve.atomic import FolderBusyError, FolderLock, atomic_torch_save, atomic_write


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path):
    target = tmp_path / "model.pt"
    atomic_torch_save({"a": torch.ones(2)}, target)

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half a fi")
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        atomic_write(target, broken)
    assert torch.equal(torch.load(target, weights_only=True)["a"], torch.ones(2))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


RACE = """
import sys, time, torch
from pathlib import Path
from preserve import weights
here, n = Path(sys.argv[1]), int(sys.argv[2])

def convert(source):
    (here / f"started-{sys.argv[3]}").touch()
    deadline = time.time() + 3  # wait for the others to arrive, so that all write at the same moment if they can
    while len(list(here.glob("started-*"))) < n and time.time() < deadline:
        time.sleep(0.01)
    return {"w": torch.arange(4_000_000, dtype=torch.float32)}

print(float(weights.converted(here / "source.bin", "race", convert)["w"][-1]))
"""


def test_a_written_file_gets_the_permissions_open_would_give_it(tmp_path):
    """Not the 0600 of the temporary file it was written through: a stylized image or model must be as
    readable as any other file the user writes there."""
    (tmp_path / "plain.txt").write_text("x")
    atomic_write(tmp_path / "atomic.txt", lambda tmp: tmp.write_text("x"))
    plain, written = ((tmp_path / name).stat().st_mode & 0o777 for name in ("plain.txt", "atomic.txt"))
    assert written == plain


def test_processes_asking_for_one_conversion_at_once_all_get_it(tmp_path):
    (tmp_path / "source.bin").write_bytes(b"weights")
    env = {**os.environ, "PRESERVE_HOME": str(tmp_path / "home")}
    procs = [subprocess.Popen([sys.executable, "-c", RACE, str(tmp_path), "4", str(i)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(4)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0] * 4, [err[-500:] for _, err in results]
    assert {out.strip() for out, _ in results} == {"3999999.0"}
    assert len(list(tmp_path.glob("started-*"))) == 1  # converted once; the others waited and read it


CONVERT = """
import sys, torch
from preserve.faces.embedders import EMBEDDERS
net = EMBEDDERS.create(sys.argv[1])
x = torch.rand(1, 3, net.input_size, net.input_size, generator=torch.Generator().manual_seed(0))
print(float(net.embed(x).sum()))
"""


@pytest.mark.slow
@pytest.mark.parametrize("name, spec", [("sface", weights.SFACE_ONNX), ("facenet", weights.FACENET_GRAPH)])
def test_three_processes_convert_one_embedder_on_a_fresh_cache(tmp_path, name, spec):
    """Each converts or waits for the one that does; all succeed, with one converted file and one answer."""
    home = tmp_path / "home"
    source = weights.resolve(spec)  # the pinned file, copied into the fresh cache so nothing is downloaded
    cached = home / weights.cached_path(spec).relative_to(weights.home())
    cached.parent.mkdir(parents=True)
    shutil.copy(source, cached)
    env = {**os.environ, "PRESERVE_HOME": str(home), "OMP_NUM_THREADS": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", CONVERT, name], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-800:] for _, err in results]
    assert len({out.strip() for out, _ in results}) == 1
    made = [p.name for p in (home / "converted").iterdir() if not p.name.endswith(".lock")]
    assert len(made) == 1 and made[0].endswith(".pt")


def test_a_second_holder_of_a_folder_lock_is_refused_with_the_pid(tmp_path):
    code = ("import sys, time; from preserve.atomic import FolderLock; lock = FolderLock(sys.argv[1]).acquire(); "
            "print('locked', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(FolderBusyError, match=f"pid {holder.pid}"):
            FolderLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    with FolderLock(tmp_path):  # released when its holder died, however it died
        pass
