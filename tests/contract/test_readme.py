"""The README documents every setting and the two commands a newcomer needs."""

from pathlib import Path

from c2r_common.notifications import catalogue
from c2r_common.notifications.events import EventData
from c2r_deploy.config_doc import environment_names, settings_classes

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_readme_documents_every_setting() -> None:
    missing = [
        name
        for settings_class in settings_classes().values()
        for name in environment_names(settings_class)
        if f"`{name}`" not in README
    ]
    assert missing == [], "run `make docs` to regenerate the settings table"


def test_readme_opens_with_the_two_commands() -> None:
    opening = README[: README.index("## Architecture")]
    assert "make run" in opening
    assert "make test" in opening


def test_readme_lists_every_event_type_of_the_catalogue() -> None:
    types = [
        model.event_type
        for model in vars(catalogue).values()
        if isinstance(model, type) and issubclass(model, EventData) and "event_type" in vars(model)
    ]
    assert len(types) >= 19
    missing = [event_type for event_type in types if f"`{event_type}`" not in README]
    assert missing == [], "the README's event catalogue lacks these"
