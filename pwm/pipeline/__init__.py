"""The sweep and where its outputs go: the bottom layer of reporting, imported by the workflow.

`sweep` (config -> runs, variant and size names), `plan` (a config validated with the workflow's
schema and its defaults -> planned runs and analysis settings), `layout` (the one results-path
layout: run folders, evaluations, logs), `tasks` (what a task's name says: suite, normaliser).
Nothing here reads a run folder.
"""
