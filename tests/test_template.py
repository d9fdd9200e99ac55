"""Template specs: the built-in template, choice lists and malformed specs."""

from __future__ import annotations

import copy
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from xlplan.errors import TemplateError
from xlplan.template_load import builtin_names, load_template, parse_template

BUILTIN = "implementation-plan"
# The RAG definitions of the SOP (Inverclyde HSCP, Jan 2020), in the order it gives them.
SOP_RAG = [
    ("Red", "Not meeting action or timescale."),
    (
        "Amber",
        "Close to meeting action or timescale (where quantitative measures are available, within a 5% tolerance).",
    ),
    ("Green", "On target."),
    ("Grey", "Future work."),
    ("Blue", "Complete."),
]


def builtin_raw() -> dict[str, Any]:
    """The built-in spec as plain data, to break one thing at a time."""
    text = (resources.files("xlplan.templates") / f"{BUILTIN}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def parse_raw(raw: dict[str, Any]) -> Any:
    return parse_template(yaml.safe_dump(raw, sort_keys=False), "x.yaml")


def actions_column(raw: dict[str, Any], key: str) -> dict[str, Any]:
    sheet = next(s for s in raw["sheets"] if s["name"] == "Actions")
    return next(c for c in sheet["columns"] if c["key"] == key)


# --- the built-in template ---------------------------------------------------------


def test_builtin_templates_are_found_through_importlib_resources() -> None:
    assert BUILTIN in builtin_names()
    packaged = {
        p.name.removesuffix(".yaml") for p in resources.files("xlplan.templates").iterdir() if p.name.endswith(".yaml")
    }
    assert set(builtin_names()) == packaged


def test_builtin_template_loads_with_the_sop_rag_values_in_order() -> None:
    t = load_template(BUILTIN)
    assert t.name == BUILTIN
    assert t.version == 1
    rag = t.choices["rag"]
    assert [(c.value, c.definition) for c in rag.values] == SOP_RAG
    assert rag.names == ("Red", "Amber", "Green", "Grey", "Blue")
    assert t.status_choices is rag


def test_builtin_template_structure() -> None:
    t = load_template(BUILTIN)
    rows = t.rows_sheet
    assert rows.name == "Actions"
    assert rows.columns[0].key == t.plan.key == "ref"
    assert [c.key for c in rows.editable_columns] == [
        "progress",
        "rag",
        "actual",
        "revised_due",
        "comments",
    ]
    assert {c.source for c in rows.locked_columns} == {"plan", "previous"}
    # A plan column shown on the return keeps the type it has in the plan.
    assert rows.column("due").type == "date"
    assert rows.column("target").type == "number"
    assert rows.column("rag").type == "choice"
    assert rows.column("last_rag").field == "rag"
    assert t.groups_sheet is not None and t.groups_sheet.name == "Feedback"
    assert {r.kind for r in t.rules} == {
        "blank_when",  # derived from locked_rows: a completed action's row
        "required_when",
        "overdue",
        "past_date",
        "tolerance",
        "unchanged",
    }


def test_load_template_unknown_name_lists_known_templates() -> None:
    with pytest.raises(TemplateError) as err:
        load_template("nope")
    message = str(err.value)
    assert "'nope'" in message
    assert f"Known templates: {BUILTIN}" in message


def test_plan_folder_template_overrides_the_builtin(tmp_path: Path) -> None:
    raw = builtin_raw()
    raw["title"] = "Local variant"
    local = tmp_path / "templates" / f"{BUILTIN}.yaml"
    local.parent.mkdir()
    local.write_text(yaml.safe_dump(raw), encoding="utf-8")

    assert load_template(BUILTIN, tmp_path).title == "Local variant"
    assert load_template(BUILTIN, tmp_path).source == str(local)
    # Without a local copy the built-in one is used.
    assert load_template(BUILTIN, tmp_path / "elsewhere").title != "Local variant"


# --- choice lists ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("green ", "Green"),
        ("GREEN", "Green"),
        ("G", "Green"),
        (" Gray", "Grey"),
        ("grey", "Grey"),
        ("r", "Red"),
        ("Completed", "Blue"),
        ("  amber\t", "Amber"),
    ],
)
def test_normalise_forgives_case_spaces_and_aliases(typed: str, meant: str) -> None:
    assert load_template(BUILTIN).choices["rag"].normalise(typed) == meant


@pytest.mark.parametrize("typed", ["Grenn", "", "Gren", "Red/Amber", "Greenish"])
def test_normalise_refuses_anything_else(typed: str) -> None:
    assert load_template(BUILTIN).choices["rag"].normalise(typed) is None


def test_suggest_finds_the_closest_value() -> None:
    rag = load_template(BUILTIN).choices["rag"]
    assert rag.suggest("Grenn") == "Green"
    assert rag.suggest(" ambre ") == "Amber"
    assert rag.suggest("xyz") is None


# --- malformed specs ---------------------------------------------------------------


def test_the_helper_round_trip_is_valid() -> None:
    # Guards the tests below: an unmodified dump parses, so each failure is the one change.
    assert parse_raw(builtin_raw()).name == BUILTIN


def test_unknown_column_type_is_named() -> None:
    raw = builtin_raw()
    actions_column(raw, "actual")["type"] = "money"
    with pytest.raises(TemplateError) as err:
        parse_raw(raw)
    message = str(err.value)
    assert message.startswith("x.yaml: ")
    assert "unknown type 'money'" in message
    assert "Actions" in message and "actual" in message


def test_unknown_rule_kind_is_named_with_the_known_ones() -> None:
    raw = builtin_raw()
    raw["rules"][0]["kind"] = "sometimes"
    with pytest.raises(TemplateError) as err:
        parse_raw(raw)
    message = str(err.value)
    assert message.startswith("x.yaml: ")
    assert "unknown rule kind 'sometimes'" in message
    assert "required_when" in message


def test_bad_rule_severity_is_named() -> None:
    raw = builtin_raw()
    raw["rules"][0]["severity"] = "fatal"
    with pytest.raises(TemplateError, match="severity must be error or warning"):
        parse_raw(raw)


def test_first_rows_column_must_be_the_plan_key() -> None:
    raw = builtin_raw()
    sheet = next(s for s in raw["sheets"] if s["kind"] == "rows")
    sheet["columns"][0], sheet["columns"][1] = sheet["columns"][1], sheet["columns"][0]
    with pytest.raises(TemplateError) as err:
        parse_raw(raw)
    message = str(err.value)
    assert "sheet Actions" in message
    assert "first column must be the plan key 'ref'" in message


def test_bad_yaml_is_reported_with_the_source() -> None:
    with pytest.raises(TemplateError) as err:
        parse_template("name: [implementation-plan\nversion: 1\n", "x.yaml")
    assert str(err.value).startswith("x.yaml: not valid YAML")


def test_a_spec_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(TemplateError, match=r"x\.yaml: expected a mapping"):
        parse_template("- just\n- a list\n", "x.yaml")


def test_missing_section_is_named() -> None:
    raw = builtin_raw()
    del raw["sheets"]
    with pytest.raises(TemplateError, match="needs 'sheets'"):
        parse_raw(raw)


def test_unknown_choice_list_is_named() -> None:
    raw = builtin_raw()
    actions_column(raw, "rag")["choices"] = "status"
    with pytest.raises(TemplateError, match="no choice list 'status'"):
        parse_raw(raw)


def test_sheet_column_that_is_not_a_plan_column_is_named() -> None:
    raw = builtin_raw()
    actions_column(raw, "measure")["key"] = "colour"
    with pytest.raises(TemplateError, match="'colour' is not a plan column"):
        parse_raw(raw)


def test_misspelt_column_option_is_named() -> None:
    raw = builtin_raw()
    actions_column(raw, "progress")["hedaer"] = "Progress"
    with pytest.raises(TemplateError, match="hedaer"):
        parse_raw(raw)


def test_assign_by_must_be_a_plan_column() -> None:
    raw = builtin_raw()
    raw["plan"]["assign_by"] = "owner"
    with pytest.raises(TemplateError, match="assign_by 'owner'"):
        parse_raw(raw)


def test_exactly_one_rows_sheet() -> None:
    raw = builtin_raw()
    extra = copy.deepcopy(next(s for s in raw["sheets"] if s["kind"] == "rows"))
    extra["name"] = "More actions"
    raw["sheets"].append(extra)
    with pytest.raises(TemplateError, match="exactly one sheet of kind 'rows'"):
        parse_raw(raw)


def test_unknown_column_source_is_named() -> None:
    raw = builtin_raw()
    actions_column(raw, "last_rag")["from"] = "previos"
    with pytest.raises(TemplateError, match="previos"):
        parse_raw(raw)


def test_unknown_sheet_kind_is_named() -> None:
    raw = builtin_raw()
    next(s for s in raw["sheets"] if s["name"] == "Feedback")["kind"] = "group"
    with pytest.raises(TemplateError, match="'group'"):
        parse_raw(raw)


def test_unknown_plan_column_type_is_named() -> None:
    raw = builtin_raw()
    next(c for c in raw["plan"]["columns"] if c["key"] == "sponsor")["type"] = "person"
    with pytest.raises(TemplateError, match="unknown type 'person'"):
        parse_raw(raw)
