"""SST-2 (GLUE) sentence sentiment from the user's folder: ``train.tsv`` and ``dev.tsv`` (the test split)."""
from __future__ import annotations

from xaibench.budget import Budget
from xaibench.errors import ConfigError
from xaibench.registries import TASKS
from xaibench.tasks.base import Split, TaskMeta
from xaibench.tasks.text.corpus import CorpusTask, Documents, read_text, tokenize


@TASKS.register
class SST2(CorpusTask):
    """SST-2 sentences, negative (0) or positive (1), from GLUE's TSV files under params.root; no masks.

    >>> from pathlib import Path
    >>> Path("SST-2").mkdir()
    >>> for name in ("train.tsv", "dev.tsv"): _ = Path("SST-2", name).write_text("sentence\\tlabel\\nA fine film\\t1\\n")
    >>> SST2({"root": ".", "max_len": 4}).load("test").x.tolist()
    [[2, 4, 3, 0]]
    """

    name = "sst2"
    version = "1"
    meta = TaskMeta(modality="text", input_shape=(64,), num_classes=2, has_mask=False, vocab_size=20000,
                    source="SST-2 from GLUE, params.root",
                    citation="Socher, Perelygin, Wu, Chuang, Manning, Ng, Potts. Recursive Deep Models for Semantic "
                             "Compositionality Over a Sentiment Treebank. EMNLP 2013")
    budget = Budget(epochs=2, batch_size=64, lr=1e-3)  # 67k training sentences
    dataset = "SST-2"
    files = {"train": "train.tsv", "test": "dev.tsv"}
    subdirs = ("SST-2",)
    how = ("download https://dl.fbaipublicfiles.com/glue/data/SST-2.zip, extract it and set params.root to the "
           "folder that contains SST-2/")

    def read(self, split: Split) -> Documents:
        path = self.paths()[split]
        header, *rows = read_text(path).splitlines()
        columns = header.split("\t")
        if "sentence" not in columns or "label" not in columns:
            raise ConfigError(f"{path}:1: header {header!r} lacks the columns 'sentence' and 'label'")
        text_col, label_col = columns.index("sentence"), columns.index("label")
        tokens, labels = [], []
        for line_no, row in enumerate(rows, start=2):
            if not row.strip():
                continue
            fields = row.split("\t")
            label = fields[label_col] if len(fields) == len(columns) else None
            if label not in ("0", "1"):
                raise ConfigError(f"{path}:{line_no}: expected {len(columns)} tab-separated fields with label 0 "
                                  f"or 1, got {row!r}")
            tokens.append(tokenize(fields[text_col]))
            labels.append(int(label))
        return Documents(tokens, labels)
