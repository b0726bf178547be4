"""Settings: each one documented, read from its variable, and refused when malformed."""

from __future__ import annotations

import pytest

from geo.errors import ConfigError
from streetsafe.settings import Settings, documented_settings
from tests.conftest import ROOT


def test_every_setting_is_in_the_readme_table() -> None:
    readme = (ROOT / "README.md").read_text()
    for variable, default, _ in documented_settings():
        row = next((ln for ln in readme.splitlines() if ln.startswith(f"| `{variable}`")), None)
        assert row is not None, f"{variable} is not documented in README.md"
        if default:
            assert default in row, f"README gives another default for {variable}"


def test_environment_overrides_defaults_and_arguments_override_environment() -> None:
    env = {"STREETSAFE_STORE": "/tmp/a.duckdb", "STREETSAFE_STORAGE_RES": "11"}
    assert Settings.from_env(env).store == "/tmp/a.duckdb"
    assert Settings.from_env(env).storage_res == 11
    assert Settings.from_env(env, store="/tmp/b.duckdb").store == "/tmp/b.duckdb"


@pytest.mark.parametrize("value", ["ten", "5", "13"])
def test_bad_storage_resolution_is_refused_with_its_name(value: str) -> None:
    with pytest.raises((ConfigError, ValueError), match=r"resolution|STREETSAFE_STORAGE_RES"):
        Settings.from_env({"STREETSAFE_STORAGE_RES": value})


def test_every_layer_has_one_report_kind() -> None:
    from geo.layers import LAYERS
    from ingest.kinds import KIND_BY_LAYER, KINDS

    assert set(KIND_BY_LAYER) == set(LAYERS)
    assert len(KINDS) == len(LAYERS)


def test_the_longest_field_is_a_setting_the_sealing_follows() -> None:
    from streetsafe.deployment import seal_context

    settings = Settings.from_env(
        {"STREETSAFE_MAX_FIELD_BYTES": "4096", "STREETSAFE_PSEUDONYM_KEY": "ab" * 32}
    )
    assert seal_context(settings).max_field_bytes == 4096
    with pytest.raises(ConfigError, match="STREETSAFE_MAX_FIELD_BYTES"):
        Settings.from_env({"STREETSAFE_MAX_FIELD_BYTES": "10"})
