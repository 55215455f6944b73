"""Values of the §6 text metrics: the spec's closed forms, a per-document reference loop, and sklearn's AUPRC."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from xaibench.batch import Batch
from xaibench.metrics.functional import text as F
from xaibench.metrics.text import Comprehensiveness, Sufficiency
from xaibench.registries import ARCHITECTURES, METRICS, TASKS
from xaibench.testing import example_model

metrics_sk = pytest.importorskip("sklearn.metrics")

A_ID, B_ID, UNK = 2, 3, 1


pytestmark = pytest.mark.usefixtures("one_thread")


class FractionModel(nn.Module):
    """Spec model: p_1(x) = fraction m of token A among the non-padding tokens, via logits (log(1 − m), log m);
    records every batch of documents it sees."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.clone())
        m = (x == A_ID).sum(1).double() / (x != 0).sum(1).clamp(min=1)  # float64: the closed forms hold to 1e-12
        # clamped far below float64's resolution of p, so p is m up to rounding (the spec's 1e-12 would show)
        return torch.stack([(1 - m).clamp(min=1e-300).log(), m.clamp(min=1e-300).log()], 1)


def spec_document() -> tuple[torch.Tensor, torch.Tensor]:
    """10 tokens (6 A, 4 B, interleaved) and 4 padding; embedding-level attributions (E = 3) ranking every A first,
    signed so that only the `sum,abs` pooling ranks them right, with huge attributions on the padding."""
    ids = [A_ID, B_ID, A_ID, A_ID, B_ID, A_ID, B_ID, A_ID, A_ID, B_ID, 0, 0, 0, 0]
    x = torch.tensor([ids])
    score = torch.tensor([[6., .4, 5., 4., .3, 3., .2, 2., 1., .1, 0, 0, 0, 0]])
    A = torch.stack([-2 * score, score, 0 * score], -1)  # sum = -score: |sum| = score; l1-norm would be 3·score
    A[0, 10:] = 100.0
    return x, A


def run(metric_cls, params=None, x=None, A=None, model=None):
    if x is None:
        x, A = spec_document()
    model = model or FractionModel()
    batch = Batch(x, torch.ones(len(x), dtype=torch.long))
    target = torch.ones(len(x), dtype=torch.long)  # argmax of p = (0.4, 0.6)
    return metric_cls(params)(model, batch, A, target)


def test_spec_closed_forms():
    assert run(Comprehensiveness).item() == pytest.approx(19 / 150, abs=1e-12)
    assert run(Sufficiency).item() == pytest.approx(-0.4, abs=1e-12)


def test_eraser_normalization_adds_the_k0_term():
    # comp: the k = 0 term is 0, so 5·(19/150) / 6; suff: (5·(−0.4) + p(x) − p(empty)) / 6 with p(empty) = 0
    assert run(Comprehensiveness, {"aopc_norm": "eraser"}).item() == pytest.approx(19 / 180, abs=1e-12)
    assert run(Sufficiency, {"aopc_norm": "eraser"}).item() == pytest.approx(-1.4 / 6, abs=1e-12)


def test_mask_token_replaces_in_place():
    # Replaced tokens still count in the length: comp terms 0.6 − (6 − k)/10 = k/10; suff terms 0.6 − k/10.
    ks = [1, 1, 1, 2, 5]
    assert run(Comprehensiveness, {"mask_token": UNK}).item() == pytest.approx(sum(k / 10 for k in ks) / 5, abs=1e-12)
    assert run(Sufficiency, {"mask_token": UNK}).item() == pytest.approx(sum(0.6 - k / 10 for k in ks) / 5,
                                                                         abs=1e-12)


def test_documents_built_delete_and_repad_never_touching_padding():
    model = FractionModel()
    run(Comprehensiveness, model=model)
    docs = torch.cat(model.seen)
    a, b = A_ID, B_ID
    expected = [
        [a, b, a, a, b, a, b, a, a, b],  # k = 0: x itself
        *[[b, a, a, b, a, b, a, a, b]] * 3,  # k = 1 (bins 1 %, 5 %, 10 %): the top A deleted
        [b, a, b, a, b, a, a, b],  # k = 2
        [b, b, b, a, b],  # k = 5: the five highest-scored A deleted, order kept
    ]
    assert docs.tolist() == [row + [0] * (14 - len(row)) for row in expected]
    model = FractionModel()
    run(Sufficiency, model=model)
    kept = [row[row != 0].tolist() for row in torch.cat(model.seen)]
    assert kept == [expected[0], [a], [a], [a], [a, a], [a] * 5]
    model = FractionModel()
    run(Sufficiency, {"mask_token": UNK}, model=model)
    docs = torch.cat(model.seen)
    assert (docs[:, 10:] == 0).all() and ((docs[:, :10] == A_ID).sum(1)).tolist() == [6, 1, 1, 1, 2, 5]


def test_bin_sizes_round_the_product_before_the_ceiling():
    k = F.bin_sizes(torch.tensor([1, 10, 30, 7]))
    assert k.tolist() == [[1] * 5, [1, 1, 1, 2, 5], [1, 2, 3, 6, 15], [1, 1, 1, 2, 4]]
    assert F.bin_sizes(torch.tensor([4]), (1.0,)).tolist() == [[4]]


def reference_aopc(model, x, scores, target, bins, keep_top, eraser=False):
    """One document at a time with Python lists: the spec read literally (scores distinct, no ties)."""
    out = []
    for doc, s, c in zip(x.tolist(), scores.tolist(), target.tolist()):
        toks = [(t, v, i) for i, (t, v) in enumerate(zip(doc, s)) if t != 0]
        if not toks:
            out.append(math.nan)
            continue
        L = len(toks)
        top = sorted(toks, key=lambda e: -e[1])

        def prob(ids):
            row = torch.tensor([ids + [0] * (len(doc) - len(ids))])
            return model(row).double().softmax(-1)[0, c].item()

        p_x = prob([t for t, _, _ in toks])
        ks = [max(1, math.ceil(round(b * L, 9))) for b in bins] + ([0] if eraser else [])
        terms = []
        for k in ks:
            chosen = {i for _, _, i in top[:k]}
            ids = [t for t, _, i in toks if (i in chosen) == keep_top]
            terms.append(p_x - prob(ids))
        out.append(sum(terms) / len(terms))
    return torch.tensor(out, dtype=torch.float64)


@pytest.mark.parametrize("eraser", [False, True])
def test_batched_values_equal_a_per_document_loop(eraser):
    model, x = example_model("text_bilstm", num_classes=3)
    model.eval()
    x = torch.cat([x, torch.zeros(1, x.shape[1], dtype=torch.long)])  # an empty document -> NaN
    x[0, 1:] = 0  # a one-token document
    n, L = x.shape
    A = torch.randn(n, L, 5, generator=torch.Generator().manual_seed(1))
    target = torch.tensor([0, 1, 2, 0, 1, 2, 0])
    scores = F.token_scores(A, x)
    bins = (0.01, 0.05, 0.1, 0.2, 0.5, 0.75)
    params = {"bins": bins, "eval_batch_size": 4, "aopc_norm": "eraser" if eraser else "bins"}
    batch = Batch(x, target)
    for cls, keep_top in ((Comprehensiveness, False), (Sufficiency, True)):
        got = cls(params)(model, batch, A, target)
        want = reference_aopc(model, x, scores, target, bins, keep_top, eraser=eraser and keep_top)
        if eraser and not keep_top:
            want = want * len(bins) / (len(bins) + 1)  # the k = 0 term of comp is 0
        assert torch.allclose(got, want, atol=1e-6, equal_nan=True), (cls.name, got, want)
        assert got[-1].isnan() and not got[:-1].isnan().any()


def test_ties_follow_the_dataset_index_not_the_batch():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(20, 3), nn.Flatten(), nn.Linear(24, 2)).eval()
    x = torch.randint(1, 20, (5, 8))
    A = torch.ones(5, 8, 2)  # constant: every ranking comes from the seeded tie permutation
    index, target = torch.arange(10, 15), torch.zeros(5, dtype=torch.long)
    full = Comprehensiveness()(model, Batch(x, target, index=index), A, target)
    perm = torch.tensor([3, 0, 4, 1, 2])
    permuted = Comprehensiveness({"eval_batch_size": 3})(model, Batch(x[perm], target, index=index[perm]),
                                                          A[perm], target)
    # Equal rankings; only float32 rounding of differently composed forward batches may differ.
    assert torch.allclose(permuted, full[perm], rtol=0, atol=1e-6)
    shifted = Comprehensiveness()(model, Batch(x, target, index=index + 1), A, target)  # other noise, other ranks
    assert not torch.allclose(shifted, full, rtol=0, atol=1e-3)


def test_token_auprc_closed_forms():
    x = torch.tensor([[4, 5, 6, 7, 8, 0, 0]])
    mask = torch.tensor([[1., 0., 1., 0., 0., 0., 0.]])
    perfect = torch.tensor([[.9, .1, .8, .2, .3, 9., 9.]]).unsqueeze(-1)  # padding scored high: ignored
    assert F.token_auprc(perfect, x, mask).item() == 1.0
    assert F.token_auprc(torch.ones(1, 7, 4), x, mask).item() == pytest.approx((1 + 2 / 5) / 2, abs=1e-15)
    assert F.token_auprc(perfect, x, torch.zeros_like(mask)).isnan().item()  # no rationale


# Equal to scikit-learn's precision_recall_curve + auc per document (ties, no rationale, all rationale):
# tests/test_parity.py (token_auprc).


def test_registered_metadata():
    comp, suff, auprc = (METRICS.get(n) for n in ("comprehensiveness", "sufficiency", "token_auprc"))
    assert (comp.category, comp.higher_is_better, comp.requires) == ("faithfulness", True, frozenset())
    assert (suff.category, suff.higher_is_better) == ("faithfulness", False)
    assert (auprc.category, auprc.higher_is_better, auprc.requires) == ("localization", True, frozenset({"mask"}))
    assert comp.modalities == suff.modalities == auprc.modalities == frozenset({"text"})


def test_bad_parameters_name_the_key():
    from xaibench.errors import ConfigError
    with pytest.raises(ConfigError, match=r"params\.mask_token: 0 is out of range \(must be >= 1\)"):
        Comprehensiveness({"mask_token": 0})
    with pytest.raises(ConfigError, match=r"params\.bins\[1\]: 1\.5 is out of range"):
        Sufficiency({"bins": [0.1, 1.5]})
    with pytest.raises(ValueError, match="do not match token ids"):
        F.token_scores(torch.ones(2, 5, 3), torch.ones(2, 4, dtype=torch.long))


@pytest.mark.parametrize("arch", ["text_transformer", "text_bilstm"])
def test_end_to_end_on_planted_text(arch):
    task = TASKS.get("text_planted")({"n_train": 2, "n_test": 6})
    batch = task.load("test")
    arch_cls = ARCHITECTURES.get(arch)
    torch.manual_seed(0)
    model = arch_cls(arch_cls.make_config(), task.meta.input_shape, task.meta.num_classes,
                     vocab_size=task.meta.vocab_size).eval()
    E = model.get_submodule(arch_cls.embedding_layer).embedding_dim
    A = torch.randn(len(batch), batch.x.shape[1], E, generator=torch.Generator().manual_seed(0))
    target = model(batch.x).argmax(1)
    for name, params in (("comprehensiveness", None), ("sufficiency", {"aopc_norm": "eraser"}),
                         ("sufficiency", {"mask_token": UNK}), ("token_auprc", None)):
        values = METRICS.get(name)(params)(model, batch, A, target)
        assert values.shape == (len(batch),) and values.dtype == torch.float64
        assert torch.isfinite(values).all(), (name, values)
