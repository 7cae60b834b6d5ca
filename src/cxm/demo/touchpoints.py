"""One method per touchpoint of the demo company, writing events as that silo would record them.

Each silo knows the customer by what it sees: the website by a browser id until login, the
mailbox by an address, the call centre by a caller number typed in whatever format, the branch
and billing systems by the account id. Methods take a start time (epoch ms) and return the time
the interaction ended, so the generator can chain them into journeys.
"""

from __future__ import annotations

import random
import time
from typing import Any

from cxm.demo import notes, texts
from cxm.demo.people import Persona, written_address
from cxm.demo.recorder import Event, EventRecorder

MINUTE = 60_000
HOUR = 60 * MINUTE
DAY = 24 * HOUR
WEB_PAGES = (
    ("Home", ""), ("Offer – Fibre", "oferta/internet"), ("Offer – Mobile", "oferta/komorkowy"),
    ("Offer – TV", "oferta/telewizja"), ("Roaming", "roaming"), ("Help – Invoices", "pomoc/faktury"),
    ("Help – Outages", "pomoc/awarie"), ("Shop – Phones", "sklep/telefony"),
    ("Add-ons", "dodatki"), ("Coverage Map", "zasieg"), ("Contact", "kontakt"),
)  # fmt: skip
ACCOUNT_PAGES = (("My Account", "moje-konto"), ("My Invoices", "moje-konto/faktury"))
APP_SCREENS = ("Home", "Usage", "Invoices", "Add-ons", "Roaming", "Support", "Profile")
ADDONS = {
    "Wi-Fi Booster": 149, "Roaming Pack EU+": 19, "Roaming Pack World": 49,
    "Extra Data 10 GB": 15, "Device Insurance": 12, "TV Sport Pack": 25, "Static IP": 10,
}  # fmt: skip
SOCIAL_PLATFORMS = ("facebook", "x", "instagram")
IDENTITY_FIELDS = ("customer_number", "address", "date_of_birth", "pesel_last_digits")


class Touchpoints:
    """Writes each kind of interaction into ``recorder``; all randomness comes from ``rng``."""

    def __init__(self, *, rng: random.Random, recorder: EventRecorder) -> None:
        self.rng = rng
        self.rec = recorder
        self._calls = 0
        self._cases = 0
        self._orders = 0
        self._app_known: set[str] = set()

    # helpers -------------------------------------------------------------------------------
    def _add(self, p: Persona, source: str, at: int, event: Event, topic: str | None = None,
             mood: str | None = None, author: str = "customer") -> None:  # fmt: skip
        label = None
        if topic is not None:
            if mood is None:
                mood = texts.sentiment_of(topic)
            label = {"topic": topic, "language": p.language, "sentiment": mood, "author": author}
        self.rec.add(p, source, at, event, label=label)

    def _slots(self, p: Persona) -> dict[str, str]:
        return texts.persona_slots(
            language=p.language, gender=p.gender, first=p.first_name, name=p.name,
            address=p.address, paid=p.speed, plan=p.plan,
        )  # fmt: skip

    def say(self, p: Persona, topic: str) -> str:
        """What ``p`` says about ``topic``, in their language."""
        return texts.customer_text(self.rng, topic, p.language, self._slots(p))

    def new_case_ref(self, at: int) -> str:
        self._cases += 1
        return f"CASE-{time.gmtime(at // 1000).tm_year}-{self._cases:05d}"

    def _account_traits(self, p: Persona) -> dict[str, Any]:
        # Account systems hold the contract's Latin-script name, the e-mail and the phone.
        return {
            "email": p.email, "phone": self.rec.phone(self.rng, p.phone), "name": p.name_latin,
            "firstName": p.first_latin, "lastName": p.last_latin,
        }  # fmt: skip

    def _track(self, name: str, props: dict[str, Any], *, user: str | None = None,
               anon: str | None = None, context: dict[str, Any] | None = None) -> Event:  # fmt: skip
        event: Event = {"type": "track", "event": name, "properties": props}
        if user:
            event["userId"] = user
        if anon:
            event["anonymousId"] = anon
        if context:
            event["context"] = context
        return event

    # web and app ---------------------------------------------------------------------------
    def web_session(self, p: Persona, at: int, device: str, *, login: bool,
                    help_page: bool = False) -> int:  # fmt: skip
        rng = self.rng
        prefix = "" if p.language == "pl" else f"{p.language}/"
        count = rng.randint(2, 5)
        login_after = rng.randint(1, count - 1) if login else count
        context = {"locale": p.locale}
        for i in range(count):
            if i == login_after:
                at += rng.randint(10_000, 60_000)
                identify = {"type": "identify", "userId": p.user_id, "anonymousId": device,
                            "traits": self._account_traits(p), "context": context}  # fmt: skip
                self._add(p, "website", at, identify)
            if i >= login_after and rng.random() < 0.5:
                name, path = rng.choice(ACCOUNT_PAGES)
            elif help_page and i == 0:
                name, path = WEB_PAGES[rng.choice((5, 6, 4))]
            else:
                name, path = rng.choice(WEB_PAGES)
            event: Event = {"type": "page", "anonymousId": device, "name": name,
                            "properties": {"path": f"/{prefix}{path}", "title": name,
                                           "url": f"https://vistula.pl/{prefix}{path}"},
                            "context": context}  # fmt: skip
            if i >= login_after:
                event["userId"] = p.user_id
            self._add(p, "website", at, event)
            at += rng.randint(15_000, 240_000)
        return at

    def web_order(self, p: Persona, at: int, device: str) -> int:
        """A prospect orders online: checkout page, alias of the browser id, identify, order."""
        self._orders += 1
        context = {"locale": p.locale}
        page = {"type": "page", "anonymousId": device, "name": "Checkout",
                "properties": {"path": "/zamowienie", "title": "Checkout"}, "context": context}
        self._add(p, "website", at, page)
        at += self.rng.randint(2, 8) * MINUTE
        alias = {"type": "alias", "previousId": device, "userId": p.user_id, "context": context}
        self._add(p, "website", at, alias)
        identify = {"type": "identify", "userId": p.user_id, "anonymousId": device,
                    "traits": self._account_traits(p), "context": context}  # fmt: skip
        self._add(p, "website", at + 500, identify)
        props = {"order_id": f"ORD-{self._orders:06d}", "plan": p.plan,
                 "revenue": p.monthly_fee, "currency": "PLN"}  # fmt: skip
        order = self._track("Order Completed", props, user=p.user_id, anon=device, context=context)
        self._add(p, "website", at + 1500, order)
        return at + 2000

    def app_session(self, p: Persona, at: int) -> int:
        rng = self.rng
        assert p.app_device is not None
        context = {"locale": p.locale, "app": {"name": "Mój Vistula", "version": "5.12.0"}}
        if p.app_device not in self._app_known:
            self._app_known.add(p.app_device)
            identify = {"type": "identify", "userId": p.user_id, "anonymousId": p.app_device,
                        "traits": self._account_traits(p), "context": context}  # fmt: skip
            self._add(p, "mobile-app", at, identify)
            at += 3000
        for _ in range(rng.randint(1, 3)):
            name = rng.choice(APP_SCREENS)
            screen = {"type": "screen", "userId": p.user_id, "anonymousId": p.app_device,
                      "name": name, "properties": {}, "context": context}  # fmt: skip
            self._add(p, "mobile-app", at, screen)
            at += rng.randint(5_000, 90_000)
            if name == "Usage":
                props = {"used_gb": round(rng.uniform(0.5, 40), 1), "limit_gb": 50}
                usage = self._track("Data Usage Checked", props, user=p.user_id,
                                    anon=p.app_device, context=context)  # fmt: skip
                self._add(p, "mobile-app", at, usage)
        return at

    def app_track(self, p: Persona, at: int, name: str, props: dict[str, Any]) -> int:
        assert p.app_device is not None
        context = {"locale": p.locale, "app": {"name": "Mój Vistula", "version": "5.12.0"}}
        self._add(p, "mobile-app", at, self._track(name, props, user=p.user_id,
                                                    anon=p.app_device, context=context))
        return at + 1000

    def addon_purchase(self, p: Persona, at: int, addon: str, where: str) -> int:
        props = {"addon": addon, "price": ADDONS[addon], "currency": "PLN"}
        if where == "mobile-app" and p.app_device:
            at = self.app_session(p, at)
            return self.app_track(p, at, "Add-on Purchased", props)
        if where == "branches":
            at = self.branch_visit(p, at, purchase=(addon, ADDONS[addon]))
        device = p.web_devices[0]
        if where == "website":
            at = self.web_session(p, at, device, login=True)
        event = self._track("Add-on Purchased", props, user=p.user_id,
                            anon=device if where == "website" else None)  # fmt: skip
        self._add(p, where, at, event)
        return at + 1000

    # written channels ----------------------------------------------------------------------
    def email(self, p: Persona, at: int, topic: str, *, address: str | None = None) -> int:
        rng = self.rng
        address = address or p.email
        core = self.say(p, topic)
        body = texts.email_body(rng, core, p.language, self._slots(p))
        written = address if rng.random() < 0.8 else rng.choice((address.title(), f" {address} "))
        context = {"traits": {"email": written, "name": p.name}, "locale": p.locale}
        props = {"subject": core.split(".")[0][:70], "text": body, "mailbox": "pomoc@vistula.pl"}
        anon = f"email:{address}"
        self._add(p, "email-support", at, self._track("Email Received", props, anon=anon,
                                                      context=context), topic)  # fmt: skip
        at += rng.randint(2, 72) * HOUR
        reply = {"agent": rng.choice(notes.CALL_AGENTS),
                 "department": notes.TOPIC_DEPARTMENT.get(topic, "Obsługa klienta")}
        self._add(p, "email-support", at, self._track("Email Answered", reply, anon=anon,
                                                      context={"traits": {"email": address}}))
        return at

    def chat(self, p: Persona, at: int, topic: str, *, address: str | None = None,
             widget: str | None = None) -> int:  # fmt: skip
        """A chat; ``widget`` is the chat widget's visitor id (default: the customer's usual)."""
        rng = self.rng
        anon = widget or p.chat_id
        context = {"traits": {"email": address or p.email, "name": p.name}, "locale": p.locale}
        start = self._track("Chat Started", {"page": "/kontakt"}, anon=anon, context=context)
        self._add(p, "live-chat", at, start)
        at += rng.randint(2, 25) * MINUTE
        text = notes.chat_transcript(rng, topic, p.language, self._slots(p))
        props = {"text": text, "agent": rng.choice(notes.CHAT_AGENTS),
                 "duration_s": rng.randint(120, 1500)}  # fmt: skip
        self._add(p, "live-chat", at, self._track("Chat Transcript", props, anon=anon,
                                                  context=context), topic)  # fmt: skip
        return at

    def social_post(self, p: Persona, at: int, topic: str, *,
                    share_email: bool) -> tuple[int, bool]:  # fmt: skip
        """A post about ``topic``; returns (end time, whether the e-mail was shared)."""
        rng = self.rng
        assert p.social_handle is not None
        anon = f"social:{p.social_handle}"
        external = [{"id": p.social_handle, "type": "social_handle", "collection": "users",
                     "encoding": "none"}]  # fmt: skip
        context = {"externalIds": external, "locale": p.locale,
                   "traits": {"name": p.name, "username": p.social_handle}}  # fmt: skip
        text = texts.social_post(rng, self.say(p, topic), p.language)
        props = {"platform": p.social_platform, "text": text,
                 "url": f"https://{p.social_platform}.com/{p.social_handle}/{rng.getrandbits(40)}"}
        self._add(p, "social", at, self._track("Social Post", props, anon=anon, context=context),
                  topic)  # fmt: skip
        shared = False
        if share_email:
            # The community team asks for the e-mail in a private message: the only link.
            at += rng.randint(1, 6) * HOUR
            identify = {"type": "identify", "anonymousId": anon,
                        "traits": {"email": p.email, "name": p.name},
                        "context": {"externalIds": external}}  # fmt: skip
            shared = self.rec.add(p, "social", at, identify)
        return at, shared

    def sms(self, p: Persona, at: int, campaign: str, *, reply_topic: str | None = None) -> int:
        # The SMS gateway keys everything by the E.164 number it sends to.
        context = {"traits": {"phone": self.rec.phone_as_is(p.phone)}}
        anon = f"sms:{p.phone}"
        self._add(p, "sms", at, self._track("SMS Sent", {"campaign": campaign}, anon=anon,
                                            context=context))  # fmt: skip
        if reply_topic:
            at += self.rng.randint(5, 300) * MINUTE
            props = {"text": self.say(p, reply_topic), "campaign": campaign}
            self._add(p, "sms", at, self._track("SMS Received", props, anon=anon,
                                                context=context), reply_topic)  # fmt: skip
        return at

    def survey(self, p: Persona, at: int, *, kind: str, score: int, comment: bool) -> int:
        props: dict[str, Any] = {"survey": "relationship_nps" if kind == "nps" else "contact_csat"}
        props[kind] = score
        mood = None
        if comment:
            good = score >= 9 if kind == "nps" else score >= 4
            bad = score <= 6 if kind == "nps" else score <= 2
            mood = "positive" if good else "negative" if bad else "neutral"
            props["text"] = texts.survey_comment(self.rng, mood, p.language)
        event = self._track("Survey Answered", props, user=p.user_id,
                            context={"locale": p.locale})  # fmt: skip
        self._add(p, "surveys", at, event, "survey" if mood else None, mood)
        return at

    # voice ---------------------------------------------------------------------------------
    def ivr(self, p: Persona, at: int, *, phone: str | None = None, ask_data: bool = False,
            menu: str = "internet") -> int:  # fmt: skip
        rng = self.rng
        self._calls += 1
        anon = f"ivr:{self._calls}"
        context = {"traits": {"phone": self.rec.phone(rng, phone or p.phone)}}
        props = {"menu_path": ["1 - " + menu, str(rng.randint(1, 4))],
                 "duration_s": rng.randint(40, 400)}  # fmt: skip
        self._add(p, "ivr", at, self._track("IVR Call", props, anon=anon, context=context))
        if ask_data:
            at += rng.randint(20, 90) * 1000
            fields = {"fields": rng.sample(IDENTITY_FIELDS, rng.randint(2, 3))}
            if "customer_number" not in fields["fields"]:
                fields["fields"][0] = "customer_number"
            self._add(p, "ivr", at, self._track("Data Requested", fields, anon=anon,
                                                context=context))  # fmt: skip
            at += rng.randint(20, 60) * 1000
            verified = {"method": rng.choice(("customer_number", "pin"))}
            self._add(p, "ivr", at, self._track("Identity Verified", verified, anon=anon,
                                                context=context))  # fmt: skip
        return at + rng.randint(30, 120) * 1000

    def call(self, p: Persona, at: int, topic: str, *, phone: str | None = None,
             ask_data: bool = False, transfer_to: str | None = None,
             case_ref: str | None = None) -> int:  # fmt: skip
        rng = self.rng
        self._calls += 1
        anon = f"call:{self._calls}"
        context = {"traits": {"phone": self.rec.phone(rng, phone or p.phone)}}
        department = notes.TOPIC_DEPARTMENT.get(topic, "Obsługa klienta")
        started = {"queue": department, "wait_s": rng.randint(10, 1800)}
        self._add(p, "call-centre", at, self._track("Call Started", started, anon=anon,
                                                    context=context))  # fmt: skip
        at += started["wait_s"] * 1000
        if ask_data:
            fields = {"fields": ["customer_number", "address"] + rng.sample(["date_of_birth",
                      "contract_number"], rng.randint(0, 1))}  # fmt: skip
            self._add(p, "call-centre", at + 30_000, self._track(
                "Data Requested", fields, anon=anon, context=context))  # fmt: skip
        at += rng.randint(2, 25) * MINUTE
        props: dict[str, Any] = {
            "text": notes.call_note(rng, topic, p.language, self._slots(p)),
            "agent": rng.choice(notes.CALL_AGENTS), "department": department,
            "duration_s": rng.randint(120, 1500),
        }  # fmt: skip
        if case_ref:
            props["case_ref"] = case_ref
        self._add(p, "call-centre", at, self._track("Call Handled", props, anon=anon,
                                                    context=context), topic, author="staff")  # fmt: skip
        if transfer_to:
            at += rng.randint(20, 120) * 1000
            moved = {"from_department": department, "to_department": transfer_to}
            self._add(p, "call-centre", at, self._track("Call Transferred", moved, anon=anon,
                                                        context=context))  # fmt: skip
        return at + MINUTE

    # places --------------------------------------------------------------------------------
    def branch_visit(self, p: Persona, at: int, *, issue: str | None = None,
                     purchase: tuple[str, int] | None = None,
                     case_ref: str | None = None) -> int:  # fmt: skip
        rng = self.rng
        context = {"traits": {"phone": self.rec.phone(rng, p.phone), "name": p.name_latin}}
        branch = {"branch": f"Salon {rng.choice(texts.SHOPS)}", "city": p.city}
        self._add(p, "branches", at, self._track("Branch Visit", branch, user=p.user_id,
                                                 context=context))  # fmt: skip
        at += rng.randint(5, 30) * MINUTE
        if issue:
            props: dict[str, Any] = {"text": self.say(p, issue), **branch}
            if case_ref:
                props["case_ref"] = case_ref
            self._add(p, "branches", at, self._track("Issue Reported", props, user=p.user_id,
                                                     context=context), issue)  # fmt: skip
            at += rng.randint(2, 10) * MINUTE
        if purchase:
            product, price = purchase
            props = {"product": product, "price": price, "currency": "PLN", **branch}
            self._add(p, "branches", at, self._track("Purchase Completed", props,
                                                     user=p.user_id, context=context))
        return at + MINUTE

    def technician(self, p: Persona, at: int, *, ask_data: bool = False,
                   case_ref: str | None = None, install: bool = False) -> int:  # fmt: skip
        rng = self.rng
        visit: dict[str, Any] = {"technician": rng.choice(texts.TECHNICIANS),
                                 "address": written_address(rng, p), "city": p.city,
                                 "work_order": f"WO-{rng.randint(100000, 999999)}"}  # fmt: skip
        if case_ref:
            visit["case_ref"] = case_ref
        self._add(p, "field-service", at, self._track("Technician Visit", visit, user=p.user_id))
        at += rng.randint(5, 20) * MINUTE
        if ask_data:
            fields = {"fields": ["customer_number", "address", "contract_number"]}
            self._add(p, "field-service", at, self._track("Data Requested", fields,
                                                          user=p.user_id))  # fmt: skip
        at += rng.randint(30, 150) * MINUTE
        if install:
            done = self._track("Installation Completed", {"work_order": visit["work_order"]},
                               user=p.user_id)  # fmt: skip
            self._add(p, "field-service", at, done)
            return at
        props = {"text": notes.repair_note(rng, p.language, self._slots(p)),
                 "work_order": visit["work_order"]}  # fmt: skip
        self._add(p, "field-service", at, self._track("Repair Completed", props, user=p.user_id),
                  "repair", "neutral", "staff")  # fmt: skip
        return at

    def billing(self, p: Persona, at: int, name: str, props: dict[str, Any], *,
                email: str | None = None) -> int:  # fmt: skip
        context = {"traits": {"email": email}} if email else None
        self._add(p, "billing", at, self._track(name, props, user=p.user_id, context=context))
        return at + 1000

    def field_event(self, p: Persona, at: int, name: str, props: dict[str, Any]) -> int:
        self._add(p, "field-service", at, self._track(name, props, user=p.user_id))
        return at + 1000

    def household(self, p: Persona, at: int, group_id: str) -> int:
        group = {"type": "group", "userId": p.user_id, "groupId": group_id,
                 "traits": {"name": f"Household {p.last_latin}", "plan": "Rodzina"}}  # fmt: skip
        self._add(p, "billing", at, group)
        return at + 1000
