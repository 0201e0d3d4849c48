"""Pure sizing rules for RunPod requests and results."""

from __future__ import annotations

from bananabatch.domain.payload_budget import (
    RESULT_JSON_BUDGET_BYTES,
    RUN_BODY_BUDGET_BYTES,
    TransportRoutes,
    b64_size,
    inline_output_limit,
    transport_problem,
    worst_output_bytes,
)

NONE = TransportRoutes(presigned=False, server_urls=False)


def test_b64_size_is_exact() -> None:
    import base64

    for n in (0, 1, 2, 3, 4, 1000, 1001):
        assert b64_size(n) == len(base64.b64encode(b"x" * n))


def test_inline_output_limit_keeps_results_under_budget() -> None:
    for slots in (1, 2, 4, 8):
        limit = inline_output_limit(slots)
        assert b64_size(limit) * slots <= RESULT_JSON_BUDGET_BYTES + 4 * slots
    assert inline_output_limit(0) == inline_output_limit(1)


def test_small_job_fits_without_any_url_route() -> None:
    assert (
        transport_problem(
            reference_sizes=[2_000_000, 1_500_000],
            slots_per_task=4,
            output_format="png",
            image_size="1K",
            routes=NONE,
        )
        is None
    )


def test_fourteen_large_references_without_routes_are_refused_with_the_fix_named() -> None:
    problem = transport_problem(
        reference_sizes=[3_000_000] * 14,
        slots_per_task=4,
        output_format="png",
        image_size="1K",
        routes=NONE,
    )
    assert problem is not None
    assert "14 image(s)" in problem and "BANANABATCH_S3_BUCKET" in problem
    assert "BANANABATCH_PUBLIC_URL" in problem


def test_any_url_route_makes_large_work_possible() -> None:
    for routes in (
        TransportRoutes(presigned=True, server_urls=False),
        TransportRoutes(presigned=False, server_urls=True),
    ):
        assert (
            transport_problem(
                reference_sizes=[3_000_000] * 14,
                slots_per_task=4,
                output_format="png",
                image_size="4K",
                routes=routes,
            )
            is None
        )


def test_large_outputs_need_an_upload_route() -> None:
    assert worst_output_bytes("png", "4K") > inline_output_limit(4)
    problem = transport_problem(
        reference_sizes=[100_000],
        slots_per_task=4,
        output_format="png",
        image_size="4K",
        routes=NONE,
    )
    assert problem is not None and "4K PNG" in problem
    assert (
        transport_problem(
            reference_sizes=[100_000],
            slots_per_task=4,
            output_format="jpeg",
            image_size="1K",
            routes=NONE,
        )
        is None
    )


def test_reference_budget_edge() -> None:
    raw = (RUN_BODY_BUDGET_BYTES - 200_000) * 3 // 4
    ok = transport_problem(
        reference_sizes=[raw], slots_per_task=1, output_format="jpeg", image_size=None, routes=NONE
    )
    over = transport_problem(
        reference_sizes=[raw + 300_000],
        slots_per_task=1,
        output_format="jpeg",
        image_size=None,
        routes=NONE,
    )
    assert ok is None and over is not None
