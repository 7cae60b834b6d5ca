"""What customers write and say to the demo company, in Polish, Russian and English.

Templates with slots, filled from a seeded ``random.Random``. A topic is what the text is about
(``slow_speed``, ``billing_error`` …); the generator records it as ground truth for text models.
Staff-written notes live in ``cxm.demo.notes``.

Gendered slots: ``{łem}`` is ``łem``/``łam`` (Polish past tense), ``{a}`` is the Russian feminine
past-tense ending.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping

# The topic vocabulary of the demo's texts (ground_truth["text_labels"] uses it).
TOPICS = (
    "billing_error", "outage", "slow_speed", "roaming_charges", "device_problem",
    "price_mismatch", "technician_praise", "cancellation", "repeated_questions", "praise",
    "question",
)  # fmt: skip
NEGATIVE_TOPICS = frozenset(
    ("billing_error", "outage", "slow_speed", "roaming_charges", "device_problem",
     "price_mismatch", "cancellation", "repeated_questions")
)  # fmt: skip

CUSTOMER: dict[str, dict[str, tuple[str, ...]]] = {
    "pl": {
        "billing_error": (
            "Na fakturze {invoice} naliczono mi {amount} zł, a mój abonament kosztuje {expected} zł. Nie zamawia{łem} żadnych dodatkowych usług, proszę o korektę.",  # noqa: E501
            "Drugi miesiąc z rzędu płacę więcej, niż mam w umowie: {amount} zł zamiast {expected} zł. Dzwoni{łem} już w tej sprawie i nic się nie zmieniło.",  # noqa: E501
            "Pobrano ode mnie podwójną opłatę za okres {period}. Proszę o zwrot {amount} zł na konto, z którego płacę.",  # noqa: E501
            "Na rachunku pojawiła się opłata za usługi premium SMS ({amount} zł), których nigdy nie aktywowa{łem}. Proszę to wyjaśnić.",  # noqa: E501
        ),
        "outage": (
            "Od {days} dni nie mam internetu, router świeci na czerwono. Pracuję zdalnie i to jest dla mnie ogromny problem.",  # noqa: E501
            "Od wczoraj wieczorem nie działa ani internet, ani telewizja. Kiedy usuniecie awarię? Adres: {address}.",  # noqa: E501
            "Internet zrywa się kilka razy dziennie, czasem na godzinę. Restart routera nic nie daje, a płacę za usługę, której nie mam.",  # noqa: E501
        ),
        "slow_speed": (
            "Płacę za {paid} Mb/s, a speedtest pokazuje {speed} Mb/s. Wieczorem nie da się obejrzeć filmu ani normalnie pracować.",  # noqa: E501
            "Internet jest strasznie wolny, szczególnie po 18:00. W drugim pokoju Wi-Fi prawie w ogóle nie łapie.",  # noqa: E501
            "Od ostatniej aktualizacji routera prędkość spadła do {speed} Mb/s. Czy coś zmieniliście na moim łączu?",  # noqa: E501
        ),
        "roaming_charges": (
            "Po powrocie z urlopu ({country}) mam na fakturze {amount} zł za roaming. Nikt mnie nie ostrzegł SMS-em o opłatach!",  # noqa: E501
            "Internet w roamingu ({country}) kosztował mnie {amount} zł w dwa dni. Dlaczego nie zadziałał limit kwotowy?",  # noqa: E501
            "Kupi{łem} pakiet roamingowy przed wyjazdem ({country}), a i tak naliczono mi {amount} zł. Proszę o zwrot.",  # noqa: E501
        ),
        "device_problem": (
            "Telefon {device} kupiony u Was {weeks} tygodnie temu sam się restartuje kilka razy dziennie. Chcę go oddać na gwarancję.",  # noqa: E501
            "Router {router} co chwilę się zawiesza i trzeba go odłączać od prądu. Proszę o wymianę sprzętu.",  # noqa: E501
            "Po aktualizacji ekran w telefonie {device} przestał reagować na dotyk. Czy dostanę telefon zastępczy na czas naprawy?",  # noqa: E501
        ),
        "price_mismatch": (
            "Na stronie {product} kosztuje {web_price} zł, a w salonie {shop} chcieli ode mnie {shop_price} zł. Która cena jest prawdziwa?",  # noqa: E501
            "W aplikacji jest promocja na {product} za {web_price} zł, a w salonie usłysza{łem}, że obowiązuje tylko online. To nieuczciwe.",  # noqa: E501
            "Konsultant na infolinii podał inną cenę za {product} ({shop_price} zł) niż ta na stronie ({web_price} zł). Proszę o ujednolicenie cen.",  # noqa: E501
        ),
        "technician_praise": (
            "Wielkie podziękowania dla technika, pana {tech}: przyjechał punktualnie, wszystko wytłumaczył i internet wreszcie działa jak należy.",  # noqa: E501
            "Pan {tech} naprawił instalację w godzinę, bardzo kulturalny i kompetentny. Tak trzymać!",  # noqa: E501
            "Technik {tech} spisał się świetnie, szkoda tylko, że na wizytę musia{łem} czekać {days} dni.",  # noqa: E501
        ),
        "cancellation": (
            "Chcę wypowiedzieć umowę. Mam dość ciągłych problemów z internetem i rosnących rachunków.",  # noqa: E501
            "Proszę o rozwiązanie umowy z końcem okresu rozliczeniowego. Konkurencja zaproponowała mi to samo za {expected} zł.",  # noqa: E501
            "Rezygnuję z usług Vistula Telecom. Trzy razy zgłasza{łem} ten sam problem i nikt go nie rozwiązał.",  # noqa: E501
        ),
        "repeated_questions": (
            "Już trzeci raz podaję numer klienta i adres: w salonie, na infolinii i technikowi. Czy Wy w ogóle ze sobą rozmawiacie?",  # noqa: E501
            "Każdy konsultant pyta mnie o to samo od nowa, a sprawa ciągnie się od {days} dni. Proszę w końcu przeczytać notatki z poprzednich rozmów.",  # noqa: E501
            "Zgłosi{łem} awarię w salonie {shop}, a potem infolinia i technik znowu pytali o wszystkie dane. Strata czasu.",  # noqa: E501
        ),
        "praise": (
            "Bardzo sprawna obsługa, sprawa załatwiona w pięć minut. Dziękuję!",
            "Jestem z Wami od {years} lat i nie narzekam: zasięg dobry, faktury zawsze na czas.",
            "Aplikacja Mój Vistula jest super, wszystko da się załatwić bez dzwonienia na infolinię.",  # noqa: E501
        ),
        "question": (
            "Czy pod adresem {address} jest dostępny światłowód {paid} Mb/s? Ile kosztuje w pakiecie z telewizją?",  # noqa: E501
            "Czy mogę przenieść numer z innej sieci i go zachować? Interesuje mnie {plan}.",
        ),
        "social_question": (
            "Ktoś ma Vistulę? Warto przejść? Zastanawiam się nad ofertą {plan}.",
            "Szukam operatora z dobrym zasięgiem ({city}). Polecacie Vistulę?",
        ),
    },
    "ru": {
        "billing_error": (
            "В счёте {invoice} мне начислили {amount} злотых, хотя мой тариф стоит {expected} злотых. Никаких дополнительных услуг я не заказывал{a}, прошу исправить.",  # noqa: E501
            "Уже второй месяц подряд плачу больше, чем по договору: {amount} злотых вместо {expected}. Я звонил{a} по этому поводу, ничего не изменилось.",  # noqa: E501
            "С меня дважды списали оплату за период {period}. Прошу вернуть {amount} злотых на мой счёт.",  # noqa: E501
            "В счёте появилась плата за премиум-SMS ({amount} злотых), которые я никогда не подключал{a}. Объясните, пожалуйста.",  # noqa: E501
        ),
        "outage": (
            "Уже {ndays} нет интернета, роутер горит красным. Я работаю из дома, для меня это огромная проблема.",  # noqa: E501
            "Со вчерашнего вечера не работают ни интернет, ни телевидение. Когда устраните аварию? Адрес: {address}.",  # noqa: E501
            "Интернет пропадает несколько раз в день, иногда на час. Перезагрузка роутера не помогает, а я плачу за услугу, которой нет.",  # noqa: E501
        ),
        "slow_speed": (
            "Плачу за {paid} Мбит/с, а speedtest показывает {speed} Мбит/с. Вечером невозможно посмотреть фильм или нормально работать.",  # noqa: E501
            "Интернет ужасно медленный, особенно после 18:00. В другой комнате Wi-Fi почти не ловит.",  # noqa: E501
            "После последнего обновления роутера скорость упала до {speed} Мбит/с. Вы что-то поменяли на линии?",  # noqa: E501
        ),
        "roaming_charges": (
            "После отпуска ({country}) в счёте {amount} злотых за роуминг. Никто не предупредил меня по SMS!",  # noqa: E501
            "Мобильный интернет в роуминге ({country}) обошёлся мне в {amount} злотых за два дня. Почему не сработал лимит?",  # noqa: E501
            "Я купил{a} пакет роуминга перед поездкой ({country}), но всё равно начислили {amount} злотых. Прошу вернуть деньги.",  # noqa: E501
        ),
        "device_problem": (
            "Телефон {device}, купленный у вас {weeks} недели назад, сам перезагружается несколько раз в день. Хочу сдать его по гарантии.",  # noqa: E501
            "Роутер {router} постоянно зависает, приходится выключать его из розетки. Прошу заменить оборудование.",  # noqa: E501
            "После обновления экран телефона {device} перестал реагировать на касания. Можно получить подменный телефон на время ремонта?",  # noqa: E501
        ),
        "price_mismatch": (
            "На сайте {product} стоит {web_price} злотых, а в салоне {shop} с меня хотели {shop_price} злотых. Какая цена правильная?",  # noqa: E501
            "В приложении акция на {product} за {web_price} злотых, а в салоне сказали, что она действует только онлайн. Это нечестно.",  # noqa: E501
            "Консультант на горячей линии назвал другую цену на {product} ({shop_price} злотых), чем на сайте ({web_price} злотых).",  # noqa: E501
        ),
        "technician_praise": (
            "Огромное спасибо мастеру {tech}: приехал вовремя, всё объяснил, и интернет наконец работает как надо.",  # noqa: E501
            "Мастер {tech} починил всё за час, очень вежливый и знающий специалист. Так держать!",
            "Техник {tech} отлично справился, жаль только, что визита пришлось ждать {ndays}.",
        ),
        "cancellation": (
            "Хочу расторгнуть договор. Надоели постоянные проблемы с интернетом и растущие счета.",
            "Прошу расторгнуть договор с конца расчётного периода. Конкуренты предложили то же самое за {expected} злотых.",  # noqa: E501
            "Отказываюсь от услуг Vistula Telecom. Три раза сообщал{a} об одной и той же проблеме, и никто её не решил.",  # noqa: E501
        ),
        "repeated_questions": (
            "Уже третий раз называю номер клиента и адрес: в салоне, на горячей линии и мастеру. Вы вообще общаетесь между собой?",  # noqa: E501
            "Каждый консультант спрашивает одно и то же заново, а дело тянется уже {ndays}. Прочитайте наконец заметки прошлых разговоров.",  # noqa: E501
            "Я сообщил{a} об аварии в салоне {shop}, а потом горячая линия и мастер снова спрашивали все данные. Потеря времени.",  # noqa: E501
        ),
        "praise": (
            "Очень быстрое обслуживание, всё решили за пять минут. Спасибо!",
            "Я с вами уже больше {years} лет и не жалуюсь: связь хорошая, счета всегда вовремя.",
            "Приложение Mój Vistula отличное, всё можно сделать без звонка на горячую линию.",
        ),
        "question": (
            "Доступен ли оптоволоконный интернет {paid} Мбит/с по адресу {address}? Сколько стоит вместе с телевидением?",  # noqa: E501
            "Можно ли перенести номер от другого оператора и сохранить его? Меня интересует {plan}.",  # noqa: E501
        ),
        "social_question": (
            "Кто-нибудь пользуется Vistula? Стоит переходить? Думаю о тарифе {plan}.",
            "Ищу оператора с хорошим покрытием, посоветуете Vistula? Живу в городе {city}.",
        ),
    },
    "en": {
        "billing_error": (
            "Invoice {invoice} charges me {amount} PLN but my plan costs {expected} PLN. I never ordered any extra services, please correct it.",  # noqa: E501
            "For the second month in a row I'm paying more than my contract says: {amount} PLN instead of {expected} PLN. I already called about it and nothing changed.",  # noqa: E501
            "You charged me twice for the period {period}. Please refund {amount} PLN to the account I pay from.",  # noqa: E501
            "There's a premium SMS charge ({amount} PLN) on my bill for services I never activated. Please explain.",  # noqa: E501
        ),
        "outage": (
            "No internet for {days} days now, the router light is red. I work from home and this is a huge problem for me.",  # noqa: E501
            "Since last night neither internet nor TV works. When will the outage be fixed? Address: {address}.",  # noqa: E501
            "The connection drops several times a day, sometimes for an hour. Restarting the router doesn't help and I'm paying for a service I don't get.",  # noqa: E501
        ),
        "slow_speed": (
            "I pay for {paid} Mbps and speedtest shows {speed} Mbps. In the evening I can't stream a film or work properly.",  # noqa: E501
            "The internet is painfully slow, especially after 6 pm. In the second room the Wi-Fi barely reaches.",  # noqa: E501
            "Since the last router update my speed dropped to {speed} Mbps. Did you change something on my line?",  # noqa: E501
        ),
        "roaming_charges": (
            "Back from holiday ({country}) and my bill has {amount} PLN of roaming charges. Nobody warned me by text!",  # noqa: E501
            "Mobile data in roaming ({country}) cost me {amount} PLN in two days. Why didn't the spending cap kick in?",  # noqa: E501
            "I bought a roaming pack before travelling ({country}) and still got charged {amount} PLN. I want a refund.",  # noqa: E501
        ),
        "device_problem": (
            "The {device} I bought from you {weeks} weeks ago keeps restarting by itself. I want to return it under warranty.",  # noqa: E501
            "The {router} router freezes all the time and I have to unplug it. Please replace the equipment.",  # noqa: E501
            "After the update the touchscreen on my {device} stopped responding. Can I get a loan phone during the repair?",  # noqa: E501
        ),
        "price_mismatch": (
            "Your website lists the {product} at {web_price} PLN but the shop at {shop} wanted {shop_price} PLN. Which price is real?",  # noqa: E501
            "The app shows a {product} promotion for {web_price} PLN, but the shop told me it's online only. That's not fair.",  # noqa: E501
            "The hotline agent quoted a different price for the {product} ({shop_price} PLN) than the website ({web_price} PLN).",  # noqa: E501
        ),
        "technician_praise": (
            "Huge thanks to the technician, {tech}: on time, explained everything and the internet finally works as it should.",  # noqa: E501
            "{tech} fixed the installation in an hour, very polite and competent. Keep it up!",
            "Technician {tech} did a great job, shame I had to wait {days} days for the visit though.",  # noqa: E501
        ),
        "cancellation": (
            "I want to terminate my contract. I'm fed up with constant internet problems and rising bills.",  # noqa: E501
            "Please end my contract at the end of the billing period. A competitor offered me the same for {expected} PLN.",  # noqa: E501
            "I'm leaving Vistula Telecom. I reported the same problem three times and nobody fixed it.",  # noqa: E501
        ),
        "repeated_questions": (
            "This is the third time I give my customer number and address: at the shop, on the hotline and to the technician. Do you ever talk to each other?",  # noqa: E501
            "Every agent asks me the same things from scratch and the case has dragged on for {days} days. Please read the notes from previous calls.",  # noqa: E501
            "I reported the fault at the {shop} shop, then the hotline and the technician asked for all my details again. A waste of time.",  # noqa: E501
        ),
        "praise": (
            "Very quick service, sorted in five minutes. Thank you!",
            "I've been with you for {years} years and have no complaints: good coverage, bills always on time.",  # noqa: E501
            "The Mój Vistula app is great, I can do everything without calling the hotline.",
        ),
        "question": (
            "Is {paid} Mbps fibre available at {address}? How much is it bundled with TV?",
            "Can I move my number from another network and keep it? I'm interested in {plan}.",
        ),
        "social_question": (
            "Anyone here with Vistula? Worth switching? I'm thinking about {plan}.",
            "Just moved to {city}, is Vistula any good for home fibre?",
        ),
    },
}

SURVEY: dict[str, dict[str, tuple[str, ...]]] = {
    "pl": {
        "positive": (
            "Wszystko działa, obsługa miła i kompetentna.",
            "Polecam, dobry zasięg i rozsądne ceny.",
            "Szybko rozwiązany problem, dziękuję.",
        ),
        "neutral": (
            "Ogólnie w porządku, ale ceny mogłyby być niższe.",
            "Internet działa, choć wieczorami bywa wolniej.",
            "Bez zachwytów, bez większych problemów.",
        ),
        "negative": (
            "Za długo czekałam/em na rozwiązanie, nikt nie oddzwonił.",
            "Ciągle te same problemy z internetem i nikt nic z tym nie robi.",
            "Musiałam/em kilka razy podawać te same dane, fatalna komunikacja między działami.",
        ),
    },
    "ru": {
        "positive": (
            "Всё работает, обслуживание вежливое и грамотное.",
            "Рекомендую, хорошая связь и разумные цены.",
            "Проблему решили быстро, спасибо.",
        ),
        "neutral": (
            "В целом нормально, но цены могли бы быть ниже.",
            "Интернет работает, хотя вечером бывает медленнее.",
            "Без восторга, но и без серьёзных проблем.",
        ),
        "negative": (
            "Слишком долго ждал(а) решения, никто не перезвонил.",
            "Постоянно одни и те же проблемы с интернетом, и никто ничего не делает.",
            "Пришлось несколько раз называть одни и те же данные, ужасная связь между отделами.",
        ),
    },
    "en": {
        "positive": (
            "Everything works, friendly and competent staff.",
            "Would recommend, good coverage and fair prices.",
            "Problem solved quickly, thanks.",
        ),
        "neutral": (
            "Fine overall, but prices could be lower.",
            "Internet works, although it gets slower in the evenings.",
            "Nothing special, no major problems either.",
        ),
        "negative": (
            "Waited far too long for a fix and nobody called back.",
            "The same internet problems over and over and nobody does anything.",
            "Had to repeat my details several times, departments clearly don't talk to each other.",
        ),
    },
}

GREETINGS = {
    "pl": ("Dzień dobry,", "Witam,", "Szanowni Państwo,", ""),
    "ru": ("Здравствуйте,", "Добрый день,", "Уважаемая поддержка,", ""),
    "en": ("Hello,", "Hi,", "Dear Vistula Telecom,", ""),
}
SIGN_OFFS = {
    "pl": ("Pozdrawiam\n{first}", "Z poważaniem\n{name}", "{name}", ""),
    "ru": ("С уважением,\n{name}", "Спасибо,\n{first}", "{name}", ""),
    "en": ("Kind regards,\n{name}", "Thanks,\n{first}", "Best,\n{first}", ""),
}
SOCIAL_TAGS: dict[
    str, dict[str, tuple[str, ...]]
] = {  # by sentiment: what people tack on to a post
    "negative": {
        "pl": ("", " #VistulaTelecom", " #awaria", " Serio?", " 😡"),
        "ru": ("", " #VistulaTelecom", " Серьёзно?", " 😡"),
        "en": ("", " #VistulaTelecom", " #fail", " Seriously?", " 😡"),
    },
    "positive": {
        "pl": ("", " #VistulaTelecom", " 👍", " 🙂"),
        "ru": ("", " #VistulaTelecom", " 👍", " 🙂"),
        "en": ("", " #VistulaTelecom", " 👍", " 🙂"),
    },
}

COUNTRIES = {
    "pl": ("Turcja", "Egipt", "Szwajcaria", "Wielka Brytania", "USA", "Tunezja", "Serbia"),
    "ru": ("Турция", "Египет", "Швейцария", "Великобритания", "США", "Тунис", "Сербия"),
    "en": ("Turkey", "Egypt", "Switzerland", "the UK", "the US", "Tunisia", "Serbia"),
}
DEVICES = (
    "Samsung Galaxy S25", "iPhone 16", "Xiaomi Redmi Note 14", "Motorola moto g85",
    "Samsung Galaxy A56", "iPhone 15", "Google Pixel 9a",
)  # fmt: skip
ROUTERS = ("Vistula Box 6", "Vistula Box 5", "Huawei HG8245", "ZTE F6600")
PRODUCTS = {  # list price on the website, PLN (plans: per month)
    "iPhone 16": 3999, "Samsung Galaxy S25": 3599, "Xiaomi Redmi Note 14": 1099,
    "Mobile L": 75, "Fibre 1 Gb/s": 89, "TV Max": 59, "Vistula Box 6": 399,
}  # fmt: skip
SHOPS = (
    "Galeria Mokotów", "Złote Tarasy", "Arkadia", "Manufaktura", "Galeria Krakowska",
    "Pasaż Grunwaldzki", "Stary Browar", "Galeria Bałtycka", "Silesia City Center",
    "Galeria Północna", "Posnania", "Atrium Promenada",
)  # fmt: skip
TECHNICIANS = (
    "Marek", "Krzysztof", "Tomasz", "Grzegorz", "Robert", "Artur", "Paweł", "Sebastian", "Wojtek",
)  # fmt: skip
PLANS = ("Mobile S", "Mobile M", "Mobile L", "Fibre 300", "Fibre 1 Gb/s", "TV Start + Fibre 300")


def sentiment_of(topic: str) -> str:
    """The sentiment a text about ``topic`` carries (ground truth for text models)."""
    if topic in NEGATIVE_TOPICS:
        return "negative"
    return "neutral" if topic == "question" else "positive"


def _ru_days(n: int) -> str:
    return f"{n} {'дня' if n < 5 else 'дней'}"


def _money(rng: random.Random, low: int, high: int, language: str) -> str:
    separator = "." if language == "en" else ","
    return f"{rng.randint(low, high)}{separator}{rng.choice(('00', '99', '49', '50'))}"


_GENERIC: dict[str, Callable[[random.Random, str], str]] = {
    "invoice": lambda r, _: f"FV/2026/{r.randint(1, 12):02d}/{r.randint(100000, 999999)}",
    "amount": lambda r, lang: _money(r, 60, 690, lang),
    "expected": lambda r, lang: _money(r, 35, 120, lang),
    "period": lambda r, _: f"{r.randint(1, 12):02d}/2026",
    "days": lambda r, _: str(r.randint(2, 9)),
    "ndays": lambda r, _: _ru_days(r.randint(2, 9)),
    "weeks": lambda r, _: str(r.randint(2, 4)),
    "years": lambda r, _: str(r.randint(3, 15)),
    "country": lambda r, lang: r.choice(COUNTRIES[lang]),
    "device": lambda r, _: r.choice(DEVICES),
    "router": lambda r, _: r.choice(ROUTERS),
    "product": lambda r, _: r.choice(list(PRODUCTS)),
    "shop": lambda r, _: r.choice(SHOPS),
    "tech": lambda r, _: r.choice(TECHNICIANS),
    "plan": lambda r, _: r.choice(PLANS),
    "paid": lambda r, _: r.choice(("300", "600", "1000")),
}


class _Slots(dict[str, str]):
    """Persona slots given up front; any other slot is drawn from the RNG when first used."""

    def __init__(self, rng: random.Random, language: str, given: Mapping[str, str]) -> None:
        super().__init__(given)
        self._rng = rng
        self._language = language

    def __missing__(self, key: str) -> str:
        rng = self._rng
        if key == "speed":  # what a speed test shows: a fraction of the paid speed
            value = str(max(2, round(int(self["paid"]) * rng.uniform(0.02, 0.35))))
        elif key == "web_price":
            value = str(PRODUCTS[self["product"]])
        elif key == "shop_price":  # the shops' own price list lags behind: 5-20 % dearer
            web = int(self["web_price"])
            value = str(web + max(5, round(web * rng.uniform(0.05, 0.2)) // 10 * 10))
        else:
            value = _GENERIC[key](self._rng, self._language)
        self[key] = value
        return value


def fill(rng: random.Random, template: str, language: str, slots: Mapping[str, str]) -> str:
    """Fill ``template``'s slots: persona values from ``slots``, the rest drawn from ``rng``."""
    return template.format_map(_Slots(rng, language, slots))


def persona_slots(
    *,
    language: str,
    gender: str,
    first: str,
    name: str,
    address: str,
    city: str,
    paid: int,
    plan: str,
) -> dict[str, str]:
    """The slots that come from the customer rather than chance."""
    slots = {"first": first, "name": name, "address": address, "city": city, "plan": plan}
    if paid:
        slots["paid"] = str(paid)
    slots["łem"] = "łam" if gender == "f" else "łem"
    slots["a"] = "а" if gender == "f" else ""
    return slots


def customer_text(
    rng: random.Random, topic: str, language: str, slots: Mapping[str, str], *, social: bool = False
) -> str:
    """What the customer says about ``topic``, in their language (``social``: in public).

    >>> t = customer_text(random.Random(1), "slow_speed", "pl", {"paid": "600", "łem": "łem"})
    >>> "Mb/s" in t or "Wi-Fi" in t
    True
    """
    key = "social_question" if social and topic == "question" else topic
    return fill(rng, rng.choice(CUSTOMER[language][key]), language, slots)


def email_body(rng: random.Random, core: str, language: str, slots: Mapping[str, str]) -> str:
    greeting = rng.choice(GREETINGS[language])
    sign_off = fill(rng, rng.choice(SIGN_OFFS[language]), language, slots)
    return "\n\n".join(part for part in (greeting, core, sign_off) if part)


def social_post(rng: random.Random, core: str, language: str, sentiment: str) -> str:
    mention = "@VistulaTelecom " if rng.random() < 0.6 else ""
    tags = SOCIAL_TAGS["negative" if sentiment == "negative" else "positive"][language]
    return f"{mention}{core}{rng.choice(tags)}"


def sample_text(rng: random.Random, topic: str, language: str, form: str = "plain") -> str:
    """One customer's text on ``topic`` in ``language``, as a ``plain`` message, an ``email``
    or a social ``post``, outside the demo company's story (benchmarks, calibration)."""
    slots = persona_slots(
        language=language, gender=rng.choice("fm"), first="Anna", name="Anna Nowak",
        address="ul. Lipowa 3", city="Kraków", paid=600, plan="Fibre 300",
    )  # fmt: skip
    core = customer_text(rng, topic, language, slots)
    if form == "email":
        return email_body(rng, core, language, slots)
    if form == "post":
        return social_post(rng, core, language, sentiment_of(topic))
    return core


def survey_comment(rng: random.Random, mood: str, language: str) -> str:
    return rng.choice(SURVEY[language][mood])
