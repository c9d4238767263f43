"""The engines that decide the rule book's kinds: the reader, pandas and Great Expectations.

Each registers how it decides every kind class it decides (`base.Engine`); a kind names the
engines that decide it, and the registry test holds every named engine to it.
"""

from typing import Any

from pipelines.validate.engines.base import Engine
from pipelines.validate.engines.gx_engine import GX_ENGINE
from pipelines.validate.engines.pandas_engine import PANDAS_ENGINE
from pipelines.validate.engines.reader_engine import READER_ENGINE
from schemas.rules.kinds import GX, PANDAS, READER

BY_NAME: dict[str, Engine[Any]] = {READER: READER_ENGINE, PANDAS: PANDAS_ENGINE, GX: GX_ENGINE}
RULE_BOOK_ENGINES = (PANDAS, GX)  # the engines `validate_rows` can run the rule book on

__all__ = ["BY_NAME", "GX_ENGINE", "PANDAS_ENGINE", "READER_ENGINE", "RULE_BOOK_ENGINES"]
