import torch

from xaibench.budget import Budget
from xaibench.methods.base import TrainingContext
from xaibench.methods.erm import ERM
from xaibench.models.small_cnn import SmallCNN
from xaibench.tasks.images.shapes import Shapes


def train_once(seed):
    data = Shapes(Shapes.parse_config({"n_train": 128, "n_test": 8})).load("train", 0)
    torch.manual_seed(seed)
    model = SmallCNN(SmallCNN.Config(width=4), (1, 32, 32), 4)
    method = ERM()
    method.ctx = TrainingContext(device=torch.device("cpu"), generator=torch.Generator().manual_seed(seed))
    before = [p.detach().clone() for p in model.parameters()]
    method.fit(model, data, Budget(epochs=2, batch_size=32))
    return model, before, method.ctx


def test_erm_trains_and_is_deterministic():
    m1, before, ctx = train_once(0)
    m2, _, _ = train_once(0)
    m3, _, _ = train_once(1)
    assert ctx.total_steps == 8 and ctx.step == 8
    assert all(not torch.equal(p, b) for p, b in zip(m1.parameters(), before))
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    assert not torch.equal(m1.classifier.weight, m3.classifier.weight)


def test_small_cnn_declares_its_layers():
    model = SmallCNN(SmallCNN.Config(), (3, 28, 28), 10, mean=[0.5, 0.4, 0.3], std=[0.2, 0.2, 0.2])
    assert next(iter(model.children())) is model.normalization  # normalization is the first layer
    assert isinstance(model.get_submodule(SmallCNN.cam_layer), torch.nn.Sequential)
    relus = [m for m in model.modules() if isinstance(m, torch.nn.ReLU)]
    assert len(relus) == 3 and len({id(r) for r in relus}) == 3 and not any(r.inplace for r in relus)
    x = torch.rand(2, 3, 28, 28)
    assert torch.allclose(model.normalization(x)[:, 1], (x[:, 1] - 0.4) / 0.2)
    assert model(x).shape == (2, 10)


def test_precision_switch_autocasts_the_forward_passes_and_keys_results():
    """bf16 runs each training forward pass under bfloat16 autocast and is part of the result key; fp32, the
    default, is left out of the key, so stores written before the switch keep theirs."""
    import dataclasses

    later = ("precision", "schedule")  # fields added after stores were written: out of the key at their defaults
    assert Budget().key() == {k: v for k, v in dataclasses.asdict(Budget()).items() if k not in later}
    assert Budget(precision="bf16").key()["precision"] == "bf16"
    data = Shapes(Shapes.parse_config({"n_train": 32, "n_test": 8})).load("train", 0)
    for precision, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        torch.manual_seed(0)
        model = SmallCNN(SmallCNN.Config(width=4), (1, 32, 32), 4)
        seen = []
        model.classifier.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
        method = ERM()
        method.ctx = TrainingContext(device=torch.device("cpu"), generator=torch.Generator().manual_seed(0),
                                     precision=precision)
        method.fit(model, data, Budget(epochs=1, batch_size=16, precision=precision))
        # two training steps under autocast, then the epoch-end health probe's plain and guided passes (fp32,
        # outside the step: TRAINING_METHODS.md §0)
        assert seen == [dtype, dtype, torch.float32, torch.float32]
        assert all(p.dtype == torch.float32 for p in model.parameters())
