"""Progress per stage: a bar per stage on a terminal, one plain line per step in a log file."""
from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """Counts done/total per stage and shows it.

    >>> import io
    >>> p = Progress({"train": 2}, stream=io.StringIO())
    >>> p.advance("train", note="seed=0")
    >>> p.stream.getvalue().startswith("[train 1/2] seed=0")
    True
    """

    def __init__(self, totals: dict[str, int], quiet: bool = False, stream: TextIO | None = None):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        totals = {stage: n for stage, n in totals.items() if n or stage in ("train", "evaluate")}
        self.totals, self.done = totals, dict.fromkeys(totals, 0)
        self.start = time.perf_counter()
        self.bars = {}
        if not quiet and self.stream.isatty():
            from tqdm.auto import tqdm

            width = max(map(len, totals), default=0)
            self.bars = {stage: tqdm(total=total, desc=stage.ljust(width), position=i, file=self.stream,
                                     dynamic_ncols=True) for i, (stage, total) in enumerate(totals.items())}

    def advance(self, stage: str, n: int = 1, note: str = "") -> None:
        self.done[stage] += n
        if self.quiet:
            return
        if self.bars:
            self.bars[stage].set_postfix_str(note, refresh=False)
            self.bars[stage].update(n)
            return
        elapsed = time.perf_counter() - self.start
        done, total = self.done[stage], self.totals[stage]
        # stages interleave, so the rate of this stage so far is a rough guide, like tqdm's
        left = f", ~{elapsed / done * (total - done):.0f} s left" if 0 < done < total else ""
        print(f"[{stage} {done}/{total}] {note} ({elapsed:.0f} s elapsed{left})", file=self.stream, flush=True)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
