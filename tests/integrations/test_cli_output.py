"""What the ``cincopa`` command prints, in-process: depth limits, unencodable text, the
credential policy's tables, and the last-resort error line."""

from __future__ import annotations

import io
import json
from typing import Any

import attrs
import pytest

import cincopa_async._models as models
from cincopa_async._spec import ENDPOINTS
from cincopa_async.cli import _app
from cincopa_async.cli._output import (
    CREDENTIAL_COMMANDS,
    CREDENTIAL_KEYS,
    MAX_OUTPUT_DEPTH,
    OutputTooDeepError,
    cell,
    dumps,
    to_jsonable,
)

TOKEN = "7654321iunitoutputtokenabcdefghij"


def nested(depth: int) -> Any:
    """``depth`` lists, one inside the other."""
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_to_jsonable_is_iterative_and_bounded() -> None:
    """Past the bound a typed error naming where, at any depth -- never a RecursionError."""
    assert to_jsonable(nested(MAX_OUTPUT_DEPTH)) == nested(MAX_OUTPUT_DEPTH)
    for depth in (MAX_OUTPUT_DEPTH + 1, 1_000, 200_000):
        with pytest.raises(OutputTooDeepError) as caught:
            to_jsonable({"x": nested(depth)})
        assert caught.value.path.startswith("$.x[0][0]")
    # what the walk keeps: key order, datetimes, models without raw, str keys
    from datetime import UTC, datetime

    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    gallery = models.Gallery(fid="F", name="n", modified=when)
    assert list(to_jsonable({"b": 1, "a": [when, (2, 3)], 3: None})) == ["b", "a", "3"]
    assert to_jsonable({"b": 1, "a": [when, (2, 3)]}) == {"b": 1, "a": [when.isoformat(), [2, 3]]}
    assert to_jsonable(gallery)["modified"] == when.isoformat()
    assert "raw" not in to_jsonable(models.Ping(raw={"x": 1}))


def test_a_cell_too_deep_is_a_placeholder() -> None:
    assert cell({"x": nested(5)}) == '{"x": [[[[[]]]]]}'
    assert cell({"x": nested(10_000)}) == "(nested too deeply to show)"
    assert cell([nested(10_000)]) == "(nested too deeply to show)"


def test_json_text_falls_back_to_escapes_when_the_stream_cannot_carry_it() -> None:
    """A lone surrogate, or a non-UTF-8 stream: ``\\u`` escapes, still JSON of the same text."""
    value = {"ping": "pong \ud800", "name": "café"}
    utf8 = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    ascii_only = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    assert dumps({"name": "café"}, stream=utf8) == '{"name": "café"}'
    for stream in (utf8, ascii_only):
        text = dumps(value, stream=stream)
        text.encode(stream.encoding)  # printable as is
        assert json.loads(text) == value
    assert dumps({"name": "café"}, stream=ascii_only) == '{"name": "caf\\u00e9"}'


def test_every_secret_field_of_the_models_is_covered_by_the_policy() -> None:
    """The models keep their secrets out of ``repr``: each is a credential key (redacted whole)
    or an ``upload_url`` (its ``hash`` redacted as a secret query parameter) -- a new secret
    field fails here until the output policy knows it."""
    secret_fields = {
        f.name
        for name in models.__all__
        if attrs.has(cls := getattr(models, name))
        for f in attrs.fields(cls)
        if not f.repr and f.name != "raw"
    }
    assert secret_fields == CREDENTIAL_KEYS | {"upload_url"}
    assert {endpoint.name for endpoint in ENDPOINTS} >= CREDENTIAL_COMMANDS


def test_an_unexpected_exception_is_one_line_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A defect inside a command (here: the client cannot be made) or outside every command's
    own handling (here: in the upload command's argument expansion): exit code 1, one
    scrubbed line, no traceback."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"boom with {TOKEN} inside")

    monkeypatch.delenv("CINCOPA_API_TOKEN", raising=False)
    monkeypatch.setattr(_app.Settings, "client", broken)
    with pytest.raises(SystemExit) as inside:
        _app.main(["--token", TOKEN, "ping"])
    monkeypatch.setattr(_app, "_expand", broken)
    with pytest.raises(SystemExit) as outside:
        _app.main([f"--token={TOKEN}", "upload", __file__])
    assert (inside.value.code, outside.value.code) == (1, 1)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert TOKEN not in captured.out + captured.err
    lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert lines == ["error: internal error: RuntimeError: boom with REDACTED inside"] * 2


def test_a_secret_that_cannot_be_encoded_is_still_scrubbed() -> None:
    """A secret argument of undecodable bytes (``--security-key $'\\xff...'``): the error
    quoting it is still written, with the secret redacted (percent-encoding it used to raise)."""
    from cincopa_async.cli._output import Output

    secret = "ab\udcffcdefg"
    out = Output(secrets=[TOKEN])
    out.add_secret(secret)
    assert (
        out.scrub(f"x {secret} {TOKEN} ?api_token=abc") == "x REDACTED REDACTED ?api_token=REDACTED"
    )


def test_one_sdk_error_out_of_a_task_group_is_reported_as_itself(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from cincopa_async import ServerError
    from cincopa_async.cli._output import Output

    async def failing() -> None:
        raise ExceptionGroup(
            "tasks", [ServerError("ping: HTTP 502", operation="ping", url=None, status_code=502)]
        )

    with pytest.raises(SystemExit) as caught:
        _app.run(Output(), failing)
    assert caught.value.code == 7
    assert "(ServerError, exit code 7)" in capsys.readouterr().err
