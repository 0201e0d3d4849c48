"""Hatchling build hook: a wheel carries the built web UI (`web/out`) as `bananabatch/webui`.

Why a hook and not `force-include`: the RunPod worker image and `uv sync` build the
package from source where no UI was built, and must still build. So the UI goes in
when `web/out/index.html` exists, and `make dist` sets BANANABATCH_WHEEL_REQUIRE_UI=1
so a release wheel without its UI is an error, never a silent API-only wheel. An
editable install (the source checkout) serves `web/out` in place and takes nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

WEB_OUT = Path("web") / "out"
PACKAGED_AS = "bananabatch/webui"


class WebUIBuildHook(BuildHookInterface):
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel" or version == "editable":
            return
        web_out = Path(self.root) / WEB_OUT
        if (web_out / "index.html").is_file():
            build_data["force_include"][str(web_out)] = PACKAGED_AS
            return
        if os.environ.get("BANANABATCH_WHEEL_REQUIRE_UI") == "1":
            raise RuntimeError(
                f"{web_out} has no index.html: build the web UI first (`make web`), "
                "or use `make dist`, which does"
            )
