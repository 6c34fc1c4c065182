"""Default tenant profiles of the synthetic universe.

Twenty online merchants, named ``<sensitivity>_<category>``. Each has a city
(one of :data:`CITIES`), 3-8 product categories with a weather affinity
(``cold``, ``warm``, ``rain`` or ``neutral``) and the direction in which
weather amplifies its media (``temp_sign``, ``rain_sign``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AFFINITIES",
    "CITIES",
    "PROFILES",
    "SENSITIVITIES",
    "TenantProfile",
    "select_profiles",
]

CITIES: tuple[str, ...] = ("Phoenix", "Seattle", "Chicago", "Miami", "Denver")
SENSITIVITIES: tuple[str, ...] = ("extreme", "high", "medium", "none")
AFFINITIES: tuple[str, ...] = ("cold", "warm", "rain", "neutral")


@dataclass(frozen=True)
class TenantProfile:
    """Static description of one merchant archetype.

    Attributes
    ----------
    name : str
        ``<sensitivity>_<category>``, the base of the tenant id.
    city : str
        One of :data:`CITIES`.
    categories : tuple of (str, str)
        ``(product category, weather affinity)`` pairs.
    temp_sign, rain_sign : int
        Sign (-1, 0, +1) of the weather amplification of media by temperature
        and by rain; 0 means a negligible effect.
    """

    name: str
    city: str
    categories: tuple[tuple[str, str], ...]
    temp_sign: int = 0
    rain_sign: int = 0

    @property
    def sensitivity(self) -> str:
        """Weather sensitivity class: the name's prefix."""
        return self.name.split("_", 1)[0]

    @property
    def category(self) -> str:
        """Merchant category: the name without its sensitivity prefix."""
        return self.name.split("_", 1)[1]


def _p(name: str, city: str, cats: str, temp: int = 0, rain: int = 0) -> TenantProfile:
    pairs = tuple((c.split(":")[0], c.split(":")[1]) for c in cats.split())
    return TenantProfile(name, city, pairs, temp, rain)


#: The 20 default profiles, in canonical order.
PROFILES: tuple[TenantProfile, ...] = (
    _p("extreme_rain_gear", "Seattle",
       "raincoats:rain umbrellas:rain rain_boots:rain dry_bags:rain fleece:cold hats:neutral", 0, 1),
    _p("high_outdoor_gear", "Denver",
       "tents:warm hiking_boots:neutral insulated_jackets:cold rain_shells:rain backpacks:neutral "
       "camp_stoves:warm", 1, -1),
    _p("high_umbrella_rain", "Miami",
       "umbrellas:rain ponchos:rain rain_boots:rain beach_umbrellas:warm", 0, 1),
    _p("extreme_heating", "Chicago",
       "space_heaters:cold electric_blankets:cold firewood:cold humidifiers:cold thermostats:neutral",
       -1, 0),
    _p("high_winter_clothing", "Chicago",
       "parkas:cold gloves:cold scarves:cold thermals:cold snow_boots:cold sweaters:cold "
       "tshirts:neutral", -1, 0),
    _p("extreme_ski_gear", "Denver",
       "skis:cold snowboards:cold goggles:cold ski_jackets:cold wax:neutral", -1, 0),
    _p("high_gym_activity", "Seattle",
       "treadmills:rain home_gym:cold yoga_mats:neutral supplements:neutral activewear:neutral",
       -1, 1),
    _p("high_summer_clothing", "Miami",
       "swimwear:warm shorts:warm sandals:warm sun_hats:warm tshirts:neutral", 1, -1),
    _p("extreme_cooling", "Phoenix",
       "air_conditioners:warm fans:warm coolers:warm misters:warm filters:neutral", 1, 0),
    _p("extreme_sunscreen", "Phoenix",
       "sunscreen:warm after_sun:warm sunglasses:warm lip_balm:neutral", 1, -1),
    _p("medium_clothing", "Chicago",
       "coats:cold sweaters:cold dresses:warm tshirts:warm jeans:neutral basics:neutral", -1, 0),
    _p("medium_accessories", "Seattle",
       "umbrellas:rain sunglasses:warm bags:neutral hats:neutral scarves:cold", 0, 1),
    _p("medium_beauty", "Miami",
       "sunscreen:warm moisturizer:cold makeup:neutral haircare:neutral fragrance:neutral", 1, 0),
    _p("medium_footwear", "Denver",
       "boots:cold sandals:warm sneakers:neutral rain_boots:rain", -1, 1),
    _p("medium_sports", "Phoenix",
       "swim:warm cycling:warm running:neutral team_sports:neutral", 1, 0),
    _p("none_books", "Chicago", "fiction:neutral nonfiction:neutral kids:neutral textbooks:neutral"),
    _p("none_electronics", "Seattle",
       "phones:neutral laptops:neutral audio:neutral cables:neutral"),
    _p("none_home_decor", "Denver", "lighting:neutral rugs:neutral wall_art:neutral"),
    _p("none_kitchen", "Phoenix",
       "cookware:neutral utensils:neutral appliances:neutral tableware:neutral"),
    _p("none_office_supplies", "Miami",
       "paper:neutral pens:neutral desks:neutral organizers:neutral"),
)

#: Interleaved order of the profiles: every prefix mixes sensitivities
#: (an extreme/high, a medium and a none tenant in the first 3).
_ORDER: tuple[int, ...] = (0, 10, 15, 3, 11, 16, 5, 12, 17, 1, 13, 18, 8, 14, 19, 2, 4, 6, 7, 9)


def select_profiles(n_tenants: int) -> list[tuple[str, TenantProfile]]:
    """Tenant ids and profiles of a universe of ``n_tenants`` merchants.

    Profiles are taken in a fixed interleaved order (so that the first ``k``
    tenants are the same for every ``n_tenants >= k``); beyond 20 the order is
    cycled and ids get a suffix (``extreme_rain_gear_2``).

    Parameters
    ----------
    n_tenants : int
        Number of tenants, >= 1.

    Returns
    -------
    list of (str, TenantProfile)
        ``(tenant_id, profile)`` pairs, position ``k`` independent of ``n_tenants``.
    """
    if n_tenants < 1:
        raise ValueError(f"n_tenants must be >= 1, got {n_tenants}")
    out = []
    for k in range(n_tenants):
        cycle, pos = divmod(k, len(_ORDER))
        prof = PROFILES[_ORDER[pos]]
        out.append((prof.name if cycle == 0 else f"{prof.name}_{cycle + 1}", prof))
    return out
