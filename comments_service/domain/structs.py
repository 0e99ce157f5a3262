"""The one base for every msgspec Struct in the service: keyword-only construction everywhere, so a
field added to a Struct can never shift the meaning of a positional argument. Subclasses add their
own options (frozen, omit_defaults, forbid_unknown_fields, array_like, tags) where they need them."""

from __future__ import annotations

from typing import TYPE_CHECKING, dataclass_transform

import msgspec

if TYPE_CHECKING:
    # What type checkers see: a base that declares its own dataclass-transform metaclass, which
    # PEP 681 treats as neither frozen nor not (so frozen and mutable Structs may both derive from
    # it; msgspec's own stub would make every frozen subclass an error) and whose fields are
    # keyword-only, as kw_only=True makes them at run time.
    @dataclass_transform(kw_only_default=True, field_specifiers=(msgspec.field,))
    class _StructMeta(msgspec.StructMeta): ...

    class Struct(msgspec.Struct, kw_only=True, metaclass=_StructMeta): ...

else:

    class Struct(msgspec.Struct, kw_only=True):
        pass
