"""Self-checks for plugin authors, one per component kind, and the helpers they (and the tests) share.

Each check runs the component on a tiny built-in case on the CPU and raises `CheckError` listing every broken
rule of its contract in the author's terms (docs/PLUGINS.md):

>>> from xaibench.testing import check_metric
>>> from xaibench.metrics.complexity import Gini
>>> check_metric(Gini).modalities
('image', 'time_series')
"""
from xaibench.testing.architecture import check_architecture
from xaibench.testing.configs import component_problems, numeric_fields, out_of_range_params
from xaibench.testing.explainer import check_explainer
from xaibench.testing.helpers import (EXAMPLE_ARCHITECTURES, EXAMPLE_SHAPES, EXAMPLE_VOCAB, CheckError, const_model,
                                      example_model, explain, hooks_left, module_state, one_thread, tiny_data,
                                      tiny_model)
from xaibench.testing.method import CheckReport, MethodCheckError, check_training_method
from xaibench.testing.metric import check_metric
from xaibench.testing.task import check_task

__all__ = ["CheckError", "CheckReport", "EXAMPLE_ARCHITECTURES", "EXAMPLE_SHAPES", "EXAMPLE_VOCAB",
           "MethodCheckError", "check_architecture", "check_explainer", "check_metric", "check_task",
           "check_training_method", "component_problems", "const_model", "example_model", "explain", "hooks_left",
           "module_state", "numeric_fields", "one_thread", "out_of_range_params", "tiny_data", "tiny_model"]
