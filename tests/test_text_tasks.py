"""Text tasks (planted tokens, ERASER movies, SST-2) on small files the tests write, and the text architectures."""
import dataclasses
import gzip
import json

import pytest
import torch
from torch import nn

from xaibench.errors import ConfigError, DataUnavailableError
from xaibench.registries import ARCHITECTURES
from xaibench.tasks.text.corpus import build_vocab, encode, tokenize
from xaibench.tasks.text.eraser import EraserMovies
from xaibench.tasks.text.planted import DISTRACTOR_START, LENGTH, SIGNAL_IDS, VOCAB, PlantedTokens
from xaibench.tasks.text.sst2 import SST2

TEXT_ARCHS = ["text_bilstm", "text_transformer"]


# -- tokenizer and vocabulary ----------------------------------------------------------------------------------

def test_vocabulary_is_by_frequency_then_alphabetical_and_capped():
    docs = [tokenize("B a c b"), tokenize("c B d")]  # b: 3, c: 2, a: 1, d: 1
    assert build_vocab(docs, 100) == {"b": 2, "c": 3, "a": 4, "d": 5}
    assert build_vocab(docs, 4) == {"b": 2, "c": 3}
    assert encode([["d", "b", "zzz"], ["c"]], build_vocab(docs, 4), 4).tolist() == [[1, 2, 1, 0], [3, 0, 0, 0]]


# -- ERASER movies ---------------------------------------------------------------------------------------------

def evidence(docid, start, end):
    return {"docid": docid, "start_token": start, "end_token": end, "text": "", "start_sentence": -1,
            "end_sentence": -1}


def write_movies(root, annotations=None):
    """An ERASER movies folder: two training reviews and one test review, evidences in several groups."""
    folder = root / "movies"
    (folder / "docs").mkdir(parents=True)
    (folder / "docs" / "neg1").write_text("The plot is dull .\nDull , dull acting .\n")
    (folder / "docs" / "pos1").write_text("A fine film .\nFine acting !\n")
    (folder / "docs" / "t1").write_text("a dull film with zebras\n")
    annotations = annotations or {
        "train": [{"annotation_id": "neg1", "classification": "NEG", "query": "What is the sentiment of this review?",
                   "evidences": [[evidence("neg1", 3, 4)], [evidence("neg1", 7, 10)]]},
                  {"annotation_id": "pos1", "classification": "POS", "evidences": [[evidence("pos1", 1, 3)]]}],
        "test": [{"annotation_id": "t1", "classification": "POS",
                  "evidences": [[evidence("t1", 1, 2), evidence("t1", 3, 5)]]}],
    }
    for split, anns in annotations.items():
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(a) + "\n" for a in anns))
    (folder / "val.jsonl").write_text("")
    return folder


# training counts: dull 3, "." 3, acting 2, fine 2, then once each: ! , a film is plot the
VOCAB_IDS = {".": 2, "dull": 3, "acting": 4, "fine": 5, "!": 6, ",": 7, "a": 8, "film": 9, "is": 10, "plot": 11,
             "the": 12}


def test_eraser_token_ids_labels_and_rationale_masks(tmp_path):
    write_movies(tmp_path)
    task = EraserMovies({"root": str(tmp_path), "max_len": 8})
    train, test = task.load("train"), task.load("test")
    # "the plot is dull . dull , dull | acting ." cut at 8 tokens; the evidence 7..9 keeps only token 7
    assert train.x.tolist() == [[12, 11, 10, 3, 2, 3, 7, 3], [8, 5, 9, 2, 5, 4, 6, 0]]
    assert train.mask.tolist() == [[0, 0, 0, 1, 0, 0, 0, 1], [0, 1, 1, 0, 0, 0, 0, 0]]
    assert train.y.tolist() == [0, 1] and train.x.dtype == torch.int64 and train.mask.dtype == torch.float32
    # test words unseen in training are unknown (1); the vocabulary is the training split's
    assert test.x.tolist() == [[8, 3, 9, 1, 1, 0, 0, 0]]
    assert test.mask.tolist() == [[0, 1, 0, 1, 1, 0, 0, 0]] and test.y.tolist() == [1]
    assert torch.equal(EraserMovies({"root": str(tmp_path / "movies"), "max_len": 8}).load("test").x, test.x)


def test_eraser_vocabulary_is_capped_at_the_tasks_vocab_size(tmp_path, monkeypatch):
    write_movies(tmp_path)
    monkeypatch.setattr(EraserMovies, "meta", dataclasses.replace(EraserMovies.meta, vocab_size=5))
    x = EraserMovies({"root": str(tmp_path), "max_len": 8}).load("train").x
    assert x.tolist() == [[1, 1, 1, 3, 2, 3, 1, 3], [1, 1, 1, 2, 1, 4, 1, 0]]


def test_eraser_missing_files_name_where_we_looked(tmp_path):
    with pytest.raises(DataUnavailableError) as info:
        EraserMovies({"root": str(tmp_path)}).check_available()
    assert str(info.value) == (f"ERASER movies not found: no train.jsonl[.gz], test.jsonl[.gz] in {tmp_path} or "
                               f"{tmp_path}/movies; {EraserMovies.how}")
    folder = write_movies(tmp_path)
    (folder / "docs" / "t1").unlink(), (folder / "docs" / "neg1").unlink(), (folder / "docs" / "pos1").unlink()
    (folder / "docs").rmdir()
    with pytest.raises(DataUnavailableError) as info:
        EraserMovies({"root": str(tmp_path)}).load("train")
    assert str(info.value) == f"ERASER movies not found: no docs/ in {folder}; {EraserMovies.how}"


def test_eraser_bad_annotation_names_file_and_line(tmp_path):
    folder = write_movies(tmp_path, {"train": [{"annotation_id": "pos1", "classification": "POS", "evidences": []},
                                               {"annotation_id": "neg1", "classification": "MEH", "evidences": []}],
                                     "test": []})
    with pytest.raises(ConfigError) as info:
        EraserMovies({"root": str(folder)}).load("train")
    assert str(info.value) == f"{folder}/train.jsonl:2: classification 'MEH' is not one of NEG, POS"


# -- SST-2 -----------------------------------------------------------------------------------------------------

def write_sst2(root, train="sentence\tlabel\nit 's a charming film \t1\nan awful , awful mess\t0\n"
                           "the film is charming\t1\n", dev="sentence\tlabel\na charming mess\t1\n"):
    folder = root / "SST-2"
    folder.mkdir()
    (folder / "train.tsv").write_text(train)
    with gzip.open(folder / "dev.tsv.gz", "wt") as f:  # the gzipped file is found as well
        f.write(dev)
    return folder


def test_sst2_token_ids_labels_truncation_and_padding(tmp_path):
    write_sst2(tmp_path)
    task = SST2({"root": str(tmp_path), "max_len": 4})
    train, test = task.load("train"), task.load("test")
    # counts: awful 2, charming 2, film 2, then 's , a an is it mess the
    assert train.x.tolist() == [[10, 5, 7, 3], [8, 2, 6, 2], [12, 4, 9, 3]]
    assert train.y.tolist() == [1, 0, 1] and train.mask is None
    assert test.x.tolist() == [[7, 3, 11, 0]] and test.y.tolist() == [1]


def test_sst2_balanced_subset_keeps_the_rows(tmp_path):
    write_sst2(tmp_path)
    full = SST2({"root": str(tmp_path), "max_len": 4}).load("train")
    part = SST2({"root": str(tmp_path), "max_len": 4, "n_train": 2}).load("train", seed=0)
    assert 1 in part.index.tolist() and part.y.bincount().tolist() == [1, 1]
    assert torch.equal(part.x, full.x[part.index])


def test_sst2_errors_are_one_line_naming_the_file(tmp_path):
    with pytest.raises(DataUnavailableError) as info:
        SST2({"root": str(tmp_path)}).check_available()
    assert str(info.value) == (f"SST-2 not found: no train.tsv[.gz], dev.tsv[.gz] in {tmp_path} or {tmp_path}/SST-2; "
                               f"{SST2.how}")
    folder = write_sst2(tmp_path, train="sentence\tlabel\ngood\t1\nbad\t2\n")
    with pytest.raises(ConfigError) as info:
        SST2({"root": str(folder)}).load("train")
    assert str(info.value) == f"{folder}/train.tsv:3: expected 2 tab-separated fields with label 0 or 1, got 'bad\\t2'"


# -- planted tokens --------------------------------------------------------------------------------------------

def planted(**params):
    return PlantedTokens({"n_train": 200, "n_test": 50, **params})


def test_the_mask_marks_exactly_the_planted_signal_tokens():
    batch = planted(k=4, min_len=6).load("train", 2)
    x, y, mask = batch.x, batch.y, batch.mask.bool()
    negative, positive = (torch.from_numpy(ids) for ids in SIGNAL_IDS)
    own = torch.where(y[:, None] == 1, torch.isin(x, positive), torch.isin(x, negative))
    assert torch.equal(own, mask)  # planted positions hold the class's signal tokens, and only they do
    assert not torch.where(y[:, None] == 1, torch.isin(x, negative), torch.isin(x, positive)).any()
    assert ((x >= DISTRACTOR_START) | (x == 0) | mask).all()  # the rest: distractors or padding
    assert (mask.sum(1) == 4).all()
    # the label is decided by the planted tokens
    assert torch.equal(y, (torch.isin(x, positive).sum(1) > torch.isin(x, negative).sum(1)).long())


def test_planted_documents_are_padded_at_the_end():
    batch = planted(min_len=12).load("test")
    length = (batch.x != 0).sum(1)
    positions = torch.arange(LENGTH)
    assert torch.equal(batch.x != 0, positions < length[:, None])
    assert length.min() >= 12 and length.max() <= LENGTH and len(length.unique()) > 5
    assert (batch.mask[batch.x == 0] == 0).all()
    assert batch.x.shape == (50, *PlantedTokens.meta.input_shape) and batch.x.max() < VOCAB


def test_planted_is_deterministic_balanced_and_seeded():
    a, b, c = planted().load("train", 0), planted().load("train", 0), planted().load("train", 1)
    assert torch.equal(a.x, b.x) and torch.equal(a.mask, b.mask)
    assert not torch.equal(a.x, c.x) and a.y.bincount().tolist() == [100, 100]


def test_planted_config_is_checked():
    with pytest.raises(ConfigError, match=r"need 1 <= k <= min_len <= 32, got k=5, min_len=4"):
        PlantedTokens({"k": 5, "min_len": 4})


# -- architectures ---------------------------------------------------------------------------------------------

def text_model(arch, vocab=VOCAB, classes=2):
    cls = ARCHITECTURES.get(arch)
    torch.manual_seed(0)
    return cls(cls.make_config(), (LENGTH,), classes, vocab_size=vocab).eval()


@pytest.mark.parametrize("arch", TEXT_ARCHS)
def test_text_models_forward_and_backward_on_planted_tokens(arch):
    batch = planted().load("train")[:8]
    model = text_model(arch).train()
    logits = model(batch.x)
    assert logits.shape == (8, 2)
    torch.nn.functional.cross_entropy(logits, batch.y).backward()
    assert all(p.grad is not None and p.grad.isfinite().all() for p in model.parameters())
    emb = model.get_submodule(model.embedding_layer)
    assert isinstance(emb, nn.Embedding) and emb.padding_idx == 0 and (emb.weight[0] == 0).all()


@pytest.mark.parametrize("arch", TEXT_ARCHS)
def test_appending_padding_does_not_change_the_logits(arch):
    model = text_model(arch)
    x = planted().load("test").x[:6]
    with torch.no_grad():
        logits = model(x)
        torch.testing.assert_close(model(torch.cat([x, torch.zeros(6, 10, dtype=torch.int64)], 1)), logits,
                                   rtol=0, atol=1e-5)
        changed = x.clone()
        changed[:, 0] = DISTRACTOR_START + (changed[:, 0] - DISTRACTOR_START + 1) % (VOCAB - DISTRACTOR_START)
        assert ((model(changed) - logits).abs().amax(1) > 1e-4).all()  # the tokens themselves do matter
        assert model(torch.zeros(2, LENGTH, dtype=torch.int64)).isfinite().all()  # every token removed


def test_bilstm_equals_the_lstm_run_on_the_unpadded_text():
    model = text_model("text_bilstm")
    x = torch.tensor([[5, 17, 9, 40, 0, 0, 0], [12, 0, 33, 0, 0, 0, 0]])  # a removed token (0) inside row 2
    with torch.no_grad():
        logits = model(x)
        for row, n in zip(range(2), (4, 3)):
            _, (h, _) = model.lstm(model.embedding(x[row:row + 1, :n]))
            torch.testing.assert_close(logits[row], model.classifier(torch.cat([h[-2], h[-1]], 1))[0])


def test_transformer_equals_the_encoder_run_on_the_unpadded_text():
    from xaibench.models.ts_transformer import sinusoidal_positions

    model = text_model("text_transformer")
    x = torch.tensor([[5, 17, 9, 40, 0, 0]])
    with torch.no_grad():
        h = model.embedding(x[:, :4])
        h = model.encoder(h + sinusoidal_positions(4, h.shape[2]))
        torch.testing.assert_close(model(x), model.classifier(h.mean(1)), rtol=0, atol=1e-5)
