"""One customer's year with the demo company, from first mention to loyalty or churn.

Stages, as the events show them: first mention (an anonymous social post or web visit),
engagement (offer pages, a chat question), purchase (``Order Completed`` or ``Purchase
Completed``), onboarding (``Installation Completed``, ``Onboarding Completed``), use (app and
web sessions, invoices), support (incidents over several channels), loyalty (``Contract
Renewed``, ``Loyalty Reward Redeemed``), churn (``Subscription Cancelled``) and win-back.
Support (incidents, the broken journey, the effort they cost and the surveys after them) is
in :mod:`cxm.demo.support`.
"""

from __future__ import annotations

import random
import time

from cxm.demo.effort import nps_score
from cxm.demo.population import INTERNET_PLANS
from cxm.demo.recorder import DAY, HOUR, MINUTE
from cxm.demo.support import CustomerSupport
from cxm.demo.touchpoints import ADDONS

# Customers who report a problem buy the matching add-on far more often (the analytics demo).
ADDON_AFFINITY = {
    "slow_speed": "Wi-Fi Booster",
    "roaming_charges": "Roaming Pack World",
    "device_problem": "Device Insurance",
    "outage": "Extra Data 10 GB",
}
AFFINITY_PURCHASE_RATE = 0.45
# The marketing team acted on it: a Wi-Fi Booster offer to customers who reported slow
# internet, with a random holdout, logged by its e-mail tool (the uplift demo).
CAMPAIGN = "wifi-booster-offer"
CAMPAIGN_ADDON = "Wi-Fi Booster"
CAMPAIGN_HOLDOUT = 0.25
CAMPAIGN_EXTRA_RATE = 0.5  # of treated customers who had not bought: buy after the offer
CAMPAIGN_FIRST_DAY, CAMPAIGN_LAST_DAY = 330, 40  # days before the end the offers went out
MARKETING_CONSENT_RATE = 0.6  # customers who agreed to receive offers
BASELINE_ADDONS_PER_YEAR = 0.25
# The planted anomaly (cxm.insights.watch must find it): a fibre cut in Kraków.
OUTAGE_CITY = "Kraków"
OUTAGE_DAYS_BEFORE_END = 3
OUTAGE_REPORT_RATE = 0.5
GENERIC_TOPICS = ("billing_error", "price_mismatch", "question", "praise")


class CustomerYear(CustomerSupport):
    """Plans and writes all of one customer's events inside ``[start_ms, end_ms)``."""

    # the year ------------------------------------------------------------------------------
    def live(self) -> None:
        p = self.p
        self.marketing_consent()
        if p.join_ms is not None:
            self.acquire(p.join_ms)
        elif self.rng.random() < 0.15:
            self.loyalty()
        if p.household:
            self.tp.household(p, self.active[0][0] + HOUR, p.household)
        if p.broken_journey:
            self.broken_journey()
        if p.churn_ms is not None:
            self.churn(p.churn_ms)
        self.invoices()
        self.web_and_app()
        for at in self._poisson_times(0.4 + 1.2 * len(p.issues)):
            issues = p.issues if p.issues and self.rng.random() < 0.85 else GENERIC_TOPICS
            topic = self.rng.choice(issues)
            at = self.incident(at, topic)
            addon = ADDON_AFFINITY.get(topic)
            bought = False
            if addon and self.rng.random() < AFFINITY_PURCHASE_RATE:
                self.buy_addon(self._later(at, 1, 20), addon)
                bought = True
            if topic == "slow_speed":
                self.campaign_offer(at, bought)
        for at in self._poisson_times(BASELINE_ADDONS_PER_YEAR):
            self.buy_addon(at, self.rng.choice(self._addons()))
        for at in self._poisson_times(0.5):
            sale = ("iPhone 16", 4299) if self.rng.random() < 0.3 else None
            self.tp.branch_visit(p, self._daytime(at, 8, 18), purchase=sale)
        if p.social_handle:
            chatter = ("praise", "question", "technician_praise" if p.speed else "praise")
            for at in self._poisson_times(0.8):
                self.social(at, self.rng.choice(chatter))
        for at in self._poisson_times(0.8):
            self.nps(at)
        self.upgrade()
        self.quirk()
        self.outage()

    def outage(self) -> None:
        """The planted anomaly: a fibre cut in one city, days before the end of the year; half
        of the city's internet customers report it that day (the anomaly watch must alert on
        it). Its own random stream, and the customer's last plans, so nothing else moves."""
        p = self.p
        if p.city != OUTAGE_CITY or "internet" not in p.services:
            return
        day = self.end_ms - OUTAGE_DAYS_BEFORE_END * DAY
        day -= day % DAY
        if not any(lo <= day < hi for lo, hi in self.active):
            return
        rng = random.Random(f"demo-outage:{p.key}")
        if rng.random() < OUTAGE_REPORT_RATE:
            self.incident(day + rng.randint(7 * HOUR, 20 * HOUR), "outage")

    def marketing_consent(self) -> None:
        """Most customers agreed to offers when they signed up (the campaign needs it)."""
        if self.campaign_rng.random() < MARKETING_CONSENT_RATE:
            self.consented = True
            at = self.active[0][0] + HOUR
            self.tp.marketing(self.p, at, "Consent Given", {"purpose": "marketing"},
                              source="website")  # fmt: skip

    def campaign_offer(self, at: int, bought: bool) -> None:
        """The Wi-Fi Booster offer, three days after a slow-internet report in the campaign's
        months, once per customer: a quarter are held out at random; of the others who had
        not bought the booster, some buy it within two weeks of the offer. Its own random
        stream, so the rest of the company stays as it was."""
        rng = self.campaign_rng
        send = at + 3 * DAY
        if (
            self.campaigned
            or not self.consented
            or not (
                self.end_ms - CAMPAIGN_FIRST_DAY * DAY
                <= send
                <= self.end_ms - CAMPAIGN_LAST_DAY * DAY
            )
        ):
            return
        self.campaigned = True
        group = "holdout" if rng.random() < CAMPAIGN_HOLDOUT else "treatment"
        self.tp.marketing(self.p, send, "Campaign Assigned", {"campaign": CAMPAIGN, "group": group})
        if group == "holdout":
            return
        offer = {
            "campaign": CAMPAIGN,
            "offer": f"{CAMPAIGN_ADDON} -50%",
            "subject": "Szybsze Wi-Fi",
        }
        self.tp.marketing(self.p, send + 60_000, "Offer Sent", offer)
        if not bought and rng.random() < CAMPAIGN_EXTRA_RATE:
            when = send + int(rng.uniform(1, 14) * DAY)
            bought_it = {"addon": CAMPAIGN_ADDON, "price": ADDONS[CAMPAIGN_ADDON],
                         "currency": "PLN", "campaign": CAMPAIGN}  # fmt: skip
            self.tp.marketing(self.p, when, "Add-on Purchased", bought_it, source="website")

    def loyalty(self) -> None:
        """A long-standing customer renews the contract and redeems the loyalty reward."""
        p = self.p
        renewals = self._poisson_times(1.0)
        if renewals:
            self.tp.billing(p, renewals[0], "Contract Renewed", {"plan": p.plan, "months": 24})
            if p.app_device:
                reward = {"reward": "Extra Data 10 GB"}
                self.tp.app_track(p, renewals[0] + DAY, "Loyalty Reward Redeemed", reward)

    def upgrade(self) -> None:
        """A faster home internet tier; those who find their line slow upgrade more often."""
        p = self.p
        tiers = [plan for plan, _, _ in INTERNET_PLANS]
        current = next(
            (i for i, (_, _, speed) in enumerate(INTERNET_PLANS) if speed == p.speed), -1
        )
        if current < 0 or current == len(tiers) - 1:
            return
        rate = 0.08 + (0.4 if "slow_speed" in p.issues else 0.0)
        moments = self._poisson_times(rate)
        if moments:
            change = {
                "from_plan": tiers[current],
                "to_plan": tiers[current + 1],
                "reason": "upgrade",
            }
            self.tp.billing(p, moments[0], "Plan Changed", change)

    def acquire(self, join: int) -> None:
        """First mention, engagement, purchase and onboarding of a customer who joins now."""
        tp, p, rng = self.tp, self.p, self.rng
        at = self._daytime(join - rng.randint(10, 30) * DAY)
        if p.social_handle and rng.random() < 0.5:
            at = self.social(at, "question")
        device = p.web_devices[0]
        for _ in range(rng.randint(1, 3)):
            at = tp.web_session(p, at, device, login=False) + rng.randint(1, 4) * DAY
        if rng.random() < 0.4:
            tp.chat(p, self._daytime(at - DAY), "question")
        if rng.random() < 0.3 + 0.5 * p.digital:
            at = tp.web_order(p, self._daytime(join), device)
        else:
            at = tp.branch_visit(p, self._daytime(join, 8, 18), purchase=(p.plan, p.monthly_fee))
        tp.billing(p, at + HOUR, "Subscription Started", {"plan": p.plan, "fee": p.monthly_fee})
        if "internet" in p.services:
            at = tp.technician(p, self._later(at, 2, 7), install=True)
        done = {"plan": p.plan, "steps": rng.randint(3, 6)}
        if p.app_device:
            at = tp.app_session(p, at + rng.randint(1, 48) * HOUR)
            tp.app_track(p, at, "Onboarding Completed", done)
        else:
            tp.billing(p, at + DAY, "Onboarding Completed", done)

    def invoices(self) -> None:
        p, rng = self.p, self.rng
        paper = rng.random() < 0.25
        for lo, hi in self.active:
            # The billing run goes out at night, on the customer's billing day each month.
            at = lo - lo % DAY + rng.randint(1, 28) * DAY + 2 * HOUR
            while at < hi:
                self.tp.invoice_count += 1
                month = time.strftime("%Y/%m", time.gmtime(at // 1000))
                props = {
                    "invoice_id": f"FV/{month}/{self.tp.invoice_count:07d}",
                    "amount": p.monthly_fee,
                    "currency": "PLN",
                    "plan": p.plan,
                }
                # E-invoices go to the account e-mail, so billing states it in context.traits.
                email = None if paper else p.email
                event_at = self.tp.billing(p, at, "Invoice Issued", props, email=email)
                if rng.random() < 0.04:
                    self.tp.billing(
                        p,
                        event_at + 14 * DAY,
                        "Payment Failed",
                        {"amount": p.monthly_fee, "reason": "insufficient_funds"},
                    )
                at += 30 * DAY

    def web_and_app(self) -> None:
        tp, p, rng = self.tp, self.p, self.rng
        sessions = self._poisson_times(1.5 + 6 * p.digital)
        planned = [(at, rng.choice(p.web_devices), rng.random() < 0.5) for at in sessions]
        # Every browser the customer uses logs in at least once, or it would stay a stranger.
        lo, hi = self.active[-1]
        for device in p.web_devices:
            own = [i for i, (_, d, _) in enumerate(planned) if d == device]
            if own and not any(planned[i][2] for i in own):
                at, _, _ = planned[own[-1]]
                planned[own[-1]] = (at, device, True)
            elif not own and hi - lo > DAY:
                planned.append((self._daytime(rng.randint(lo, hi - DAY)), device, True))
        for at, device, login in planned:
            tp.web_session(p, at, device, login=login, help_page=bool(p.issues))
        if p.app_device:
            for at in self._poisson_times(2 + 12 * p.digital):
                tp.app_session(p, at)

    # surveys and add-ons -------------------------------------------------------------------
    def nps(self, at: int) -> None:
        """The relationship NPS, lower for problems, the broken journey and effort so far."""
        p = self.p
        score = nps_score(
            self.answers,
            issues=len(p.issues),
            broken_journey=p.broken_journey,
            effort=self.effort_before(at),
        )
        self.survey(at, "nps", score)

    def _addons(self) -> list[str]:
        p = self.p
        choices = ["Extra Data 10 GB", "Roaming Pack EU+", "Device Insurance"]
        if "internet" in p.services:
            choices += ["Wi-Fi Booster", "Static IP"]
        if "tv" in p.services:
            choices.append("TV Sport Pack")
        return choices

    def buy_addon(self, at: int, addon: str) -> None:
        assert addon in ADDONS
        where = "mobile-app" if self.p.app_device and self.rng.random() < 0.6 else "website"
        if self.rng.random() < 0.2:
            where = "branches"
        self.tp.addon_purchase(self.p, at, addon, where)

    # churn and the hard cases --------------------------------------------------------------
    def churn(self, at: int) -> None:
        """Cancellation, then silence or a win-back offer (sometimes accepted)."""
        tp, p, rng = self.tp, self.p, self.rng
        if p.churn_driver == "billing_error":  # the wrong bill that was the last straw
            self.incident(self._daytime(at - rng.randint(12, 45) * DAY), "billing_error")
        channel = rng.choice(("phone", "email", "branch", "phone"))
        at = self.contact(channel, at - rng.randint(1, 5) * DAY, "cancellation")
        reason = rng.choice(("price", "service_quality", "moving", "competitor_offer"))
        if p.churn_driver is not None:
            reason = "service_quality" if p.churn_driver == "broken_journey" else "price"

        at = tp.billing(p, at + DAY, "Subscription Cancelled", {"plan": p.plan, "reason": reason})
        if rng.random() < 0.5:
            offer_at = self._later(at, 7, 40)
            tp.billing(p, offer_at, "Win-back Offer Sent", {"discount_pct": 30})
            tp.sms(p, offer_at + MINUTE, "winback")
            if rng.random() < 0.35:
                back = self._later(offer_at, 1, 10)
                tp.billing(p, back, "Win-back Accepted", {"plan": p.plan, "discount_pct": 30})
                change = {
                    "from_plan": p.plan,
                    "to_plan": p.plan,
                    "reason": "win_back",
                    "discount_pct": 30,
                }
                tp.billing(p, back + MINUTE, "Plan Changed", change)
                if back < self.end_ms:
                    self.active.append((back, self.end_ms))

    def quirk(self) -> None:
        """The events that make this customer impossible to link by the deterministic rules."""
        tp, p, rng = self.tp, self.p, self.rng
        lo, hi = self.active[-1]
        if p.quirk is None or hi - lo < 2 * DAY:
            return
        for _ in range(rng.randint(1, 2)):
            at = self._daytime(rng.randint(lo, hi - DAY))
            topic = rng.choice(p.issues or GENERIC_TOPICS[:2])
            if p.quirk == "social_only":
                tp.social_post(p, at, topic, share_email=False)
            elif p.quirk == "second_phone" and p.second_phone:
                at = tp.ivr(p, at, topic, phone=p.second_phone)
                tp.call(p, at, topic, phone=p.second_phone)
            elif p.alt_email:
                if rng.random() < 0.5:
                    tp.email(p, at, topic, address=p.alt_email)
                else:  # from another computer, so another chat visitor id too
                    widget = f"lc_{rng.getrandbits(48):012x}"
                    tp.chat(p, at, topic, address=p.alt_email, widget=widget)
