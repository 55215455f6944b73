"""FLINT (Parekh et al. 2021): a predictor f trained jointly with an attribute network Φ, an interpreter h and a
decoder d reading f's hidden layers; and its post-hoc variant on a frozen ERM model (TRAINING_METHODS.md §3)."""
from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import ClassVar, Literal

import torch
import torch.nn.functional as F
from torch import nn

from xaibench.batch import Batch
from xaibench.budget import Budget
from xaibench.errors import ConfigError
from xaibench.methods.base import TrainingMethod
from xaibench.methods.erm import ERM
from xaibench.methods.hooks import capture_outputs, frozen
from xaibench.ranges import PositiveFloat, PositiveInt
from xaibench.registries import METHODS

AUX = "xaibench_aux"
KEY = "flint"
WIDTH = 64  # Φ's conv width and its pooled grid (3x3, so 576 features) in both designs of the code
GRID = 3

# Term -> ((start progress, weight), ...): the weight of the last entry whose start <= progress (0 before the first).
Schedule = dict[str, tuple[tuple[float, float], ...]]
PRESETS: dict[str, Schedule] = {
    "mnist": {"rec": ((0, 0.8),), "of": ((2 / 12, 0.5),), "spa": ((2 / 12, 0.1),), "ent": ((4 / 12, 0.2),)},
    "quickdraw": {"rec": ((0, 5.0),), "of": ((2 / 12, 0.1),), "spa": ((1 / 12, 0.02), (2 / 12, 0.30)),
                  "ent": ((3 / 12, 0.1),)},
    "cifar10": {"rec": ((0, 2.0),), "of": ((2 / 25, 0.6),), "spa": ((1 / 25, 0.001), (2 / 25, 0.15)),
                "ent": ((3 / 25, 0.2),)},
}
RESTART = {"cifar10": (18 / 25, 4e-5)}  # the CIFAR-10 code re-creates Adam at this lr at epoch 18 of 25
PRESET_REC_LOSS = {"mnist": "mse", "quickdraw": "mse", "cifar10": "l1"}


def schedule_weights(preset: str, progress: float) -> dict[str, float]:
    """The weight of each term (rec, of, spa, ent) at ``progress`` = step / total_steps.

    >>> schedule_weights("mnist", 0.1), schedule_weights("mnist", 0.5)["ent"]
    ({'rec': 0.8, 'of': 0.0, 'spa': 0.0, 'ent': 0.0}, 0.2)
    """
    return {term: max(((s, w) for s, w in steps if progress >= s), default=(0, 0.0))[1]
            for term, steps in PRESETS[preset].items()}


def entropy(v: torch.Tensor) -> torch.Tensor:
    """Ent(v) = -Σ softmax(v) log softmax(v) over the last axis."""
    return -(F.softmax(v, -1) * F.log_softmax(v, -1)).sum(-1)


def entropy_loss(P: torch.Tensor) -> torch.Tensor:
    """L_ent = mean_i Ent(|Φ(x_i)|) - Ent(mean_i |Φ(x_i)|): conciseness minus batch diversity."""
    return entropy(P.abs()).mean() - entropy(P.abs().mean(0))


def output_fidelity_loss(logits: torch.Tensor, h_logits: torch.Tensor, direction: str = "code") -> torch.Tensor:
    """L_of: the code's cross-entropy of h towards f's detached softmax, or the paper's f towards h's softmax.

    >>> round(output_fidelity_loss(torch.zeros(1, 2), torch.tensor([[0.0, math.log(3)]])).item(), 6)  # ½ ln(16/3)
    0.836988
    """
    if direction == "code":
        return -(F.softmax(logits.detach(), 1) * F.log_softmax(h_logits, 1)).sum(1).mean()
    return -(F.softmax(h_logits, 1) * F.log_softmax(logits, 1)).sum(1).mean()


def relevance(P: torch.Tensor, weight: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """r_j = |Φ_j w_cj| / max_i |Φ_i w_ci| per sample (METRICS.md §8); an all-zero row stays 0.

    >>> relevance(torch.tensor([[2.0, 1.0, -0.5], [0.0, 0.0, 0.0]]), torch.ones(1, 3), torch.tensor([0, 0])).tolist()
    [[1.0, 0.5, 0.25], [0.0, 0.0, 0.0]]
    """
    contrib = (P * weight[c]).abs()
    top = contrib.amax(1, keepdim=True)
    return contrib / torch.where(top > 0, top, torch.ones_like(top))


# -- the auxiliary networks -----------------------------------------------------------------------------------------

def _layout(h: torch.Tensor, modality: str | None) -> torch.Tensor:
    """Hidden outputs with channels on axis 1: token sequences N×T×D (transformers, text) become N×D×T."""
    if h.dim() == 3 and modality != "time_series":
        return h.transpose(1, 2)
    return h


class AttributeNet(nn.Module):
    """Φ: f's hidden layers → J attributes. One layer: the MNIST design (conv, LeakyReLU, pool 3, linear,
    LeakyReLU); several: the ResNet design (a strided conv-ReLU per layer to the smallest grid, concat, conv-ReLU,
    pool 3, linear, ReLU). 1-D hidden maps use Conv1d and a pool of 9; flat ones a linear branch [D].

    >>> phi = AttributeNet([(32, 8, 8)], n_attributes=5)
    >>> phi([torch.zeros(2, 32, 8, 8)]).shape
    torch.Size([2, 5])
    """

    def __init__(self, shapes: list[tuple[int, ...]], n_attributes: int, modality: str | None = None):
        super().__init__()
        self.modality = modality
        ndim = {len(s) for s in shapes}
        if len(ndim) != 1:
            raise ConfigError(f"flint: flint_layers mix output shapes {shapes}; Φ needs one kind of layer")
        spatial = len(shapes[0]) - 1
        single = len(shapes) == 1
        act = (lambda: nn.LeakyReLU()) if single else (lambda: nn.ReLU())
        if spatial == 0:
            self.branches = nn.ModuleList(nn.Sequential(nn.Linear(s[0], WIDTH), act()) for s in shapes)
            self.mix = nn.Identity() if single else nn.Sequential(nn.Linear(WIDTH * len(shapes), WIDTH), act())
            self.pool, features = nn.Identity(), WIDTH
        else:
            conv = {1: nn.Conv1d, 2: nn.Conv2d}[spatial]
            pool = {1: nn.AdaptiveAvgPool1d(GRID * GRID), 2: nn.AdaptiveAvgPool2d(GRID)}[spatial]
            smallest = min(s[1] for s in shapes)
            self.target_size = tuple(min(s[1 + i] for s in shapes) for i in range(spatial))
            self.branches = nn.ModuleList(
                nn.Sequential(conv(s[0], WIDTH, 3, stride=max(s[1] // smallest, 1), padding=1), act())
                for s in shapes)
            self.mix = nn.Identity() if single else nn.Sequential(
                conv(WIDTH * len(shapes), WIDTH, 3, padding=1), act())
            self.pool, features = pool, WIDTH * GRID * GRID
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(features, n_attributes), act())

    def forward(self, hidden: list[torch.Tensor]) -> torch.Tensor:
        parts = [branch(_layout(h, self.modality)) for branch, h in zip(self.branches, hidden)]
        if len(parts) > 1 and parts[0].dim() > 2:  # strides give the smallest grid up to rounding: make it exact
            parts = [F.adaptive_avg_pool2d(p, self.target_size) if p.dim() == 4 else
                     F.adaptive_avg_pool1d(p, self.target_size) for p in parts]
        return self.head(self.pool(self.mix(torch.cat(parts, 1))))


class _View(nn.Module):
    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view(len(x), *self.shape)


def make_decoder(n_attributes: int, shape: tuple[int, ...]) -> nn.Module:
    """d: J attributes → a reconstruction of shape ``shape`` (one sample).

    Images with sides divisible by 4: one channel → the 28×28 design (linear to 2×H/4×W/4, two transposed convs
    with ReLU); more channels → the 32×32×3 design (linear to 10×H/4×W/4, ConvT to 24 and 8 with ReLU, linear to
    C·H·W). Anything else (time series, text embeddings, odd sizes): linear–ReLU–linear [D].

    >>> make_decoder(25, (1, 28, 28))(torch.zeros(2, 25)).shape
    torch.Size([2, 1, 28, 28])
    """
    up = dict(kernel_size=3, stride=2, padding=1, output_padding=1)
    if len(shape) == 3 and shape[1] % 4 == 0 and shape[2] % 4 == 0:
        c, h, w = shape[0], shape[1] // 4, shape[2] // 4
        if c == 1:
            return nn.Sequential(nn.Linear(n_attributes, 2 * h * w), _View(2, h, w),
                                 nn.ConvTranspose2d(2, 8, **up), nn.ReLU(), nn.ConvTranspose2d(8, 1, **up), nn.ReLU())
        return nn.Sequential(nn.Linear(n_attributes, 10 * h * w), _View(10, h, w),
                             nn.ConvTranspose2d(10, 24, **up), nn.ReLU(), nn.ConvTranspose2d(24, 8, **up), nn.ReLU(),
                             nn.Flatten(), nn.Linear(8 * 16 * h * w, math.prod(shape)), _View(*shape))
    return nn.Sequential(nn.Linear(n_attributes, 256), nn.ReLU(), nn.Linear(256, math.prod(shape)), _View(*shape))


def flint_nets(model: nn.Module) -> nn.ModuleDict | None:
    """FLINT's Φ (``phi``), h (``h``) and d (``d``) on ``model``, or None for a model not trained with FLINT."""
    aux = getattr(model, AUX, None)
    return aux[KEY] if isinstance(aux, nn.ModuleDict) and KEY in aux else None


def _capture_paths(model: nn.Module) -> list[str]:
    layers = list(getattr(model, "flint_layers", ()) or ())
    if not layers:
        raise ConfigError(f"flint: architecture {type(model).__name__} declares no flint_layers")
    embedding = getattr(model, "embedding_layer", None)
    return layers + ([embedding] if embedding else [])


def _reconstruction_target(model: nn.Module, x: torch.Tensor, captured: dict[str, torch.Tensor]) -> torch.Tensor:
    """d reconstructs the raw input; for token ids, the (detached) embedded input [D]."""
    return x if x.dtype.is_floating_point else captured[model.embedding_layer].detach()


@dataclasses.dataclass
class FlintOutput:
    logits: torch.Tensor  # f(x)
    attributes: torch.Tensor  # Φ(x), N×J
    interpreter: torch.Tensor  # h(Φ(x)) logits
    target: torch.Tensor  # what d reconstructs


def flint_forward(model: nn.Module, x: torch.Tensor) -> FlintOutput:
    """f(x), Φ(x) and h(Φ(x)) in one pass of f (hooks on its ``flint_layers``, removed before returning)."""
    nets = flint_nets(model)
    if nets is None:
        raise ConfigError(f"model {type(model).__name__} has no FLINT networks (train it with flint or flint_posthoc)")
    layers = list(model.flint_layers)
    with capture_outputs(model, _capture_paths(model)) as captured:
        logits = model(x)
    P = nets["phi"]([captured[p] for p in layers])
    return FlintOutput(logits, P, nets["h"](P), _reconstruction_target(model, x, captured))


def attach_flint(model: nn.Module, x: torch.Tensor, n_attributes: int = 25) -> nn.ModuleDict:
    """Add Φ, h and d, sized from one pass of ``x`` (a few inputs), to ``model.xaibench_aux["flint"]``.

    >>> from xaibench.models.small_cnn import SmallCNN
    >>> model = SmallCNN(SmallCNN.Config(width=4), (1, 28, 28), num_classes=10)
    >>> nets = attach_flint(model, torch.rand(2, 1, 28, 28))
    >>> flint_forward(model, torch.rand(3, 1, 28, 28)).interpreter.shape
    torch.Size([3, 10])
    """
    if flint_nets(model) is not None:
        return flint_nets(model)
    modality = getattr(model, "modality", None)
    mode = model.training
    with torch.no_grad(), capture_outputs(model, _capture_paths(model)) as captured:
        model.eval()
        logits = model(x)
        model.train(mode)
    hidden = [tuple(_layout(captured[p], modality).shape[1:]) for p in model.flint_layers]
    target = tuple(_reconstruction_target(model, x, captured).shape[1:])
    # fork_rng: initializing the new networks leaves the global RNG (which f's dropout draws from) where it was,
    # so f trains exactly as it would without them (flint_posthoc reproduces the erm model bitwise)
    with torch.random.fork_rng(devices=[]):
        nets = nn.ModuleDict({
            "phi": AttributeNet(hidden, n_attributes, modality),
            "h": nn.Sequential(nn.Dropout(0.01), nn.Linear(n_attributes, logits.shape[1])),
            "d": make_decoder(n_attributes, target),
        }).to(x.device)
    if not isinstance(getattr(model, AUX, None), nn.ModuleDict):
        setattr(model, AUX, nn.ModuleDict())
    getattr(model, AUX)[KEY] = nets
    return nets


# -- the methods ----------------------------------------------------------------------------------------------------

@METHODS.register
class FLINT(TrainingMethod):
    """FLINT (Parekh et al. 2021): f jointly trained with attributes Φ, interpreter h and decoder d on its hidden layers.

    >>> FLINT().cfg.preset, FLINT.provides
    ('mnist', frozenset({'flint'}))
    """

    name = "flint"
    version = "1"
    cost = "about 1.5x ERM (Φ, h, d beside one forward-backward; spec: about 1.2x, measure)"
    provides: ClassVar[frozenset[str]] = frozenset({KEY})
    posthoc: ClassVar[bool] = False

    @dataclasses.dataclass(frozen=True)
    class Config:
        n_attributes: PositiveInt = 25  # J (the code: 25 MNIST, 24 QuickDraw, 36 CIFAR-10)
        preset: Literal["mnist", "quickdraw", "cifar10"] = "mnist"  # weight schedules
        rec_loss: Literal["preset", "mse", "l1"] = "preset"  # preset: l1 for cifar10, else mse
        of_direction: Literal["code", "paper"] = "code"
        optimizer: Literal["flint", "task"] = "flint"  # flint: Adam lr (+ the cifar10 restart); task: the budget's
        lr: PositiveFloat = 1e-4

    def prepare(self, model: nn.Module, x: torch.Tensor) -> None:
        attach_flint(model, x, self.cfg.n_attributes)

    def terms(self, out: FlintOutput, nets: nn.ModuleDict) -> dict[str, torch.Tensor]:
        """The auxiliary loss terms of TRAINING_METHODS.md §3 (rec, of, spa, ent)."""
        rec = self.cfg.rec_loss if self.cfg.rec_loss != "preset" else PRESET_REC_LOSS[self.cfg.preset]
        P, recon = out.attributes, nets["d"](out.attributes)
        return {
            "rec": (F.mse_loss if rec == "mse" else F.l1_loss)(recon, out.target),
            "of": output_fidelity_loss(out.logits, out.interpreter, self.cfg.of_direction),
            "spa": P.abs().mean(),
            "ent": entropy_loss(P),
        }

    def loss(self, model: nn.Module, batch: Batch, step: int) -> torch.Tensor:
        nets = flint_nets(model)
        out = flint_forward(model, batch.x)
        weights = schedule_weights(self.cfg.preset, self.ctx.progress)
        aux = sum(weights[k] * v for k, v in self.terms(out, nets).items())
        self.health.add(train_fidelity=(out.interpreter.argmax(1) == out.logits.argmax(1)).to(torch.float32).mean())
        return aux if self.posthoc else F.cross_entropy(out.logits, batch.y) + aux

    def fit(self, model: nn.Module, train_data: Batch, budget: Budget) -> nn.Module:
        self.prepare(model, train_data.x[:2])  # no-op when the harness already did it
        self._train(model, train_data, budget, model.parameters())
        return model

    def _train_mode(self, model: nn.Module) -> None:
        model.train()

    def _train(self, model: nn.Module, train_data: Batch, budget: Budget, params: Iterable[nn.Parameter]) -> None:
        """The default loop with FLINT's optimizer: Adam at ``lr`` (the code), re-created for the cifar10 preset;
        with ``optimizer: task``, the budget's Adam and lr schedule."""
        ctx, params = self.ctx, list(params)
        own = self.cfg.optimizer == "flint"
        ctx.total_steps = budget.epochs * -(-len(train_data) // budget.batch_size)
        if own:  # the code's constant lr: the budget's schedule does not apply
            optimizer, ctx.scheduler = torch.optim.Adam(params, lr=self.cfg.lr), None
        else:
            optimizer, ctx.scheduler = budget.optimizer(params, ctx.total_steps)
        restart = RESTART.get(self.cfg.preset) if own else None
        ctx.step = 0
        self.start_health()
        for _ in range(budget.epochs):
            for batch in train_data.minibatches(budget.batch_size, ctx.generator):
                if restart and ctx.progress >= restart[0]:
                    optimizer, restart = torch.optim.Adam(params, lr=restart[1]), None
                self._train_mode(model)
                self.train_step(model, batch.to(ctx.device), optimizer)
            self.health.end_epoch()


@METHODS.register
class FLINTPosthoc(FLINT):
    """Post-hoc FLINT: Φ, h and d trained on the frozen ERM model of the same task, architecture, seed and budget.

    ``fit`` first trains ERM exactly as the ``erm`` method does (same initial weights, generator and budget,
    so f is bitwise the cached ERM model), then freezes f (eval mode) and minimizes the FLINT terms minus L_acc.

    >>> FLINTPosthoc.posthoc, FLINTPosthoc().cfg.n_attributes
    (True, 25)
    """

    name = "flint_posthoc"
    version = "1"
    cost = "about 2.4x ERM (an ERM run, then Φ, h, d on the frozen model)"
    posthoc = True

    def fit(self, model: nn.Module, train_data: Batch, budget: Budget) -> nn.Module:
        nets = attach_flint(model, train_data.x[:2], self.cfg.n_attributes)
        erm = ERM()
        erm.ctx = self.ctx  # the same seeded generator: the same minibatch order as the erm cell
        erm.fit(model, train_data, budget)  # Φ, h, d get no gradient, so Adam leaves them (and f's steps) alone
        with frozen(model):
            nets.requires_grad_(True)
            self._train(model, train_data, budget, nets.parameters())
        model.train()
        return model

    def _train_mode(self, model: nn.Module) -> None:
        model.eval()  # f frozen: no dropout, no BatchNorm updates
        flint_nets(model).train()
