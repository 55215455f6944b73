"""Text models are explained at their embedding layer: equal to captum's layer attributions there."""
import captum.attr
import pytest
import torch

from xaibench.errors import ConfigError
from xaibench.metrics.explainers.base import embedding_input
from xaibench.metrics.explainers.input_x_gradient import InputXGradient
from xaibench.metrics.explainers.integrated_gradients import IntegratedGradients
from xaibench.metrics.explainers.saliency import Saliency
from xaibench.testing import example_model

TEXT_MODELS = ["text_transformer", "text_bilstm"]


def setup(arch):
    model, x = example_model(arch)
    model.eval()
    return model, x, model(x).argmax(1)


@pytest.mark.parametrize("arch", TEXT_MODELS)
def test_embedding_input_is_the_same_function(arch):
    model, x, _ = setup(arch)
    embeddings, f = embedding_input(model, x)
    assert embeddings.shape == (*x.shape, model.embedding.embedding_dim)
    assert torch.equal(f(embeddings), model(x))
    # Two copies of a batch are another batch shape: CPU kernels (MKL, oneDNN) may pick another code path for it
    # (the BiLSTM's last bits differ on AMD EPYC), so the copies agree to float32 rounding, not bitwise.
    torch.testing.assert_close(f(torch.cat([embeddings, embeddings])), torch.cat([model(x), model(x)]))


@pytest.mark.parametrize("arch", TEXT_MODELS)
def test_gradient_explainers_equal_captum_layer_attributions(arch):
    model, x, t = setup(arch)
    layer_grad = captum.attr.LayerGradientXActivation(model, model.embedding, multiply_by_inputs=False)
    torch.testing.assert_close(Saliency(model).explain(x, t), layer_grad.attribute(x, target=t), rtol=0, atol=1e-7)
    layer_gxa = captum.attr.LayerGradientXActivation(model, model.embedding)
    torch.testing.assert_close(InputXGradient(model).explain(x, t), layer_gxa.attribute(x, target=t), rtol=0, atol=1e-7)
    # zero embeddings = the padding token's embedding row (padding_idx=0 keeps it zero)
    lig = captum.attr.LayerIntegratedGradients(model, model.embedding)
    reference = lig.attribute(x, baselines=torch.zeros_like(x), target=t, n_steps=32, method="gausslegendre")
    torch.testing.assert_close(IntegratedGradients(model).explain(x, t), reference, rtol=0, atol=1e-6)


def test_integer_inputs_need_an_embedding_layer():
    model = torch.nn.Sequential(torch.nn.Embedding(10, 4), torch.nn.Flatten(), torch.nn.Linear(12, 2))
    with pytest.raises(ConfigError, match="takes integer inputs but declares no embedding_layer"):
        Saliency(model).explain(torch.tensor([[1, 2, 3]]), torch.tensor([0]))
