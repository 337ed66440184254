"""The public surface: one explicit ``__init__``, complete and in step with the modules."""

from __future__ import annotations

import pytest

import cincopa_async
from cincopa_async import _errors, _models


def test_every_public_name_resolves() -> None:
    """Each name of ``__all__`` is importable from the package (lazy ones included)."""
    for name in cincopa_async.__all__:
        assert getattr(cincopa_async, name) is not None, name


def test_lazy_models_are_exactly_the_models() -> None:
    """The lazily exported names are the models module's ``__all__``, all in ``__all__``."""
    assert set(_models.__all__) == cincopa_async._LAZY_MODELS
    assert set(cincopa_async.__all__) >= cincopa_async._LAZY_MODELS


def test_every_error_class_is_public() -> None:
    """Each class of the exception tree is exported, QuotaExceededError included."""
    assert set(_errors.__all__) <= set(cincopa_async.__all__)
    assert issubclass(cincopa_async.QuotaExceededError, cincopa_async.APIResponseError)
    for name in _errors.__all__:
        assert getattr(cincopa_async, name).__module__ == "cincopa_async", name


def test_models_show_the_public_module() -> None:
    """Models and errors print as cincopa_async.X, where users import them from."""
    assert cincopa_async.Asset.__module__ == "cincopa_async"
    assert cincopa_async.RateLimitError.__module__ == "cincopa_async"


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="NoSuchThing"):
        _ = cincopa_async.NoSuchThing  # type: ignore[attr-defined]  # the point of the test
