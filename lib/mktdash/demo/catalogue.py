"""The demo advertiser's accounts, campaigns, ad groups (audiences) and ads (creatives).

"Acme Outdoor" sells outdoor gear online (self-serve revenue tracked in GA4) and sells team/club
accounts through a sales team (CRM). Its media runs on five platforms and seven ad accounts, one of
them delivered through a Fivetran ``ad_reporting`` connector. Campaign names are chosen so that the
channel mapping of ``params/base.yaml`` (campaign type, then name patterns, then platform) gives the
channel stated here; the tests check that.

``scale`` multiplies the campaigns: copy ``k`` of a base campaign runs in another market and carries
the suffix ``" | <market>"`` (copy 0 has none). Everything is a pure function of ``seed`` and ``scale``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

CHANNELS: tuple[str, ...] = ("search", "social", "display", "video", "shopping")

# account_key -> (platform, export format, account_id, account_name, currency)
ACCOUNTS: dict[str, tuple[str, str, str, str, str]] = {
    "gads_us": ("google_ads", "google_ads_ui", "123-456-7890", "Acme Outdoor US", "USD"),
    "gads_ca": ("google_ads", "google_ads_editor", "234-567-8901", "Acme Outdoor CA", "USD"),
    "gads_outlet": ("google_ads", "fivetran", "345-678-9012", "Acme Outlet", "USD"),
    "msads": ("microsoft_ads", "microsoft_ads", "B012345678", "Acme Outdoor", "USD"),
    "meta": ("meta", "meta", "act_1029384756", "Acme Outdoor", "USD"),
    "linkedin": ("linkedin", "linkedin", "508123456", "Acme Outdoor EMEA", "EUR"),
    "tiktok": ("tiktok", "tiktok", "7012345678901234567", "Acme Outdoor UK", "GBP"),
}

# (account_key, campaign name, channel, campaign type as Google/Microsoft label it, relative weight in channel)
# The first campaign of each channel is always on (it carries the channel when others pause). The first
# MIN_CAMPAIGNS cover every channel and every account (so every export format), and exist at every scale.
BASE_CAMPAIGNS: tuple[tuple[str, str, str, str, float], ...] = (
    ("gads_us", "Search - Brand", "search", "Search", 3.0),
    ("meta", "Meta - Prospecting - Broad", "social", "", 3.0),
    ("gads_us", "Display - Remarketing", "display", "Display", 2.0),
    ("gads_us", "YouTube - Brand Awareness", "video", "Video", 3.0),
    ("gads_us", "Shopping - All Products", "shopping", "Shopping", 3.0),
    ("meta", "Meta - Lead Gen - Team Sales", "social", "", 0.8),
    ("gads_ca", "Search - Brand - CA", "search", "Search", 0.7),
    ("gads_outlet", "Outlet - Shopping - Feed", "shopping", "Shopping", 1.0),
    ("msads", "MS - Search - Generic", "search", "Search", 0.9),
    ("linkedin", "LI - Team Sales - Decision makers", "social", "", 0.9),
    ("tiktok", "TT - Video Views - Trail Stories", "video", "", 1.0),
    ("gads_us", "Search - Generic - Hiking Boots", "search", "Search", 2.5),
    ("gads_us", "Search - Generic - Rain Jackets", "search", "Search", 1.8),
    ("gads_us", "Search - Competitor", "search", "Search", 0.9),
    ("gads_us", "Search - DSA - All pages", "search", "Search", 0.8),
    ("gads_us", "PMax - Bestsellers", "shopping", "Performance Max", 2.0),
    ("gads_us", "Shopping - Clearance", "shopping", "Shopping", 0.8),
    ("gads_us", "Display - Prospecting - Outdoor affinity", "display", "Display", 1.5),
    ("gads_us", "YouTube - Product Demos", "video", "Video", 1.5),
    ("gads_ca", "Search - Generic - CA", "search", "Search", 0.6),
    ("gads_ca", "Shopping - CA", "shopping", "Shopping", 0.6),
    ("gads_outlet", "Outlet - Search - Deals", "search", "Search", 0.8),
    ("gads_outlet", "Outlet - Display - Retargeting", "display", "Display", 0.8),
    ("msads", "MS - Search - Brand", "search", "Search", 0.9),
    ("msads", "MS - Shopping - All Products", "shopping", "Shopping", 0.7),
    ("meta", "Meta - Prospecting - Lookalikes", "social", "", 2.0),
    ("meta", "Meta - Retargeting - DPA", "social", "", 1.5),
    ("meta", "Meta - Advantage+ Sales", "social", "", 1.5),
    ("meta", "Meta - Video Views - Brand", "video", "", 1.2),
    ("linkedin", "LI - Clubs & Schools - Sponsored Content", "social", "", 0.6),
    ("linkedin", "LI - Retargeting - Website visitors", "social", "", 0.4),
    ("tiktok", "TT - Conversions - Spark Ads", "social", "", 0.8),
    ("tiktok", "TT - Video - Creator collabs", "video", "", 0.7),
)
HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_REPLACES = (
    "Meta - Lead Gen - Team Sales"  # a meta (-> social by platform) campaign: mapping unchanged
)

MARKETS: tuple[str, ...] = (
    "US",
    "CA",
    "UK",
    "DE",
    "FR",
    "AU",
    "NL",
    "SE",
    "ES",
    "IT",
    "JP",
    "BR",
    "MX",
    "IE",
    "NZ",
    "AT",
    "CH",
    "BE",
    "DK",
    "NO",
    "FI",
    "PL",
    "PT",
    "SG",
    "IN",
)

# audiences (ad groups) per channel: "<strategy> | <segment>"
AUDIENCES: dict[str, tuple[str, ...]] = {
    "search": (
        "Keywords | Brand exact",
        "Keywords | Generic broad",
        "Keywords | Generic phrase",
        "In-market | Outdoor gear",
        "Retargeting | RLSA site visitors",
    ),
    "social": (
        "Prospecting | Lookalike 1%",
        "Prospecting | Interest - Hiking",
        "Prospecting | Broad 25-54",
        "Retargeting | Cart abandoners",
        "Retargeting | Site visitors 30d",
        "Customer match | Lapsed buyers",
    ),
    "display": (
        "Retargeting | Site visitors 30d",
        "Retargeting | Cart abandoners",
        "Affinity | Outdoor enthusiasts",
        "In-market | Camping equipment",
    ),
    "video": (
        "Prospecting | Affinity - Adventure travel",
        "Prospecting | Lookalike 3%",
        "Custom intent | Trail running",
        "Retargeting | Video viewers 50%",
    ),
    "shopping": (
        "Products | All items",
        "Products | Bestsellers",
        "Products | New arrivals",
        "Products | Clearance",
    ),
}
# creatives per channel: "<format> - <concept>", versions added at random
CREATIVES: dict[str, tuple[str, ...]] = {
    "search": ("RSA - Brand", "RSA - Free shipping", "RSA - Waterproof", "RSA - Price match", "ETA - Sale"),
    "social": (
        "Video 15s - Hero",
        "Carousel - Bestsellers",
        "Static 1080x1080 - Sale",
        "Reel 9s - UGC review",
        "Story - New season",
        "Collection - Camp kit",
    ),
    "display": (
        "Banner 300x250 - Retarget",
        "Banner 728x90 - Sale",
        "Responsive - Brand",
        "Banner 160x600 - New in",
    ),
    "video": (
        "Video 15s - Hero",
        "Video 6s bumper - Logo",
        "Video 30s - Trail story",
        "Video 20s - Product demo",
    ),
    "shopping": ("Product feed - All items", "Product feed - Bestsellers", "Product feed - Promotions"),
}
ADGROUPS_PER_CAMPAIGN = (2, 4)  # inclusive-exclusive range of ad groups per campaign
ADS_PER_ADGROUP = (2, 4)  # range of ads per ad group
# formats whose exports stop at the ad group (their rows have no ad id/name/creative)
AD_GROUP_GRAIN = frozenset({"google_ads_editor", "microsoft_ads"})
# source_relation as the warehouse will hold it: the format name, except what Fivetran wrote itself
SOURCE_RELATION = {"fivetran": "fivetran.google_ads"}
ID_BASE = {  # first id per platform (ids look like the platform's)
    "google_ads": 21_000_000_000,
    "microsoft_ads": 410_000_000,
    "meta": 120_200_000_000_000_000,
    "linkedin": 612_000_000,
    "tiktok": 1_790_000_000_000_000_000,
}


@dataclass(frozen=True)
class Catalogue:
    """Campaigns and ads of the demo world.

    Attributes
    ----------
    campaigns : DataFrame
        One row per campaign: ``campaign_key`` (0..n-1), account and platform fields, ``campaign_id``,
        ``campaign_name``, ``channel``, ``campaign_type``, ``weight``, ``base_index`` and ``copy``.
    ads : DataFrame
        One row per ad: ``ad_key`` (0..m-1), ``campaign_key``, ``ad_group_id``, ``ad_group_name``, ``ad_id``,
        ``ad_name``, ``audience``, ``creative``.
    """

    campaigns: pd.DataFrame
    ads: pd.DataFrame


MIN_CAMPAIGNS = 11


def n_campaigns(scale: float) -> int:
    """Number of campaigns at ``scale`` (at least MIN_CAMPAIGNS: every channel and account)."""
    return max(MIN_CAMPAIGNS, int(round(len(BASE_CAMPAIGNS) * scale)))


def build(seed: int, scale: float, hostile_names: bool = False) -> Catalogue:
    """The campaign and ad catalogue for ``seed`` and ``scale``.

    Parameters
    ----------
    seed : int
        World seed.
    scale : float
        Multiplies the number of campaigns (and so of ads and rows).
    hostile_names : bool
        Rename one campaign to ``<script>alert(1)</script>`` (HTML-escaping tests).

    Returns
    -------
    Catalogue
    """
    n = n_campaigns(scale)
    base = np.arange(n) % len(BASE_CAMPAIGNS)
    copy = np.arange(n) // len(BASE_CAMPAIGNS)
    rows = []
    for key, (b, k) in enumerate(zip(base, copy, strict=True)):
        acct, name, channel, ctype, weight = BASE_CAMPAIGNS[b]
        platform, fmt, account_id, account_name, currency = ACCOUNTS[acct]
        if hostile_names and k == 0 and name == HOSTILE_REPLACES:
            name = HOSTILE_NAME
        if k:
            name = f"{name} | {MARKETS[k % len(MARKETS)]}" + (
                f" {k // len(MARKETS) + 1}" if k >= len(MARKETS) else ""
            )
        rows.append(
            dict(
                campaign_key=key,
                account_key=acct,
                platform=platform,
                format=fmt,
                account_id=account_id,
                account_name=account_name,
                currency=currency,
                source_relation=SOURCE_RELATION.get(fmt, fmt),
                campaign_id=str(ID_BASE[platform] + 7919 * key + 13),
                campaign_name=name,
                channel=channel,
                campaign_type=ctype,
                weight=weight,
                base_index=int(b),
                copy=int(k),
            )
        )
    campaigns = pd.DataFrame(rows)
    return Catalogue(campaigns=campaigns, ads=_ads(campaigns, seed))


def _ads(campaigns: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Ad groups and ads of every campaign (drawn per campaign from its own random stream)."""
    rows = []
    for c in campaigns.itertuples(index=False):  # one iteration per campaign, not per row of data
        rng = np.random.default_rng([seed, 101, c.base_index, c.copy])
        auds = AUDIENCES[c.channel]
        n_groups = int(rng.integers(*ADGROUPS_PER_CAMPAIGN))
        for g, a in enumerate(rng.choice(len(auds), size=min(n_groups, len(auds)), replace=False)):
            ag_id = str(int(c.campaign_id) * 10 + g + 1)
            crs = CREATIVES[c.channel]
            n_ads = int(rng.integers(*ADS_PER_ADGROUP))
            for j, cr in enumerate(rng.choice(len(crs), size=min(n_ads, len(crs)), replace=False)):
                version = int(rng.integers(1, 4))
                creative: str | None = f"{crs[cr]} v{version}"
                ad_id: str | None = str(int(ag_id) * 10 + j + 1)
                if c.format in AD_GROUP_GRAIN:  # one row per ad group: the export has no ad level
                    creative = ad_id = None
                rows.append(
                    dict(
                        campaign_key=c.campaign_key,
                        ad_group_id=ag_id,
                        ad_group_name=auds[a],
                        audience=auds[a],
                        ad_id=ad_id,
                        ad_name=creative,
                        creative=creative,
                    )
                )
                if c.format in AD_GROUP_GRAIN:
                    break
    ads = pd.DataFrame(rows)
    ads.insert(0, "ad_key", np.arange(len(ads)))
    return ads
