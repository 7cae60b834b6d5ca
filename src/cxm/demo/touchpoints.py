"""Where the customer's own device writes the record: website, app, social media, SMS, surveys.

The website knows a browser id until login, the app its install id and the account, social
media a handle. Together with the staffed channels (``cxm.demo.staffed``) these are all the
touchpoints of the demo company.
"""

from __future__ import annotations

import random
from typing import Any

from cxm.demo import texts
from cxm.demo.people import Persona
from cxm.demo.recorder import HOUR, MINUTE, Event, EventRecorder
from cxm.demo.staffed import StaffedTouchpoints

WEB_PAGES = (
    ("Home", ""), ("Offer – Fibre", "oferta/internet"), ("Offer – Mobile", "oferta/komorkowy"),
    ("Offer – TV", "oferta/telewizja"), ("Shop – Phones", "sklep/telefony"),
    ("Add-ons", "dodatki"), ("Coverage Map", "zasieg"), ("Contact", "kontakt"),
)  # fmt: skip
HELP_PAGES = (
    ("Help – Invoices", "pomoc/faktury"), ("Help – Outages", "pomoc/awarie"),
    ("Roaming", "roaming"),
)  # fmt: skip
ACCOUNT_PAGES = (("My Account", "moje-konto"), ("My Invoices", "moje-konto/faktury"))
APP_SCREENS = ("Home", "Usage", "Invoices", "Add-ons", "Roaming", "Support", "Profile")
# Scores that read as praise or as a complaint on each survey scale (CES 2.0: 7 = easiest).
GOOD_SCORE = {"nps": 9, "csat": 4, "ces": 6}
BAD_SCORE = {"nps": 6, "csat": 2, "ces": 3}
ADDONS = {
    "Wi-Fi Booster": 149, "Roaming Pack EU+": 19, "Roaming Pack World": 49,
    "Extra Data 10 GB": 15, "Device Insurance": 12, "TV Sport Pack": 25, "Static IP": 10,
}  # fmt: skip
# Planted inconsistency: the branches' price list still charges the old price for the EU
# roaming pack (the website and the app have the new one). cxm's consistency check should
# find it with the customers who paid it (docs/demo.md).
BRANCH_PRICES = {"Roaming Pack EU+": 25}


class Touchpoints(StaffedTouchpoints):
    """Every touchpoint of the demo company, self-service and staffed."""

    def __init__(
        self, *, rng: random.Random, recorder: EventRecorder, survey_rng: random.Random
    ) -> None:
        super().__init__(rng=rng, recorder=recorder)
        self.survey_rng = survey_rng
        self._orders = 0
        self._messages = 0
        self._app_known: set[str] = set()

    # web and app ---------------------------------------------------------------------------
    def web_session(
        self, p: Persona, at: int, device: str, *, login: bool, help_page: bool = False
    ) -> int:
        rng = self.rng
        prefix = "" if p.language == "pl" else f"{p.language}/"
        count = rng.randint(2, 5)
        login_after = rng.randint(1, count - 1) if login else count
        context = {"locale": p.locale}
        for i in range(count):
            if i == login_after:
                at += rng.randint(10_000, 60_000)
                identify = {
                    "type": "identify",
                    "userId": p.user_id,
                    "anonymousId": device,
                    "traits": self._account_traits(p),
                    "context": context,
                }
                self._add(p, "website", at, identify)
            if i >= login_after and rng.random() < 0.5:
                name, path = rng.choice(ACCOUNT_PAGES)
            elif help_page and i == 0:
                name, path = rng.choice(HELP_PAGES)
            else:
                name, path = rng.choice(WEB_PAGES if rng.random() < 0.8 else HELP_PAGES)
            event: Event = {
                "type": "page",
                "anonymousId": device,
                "name": name,
                "properties": {
                    "path": f"/{prefix}{path}",
                    "title": name,
                    "url": f"https://vistula.pl/{prefix}{path}",
                },
                "context": context,
            }
            if i >= login_after:
                event["userId"] = p.user_id
            self._add(p, "website", at, event)
            at += rng.randint(15_000, 240_000)
        return at

    def web_order(self, p: Persona, at: int, device: str) -> int:
        """A prospect orders online: checkout page, alias of the browser id, identify, order."""
        self._orders += 1
        context = {"locale": p.locale}
        page = {
            "type": "page",
            "anonymousId": device,
            "name": "Checkout",
            "properties": {"path": "/zamowienie", "title": "Checkout"},
            "context": context,
        }
        self._add(p, "website", at, page)
        at += self.rng.randint(2, 8) * MINUTE
        alias = {"type": "alias", "previousId": device, "userId": p.user_id, "context": context}
        self._add(p, "website", at, alias)
        identify = {
            "type": "identify",
            "userId": p.user_id,
            "anonymousId": device,
            "traits": self._account_traits(p),
            "context": context,
        }
        self._add(p, "website", at + 500, identify)
        props = {
            "order_id": f"ORD-{self._orders:06d}",
            "plan": p.plan,
            "revenue": p.monthly_fee,
            "currency": "PLN",
        }
        order = self._track("Order Completed", props, user=p.user_id, anon=device, context=context)
        self._add(p, "website", at + 1500, order)
        return at + 2000

    def app_session(self, p: Persona, at: int) -> int:
        rng = self.rng
        assert p.app_device is not None
        context = {"locale": p.locale, "app": {"name": "Mój Vistula", "version": "5.12.0"}}
        if p.app_device not in self._app_known:
            self._app_known.add(p.app_device)
            identify = {
                "type": "identify",
                "userId": p.user_id,
                "anonymousId": p.app_device,
                "traits": self._account_traits(p),
                "context": context,
            }
            self._add(p, "mobile-app", at, identify)
            at += 3000
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(APP_SCREENS)
            screen = {
                "type": "screen",
                "userId": p.user_id,
                "anonymousId": p.app_device,
                "name": name,
                "properties": {},
                "context": context,
            }
            self._add(p, "mobile-app", at, screen)
            at += rng.randint(5_000, 90_000)
            if name == "Usage":
                props = {"used_gb": round(rng.uniform(0.5, 40), 1), "limit_gb": 50}
                usage = self._track(
                    "Data Usage Checked", props, user=p.user_id, anon=p.app_device, context=context
                )
                self._add(p, "mobile-app", at, usage)
        return at

    def app_track(self, p: Persona, at: int, name: str, props: dict[str, Any]) -> int:
        assert p.app_device is not None
        context = {"locale": p.locale, "app": {"name": "Mój Vistula", "version": "5.12.0"}}
        self._add(
            p,
            "mobile-app",
            at,
            self._track(name, props, user=p.user_id, anon=p.app_device, context=context),
        )
        return at + 1000

    def addon_purchase(self, p: Persona, at: int, addon: str, where: str) -> int:
        props = {"addon": addon, "price": ADDONS[addon], "currency": "PLN"}
        if where == "mobile-app" and p.app_device:
            at = self.app_session(p, at)
            return self.app_track(p, at, "Add-on Purchased", props)
        if where == "branches":
            at = self.branch_visit(p, at, purchase=(addon, BRANCH_PRICES.get(addon, ADDONS[addon])))
        device = p.web_devices[0]
        if where == "website":
            at = self.web_session(p, at, device, login=True)
        event = self._track(
            "Add-on Purchased", props, user=p.user_id, anon=device if where == "website" else None
        )
        self._add(p, where, at, event)
        return at + 1000

    # written channels ----------------------------------------------------------------------
    def social_post(
        self, p: Persona, at: int, topic: str, *, share_email: bool
    ) -> tuple[int, bool]:
        """A post about ``topic``; returns (end time, whether the e-mail was shared)."""
        rng = self.rng
        assert p.social_handle is not None
        anon = f"social:{p.social_handle}"
        external = [
            {
                "id": p.social_handle,
                "type": "social_handle",
                "collection": "users",
                "encoding": "none",
            }
        ]
        context = {
            "externalIds": external,
            "locale": p.locale,
            "traits": {"name": p.name, "username": p.social_handle},
        }
        core = self.say(p, topic, social=True)
        text = texts.social_post(rng, core, p.language, texts.sentiment_of(topic))
        props = {
            "platform": p.social_platform,
            "text": text,
            "url": f"https://{p.social_platform}.com/{p.social_handle}/{rng.getrandbits(40)}",
        }
        self._add(
            p, "social", at, self._track("Social Post", props, anon=anon, context=context), topic
        )
        shared = False
        if share_email:
            # The community team asks for the e-mail in a private message: the only link.
            at += rng.randint(1, 6) * HOUR
            identify = {
                "type": "identify",
                "anonymousId": anon,
                "traits": {"email": p.email, "name": p.name},
                "context": {"externalIds": external},
            }
            shared = self.rec.add(p, "social", at, identify)
        return at, shared

    def marketing(
        self, p: Persona, at: int, name: str, props: dict[str, Any], *, source: str = "marketing"
    ) -> int:
        """An event the e-mail marketing tool (or, for a purchase, the website) logs, drawing
        nothing from the shared random stream."""
        self._add(p, source, at, self._track(name, props, user=p.user_id))
        return at

    def sms(self, p: Persona, at: int, campaign: str, *, reply_topic: str | None = None) -> int:
        # The SMS gateway writes numbers in E.164 and knows each message by its own id.
        context = {"traits": {"phone": self.rec.phone_as_is(p.phone)}}
        self._messages += 1
        anon = f"sms:{self._messages}"
        self._add(
            p,
            "sms",
            at,
            self._track("SMS Sent", {"campaign": campaign}, anon=anon, context=context),
        )
        if reply_topic:
            at += self.rng.randint(5, 300) * MINUTE
            props = {"text": self.say(p, reply_topic), "campaign": campaign}
            self._add(
                p,
                "sms",
                at,
                self._track("SMS Received", props, anon=anon, context=context),
                reply_topic,
            )
        return at

    def survey(
        self,
        p: Persona,
        at: int,
        *,
        survey: str,
        kind: str,
        score: int,
        comment: bool,
        touchpoint: str | None,
        case: str | None,
        rng: random.Random,
    ) -> int:
        """A survey answer, in the shape cxm's own survey responses log (``cxm.surveys``)."""
        mood = None
        text = None
        if comment:
            good = score >= GOOD_SCORE[kind]
            bad = score <= BAD_SCORE[kind]
            mood = "positive" if good else "negative" if bad else "neutral"
            text = texts.survey_comment(rng, mood, p.language)
        props = {
            "survey": survey,
            "kind": kind,
            "score": score,
            "comment": text,
            "touchpoint": touchpoint,
            "case": case,
            "language": p.language,
        }
        event = self._track("Survey Answered", props, user=p.user_id, context={"locale": p.locale})
        self._add(p, "surveys", at, event, "survey" if mood else None, mood)
        return at
