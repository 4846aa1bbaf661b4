"""Each strategy validates its own options when Hydra builds it (before any data is loaded), with
the project's one-line errors; the strategy interface is what run_job calls."""

import pytest

from transferlab.errors import ConfigError
from transferlab.strategies.base import Strategy
from transferlab.strategies.finetune import Finetune
from transferlab.strategies.frozen import Frozen
from transferlab.strategies.lora import LoRA
from transferlab.strategies.scratch import Scratch


@pytest.mark.parametrize(
    ("strategy", "options", "message"),
    [
        (Finetune, {"unfreeze": 0}, "strategy.unfreeze=0: must be all or a positive integer"),
        (Finetune, {"unfreeze": "two"}, "strategy.unfreeze=two: must be all or a positive integer"),
        (Frozen, {"source": {"run": "abc"}}, "strategy.source.run: no such key; did you mean strategy.source.run_id?"),
        (Frozen, {"source": {"pretrain": 1}}, "strategy.source.pretrain=1: must be true or false"),
        (Frozen, {"rank": 4}, "strategy.rank: no such key"),
        (Scratch, {"unfreeze": 2}, "strategy.unfreeze: no such key"),
    ],
)
def test_bad_options_are_one_line_errors(strategy, options, message):
    with pytest.raises(ConfigError) as caught:
        strategy(**options)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_defaults_and_text_ids():
    assert Finetune().options.unfreeze == "all" and Finetune(unfreeze=4).options.unfreeze == 4
    assert Frozen(source={"run_id": 123}).options.source.uri("encoder") == "runs:/123/encoder"  # Hydra parses digits
    assert LoRA().options.rank == 4 and LoRA().options.source.pretrain is True
    assert all(issubclass(s, Strategy) for s in (Scratch, Frozen, Finetune, LoRA))
