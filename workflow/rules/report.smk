# Figures (one per task) and HTML tables for `snakemake --report report.html`; the data stays in
# results/metrics/*.parquet.
rule plot_learning_curves:
    input:
        training=rules.aggregate.output.training,
    output:
        report(
            "results/report/{task}/learning_curves.svg",
            caption="../report/learning_curves.rst",
            category="Figures",
            subcategory="{task}",
            labels={"task": "{task}", "figure": "learning curves"},
        ),
    log:
        "results/logs/report/{task}/learning_curves.log",
    params:
        analysis=lookup(dpath="analysis", within=config),
    conda:
        "../envs/pwm.yaml"
    script:
        "../scripts/plot_learning_curves.py"


rule plot_evaluation_curves:
    input:
        evaluations=rules.aggregate.output.evaluations,
    output:
        report(
            "results/report/{task}/evaluation_curves.svg",
            caption="../report/evaluation_curves.rst",
            category="Figures",
            subcategory="{task}",
            labels={"task": "{task}", "figure": "evaluation curves"},
        ),
    log:
        "results/logs/report/{task}/evaluation_curves.log",
    params:
        analysis=lookup(dpath="analysis", within=config),
    conda:
        "../envs/pwm.yaml"
    script:
        "../scripts/plot_evaluation_curves.py"


rule plot_substeps:
    input:
        leaderboard=rules.aggregate.output.leaderboard,
    output:
        report(
            "results/report/{task}/substeps.svg",
            caption="../report/substeps.rst",
            category="Figures",
            subcategory="{task}",
            labels={"task": "{task}", "figure": "return vs substeps"},
        ),
    log:
        "results/logs/report/{task}/substeps.log",
    conda:
        "../envs/pwm.yaml"
    script:
        "../scripts/plot_substeps.py"


rule plot_size_scaling:
    input:
        leaderboard=rules.aggregate.output.leaderboard,
        runs=rules.aggregate.output.runs,
    output:
        report(
            "results/report/{task}/size_scaling.svg",
            caption="../report/size_scaling.rst",
            category="Figures",
            subcategory="{task}",
            labels={"task": "{task}", "figure": "return vs size"},
        ),
    log:
        "results/logs/report/{task}/size_scaling.log",
    conda:
        "../envs/pwm.yaml"
    script:
        "../scripts/plot_size_scaling.py"


rule plot_multitask:
    input:
        multitask=rules.aggregate_multitask.output.multitask,
    output:
        report(
            "results/report/multitask.svg",
            caption="../report/multitask_figure.rst",
            category="Figures",
            subcategory="multi-task",
            labels={"task": "multi-task", "figure": "per-task returns"},
        ),
    log:
        "results/logs/report/multitask_figure.log",
    conda:
        "../envs/pwm.yaml"
    script:
        "../scripts/plot_multitask.py"


rule render_multitask_table:
    input:
        multitask=rules.aggregate_multitask.output.multitask,
        summary=rules.aggregate_multitask.output.summary,
    output:
        report(
            "results/report/multitask.html",
            caption="../report/multitask.rst",
            category="Tables",
            labels={"table": "multi-task"},
        ),
    log:
        "results/logs/report/multitask_table.log",
    params:
        analysis=lookup(dpath="analysis", within=config),
    conda:
        "../envs/pwm.yaml"
    script:
        "../scripts/render_multitask_table.py"


# The final policy of each configuration's best and worst seed, seen acting (evaluation.clips).
rule clips:
    input:
        runs=rules.aggregate.output.runs,
        checkpoints=configuration_checkpoints,
    output:
        best=f"{CLIPS_DIR}/best.gif",
        worst=f"{CLIPS_DIR}/worst.gif",
        chosen=f"{CLIPS_DIR}/clips.json",
    log:
        "results/logs/report/clips/{task}/{size}/{variant}.log",
    conda:
        "../envs/pwm.yaml"
    script:
        "../scripts/render_clips.py"


# The report's landing table, the same page as pwm-status: the leaderboard with findings,
# intervals, verdicts and cost, runs by outcome, running runs with ETA, node and memory, failures
# grouped by cause, collapse and divergence flags, every run. Its runs are those of runs.parquet.
rule status_report:
    input:
        runs=rules.aggregate.output.runs,
        clips=clip_targets,
    output:
        html=report(
            "results/report/status/status.html",
            caption="../report/status_report.rst",
            category="Overview",
            labels={"page": "status and leaderboard"},
        ),
        md="results/report/status/status.md",
    log:
        "results/logs/report/status_report.log",
    params:
        analysis=lookup(dpath="analysis", within=config),
    conda:
        "../envs/pwm.yaml"
    script:
        "../scripts/status_report.py"
