"""pwm-eval meets bad input with one line and exit 2, before any episode runs and without
leaving files behind."""
import pytest

from cli_helpers import TINY, run_cli, run_cli_read_only


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("eval") / "run"
    assert run_cli("pwm-train", [f"run_dir={run_dir}", *TINY, "epochs=4", "checkpoint_every=2"]).returncode == 0
    return run_dir


CASES = {
    "missing": (lambda r, t: ["checkpoint=" + str(t / "missing.pt"), f"out={t / 'e.parquet'}"], "missing.pt: no such file"),
    "directory": (lambda r, t: [f"checkpoint={r}", f"out={t / 'e.parquet'}"], "is a directory"),
    "random bytes": (lambda r, t: [f"checkpoint={_write(t / 'junk.pt', b'not a checkpoint' * 64)}", f"out={t / 'e.parquet'}"],
                     "junk.pt is not readable"),
    "truncated": (lambda r, t: [f"checkpoint={_write(t / 'cut.pt', (r / 'final/checkpoint.pt').read_bytes()[:4096])}",
                                f"out={t / 'e.parquet'}"], "cut.pt is not readable"),
    "4 KiB zeroed": (lambda r, t: [f"checkpoint={_write(t / 'z.pt', _zeroed((r / 'final/checkpoint.pt').read_bytes()))}",
                                   f"out={t / 'e.parquet'}"], "fails its CRC check"),
    "resume state": (lambda r, t: [f"checkpoint={r / 'state' / 'epoch_000004.pt'}", f"out={t / 'e.parquet'}"],
                     "is a resume state: give checkpoints/epoch_N.pt or final/checkpoint.pt"),
    "out is a directory": (lambda r, t: [f"checkpoint={r / 'final/checkpoint.pt'}", f"out={t}"], "is a directory; give a file name"),
}


def _zeroed(data: bytes) -> bytes:
    middle = len(data) // 2
    return data[:middle] + bytes(4096) + data[middle + 4096:]


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("case", CASES)
def test_bad_eval_input_is_one_line_and_exit_2(run, tmp_path, case):
    make_args, message = CASES[case]
    args = make_args(run, tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run_cli("pwm-eval", [*args, "episodes=1"], timeout=120)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr and "Traceback" not in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written


def test_eval_out_on_a_read_only_file_system_is_one_line_and_exit_2(run, tmp_path):
    read_only = tmp_path / "ro"
    read_only.mkdir()
    out = read_only / "e.parquet"
    result = run_cli_read_only("pwm-eval", [f"checkpoint={run / 'final/checkpoint.pt'}", f"out={out}", "episodes=1"],
                               read_only, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == f"pwm-eval: out {out}: cannot write into {read_only}: Read-only file system"
    assert "episode" not in result.stderr.lower()  # refused before any episode ran
