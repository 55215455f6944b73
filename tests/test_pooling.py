"""xaibench.models.pooling.MaxPool2d gives nn.MaxPool2d's values bit for bit, whichever layout it pools in."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from xaibench.models.pooling import MaxPool2d
from xaibench.models.small_cnn import SmallCNN


@pytest.mark.parametrize("kwargs", [{"kernel_size": 2}, {"kernel_size": 3, "stride": 2, "padding": 1},
                                    {"kernel_size": 2, "ceil_mode": True}, {"kernel_size": 3, "dilation": 2}])
def test_no_grad_values_equal_nn_max_pool_with_ties_and_nan(kwargs):
    torch.manual_seed(0)
    x = F.relu(torch.randn(5, 7, 13, 11))  # many exact ties at 0
    x[0, 0, 0, 0] = float("nan")
    x[1, 2, 3:6, 3:6] = 0.5
    with torch.no_grad():
        ours, ref = MaxPool2d(**kwargs)(x), nn.MaxPool2d(**kwargs)(x)
    assert ours.is_contiguous() and torch.equal(ours.isnan(), ref.isnan())
    assert torch.equal(ours.nan_to_num(-1.0), ref.nan_to_num(-1.0))


def test_with_a_gradient_the_nchw_kernel_and_its_gradient_are_kept():
    torch.manual_seed(0)
    x = F.relu(torch.randn(4, 3, 8, 8)).requires_grad_()
    weights = torch.randn(4, 3, 4, 4)
    (g_ours,) = torch.autograd.grad((MaxPool2d(2)(x) * weights).sum(), x)
    (g_ref,) = torch.autograd.grad((nn.MaxPool2d(2)(x) * weights).sum(), x)
    assert torch.equal(g_ours, g_ref)


def test_small_cnn_forward_equals_the_one_with_nn_max_pool():
    torch.manual_seed(0)
    model = SmallCNN(SmallCNN.Config(), (1, 32, 32), num_classes=10).eval()
    x = torch.rand(64, 1, 32, 32)
    with torch.no_grad():
        ours = model(x)
        for i, layer in enumerate(model.features):
            if isinstance(layer, MaxPool2d):
                model.features[i] = nn.MaxPool2d(layer.kernel_size)
        ref = model(x)
    assert torch.equal(ours, ref)
