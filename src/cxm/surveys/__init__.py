"""Surveys: NPS, CSAT, CES and custom questionnaires; signed invitations; one answer each.

>>> from cxm.surveys import survey_from_data
>>> survey_from_data({"id": "ces-support", "kind": "ces", "languages": ["en"]}).headline.max
7
"""

from cxm.surveys.answers import CheckedAnswers, check_answers
from cxm.surveys.definitions import DEFAULT_HEADLINES, parse_survey_yaml, survey_from_data
from cxm.surveys.models import (
    HEADLINE,
    SCALES,
    Invitation,
    InvitationExpired,
    InvitationInvalid,
    InviteOutcome,
    Option,
    Question,
    StoredSurvey,
    SurveyAnswered,
    SurveyDefinition,
    SurveyDefinitionInvalid,
    SurveyInvitationSent,
    SurveyResponse,
    SurveySaved,
    Trigger,
)
from cxm.surveys.queries import (
    get_invitation,
    get_survey,
    invitation_counts,
    list_invitations,
    list_responses,
    list_surveys,
)
from cxm.surveys.responses import (
    ANSWERED_EVENT,
    SURVEY_SOURCE,
    OpenedInvitation,
    do_answer,
    open_invitation,
    survey_source,
)
from cxm.surveys.service import (
    do_invite,
    do_invite_batch,
    do_mark_reminded,
    do_save_survey,
    due_reminders,
)

__all__ = [
    "ANSWERED_EVENT",
    "DEFAULT_HEADLINES",
    "HEADLINE",
    "SCALES",
    "SURVEY_SOURCE",
    "CheckedAnswers",
    "Invitation",
    "InvitationExpired",
    "InvitationInvalid",
    "InviteOutcome",
    "OpenedInvitation",
    "Option",
    "Question",
    "StoredSurvey",
    "SurveyAnswered",
    "SurveyDefinition",
    "SurveyDefinitionInvalid",
    "SurveyInvitationSent",
    "SurveyResponse",
    "SurveySaved",
    "Trigger",
    "check_answers",
    "do_answer",
    "do_invite",
    "do_invite_batch",
    "do_mark_reminded",
    "do_save_survey",
    "due_reminders",
    "get_invitation",
    "get_survey",
    "invitation_counts",
    "list_invitations",
    "list_responses",
    "list_surveys",
    "open_invitation",
    "parse_survey_yaml",
    "survey_from_data",
    "survey_source",
]
