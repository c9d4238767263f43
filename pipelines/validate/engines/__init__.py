"""The engines that decide the rule book's kinds: the reader, pandas, Great Expectations and the
child-level records (a workbook read and derived, `pipelines/derive/`).

Each registers how it decides every kind class it decides (`base.Engine`); a kind names the
engines that decide it, and the registry test holds every named engine to it.
"""

from typing import Any

from pipelines.validate.engines.base import Engine
from pipelines.validate.engines.child_level_engine import CHILD_LEVEL_ENGINE
from pipelines.validate.engines.gx_engine import GX_ENGINE
from pipelines.validate.engines.pandas_engine import PANDAS_ENGINE
from pipelines.validate.engines.reader_engine import READER_ENGINE
from schemas.rules.kinds import CHILD_LEVEL, GX, PANDAS, READER

BY_NAME: dict[str, Engine[Any]] = {
    READER: READER_ENGINE,
    PANDAS: PANDAS_ENGINE,
    GX: GX_ENGINE,
    CHILD_LEVEL: CHILD_LEVEL_ENGINE,
}
RULE_BOOK_ENGINES = (PANDAS, GX)  # the engines `validate_rows` can run the rule book on

__all__ = ["BY_NAME", "CHILD_LEVEL_ENGINE", "GX_ENGINE", "PANDAS_ENGINE", "READER_ENGINE", "RULE_BOOK_ENGINES"]
