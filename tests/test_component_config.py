import dataclasses
from typing import Literal

import pytest

from xaibench.component import config_hash, parse_config
from xaibench.errors import ConfigError


@dataclasses.dataclass(frozen=True)
class Cfg:
    k: float = 0.5
    steps: int = 3
    mode: Literal["abs", "signed"] = "abs"
    flag: bool = False
    sizes: tuple[int, ...] = (1, 2)
    maybe: int | None = None


def test_defaults_and_coercion():
    cfg = parse_config(Cfg, {"k": 1, "sizes": [3, 4], "maybe": 2})
    assert cfg == Cfg(k=1.0, sizes=(3, 4), maybe=2) and isinstance(cfg.k, float)


@pytest.mark.parametrize("params, message", [
    ({"stpes": 2}, r"x\.stpes: unknown parameter; did you mean 'steps'\?"),
    ({"steps": 2.5}, r"x\.steps: expected int, got float 2\.5"),
    ({"steps": True}, r"x\.steps: expected int, got bool True"),
    ({"k": "big"}, r"x\.k: expected float, got str 'big'"),
    ({"mode": "absolute"}, r"x\.mode: 'absolute' is not one of 'abs', 'signed'; did you mean 'abs'\?"),
    ({"sizes": [1, "a"]}, r"x\.sizes\[1\]: expected int"),
    ({"flag": "yes"}, r"x\.flag: expected bool"),
])
def test_errors_name_the_key(params, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(Cfg, params, "x")


def test_hash_depends_on_values_only():
    assert config_hash(Cfg()) == config_hash(parse_config(Cfg, {"k": 0.5}))
    assert config_hash(Cfg()) != config_hash(Cfg(k=0.6))
