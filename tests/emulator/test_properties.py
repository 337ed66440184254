"""Property tests of the upload host's chunk assembly (synchronous, no event loop needed)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from cincopa_async.testing import CincopaEmulator
from cincopa_async.testing._upload_host import process_upload


@st.composite
def chunked(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, bytes]]]:
    data = draw(st.binary(min_size=1, max_size=400))
    cuts = sorted(set(draw(st.lists(st.integers(1, len(data)), max_size=8))) | {len(data)})
    pieces, start = [], 0
    for end in cuts:
        pieces.append((start, data[start:end]))
        start = end
    repeats = draw(st.lists(st.sampled_from(pieces), max_size=3))  # re-posted chunks
    order = draw(st.permutations(pieces + repeats))
    return data, list(order)


@settings(max_examples=60, deadline=None)
@given(case=chunked())
def test_chunks_in_any_order_assemble_the_file(case: tuple[bytes, list[tuple[int, bytes]]]) -> None:
    data, order = case
    emu = CincopaEmulator(seed=0)
    state = emu.state
    ticket = state.new_upload_ticket(state.main.uid)
    query = {"uid": ticket.uid, "d": ticket.d, "hash": state.sign(ticket.uid, ticket.d)}
    replies = []
    with state.lock:
        for start, piece in order:
            headers = {
                "x-file-name": "f.bin",
                "content-range": f"bytes {start}-{start + len(piece)}/{len(data)}",
            }
            outcome = process_upload(state, query, headers, piece, "127.0.0.1", "http://h")
            replies.append(outcome.text)
    finals = [i for i, text in enumerate(replies) if "new resource id" in text]
    assert finals, replies
    assert all("error" not in text for text in replies)
    rid = replies[finals[0]].split("new resource id ")[1].split()[1]
    assert state.main.assets[rid].content == data
