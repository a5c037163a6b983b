"""The rules that set a positive_data_acceptance failure aside stay narrow: a refusal of
schema-valid data by a rule a schema could state is still a failure."""

from schemathesis_hooks import is_semantic_refusal, is_text_body_artefact


def _problem(*errors: tuple[str, str], detail: str = "invalid") -> dict[str, object]:
    items = [{"field": field, "message": message} for field, message in errors]
    return {"type": "https://c2r.itu.int/problems/validation", "detail": detail} | (
        {"errors": items} if items else {}
    )


def test_an_unissued_cursor_or_an_unknown_reference_is_set_aside() -> None:
    assert is_semantic_refusal(422, _problem(("query.cursor", "malformed cursor")))
    assert is_semantic_refusal(422, _problem(("body.partner_id", "unknown partner")))
    assert is_semantic_refusal(412, {"type": "https://c2r.itu.int/problems/precondition-failed"})


def test_a_refusal_the_schema_could_state_is_kept() -> None:
    pattern = ("body.tags.0", "String should match pattern '^[a-z0-9]+$'")
    assert not is_semantic_refusal(422, _problem(pattern))
    assert not is_semantic_refusal(422, _problem(("body.focal_point", "may not be null")))


def test_one_field_problem_outside_the_rules_keeps_the_whole_refusal() -> None:
    problem = _problem(("body.partner_id", "unknown partner"), ("body.year", "too large"))
    assert not is_semantic_refusal(422, problem)


def test_other_statuses_and_bodies_are_kept() -> None:
    assert not is_semantic_refusal(400, _problem(("query.cursor", "malformed cursor")))
    assert not is_semantic_refusal(422, ["not", "a", "problem"])


def test_a_uuid_refused_where_the_schema_declares_one_is_set_aside() -> None:
    problem = _problem(("path.school_id", "Input should be a valid UUID"))
    problem["errors"][0]["type"] = "uuid_parsing"  # type: ignore[index]
    assert is_semantic_refusal(422, problem)


def test_the_giga_routes_unknown_school_is_set_aside_and_other_400s_kept() -> None:
    assert is_semantic_refusal(400, {"type": "https://c2r.itu.int/problems/unknown-school"})
    assert not is_semantic_refusal(400, {"type": "about:blank", "detail": "Bad Request"})


def test_a_backlog_refused_whole_is_set_aside_only_when_every_item_broke_a_named_rule() -> None:
    unknown = ("body.0", "unknown_school")
    unmeasured = ("body.1.Latency", "not measured, and the ndt7 result holds no MinRTT")
    too_old = ("body.2.Timestamp", "older than 30 days")
    assert is_semantic_refusal(400, _problem(unknown, unmeasured, too_old))
    assert not is_semantic_refusal(400, _problem(unknown, ("body.1", "invalid")))
    assert not is_semantic_refusal(400, _problem(("body.0.Download", "must be at least 0")))


class _Mode:
    def __init__(self, negative: bool) -> None:
        self.is_negative = negative


class _Info:
    def __init__(self, negative: bool) -> None:
        self.mode = _Mode(negative)


class _Location:
    def __init__(self, name: str) -> None:
        self.name = name


class _Meta:
    def __init__(self, **negative: bool) -> None:
        self.components = {_Location(name): _Info(value) for name, value in negative.items()}


class _Case:
    def __init__(self, media_type: str, **negative: bool) -> None:
        self.media_type, self.meta = media_type, _Meta(**negative)


def test_only_a_negative_csv_body_alone_is_a_text_body_artefact() -> None:
    assert is_text_body_artefact(_Case("text/csv", BODY=True, QUERY=False))
    assert not is_text_body_artefact(_Case("text/csv", BODY=True, QUERY=True))
    assert not is_text_body_artefact(_Case("application/json", BODY=True))


def test_a_backlog_refused_only_for_unknown_schools_is_set_aside() -> None:
    unknown = _problem(("body.0", "unknown_school"), ("body.1", "unknown_school"))
    assert is_semantic_refusal(400, unknown)
    assert not is_semantic_refusal(400, _problem(("body.0", "unknown_school"), ("body.1", "x")))
