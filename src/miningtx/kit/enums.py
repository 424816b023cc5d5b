"""Status and kind enums as API field types.

A field typed `ApiEnum[WithdrawalStatus]` validates, documents and serialises exactly as
`Literal["pending", ...]` of the same values did (the same 422 error, the same inline
`{"enum": [...], "type": "string"}` schema, plain strings out), but the code holds the
enum member, so the values are written once, in the enum. `OneOf(enum, members)` does the
same for a subset of an enum's members.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import GetCoreSchemaHandler
from pydantic_core import CoreSchema, core_schema

E = TypeVar("E", bound=StrEnum)


def _plain(value: object) -> object:
    return value.value if isinstance(value, StrEnum) else value


class OneOf:
    """Pydantic metadata admitting `members` of `enum` (all of them unless given), by value,
    and holding the member. Put it on `str` (`Annotated[str, OneOf(...)]`): FastAPI lists
    every Enum class it finds in an annotation as an OpenAPI component, which the Literal
    these fields were never was."""

    def __init__(self, enum: type[StrEnum], members: Iterable[StrEnum] | None = None) -> None:
        self.enum = enum
        self.values = tuple(member.value for member in (enum if members is None else members))

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        # The schema a Literal of the values builds, then the member: the OpenAPI document
        # and the validation errors stay what they were when these fields were Literals.
        literal = core_schema.literal_schema(list(self.values))
        return core_schema.no_info_after_validator_function(
            self.enum,
            literal,
            serialization=core_schema.plain_serializer_function_ser_schema(
                _plain, return_schema=literal
            ),
        )


if TYPE_CHECKING:
    # For the type checker `ApiEnum[E]` is `E` itself.
    ApiEnum = Annotated[E, OneOf]
else:

    class ApiEnum:
        """`ApiEnum[E]`: the field type admitting every member of `E` (see `OneOf`)."""

        def __class_getitem__(cls, enum: type[StrEnum]) -> object:
            return Annotated[str, OneOf(enum)]
