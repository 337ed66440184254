"""The ``cincopa`` command, run for real in subprocesses against the emulator on loopback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import click
import pexpect
import pytest

import cincopa_async.cli
from cincopa_async import ResponseDecodeError, ResponseValidationError
from cincopa_async._spec import ENDPOINTS, ParamKind
from cincopa_async.cli._app import cli, command_name, option_name
from cincopa_async.cli._coverage import readme_with_table
from cincopa_async.cli._exit import EXIT_CODES, exit_code_for, exit_code_table
from cincopa_async.testing import CincopaEmulator
from tests.integrations._support import served_emulator

README = Path(__file__).resolve().parents[2] / "README.md"


class Served(NamedTuple):
    emu: CincopaEmulator
    base_url: str
    token: str


class Result(NamedTuple):
    code: int
    out: str
    err: str

    @property
    def both(self) -> str:
        return self.out + self.err


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with served_emulator(seed=11) as (emu, base_url):
        yield Served(emu, base_url, emu.create_token())


def environment(served: Served | None, token: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CINCOPA_") and k != "COLUMNS"}
    if served is not None:
        env["CINCOPA_BASE_URL"] = served.base_url
    if token is not None:
        env["CINCOPA_API_TOKEN"] = token
    return env


def cincopa(
    served: Served | None, *args: str, token: str | None = None, timeout: float = 60
) -> Result:
    """Run ``python -m cincopa_async.cli ARGS`` with the served emulator and its token."""
    if token is None and served is not None:
        token = served.token
    proc = subprocess.run(
        [sys.executable, "-m", "cincopa_async.cli", *args],
        env=environment(served, token),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def cincopa_many(
    served: Served | None, *commands: Sequence[str], token: str | None = None
) -> list[Result]:
    """Run several independent commands at once (each a subprocess); results in order."""
    if token is None and served is not None:
        token = served.token
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "cincopa_async.cli", *args],
            env=environment(served, token),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for args in commands
    ]
    results = []
    for proc in procs:
        with proc:
            out, err = proc.communicate(timeout=60)
        results.append(Result(proc.returncode, out, err))
    return results


def ok(served: Served, *args: str) -> Result:
    result = cincopa(served, *args)
    assert result.code == 0, result
    assert served.token not in result.both
    return result


def as_json(served: Served, *args: str) -> Any:
    return json.loads(ok(served, "--json", *args).out)


# -- the command tree ----------------------------------------------------------------------------


def test_every_operation_is_a_command_with_every_parameter() -> None:
    assert len(ENDPOINTS) == 42
    ctx = click.Context(cli)
    for endpoint in ENDPOINTS:
        if endpoint.resource:
            group = cli.get_command(ctx, endpoint.resource)
            assert isinstance(group, click.Group)
            command = group.get_command(ctx, command_name(endpoint))
        else:
            command = cli.get_command(ctx, endpoint.action)
        assert command is not None, endpoint.name
        options = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
        for param in endpoint.params:
            for declared in option_name(param).split("/"):
                assert declared in options, (endpoint.name, declared)
            declared_param = next(p for p in command.params if p.name == param.python_name)
            assert declared_param.required == param.required
            if param.kind is ParamKind.ENUM:
                assert isinstance(declared_param.type, click.Choice)
                assert tuple(declared_param.type.choices) == param.choices
            if param.kind in (ParamKind.CSV, ParamKind.PIPE):
                assert declared_param.multiple
            if param.kind is ParamKind.INT:
                assert declared_param.type is click.INT


def test_exit_codes_are_distinct_and_documented() -> None:
    codes = list(EXIT_CODES.values())
    assert len(codes) == len(set(codes))
    assert 0 not in codes
    assert 2 not in codes
    from cincopa_async import BulkCancelledError, CincopaError, ServerError

    assert exit_code_for(BulkCancelledError("x", operation="bulk")) == 14
    assert exit_code_for(CincopaError("x", operation="y")) == 1
    assert exit_code_for(ServerError("x", operation="y", url=None, status_code=503)) == 7
    assert exit_code_for(RuntimeError()) == 1
    assert cincopa_async.cli.__doc__ is not None
    table = exit_code_table()
    assert all(line in cincopa_async.cli.__doc__ for line in table.splitlines())
    help_text = cincopa(None, "--help").out
    for line in table.splitlines():
        assert " ".join(line.split()) in " ".join(help_text.split())


def test_readme_coverage_table_is_current() -> None:
    readme = README.read_text(encoding="utf-8")
    assert readme == readme_with_table(readme), (
        "README.md's API-coverage table is stale: "
        "python -m cincopa_async.cli._coverage --write README.md"
    )
    table = readme.split("<!-- api-coverage:start -->")[1].split("<!-- api-coverage:end -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) == 42
    ctx = click.Context(cli)
    for row in rows:  # every CLI command of the table exists
        words = re.search(r"`cincopa ([^`]+)`", row)
        assert words is not None
        command: Any = cli
        for word in words.group(1).split():
            command = command.get_command(ctx, word)
            assert command is not None, row


# -- operations against the emulator -------------------------------------------------------------


def test_ping_table_and_json(served: Served) -> None:
    human = ok(served, "ping")
    assert re.search(rf"accid\s+{served.emu.account_id}", human.out)
    raw = as_json(served, "ping")
    assert raw["accid"] == served.emu.account_id
    assert raw["success"] is True
    again = json.loads(ok(served, "ping", "--json").out)  # the option after the command
    assert {k: v for k, v in again.items() if k != "runtime"} == {
        k: v for k, v in raw.items() if k != "runtime"
    }


def all_ok(served: Served, *commands: Sequence[str]) -> list[Result]:
    results = cincopa_many(served, *commands)
    for result in results:
        assert result.code == 0, result
        assert served.token not in result.both
    return results


def test_gallery_asset_and_portal_commands(served: Served, tmp_path: Path) -> None:
    (tmp_path / "one.mp4").write_bytes(os.urandom(5000))
    created, _ = all_ok(
        served,
        ["--json", "gallery", "create", "--name", "CLI gallery"],
        ["portal", "cease", "--subdomain", "old-portal"],
    )
    fid = json.loads(created.out)["fid"]
    human, listed, renamed, uploaded = all_ok(
        served,
        ["gallery", "list", "--search", "CLI gallery"],
        ["--json", "gallery", "list", "--search", "CLI gallery"],
        ["portal", "rename", "--from", "old-portal", "--to", "new-portal"],
        ["upload", str(tmp_path), "--gallery", fid, "--json"],
    )
    assert fid in human.out
    assert [g["fid"] for g in json.loads(listed.out)["galleries"]] == [fid]
    assert renamed.out.strip() == "ok"
    rid = json.loads(uploaded.out)[0]["rid"]
    # CSV as repeated options and comma text; underscores work like dashes.
    _, portals = all_ok(
        served,
        ["asset", "set_meta", "--rid", rid, "--tags", "a,b", "--tags", "c", "--caption", "Hi"],
        ["--json", "portal", "list"],
    )
    assert "new-portal" in [p["subdomain"] for p in json.loads(portals.out)["portals"]]
    asset, items = all_ok(
        served,
        ["--json", "asset", "list", "--rid", rid],
        ["--json", "gallery", "get-items", "--fid", fid],
    )
    assert json.loads(asset.out)["items"][0]["tags"] == "a,b,c"
    assert json.loads(asset.out)["items"][0]["caption"] == "Hi"
    assert [i["rid"] for i in json.loads(items.out)["folder"]["items"]] == [rid]
    # A yes/no flag pair: the gallery goes, its asset stays.
    ok(served, "gallery", "delete", "--fid", fid, "--no-delete-assets")
    assert as_json(served, "asset", "list", "--rid", rid)["items"]


def test_paging_all_pages(served: Served) -> None:
    all_ok(served, *(["gallery", "create", "--name", f"paged-{index}"] for index in range(3)))
    pages, human = all_ok(
        served,
        ["--json", "gallery", "list", "--search", "paged-", "--items-per-page", "2", "--all"],
        ["gallery", "list", "--search", "paged-", "--items-per-page", "2", "--all"],
    )
    lines = pages.out.splitlines()  # JSON Lines: one gallery per line, every page's
    assert len(lines) == 3
    galleries = [json.loads(line) for line in lines]
    assert sorted(g["name"] for g in galleries) == ["paged-0", "paged-1", "paged-2"]
    assert all(g["fid"] for g in galleries)
    assert "3 item(s) on 2 page(s)" in human.out


def test_webhook_commands_never_print_the_security_key(served: Served) -> None:
    key = "hook-secret-123456"
    hook = "http://127.0.0.1:9/hooks/cli"
    (created,) = all_ok(
        served,
        [
            "webhook",
            "set",
            "--hook-url",
            hook,
            "--events",
            "asset.*,gallery.created",
            "--security-key",
            key,
        ],
    )
    listed, failed = cincopa_many(
        served,
        ["--json", "webhook", "list"],
        ["webhook", "set", "--hook-url", "ftp://x", "--events", "asset.*", "--security-key", key],
    )
    hooks = json.loads(listed.out)["webhooks"]
    assert [h["events"] for h in hooks if h["hook_url"] == hook] == ["asset.*,gallery.created"]
    check_error(failed, 11, "APIResponseError", "hook_url", token=served.token)
    assert key not in created.both + listed.both + failed.both


def test_upload_iframe_prints_a_url_with_a_temporary_token(served: Served) -> None:
    url = ok(served, "upload", "iframe", "--fid", "F1", "--view", "list").out.strip()
    assert url.startswith(f"{served.base_url}upload.iframe?")
    assert "fid=F1" in url
    assert "view=list" in url
    token = re.search(r"api_token=([^&]+)", url)
    assert token is not None
    assert token.group(1) not in (served.token, "REDACTED")


def media(directory: Path, count: int, size: int = 6000) -> list[str]:
    """``count`` files of distinct content (a bulk upload skips content already uploaded)."""
    paths = []
    for index in range(count):
        path = directory / f"file-{index}.mp4"
        path.write_bytes(os.urandom(size + index))
        paths.append(str(path))
    return paths


def test_upload_plain_progress_lines_without_a_terminal(served: Served, tmp_path: Path) -> None:
    files = media(tmp_path, 5)
    result = ok(served, "upload", *files, "--concurrency", "2", "--chunk-size", "2048")
    lines = [line for line in result.err.splitlines() if line.startswith("upload: ")]
    assert len(lines) == 5
    assert lines[-1].startswith("upload: 5/5 files, ")
    assert "(100%)" in lines[-1]
    assert "ETA" in lines[-1]
    assert "\x1b[" not in result.err  # no terminal: no escape sequences
    assert "uploaded 5 of 5 file(s)" in result.out
    # Without --json the rids still come out: "RID  FILE", one line per file, in input order.
    listed = [line.split("  ") for line in result.out.splitlines()[:-1]]
    assert [name for _, name in listed] == files
    stored = {asset.rid for asset in served.emu.state.main.assets.values()}
    assert {rid for rid, _ in listed} <= stored


def test_upload_live_progress_bar_on_a_pseudo_terminal(served: Served, tmp_path: Path) -> None:
    files = media(tmp_path, 8, size=30_000)
    env = environment(served, served.token)
    env.update(TERM="xterm-256color", COLUMNS="120")
    child = pexpect.spawn(
        sys.executable,
        ["-m", "cincopa_async.cli", "upload", *files, "--chunk-size", "8192", "--concurrency", "3"],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 120),
    )
    child.expect(pexpect.EOF)
    output = child.before or ""
    child.close()
    assert child.exitstatus == 0, output
    assert "\x1b[" in output  # a live display
    assert "━" in output  # the bar
    assert "8/8 files" in output
    assert re.search(r"\d+(\.\d+)?/\d+(\.\d+)? KiB", output)  # bytes done / total, binary
    assert re.search(r"\d+(\.\d+)? [KM]iB/s", output)
    assert "ETA" in output
    assert "upload: " not in output  # not the plain lines
    assert served.token not in output


# -- errors: message and exit code of each class; the token never shows -------------------------


def check_error(result: Result, code: int, cls: str, *fragments: str, token: str) -> None:
    assert result.code == code, result
    assert f"({cls}, exit code {code})" in result.err
    for fragment in fragments:
        assert fragment in result.err, result.err
    assert token not in result.both
    assert result.out == ""


def test_validation_and_usage_errors(served: Served) -> None:
    missing, bad_json, empty, remote, bad_choice, no_name, unknown = cincopa_many(
        served,
        ["--token", "", "ping"],
        ["portal", "set", "--subdomain", "abc", "--args", "{bad", "--simple-user-add", "u:pw"],
        ["gallery", "create", "--name", " "],
        ["--base-url", "http://example.com/v2/", "ping"],
        ["asset", "list", "--cache", "sometimes"],
        ["gallery", "create"],  # --name is required
        ["nope"],
    )
    token = served.token
    check_error(missing, 3, "CincopaValidationError", "--token", token=token)
    check_error(
        bad_json, 3, "CincopaValidationError", "args: is a str that is not valid JSON", token=token
    )
    assert "u:pw" not in bad_json.both  # a secret parameter is never shown
    check_error(empty, 3, "CincopaValidationError", "name: must not be empty", token=token)
    check_error(remote, 3, "CincopaValidationError", "https://", token=token)
    assert [bad_choice.code, no_name.code, unknown.code] == [2, 2, 2]
    assert "sometimes" in bad_choice.err


def test_status_and_response_errors(served: Served) -> None:
    from cincopa_async.testing import serve_asgi_app
    from tests.integrations._support import portal_context

    async def teapot(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 418, "headers": []})
        await send({"type": "http.response.body", "body": b'{"message": "short and stout"}'})

    bad = "7654321ithisisnotavalidtokenatall00"
    root = served.base_url.removesuffix("v2/")
    with portal_context(serve_asgi_app(teapot)) as teapot_root:
        auth, not_found, response, other = [
            *cincopa_many(served, ["ping"], token=bad),
            *cincopa_many(
                served,
                ["--base-url", f"{root}nowhere/", "ping"],
                ["gallery", "delete", "--fid", "no-such-gallery"],
                ["--base-url", f"{teapot_root}/v2/", "ping"],
            ),
        ]
    check_error(auth, 4, "AuthenticationError", "HTTP 403", "REDACTED", token=bad)
    check_error(not_found, 5, "NotFoundError", "HTTP 404", token=served.token)
    check_error(response, 11, "APIResponseError", "gallery not found", token=served.token)
    check_error(other, 8, "APIStatusError", "HTTP 418", "short and stout", token=served.token)


def test_fault_and_connection_errors(served: Served) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    # (fault, its options, the operation it hits, the command, exit code, class, message part)
    cases: list[tuple[Any, dict[str, Any], str, list[str], int, str, str]] = [
        ("rate_limit", {"retry_after": 0}, "ping", ["ping"], 6, "RateLimitError", "HTTP 429"),
        (
            "server_error",
            {"status": 502},
            "asset.get_tags",
            ["asset", "get-tags"],
            7,
            "ServerError",
            "HTTP 502",
        ),
        (
            "malformed_body",
            {},
            "webhook.list",
            ["webhook", "list"],
            12,
            "ResponseDecodeError",
            "not JSON",
        ),
        (
            "wrong_shape",
            {},
            "portal.list",
            ["portal", "list"],
            13,
            "ResponseValidationError",
            "expected a JSON object",
        ),
        ("stall", {}, "live.list", ["live", "list"], 10, "APITimeoutError", "Timeout"),
        (
            "drop_before",
            {},
            "account.list_sub",
            ["account", "list-sub"],
            9,
            "APIConnectionError",
            "account.list_sub",
        ),
    ]
    faults = [
        served.emu.faults.add(fault, operations=(operation,), **options)
        for fault, options, operation, *_ in cases
    ]
    try:
        results = cincopa_many(
            served,
            *(
                # a generous timeout, but for the stall: it never answers, so 0.5 s is reached
                ["--max-retries", "0", "--timeout", "0.5" if fault == "stall" else "60", *command]
                for fault, _, _, command, _, _, _ in cases
            ),
            ["--base-url", f"http://127.0.0.1:{closed_port}/v2/", "--max-retries", "0", "ping"],
        )
    finally:
        for fault in faults:
            fault.remove()
    for result, (*_, code, cls, fragment) in zip(results, cases, strict=False):
        check_error(result, code, cls, fragment, token=served.token)
    check_error(results[-1], 9, "APIConnectionError", "Connect", token=served.token)
    assert all(fault.hits for fault in faults)


def test_failed_uploads_exit_with_the_error_code(served: Served, tmp_path: Path) -> None:
    files = media(tmp_path, 2)
    with served.emu.faults.add("upload_chunk_failure", operations=("upload",), status=500):
        result = cincopa(served, "--max-retries", "0", "upload", *files)
    assert result.code != 0
    assert "failed: " in result.err
    assert served.token not in result.both


# -- emulator, demo, the console script ----------------------------------------------------------


def test_emulator_command_serves_until_stopped() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "cincopa_async.cli", "emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
        env=environment(None, None),
    ) as proc:
        try:
            assert proc.stdout is not None
            first = proc.stdout.readline()
            base = proc.stdout.readline().strip().removeprefix("CINCOPA_BASE_URL=")
            token = proc.stdout.readline().strip().removeprefix("CINCOPA_API_TOKEN=")
            assert "Cincopa emulator serving at http://127.0.0.1:" in first
            result = cincopa(None, "--base-url", base, "--json", "ping", token=token)
            assert json.loads(result.out)["ping"] == "pong"
            assert token not in result.both
        finally:
            proc.terminate()


def test_demo_runs_offline_and_exits_0() -> None:
    result = cincopa(None, "demo", timeout=60)
    assert result.code == 0, result
    for step in (
        "gallery.create",
        "bulk upload",
        "import from URL",
        "bulk set_meta",
        "page through library",
        "webhooks received",
    ):
        assert step in result.out
    assert "uploaded 24 of 24 file(s)" in result.out
    assert "AssetUploadedEvent" in result.out
    assert "signature verified" in result.out
    assert re.search(r"done in \d+\.\d+ s: 25 assets", result.out)
    assert re.search(r"\b1 webhook event received|\b[02-9]\d* webhook events received", result.out)
    assert "over the 256.0 KiB chunk size" in result.out
    assert " kB" not in result.out + result.err  # binary sizes, in binary units
    assert "upload: 24/24 files" in result.err  # plain progress without a terminal


def test_console_script() -> None:
    script = Path(sys.executable).with_name("cincopa")
    if not script.exists():
        pytest.skip("the cincopa script is not installed next to this interpreter")
    result = subprocess.run([str(script), "--version"], capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "cincopa" in result.stdout


@pytest.mark.parametrize("status", ["200 OK", "500 Internal Server Error"])
def test_a_reply_nested_too_deeply_is_a_decode_error_not_a_traceback(status: str) -> None:
    """JSON nested past the parser's depth, with a success or an error status: the CLI exits
    with the decode-error code and one message, never a Python traceback."""
    from tests._raw_server import http_reply, raw_server

    deep = b'{"success": true, "x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    token = "1234567ideepreplytokenabcdefgh"
    with raw_server(lambda request, number: http_reply(deep, status=status)) as server:
        env = environment(None, token)
        env["CINCOPA_BASE_URL"] = server.base_url
        proc = subprocess.run(
            [sys.executable, "-m", "cincopa_async.cli", "--max-retries", "0", "ping"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    expected = EXIT_CODES[ResponseDecodeError] if status.startswith("200") else 7
    assert proc.returncode == expected, proc.stderr
    assert "Traceback" not in proc.stderr
    assert token not in proc.stdout + proc.stderr


# -- hostile replies and bad input: a message and an exit code, never a traceback ----------------


def against_raw(script: Any, *args: str, env: dict[str, str] | None = None) -> Result:
    """Run the CLI against a raw server answering ``script``."""
    from tests._raw_server import raw_server

    token = "1234567irawservertokenabcdefghij"
    with raw_server(script) as server:
        environ = environment(None, token)
        environ["CINCOPA_BASE_URL"] = server.base_url
        environ.update(env or {})
        proc = subprocess.run(
            [sys.executable, "-m", "cincopa_async.cli", "--max-retries", "0", *args],
            env=environ,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    result = Result(proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in result.err, result.err
    assert token not in result.both
    return result


def test_json_of_a_reply_nested_past_the_output_limit_is_an_error_not_a_traceback() -> None:
    """Parsed by the SDK (600 levels) but deeper than the CLI prints: exit 13 and one message
    naming the limit -- it used to be a RecursionError traceback at ~480 levels. Within the
    limit the same reply prints in full."""
    from cincopa_async.cli._output import MAX_OUTPUT_DEPTH
    from tests._raw_server import http_reply

    def deep(levels: int) -> bytes:
        return b'{"success": true, "x": ' + b"[" * levels + b"]" * levels + b"}"

    too_deep = against_raw(lambda request, number: http_reply(deep(600)), "--json", "ping")
    assert too_deep.code == EXIT_CODES[ResponseValidationError], too_deep
    assert f"nested more than {MAX_OUTPUT_DEPTH} levels deep @ $.x[0]" in too_deep.err
    assert too_deep.out == ""
    within = deep(MAX_OUTPUT_DEPTH - 1)  # the object is a level too
    printed = against_raw(lambda request, number: http_reply(within), "--json", "ping")
    assert printed.code == 0, printed
    assert json.loads(printed.out) == json.loads(within)


@pytest.mark.parametrize("encoding", ["utf-8", "ascii"])
def test_a_lone_surrogate_in_a_reply_is_printed_escaped(encoding: str) -> None:
    """``"\\ud800"`` in a reply (valid JSON, not encodable): the table shows it escaped, the
    JSON stays JSON of the same text, an error message quoting it is still one message."""
    from tests._raw_server import http_reply

    body = b'{"success": true, "ping": "pong \\ud800", "accid": "caf\\u00e9 \\udfff"}'
    failure = b'{"success": false, "message": "bad \\ud800 thing"}'
    env = {"PYTHONIOENCODING": encoding}
    table = against_raw(lambda request, number: http_reply(body), "ping", env=env)
    raw = against_raw(lambda request, number: http_reply(body), "--json", "ping", env=env)
    error = against_raw(lambda request, number: http_reply(failure), "ping", env=env)
    assert (table.code, raw.code) == (0, 0), (table, raw)
    assert re.search(r"ping\s+pong \\ud800", table.out)
    assert json.loads(raw.out) == json.loads(body)
    check_error(error, 11, "APIResponseError", "bad \\ud800 thing", token="unused-token")


def run_cli(*args: str, env: dict[str, str]) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "cincopa_async.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)


def usage_error(result: Result, *fragments: str) -> None:
    """Exit 2 and one ``Error:`` line (click's) holding every fragment; no traceback."""
    assert result.code == 2, result
    assert "Traceback" not in result.err
    errors = [line for line in result.err.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.err
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_an_invalid_base_url_is_a_usage_error_naming_the_option() -> None:
    """``https://[::1`` (no closing bracket) used to be an httpx.InvalidURL traceback; from the
    option or the environment variable alike."""
    env = environment(None, "1234567itokenforbadurlsabcdefgh")
    flag = run_cli("--base-url", "https://[::1", "ping", env=env)
    variable = run_cli("ping", env={**env, "CINCOPA_BASE_URL": "http://[::1"})
    for result in (flag, variable):
        usage_error(result, "Invalid value for '--base-url'", "not a URL")


def test_all_pages_stream_as_they_arrive_and_a_walk_that_never_ends_stops() -> None:
    """``--all --json``: each page's items are on stdout before the next page is even served
    (the server holds page N+1 until the test has read page N's lines -- a CLI collecting the
    pages first would never get it). A server whose pages never end: stopped after
    ``--max-pages`` with exit 13 and one message, every fetched item printed."""
    import threading

    from tests._raw_server import CLOSE, http_reply, raw_server
    from tests._waits import HANG_GUARD

    per_page, max_pages = 2, 4
    lines: list[str] = []
    arrived = threading.Condition()

    def page(number: int) -> bytes:
        items = [{"rid": f"R{number}-{index}", "x": {"y": [number]}} for index in range(per_page)]
        info = {"page": number + 1, "items_per_page": per_page, "items_count": 0}
        return http_reply(
            json.dumps({"success": True, "items": items, "items_data": info}).encode()
        )

    def streamed(request: Any, number: int) -> bytes:
        with arrived:  # page number+1 only once every earlier item was printed and read
            if not arrived.wait_for(lambda: len(lines) >= number * per_page, HANG_GUARD):
                return CLOSE
        return page(number)

    token = "1234567istreamingtokenabcdefghij"
    with raw_server(streamed) as server:
        env = {**environment(None, token), "CINCOPA_BASE_URL": server.base_url}
        command = ["--json", "asset", "list", "--all", "--max-pages", str(max_pages)]
        with subprocess.Popen(
            [sys.executable, "-m", "cincopa_async.cli", "--max-retries", "0", *command],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            assert proc.stdout is not None
            assert proc.stderr is not None
            for line in proc.stdout:
                with arrived:
                    lines.append(line)
                    arrived.notify_all()
            err = proc.stderr.read()
        requests = len(server.requests)
    assert proc.returncode == EXIT_CODES[ResponseValidationError], err
    assert [json.loads(line) for line in lines] == [
        {"rid": f"R{number}-{index}", "x": {"y": [number]}}
        for number in range(max_pages)
        for index in range(per_page)
    ]
    assert requests == max_pages  # nothing fetched past the guard
    assert f"max_pages={max_pages}" in err
    assert "Traceback" not in err
    assert token not in err + "".join(lines)
    # Without --json: a table per page as it arrives, then the same error.
    table = against_raw(
        lambda request, number: page(number), "asset", "list", "--all", "--max-pages", "2"
    )
    assert table.code == EXIT_CODES[ResponseValidationError], table
    assert all(f"R{n}-{i}" in table.out for n in range(2) for i in range(per_page))
    assert "R2-0" not in table.out
    assert "max_pages=2" in table.err


def test_credentials_are_printed_only_by_the_commands_that_make_them(served: Served) -> None:
    """The policy (README, The command line): a command whose purpose is a credential prints it
    whole, on stdout -- each printed here works; every other output redacts credentials:
    ``token list`` shows no token's value, a gallery's upload URL no ``hash``."""
    created_json, created_table, temp_json, temp_table, url_json, url_table, invite, _ = all_ok(
        served,
        ["--json", "token", "create", "--name", "cred-a", "--permissions", "asset.*"],
        ["token", "create", "--name", "cred-b", "--permissions", "asset.*"],
        ["--json", "token", "get-temp"],
        ["token", "get-temp"],
        ["--json", "asset", "get-upload-url"],
        ["asset", "get-upload-url"],
        ["--json", "upload", "get-upload-token"],
        ["gallery", "create", "--name", "credential policy"],
    )

    def field(result: Result, name: str) -> str:
        found = re.fullmatch(rf"{name}\s+(\S+)", result.out.strip())  # one line, never folded
        assert found is not None, result.out
        return found.group(1)

    tokens = [json.loads(created_json.out)["api_token"], field(created_table, "api_token")]
    temps = [json.loads(temp_json.out)["token"], field(temp_table, "token")]
    urls = [json.loads(url_json.out)["upload_url"], field(url_table, "upload_url")]
    invite_url = json.loads(invite.out)["upload_url"]
    for url in [*urls, invite_url]:
        assert re.search(r"[?&]hash=[0-9a-f]{8,}", url), url  # the credential, whole
    for result in (created_json, created_table, temp_json, temp_table, url_json, url_table):
        assert result.err == ""  # nothing of it on stderr
    # each printed token is the real thing: it authenticates
    pings = cincopa_many(served, *(["--json", "ping"] for _ in range(4)))  # the CLI's own token
    assert all(result.code == 0 for result in pings)
    for credential in [*tokens, *temps]:
        assert credential not in (served.token, "REDACTED")
        assert cincopa(served, "--json", "asset", "list", token=credential).code == 0
    # everything else redacts them
    listed_json, listed_table, galleries = all_ok(
        served, ["--json", "token", "list"], ["token", "list"], ["--json", "gallery", "list"]
    )
    for credential in tokens:
        assert credential not in listed_json.both + listed_table.both
    assert {t["api_token"] for t in json.loads(listed_json.out)["tokens"]} == {"REDACTED"}
    assert "REDACTED" in listed_table.out
    upload_urls = [g["upload_url"] for g in json.loads(galleries.out)["galleries"]]
    assert upload_urls
    assert all("hash=REDACTED" in url for url in upload_urls)


def test_bad_option_values_and_unusable_files_are_errors_not_tracebacks(
    served: Served, tmp_path: Path
) -> None:
    """Each a one-line message and its exit code: 2 for an option value, 1 for an output file
    that cannot be written, 3 for a missing or undecodable token."""
    from cincopa_async.cli._limits import MAX_CONCURRENCY

    source = tmp_path / "source"
    source.mkdir()
    (source / "one.mp4").write_bytes(os.urandom(2000))
    not_a_ledger = tmp_path / "not-a-ledger.sqlite"
    not_a_ledger.write_text("not a database\n")
    ledger = str(tmp_path / "ledger.sqlite")
    too_many = str(MAX_CONCURRENCY + 1)
    results = cincopa_many(
        served,
        ["--timeout", "nan", "ping"],
        ["--timeout", "-1", "ping"],
        ["--timeout", "0", "ping"],
        ["--timeout", "inf", "ping"],
        ["upload", "--concurrency", too_many, str(source / "one.mp4")],
        ["sync", str(source), "--concurrency", too_many, "--ledger", ledger],
        ["demo", "--concurrency", too_many],
        ["sync", str(source), "--ledger", str(not_a_ledger)],
        ["ledger", "export", str(not_a_ledger)],
    )
    for result in results[:4]:
        usage_error(result, "Invalid value for '--timeout'", "finite number of seconds > 0")
    for result in results[4:7]:
        usage_error(result, "Invalid value for '--concurrency'", f"1<=x<={MAX_CONCURRENCY}")
    usage_error(results[7], "Invalid value for '--ledger'", "cannot be used as a ledger")
    usage_error(results[8], "Invalid value for 'LEDGER_PATH'", "cannot be used as a ledger")
    assert not (tmp_path / "ledger.sqlite").exists()  # refused before anything ran
    # a ledger export to a file that cannot be created
    ok(served, "sync", str(source), "--ledger", ledger)
    unwritable = cincopa(served, "ledger", "export", ledger, "-o", str(tmp_path / "no" / "x.csv"))
    assert unwritable.code == 1, unwritable
    assert "Traceback" not in unwritable.err
    assert "Could not open file" in unwritable.err
    # no token for sync; a token of undecodable bytes (argv bytes that are not UTF-8)
    no_token = cincopa(served, "sync", str(source), "--ledger", ledger, token="")
    check_error(no_token, 3, "CincopaValidationError", "api token: is required", token=served.token)
    garbled = subprocess.run(
        [sys.executable, "-m", "cincopa_async.cli", "--token", b"\xed\xa0\x80abcdefgh", "ping"],
        env=environment(served, None),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert garbled.returncode == 3, garbled
    assert "api token: must be ASCII text" in garbled.stderr
    assert "Traceback" not in garbled.stderr


def test_portal_set_never_prints_the_password_whatever_the_server_echoes() -> None:
    """S6: ``cincopa portal set --simple-user-add`` with a password of reserved and non-ASCII
    characters: the server echoes the wire form it received (and the password alone, plain,
    JSON- and HTML-escaped) in a success reply, then in an error; neither output shows it."""
    from urllib.parse import unquote_plus

    from tests._leaks import assert_no_secret
    from tests._raw_server import http_reply, raw_server

    password = "пароль:&x=1/+y%41"
    users = f"alice:{password},bob:other-Secret-9"

    def script(request: Any, number: int) -> bytes:
        wire = re.search(r"simple_user_add=([^& ]*)", request.line)
        echoed = wire.group(1) if wire else ""
        plain = unquote_plus(echoed)
        words = [echoed, plain, password, json.dumps(password)[1:-1].replace("/", "\\/")]
        words += [password.replace("&", "&amp;"), "other-Secret-9"]
        reply = {"success": number == 0, "message": " ".join(words)}
        return http_reply(json.dumps(reply, ensure_ascii=False).encode())

    with raw_server(script) as server:
        served = Served(None, server.base_url, "1234567iclitoken0123456789")  # type: ignore[arg-type]  # no emulator here
        args = ["portal", "set", "--subdomain", "x", "--simple-user-add", users]
        done = cincopa(served, *args)
        failed = cincopa(served, *args)
        as_json = cincopa(served, "--json", *args)
    assert done.code == 0, done
    assert failed.code == 11, failed
    assert "REDACTED" in done.out + failed.err
    assert_no_secret(
        [done.both, failed.both, as_json.both], [password, users, "other-Secret-9", served.token]
    )
