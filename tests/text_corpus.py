"""A small hand-written corpus for the text tests: three themes (billing, outage, praise) in
Polish, Russian and English, five texts each, independent of the demo's templates."""

from __future__ import annotations

THEMES: dict[str, dict[str, list[str]]] = {
    "billing": {
        "pl": [
            "Na fakturze za marzec naliczyliście mi dwa razy opłatę abonamentową.",
            "Rachunek jest o 40 zł wyższy niż w umowie, proszę o korektę faktury.",
            "Pobraliście ode mnie pieniądze za usługę, której nie zamawiałem. Chcę zwrotu.",
            "Znowu błędna faktura, płacę więcej niż powinienem za abonament.",
            "Dlaczego na rachunku jest opłata za SMS premium? Nie aktywowałam tego.",
        ],
        "ru": [
            "В счёте за март с меня дважды списали абонентскую плату.",
            "Счёт на 500 рублей больше, чем по договору, исправьте, пожалуйста.",
            "Списали деньги за услугу, которую я не заказывал. Верните деньги.",
            "Опять неправильный счёт, плачу больше, чем положено по тарифу.",
            "Почему в счёте платная подписка на SMS? Я её не подключала.",
        ],
        "en": [
            "My March invoice charged the monthly subscription fee twice.",
            "The bill is 10 pounds higher than my contract says, please correct the invoice.",
            "You took money for a service I never ordered. I want a refund.",
            "Wrong invoice again, I am paying more than my plan costs.",
            "Why is there a premium SMS charge on my bill? I never activated it.",
        ],
    },
    "outage": {
        "pl": [
            "Od trzech dni nie mam internetu, router świeci na czerwono.",
            "Internet ciągle się rozłącza, nie mogę pracować zdalnie.",
            "Awaria sieci od wczoraj, nie działa ani internet, ani telewizja.",
            "Brak zasięgu i internetu w całym domu od rana.",
            "Kiedy naprawicie awarię? Internet nie działa od weekendu.",
        ],
        "ru": [
            "Третий день нет интернета, роутер горит красным.",
            "Интернет постоянно отключается, не могу работать из дома.",
            "Со вчерашнего дня авария: не работает ни интернет, ни телевидение.",
            "С утра нет связи и интернета во всей квартире.",
            "Когда почините аварию? Интернет не работает с выходных.",
        ],
        "en": [
            "I have had no internet for three days, the router light is red.",
            "The internet keeps dropping, I cannot work from home.",
            "Network outage since yesterday, neither internet nor TV works.",
            "No signal and no internet anywhere in the house since this morning.",
            "When will you fix the outage? The internet has been down since the weekend.",
        ],
    },
    "praise": {
        "pl": [
            "Świetna obsługa, technik przyjechał punktualnie i wszystko naprawił. Dziękuję!",
            "Bardzo miła konsultantka, sprawa załatwiona w pięć minut.",
            "Jestem bardzo zadowolona z Waszej pomocy, polecam.",
            "Profesjonalny serwis, wszystko działa jak należy, dziękuję.",
            "Super szybka pomoc na czacie, brawo dla zespołu!",
        ],
        "ru": [
            "Отличное обслуживание, мастер приехал вовремя и всё починил. Спасибо!",
            "Очень вежливый оператор, вопрос решили за пять минут.",
            "Я очень довольна вашей помощью, рекомендую.",
            "Профессиональный сервис, всё работает как надо, спасибо.",
            "Супер быстрая помощь в чате, браво команде!",
        ],
        "en": [
            "Great service, the technician came on time and fixed everything. Thank you!",
            "Very kind agent, the issue was solved in five minutes.",
            "I am very happy with your help, I recommend you.",
            "Professional service, everything works as it should, thanks.",
            "Super fast help in the chat, well done to the team!",
        ],
    },
}

# Personal data the tests look for after redaction (valid check digits where they have any).
PII_TEXTS = {
    "pl": "Nazywam się Jan Kowalski, kontakt: jan.kowalski@example.pl, tel. 601 234 567, "
    "PESEL 44051401458.",
    "ru": "Мой паспорт 45 08 123456, ИНН 7707083893, пишите на ivan@example.ru.",
    "en": "Card 4111 1111 1111 1111 was charged twice, call me on +44 20 7946 0958.",
}
PII_VALUES = (
    "Jan Kowalski", "jan.kowalski@example.pl", "601 234 567", "44051401458", "45 08 123456",
    "7707083893", "ivan@example.ru", "4111 1111 1111 1111", "+44 20 7946 0958",
)  # fmt: skip

BAD_TEXTS = {
    "empty": "   ",
    "binary": "\x00\x01\x02PK\x03\x04" + "\x00" * 40,
    "emoji": "👍👍🔥",
    "huge": "Internet nie działa. " * 52_000,  # ~1 MB
}
