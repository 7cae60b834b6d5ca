"""What the demo company's staff write: call notes, technician reports, chat replies.

Agents serve customers in the customer's language (Vistula has Russian- and English-speaking
desks), so notes follow the customer's language like the customer's own texts do.
"""

from __future__ import annotations

import random
from collections.abc import Mapping

from cxm.demo.texts import customer_text, fill

CALL_NOTES: dict[str, dict[str, str]] = {
    "pl": {
        "billing_error": "Klient zgłasza błędnie naliczoną kwotę na fakturze {invoice} ({amount} zł zamiast {expected} zł). Przekazano do reklamacji.",  # noqa: E501
        "outage": "Klient zgłasza brak internetu od {days} dni. Zdalny reset portu bez efektu, zlecono wizytę technika.",  # noqa: E501
        "slow_speed": "Klient zgłasza niską prędkość ({speed} Mb/s przy pakiecie {paid} Mb/s). Test linii OK, zaproponowano Wi-Fi Booster.",  # noqa: E501
        "roaming_charges": "Klient kwestionuje opłaty roamingowe ({country}, {amount} zł). Wyjaśniono zasady, przyjęto reklamację.",  # noqa: E501
        "device_problem": "Klient zgłasza usterkę urządzenia {device}. Skierowano do salonu w celu przyjęcia na serwis.",  # noqa: E501
        "price_mismatch": "Klient wskazuje różnicę cen {product}: strona {web_price} zł, salon {shop_price} zł. Zgłoszono do działu sprzedaży.",  # noqa: E501
        "technician_praise": "Klient dzwoni z podziękowaniem dla technika {tech}.",
        "cancellation": "Klient chce rozwiązać umowę. Przedstawiono ofertę utrzymaniową, klient odmówił.",  # noqa: E501
        "repeated_questions": "Klient zdenerwowany, że musi ponownie podawać dane. Sprawę zgłaszał wcześniej w salonie.",  # noqa: E501
        "praise": "Klient zadowolony z obsługi, brak dalszych działań.",
        "question": "Klient pyta o ofertę {plan} i dostępność usług pod adresem {address}. Wysłano ofertę.",  # noqa: E501
    },
    "ru": {
        "billing_error": "Клиент сообщает о неверной сумме в счёте {invoice} ({amount} злотых вместо {expected}). Передано в отдел рекламаций.",  # noqa: E501
        "outage": "Клиент сообщает, что интернета нет уже {ndays}. Удалённый сброс порта не помог, назначен выезд техника.",  # noqa: E501
        "slow_speed": "Клиент жалуется на низкую скорость ({speed} Мбит/с при тарифе {paid} Мбит/с). Линия в норме, предложен Wi-Fi Booster.",  # noqa: E501
        "roaming_charges": "Клиент оспаривает плату за роуминг ({country}, {amount} злотых). Объяснены правила, принята рекламация.",  # noqa: E501
        "device_problem": "Клиент сообщает о неисправности устройства {device}. Направлен в салон для сдачи в сервис.",  # noqa: E501
        "price_mismatch": "Клиент указывает на разницу цен на {product}: сайт {web_price} злотых, салон {shop_price} злотых. Передано в отдел продаж.",  # noqa: E501
        "technician_praise": "Клиент звонит поблагодарить техника {tech}.",
        "cancellation": "Клиент хочет расторгнуть договор. Предложено удерживающее предложение, клиент отказался.",  # noqa: E501
        "repeated_questions": "Клиент раздражён, что снова должен называть свои данные. Ранее обращался в салон.",  # noqa: E501
        "praise": "Клиент доволен обслуживанием, дальнейших действий не требуется.",
        "question": "Клиент спрашивает о тарифе {plan} и доступности услуг по адресу {address}. Предложение отправлено.",  # noqa: E501
    },
    "en": {
        "billing_error": "Customer reports a wrong amount on invoice {invoice} ({amount} PLN instead of {expected} PLN). Passed to complaints.",  # noqa: E501
        "outage": "Customer reports no internet for {days} days. Remote port reset did not help, technician visit booked.",  # noqa: E501
        "slow_speed": "Customer reports low speed ({speed} Mbps on a {paid} Mbps plan). Line test OK, offered the Wi-Fi Booster.",  # noqa: E501
        "roaming_charges": "Customer disputes roaming charges ({country}, {amount} PLN). Explained the rules, complaint logged.",  # noqa: E501
        "device_problem": "Customer reports a fault with their {device}. Sent to a shop to hand it in for repair.",  # noqa: E501
        "price_mismatch": "Customer points out a price difference for the {product}: website {web_price} PLN, shop {shop_price} PLN. Escalated to sales.",  # noqa: E501
        "technician_praise": "Customer calls to thank technician {tech}.",
        "cancellation": "Customer wants to cancel. Presented the retention offer, customer declined.",  # noqa: E501
        "repeated_questions": "Customer upset about having to give their details again. Already reported it at a shop.",  # noqa: E501
        "praise": "Customer happy with the service, no further action.",
        "question": "Customer asks about {plan} and availability at {address}. Offer sent.",
    },
}

REPAIR_NOTES = {
    "pl": (
        "Wymieniono router na {router}, pomiar prędkości {paid} Mb/s. Usterka usunięta.",
        "Uszkodzone złącze w skrzynce na klatce schodowej, wymieniono. Internet działa.",
        "Zmieniono kanał Wi-Fi i zamontowano wzmacniacz, zasięg w całym mieszkaniu OK.",
        "Zalana puszka przyłączeniowa, wymieniono okablowanie. Klient poinformowany.",
    ),
    "ru": (
        "Роутер заменён на {router}, измеренная скорость {paid} Мбит/с. Неисправность устранена.",
        "Повреждённый разъём в щитке на лестничной клетке заменён. Интернет работает.",
        "Изменён канал Wi-Fi, установлен усилитель, покрытие во всей квартире в норме.",
        "Залита соединительная коробка, проводка заменена. Клиент проинформирован.",
    ),
    "en": (
        "Replaced the router with a {router}, measured {paid} Mbps. Fault cleared.",
        "Damaged connector in the stairwell cabinet, replaced. Internet working.",
        "Changed the Wi-Fi channel and fitted an extender, coverage fine in the whole flat.",
        "Water in the junction box, rewired. Customer informed.",
    ),
}

CHAT_REPLIES = {  # by what the chat is about: billing, technical, sales, anything else
    "pl": {
        "billing": (
            "Dzień dobry, z tej strony {agent}. Widzę błąd po naszej stronie, korekta pojawi się na następnej fakturze.",  # noqa: E501
            "Dziękuję, {agent} z tej strony. Przekazałam reklamację do działu rozliczeń, odpowiedź w ciągu 14 dni.",  # noqa: E501
        ),
        "technical": (
            "Dzień dobry, z tej strony {agent}. Widzę zgłoszoną awarię w Pani/Pana okolicy, technicy już nad nią pracują.",  # noqa: E501
            "Przepraszam za kłopot, zleciłam test linii i przekazałam zgłoszenie do działu technicznego.",  # noqa: E501
        ),
        "sales": (
            "Dzień dobry, z tej strony {agent}. Tak, usługa jest dostępna, wysyłam ofertę na e-mail.",  # noqa: E501
            "Oczywiście, przeniesienie numeru jest bezpłatne i trwa jeden dzień roboczy.",
        ),
        "other": (
            "Dzień dobry, z tej strony {agent}. Dziękuję za wiadomość, przekażę ją zespołowi.",
            "Dziękujemy za miłe słowa, pozdrawiamy serdecznie!",
        ),
    },
    "ru": {
        "billing": (
            "Здравствуйте, меня зовут {agent}. Вижу ошибку с нашей стороны, корректировка появится в следующем счёте.",  # noqa: E501
            "Спасибо, это {agent}. Я передала рекламацию в отдел расчётов, ответ в течение 14 дней.",  # noqa: E501
        ),
        "technical": (
            "Здравствуйте, меня зовут {agent}. В вашем районе зарегистрирована авария, техники уже работают.",  # noqa: E501
            "Извините за неудобства, я запустила проверку линии и передала заявку в технический отдел.",  # noqa: E501
        ),
        "sales": (
            "Здравствуйте, меня зовут {agent}. Да, услуга доступна, отправляю предложение на e-mail.",  # noqa: E501
            "Конечно, перенос номера бесплатный и занимает один рабочий день.",
        ),
        "other": (
            "Здравствуйте, меня зовут {agent}. Спасибо за сообщение, передам его команде.",
            "Спасибо за добрые слова!",
        ),
    },
    "en": {
        "billing": (
            "Hi, this is {agent}. I can see the mistake on our side, the correction will show on your next invoice.",  # noqa: E501
            "Thanks, {agent} here. I've passed your complaint to billing, you'll hear back within 14 days.",  # noqa: E501
        ),
        "technical": (
            "Hi, this is {agent}. There's a known fault in your area and our technicians are on it.",  # noqa: E501
            "Sorry for the trouble, I've run a line test and passed your ticket to the technical team.",  # noqa: E501
        ),
        "sales": (
            "Hi, this is {agent}. Yes, it's available at your address, I'm sending the offer by e-mail.",  # noqa: E501
            "Of course, moving your number is free and takes one working day.",
        ),
        "other": (
            "Hi, this is {agent}. Thanks for your message, I'll pass it on to the team.",
            "Thank you for the kind words!",
        ),
    },
}
REPLY_KIND = {
    "billing_error": "billing", "roaming_charges": "billing", "price_mismatch": "billing",
    "cancellation": "billing", "outage": "technical", "slow_speed": "technical",
    "device_problem": "technical", "repeated_questions": "technical", "question": "sales",
}  # fmt: skip
CHAT_CLOSINGS = {
    "pl": (
        "Dziękuję.",
        "Ok, czekam.",
        "To już kolejny raz, mam nadzieję, że tym razem się uda.",
        "Super, dzięki!",
    ),  # noqa: E501
    "ru": (
        "Спасибо.",
        "Хорошо, жду.",
        "Это уже не первый раз, надеюсь, теперь получится.",
        "Отлично, спасибо!",
    ),  # noqa: E501
    "en": (
        "Thanks.",
        "OK, I'll wait.",
        "This isn't the first time, hope it works this time.",
        "Great, thanks!",
    ),  # noqa: E501
}
SPEAKERS = {
    "pl": ("Klient", "Konsultant"),
    "ru": ("Клиент", "Оператор"),
    "en": ("Customer", "Agent"),
}
CHAT_AGENTS = ("Kasia", "Ola", "Magda", "Ania", "Natalia", "Basia")
CALL_AGENTS = ("A. Nowicka", "M. Lis", "K. Górecki", "J. Pawlak", "E. Sobczak", "P. Marciniak")
TOPIC_DEPARTMENT = {
    "billing_error": "Rozliczenia", "outage": "Wsparcie techniczne", "slow_speed": "Wsparcie techniczne",  # noqa: E501
    "roaming_charges": "Rozliczenia", "device_problem": "Wsparcie techniczne",
    "price_mismatch": "Reklamacje", "cancellation": "Retencja",
}  # fmt: skip


def call_note(rng: random.Random, topic: str, language: str, slots: Mapping[str, str]) -> str:
    """An agent's note on a call about ``topic``."""
    return fill(rng, CALL_NOTES[language][topic], language, slots)


def repair_note(rng: random.Random, language: str, slots: Mapping[str, str]) -> str:
    return fill(rng, rng.choice(REPAIR_NOTES[language]), language, slots)


def chat_transcript(
    rng: random.Random, topic: str, language: str, slots: Mapping[str, str], *, agent: str
) -> str:
    """A short chat: the customer's message, the agent's answer, the customer's last word."""
    customer_label, agent_label = SPEAKERS[language]
    opening = customer_text(rng, topic, language, slots)
    replies = CHAT_REPLIES[language][REPLY_KIND.get(topic, "other")]
    reply = fill(rng, rng.choice(replies), language, {"agent": agent})
    closing = rng.choice(CHAT_CLOSINGS[language])
    return f"{customer_label}: {opening}\n{agent_label}: {reply}\n{customer_label}: {closing}"
