"""Surveys: NPS, CSAT, CES and custom questionnaires; signed invitations sent by hand, after a
touchpoint or to a segment; reminders; one answer each.

>>> from cxm.surveys import survey_from_data
>>> survey_from_data({"id": "ces-support", "kind": "ces", "languages": ["en"]}).headline.max
7
"""

from cxm.surveys.answers import CheckedAnswers, check_answers
from cxm.surveys.definitions import DEFAULT_HEADLINES, parse_survey_yaml, survey_from_data
from cxm.surveys.distribution import SegmentSend, do_send_to_segment
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
    SurveyReminderSent,
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
from cxm.surveys.reminders import (
    ReminderReport,
    do_mark_reminded,
    do_send_reminders,
    due_reminders,
    run_survey_reminders,
)
from cxm.surveys.responses import (
    ANSWERED_EVENT,
    SURVEY_SOURCE,
    OpenedInvitation,
    do_answer,
    open_invitation,
    survey_source,
)
from cxm.surveys.service import do_invite, do_invite_batch, do_save_survey
from cxm.surveys.targeting import choose_language
from cxm.surveys.triggers import TriggerReport, run_survey_triggers, trigger_mark

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
    "ReminderReport",
    "SegmentSend",
    "StoredSurvey",
    "SurveyAnswered",
    "SurveyDefinition",
    "SurveyDefinitionInvalid",
    "SurveyInvitationSent",
    "SurveyReminderSent",
    "SurveyResponse",
    "SurveySaved",
    "Trigger",
    "TriggerReport",
    "check_answers",
    "choose_language",
    "do_answer",
    "do_invite",
    "do_invite_batch",
    "do_mark_reminded",
    "do_save_survey",
    "do_send_reminders",
    "do_send_to_segment",
    "due_reminders",
    "get_invitation",
    "get_survey",
    "invitation_counts",
    "list_invitations",
    "list_responses",
    "list_surveys",
    "open_invitation",
    "parse_survey_yaml",
    "run_survey_reminders",
    "run_survey_triggers",
    "survey_from_data",
    "survey_source",
    "trigger_mark",
]
