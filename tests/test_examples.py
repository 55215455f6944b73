"""The README's plugin guide works as written."""
from pathlib import Path

from conftest import REPO, run_cli

COMMAND = "xaibench run examples/plugin_suite.yaml --plugin examples/input_gradient_penalty.py --results results/plugin"


def test_readme_shows_the_example_command_and_code():
    readme = (REPO / "README.md").read_text()
    assert COMMAND in readme
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    example = (REPO / "examples" / "input_gradient_penalty.py").read_text()
    for line in code.splitlines():
        if line.strip() and not line.startswith("import") and not line.startswith("from"):
            assert line.rstrip() in example.splitlines() or line.strip().startswith("#"), line


def test_plugin_example_runs_end_to_end(tmp_path):
    args = COMMAND.split()[1:]
    args[args.index("results/plugin")] = str(tmp_path / "results")
    proc = run_cli(*args, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    board = Path(tmp_path / "results" / "LEADERBOARD.md").read_text()
    assert "| input\\_grad\\_l2(lam=10.0) | small\\_cnn |" in board and "| erm | small\\_cnn |" in board


def test_each_plugin_example_in_the_guide_passes_its_check():
    """docs/PLUGINS.md has one section per kind, each with a one-file example; each passes its self-check."""
    from xaibench.plugins import load_plugin_file
    from xaibench.registries import REGISTRIES
    from xaibench.testing import (check_architecture, check_explainer, check_metric, check_task,
                                  check_training_method)

    guide = (REPO / "docs" / "PLUGINS.md").read_text()
    examples = {"methods": ("input_gradient_penalty.py", "input_grad_l2", check_training_method, None),
                "explainers": ("squared_gradient.py", "squared_gradient", check_explainer, None),
                "metrics": ("attribution_entropy.py", "attribution_entropy", check_metric, None),
                "tasks": ("stripes_task.py", "stripes", check_task, {"n_train": 16, "n_test": 8}),
                "architectures": ("tiny_convnet.py", "tiny_convnet", check_architecture, None)}
    for kind, (file, name, check, config) in examples.items():
        assert f"examples/{file}" in guide and check.__name__ in guide, kind
        load_plugin_file(str(REPO / "examples" / file))
        check(REGISTRIES[kind].get(name), config)
