"""Algorithm settings: the stock names, ranges and "None" rules, our additions, clear errors, and
each setting accepted only with the space kind or strategy that owns it."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from katib_enas.core.errors import InvalidSettingsError
from katib_enas.core.settings import (
    CATALOGUE,
    ECHOED,
    RULES,
    STOCK_DEFAULTS,
    EnasSettings,
    derive_seed,
    parse_settings,
    settings_table,
)
from katib_enas.core.spaces import KINDS
from katib_enas.core.strategies import STRATEGIES

# (name, accepted values, rejected values) - the stock table of katib-contract.md section 6
MATRIX = [
    ("controller_hidden_size", ["1", "64", "100"], ["0", "-3", "1.5", "None", "x"]),
    ("controller_temperature", ["0.5", "5.0", "None"], ["0", "-1", "nan", "inf"]),
    ("controller_tanh_const", ["2.25", "None"], ["0", "abc"]),
    ("controller_entropy_weight", ["1e-5", "None"], ["0", "-1e-5"]),
    ("controller_baseline_decay", ["0.999", "1", "0.5"], ["0", "1.01", "None"]),
    ("controller_learning_rate", ["5e-5", "1"], ["0", "1.5", "None"]),
    ("controller_skip_target", ["0.4", "0.99"], ["0", "1.0", "None"]),
    ("controller_skip_weight", ["0.8", "None"], ["0", "-0.8"]),
    ("controller_train_steps", ["1", "50"], ["0", "2.5", "None"]),
    ("controller_batch_size", ["1", "4", "1000"], ["0", "1001", "2.5", "None"]),
    ("controller_log_every_steps", ["1", "10"], ["0", "None"]),
    ("controller_grad_bound", ["5", "None"], ["0"]),
    ("failed_trial_reward", ["worst", "skip", "0", "-1.5"], ["best", "nan", ""]),
    ("seed", ["-1", "0", "42"], ["-2", "1.5", "x"]),
    # Names: the registries reject unknown ones (test_core_strategies, test_service_grpc).
    ("search_space", ["macro", "micro"], [""]),
    ("num_nodes", ["1", "5", "20"], ["0", "21", "x"]),
    ("init_channels", ["1", "20", "1024"], ["0", "1025", "2.5"]),
    ("stem_multiplier", ["1", "3", "16"], ["0", "17", "None"]),
    ("strategy", ["reinforce", "random"], [""]),
    ("weight_sharing", ["true", "false", "True", "FALSE"], ["yes", "1", ""]),
    ("shared_slice_steps", ["0", "100", "1000000"], ["-1", "1000001", "1.5"]),
    ("shared_schedule_steps", ["0", "5000", "1000000000"], ["-1", "1000000001", "x"]),
    ("shared_store_mib", ["1", "256", "65536"], ["0", "65537", "big"]),
    ("skip_rule", ["auto", "concat", "sum"], ["", "0", "Sum", "add"]),
    ("shared_restart_steps", ["0", "300", "1000000000"], ["-1", "1000000001", "x"]),
    ("shared_restart_mult", ["1", "2", "16"], ["0", "17", "1.5"]),
    ("shared_lr_floor", ["0", "0.1", "1"], ["-0.1", "1.5", "nan"]),
]


def _owners_choice(name: str) -> list[tuple[str, str]]:
    """The `search_space` or `strategy` setting under which `name` is accepted."""
    for owner in CATALOGUE[name].owners:
        if owner.role == "search space":
            return [("search_space", owner.name)]
        if owner.role == "strategy":
            return [("strategy", owner.name)]
    return []


@pytest.mark.parametrize(("name", "good", "bad"), MATRIX)
def test_each_setting_accepts_its_range_and_names_itself_when_wrong(
    name: str, good: list[str], bad: list[str]
) -> None:
    context = _owners_choice(name)
    for value in good:
        parse_settings([*context, (name, value)], "exp")
    for value in bad:
        with pytest.raises(InvalidSettingsError, match=f"algorithmSettings.{name}"):
            parse_settings([*context, (name, value)], "exp")


def test_matrix_covers_every_setting() -> None:
    assert {row[0] for row in MATRIX} == set(RULES)


def test_none_switches_a_feature_off() -> None:
    settings = parse_settings(
        [("controller_temperature", "None"), ("controller_skip_weight", "None")]
    )
    assert settings.controller_temperature is None
    assert settings.controller_skip_weight is None


def test_stock_defaults_are_all_accepted_and_the_ten_names_are_stocks() -> None:
    assert len(STOCK_DEFAULTS) == 10
    settings = parse_settings(STOCK_DEFAULTS.items(), "exp")
    assert settings.controller_learning_rate == 5e-5
    assert settings.controller_train_steps == 50


def test_unknown_settings_are_rejected_but_echoed_ones_accepted() -> None:
    with pytest.raises(InvalidSettingsError, match="unknown setting 'controller_lr'"):
        parse_settings([("controller_lr", "0.1")])
    for name in ECHOED:
        parse_settings([(name, "7")])


def test_seed_defaults_to_one_derived_from_the_experiment_name() -> None:
    a = parse_settings([], "alpha")
    assert a.seed == derive_seed("alpha") == parse_settings([], "alpha").seed
    assert a.seed != parse_settings([], "beta").seed
    assert parse_settings([("seed", "3")], "alpha").seed == 3


def test_the_settings_table_documents_every_setting_with_its_owner_and_both_defaults() -> None:
    table = settings_table()
    for name in RULES:
        assert f"| `{name}` |" in table
    assert "| `controller_learning_rate` | reinforce strategy | 0.05 | 5e-5 |" in table
    assert "| `num_nodes` | micro search space | 5 |" in table
    assert "| `seed` | service |" in table and "| `weight_sharing` | weight sharing |" in table
    assert parse_settings([]).controller_learning_rate == 0.05


def test_the_declarations_are_the_typed_settings_with_defaults_of_their_type() -> None:
    fields = {f.name: f.type for f in dataclasses.fields(EnasSettings)}
    assert set(fields) == set(CATALOGUE)
    for name, declared in CATALOGUE.items():
        kind = declared.setting.rule.kind
        assert type(declared.setting.default) is kind, name
        assert kind.__name__ in str(fields[name]), name


@pytest.mark.parametrize(
    ("given", "owner", "chosen"),
    [
        ([("num_nodes", "4")], "micro search space", "search_space is macro"),
        ([("search_space", "micro"), ("skip_rule", "sum")], "macro search space", "micro"),
        ([("strategy", "random"), ("controller_batch_size", "8")], "reinforce", "random"),
        ([("strategy", "random"), ("failed_trial_reward", "0")], "reinforce", "random"),
    ],
)
def test_a_setting_of_another_kind_or_strategy_is_refused_naming_its_owner(
    given: list[tuple[str, str]], owner: str, chosen: str
) -> None:
    name = given[-1][0]
    with pytest.raises(InvalidSettingsError) as caught:
        parse_settings(given, "exp")
    message = str(caught.value)
    assert message.startswith(f"algorithmSettings.{name}: setting {name!r} belongs to the {owner}")
    assert chosen in message


def test_every_strategy_accepts_katibs_stock_settings_as_the_ui_prefills_them() -> None:
    for strategy in STRATEGIES:
        for kind in KINDS:
            chosen = [("strategy", strategy), ("search_space", kind)]
            parse_settings([*chosen, *STOCK_DEFAULTS.items()], "exp")


def test_an_unknown_kind_or_strategy_is_left_to_its_registry_to_refuse() -> None:
    assert parse_settings([("search_space", "toy"), ("num_nodes", "4")]).num_nodes == 4
    assert parse_settings([("strategy", "toy"), ("controller_batch_size", "8")]).strategy == "toy"


def test_the_catalogue_and_the_strategies_registry_import_no_torch() -> None:
    """The Experiment model parses settings without paying for torch (or needing it)."""
    code = "import sys, katib_enas.core.settings; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_docs_carry_the_current_settings_table(repo_root: Path) -> None:
    """The settings are documented in one place, docs/service.md (the README links it): its
    table is generated from the code."""
    assert settings_table() in (repo_root / "docs" / "service.md").read_text()
