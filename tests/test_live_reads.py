"""A file the trainer replaces (metrics, status) is read through one handle: thousands of reads
while another process replaces it thousands of times each see one whole version."""
import subprocess
import sys

from pwm.run_dir import read_parquet_once

WRITER = """
import sys
import pandas as pd
from pathlib import Path
from pwm.run_dir import write_parquet_atomic
path = Path(sys.argv[1])
for version in range(1, 3001):  # a different length and content each time, as metrics grow
    write_parquet_atomic(pd.DataFrame({"version": [version] * (version % 50 + 1), "x": range(version % 50 + 1)}), path)
"""


def test_reads_of_a_file_replaced_thousands_of_times_are_whole(tmp_path):
    path = tmp_path / "metrics.parquet"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(path)])
    reads = 0
    try:
        while writer.poll() is None or reads == 0:
            if not path.exists():
                continue
            frame = read_parquet_once(path)
            version = frame["version"].iloc[0]
            assert (frame["version"] == version).all() and len(frame) == version % 50 + 1
            assert frame["x"].tolist() == list(range(len(frame)))
            reads += 1
    finally:
        writer.wait(timeout=120)
    assert writer.returncode == 0 and reads > 100, reads
