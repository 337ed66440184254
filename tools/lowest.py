"""The pins of ``nox -s lowest``: each requirement at the lowest version its specifier allows."""

from __future__ import annotations

from packaging.requirements import Requirement

__all__ = ["lowest_pins"]


def lowest_pins(requirements: list[str]) -> list[str]:
    """``name[extras]==X; marker`` for each requirement's ``>=X`` bound (its extras and markers
    kept): the oldest versions the package claims to work with. A requirement without exactly
    one ``>=`` bound, or whose specifier excludes that bound itself (``>=1.0,!=1.0``), is a
    ``ValueError``: its lowest allowed version is not written in it."""
    pins = []
    for text in requirements:
        requirement = Requirement(text)
        floors = [spec.version for spec in requirement.specifier if spec.operator == ">="]
        if len(floors) != 1:
            raise ValueError(f"{text!r}: give each runtime dependency one >= bound")
        if not requirement.specifier.contains(floors[0], prereleases=True):
            raise ValueError(f"{text!r}: its >= bound is excluded; make the bound allowed")
        extras = f"[{','.join(sorted(requirement.extras))}]" if requirement.extras else ""
        marker = f"; {requirement.marker}" if requirement.marker else ""
        pins.append(f"{requirement.name}{extras}=={floors[0]}{marker}")
    return pins
