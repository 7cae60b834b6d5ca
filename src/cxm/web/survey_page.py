"""The public survey page at ``/s/{token}``: the questions of one invitation, answered once.

No sign-in: the signed invitation token in the path is the credential, opens that one
invitation only, and takes one answer, so the form needs no session or CSRF cookie (a forged
post can at most answer a survey for the person who holds the link, once). The page is a
plain HTML form that works without JavaScript; ``?embed=1`` serves it without the outer page
so that a company can show it in an iframe on its own site.

The survey's own texts come from its definition in the invitation's language; the page's
texts (the Send button, thank-you, errors) come from the web UI catalogues, with Russian kept
here because the dashboard is offered in English and Polish only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from cxm.errors import Conflict, ErrorDetail, InvalidInput, NotFound
from cxm.store.metadata import utcnow
from cxm.surveys import (
    SCALES,
    InvitationExpired,
    OpenedInvitation,
    Question,
    do_answer,
    open_invitation,
)
from cxm.web.i18n import SUPPORTED, translator
from cxm.web.rendering import render_template
from cxm.web.viewer import SECURITY_HEADERS, language_of, workspace_of

router = APIRouter(include_in_schema=False)

MAX_TOKEN_CHARS = 200
Values = dict[str, str | list[str]]

# The page's own texts in Russian (the dashboard catalogues hold English and Polish); the keys
# are those of the catalogues, and a test checks that none is missing.
RUSSIAN: dict[str, str] = {
    "survey_page.answered.text": "Каждое приглашение принимает один ответ; мы храним первый.",
    "survey_page.answered.title": "Мы уже получили ваш ответ, спасибо",
    "survey_page.choose_any": "Выберите все подходящие варианты",
    "survey_page.closed.text": "Ответы больше не принимаются. Спасибо, что уделили время.",
    "survey_page.closed.title": "Этот опрос закрыт",
    "survey_page.error.choice": "Выберите один из предложенных вариантов.",
    "survey_page.error.required": "Пожалуйста, ответьте на этот вопрос.",
    "survey_page.error.scale": "Выберите число от {min} до {max}.",
    "survey_page.error.text": (
        "Ответ слишком длинный или содержит символы, которые нельзя сохранить."
    ),
    "survey_page.form_error": "Пожалуйста, проверьте отмеченные ниже ответы.",
    "survey_page.invalid.text": "Откройте опрос ещё раз по ссылке из приглашения.",
    "survey_page.invalid.title": "Эта ссылка недействительна",
    "survey_page.optional": "необязательно",
    "survey_page.scale.ces.high": "Полностью согласен",
    "survey_page.scale.ces.low": "Совершенно не согласен",
    "survey_page.scale.csat.high": "Полностью удовлетворён",
    "survey_page.scale.csat.low": "Совсем не удовлетворён",
    "survey_page.scale.nps.high": "Очень вероятно",
    "survey_page.scale.nps.low": "Совсем маловероятно",
    "survey_page.send": "Отправить",
    "survey_page.thanks.text": "Ваш ответ сохранён. Эту страницу можно закрыть.",
    "survey_page.thanks.title": "Спасибо!",
    "survey_page.title": "Опрос",
}
EXTRA_LANGUAGES: dict[str, dict[str, str]] = {"ru": RUSSIAN}

# The token in the address is a credential: send it nowhere, and keep the page out of indexes.
_PUBLIC_HEADERS = SECURITY_HEADERS | {
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}
# The embeddable variant may be framed by any site; everything else stays as strict.
_EMBED_HEADERS = {k: v for k, v in _PUBLIC_HEADERS.items() if k != "X-Frame-Options"} | {
    "Content-Security-Policy": SECURITY_HEADERS["Content-Security-Policy"].replace(
        "frame-ancestors 'none'", "frame-ancestors *"
    )
}


def page_translator(language: str) -> Callable[..., str]:
    """``t(key, **values)`` for the page's texts in ``language`` (English where there are none).

    >>> page_translator("ru")("survey_page.send"), page_translator("pl")("survey_page.send")
    ('Отправить', 'Wyślij')
    """
    if language in SUPPORTED:
        return translator(language)
    extra = EXTRA_LANGUAGES.get(language.split("-", 1)[0], {})
    english = translator("en")

    def t(key: str, /, **values: Any) -> str:
        text = extra.get(key)
        return english(key, **values) if text is None else text.format(**values)

    return t


@router.get("/s/{token}", response_class=HTMLResponse)
def survey_form(request: Request, token: str, embed: str = "") -> Response:
    return _show(request, token, embed=_is_embed(embed))


def _show(request: Request, token: str, *, embed: bool) -> HTMLResponse:
    with workspace_of(request).session() as db:
        try:
            opened = _open(db, token)
        except (NotFound, InvitationExpired) as exc:
            return _refusal(request, exc, embed=embed)
    language = opened.invitation.language
    if opened.invitation.status == "answered":
        return _message(language, "answered", 409, embed=embed)
    return _form(token, opened, values={}, problems={}, embed=embed)


@router.post("/s/{token}", response_class=HTMLResponse)
async def survey_answer(request: Request, token: str, embed: str = "") -> Response:
    form = await request.form()
    # The store is synchronous: answer in the thread pool, as the other pages' handlers do.
    return await run_in_threadpool(_answer, request, token, form, embed=_is_embed(embed))


def _is_embed(value: str) -> bool:
    return value.lower() not in ("", "0", "false", "no")


def _answer(request: Request, token: str, form: FormData, *, embed: bool) -> HTMLResponse:
    with workspace_of(request).session() as db:
        try:
            opened = _open(db, token)
        except (NotFound, InvitationExpired) as exc:
            return _refusal(request, exc, embed=embed)
        language = opened.invitation.language
        values = form_values(opened, form)
        try:
            do_answer(session=db, token=token, answers=values, now=utcnow())
        except InvitationExpired as exc:  # the time ran out between opening and answering
            return _refusal(request, exc, embed=embed)
        except Conflict:
            return _message(language, "answered", 409, embed=embed)
        except InvalidInput as exc:
            problems = problem_messages(opened, values, exc.errors, page_translator(language))
            return _form(token, opened, values, problems, embed=embed, status_code=400)
    return _message(language, "thanks", 200, embed=embed)


def _open(db: Session, token: str) -> OpenedInvitation:
    if len(token) > MAX_TOKEN_CHARS:  # no token cxm signs is this long
        raise NotFound("this survey link is not valid")
    return open_invitation(db, token, now=utcnow())


def form_values(opened: OpenedInvitation, form: FormData) -> Values:
    """The answers in a posted form, by question id; fields that are no question are ignored."""
    values: Values = {}
    for question in opened.survey.questions:
        given = [v for v in form.getlist(question.id) if isinstance(v, str)]
        if question.type == "choice" and question.multiple:
            values[question.id] = given
        elif given and given[0].strip():
            values[question.id] = given[0]
    return values


def problem_messages(
    opened: OpenedInvitation,
    values: Values,
    errors: list[ErrorDetail],
    t: Callable[..., str],
) -> dict[str, str]:
    """A message for the respondent per question answered wrongly, in the page's language."""
    problems: dict[str, str] = {}
    for error in errors:
        question = opened.survey.question(str(error.loc[-1])) if error.loc else None
        if question is None:
            continue
        if values.get(question.id) in (None, "", []):
            problems[question.id] = t("survey_page.error.required")
        elif question.type == "scale":
            problems[question.id] = t("survey_page.error.scale", min=question.min, max=question.max)
        else:
            problems[question.id] = t(f"survey_page.error.{question.type}")
    return problems


def _question_view(
    question: Question, kind: str, language: str, t: Callable[..., str]
) -> dict[str, Any]:
    shown = question.in_language(language)
    low = high = None
    if question.type == "scale":
        assert question.min is not None and question.max is not None
        shown["points"] = list(range(question.min, question.max + 1))
        if question.id == "score" and kind in SCALES:
            low, high = t(f"survey_page.scale.{kind}.low"), t(f"survey_page.scale.{kind}.high")
    return shown | {"low": low, "high": high}


def _form(
    token: str,
    opened: OpenedInvitation,
    values: Values,
    problems: dict[str, str],
    *,
    embed: bool,
    status_code: int = 200,
) -> HTMLResponse:
    survey, language = opened.survey, opened.invitation.language
    t = page_translator(language)
    questions = [_question_view(q, survey.kind, language, t) for q in survey.questions]
    context = {
        "view": "form",
        "action": f"/s/{token}" + ("?embed=1" if embed else ""),
        "survey_name": survey.name,
        "questions": questions,
        "values": values,
        "problems": problems,
    }
    return _render(language, context, status_code, embed=embed)


def _message(language: str, view: str, status_code: int, *, embed: bool) -> HTMLResponse:
    return _render(language, {"view": view}, status_code, embed=embed)


def _refusal(request: Request, exc: Exception, *, embed: bool) -> HTMLResponse:
    # A refused link has no invitation to take a language from: the visitor's browser decides.
    language = language_of(request)
    if isinstance(exc, InvitationExpired):
        return _message(language, "closed", 410, embed=embed)
    return _message(language, "invalid", 404, embed=embed)


def _render(
    language: str, context: dict[str, Any], status_code: int, *, embed: bool
) -> HTMLResponse:
    base = {
        "lang": language,
        "t": page_translator(language),
        "embed": embed,
        "survey_name": None,
        "problems": {},
    }
    html = render_template("survey_public.html", base | context)
    headers = _EMBED_HEADERS if embed else _PUBLIC_HEADERS
    return HTMLResponse(html, status_code=status_code, headers=headers)
