"""The demo world's sales and customer side: leads, CRM contacts and deals, journeys, product usage, health.

Leads arrive every day from each paid channel in proportion to its spend, and from organic sources at a
steady rate; lead quality, opportunity and win rates, deal size, sales-cycle length, feature adoption and
churn all differ by acquisition channel, so the cross-domain views have something to show. HubSpot holds
most of the business; an EMEA business unit works in Salesforce (EUR). Contacts carry realistic fake PII
(names, ``@example.*`` emails, 555-01xx phone numbers) that ingest must hash.

All draws are vectorised (one array per attribute); the only loops run over channels or features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from mktdash.demo.catalogue import BASE_CAMPAIGNS, CHANNELS, Catalogue
from mktdash.warehouse import schema

if TYPE_CHECKING:
    from mktdash.demo.axis import Axis

SOURCES = CHANNELS + ("organic", "direct", "email", "referral")
# per source: HubSpot original source, Salesforce lead source (both mapped by params.channels.crm_sources)
HUBSPOT_SOURCE = {
    "search": "PAID_SEARCH",
    "social": "PAID_SOCIAL",
    "display": "Display",
    "video": "Paid Video",
    "shopping": "Paid Shopping",
    "organic": "ORGANIC_SEARCH",
    "direct": "DIRECT_TRAFFIC",
    "email": "EMAIL_MARKETING",
    "referral": "REFERRALS",
}
SALESFORCE_SOURCE = {
    "search": "Paid Search",
    "social": "Paid Social",
    "display": "Display",
    "video": "Paid Video",
    "shopping": "Paid Shopping",
    "organic": "Organic Search",
    "direct": "Direct",
    "email": "Email",
    "referral": "Referral",
}
LEADS_PER_1K = {
    "search": 0.50,
    "social": 0.45,
    "display": 0.20,
    "video": 0.15,
    "shopping": 0.30,
}  # per $1k spend
LEADS_PER_WEEK = {"organic": 12.0, "direct": 8.0, "email": 6.0, "referral": 5.0}
# per source: (lead score mean, P(opportunity), P(win), sales cycle mean days, deal amount mean USD)
FUNNEL = {
    "search": (62, 0.24, 0.30, 32, 9_000),
    "social": (48, 0.12, 0.20, 46, 6_500),
    "display": (40, 0.08, 0.15, 55, 6_000),
    "video": (45, 0.10, 0.18, 50, 7_000),
    "shopping": (55, 0.15, 0.26, 24, 5_500),
    "organic": (60, 0.20, 0.28, 38, 8_500),
    "direct": (58, 0.22, 0.27, 35, 9_500),
    "email": (52, 0.18, 0.24, 30, 7_500),
    "referral": (70, 0.35, 0.40, 34, 11_000),
}
SALESFORCE_SHARE = {"social": 0.35}  # share of leads worked by the EMEA unit (default below)
SALESFORCE_DEFAULT = 0.15
HUBSPOT_STAGES_OPEN = (
    "Appointment Scheduled",
    "Qualified To Buy",
    "Presentation Scheduled",
    "Decision Maker Bought-In",
    "Contract Sent",
)
SALESFORCE_STAGES_OPEN = (
    "Prospecting",
    "Qualification",
    "Needs Analysis",
    "Proposal/Price Quote",
    "Negotiation/Review",
)
# per source: (monthly churn hazard, health score mean)
RETENTION = {
    "search": (0.020, 74),
    "social": (0.040, 66),
    "display": (0.050, 62),
    "video": (0.035, 68),
    "shopping": (0.025, 72),
    "organic": (0.022, 75),
    "direct": (0.024, 73),
    "email": (0.030, 70),
    "referral": (0.015, 78),
}
FEATURES = {  # feature -> (base adoption, weekly events per adopting customer)
    "workout_tracker": (0.70, 40.0),
    "route_planner": (0.55, 25.0),
    "gear_wishlist": (0.45, 8.0),
    "member_offers": (0.60, 6.0),
    "community": (0.35, 15.0),
    "team_dashboard": (0.40, 20.0),
}
ADOPTION_BY_SOURCE = {
    "search": 1.0,
    "social": 0.75,
    "display": 0.65,
    "video": 0.8,
    "shopping": 0.9,
    "organic": 1.05,
    "direct": 1.0,
    "email": 0.9,
    "referral": 1.2,
}
JOURNEYS = 4_000  # journeys at crm_scale 1, over the last JOURNEY_WEEKS weeks
JOURNEY_WEEKS = 26
TOUCH_COUNTS = (0.35, 0.25, 0.17, 0.11, 0.07, 0.05)  # P(1..6 touches)
NONPAID_TOUCH = {
    "organic": 0.22,
    "direct": 0.18,
    "email": 0.12,
    "referral": 0.06,
}  # touch weights vs paid 1.0
CONVERT_EFFECT = {
    "search": 0.9,
    "social": 0.3,
    "display": 0.05,
    "video": 0.2,
    "shopping": 0.8,
    "organic": 0.5,
    "direct": 0.7,
    "email": 0.6,
    "referral": 0.6,
}
FIRST = (
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Carlos",
    "Karen",
    "Lena",
    "Mohammed",
    "Aisha",
    "Hiroshi",
    "Sofia",
    "Lukas",
    "Emma",
    "Noah",
    "Olivia",
    "Liam",
    "Ana",
    "Mateo",
    "Chloe",
    "Priya",
    "Arjun",
    "Fatima",
    "Jonas",
    "Ingrid",
    "Pierre",
    "Camille",
)
LAST = (
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Müller",
    "Schmidt",
    "Dubois",
    "Rossi",
    "Nakamura",
    "Kowalski",
    "Nielsen",
    "O'Brien",
    "Patel",
    "Khan",
    "Silva",
    "Jansen",
    "Novak",
    "Eriksson",
    "Fischer",
    "Moreau",
    "Ricci",
    "Tanaka",
    "Walsh",
    "Costa",
)
EMAIL_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com", "outdoors.example")
ORG_A = (
    "Pine Ridge",
    "Blue Lake",
    "Summit",
    "Cedar Valley",
    "North Fork",
    "Granite Peak",
    "Riverbend",
    "Eagle Crest",
    "Silver Birch",
    "Red Rock",
    "Maple Hollow",
    "Stony Brook",
    "Highland",
    "Coastal",
)
ORG_B = (
    "Hiking Club",
    "Scouts",
    "High School",
    "Running Club",
    "Climbing Gym",
    "Adventure Camp",
    "Ski Team",
    "Outdoor Center",
    "Trail Runners",
    "University Club",
    "Paddling Club",
    "Youth League",
)


@dataclass
class Business:
    tables: dict[str, pd.DataFrame]
    contacts_pii: pd.DataFrame
    pii_probe: list[dict[str, str]]


def simulate(
    rng: np.random.Generator,
    axis: Axis,
    cat: Catalogue,
    spend_w: np.ndarray,
    crm_scale: float,
    fx: dict[str, np.ndarray],
) -> Business:
    """Leads -> contacts and deals -> customers -> usage and health; journeys over the last weeks.

    ``spend_w`` is weekly spend per channel in USD (weeks x channels) at the world's money factor.
    """
    money = len(cat.campaigns) / len(BASE_CAMPAIGNS)
    leads = _leads(rng, axis, cat, spend_w / max(money, 1e-9) * crm_scale, crm_scale)
    contacts, pii_frame = _contacts(rng, leads, axis)
    deals = _deals(rng, leads, axis, fx)
    customers = _customers(rng, deals, axis)
    tables = {
        "crm_contacts": contacts,
        "crm_deals": deals,
        "customer_health": _health(rng, customers, axis),
        "product_usage": _usage(rng, customers, axis),
        "touchpoints": _touchpoints(rng, axis, cat, spend_w, crm_scale),
    }
    probe = pii_frame.head(3)[["email", "phone", "first_name", "last_name"]].astype(str).to_dict("records")
    return Business(tables=tables, contacts_pii=pii_frame, pii_probe=probe)


def _campaign_for(rng: np.random.Generator, cat: Catalogue, source: np.ndarray) -> np.ndarray:
    """A campaign name per lead of a paid source (weighted by campaign weight); None otherwise."""
    out = np.full(len(source), None, dtype=object)
    camp = cat.campaigns
    for c in CHANNELS:
        rows = np.flatnonzero(source == c)
        pool = camp[camp["channel"] == c]
        p = pool["weight"].to_numpy() / pool["weight"].sum()
        out[rows] = pool["campaign_name"].to_numpy()[rng.choice(len(pool), size=len(rows), p=p)]
    return out


def _leads(
    rng: np.random.Generator, axis: Axis, cat: Catalogue, spend_w: np.ndarray, crm_scale: float
) -> pd.DataFrame:
    """One row per lead: day index, source, CRM, campaign, lead score."""
    n_days = axis.n_days
    day_week = np.arange(n_days) // 7
    lam = np.zeros((n_days, len(SOURCES)))
    for j, c in enumerate(CHANNELS):
        lam[:, j] = spend_w[day_week, j] / 7.0 / 1000.0 * LEADS_PER_1K[c]
    for j, s in enumerate(SOURCES[len(CHANNELS) :], start=len(CHANNELS)):
        lam[:, j] = LEADS_PER_WEEK[s] / 7.0 * crm_scale
    counts = rng.poisson(lam)
    day = np.repeat(np.tile(np.arange(n_days)[:, None], (1, len(SOURCES))).ravel(), counts.ravel())
    src = np.repeat(np.tile(np.array(SOURCES), n_days), counts.ravel())
    n = len(day)
    sf_p = np.array([SALESFORCE_SHARE.get(s, SALESFORCE_DEFAULT) for s in src])
    score_mean = np.array([FUNNEL[s][0] for s in src], dtype=float)
    return pd.DataFrame(
        {
            "day": day,
            "source": src,
            "crm": np.where(rng.random(n) < sf_p, "salesforce", "hubspot"),
            "campaign_name": _campaign_for(rng, cat, src),
            "lead_score": np.clip(np.round(score_mean + rng.normal(0, 15, n)), 0, 100),
            "hour": rng.integers(7, 22, n),
            "minute": rng.integers(0, 60, n),
        }
    )


def _dates(axis: Axis, day: np.ndarray) -> np.ndarray:
    return (np.datetime64(axis.first_monday, "D") + day.astype("timedelta64[D]")).astype("datetime64[s]")


def _contacts(rng: np.random.Generator, leads: pd.DataFrame, axis: Axis) -> tuple[pd.DataFrame, pd.DataFrame]:
    """HubSpot contacts (canonical, hashes left to ingest) and their raw PII."""
    hs = leads[leads["crm"] == "hubspot"].reset_index()
    n = len(hs)
    first = np.array(FIRST)[rng.integers(0, len(FIRST), n)]
    last = np.array(LAST)[rng.integers(0, len(LAST), n)]
    ids = (51_000_001 + hs["index"].to_numpy() * 3).astype(str)
    num = rng.integers(1, 999, n).astype(str)
    local = (
        pd.Series(first).str.lower()
        + "."
        + pd.Series(last).str.lower().str.replace("'", "").str.replace("ü", "ue")
        + np.where(rng.random(n) < 0.5, num, "")
    )
    email = local + "@" + np.array(EMAIL_DOMAINS)[rng.integers(0, len(EMAIL_DOMAINS), n)]
    phone = (
        "+1 "
        + pd.Series(rng.integers(201, 990, n).astype(str))
        + " 555 01"
        + pd.Series(rng.integers(0, 100, n)).astype(str).str.zfill(2)
    )
    score = hs["lead_score"].to_numpy()
    stage = np.where(
        score >= 70, "salesqualifiedlead", np.where(score >= 50, "marketingqualifiedlead", "lead")
    )
    status = np.array(["NEW", "OPEN", "IN_PROGRESS", "ATTEMPTED_TO_CONTACT", "CONNECTED", "UNQUALIFIED"])[
        rng.integers(0, 6, n)
    ]
    created = _dates(axis, hs["day"].to_numpy()) + (
        hs["hour"].to_numpy() * 3600 + hs["minute"].to_numpy() * 60
    ).astype("timedelta64[s]")
    contacts = schema.conform(
        pd.DataFrame(
            {
                "contact_id": ids,
                "crm": "hubspot",
                "created_date": created.astype("datetime64[D]"),
                "lifecycle_stage": stage,
                "lead_status": status,
                "lead_score": score,
                "original_source": hs["source"].map(HUBSPOT_SOURCE).to_numpy(),
                "channel": hs["source"].to_numpy(),
                "original_campaign": hs["campaign_name"].to_numpy(),
            }
        ),
        "crm_contacts",
    ).drop(columns="ingest_id")
    pii_frame = pd.DataFrame(
        {
            "contact_id": ids,
            "first_name": first,
            "last_name": last,
            "email": email.to_numpy(),
            "phone": phone.to_numpy(),
        }
    )
    leads.loc[hs["index"], "contact_id"] = ids
    return contacts, pii_frame


def _deals(
    rng: np.random.Generator, leads: pd.DataFrame, axis: Axis, fx: dict[str, np.ndarray]
) -> pd.DataFrame:
    """Opportunities from leads, closed won/lost after a channel-dependent sales cycle, or still open."""
    f = {
        k: np.array([FUNNEL[s][i] for s in leads["source"]], dtype=float)
        for i, k in enumerate(("score", "p_opp", "p_win", "cycle", "amount"))
    }
    is_opp = rng.random(len(leads)) < f["p_opp"] * (0.6 + 0.8 * leads["lead_score"].to_numpy() / 100)
    d = leads[is_opp].reset_index(drop=True)
    sel = {k: v[is_opp] for k, v in f.items()}
    n = len(d)
    created = d["day"].to_numpy() + np.round(rng.gamma(2.0, 3.0, n)).astype(int)
    cycle = np.maximum(np.round(rng.gamma(3.0, sel["cycle"] / 3.0)).astype(int), 3)
    close = created + cycle
    keep = created < axis.n_days
    d, created, close, sel = (
        d[keep].reset_index(drop=True),
        created[keep],
        close[keep],
        {k: v[keep] for k, v in sel.items()},
    )
    n = len(d)
    won = rng.random(n) < sel["p_win"]
    closed = close < axis.n_days
    sf = (d["crm"] == "salesforce").to_numpy()
    open_stage = np.where(
        sf,
        np.array(SALESFORCE_STAGES_OPEN)[rng.integers(0, 5, n)],
        np.array(HUBSPOT_STAGES_OPEN)[rng.integers(0, 5, n)],
    )
    stage = np.where(closed, np.where(won, "Closed Won", "Closed Lost"), open_stage)
    amount_usd = np.round(sel["amount"] * np.exp(rng.normal(-0.125, 0.5, n)), -1)
    eur = fx["EUR"][np.minimum(created, len(fx["EUR"]) - 1)]
    amount = np.where(sf, np.round(amount_usd / eur, -1), amount_usd)
    org = (
        np.array(ORG_A)[rng.integers(0, len(ORG_A), n)].astype(object)
        + " "
        + np.array(ORG_B)[rng.integers(0, len(ORG_B), n)].astype(object)
    )
    deal_id = np.where(
        sf,
        pd.Series(np.arange(n)).map(lambda i: f"0065g00000{i:08d}"[-18:]).to_numpy(),
        (9_100_000_000 + np.arange(n) * 7).astype(str),
    )
    is_won = closed & won
    customer = np.full(n, None, dtype=object)
    customer[is_won] = [f"CUST-{i:05d}" for i in range(1, is_won.sum() + 1)]
    src = d["source"].to_numpy()
    deals = pd.DataFrame(
        {
            "deal_id": deal_id,
            "crm": d["crm"].to_numpy(),
            "deal_name": org + " - Team kit",
            "stage": stage,
            "is_closed": closed,
            "is_won": is_won,
            "amount": amount,
            "currency": np.where(sf, "EUR", "USD"),
            "amount_reporting": np.where(sf, amount * eur, amount),
            "created_date": _dates(axis, created),
            "close_date": np.where(closed, _dates(axis, close), np.datetime64("NaT")),
            "pipeline": np.where(sf, "EMEA New Business", "Sales Pipeline"),
            "lead_source": np.where(
                sf, pd.Series(src).map(SALESFORCE_SOURCE), pd.Series(src).map(HUBSPOT_SOURCE)
            ),
            "channel": src,
            "campaign_name": d["campaign_name"].to_numpy(),
            "contact_id": d["contact_id"].to_numpy() if "contact_id" in d else None,
            "customer_id": customer,
        }
    )
    return schema.conform(deals, "crm_deals").drop(columns="ingest_id")


def _customers(rng: np.random.Generator, deals: pd.DataFrame, axis: Axis) -> pd.DataFrame:
    """Won deals as customers: start month, churn month (geometric by channel) or None."""
    won = deals[deals["is_won"].fillna(False)].reset_index(drop=True)
    n = len(won)
    hazard = np.array([RETENTION[c][0] for c in won["channel"]])
    life = rng.geometric(hazard)  # months until churn
    start = won["close_date"].dt.to_period("M").dt.to_timestamp() + pd.offsets.MonthBegin(1)
    return pd.DataFrame(
        {
            "customer_id": won["customer_id"].to_numpy(),
            "channel": won["channel"].to_numpy(),
            "start": start.to_numpy(),
            "life": life,
            "mrr": np.round(won["amount_reporting"].to_numpy() / 12.0, 2),
            "health_mean": np.array([RETENTION[c][1] for c in won["channel"]], dtype=float),
            "seats": np.maximum(1, np.round(won["amount_reporting"].to_numpy() / 900)).astype(int),
            "last_day": np.full(n, np.datetime64(axis.end, "s")),
        }
    )


def _health(rng: np.random.Generator, cust: pd.DataFrame, axis: Axis) -> pd.DataFrame:
    """Monthly snapshots (first of month) from a customer's first month until churn (flagged) or today."""
    last_month = pd.Timestamp(axis.end).to_period("M").to_timestamp()
    months = (last_month.year - cust["start"].dt.year) * 12 + last_month.month - cust["start"].dt.month + 1
    n_snap = np.clip(np.minimum(months.to_numpy(), cust["life"].to_numpy()), 0, None)
    idx = np.repeat(np.arange(len(cust)), n_snap)
    k = np.arange(len(idx)) - np.repeat(np.cumsum(n_snap) - n_snap, n_snap)
    c = cust.iloc[idx].reset_index(drop=True)
    snap = (c["start"].dt.to_period("M") + k).dt.to_timestamp()
    churned = k + 1 == c["life"].to_numpy()
    to_churn = c["life"].to_numpy() - 1 - k
    score = (
        c["health_mean"].to_numpy()
        + rng.normal(0, 8, len(idx))
        - np.where(to_churn < 3, 18 - 5 * to_churn, 0)
    )
    plan = np.where(c["mrr"] < 400, "Starter", np.where(c["mrr"] < 1500, "Growth", "Enterprise"))
    df = pd.DataFrame(
        {
            "snapshot_date": snap.to_numpy(),
            "customer_id": c["customer_id"].to_numpy(),
            "acquisition_channel": c["channel"].to_numpy(),
            "plan": plan,
            "mrr": c["mrr"].to_numpy(),
            "health_score": np.clip(np.round(score, 1), 0, 100),
            "churned": churned,
        }
    )
    return schema.conform(df, "customer_health").drop(columns="ingest_id")


def _usage(rng: np.random.Generator, cust: pd.DataFrame, axis: Axis) -> pd.DataFrame:
    """Weekly feature usage (date_day = Monday) of adopted features while the customer is active."""
    mondays = pd.date_range(axis.first_monday, periods=axis.n_complete, freq="7D")
    start = np.searchsorted(mondays.to_numpy(), cust["start"].to_numpy())
    churn_day = (cust["start"] + pd.to_timedelta(cust["life"] * 30.44, unit="D")).to_numpy()
    stop = np.searchsorted(mondays.to_numpy(), churn_day)
    n_w = np.clip(stop - start, 0, None)
    idx = np.repeat(np.arange(len(cust)), n_w)
    wk = np.repeat(start, n_w) + np.arange(len(idx)) - np.repeat(np.cumsum(n_w) - n_w, n_w)
    parts = []
    src = cust["channel"].to_numpy()
    for f, (adopt, events) in FEATURES.items():
        p = np.clip(adopt * np.array([ADOPTION_BY_SOURCE[s] for s in src]), 0, 0.98)
        adopted = rng.random(len(cust)) < p
        rows = adopted[idx]
        i, w = idx[rows], wk[rows]
        seats = cust["seats"].to_numpy()[i]
        active = rng.binomial(seats, 0.7)
        parts.append(
            pd.DataFrame(
                {
                    "date_day": mondays.to_numpy()[w],
                    "customer_id": cust["customer_id"].to_numpy()[i],
                    "feature": f,
                    "events": rng.poisson(events * np.maximum(active, 0.2)),
                    "active_users": active,
                }
            )
        )
    df = pd.concat(parts, ignore_index=True).sort_values(
        ["date_day", "customer_id", "feature"], kind="stable"
    )
    return schema.conform(df, "product_usage").drop(columns="ingest_id")


def _touchpoints(
    rng: np.random.Generator, axis: Axis, cat: Catalogue, spend_w: np.ndarray, crm_scale: float
) -> pd.DataFrame:
    """Multi-touch journeys over the last JOURNEY_WEEKS weeks; paid touches follow the week's spend mix."""
    n = max(200, int(JOURNEYS * crm_scale))
    k = rng.choice(np.arange(1, 7), size=n, p=TOUCH_COUNTS)
    end_ts = np.datetime64(axis.end, "s") + np.timedelta64(86399, "s")
    span_s = JOURNEY_WEEKS * 7 * 86400
    start = end_ts - rng.integers(3 * 86400, span_s, n).astype("timedelta64[s]")
    j = np.repeat(np.arange(n), k)
    pos = np.arange(len(j)) - np.repeat(np.cumsum(k) - k, k)
    gap = np.where(pos == 0, 0, rng.exponential(1.5 * 86400, len(j))).astype(np.int64)
    offset = _group_cumsum(gap, k)
    ts = start[j] + offset.astype("timedelta64[s]")
    overflow = np.maximum(ts[np.cumsum(k) - 1] - end_ts, np.timedelta64(0, "s"))  # shift late journeys back
    ts = ts - overflow[j]
    week = np.clip(
        ((ts.astype("datetime64[D]") - np.datetime64(axis.first_monday, "D")).astype(int)) // 7,
        0,
        spend_w.shape[0] - 1,
    )
    paid = spend_w[week] / spend_w[week].sum(axis=1, keepdims=True)
    weights = np.concatenate([paid, np.tile(list(NONPAID_TOUCH.values()), (len(j), 1))], axis=1)
    cum = np.cumsum(weights / weights.sum(axis=1, keepdims=True), axis=1)
    ch_idx = np.minimum((rng.random(len(j))[:, None] > cum).sum(axis=1), len(SOURCES) - 1)
    channel = np.array(SOURCES)[ch_idx]
    effect = np.array([CONVERT_EFFECT[s] for s in SOURCES])[ch_idx]
    score = np.bincount(j, effect, n)
    converted = rng.random(n) < 1 / (1 + np.exp(-(score - 2.2)))
    value = np.where(converted, np.round(np.exp(rng.normal(np.log(95), 0.5, n)), 2), 0.0)
    campaign = _campaign_for(rng, cat, channel)
    campaign[channel == "email"] = "Newsletter"
    df = pd.DataFrame(
        {
            "journey_id": pd.Series(j + 1).map("J{:06d}".format).to_numpy(),
            "touch_ts": ts,
            "channel": channel,
            "campaign_name": campaign,
            "converted": converted[j],
            "conversion_value": value[j],
        }
    )
    return schema.conform(df, "touchpoints").drop(columns="ingest_id")


def _group_cumsum(values: np.ndarray, sizes: np.ndarray) -> np.ndarray:
    """Cumulative sum restarting at each group of consecutive ``sizes``."""
    cs = np.cumsum(values)
    starts = np.cumsum(sizes) - sizes
    return cs - np.repeat(cs[starts] - values[starts], sizes)
