"""Reply models and the converter: golden replies, wire quirks, strictness, errors, secrets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import cattrs
import pytest

from cincopa_async import _models as m
from cincopa_async._converter import CONVERTER, make_converter
from cincopa_async._spec import ENDPOINTS

REPLIES = Path(__file__).parent / "fixtures" / "replies"

STRICT = make_converter(strict=True)
LENIENT = make_converter()
FAST = make_converter(detailed=False)

_ACK_OPERATIONS = [
    "gallery.set_meta",
    "gallery.delete",
    "gallery.add_item",
    "gallery.remove_item",
    "gallery.set_master",
    "asset.set_meta",
    "asset.resync",
    "asset.delete",
    "portal.cease",
    "portal.rename",
    "portal.remove",
    "portal.set",
    "webhook.set",
    "webhook.set_slack",
    "webhook.delete",
    "live.start",
    "live.stop",
    "live.reset",
    "live.delete",
]

#: Every JSON operation and the model its reply structures into (`upload.iframe` is HTML).
REPLY_MODELS: dict[str, type[m.Reply]] = {
    "ping": m.Ping,
    "token.get_temp": m.TempToken,
    "gallery.create": m.GalleryCreated,
    **dict.fromkeys(_ACK_OPERATIONS, m.Ack),
    "gallery.list": m.GalleryList,
    "gallery.get_items": m.GalleryItems,
    "asset.list": m.AssetList,
    "asset.get_tags": m.TagCloud,
    "asset.get_upload_url": m.UploadUrl,
    "asset.upload_from_url": m.ImportJob,
    "asset.upload_from_url_abort": m.ImportJob,
    "asset.upload_from_url_get_status": m.ImportStatus,
    "upload.get_upload_token": m.UploadToken,
    "portal.check": m.PortalAvailability,
    "portal.list": m.PortalList,
    "webhook.list": m.WebhookList,
    "live.create": m.LiveStreamCreated,
    "live.list": m.LiveStreamList,
    "gallery.download": m.DownloadLink,
    "account.list_sub": m.SubAccountList,
    "account.add_sub": m.SubAccountCreated,
    "token.list": m.TokenList,
    "token.create": m.TokenCreated,
}

SECRET_KEYS = {"token", "api_token"}


def golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((REPLIES / f"{name}.json").read_text(encoding="utf-8"))
    return data


def errors_of(exc_info: pytest.ExceptionInfo[BaseException]) -> list[str]:
    return cattrs.transform_error(exc_info.value)


def secrets_in(value: Any) -> list[str]:
    """Every token value anywhere in a JSON document."""
    if isinstance(value, dict):
        found = [v for k, v in value.items() if k in SECRET_KEYS and isinstance(v, str) and v]
        return found + [s for v in value.values() for s in secrets_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in secrets_in(v)]
    return []


def asset_reply(**asset: Any) -> dict[str, Any]:
    """An ``asset.list`` reply holding one asset with the given fields (and a rid)."""
    return {"success": True, "items": [{"rid": "AEyCfY7ET4hA", **asset}]}


def one_asset(payload: dict[str, Any], converter: cattrs.Converter = LENIENT) -> m.Asset:
    [asset] = converter.structure(payload, m.AssetList).items
    return asset


# Golden replies ---------------------------------------------------------------------------


def test_one_golden_reply_per_json_operation() -> None:
    """41 golden files, one per operation of the endpoint table except the HTML upload.iframe."""
    files = {path.name.removesuffix(".json") for path in REPLIES.glob("*.json")}
    assert files == set(REPLY_MODELS)
    assert len(files) == 41
    table = {e.name: e.reply for e in ENDPOINTS if not e.url_only}
    assert table == {name: model.__name__ for name, model in REPLY_MODELS.items()}


def test_golden_replies_cover_every_model_field() -> None:
    """Every field of every model appears in some golden reply, so strict mode checks it."""

    def keys(value: Any) -> set[str]:
        if isinstance(value, dict):
            return set(value).union(*(keys(v) for v in value.values()))
        if isinstance(value, list):
            return set().union(*(keys(v) for v in value))
        return set()

    seen = set().union(*(keys(golden(name)) for name in REPLY_MODELS))
    wire_names = {("LiveStreamList", "streams"): "live_streams"}
    missing = [
        f"{name}.{a.name}"
        for name in m.__all__
        for a in attrs.fields(getattr(m, name))
        if a.name != "raw" and wire_names.get((name, a.name), a.name) not in seen
    ]
    assert missing == []
    assert {"page_count", "pages_count"} <= seen


@pytest.mark.parametrize("name", sorted(REPLY_MODELS))
def test_golden_reply_structures_strictly(name: str) -> None:
    """The strict converter accepts every golden reply: the models cover every field."""
    payload = golden(name)
    reply = STRICT.structure(payload, REPLY_MODELS[name])
    assert type(reply) is REPLY_MODELS[name]
    assert reply.success is True
    assert reply.raw == payload


@pytest.mark.parametrize("name", sorted(REPLY_MODELS))
def test_every_converter_agrees_on_golden_replies(name: str) -> None:
    """Lenient, non-detailed and the module's CONVERTER give the same model as strict."""
    model = REPLY_MODELS[name]
    expected = STRICT.structure(golden(name), model)
    for converter in (LENIENT, FAST, CONVERTER):
        assert converter.structure(golden(name), model) == expected


def test_asset_list_golden_reads_as_documented() -> None:
    """Spot-check the richest golden reply field by field."""
    reply = STRICT.structure(golden("asset.list"), m.AssetList)
    video, image, music = reply.items
    assert reply.runtime == 22.0
    assert video.tags == ("promo", "2025")
    assert video.filesize == 10485760
    assert video.uploaded == datetime(2025, 4, 23, 10, 15, tzinfo=UTC)
    assert video.versions["mp4_hd"] == m.AssetVersion(
        url="https://cdn.example.com/AEyCfY7ET4hA/hd.mp4", filesize=5242880
    )
    assert video.thumbnail == m.Thumbnail(url="https://cdn.example.com/AEyCfY7ET4hA/thumb.jpg")
    assert video.exif["duration"] == "00:01:30.5"
    assert (image.versions, image.exif, image.modified, image.tags) == ({}, {}, None, ())
    assert music.thumbnail is None
    assert music.tags == ("audio", "theme")
    assert reply.items_data == m.PagingInfo(page=1, items_per_page=50, items_count=3, pages_count=1)


# Unknown fields ---------------------------------------------------------------------------


def test_lenient_keeps_unknown_fields_in_raw() -> None:
    """Unknown top-level and nested keys are accepted; top-level ones are reachable via raw."""
    payload = golden("asset.list")
    payload["next_cursor"] = "abc"
    payload["items"][0]["chapters"] = [{"at": "00:00:10"}]
    payload["items"][0]["thumbnail"]["width"] = 640
    payload["items_data"]["has_more"] = False
    reply = LENIENT.structure(payload, m.AssetList)
    assert reply.raw["next_cursor"] == "abc"
    assert reply.raw["items"][0]["chapters"] == [{"at": "00:00:10"}]
    assert reply.raw is payload
    assert reply == STRICT.structure(golden("asset.list"), m.AssetList)


def test_strict_rejects_unknown_fields_with_their_path() -> None:
    """forbid_extra_keys at every level: each unknown key is reported where it sits."""
    payload = golden("asset.list")
    payload["next_cursor"] = "abc"
    payload["items"][1]["chapters"] = []
    payload["items"][0]["versions"]["original"]["bitrate"] = 900
    payload["items_data"]["has_more"] = False
    with pytest.raises(cattrs.ClassValidationError) as exc_info:
        STRICT.structure(payload, m.AssetList)
    assert sorted(errors_of(exc_info)) == [
        "extra fields found (bitrate) @ $.items[0].versions['original']",
        "extra fields found (chapters) @ $.items[1]",
        "extra fields found (has_more) @ $.items_data",
        "extra fields found (next_cursor) @ $",
    ]


def test_a_wire_key_named_raw_is_just_another_unknown_key() -> None:
    """``raw`` is filled from the whole reply, never from a ``raw`` key on the wire."""
    payload = {"success": True, "raw": "surprise"}
    reply = LENIENT.structure(payload, m.Ack)
    assert reply.raw == payload
    with pytest.raises(cattrs.ClassValidationError) as exc_info:
        STRICT.structure(payload, m.Ack)
    assert errors_of(exc_info) == ["extra fields found (raw) @ $"]


def test_raw_is_left_out_of_eq_and_repr() -> None:
    """Two replies with the same fields are equal whatever else the wire carried."""
    first = LENIENT.structure({"success": True, "fid": "F1"}, m.GalleryCreated)
    second = LENIENT.structure({"success": True, "fid": "F1", "extra": 1}, m.GalleryCreated)
    assert first == second
    assert "raw" not in repr(second)
    assert "extra" not in repr(second)


# Wire quirks --------------------------------------------------------------------------------


@pytest.mark.parametrize("converter", [STRICT, LENIENT, FAST], ids=["strict", "lenient", "fast"])
def test_numbers_sent_as_strings(converter: cattrs.Converter) -> None:
    """``"50"`` becomes 50 for int fields and ``"2.5"`` becomes 2.5 for floats."""
    reply = converter.structure(
        {
            "success": True,
            "runtime": "2.5",
            "status": "inprogress",
            "progress": "50",
            "progress_bytes": "5000",
            "file_size_bytes": "-1",
        },
        m.ImportStatus,
    )
    assert reply.runtime == 2.5
    assert (reply.progress, reply.progress_bytes) == (50, 5000)
    assert reply.file_size_bytes == -1  # -1 means "not known yet" and is kept as is
    paging = converter.structure(
        {"success": True, "items_data": {"page": "2", "items_per_page": "50"}}, m.AssetList
    ).items_data
    assert (paging.page, paging.items_per_page) == (2, 50)
    assert converter.structure({"success": True, "runtime": 77}, m.Ack).runtime == 77.0


@pytest.mark.parametrize("converter", [STRICT, LENIENT], ids=["strict", "lenient"])
def test_empty_string_is_none_for_optional_values(converter: cattrs.Converter) -> None:
    """``""`` (and null) reads as None for optional numbers, dates, flags and messages."""
    asset = one_asset(asset_reply(filesize="", uploaded="", modified=None), converter)
    assert (asset.filesize, asset.uploaded, asset.modified) == (None, None, None)
    reply = converter.structure(
        {"success": True, "runtime": "", "claimed": "", "fid": "F1"}, m.GalleryItems
    )
    assert (reply.runtime, reply.claimed) == (None, "")
    assert converter.structure({"success": True, "message": ""}, m.Ack).message is None
    assert converter.structure({"success": True, "message": "done"}, m.Ack).message == "done"


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("promo", ("promo",)),
        ("promo,2025", ("promo", "2025")),
        ("a, b,", ("a", "b")),
        (" spaced tag , other ", ("spaced tag", "other")),
        ("", ()),
        (",,", ()),
        (["a", "b"], ("a", "b")),
        ([], ()),
    ],
)
def test_comma_separated_tags(wire: Any, expected: tuple[str, ...]) -> None:
    """Tags arrive comma-separated (or as a JSON array) and become a tuple of words."""
    assert one_asset(asset_reply(tags=wire), STRICT).tags == expected
    gallery = STRICT.structure({"galleries": [{"fid": "F1", "tags": wire}]}, m.GalleryList)
    assert gallery.galleries[0].tags == expected


def test_comma_separated_webhook_events() -> None:
    """Webhook events are a comma-separated string on the wire."""
    reply = STRICT.structure(
        {"webhooks": [{"hook_url": "https://example.com/h", "events": "asset.*, gallery.created"}]},
        m.WebhookList,
    )
    assert reply.webhooks[0].events == ("asset.*", "gallery.created")


@pytest.mark.parametrize("key", ["page_count", "pages_count"])
def test_either_spelling_of_the_page_total(key: str) -> None:
    """gallery.list says ``page_count``, asset.list ``pages_count``: both fill pages_count."""
    items_data = {"page": 1, "items_per_page": 20, "items_count": 41, key: 3}
    for converter in (STRICT, LENIENT, FAST):
        reply = converter.structure({"items_data": items_data}, m.GalleryList)
        assert reply.items_data.pages_count == 3
        folder = converter.structure({"folder": {"items_data": items_data}}, m.GalleryItems)
        assert folder.folder.items_data.pages_count == 3
    assert items_data == {"page": 1, "items_per_page": 20, "items_count": 41, key: 3}


def test_pages_count_wins_when_both_spellings_arrive() -> None:
    """If a reply carries both spellings, the documented ``pages_count`` is used."""
    items_data = {"page": 1, "pages_count": 4, "page_count": 9}
    assert STRICT.structure({"items_data": items_data}, m.AssetList).items_data.pages_count == 4


def test_missing_paging_reads_as_a_single_last_page() -> None:
    """Without items_data the paging counters keep their defaults and iteration stops."""
    assert LENIENT.structure({"success": True}, m.AssetList).items_data == m.PagingInfo(
        page=1, items_per_page=0, items_count=0, pages_count=0
    )


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("2025-04-23T10:15:00Z", datetime(2025, 4, 23, 10, 15, tzinfo=UTC)),
        ("2025-04-23T10:15:00.250Z", datetime(2025, 4, 23, 10, 15, 0, 250000, tzinfo=UTC)),
        ("2025-04-23 10:15:00", datetime(2025, 4, 23, 10, 15, tzinfo=UTC)),
        ("2025-04-23T10:15:00", datetime(2025, 4, 23, 10, 15, tzinfo=UTC)),
        (
            "2025-04-23T12:15:00+02:00",
            datetime(2025, 4, 23, 12, 15, tzinfo=timezone(timedelta(hours=2))),
        ),
        ("", None),
    ],
)
def test_iso_dates_become_aware_datetimes(wire: str, expected: datetime | None) -> None:
    """ISO 8601 dates become timezone-aware datetimes; naive ones are taken as UTC."""
    asset = one_asset(asset_reply(uploaded=wire, modified=wire), STRICT)
    assert asset.uploaded == expected
    assert asset.modified == expected
    if asset.uploaded is not None:
        assert asset.uploaded.tzinfo is not None


@pytest.mark.parametrize(
    ("wire", "expected"),
    [
        ("yes", True),
        ("no", False),
        ("YES", True),
        ("true", True),
        ("false", False),
        ("1", True),
        ("0", False),
        (1, True),
        (0, False),
        (True, True),
        (False, False),
    ],
)
def test_flags_in_every_spelling(wire: Any, expected: bool) -> None:
    """Booleans arrive as yes/no, true/false, 1/0 (text or number) or JSON booleans."""
    for converter in (STRICT, LENIENT, FAST):
        assert converter.structure({"success": wire}, m.Ack).success is expected
        portal = converter.structure({"portals": [{"allow_public": wire}]}, m.PortalList)
        assert portal.portals[0].allow_public is expected


@pytest.mark.parametrize("wire", ["maybe", 2, -1, 1.0, {}, []])
def test_other_flag_values_are_rejected(wire: Any) -> None:
    """Anything else is an error, reported at the flag's path."""
    for converter in (STRICT, LENIENT):
        with pytest.raises(cattrs.ClassValidationError) as exc_info:
            converter.structure({"success": wire}, m.Ack)
        assert errors_of(exc_info) == ["invalid value for type, expected bool @ $.success"]


def test_php_empty_array_where_an_object_is_expected() -> None:
    """PHP encodes an empty object as ``[]``: mappings become {}, optional objects None."""
    for converter in (STRICT, LENIENT, FAST):
        asset = one_asset(asset_reply(versions=[], exif=[], thumbnail=[]), converter)
        assert (asset.versions, asset.exif, asset.thumbnail) == ({}, {}, None)
        cloud = converter.structure({"success": True, "tag_cloud": []}, m.TagCloud)
        assert cloud.tag_cloud == {}
        paging = converter.structure({"items_data": []}, m.AssetList).items_data
        assert paging == m.PagingInfo()


def test_tag_cloud_counts_sent_as_strings() -> None:
    """Tag-cloud counts are ints even when the server sends them as text."""
    reply = STRICT.structure({"tag_cloud": {"promo": "12", "spring": 1}}, m.TagCloud)
    assert reply.tag_cloud == {"promo": 12, "spring": 1}


def test_live_stream_list_wire_key() -> None:
    """live.list's (inferred) wire key ``live_streams`` fills ``streams``."""
    reply = STRICT.structure(
        {"live_streams": [{"id": "ls1", "name": "Town hall"}]}, m.LiveStreamList
    )
    assert reply.streams == (m.LiveStream(id="ls1", name="Town hall"),)
    assert LENIENT.structure({"success": True}, m.LiveStreamList).streams == ()


def test_raw_holds_the_whole_reply_as_received() -> None:
    """Every top-level reply keeps its input mapping, quirks and all, as ``raw``."""
    for name, model in REPLY_MODELS.items():
        payload = golden(name)
        assert LENIENT.structure(payload, model).raw is payload
        assert FAST.structure(payload, model).raw is payload


# Strict versus lenient coercion -----------------------------------------------------------


def test_numbers_for_text_only_in_lenient_mode() -> None:
    """An id sent as a number is text in lenient mode, an error in strict mode."""
    assert one_asset(asset_reply(id=196481794)).id == "196481794"
    with pytest.raises(cattrs.ClassValidationError) as exc_info:
        one_asset(asset_reply(id=196481794), STRICT)
    assert errors_of(exc_info) == ["invalid value for type, expected str @ $.items[0].id"]


def test_null_for_text_lists_and_mappings_only_in_lenient_mode() -> None:
    """Lenient reads null as "", () or {}; strict reports it."""
    payload = asset_reply(caption=None, tags=None, versions=None, exif=None)
    asset = one_asset(payload)
    assert (asset.caption, asset.tags, asset.versions, asset.exif) == ("", (), {}, {})
    assert LENIENT.structure({"items": None}, m.AssetList).items == ()
    with pytest.raises(cattrs.ClassValidationError) as exc_info:
        one_asset(payload, STRICT)
    assert sorted(errors_of(exc_info)) == [
        "invalid value for type, expected Mapping @ $.items[0].exif",
        "invalid value for type, expected Mapping @ $.items[0].versions",
        "invalid value for type, expected str @ $.items[0].caption",
        "invalid value for type, expected tuple @ $.items[0].tags",
    ]


def test_integral_floats_for_ints_only_in_lenient_mode() -> None:
    """``1024.0`` (number or text) is 1024 in lenient mode only; ``1024.5`` never is."""
    assert one_asset(asset_reply(filesize=1024.0)).filesize == 1024
    assert one_asset(asset_reply(filesize="1024.0")).filesize == 1024
    assert LENIENT.structure({"items_data": {"page": 2.0}}, m.AssetList).items_data.page == 2
    for wire in (1024.5, "1024.5", "1e400"):
        for converter in (STRICT, LENIENT):
            with pytest.raises(cattrs.ClassValidationError):
                one_asset(asset_reply(filesize=wire), converter)
    for wire in (1024.0, "1024.0"):
        with pytest.raises(cattrs.ClassValidationError):
            one_asset(asset_reply(filesize=wire), STRICT)


@pytest.mark.parametrize("wrong", [{"text": "Intro"}, ["Intro"], True])
def test_objects_and_arrays_never_become_text(wrong: Any) -> None:
    """No ``str()`` coercion: a dict, list or bool where text belongs fails in both modes."""
    for converter in (STRICT, LENIENT, FAST):
        with pytest.raises((cattrs.ClassValidationError, TypeError)):
            one_asset(asset_reply(caption=wrong), converter)
    with pytest.raises(cattrs.ClassValidationError) as exc_info:
        one_asset(asset_reply(caption=wrong), LENIENT)
    assert errors_of(exc_info) == ["invalid value for type, expected str @ $.items[0].caption"]


@pytest.mark.parametrize("wrong", [True, 1.5, [1], {"n": 1}])
def test_numbers_are_not_guessed(wrong: Any) -> None:
    """Booleans, fractions, arrays and objects are not ints, in either mode."""
    for converter in (STRICT, LENIENT):
        with pytest.raises(cattrs.ClassValidationError) as exc_info:
            one_asset(asset_reply(filesize=wrong), converter)
        assert errors_of(exc_info) == [
            "invalid value for type, expected int | None @ $.items[0].filesize"
        ]


# Errors and their paths ---------------------------------------------------------------------


@pytest.mark.parametrize("converter", [STRICT, LENIENT], ids=["strict", "lenient"])
def test_bad_value_deep_in_a_page_names_its_path(converter: cattrs.Converter) -> None:
    """``filesize: "abc"`` on the fourth asset is reported as ``$.items[3].filesize``."""
    payload = golden("asset.list")
    payload["items"].append({**payload["items"][0], "rid": "D4", "filesize": "abc"})
    with pytest.raises(cattrs.ClassValidationError) as exc_info:
        converter.structure(payload, m.AssetList)
    assert errors_of(exc_info) == [
        "invalid value for type, expected int | None @ $.items[3].filesize"
    ]


@pytest.mark.parametrize("converter", [STRICT, LENIENT], ids=["strict", "lenient"])
def test_items_of_the_wrong_shape(converter: cattrs.Converter) -> None:
    """A string where the item list belongs is not iterated character by character."""
    with pytest.raises(cattrs.ClassValidationError) as exc_info:
        converter.structure({"success": True, "items": "AEyCfY7ET4hA"}, m.AssetList)
    assert errors_of(exc_info) == ["invalid value for type, expected tuple @ $.items"]


@pytest.mark.parametrize("converter", [STRICT, LENIENT], ids=["strict", "lenient"])
def test_many_problems_are_all_reported(converter: cattrs.Converter) -> None:
    """Detailed validation lists every problem, each with its own path."""
    payload = {
        "success": True,
        "items": [
            {"rid": "A1", "uploaded": "yesterday"},
            "not an asset",
            {"caption": "no rid"},
            {"rid": "A4", "versions": {"original": "https://cdn.example.com/o.mp4"}},
            {"rid": "A5", "thumbnail": "https://cdn.example.com/t.jpg"},
        ],
        "items_data": {"page": "one"},
    }
    with pytest.raises(cattrs.ClassValidationError) as exc_info:
        converter.structure(payload, m.AssetList)
    assert sorted(errors_of(exc_info)) == sorted(
        [
            f"invalid value for type, expected {datetime | None!r} @ $.items[0].uploaded",
            "invalid value for type, expected Asset @ $.items[1]",
            "required field missing @ $.items[2].rid",
            "invalid value for type, expected AssetVersion @ $.items[3].versions['original']",
            f"invalid value for type, expected {m.Thumbnail | None!r} @ $.items[4].thumbnail",
            "invalid value for type, expected int @ $.items_data.page",
        ]
    )


def test_nested_mapping_values_of_the_wrong_type() -> None:
    """A tag-cloud count that is not a number is reported under its key."""
    with pytest.raises(cattrs.ClassValidationError) as exc_info:
        LENIENT.structure({"tag_cloud": {"promo": "many"}}, m.TagCloud)
    assert errors_of(exc_info) == ["invalid value for type, expected int @ $.tag_cloud['promo']"]


@pytest.mark.parametrize("wrong", [[], "ok", None, 1])
def test_a_reply_must_be_an_object(wrong: Any) -> None:
    """A top-level reply that is not a JSON object is an error, also for all-default models."""
    for converter in (STRICT, LENIENT, FAST):
        with pytest.raises(TypeError, match="expected an object"):
            converter.structure(wrong, m.Ack)


@pytest.mark.parametrize("wrong", ["x", 1, ["a"]])
def test_nested_objects_of_the_wrong_shape(wrong: Any) -> None:
    """A non-object where a nested object belongs never silently becomes its defaults."""
    for converter in (STRICT, LENIENT, FAST):
        with pytest.raises((cattrs.ClassValidationError, TypeError)):
            converter.structure({"items_data": wrong}, m.AssetList)
        with pytest.raises((cattrs.BaseValidationError, TypeError)):
            converter.structure({"webhooks": [wrong]}, m.WebhookList)


def test_fast_converter_fails_on_the_same_inputs() -> None:
    """The non-detailed converter rejects what the detailed one rejects (without paths)."""
    payload = golden("asset.list")
    payload["items"][2]["filesize"] = "abc"
    with pytest.raises(ValueError, match="abc"):
        FAST.structure(payload, m.AssetList)


# Secrets ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REPLY_MODELS))
def test_no_token_in_repr_or_str(name: str) -> None:
    """Token values (issued, temporary, listed) never show in repr() or str() of a reply."""
    payload = golden(name)
    reply = LENIENT.structure(payload, REPLY_MODELS[name])
    for secret in secrets_in(payload):
        assert secret not in repr(reply)
        assert secret not in str(reply)
    assert "raw=" not in repr(reply)


@pytest.mark.parametrize(
    ("model", "field"),
    [
        (m.TempToken, "token"),
        (m.UploadToken, "token"),
        (m.TokenCreated, "api_token"),
        (m.TokenInfo, "api_token"),
    ],
)
def test_secret_fields_are_hidden_from_repr(model: type[Any], field: str) -> None:
    """The token fields themselves are declared ``repr=False``, and still hold the value."""
    secret = "1234567isecretexampletokenvalue000"
    instance = model(**{field: secret})
    assert secret not in repr(instance)
    assert secret not in str(instance)
    assert getattr(instance, field) == secret
    assert attrs.fields_dict(model)[field].repr is False


def test_listed_tokens_hidden_inside_a_list_reply() -> None:
    """token.list shows each token's permissions but not the token."""
    reply = STRICT.structure(golden("token.list"), m.TokenList)
    text = repr(reply)
    assert "asset.read|gallery.read" in text
    assert all(token.api_token not in text for token in reply.tokens)


# Model contract ---------------------------------------------------------------------------


def test_models_are_frozen_keyword_only_and_exported() -> None:
    """Every model is frozen and keyword-only; __all__ lists every model."""
    classes = {name: getattr(m, name) for name in m.__all__}
    assert all(attrs.has(cls) for cls in classes.values())
    for cls in classes.values():
        assert all(a.kw_only for a in attrs.fields(cls)), cls
    asset = m.Asset(rid="A1")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        asset.caption = "changed"  # type: ignore[misc]  # frozen: the point of the test
    with pytest.raises(TypeError):
        m.Asset("A1")  # type: ignore[call-arg]  # keyword-only: the point
    assert set(REPLY_MODELS.values()) <= {c for c in classes.values() if issubclass(c, m.Reply)}


def test_only_rid_and_fid_are_required() -> None:
    """Everything but Asset.rid and Gallery.fid has a default."""
    required = {
        f"{name}.{a.name}"
        for name in m.__all__
        for a in attrs.fields(getattr(m, name))
        if a.default is attrs.NOTHING
    }
    assert required == {"Asset.rid", "Gallery.fid"}
