"""Survey definitions and answers: every problem listed with where it is, translations named."""

from __future__ import annotations

from typing import Any

import pytest

from cxm.errors import CxmError, InvalidInput
from cxm.surveys import (
    SurveyDefinitionInvalid,
    check_answers,
    parse_survey_yaml,
    survey_from_data,
)
from cxm.surveys.tokens import new_invitation_id, read_invitation_token, sign_invitation

TOUCHPOINTS = ["repair", "calls"]


def definition(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": "nps-after-repair",
        "kind": "nps",
        "languages": ["pl", "en"],
        "questions": [
            {
                "id": "reason",
                "type": "text",
                "text": {"pl": "Dlaczego?", "en": "Why?"},
            },
            {
                "id": "channel",
                "type": "choice",
                "text": {"pl": "Którędy?", "en": "Which way?"},
                "options": [
                    {"id": "web", "label": {"pl": "Strona", "en": "Website"}},
                    {"id": "phone", "label": {"pl": "Telefon", "en": "Phone"}},
                ],
            },
            {
                "id": "speed",
                "type": "scale",
                "min": 1,
                "max": 5,
                "text": {"pl": "Szybkość", "en": "Speed"},
                "required": True,
            },
        ],
        "trigger": {"after_touchpoint": "repair"},
        "expires_days": 14,
        "reminder_days": 3,
    }
    return data | changes


def problems(data: Any, touchpoints: list[str] | None = TOUCHPOINTS) -> list[tuple[Any, str]]:
    with pytest.raises(SurveyDefinitionInvalid) as caught:
        survey_from_data(data, touchpoints=touchpoints)
    assert caught.value.http_status == 400 and caught.value.code == "invalid_survey"
    return [(tuple(e.loc), e.message) for e in caught.value.errors]


def test_a_valid_definition_has_its_headline_first() -> None:
    survey = survey_from_data(definition(), touchpoints=TOUCHPOINTS)
    assert [q.id for q in survey.questions] == ["score", "reason", "channel", "speed"]
    assert survey.headline is not None and (survey.headline.min, survey.headline.max) == (0, 10)
    assert survey.headline.text["pl"].startswith("Jak bardzo prawdopodobne")
    assert survey.trigger.type == "after_touchpoint" and survey.trigger.value == "repair"
    shown = survey.in_language("en")
    assert shown[2]["options"] == [
        {"id": "web", "label": "Website"},
        {"id": "phone", "label": "Phone"},
    ]
    # The stored form reads back as the same survey.
    assert survey_from_data(survey.to_dict(), touchpoints=TOUCHPOINTS) == survey


@pytest.mark.parametrize(("kind", "scale"), [("csat", (1, 5)), ("ces", (1, 7))])
def test_standard_kinds_have_their_scales(kind: str, scale: tuple[int, int]) -> None:
    survey = survey_from_data({"id": "x", "kind": kind, "languages": ["ru"]})
    assert survey.headline is not None
    assert (survey.headline.min, survey.headline.max) == scale
    if kind == "ces":
        assert survey.headline.text["ru"] == "Компания облегчила мне решение моего вопроса."


def test_a_missing_translation_names_the_question_and_the_language() -> None:
    data = definition(languages=["pl", "en", "ru"])
    found = problems(data)
    # The headline has a built-in Russian text; the custom questions do not.
    assert (
        ("questions", 0, "text", "ru"),
        "questions.0.text.ru: question 'reason' has no translation into 'ru'; add one",
    ) in found
    assert any(
        "option 'web' of question 'channel' has no translation into 'ru'" in m for _, m in found
    )
    assert not any(loc[0] == "question" for loc, _ in found)


def test_a_headline_in_a_language_without_a_default_must_be_written() -> None:
    found = problems({"id": "x", "kind": "nps", "languages": ["de"]})
    assert found == [
        (
            ("question", "de"),
            "question.de: the headline question 'score' has no translation into 'de'; add one",
        )
    ]


def test_every_problem_is_listed() -> None:
    data = definition(
        id="Bad Id",
        kind="loyalty",
        audience="guests",
        trigger={"after_touchpoint": "teleport"},
        expires_days=0,
        colour="red",
    )
    data["questions"][1]["options"] = [{"id": "web", "label": {"pl": "a", "en": "b"}}]
    data["questions"][2]["min"] = 9
    locs = [loc for loc, _ in problems(data)]
    assert ("id",) in locs and ("kind",) in locs and ("audience",) in locs
    assert ("colour",) in locs and ("expires_days",) in locs
    assert ("trigger", "after_touchpoint") in locs
    assert ("questions", 1, "options") in locs and ("questions", 2, "min") in locs


def test_a_touchpoint_trigger_needs_a_journey_map() -> None:
    ((loc, message),) = problems(definition(), touchpoints=None)
    assert loc == ("trigger", "after_touchpoint") and "no journey map is saved" in message


def test_reminders_come_before_expiry() -> None:
    ((loc, message),) = problems(definition(reminder_days=14))
    assert loc == ("reminder_days",) and "after the invitation expires" in message


def test_yaml_is_read_like_json() -> None:
    survey = parse_survey_yaml(
        "id: ces-support\nkind: ces\nlanguages: [en]\naudience: employee\nanonymous: true\n"
    )
    assert survey.audience == "employee" and survey.anonymous and survey.trigger.type == "manual"
    with pytest.raises(SurveyDefinitionInvalid):
        parse_survey_yaml("id: [unclosed")


def test_answers_are_checked_against_the_questions() -> None:
    survey = survey_from_data(definition(), touchpoints=TOUCHPOINTS)
    good = check_answers(survey, {"score": 9, "reason": " fast ", "channel": "web", "speed": "4"})
    assert good.score == 9.0 and good.comment == "fast"
    assert good.answers == {"score": 9, "reason": "fast", "channel": "web", "speed": 4}
    for answers, where, text in [
        ({"score": 11, "speed": 3}, "score", "11 is outside 0–10"),
        ({"score": True, "speed": 3}, "score", "not a score"),
        ({"speed": 3}, "score", "needs an answer"),
        ({"score": 3}, "speed", "needs an answer"),
        ({"score": 3, "speed": 3, "channel": "fax"}, "channel", "'fax' is not an option"),
        ({"score": 3, "speed": 3, "colour": "red"}, "colour", "no question 'colour'"),
    ]:
        with pytest.raises(InvalidInput) as caught:
            check_answers(survey, answers)
        assert f"question '{where}'" in caught.value.message or where in caught.value.message
        assert text in caught.value.message
        assert caught.value.errors[0].loc == ("answers", where)


def test_tokens_are_signed_and_refuse_forgeries() -> None:
    secret = b"s" * 32
    invitation = new_invitation_id()
    token = sign_invitation(secret, invitation)
    assert read_invitation_token(secret, token) == invitation
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    for bad in (forged, token + "x", "", "inv_x", sign_invitation(b"o" * 32, invitation)):
        with pytest.raises(CxmError) as caught:
            read_invitation_token(secret, bad)
        assert caught.value.code == "invitation_invalid"


def test_only_the_exact_token_is_accepted_not_another_spelling_of_its_signature() -> None:
    import base64
    import hashlib

    from itsdangerous import Signer

    secret = b"s" * 32
    token = sign_invitation(secret, "inv_exact")
    value, signature = token.rsplit(".", 1)
    # 32 signature bytes take 43 base64 characters, whose last 2 bits are unused: flipping the
    # lowest bit of the last character spells the same signature differently.
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin_char = alphabet[alphabet.index(signature[-1]) ^ 1]
    twin = f"{value}.{signature[:-1]}{twin_char}"
    assert base64.urlsafe_b64decode(signature + "=") == base64.urlsafe_b64decode(
        twin.rsplit(".", 1)[1] + "="
    )
    signer = Signer(secret, salt="cxm.surveys.invitation", digest_method=hashlib.sha256, sep=".")
    assert signer.unsign(twin) == b"inv_exact"  # the signature library alone would accept it
    assert read_invitation_token(secret, token) == "inv_exact"
    with pytest.raises(CxmError, match="not valid"):
        read_invitation_token(secret, twin)
