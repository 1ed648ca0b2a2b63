from pathlib import Path

import pytest

from vitrine.config import SettingError, Settings, load_settings, settings_documentation

DOCS = Path(__file__).resolve().parents[3] / "docs" / "configuration.md"


def test_every_setting_is_documented_with_its_default() -> None:
    text = DOCS.read_text()
    for variable, _default in settings_documentation():
        assert f"| `{variable}` |" in text, f"{variable} is missing from docs/configuration.md"


def test_settings_come_from_vitrine_variables() -> None:
    settings = load_settings(
        {
            "VITRINE_PORT": "9000",
            "VITRINE_DATA_DIR": "/srv/vitrine",
            "VITRINE_BUY_PLATFORMS": "iOS, desktop",
            "VITRINE_ABR_LADDER": "yes",
        }
    )
    assert settings.port == 9000
    assert settings.data_dir == Path("/srv/vitrine")
    assert settings.buy_platforms == ("ios", "desktop")
    assert settings.abr_ladder is True
    assert settings.database == "sqlite+aiosqlite:////srv/vitrine/vitrine.db"
    assert Settings().base_url == "http://127.0.0.1:8000"


def test_a_bad_value_names_the_variable() -> None:
    with pytest.raises(SettingError) as refused:
        load_settings({"VITRINE_PORT": "eighty"})
    assert str(refused.value) == "VITRINE_PORT='eighty' must be a whole number"
    with pytest.raises(SettingError) as refused:
        load_settings({"VITRINE_DEMO": "maybe"})
    assert str(refused.value) == "VITRINE_DEMO='maybe' must be true or false"
