"""Self-generated "v3" temporary tokens: the SDK's maker/parser and the emulator's checks."""

from __future__ import annotations

import base64
import sys
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cincopa_async import AuthenticationError, CincopaError, CincopaValidationError
from cincopa_async.testing import CincopaEmulator
from cincopa_async.tokens import (
    TempTokenClaims,
    TempTokenError,
    TokensExtraMissingError,
    _make_temp_token,
    make_temp_token,
    parse_temp_token,
)

from ._real_clients import csharp_iso_string, js_to_iso_string, php_v3_expiry, v3_token

pytestmark = pytest.mark.anyio

# REFERENCE.md section 2.3 b (a fake parent token, fixed salt 00..0f and iv 10..1f)
PARENT = "1234567iexampleparenttokenabcd1234"
SALT = bytes(range(16))
IV = bytes(range(16, 32))
VECTOR = (
    "1234567i31234AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh-O8310NYDyI-nYIecTyPY9KVgbG9F8CuqFDs3b"
    "8ZZNErP77tQBaW5OHh14kPYhHBimH1upBU6UpvuGTcwNfVaj"
)
VECTOR_EXPIRES = datetime(2030, 1, 1, tzinfo=UTC)
CRYPTO_MODULE = "cryptography.hazmat.primitives.ciphers"


def _texts(obj: object) -> list[str]:
    return [str(obj), repr(obj)]


def _assert_no_secret(texts: list[str], *secrets: str) -> None:
    for text in texts:
        for secret in secrets:
            assert secret not in text
            middle = secret[8:-4]
            assert len(middle) < 8 or middle not in text  # not even the middle of it


# -- the SDK side -------------------------------------------------------------------------------


def test_reference_vector_make() -> None:
    token = _make_temp_token(
        PARENT,
        expires=VECTOR_EXPIRES,
        permissions=["asset.read"],
        fid="AbCdEfGhIjK",
        _salt=SALT,
        _iv=IV,
    )
    assert token == VECTOR


def test_reference_vector_parse() -> None:
    claims = parse_temp_token(VECTOR, PARENT)
    assert claims == TempTokenClaims(
        expires=VECTOR_EXPIRES, permissions=("asset.read",), fid="AbCdEfGhIjK"
    )
    assert claims.expires.tzinfo is not None
    _assert_no_secret(_texts(claims), PARENT)


def test_expiry_is_converted_to_utc_and_str_permissions_are_pipe_joined() -> None:
    paris = timezone(timedelta(hours=1))
    token = make_temp_token(
        PARENT,
        expires=datetime(2030, 1, 1, 1, 0, 0, 123456, tzinfo=paris),
        permissions="asset.read|gallery.read",
    )
    claims = parse_temp_token(token, PARENT)
    assert claims.expires == datetime(2030, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)
    assert claims.permissions == ("asset.read", "gallery.read")


def test_round_trip_with_every_restriction() -> None:
    before = datetime.now(UTC)
    token = make_temp_token(
        PARENT,
        expires=timedelta(minutes=10),
        permissions=["asset.read", "gallery.*"],
        rid="rid_1",
        fid="fid_2",
        rrid="rrid_3",
        source_ip="203.0.113.7",
        host="example.com",
    )
    assert token.startswith("1234567i31234")
    claims = parse_temp_token(token, PARENT)
    assert claims.permissions == ("asset.read", "gallery.*")
    assert (claims.rid, claims.fid, claims.rrid) == ("rid_1", "fid_2", "rrid_3")
    assert (claims.source_ip, claims.host) == ("203.0.113.7", "example.com")
    expected = before + timedelta(minutes=10)
    assert expected <= claims.expires <= expected + timedelta(seconds=5)
    # random salt and iv: the same claims never give the same token twice
    assert make_temp_token(PARENT, expires=VECTOR_EXPIRES) != make_temp_token(
        PARENT, expires=VECTOR_EXPIRES
    )
    assert parse_temp_token(make_temp_token(PARENT, expires=VECTOR_EXPIRES), PARENT) == (
        TempTokenClaims(expires=VECTOR_EXPIRES)
    )


_values = st.text(
    st.characters(codec="utf-8", exclude_characters="!|", exclude_categories=("Cc", "Cs", "Z")),
    min_size=1,
    max_size=20,
)


@given(
    permissions=st.none() | st.lists(_values, min_size=1, max_size=3),
    rid=st.none() | _values,
    fid=st.none() | _values,
    host=st.none() | _values,
)
def test_round_trip_property(
    permissions: list[str] | None, rid: str | None, fid: str | None, host: str | None
) -> None:
    token = make_temp_token(
        PARENT, expires=VECTOR_EXPIRES, permissions=permissions, rid=rid, fid=fid, host=host
    )
    claims = parse_temp_token(token, PARENT)
    assert claims == TempTokenClaims(
        expires=VECTOR_EXPIRES,
        permissions=None if permissions is None else tuple(permissions),
        rid=rid,
        fid=fid,
        host=host,
    )


def _flip(token: str, index: int) -> str:
    char = token[index]
    return token[:index] + ("B" if char == "A" else "A") + token[index + 1 :]


@pytest.mark.parametrize(
    "token",
    [
        _flip(VECTOR, -1),  # last ciphertext block: breaks the padding
        _flip(VECTOR, -30),  # earlier ciphertext block: garbles the payload
        VECTOR[:-4],  # truncated: not whole blocks
        VECTOR[:60],  # no ciphertext at all
        VECTOR + "=",  # not base64url without padding
        VECTOR.replace("-", "+"),  # standard base64 alphabet
        "1234567i31234",
        "1234567i31234!!!!",
        "garbage",
        "",
        PARENT,  # the parent itself
    ],
)
def test_parse_rejects_bad_tokens(token: str) -> None:
    with pytest.raises(TempTokenError) as info:
        parse_temp_token(token, PARENT)
    assert isinstance(info.value, CincopaError)
    assert isinstance(info.value, ValueError)
    _assert_no_secret(_texts(info.value), PARENT)


def test_parse_rejects_another_parent() -> None:
    # different account id, different last four, and same prefix but a different middle
    for other in ("7654321iexampleparenttokenabcd1234", "1234567iexampleparenttokenabcd9999"):
        with pytest.raises(TempTokenError, match="not made from this parent"):
            parse_temp_token(VECTOR, other)
    impostor = "1234567ianotherparenttokenwxyz1234"
    with pytest.raises(TempTokenError) as info:
        parse_temp_token(VECTOR, impostor)
    _assert_no_secret(_texts(info.value), PARENT, impostor, VECTOR)


def test_parse_rejects_a_bad_parent_without_echoing_it() -> None:
    secret = "not-a-token-but-maybe-a-secret"
    with pytest.raises(CincopaValidationError) as info:
        parse_temp_token(VECTOR, secret)
    _assert_no_secret(_texts(info.value), secret)


def test_parse_rejects_a_well_encrypted_but_malformed_payload() -> None:
    # a payload this module would never write, encrypted correctly with the parent's key
    from cincopa_async import tokens

    for payload in (
        "2030-01-01T00:00:00Z",  # 7 or 3 fractional digits are required (what generators write)
        "2030-01-01T00:00:00.000000Z",  # 6: no real generator writes it
        "2030-01-01T00:00:00.0Z",
        "2030-13-01T00:00:00.0000000Z",  # no month 13
        "2030-01-01T00:00:00.0000000Z!fx!passet.read",  # out of order
        "2030-01-01T00:00:00.0000000Z!x1",  # unknown code
        "2030-01-01T00:00:00.0000000Z!p",  # empty value
        "2030-01-01T00:00:00.0000000Z!pa||b",  # empty scope
    ):
        data = payload.encode()
        pad = 16 - len(data) % 16
        encryptor = tokens._aes_cbc(tokens._hkdf_sha256(PARENT.encode(), SALT), IV, "t")
        body = encryptor.encryptor().update(data + bytes([pad]) * pad)
        token = "1234567i31234" + tokens._b64url(SALT + IV + body)
        with pytest.raises(TempTokenError):
            parse_temp_token(token, PARENT)


MOMENT = datetime(2026, 12, 1, 21, 45, 19, 774512, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "expires", "claims"),
    [
        # S1 Strapi: toCSharpISOString (7 digits), called with only the source ip
        (
            csharp_iso_string(MOMENT) + "!i203.0.113.9",
            MOMENT.replace(microsecond=774000),
            {"source_ip": "203.0.113.9"},
        ),
        (csharp_iso_string(MOMENT), MOMENT.replace(microsecond=774000), {}),
        # S3 Shopify: JavaScript's toISOString() (3 digits)
        (js_to_iso_string(MOMENT), MOMENT.replace(microsecond=774000), {}),
        (
            js_to_iso_string(MOMENT) + "!passet.read|gallery.read!fAbCdEfGhIjK",
            MOMENT.replace(microsecond=774000),
            {"permissions": ("asset.read", "gallery.read"), "fid": "AbCdEfGhIjK"},
        ),
        # S5 Moodle: str_pad($micro, 7, '0') (7 digits) and the !d (rrid) segment
        (php_v3_expiry(MOMENT) + "!dassign:12:34", MOMENT, {"rrid": "assign:12:34"}),
    ],
)
def test_parse_reads_every_form_real_generators_write(
    payload: str, expires: datetime, claims: dict[str, Any]
) -> None:
    """Tokens built as Cincopa's plugins build them (an independent implementation)."""
    parsed = parse_temp_token(v3_token(PARENT, payload), PARENT)
    assert parsed == TempTokenClaims(expires=expires, **claims)


def test_the_generators_write_the_forms_real_clients_write() -> None:
    """The re-implementations above, checked against the forms REAL-CLIENTS.md quotes."""
    assert js_to_iso_string(MOMENT) == "2026-12-01T21:45:19.774Z"  # S3's example shape
    assert csharp_iso_string(MOMENT) == "2026-12-01T21:45:19.7740000Z"
    assert php_v3_expiry(MOMENT) == "2026-12-01T21:45:19.7745120Z"


def test_make_still_writes_the_seven_digit_form() -> None:
    """What make_temp_token writes: 7 digits, as Cincopa's C#-style code (the vector)."""
    from cincopa_async import tokens

    token = make_temp_token(PARENT, expires=MOMENT, permissions=["asset.read"])
    blob = base64.urlsafe_b64decode(token[13:] + "=" * (-len(token[13:]) % 4))
    key = tokens._hkdf_sha256(PARENT.encode(), blob[:16])
    decryptor = tokens._aes_cbc(key, blob[16:32], "t").decryptor()
    data = decryptor.update(blob[32:]) + decryptor.finalize()
    assert data[: -data[-1]].decode() == "2026-12-01T21:45:19.7745120Z!passet.read"


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"expires": datetime(2030, 1, 1)}, "naive"),  # naive on purpose
        ({"expires": 600}, "expected datetime or timedelta"),
        ({"expires": VECTOR_EXPIRES, "permissions": []}, "must not be empty"),
        ({"expires": VECTOR_EXPIRES, "permissions": ["a", ""]}, "item 1 is empty"),
        ({"expires": VECTOR_EXPIRES, "permissions": ["a!b"]}, "contains '|' or '!'"),
        ({"expires": VECTOR_EXPIRES, "permissions": [b"asset.read"]}, "item 0 is bytes"),
        ({"expires": VECTOR_EXPIRES, "fid": "a!b"}, "fid: must not contain '!'"),
        ({"expires": VECTOR_EXPIRES, "rid": ""}, "rid: must not be empty"),
        ({"expires": VECTOR_EXPIRES, "source_ip": "::1"}, "not an IPv4 address"),
        ({"expires": VECTOR_EXPIRES, "_salt": b"short"}, "_salt: must be 16 bytes"),
        ({"expires": VECTOR_EXPIRES, "_iv": b"x" * 17}, "_iv: must be 16 bytes"),
    ],
)
def test_make_rejects_bad_arguments(kwargs: dict[str, object], problem: str) -> None:
    with pytest.raises(CincopaValidationError, match="make_temp_token") as info:
        _make_temp_token(PARENT, **kwargs)  # type: ignore[arg-type]  # deliberately wrong types
    assert any(problem in p for p in info.value.problems), info.value.problems
    _assert_no_secret(_texts(info.value), PARENT)


def test_the_public_signature_has_no_test_only_parameters() -> None:
    import inspect

    parameters = inspect.signature(make_temp_token).parameters
    assert not [name for name in parameters if name.startswith("_")]
    with pytest.raises(TypeError):
        make_temp_token(PARENT, expires=VECTOR_EXPIRES, _salt=SALT)  # type: ignore[call-arg]  # removed
    assert make_temp_token(PARENT, expires=VECTOR_EXPIRES) != make_temp_token(
        PARENT, expires=VECTOR_EXPIRES
    )  # a fresh salt and IV each time


def test_make_rejects_a_bad_parent_without_echoing_it() -> None:
    for secret in ("no-account-id-secret", "1234567", "1234567iab", "12 34i567890"):
        with pytest.raises(CincopaValidationError) as info:
            make_temp_token(secret, expires=VECTOR_EXPIRES)
        _assert_no_secret([*_texts(info.value), *info.value.problems], secret)


def test_without_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, CRYPTO_MODULE, None)
    with pytest.raises(TokensExtraMissingError, match=r"cincopa-async\[tokens\]") as info:
        make_temp_token(PARENT, expires=VECTOR_EXPIRES)
    assert isinstance(info.value, ImportError)
    assert isinstance(info.value, CincopaError)
    with pytest.raises(TokensExtraMissingError):
        parse_temp_token(VECTOR, PARENT)


# -- end to end against the emulator --------------------------------------------------------------


async def test_emulator_accepts_v3_token_within_its_permissions() -> None:
    async with CincopaEmulator(seed=0) as emu:
        parent = emu.create_token()
        v3 = make_temp_token(parent, expires=timedelta(minutes=10), permissions=["asset.read"])
        async with emu.client(api_token=v3) as cp:
            assert (await cp.asset.list()).items == ()
            assert (await cp.ping()).permissions == "asset.read"
            with pytest.raises(AuthenticationError) as info:
                await cp.gallery.create(name="not allowed")
            assert "gallery.write" in info.value.message
        assert emu.requests
        for request in emu.requests:
            assert request.params.get("api_token") == "<redacted>"
            _assert_no_secret([repr(request)], v3, parent)
        # a v3 token is not a stored token: token.list shows only the permanent ones
        async with emu.client(api_token=parent) as cp:
            listed = await cp.token.list()
        assert [t.api_token for t in listed.tokens] == [parent]


async def test_emulator_without_permissions_segment_inherits_the_parent() -> None:
    async with CincopaEmulator(seed=0) as emu:
        parent = emu.create_token("gallery.*")
        v3 = make_temp_token(parent, expires=timedelta(minutes=10))
        async with emu.client(api_token=v3) as cp:
            await cp.gallery.create(name="allowed")
            with pytest.raises(AuthenticationError):
                await cp.asset.list()


async def test_emulator_refuses_permissions_beyond_the_parent() -> None:
    async with CincopaEmulator(seed=0) as emu:
        parent = emu.create_token("asset.read")
        for scopes in (["gallery.read"], ["asset.*"], ["bogus.scope"]):
            v3 = make_temp_token(parent, expires=timedelta(minutes=10), permissions=scopes)
            async with emu.client(api_token=v3) as cp:
                with pytest.raises(AuthenticationError, match="parent does not"):
                    await cp.asset.list()


async def test_emulator_expiry_follows_the_emulator_clock() -> None:
    async with CincopaEmulator(seed=0) as emu:
        parent = emu.create_token()
        v3 = make_temp_token(parent, expires=timedelta(minutes=10), permissions=["asset.read"])
        async with emu.client(api_token=v3) as cp:
            await cp.asset.list()
            emu.advance_clock(601)
            with pytest.raises(AuthenticationError, match="expired"):
                await cp.asset.list()


async def test_emulator_fid_and_rid_restrictions() -> None:
    async with CincopaEmulator(seed=0) as emu:
        parent = emu.create_token()
        async with emu.client(api_token=parent) as owner:
            fid = (await owner.gallery.create(name="mine")).fid
            other = (await owner.gallery.create(name="other")).fid
        v3 = make_temp_token(parent, expires=timedelta(minutes=10), fid=fid)
        async with emu.client(api_token=v3) as cp:
            await cp.gallery.get_items(fid=fid)
            with pytest.raises(AuthenticationError, match="another gallery"):
                await cp.gallery.get_items(fid=other)
        v3 = make_temp_token(parent, expires=timedelta(minutes=10), rid="someassetrid")
        async with emu.client(api_token=v3) as cp:
            with pytest.raises(AuthenticationError, match="another asset"):
                await cp.asset.list(rid="anotherasset")


async def test_emulator_source_ip_is_the_in_process_client_address() -> None:
    async with CincopaEmulator(seed=0) as emu:
        parent = emu.create_token()
        here = make_temp_token(parent, expires=timedelta(minutes=10), source_ip="127.0.0.1")
        there = make_temp_token(parent, expires=timedelta(minutes=10), source_ip="203.0.113.9")
        async with emu.client(api_token=here) as cp:
            await cp.ping()
        async with emu.client(api_token=there) as cp:
            with pytest.raises(AuthenticationError, match="ip"):
                await cp.ping()


async def test_emulator_refuses_forged_and_orphan_v3_tokens() -> None:
    async with CincopaEmulator(seed=0) as emu:
        parent = emu.create_token()
        uid = emu.account_id
        # the right account and last four characters, but encrypted with another key
        impostor = f"{uid}iimpostorimpostorimpostor{parent[-4:]}"
        forged = make_temp_token(impostor, expires=timedelta(minutes=10))
        orphan = make_temp_token("7777777iunknownaccount0000", expires=timedelta(minutes=10))
        async with emu.http_client() as http:
            for token in (forged, orphan, VECTOR, f"{uid}i3{parent[-4:]}garbage"):
                reply = await http.get("ping.json", params={"api_token": token})
                assert reply.status_code == 403
                assert reply.json()["success"] is False
                assert reply.json()["message"] == "invalid api_token"


async def test_emulator_permanent_token_that_starts_with_i3_still_works() -> None:
    async with CincopaEmulator(seed=0) as emu:
        with emu.state.lock:
            record = emu.state.new_token(emu.account_id, "*")
            del emu.state.tokens[record.value]
            record.value = f"{emu.account_id}i3{record.value[-26:]}"
            emu.state.tokens[record.value] = record
        async with emu.client(api_token=record.value) as cp:
            await cp.ping()
        v3 = make_temp_token(record.value, expires=timedelta(minutes=10))
        async with emu.client(api_token=v3) as cp:
            await cp.ping()


async def test_emulator_without_cryptography(monkeypatch: pytest.MonkeyPatch) -> None:
    async with CincopaEmulator(seed=0) as emu:
        parent = emu.create_token()
        v3 = make_temp_token(parent, expires=timedelta(minutes=10))
        monkeypatch.setitem(sys.modules, CRYPTO_MODULE, None)
        async with emu.client(api_token=v3) as cp:
            with pytest.raises(AuthenticationError, match="'tokens' extra"):
                await cp.ping()
        async with emu.client(api_token=parent) as cp:  # other tokens are unaffected
            await cp.ping()
