"""Role policies: shipped roles, and deployment files that may only tighten them."""

from __future__ import annotations

from pathlib import Path

import pytest

from geo.errors import ConfigError
from streetsafe.policies import PAGES, load_policies


def _deployment(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "deployment.toml"
    path.write_text(text)
    return path


def test_the_shipped_roles_each_get_pages_and_default_layers_they_may_see() -> None:
    policies = load_policies()
    assert set(policies) >= {"outreach", "police_npt", "community_safety"}
    for policy in policies.values():
        assert policy.pages
        assert set(policy.pages) <= set(PAGES)
        assert set(policy.default_layers) <= set(policy.layers)
    assert "outreach" not in policies["police_npt"].layers  # never outreach contacts


def test_a_deployment_names_only_the_keys_it_tightens(tmp_path: Path) -> None:
    shipped = load_policies()
    tightened = load_policies(_deployment(tmp_path, "[police_npt]\nk = 5\n"))
    assert tightened["police_npt"].k == 5
    assert tightened["police_npt"].layers == shipped["police_npt"].layers
    # roles it does not name stay as shipped
    assert tightened["outreach"] == shipped["outreach"]
    assert tightened["community_safety"] == shipped["community_safety"]


@pytest.mark.parametrize(
    ("line", "key"),
    [
        ("k = 2", "k"),
        ('layers = ["incident", "outreach"]', "layers"),
        ('sharing = ["outreach_only", "partners"]', "sharing"),
        ("perturb = false", "perturb"),
        ("max_rollup = 3", "max_rollup"),
        ('uploads = ["incident", "asb"]', "uploads"),
        ('pages = ["night_map", "local_impact"]', "pages"),
        ("case_knowledge = true", "case_knowledge"),
    ],
)
def test_anything_looser_is_refused_naming_the_role_and_key(
    tmp_path: Path, line: str, key: str
) -> None:
    path = _deployment(tmp_path, f"[police_npt]\n{line}\n")
    with pytest.raises(ConfigError, match=rf"\[police_npt\]: {key}\b.*loosen"):
        load_policies(path)


def test_rounding_to_a_step_that_is_not_a_multiple_is_looser(tmp_path: Path) -> None:
    # rounded to 5 by the shipped policy; rounding to 7 publishes values 5 would not
    with pytest.raises(ConfigError, match="round_to"):
        load_policies(_deployment(tmp_path, "[community_safety]\nround_to = 7\n"))
    assert (
        load_policies(_deployment(tmp_path, "[community_safety]\nround_to = 10\n"))[
            "community_safety"
        ].round_to
        == 10
    )


def test_a_role_can_be_turned_off_but_not_invented(tmp_path: Path) -> None:
    off = load_policies(_deployment(tmp_path, "[community_safety]\nenabled = false\n"))
    assert "community_safety" not in off
    with pytest.raises(ConfigError, match=r"unknown role \[health\]"):
        load_policies(_deployment(tmp_path, "[health]\nk = 9\n"))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[outreach]\nkay = 4\n", "unknown key 'kay'"),
        ('[outreach]\nk = "4"\n', "k must be int"),
        ("[outreach]\nk = true\n", "k must be int"),
        ('[outreach]\nlayers = ["incident", "rumours"]\n', "unknown 'rumours'"),
        ('[outreach]\ndefault_layers = ["asb", "nothing"]\n', "unknown 'nothing'"),
        ("[outreach]\nfinest_res = 13\n", "finest_res: must be 6 to 12"),
        ("outreach = 3\n", "must be a table"),
        ("[outreach\n", "not valid TOML"),
    ],
)
def test_a_malformed_deployment_file_says_what_is_wrong_and_where(
    tmp_path: Path, text: str, message: str
) -> None:
    path = _deployment(tmp_path, text)
    with pytest.raises(ConfigError, match=message) as caught:
        load_policies(path)
    assert str(path) in str(caught.value)


def test_default_layers_must_be_layers_the_role_keeps(tmp_path: Path) -> None:
    text = '[police_npt]\nlayers = ["asb", "policeuk"]\n'  # drops incident, its default layer
    with pytest.raises(ConfigError, match="default_layers: 'incident' is not one of its layers"):
        load_policies(_deployment(tmp_path, text))
    text += 'default_layers = ["asb"]\n'
    # ... and it uploads only to layers it sees: incidents no longer
    with pytest.raises(ConfigError, match="uploads: 'incident' is not one of its layers"):
        load_policies(_deployment(tmp_path, text))
    # with no uploads left, the Data page goes too
    with pytest.raises(ConfigError, match="the data page needs some uploads"):
        load_policies(_deployment(tmp_path, text + "uploads = []\n"))
    fixed = text + 'uploads = []\npages = ["night_map", "trends", "about"]\n'
    assert load_policies(_deployment(tmp_path, fixed))["police_npt"].default_layers == ("asb",)


def test_a_finer_resolution_is_refused_for_every_role(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"\[outreach\]: finest_res\b.*loosen"):
        load_policies(_deployment(tmp_path, "[outreach]\nfinest_res = 10\n"))
    # a role without case knowledge sees the releases: no finer than they are made
    with pytest.raises(ConfigError, match=r"\[police_npt\]: finest_res: .* releases, made at"):
        load_policies(_deployment(tmp_path, "[police_npt]\nfinest_res = 9\n"))
