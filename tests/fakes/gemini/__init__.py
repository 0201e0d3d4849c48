"""A fake Gemini REST server speaking the real wire protocol (test infrastructure,
never a product path). `tests/fakes/gemini_server.py` adds the pytest fixtures and
the command line; see `tests/fakes/README.md`."""

from tests.fakes.gemini.batch import BATCH_TTL, BatchControls, FakeBatch
from tests.fakes.gemini.faults import MARKERS, Fault, Script, faults_from_markers
from tests.fakes.gemini.files import FILE_TTL
from tests.fakes.gemini.models import DEFAULT_MODELS, model_resource
from tests.fakes.gemini.server import FakeGeminiServer
from tests.fakes.gemini.wire import API_VERSIONS, RecordedRequest, decode_base64

__all__ = [
    "API_VERSIONS",
    "BATCH_TTL",
    "DEFAULT_MODELS",
    "FILE_TTL",
    "MARKERS",
    "BatchControls",
    "FakeBatch",
    "FakeGeminiServer",
    "Fault",
    "RecordedRequest",
    "Script",
    "decode_base64",
    "faults_from_markers",
    "model_resource",
]
