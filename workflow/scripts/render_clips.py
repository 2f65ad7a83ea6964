"""The final policy of a configuration's best and worst seed (by final evaluated return) as GIFs,
and which seeds they are (clips.json)."""
import sys

sys.stderr = open(snakemake.log[0], "w")

import json
import shutil
from pathlib import Path

import pandas as pd

from pwm.clips import record

w = snakemake.wildcards
runs = pd.read_parquet(snakemake.input.runs)
runs = runs[(runs.task == w.task) & (runs["size"] == w.size) & (runs.variant == w.variant)]
ranked = runs.sort_values(["final_eval_return", "seed"], ascending=[False, True], na_position="last")
chosen = {}
for role, row in (("best", ranked.iloc[0]), ("worst", ranked.iloc[-1])):
    out = Path(snakemake.output[role])
    if role == "worst" and row.seed == chosen["best"]["seed"]:  # one seed: the same clip
        shutil.copyfile(snakemake.output.best, out)
        played = chosen["best"]["episode"]
    else:
        played = record(Path(row.run_dir) / "final" / "checkpoint.pt", out)
    chosen[role] = {"seed": int(row.seed), "eval_return": float(row.final_eval_return), "episode": played}
    print(f"{role}: seed {row.seed}, evaluated return {row.final_eval_return:.1f}, clip {played}", file=sys.stderr)
Path(snakemake.output.chosen).write_text(json.dumps(chosen, indent=1))
