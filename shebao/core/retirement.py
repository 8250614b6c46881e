"""The statutory retirement age and month (DOMAIN §7).

The 2024 decision of the NPC Standing Committee raises the ages gradually from 2025-01: men from 60
towards 63 and women cadres from 55 towards 58 by one month for every four months of birth (from
births in 1965-01 and 1970-01), women workers from 50 towards 55 by one month for every two months
(from births in 1975-01). The retirement month is the birth month plus that age in months: a man
born 1965-01 retires at 60 years 1 month, in 2025-02; a woman worker born 1975-03 at 50 years 2
months, in 2025-05. Pure: no database."""

from dataclasses import dataclass
from datetime import date

from shebao.core.periods import Period


@dataclass(frozen=True)
class Track:
    label: str
    base_years: int
    first_raised_birth: Period  # births from this month retire later
    birth_months_per_step: int  # every this many birth months add one month
    max_raise_months: int

    def age_months(self, birth: date) -> int:
        """The statutory retirement age, in months, of a person born on `birth`."""
        since = Period.of(birth) - self.first_raised_birth
        raise_months = 0 if since < 0 else since // self.birth_months_per_step + 1
        return self.base_years * 12 + min(raise_months, self.max_raise_months)


MEN = Track("男性", 60, Period(1965, 1), 4, 36)
WOMEN_CADRES = Track("女性", 55, Period(1970, 1), 4, 36)
WOMEN_WORKERS = Track("女职工", 50, Period(1975, 1), 2, 60)


def track_for(sex: str, *, cadre: bool = True) -> Track:
    """Men (sex "1") follow MEN; women cadres and, by common practice, women flexible workers
    WOMEN_CADRES; women workers WOMEN_WORKERS."""
    if sex == "1":
        return MEN
    return WOMEN_CADRES if cadre else WOMEN_WORKERS


def retirement_period(birth: date, track: Track) -> Period:
    return Period.of(birth) + track.age_months(birth)


def age_label(months: int) -> str:
    """60 years 2 months as "60 周岁 2 个月"; whole years as "60 周岁"."""
    years, rest = divmod(months, 12)
    return f"{years} 周岁" + (f" {rest} 个月" if rest else "")
