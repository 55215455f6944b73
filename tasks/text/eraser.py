"""ERASER movie reviews (DeYoung et al. 2020): sentiment with human token rationales, from the user's folder.

Layout of ERASER's ``movies.tar.gz``: ``train.jsonl``/``val.jsonl``/``test.jsonl``, one annotation per line
(``annotation_id``, ``classification`` POS/NEG, ``evidences``: groups of spans ``{docid, start_token,
end_token}`` with the end exclusive), and ``docs/<docid>`` plain text whose whitespace tokens the spans index.
The document of an annotation is ``docs/<annotation_id>``; the mask is the union of its evidence spans.
val.jsonl is not used.
"""
from __future__ import annotations

import dataclasses
import json

from xaibench.budget import Budget
from xaibench.errors import ConfigError, DataUnavailableError
from xaibench.ranges import PositiveInt
from xaibench.registries import TASKS
from xaibench.tasks.base import Split, TaskMeta
from xaibench.tasks.text.corpus import CorpusTask, Documents, read_text, tokenize

LABELS = {"NEG": 0, "POS": 1}


@TASKS.register
class EraserMovies(CorpusTask):
    """ERASER movie reviews: POS/NEG sentiment with human rationales as token masks, from params.root.

    >>> import json; from pathlib import Path
    >>> Path("movies/docs").mkdir(parents=True)
    >>> _ = Path("movies/docs/r1").write_text("a truly fine film")
    >>> ann = {"annotation_id": "r1", "classification": "POS",
    ...        "evidences": [[{"docid": "r1", "start_token": 2, "end_token": 4, "text": "fine film"}]]}
    >>> for split in ("train", "test"): _ = Path(f"movies/{split}.jsonl").write_text(json.dumps(ann))
    >>> batch = EraserMovies({"root": ".", "max_len": 6}).load("test")
    >>> batch.x.tolist(), batch.mask.tolist(), batch.y.tolist()
    ([[2, 5, 4, 3, 0, 0]], [[0.0, 0.0, 1.0, 1.0, 0.0, 0.0]], [1])
    """

    name = "eraser_movies"
    version = "1"
    meta = TaskMeta(modality="text", input_shape=(256,), num_classes=2, has_mask=True, vocab_size=20000,
                    source="ERASER movies (Zaidan et al. 2007 rationales), params.root",
                    citation="DeYoung, Jain, Rajani, Lehman, Xiong, Socher, Wallace. ERASER: A Benchmark to "
                             "Evaluate Rationalized NLP Models. ACL 2020")
    budget = Budget(epochs=5, batch_size=32, lr=1e-3)
    dataset = "ERASER movies"
    files = {"train": "train.jsonl", "test": "test.jsonl"}
    subdirs = ("movies",)
    how = ("download movies.tar.gz from https://www.eraserbenchmark.com, extract it and set params.root to the "
           "folder that contains movies/")

    @dataclasses.dataclass(frozen=True)
    class Config(CorpusTask.Config):
        max_len: PositiveInt = 256  # reviews average about 770 tokens; longer ones are cut

    def check_available(self) -> None:
        docs = self.paths()["train"].parent / "docs"
        if not docs.is_dir():
            raise DataUnavailableError(f"{self.dataset} not found: no docs/ in {docs.parent}; {self.how}")

    def read(self, split: Split) -> Documents:
        path = self.paths()[split]
        tokens, labels, rationales = [], [], []
        for line_no, line in enumerate(read_text(path).splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{line_no}"
            try:
                ann = json.loads(line)
                docid, label = ann["annotation_id"], ann["classification"]
                spans = [(e["docid"], e["start_token"], e["end_token"]) for group in ann["evidences"] for e in group]
            except (ValueError, KeyError, TypeError) as err:
                raise ConfigError(f"{where}: not an ERASER annotation ({type(err).__name__}: {err})") from None
            if label not in LABELS:
                raise ConfigError(f"{where}: classification {label!r} is not one of {', '.join(LABELS)}")
            doc = path.parent / "docs" / docid
            if not doc.is_file():
                raise ConfigError(f"{where}: no document {doc}")
            tokens.append(tokenize(doc.read_text()))
            labels.append(LABELS[label])
            rationales.append({p for d, start, end in spans if d == docid for p in range(start, end)})
        return Documents(tokens, labels, rationales)
