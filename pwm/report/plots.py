"""Report figures, one per task, with a panel per model size.

Curves are means over seeds with a t-interval band (a bootstrap per point would dominate run
time on long runs); points in the substeps and size figures are leaderboard entries with their
bootstrap intervals. Colours are fixed per variant across every figure: the MLP baseline is
black, flow variants are coloured by K, solid for Heun and dashed for Euler.
"""
import matplotlib

matplotlib.use("Agg")  # figures are only ever written to files, on machines without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pwm.report.stats import t_band  # noqa: E402
from pwm.pipeline.sweep import Variant, size_value  # noqa: E402

MAX_POINTS = 400  # per curve; long runs are thinned after smoothing



def count_label(n: float) -> str:
    """A parameter count for a tick label: 523K, 1.6M; ? when unknown."""
    if not np.isfinite(n):
        return "?"
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.0f}"


def ordered_variants(names) -> list[str]:
    return sorted(set(names), key=lambda n: (Variant.parse(n).kind != "mlp", Variant.parse(n)))


def variant_style(name: str) -> dict:
    v = Variant.parse(name)
    if v.kind == "mlp":
        return {"color": "black", "linestyle": "-", "marker": "o"}
    shade = min(np.log2(v.substeps) / 4, 1.0)  # K = 1 ... 16 spread over the colour map
    return {"color": plt.cm.viridis(0.15 + 0.75 * shade), "linestyle": "-" if v.integrator == "heun" else "--",
            "marker": "s" if v.integrator == "heun" else "^"}


def _panels(sizes, title: str):
    n = max(len(sizes), 1)
    fig, axes = plt.subplots(1, n, figsize=(max(5.2 * n, 7.5), 4.2), squeeze=False)
    fig.suptitle(title)
    return fig, axes[0]


def _fit_to_curves(ax) -> None:
    """Scale the axes to the mean curves only: bands of 2-3 seeds can be far wider than the data
    (a t-interval with 1-2 degrees of freedom) and are clipped rather than allowed to flatten the
    curves."""
    values = np.concatenate([np.asarray(line.get_ydata(), dtype=float) for line in ax.lines])
    values = values[np.isfinite(values)]
    if len(values):
        low, high = values.min(), values.max()
        margin = 0.1 * (high - low) or 0.1 * abs(high) or 1.0
        ax.set_ylim(low - margin, high + margin)


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _band(ax, x, wide: pd.DataFrame, name: str, level: float) -> None:
    step = max(1, len(wide) // MAX_POINTS)
    mean, low, high = t_band(wide.to_numpy()[::step].T, level)
    style = variant_style(name)
    ax.plot(np.asarray(x)[::step], mean, color=style["color"], linestyle=style["linestyle"],
            label=f"{name} (n={wide.shape[1]})")
    ax.fill_between(np.asarray(x)[::step], low, high, color=style["color"], alpha=0.2, linewidth=0)


def learning_curves(training: pd.DataFrame, task: str, smoothing: int, level: float) -> plt.Figure:
    """Training return (moving average over `smoothing` epochs) against environment steps."""
    data = training[training.task == task]
    sizes = sorted(data["size"].unique(), key=size_value)
    fig, axes = _panels(sizes, f"{task}: training return (mean over seeds, {level:.0%} band)")
    if not sizes:
        _empty(axes[0], "no training metrics yet")
    for ax, size in zip(axes, sizes):
        if data.loc[data["size"] == size, "episode_return"].isna().all():
            _empty(ax, f"{size}: no training episode has finished yet")
            continue
        for name in ordered_variants(data.loc[data["size"] == size, "variant"]):
            runs = data[(data["size"] == size) & (data.variant == name)]
            wide = runs.pivot(index="epoch", columns="seed", values="episode_return")
            steps = runs.groupby("epoch")["env_steps"].mean().reindex(wide.index)
            _band(ax, steps, wide.rolling(smoothing, min_periods=1).mean(), name, level)
        _fit_to_curves(ax)
        ax.set(title=size, xlabel="environment steps", ylabel="training return")
        ax.legend(fontsize="small")
    return fig


def evaluation_curves(evaluations: pd.DataFrame, task: str, level: float) -> plt.Figure:
    """Evaluated return of every saved checkpoint against environment steps."""
    data = evaluations[evaluations.task == task]
    sizes = sorted(data["size"].unique(), key=size_value)
    fig, axes = _panels(sizes, f"{task}: evaluated return per checkpoint (mean over seeds, {level:.0%} band)")
    if not sizes:
        _empty(axes[0], "no evaluations yet")
    for ax, size in zip(axes, sizes):
        for name in ordered_variants(data.loc[data["size"] == size, "variant"]):
            runs = data[(data["size"] == size) & (data.variant == name)]
            per_checkpoint = runs.groupby(["checkpoint_epoch", "seed"])["return"].mean()
            wide = per_checkpoint.unstack("seed").sort_index()
            steps = runs.groupby("checkpoint_epoch")["env_steps"].mean().reindex(wide.index)
            _band(ax, steps, wide, name, level)
        _fit_to_curves(ax)
        ax.set(title=size, xlabel="environment steps", ylabel="evaluated return")
        ax.legend(fontsize="small")
    return fig


INTEGRATOR_STYLE = {"heun": {"color": "tab:blue", "linestyle": "-", "marker": "s"},
                    "euler": {"color": "tab:orange", "linestyle": "--", "marker": "^"}}


def _errorbar(ax, x, rows: pd.DataFrame, label: str, style: dict) -> None:
    """Points with their interval; a configuration without one (single seed) gets no bar."""
    yerr = np.vstack([rows.eval_return - rows.eval_ci_low, rows.eval_ci_high - rows.eval_return])
    ax.errorbar(x, rows.eval_return, yerr=np.nan_to_num(yerr), capsize=3, label=label, **style)


def substeps_figure(leaderboard: pd.DataFrame, task: str) -> plt.Figure:
    """Final evaluated return against flow substeps K, one line per integrator; MLP as a band."""
    board = leaderboard[leaderboard.task == task]
    sizes = sorted(board["size"].unique(), key=size_value)
    fig, axes = _panels(sizes, f"{task}: final evaluated return vs flow substeps")
    if not sizes:
        _empty(axes[0], "no configurations")
    for ax, size in zip(axes, sizes):
        rows = board[board["size"] == size]
        for _, base in rows[rows.kind == "mlp"].iterrows():
            ax.axhline(base.eval_return, color="black", label=f"mlp (n={base.n_seeds})")
            ax.axhspan(base.eval_ci_low, base.eval_ci_high, color="black", alpha=0.1, linewidth=0)
        flow = rows[rows.kind == "flow"]
        for integrator, line in flow.sort_values("substeps").groupby("integrator"):
            label = f"flow {integrator} (n={'/'.join(map(str, line.n_seeds))})"
            _errorbar(ax, line.substeps, line, label, INTEGRATOR_STYLE[integrator])
        if len(flow):
            ax.set_xscale("log", base=2)
            ax.set_xticks(sorted(flow.substeps.unique()), [str(k) for k in sorted(flow.substeps.unique())])
        ax.set(title=size, xlabel="flow substeps K", ylabel="evaluated return")
        ax.legend(fontsize="small")
    return fig


def size_scaling_figure(leaderboard: pd.DataFrame, runs: pd.DataFrame, task: str) -> plt.Figure:
    """Final evaluated return against model size, one line per variant."""
    board = leaderboard[leaderboard.task == task]
    sizes = sorted(board["size"].unique(), key=size_value)
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    fig.suptitle(f"{task}: final evaluated return vs model size")
    if not sizes:
        _empty(ax, "no configurations")
        return fig
    position = {size: i for i, size in enumerate(sizes)}
    for name in ordered_variants(board.variant):
        rows = board[board.variant == name].sort_values("size", key=lambda s: s.map(size_value))
        _errorbar(ax, rows["size"].map(position), rows, name, variant_style(name))
    world_model = runs[runs.task == task].groupby("size")["params_world_model"].median()
    labels = [f"{s}\n({count_label(world_model.get(s, np.nan))} world model)" for s in sizes]
    ax.set_xticks(range(len(sizes)), labels)
    ax.set(xlabel="size preset (real world-model parameters)", ylabel="evaluated return")
    ax.legend(fontsize="small")
    return fig


def multitask_figure(rows: pd.DataFrame) -> plt.Figure:
    """Per task set, each task's final evaluated return of the policies learned through a
    multi-task world model (bar: mean over seeds, dots: seeds), one bar per size and variant,
    with the single-task return of the same task, size and variant as a cross."""
    sets = sorted(rows.task_set.unique())
    fig, axes = _panels(sets, "multi-task policies: final evaluated return per task (x: single-task runs)")
    if not sets:
        _empty(axes[0], "no multi-task sweep configured")
    for ax, task_set in zip(axes, sets):
        group = rows[rows.task_set == task_set]
        tasks = sorted(group.task.unique())
        configs = sorted({(s, v) for s, v in zip(group["size"], group.variant)},
                         key=lambda c: (size_value(c[0]), ordered_variants([c[1]])))
        width = 0.8 / len(configs)
        for i, (size, variant) in enumerate(configs):
            config = group[(group["size"] == size) & (group.variant == variant)]
            x = np.arange(len(tasks)) + (i - (len(configs) - 1) / 2) * width
            per_task = config.groupby("task")
            mean = per_task.final_eval_return.mean().reindex(tasks)
            color = variant_style(variant)["color"]
            ax.bar(x, mean, width * 0.9, color=color, alpha=0.35, label=f"{size} {variant}")
            for xi, task in zip(x, tasks):
                seeds = config[config.task == task].final_eval_return
                ax.plot(np.full(len(seeds), xi), seeds, "o", color=color, markersize=3)
            ax.plot(x, per_task.single_task_return.first().reindex(tasks), "x", color="black", markersize=8)
        ax.set_xticks(range(len(tasks)), tasks, rotation=20, ha="right")
        ax.set(title=task_set, ylabel="evaluated return")
        ax.legend(fontsize="small")
    return fig


def save(fig: plt.Figure, path) -> None:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
