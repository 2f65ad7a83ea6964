"""Optional experiment tracking: every metrics row also written as TensorBoard scalars, in
RUN_DIR/tensorboard, so that a sweep can be watched live in TensorBoard beside the pipeline's
own report. Off by default (`tracking=none`); metrics.parquet stays the record the pipeline reads.

A resumed run purges the events logged after its resume epoch, so the curves hold every epoch
exactly once, as metrics.parquet does.
"""
from pathlib import Path

TRACKERS = ("none", "tensorboard")


class TensorBoard:
    def __init__(self, run_dir: Path, resume_epoch: int):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # torch's writer needs the tensorboard package
            raise RuntimeError("tracking=tensorboard needs the tensorboard package: pip install -e '.[tracking]'") from None
        self.writer = SummaryWriter(str(Path(run_dir) / "tensorboard"), purge_step=resume_epoch + 1)

    def log(self, row: dict) -> None:
        """Every numeric value of an epoch's row, at step = epoch (NaN, e.g. no episode ended, skipped)."""
        for key, value in row.items():
            if key != "epoch" and isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
                self.writer.add_scalar(key, value, row["epoch"])

    def close(self) -> None:
        self.writer.close()


def tracker(kind: str, run_dir: Path, resume_epoch: int):
    """The tracker of `kind`, or None for `none`."""
    return TensorBoard(run_dir, resume_epoch) if kind == "tensorboard" else None
