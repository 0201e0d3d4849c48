"""The Batch API's lines: deterministic names, the same request as a standard call,
and result lines classified like standard answers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from bananabatch.contracts import ErrorKind, GenerationOptions
from bananabatch.executors.gemini_batch_lines import (
    ReplayProvider,
    display_name,
    is_batch_handle,
    line_bytes,
    line_key,
    pack,
    request_json,
    task_handle,
)
from bananabatch.providers.base import (
    BlockedError,
    GenerationRequest,
    ProviderError,
    ReferenceImage,
)
from bananabatch.providers.gemini import RESPONSE_MODALITIES
from tests.imagegen import image_bytes


def _request(**options: Any) -> GenerationRequest:
    return GenerationRequest(
        model="gemini-3-pro-image",
        prompt="a red fox",
        seed=2**33 + 5,
        references=[ReferenceImage(b"\x89PNG fake", "image/png")],
        options=GenerationOptions(**options),
    )


def test_names_are_derived_from_the_work_not_from_time() -> None:
    keys = [line_key("o1", 1), line_key("o2", 1)]
    assert keys == ["o1.1", "o2.1"]
    assert display_name("job", keys) == display_name("job", list(reversed(keys)))
    assert display_name("job", keys) != display_name("job", [line_key("o1", 2), keys[1]])
    assert display_name("job", keys).startswith("bananabatch-job-")
    assert is_batch_handle(task_handle("t1")) and not is_batch_handle("local-abc")


def test_the_line_is_the_rest_request_of_a_standard_call() -> None:
    body = request_json(_request(aspect_ratio="16:9", image_size="2K"))
    parts = body["contents"][0]["parts"]
    assert parts[0]["inlineData"]["mimeType"] == "image/png" and parts[1] == {"text": "a red fox"}
    gen = body["generationConfig"]
    assert gen["responseModalities"] == list(RESPONSE_MODALITIES)
    assert gen["imageConfig"] == {"aspectRatio": "16:9", "imageSize": "2K"}
    assert 0 <= gen["seed"] < 2**31  # folded into Gemini's range like the provider does
    assert "imageConfig" not in request_json(_request())["generationConfig"]


def _answer(line: dict[str, Any]) -> Any:
    return asyncio.run(ReplayProvider(line).generate(_request()))


def test_result_lines_are_classified_like_standard_answers() -> None:
    png = image_bytes(3, (32, 24), "PNG")
    import base64

    image = _answer(
        {
            "key": "o1.1",
            "response": {
                "candidates": [
                    {
                        "content": {
                            "parts": [
                                {
                                    "inlineData": {
                                        "mimeType": "image/png",
                                        "data": base64.b64encode(png).decode(),
                                    }
                                }
                            ]
                        },
                        "finishReason": "STOP",
                    }
                ],
                "usageMetadata": {"promptTokenCount": 600, "candidatesTokenCount": 1120},
            },
        }
    )
    assert (image.width, image.height) == (32, 24)
    assert image.usage.output_tokens == 1120 and image.usage.input_tokens == 600
    with pytest.raises(BlockedError) as blocked:
        _answer({"response": {"promptFeedback": {"blockReason": "SAFETY"}}})
    assert blocked.value.kind is ErrorKind.blocked
    for code, kind in (
        (429, ErrorKind.rate_limited),
        (503, ErrorKind.transient),
        (400, ErrorKind.invalid),
    ):
        with pytest.raises(ProviderError) as err:
            _answer({"error": {"code": code, "message": "no", "status": "X"}})
        assert err.value.kind is kind


def test_batches_are_cut_by_lines_and_by_bytes() -> None:
    slots = [(f"o{i}", f"t{i // 4}", 100) for i in range(10)]
    assert [len(b) for b in pack(slots, max_lines=4, max_bytes=10_000)] == [4, 4, 2]
    assert [len(b) for b in pack(slots, max_lines=100, max_bytes=350)] == [3, 3, 3, 1]
    # order kept, nothing lost or repeated
    flat = [o for b in pack(slots, max_lines=3, max_bytes=250) for o, _ in b]
    assert flat == [o for o, _, _ in slots]
    # a line over the limit goes alone rather than never
    assert pack([("big", "t", 900), ("small", "t", 10)], 10, 500) == [
        [("big", "t")],
        [("small", "t")],
    ]
    assert pack([], 10, 10) == []


def test_a_line_counts_its_references_in_base64() -> None:
    request = _request()
    body = request_json(request)
    actual = len(json.dumps({"key": "x.1", "request": body}))
    estimate = line_bytes(len(request.references[0].data), request.prompt)
    assert actual <= estimate <= actual + 2048
    assert line_bytes(3_000_000, "p") >= 4_000_000
