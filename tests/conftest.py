"""Test order: the longest files first, so that with two xdist workers (pyproject's addopts) the
SLURM tests, which mostly wait on the cluster, run beside everything else instead of after it."""

LONGEST_FIRST = ("test_slurm.py", "test_pipeline_e2e.py")


def pytest_collection_modifyitems(items):
    def rank(item):
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)  # stable: the order within a file and among the rest is kept
