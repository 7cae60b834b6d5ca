"""The survey builder: create a survey, or save a new version of one, from a form or as YAML.

``/surveys/new`` and ``/surveys/{id}/edit`` show the form; posting it checks the definition
with the surveys domain (``do_save_survey``). When the definition has problems nothing is
saved, the page comes back (400) with every problem next to its field and in a list with its
``loc``, and everything typed is kept. A successful save goes to the survey's results page.
Posting takes the CSRF token and a sign-in allowed to write.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import yaml
from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from cxm.errors import CxmError, NotFound
from cxm.journeys.service import current_journey_map
from cxm.segments import segment_names
from cxm.surveys import DEFAULT_HEADLINES, SurveyDefinitionInvalid, do_save_survey, get_survey
from cxm.web.i18n import translator
from cxm.web.survey_form import (
    AUDIENCES,
    FORM_LANGUAGES,
    KINDS,
    QUESTION_TYPES,
    TRIGGERS,
    FieldError,
    SurveyForm,
    compacted,
    definition_data,
    form_errors,
    form_from_definition,
    form_from_post,
    padded,
)
from cxm.web.surveys import can_write, csrf_ok, not_found, touchpoint_choices
from cxm.web.viewer import SignedIn, Viewer, error_page, render_page, workspace_of

router = APIRouter(include_in_schema=False)

MAX_YAML_CHARS = 256 * 1024
EXAMPLE = SurveyForm(id="", kind="nps", languages=["en", "pl"])


@router.get("/surveys/new", response_class=HTMLResponse)
def new_survey(request: Request, viewer: SignedIn) -> Response:
    return _builder(request, viewer, padded(SurveyForm()), survey_id=None)


@router.post("/surveys/new", response_class=HTMLResponse)
async def create_survey(request: Request, viewer: SignedIn) -> Response:
    form = await request.form()
    return await run_in_threadpool(_save, request, viewer, form, None)


@router.get("/surveys/{survey_id}/edit", response_class=HTMLResponse)
def edit_survey(request: Request, viewer: SignedIn, survey_id: str) -> Response:
    with workspace_of(request).session() as db:
        try:
            stored = get_survey(db, survey_id)
        except NotFound:
            return not_found(request, viewer, survey_id)
    form = form_from_definition(stored.definition)
    # The form writes English, Polish and Russian texts; a survey in another language is
    # edited as YAML, so that saving the form cannot drop that language's texts.
    others = [code for code in stored.definition.languages if code not in FORM_LANGUAGES]
    notice = translator(viewer.lang)("surveys.builder.other_languages", languages=", ".join(others))
    return _builder(
        request, viewer, padded(form), survey_id=survey_id, version=stored.version,
        yaml_text=_yaml(stored.definition.to_dict()), yaml_open=bool(others),
        notice=notice if others else None,
    )  # fmt: skip


@router.post("/surveys/{survey_id}/edit", response_class=HTMLResponse)
async def save_version(request: Request, viewer: SignedIn, survey_id: str) -> Response:
    form = await request.form()
    return await run_in_threadpool(_save, request, viewer, form, survey_id)


def _save(request: Request, viewer: Viewer, posted: FormData, survey_id: str | None) -> Response:
    t = translator(viewer.lang)
    workspace = workspace_of(request)
    version = None
    if survey_id is not None:
        with workspace.session() as db:
            try:
                version = get_survey(db, survey_id).version
            except NotFound:
                return not_found(request, viewer, survey_id)
    as_yaml = posted.get("format") == "yaml"
    raw_yaml = posted.get("definition")
    yaml_text = raw_yaml if isinstance(raw_yaml, str) else ""
    # The YAML tab is a form of its own: the builder's fields start afresh beside it.
    form = SurveyForm() if as_yaml else compacted(form_from_post(posted.multi_items()))
    if survey_id is not None:
        form = replace(form, id=survey_id)

    def again(errors: list[FieldError], status_code: int, blank_questions: int = 1) -> Response:
        return _builder(
            request, viewer, padded(form, blank_questions=blank_questions),
            survey_id=survey_id, version=version, errors=errors, status_code=status_code,
            yaml_text=yaml_text if as_yaml else _yaml(definition_data(form)), yaml_open=as_yaml,
        )  # fmt: skip

    if not csrf_ok(request, viewer, _text(posted.get("csrf_token"))):
        return again([FieldError("", t("error.csrf"), None)], 403)
    if not can_write(viewer):
        return error_page(request, 403, t("surveys.error.write_scope"), viewer, "surveys")
    if not as_yaml and posted.get("action") == "more":
        return again([], 200, blank_questions=2)

    data: Any
    if as_yaml:
        if len(yaml_text) > MAX_YAML_CHARS:
            return again([FieldError("", t("surveys.builder.yaml_too_long"), "definition")], 400)
        try:
            data = yaml.safe_load(yaml_text)
        except yaml.YAMLError as exc:
            message = t("surveys.builder.yaml_invalid", problem=str(exc))
            return again([FieldError("", message, "definition")], 400)
    else:
        data = definition_data(form)
    given_id = data.get("id") if isinstance(data, dict) else None
    problem = _id_problem(request, t, survey_id, given_id)
    if problem is not None:
        return again([problem], 400 if survey_id is not None else 409)
    with workspace.session() as db:
        try:
            stored = do_save_survey(session=db, actor=viewer.principal.actor, data=data)
            db.commit()
        except SurveyDefinitionInvalid as exc:
            db.rollback()
            return again(form_errors(exc.errors) or [FieldError("", exc.message, None)], 400)
        except CxmError as exc:
            db.rollback()
            return again([FieldError("", exc.message, None)], exc.http_status)
    target = f"/surveys/{stored.definition.id}?saved={stored.version}"
    return RedirectResponse(target, status_code=303)


def _id_problem(
    request: Request, t: Callable[..., str], survey_id: str | None, given: Any
) -> FieldError | None:
    """A new survey may not take the id of one that exists, nor may a new version change it."""
    if survey_id is not None:
        if given != survey_id:
            return FieldError("id", t("surveys.builder.id_fixed", id=survey_id), "id")
        return None
    if not isinstance(given, str) or not given:
        return None  # the domain's checker says what is wrong with it
    with workspace_of(request).session() as db:
        try:
            get_survey(db, given)
        except NotFound:
            return None
    return FieldError("id", t("surveys.builder.id_taken", id=given), "id")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _yaml(data: Any) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


def _builder(
    request: Request,
    viewer: Viewer,
    form: SurveyForm,
    *,
    survey_id: str | None,
    version: int | None = None,
    errors: list[FieldError] | None = None,
    status_code: int = 200,
    yaml_text: str | None = None,
    yaml_open: bool = False,
    notice: str | None = None,
) -> HTMLResponse:
    with workspace_of(request).session() as db:
        journey = current_journey_map(db)
        segments = segment_names(db)
    errors = errors or []
    by_field: dict[str, list[str]] = {}
    for error in errors:
        if error.field:
            by_field.setdefault(error.field, []).append(error.message)
    context: dict[str, Any] = {
        "form": form,
        "survey_id": survey_id,
        "version": version,
        "action": f"/surveys/{survey_id}/edit" if survey_id else "/surveys/new",
        "errors": errors,
        "errors_at": by_field,
        "default_headlines": DEFAULT_HEADLINES,
        "touchpoint_choices": touchpoint_choices(journey),
        "has_journey": journey is not None,
        "segments": segments,
        "kinds": KINDS,
        "audiences": AUDIENCES,
        "form_languages": FORM_LANGUAGES,
        "question_types": QUESTION_TYPES,
        "triggers": TRIGGERS,
        "yaml_text": yaml_text if yaml_text is not None else _yaml(definition_data(EXAMPLE)),
        "yaml_open": yaml_open,
        "notice": notice,
        "can_write": can_write(viewer),
    }
    return render_page(
        request,
        "survey_builder.html",
        context,
        viewer=viewer,
        active="surveys",
        status_code=status_code,
    )
