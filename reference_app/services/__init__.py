"""The JXC use cases, one module per area; each function is one unit of work.

Services speak in integer cents and raise :mod:`reference_app.domain` errors; they know nothing of
HTTP. Who may see and do what is decided in :mod:`.permissions` only.
"""

from reference_app.services.database import Database
from reference_app.services.permissions import Actor

__all__ = ["Database", "Actor"]
