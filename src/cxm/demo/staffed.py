"""The staffed channels of the demo company: support mailbox, chat, IVR, call centre, branches,
field service and billing, each writing events as that silo would record them.

Each silo knows the customer by what it sees: the mailbox by an address, the call centre by a
caller number typed in whatever format, the branch and billing systems by the account id.
Methods take a start time (epoch ms) and return the time the interaction ended, so the
lifecycle can chain them into journeys.
"""

from __future__ import annotations

import random
import time
from typing import Any

from cxm.demo import notes, texts
from cxm.demo.people import Persona, written_address
from cxm.demo.recorder import HOUR, MINUTE, Event, EventRecorder

IVR_MENUS = {
    "billing_error": ("1 - faktury i płatności", "2 - reklamacja faktury"),
    "roaming_charges": ("1 - faktury i płatności", "3 - roaming"),
    "outage": ("2 - internet i telewizja", "1 - awaria"),
    "slow_speed": ("2 - internet i telewizja", "2 - jakość połączenia"),
    "device_problem": ("3 - urządzenia", "1 - serwis"),
    "cancellation": ("4 - umowa", "2 - rozwiązanie umowy"),
    "other": ("9 - konsultant",),
}
IDENTITY_FIELDS = ("customer_number", "address", "date_of_birth", "pesel_last_digits")


class StaffedTouchpoints:
    """Writes staffed interactions into ``recorder``; all randomness comes from ``rng``."""

    def __init__(self, *, rng: random.Random, recorder: EventRecorder) -> None:
        self.rng = rng
        self.rec = recorder
        self.invoice_count = 0
        self._calls = 0
        self._cases = 0

    # helpers -------------------------------------------------------------------------------
    def _add(
        self,
        p: Persona,
        source: str,
        at: int,
        event: Event,
        topic: str | None = None,
        mood: str | None = None,
        author: str = "customer",
    ) -> None:
        label = None
        if topic is not None:
            if mood is None:
                mood = texts.sentiment_of(topic)
            label = {"topic": topic, "language": p.language, "sentiment": mood, "author": author}
        self.rec.add(p, source, at, event, label=label)

    def _slots(self, p: Persona) -> dict[str, str]:
        return texts.persona_slots(
            language=p.language,
            gender=p.gender,
            first=p.first_name,
            name=p.name,
            address=p.address,
            city=p.city,
            paid=p.speed,
            plan=p.plan,
        )

    def say(self, p: Persona, topic: str, *, social: bool = False) -> str:
        """What ``p`` says about ``topic``, in their language."""
        return texts.customer_text(self.rng, topic, p.language, self._slots(p), social=social)

    def new_case_ref(self, at: int) -> str:
        self._cases += 1
        return f"CASE-{time.gmtime(at // 1000).tm_year}-{self._cases:05d}"

    def _account_traits(self, p: Persona) -> dict[str, Any]:
        # Account systems hold the contract's Latin-script name, contact, address and birth date.
        return {
            "email": p.email,
            "phone": self.rec.phone(self.rng, p.phone),
            "name": p.name_latin,
            "firstName": p.first_latin,
            "lastName": p.last_latin,
            "address": p.street,
            "city": p.city,
            "postalCode": p.postal_code,
            "birthday": p.birth_date,
        }

    def _track(
        self,
        name: str,
        props: dict[str, Any],
        *,
        user: str | None = None,
        anon: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> Event:
        event: Event = {"type": "track", "event": name, "properties": props}
        if user:
            event["userId"] = user
        if anon:
            event["anonymousId"] = anon
        if context:
            event["context"] = context
        return event

    def email(self, p: Persona, at: int, topic: str, *, address: str | None = None) -> int:
        rng = self.rng
        address = address or p.email
        core = self.say(p, topic)
        body = texts.email_body(rng, core, p.language, self._slots(p))
        written = address if rng.random() < 0.8 else rng.choice((address.title(), f" {address} "))
        context = {"traits": {"email": written, "name": p.name}, "locale": p.locale}
        props = {"subject": core.split(".")[0][:70], "text": body, "mailbox": "pomoc@vistula.pl"}
        anon = f"email:{address}"
        self._add(
            p,
            "email-support",
            at,
            self._track("Email Received", props, anon=anon, context=context),
            topic,
        )
        at += rng.randint(2, 72) * HOUR
        reply = {
            "agent": rng.choice(notes.CALL_AGENTS),
            "department": notes.TOPIC_DEPARTMENT.get(topic, "Obsługa klienta"),
        }
        self._add(
            p,
            "email-support",
            at,
            self._track("Email Answered", reply, anon=anon, context={"traits": {"email": address}}),
        )
        return at

    def chat(
        self,
        p: Persona,
        at: int,
        topic: str,
        *,
        address: str | None = None,
        widget: str | None = None,
    ) -> int:
        """A chat; ``widget`` is the chat widget's visitor id (default: the customer's usual)."""
        rng = self.rng
        anon = widget or p.chat_id
        context = {"traits": {"email": address or p.email, "name": p.name}, "locale": p.locale}
        start = self._track("Chat Started", {"page": "/kontakt"}, anon=anon, context=context)
        self._add(p, "live-chat", at, start)
        at += rng.randint(2, 25) * MINUTE
        agent = rng.choice(notes.CHAT_AGENTS)
        text = notes.chat_transcript(rng, topic, p.language, self._slots(p), agent=agent)
        props = {"text": text, "agent": agent, "duration_s": rng.randint(120, 1500)}
        self._add(
            p,
            "live-chat",
            at,
            self._track("Chat Transcript", props, anon=anon, context=context),
            topic,
        )
        return at

    # voice ---------------------------------------------------------------------------------
    def ivr(
        self, p: Persona, at: int, topic: str, *, phone: str | None = None, ask_data: bool = False
    ) -> int:
        rng = self.rng
        self._calls += 1
        anon = f"ivr:{self._calls}"
        context = {"traits": {"phone": self.rec.phone(rng, phone or p.phone)}}
        menu = IVR_MENUS.get(topic, IVR_MENUS["other"])
        props = {"menu_path": list(menu), "duration_s": rng.randint(40, 400)}
        self._add(p, "ivr", at, self._track("IVR Call", props, anon=anon, context=context))
        if ask_data:
            at += rng.randint(20, 90) * 1000
            fields = {"fields": rng.sample(IDENTITY_FIELDS, rng.randint(2, 3))}
            if "customer_number" not in fields["fields"]:
                fields["fields"][0] = "customer_number"
            self._add(
                p, "ivr", at, self._track("Data Requested", fields, anon=anon, context=context)
            )
            at += rng.randint(20, 60) * 1000
            verified = {"method": rng.choice(("customer_number", "pin"))}
            self._add(
                p, "ivr", at, self._track("Identity Verified", verified, anon=anon, context=context)
            )
        return at + rng.randint(30, 120) * 1000

    def call(
        self,
        p: Persona,
        at: int,
        topic: str,
        *,
        phone: str | None = None,
        ask_data: bool = False,
        transfer_to: str | None = None,
        case_ref: str | None = None,
    ) -> int:
        rng = self.rng
        self._calls += 1
        anon = f"call:{self._calls}"
        context = {"traits": {"phone": self.rec.phone(rng, phone or p.phone)}}
        department = notes.TOPIC_DEPARTMENT.get(topic, "Obsługa klienta")
        wait_s = rng.randint(10, 1800)
        started = {"queue": department, "wait_s": wait_s}
        self._add(
            p, "call-centre", at, self._track("Call Started", started, anon=anon, context=context)
        )
        at += wait_s * 1000
        if ask_data:
            fields = {
                "fields": ["customer_number", "address"]
                + rng.sample(["date_of_birth", "contract_number"], rng.randint(0, 1))
            }
            self._add(
                p,
                "call-centre",
                at + 30_000,
                self._track("Data Requested", fields, anon=anon, context=context),
            )
        at += rng.randint(2, 25) * MINUTE
        # The agent verifies the caller: name (as Polish staff type it) and date of birth.
        context = {"traits": {**context["traits"], "name": p.name_latin, "birthday": p.birth_date}}
        props: dict[str, Any] = {
            "text": notes.call_note(rng, topic, p.language, self._slots(p)),
            "agent": rng.choice(notes.CALL_AGENTS),
            "department": department,
            "duration_s": rng.randint(120, 1500),
        }
        if case_ref:
            props["case_ref"] = case_ref
        self._add(
            p,
            "call-centre",
            at,
            self._track("Call Handled", props, anon=anon, context=context),
            topic,
            author="staff",
        )
        if transfer_to:
            at += rng.randint(20, 120) * 1000
            moved = {"from_department": department, "to_department": transfer_to}
            self._add(
                p,
                "call-centre",
                at,
                self._track("Call Transferred", moved, anon=anon, context=context),
            )
        return at + MINUTE

    # places --------------------------------------------------------------------------------
    def branch_visit(
        self,
        p: Persona,
        at: int,
        *,
        issue: str | None = None,
        purchase: tuple[str, int] | None = None,
        case_ref: str | None = None,
    ) -> int:
        rng = self.rng
        context = {"traits": {"phone": self.rec.phone(rng, p.phone), "name": p.name_latin}}
        branch = {"branch": f"Salon {rng.choice(texts.SHOPS)}", "city": p.city}
        self._add(
            p, "branches", at, self._track("Branch Visit", branch, user=p.user_id, context=context)
        )
        at += rng.randint(5, 30) * MINUTE
        if issue:
            props: dict[str, Any] = {"text": self.say(p, issue), **branch}
            if case_ref:
                props["case_ref"] = case_ref
            self._add(
                p,
                "branches",
                at,
                self._track("Issue Reported", props, user=p.user_id, context=context),
                issue,
            )
            at += rng.randint(2, 10) * MINUTE
        if purchase:
            product, price = purchase
            props = {"product": product, "price": price, "currency": "PLN", **branch}
            self._add(
                p,
                "branches",
                at,
                self._track("Purchase Completed", props, user=p.user_id, context=context),
            )
        return at + MINUTE

    def technician(
        self,
        p: Persona,
        at: int,
        *,
        ask_data: bool = False,
        case_ref: str | None = None,
        install: bool = False,
    ) -> int:
        rng = self.rng
        visit: dict[str, Any] = {
            "technician": rng.choice(texts.TECHNICIANS),
            "address": written_address(rng, p),
            "city": p.city,
            "work_order": f"WO-{rng.randint(100000, 999999)}",
        }
        if case_ref:
            visit["case_ref"] = case_ref
        self._add(p, "field-service", at, self._track("Technician Visit", visit, user=p.user_id))
        at += rng.randint(5, 20) * MINUTE
        if ask_data:
            fields = {"fields": ["customer_number", "address", "contract_number"]}
            self._add(p, "field-service", at, self._track("Data Requested", fields, user=p.user_id))
        at += rng.randint(30, 150) * MINUTE
        if install:
            done = self._track(
                "Installation Completed", {"work_order": visit["work_order"]}, user=p.user_id
            )
            self._add(p, "field-service", at, done)
            return at
        props = {
            "text": notes.repair_note(rng, p.language, self._slots(p)),
            "work_order": visit["work_order"],
        }
        self._add(
            p,
            "field-service",
            at,
            self._track("Repair Completed", props, user=p.user_id),
            "repair",
            "neutral",
            "staff",
        )
        return at

    def billing(
        self, p: Persona, at: int, name: str, props: dict[str, Any], *, email: str | None = None
    ) -> int:
        context = {"traits": {"email": email}} if email else None
        self._add(p, "billing", at, self._track(name, props, user=p.user_id, context=context))
        return at + 1000

    def field_event(self, p: Persona, at: int, name: str, props: dict[str, Any]) -> int:
        self._add(p, "field-service", at, self._track(name, props, user=p.user_id))
        return at + 1000

    def household(self, p: Persona, at: int, group_id: str) -> int:
        group = {
            "type": "group",
            "userId": p.user_id,
            "groupId": group_id,
            "traits": {"name": f"Household {p.last_latin}", "plan": "Rodzina"},
        }
        self._add(p, "billing", at, group)
        return at + 1000
