"""Report figures, one per task, with a panel per model size.

Curves show every seed as a thin line with the mean over seeds on top; points in the substeps and
size figures are leaderboard entries with their intervals. Colours are fixed per variant across every figure: the MLP baseline is
black, flow variants are coloured by K, solid for Heun and dashed for Euler.
"""
import matplotlib

matplotlib.use("Agg")  # figures are only ever written to files, on machines without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from pwm.pipeline.sweep import Variant, size_value  # noqa: E402

MAX_POINTS = 400  # per curve; long runs are thinned after smoothing
SEED_LINES = 12  # curves of more seeds (e.g. tasks x seeds pooled) show their mean only



def count_label(n: float) -> str:
    """A parameter count for a tick label: 523K, 1.6M; ? when unknown."""
    if not np.isfinite(n):
        return "?"
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.0f}"


def ordered_variants(names) -> list[str]:
    """The distinct variant names, mlp first (unique() first: iterating a long arrow-backed column
    value by value costs ~1 us per value)."""
    return sorted(pd.Series(names).unique(), key=lambda n: (Variant.parse(n).kind != "mlp", Variant.parse(n)))


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


def _empty(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def _seed_lines(ax, x, wide: pd.DataFrame, name: str) -> None:
    """Every seed (a column of `wide`) as a thin line, their mean on top: with a handful of
    seeds the spread is shown, not summarised by an interval that so few seeds cannot support."""
    step = max(1, len(wide) // MAX_POINTS)
    x, wide = np.asarray(x)[::step], wide.iloc[::step]
    style = variant_style(name)
    line = {"color": style["color"], "linestyle": style["linestyle"]}
    if wide.shape[1] <= SEED_LINES:
        ax.plot(x, wide.to_numpy(), linewidth=0.8, alpha=0.35, **line)
    ax.plot(x, wide.mean(axis=1).to_numpy(), linewidth=2.2, marker=style["marker"] if len(x) <= 25 else None,
            label=f"{name} (mean of {wide.shape[1]} seeds)", **line)


def _curves(data: pd.DataFrame, title: str, ylabel: str, empty: str, wide_of) -> plt.Figure:
    """A panel per size, per variant the seeds' curves from `wide_of(rows) -> (env steps, wide)`."""
    sizes = sorted(data["size"].unique(), key=size_value)
    fig, axes = _panels(sizes, title)
    if not sizes:
        _empty(axes[0], empty)
    for ax, size in zip(axes, sizes):
        at_size = data[data["size"] == size]
        for name in ordered_variants(at_size.variant):
            _seed_lines(ax, *wide_of(at_size[at_size.variant == name]), name)
        ax.set(title=size, xlabel="environment steps", ylabel=ylabel)
        ax.legend(fontsize="small")
    return fig


def learning_curves(training: pd.DataFrame, task: str, smoothing: int) -> plt.Figure:
    """Training return (moving average over `smoothing` epochs, carried over epochs in which no
    episode ended) against environment steps, every seed and their mean."""
    def wide_of(runs):
        wide = runs.pivot(index="epoch", columns="seed", values="episode_return")
        steps = runs.groupby("epoch")["env_steps"].mean().reindex(wide.index)
        return steps, wide.rolling(smoothing, min_periods=1).mean().ffill()
    return _curves(training[training.task == task], f"{task}: training return (thin: seeds, thick: mean)",
                   "training return", "no training metrics yet", wide_of)


def evaluation_curves(evaluations: pd.DataFrame, task: str) -> plt.Figure:
    """Evaluated return of every saved checkpoint against environment steps, every seed and their mean."""
    def wide_of(runs):
        wide = runs.groupby(["checkpoint_epoch", "seed"])["return"].mean().unstack("seed").sort_index()
        return runs.groupby("checkpoint_epoch")["env_steps"].mean().reindex(wide.index), wide
    return _curves(evaluations[evaluations.task == task],
                   f"{task}: evaluated return per checkpoint (thin: seeds, thick: mean)", "evaluated return",
                   "no evaluations yet", wide_of)


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
