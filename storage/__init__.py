"""Storage for Xenocept for Slack: SQLModel tables and owner-scoped repositories."""

from storage.errors import DuplicateName, NotFound, SchemaOutOfDate, StorageError
from storage.models import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Destination,
    DestinationFields,
    Owner,
    ScreenshotMode,
    Security,
)

__all__ = [
    "Delivery",
    "DeliveryKind",
    "DeliveryStatus",
    "Destination",
    "DestinationFields",
    "DuplicateName",
    "NotFound",
    "Owner",
    "SchemaOutOfDate",
    "ScreenshotMode",
    "Security",
    "StorageError",
]
