"""The UI languages of ad-platform exports, in one place: month names, date ranges, number style, and each
format's header dictionary per language (translated header -> the English header its reader knows).

Google Ads, Meta Ads Manager and LinkedIn Campaign Manager write their downloads in the language of the
user's interface: the title, the date-range line, the column headers and the totals labels are translated,
and numbers follow the locale (``1.234,56`` in German, ``1 234,56`` in French). The readers translate the
header to English with :func:`translate` and then read the file as an English one; dates and numbers go
through :func:`find_dates` / :func:`parse_range` and :func:`decimal_comma`.

Not a format module (no ``NAME``).

>>> parse_range("27 January 2026 - 23 February 2026")
(datetime.date(2026, 1, 27), datetime.date(2026, 2, 23))
>>> parse_range("Ad report (Oct 25, 2016-Oct 31, 2016)")
(datetime.date(2016, 10, 25), datetime.date(2016, 10, 31))
>>> parse_range("1. Januar 2026 - 7. Januar 2026")
(datetime.date(2026, 1, 1), datetime.date(2026, 1, 7))
>>> translate(["Tag", "Kampagne", "Kosten", "Klicks"], GOOGLE_ADS)
(['Day', 'Campaign', 'Cost', 'Clicks'], 'de')
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Sequence

LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl")
LANGUAGE_NAMES = {
    "en": "English",
    "de": "German",
    "fr": "French",
    "es": "Spanish",
    "pt": "Portuguese",
    "it": "Italian",
    "nl": "Dutch",
}

# month names and the abbreviations the UIs use (lower case, accents kept); no two languages disagree
_MONTHS: dict[str, str] = {
    "en": ("january february march april may june july august september october november december "
           "jan feb mar apr may jun jul aug sep oct nov dec sept"),
    "de": ("januar februar märz april mai juni juli august september oktober november dezember "
           "jan feb mär mrz apr mai jun jul aug sep okt nov dez jänner jän"),
    "fr": ("janvier février mars avril mai juin juillet août septembre octobre novembre décembre "
           "janv févr mars avr mai juin juil juill août sept oct nov déc"),
    "es": ("enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre "
           "ene feb mar abr may jun jul ago sept oct nov dic setiembre"),
    "pt": ("janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro "
           "jan fev mar abr mai jun jul ago set out nov dez"),
    "it": ("gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre "
           "gen feb mar apr mag giu lug ago set ott nov dic"),
    "nl": ("januari februari maart april mei juni juli augustus september oktober november december "
           "jan feb mrt apr mei jun jul aug sep okt nov dec"),
}  # fmt: skip


def _month_table() -> dict[str, int]:
    out: dict[str, int] = {}
    for words in _MONTHS.values():
        names = words.split()
        full, short = names[:12], names[12:]
        for i, w in enumerate(full):
            out[w] = i + 1
        for w in short:  # abbreviations: the month whose full name they start
            month = next((i + 1 for i, f in enumerate(full) if f.startswith(w)), None)
            if month is not None:
                out.setdefault(w, month)
    out.update({"sept": 9, "setiembre": 9, "mrz": 3, "mrt": 3, "jänner": 1, "jän": 1})
    return out


MONTHS = _month_table()
_WORD = r"[^\W\d_]+"
# "July 8, 2025", "Oct 25, 2016"
_MDY = re.compile(rf"(?P<m>{_WORD})\.?\s+(?P<d>\d{{1,2}}),?\s+(?P<y>\d{{4}})")
# "27 January 2026", "1. Januar 2026", "1 de enero de 2026", "1er janvier 2026", "1 janv. 2026"
_DMY = re.compile(rf"(?P<d>\d{{1,2}})(?:\.|er|º)?\s+(?:de\s+)?(?P<m>{_WORD})\.?\s+(?:de\s+)?(?P<y>\d{{4}})")
_ISO = re.compile(r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})")
# "01.12.2025" (German medium date, CLDR)
_DOTTED = re.compile(r"(?<![\d.])(?P<d>\d{1,2})\.(?P<m>\d{1,2})\.(?P<y>\d{4})(?!\d)")
# "All time" in the UI languages: a report over the account's whole history (no usable period)
ALL_TIME = {
    "all time", "gesamter zeitraum", "gesamte zeit", "toute la période", "todo el período", "todo el periodo",
    "todo o período", "tutto il periodo", "volledige periode", "alle tijd",
}  # fmt: skip


def _date(y: str, m: str | int, d: str) -> dt.date | None:
    month = m if isinstance(m, int) else MONTHS.get(m.lower().rstrip("."))
    if month is None:
        return None
    try:
        return dt.date(int(y), int(month), int(d))
    except ValueError:
        return None


def find_dates(text: str) -> list[dt.date]:
    """Every date written out in ``text`` (any UI language, ISO too), in order of appearance."""
    found: list[tuple[int, int, dt.date]] = []
    for rx in (_MDY, _DMY, _ISO, _DOTTED):
        for m in rx.finditer(text):
            g = m.groupdict()
            d = _date(g["y"], int(g["m"]) if rx in (_ISO, _DOTTED) else g["m"], g["d"])
            if d is not None:
                found.append((m.start(), m.end(), d))
    found.sort()
    out: list[dt.date] = []
    end = -1
    for s, e, d in found:  # overlapping matches of two patterns: the first wins
        if s >= end:
            out.append(d)
            end = e
    return out


def parse_range(text: str) -> tuple[dt.date, dt.date] | None:
    """The first two dates of ``text`` as a (start, end) range; None when there are not two in order."""
    dates = find_dates(text)
    if len(dates) >= 2 and dates[0] <= dates[1]:
        return (dates[0], dates[1])
    return None


def is_all_time(text: str) -> bool:
    return text.strip().strip('"').strip().lower() in ALL_TIME


def is_iso_week(period: tuple[dt.date, dt.date] | None) -> bool:
    """True when ``period`` is exactly one ISO week, Monday to Sunday."""
    return period is not None and period[0].isoweekday() == 1 and (period[1] - period[0]).days == 6


# ---- numbers ----------------------------------------------------------------------------------------------
_COMMA_DEC = re.compile(r"^-?\d{1,3}([. \u00a0\u202f]\d{3})+,\d+$|^-?\d+,\d{1,2}$")
_POINT_DEC = re.compile(r"^-?\d{1,3}(,\d{3})+\.\d+$|^-?\d+\.\d{1,2}$|^-?\d+\.\d{4,}$")


def decimal_comma(samples: Iterable[str | None], language: str = "en") -> bool:
    """Whether the numbers of a file use a decimal comma (``1.234,56``): decided on the file's unambiguous
    cells (``1.234,56``, ``0,57`` vs ``1,234.56``, ``0.57``); without any, by the UI language."""
    comma = point = 0
    for s in samples:
        t = (s or "").strip().strip("%").strip()
        if _COMMA_DEC.match(t):
            comma += 1
        elif _POINT_DEC.match(t):
            point += 1
    if comma or point:
        return comma > point
    return language not in ("en",)


# ---- header dictionaries ----------------------------------------------------------------------------------
# Google Ads UI report downloads (and Google Ads Editor, which shares the labels)
GOOGLE_ADS: dict[str, dict[str, str]] = {
    "de": {
        "Tag": "Day", "Woche": "Week", "Konto": "Account", "Kontoname": "Account", "Kundennummer": "Customer ID",
        "Kampagne": "Campaign", "Kampagnen-ID": "Campaign ID", "Kampagnentyp": "Campaign type",
        "Kampagnenstatus": "Campaign status", "Anzeigengruppe": "Ad group", "Anzeigengruppen-ID": "Ad group ID",
        "Anzeigen-ID": "Ad ID", "Währungscode": "Currency code", "Währung": "Currency code",
        "Impressionen": "Impressions", "Klicks": "Clicks", "Interaktionen": "Interactions", "Kosten": "Cost",
        "Conv.-Wert": "Conv. value", "Conversion-Wert": "Conv. value", "Konv.-Wert": "Conv. value",
        "Alle Conv.": "All conv.", "Budget": "Budget", "Kampagnenbudget": "Budget", "Gebotsstrategietyp": "Bid strategy type",
        "Conversion-Rate": "Conv. rate", "Interaktionsrate": "Interaction rate", "CTR": "CTR", "Ø CPC": "Avg. CPC",
        "Durchschn. CPC": "Avg. CPC",  # Google's German help pages (SOURCES.md)
    },
    "fr": {
        "Jour": "Day", "Semaine": "Week", "Compte": "Account", "Numéro client": "Customer ID", "ID client": "Customer ID",
        "Campagne": "Campaign", "ID de la campagne": "Campaign ID", "Type de campagne": "Campaign type",
        "État de la campagne": "Campaign status", "Groupe d'annonces": "Ad group", "Groupe d’annonces": "Ad group",
        "ID du groupe d'annonces": "Ad group ID", "ID du groupe d’annonces": "Ad group ID", "ID de l'annonce": "Ad ID",
        "Code de la devise": "Currency code", "Code devise": "Currency code", "Clics": "Clicks",
        "Interactions": "Interactions", "Coût": "Cost", "Valeur de conv.": "Conv. value",
        "Valeur de conversion": "Conv. value", "Budget": "Budget", "Taux de conv.": "Conv. rate",
        "Coût/conv.": "Cost / conv.", "CPC moy.": "Avg. CPC", "Coût moy.": "Avg. cost", "État": "Status",
    },
    "es": {
        "Día": "Day", "Semana": "Week", "Cuenta": "Account", "ID de cliente": "Customer ID", "Campaña": "Campaign",
        "ID de campaña": "Campaign ID", "Tipo de campaña": "Campaign type", "Estado de la campaña": "Campaign status",
        "Grupo de anuncios": "Ad group", "ID del grupo de anuncios": "Ad group ID", "ID del anuncio": "Ad ID",
        "Código de moneda": "Currency code", "Clics": "Clicks", "Interacciones": "Interactions", "Coste": "Cost",
        "Costo": "Cost", "Conversiones": "Conversions", "Valor de conv.": "Conv. value",
        "Presupuesto": "Budget", "Tasa de conv.": "Conv. rate", "Estado": "Status",
        "Coste/conv.": "Cost / conv.", "CPC medio": "Avg. CPC",  # Spain
        "Costo/conv.": "Cost / conv.", "CPC prom.": "Avg. CPC", "Prom. CPC": "Avg. CPC",  # Latin America
        "Porcentaje de conv.": "Conv. rate", "Tasa de interacción": "Interaction rate",
        "Porcentaje de interacción": "Interaction rate",
    },
    "pt": {
        "Dia": "Day", "Semana": "Week", "Conta": "Account", "ID do cliente": "Customer ID", "Campanha": "Campaign",
        "ID da campanha": "Campaign ID", "Tipo de campanha": "Campaign type", "Status da campanha": "Campaign status",
        "Grupo de anúncios": "Ad group", "ID do grupo de anúncios": "Ad group ID", "ID do anúncio": "Ad ID",
        "Código da moeda": "Currency code", "Cliques": "Clicks", "Interações": "Interactions", "Custo": "Cost",
        "Conversões": "Conversions", "Valor conv.": "Conv. value", "Valor da conv.": "Conv. value",
        "Orçamento": "Budget", "Taxa de conv.": "Conv. rate", "Custo / conv.": "Cost / conv.",
        "CPC méd.": "Avg. CPC", "Taxa de interação": "Interaction rate",
    },
    "it": {
        "Giorno": "Day", "Settimana": "Week", "Account": "Account", "ID cliente": "Customer ID",
        "Campagna": "Campaign", "ID campagna": "Campaign ID", "Tipo di campagna": "Campaign type",
        "Stato campagna": "Campaign status", "Gruppo di annunci": "Ad group", "ID gruppo di annunci": "Ad group ID",
        "ID annuncio": "Ad ID", "Codice valuta": "Currency code", "Clic": "Clicks", "Interazioni": "Interactions",
        "Costo": "Cost", "Conversioni": "Conversions", "Valore conv.": "Conv. value", "Budget": "Budget",
        "Tasso conv.": "Conv. rate", "CPC medio": "Avg. CPC",
    },
    "nl": {
        "Dag": "Day", "Week": "Week", "Account": "Account", "Klant-ID": "Customer ID", "Campagne": "Campaign",
        "Campagne-ID": "Campaign ID", "Campagnetype": "Campaign type", "Campagnestatus": "Campaign status",
        "Advertentiegroep": "Ad group", "Advertentiegroep-ID": "Ad group ID", "Advertentie-ID": "Ad ID",
        "Valutacode": "Currency code", "Vertoningen": "Impressions", "Vert.": "Impr.", "Klikken": "Clicks",
        "Interacties": "Interactions", "Kosten": "Cost", "Conversies": "Conversions", "Conv.waarde": "Conv. value",
        "Conversiewaarde": "Conv. value", "Budget": "Budget", "Conv.ratio": "Conv. rate",
        "Verton.": "Impr.", "Vert": "Impr.", "Gem. CPC": "Avg. CPC",
    },
}  # fmt: skip
# the totals rows' first cell ("Total: Account", "Gesamt: Konto", "Total : compte", ...)
TOTAL_PREFIXES = ("Total:", "Total :", "Gesamt:", "Totale:", "Totaal:", "Totais:")
ACCOUNT_WORDS = {"account", "konto", "compte", "cuenta", "conta"}

# Meta Ads Manager "Export table data"; the spent column carries the currency: "Ausgegebener Betrag (EUR)"
META: dict[str, dict[str, str]] = {
    "de": {
        "Tag": "Day", "Berichtsbeginn": "Reporting starts", "Berichtsende": "Reporting ends",
        "Kampagnenname": "Campaign name",
        "Name der Kampagne": "Campaign name", "Name der Anzeigengruppe": "Ad set name",
        "Anzeigengruppenname": "Ad set name", "Name der Werbeanzeige": "Ad name", "Anzeigenname": "Ad name",
        "Ausgegebener Betrag": "Amount spent", "Impressionen": "Impressions", "Reichweite": "Reach",
        "Link-Klicks": "Link clicks", "Klicks (alle)": "Clicks (all)", "Ergebnisse": "Results",
        "Ergebnisindikator": "Result indicator", "Kosten pro Ergebnis": "Cost per results",
        "Konto-ID": "Account ID", "Kontoname": "Account name", "Kampagnen-ID": "Campaign ID",
        "Anzeigengruppen-ID": "Ad set ID", "Anzeigen-ID": "Ad ID",
    },
    "fr": {
        "Jour": "Day", "Début des rapports": "Reporting starts", "Fin des rapports": "Reporting ends",
        "Nom de la campagne": "Campaign name", "Nom de l’ensemble de publicités": "Ad set name",
        "Nom de l'ensemble de publicités": "Ad set name", "Nom de la publicité": "Ad name",
        "Montant dépensé": "Amount spent", "Impressions": "Impressions", "Couverture": "Reach",
        "Clics sur un lien": "Link clicks", "Clics (tous)": "Clicks (all)", "Résultats": "Results",
        "Indicateur de résultats": "Result indicator", "Coût par résultat": "Cost per results",
        "Nom du compte": "Account name", "Identifiant du compte": "Account ID",
        "Portée": "Reach", "Clics sur le lien": "Link clicks",  # as seen in exports (SOURCES.md)
    },
    "es": {
        "Día": "Day", "Inicio del informe": "Reporting starts", "Fin del informe": "Reporting ends",
        "Inicio de los informes": "Reporting starts", "Fin de los informes": "Reporting ends",  # as seen
        "Costo por resultado": "Cost per results", "Coste por resultado": "Cost per results",
        "Nombre de la campaña": "Campaign name", "Nombre del conjunto de anuncios": "Ad set name",
        "Nombre del anuncio": "Ad name", "Importe gastado": "Amount spent", "Impresiones": "Impressions",
        "Alcance": "Reach", "Clics en el enlace": "Link clicks", "Clics (todos)": "Clicks (all)",
        "Resultados": "Results", "Indicador de resultado": "Result indicator",
        "Nombre de la cuenta": "Account name", "Identificador de la cuenta": "Account ID",
    },
    "pt": {
        "Dia": "Day", "Início dos relatórios": "Reporting starts", "Término dos relatórios": "Reporting ends",
        "Encerramento dos relatórios": "Reporting ends", "Custo por resultados": "Cost per results",  # as seen
        "Nome da campanha": "Campaign name", "Nome do conjunto de anúncios": "Ad set name",
        "Nome do anúncio": "Ad name", "Valor usado": "Amount spent", "Impressões": "Impressions",
        "Alcance": "Reach", "Cliques no link": "Link clicks", "Cliques (todos)": "Clicks (all)",
        "Resultados": "Results", "Indicador de resultados": "Result indicator", "Nome da conta": "Account name",
    },
    "it": {
        "Giorno": "Day", "Inizio report": "Reporting starts", "Fine report": "Reporting ends",
        "Nome della campagna": "Campaign name", "Nome del gruppo di inserzioni": "Ad set name",
        "Nome dell'inserzione": "Ad name", "Nome dell’inserzione": "Ad name", "Importo speso": "Amount spent",
        "Impressioni": "Impressions", "Impression": "Impressions", "Copertura": "Reach", "Clic sul link": "Link clicks",
        "Clic (tutti)": "Clicks (all)", "Risultati": "Results", "Indicatore dei risultati": "Result indicator",
        "Nome dell'account": "Account name",
    },
    "nl": {
        "Dag": "Day", "Begin rapportage": "Reporting starts", "Einde rapportage": "Reporting ends",
        "Start rapportage": "Reporting starts", "Naam campagne": "Campaign name", "Naam advertentie": "Ad name",
        "Klikken op links": "Link clicks", "Linkklikken": "Link clicks", "Kosten per resultaat": "Cost per results",
        "Campagnenaam": "Campaign name", "Naam advertentieset": "Ad set name", "Advertentienaam": "Ad name",
        "Besteed bedrag": "Amount spent", "Weergaven": "Impressions", "Bereik": "Reach",
        "Klikken op link": "Link clicks", "Klikken (alle)": "Clicks (all)", "Resultaten": "Results",
        "Resultaatindicator": "Result indicator", "Accountnaam": "Account name",
    },
}  # fmt: skip
# Meta's row for a period without delivery, in the UI languages
NO_DATA = {
    "no data available.", "no data available", "keine daten verfügbar.", "aucune donnée disponible.",
    "no hay datos disponibles.", "nenhum dado disponível.", "nessun dato disponibile.", "geen gegevens beschikbaar.",
}  # fmt: skip

# LinkedIn Campaign Manager performance exports
LINKEDIN: dict[str, dict[str, str]] = {
    "de": {
        "Startdatum (in UTC)": "Start Date (in UTC)", "Kontoname": "Account Name", "Konto-ID": "Account ID",
        "Name der Kampagnengruppe": "Campaign Group Name", "Kampagnengruppen-ID": "Campaign Group ID",
        "Kampagnenname": "Campaign Name", "Kampagnen-ID": "Campaign ID", "Währung": "Currency",
        "Ausgaben gesamt": "Total Spent", "Impressionen": "Impressions", "Klicks": "Clicks",
        "Conversions": "Conversions", "Gesamtwert der Conversions": "Total Conversion Value",
        "Gesamtausgaben": "Total Spent",  # as seen (SOURCES.md)
        # the newer naming, as seen (SOURCES.md): no campaign group, the campaign and its ad group
        "Name der Kampagne": "Campaign Name", "Name der Anzeigengruppe": "Ad Group Name",
        "Anzeigengruppen-ID": "Ad Group ID",
        # preamble labels: "Startdatum des Berichts" as seen, "Enddatum des Berichts" by analogy (unverified)
        "Startdatum des Berichts": "Report Start", "Enddatum des Berichts": "Report End",
    },
    "fr": {
        "Date de début (en UTC)": "Start Date (in UTC)", "Nom du compte": "Account Name", "ID du compte": "Account ID",
        "Nom du groupe de campagnes": "Campaign Group Name", "ID du groupe de campagnes": "Campaign Group ID",
        "Nom de la campagne": "Campaign Name", "ID de la campagne": "Campaign ID", "Devise": "Currency",
        "Total dépensé": "Total Spent", "Impressions": "Impressions", "Clics": "Clicks",
        "Conversions": "Conversions", "Valeur totale des conversions": "Total Conversion Value",
    },
}  # fmt: skip


def _norm(s: str) -> str:
    return unicodedata.normalize("NFC", s).strip()


def translate(
    names: Sequence[str], dictionary: dict[str, dict[str, str]], *, prefixes: bool = False
) -> tuple[list[str], str]:
    """Header ``names`` in English and the UI language they were in (``en`` when nothing was translated).

    The language is the one whose dictionary knows most of the names; names it does not know are kept.
    ``prefixes``: also translate ``<label> (<suffix>)`` by its label (Meta: ``Ausgegebener Betrag (EUR)``).
    """
    clean = [_norm(n) for n in names]
    best, hits = "en", 0
    for lang, table in dictionary.items():
        n = sum(
            1 for c in clean if _lookup(c, table, prefixes) is not None and _lookup(c, table, prefixes) != c
        )
        if n > hits:
            best, hits = lang, n
    if best == "en":
        return clean, "en"
    table = dictionary[best]
    return [_lookup(c, table, prefixes) or c for c in clean], best


def _lookup(name: str, table: dict[str, str], prefixes: bool) -> str | None:
    if name in table:
        return table[name]
    if prefixes and name.endswith(")") and " (" in name:
        label, rest = name.split(" (", 1)
        if label in table:
            return f"{table[label]} ({rest}"
    return None


def known_headers(dictionary: dict[str, dict[str, str]]) -> set[str]:
    """Every translated header of a format (for sniffing)."""
    return {k for table in dictionary.values() for k in table}
