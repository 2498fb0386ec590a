"""Where architectures come from: the bundled zoo and files read with clear errors."""

from __future__ import annotations

from pathlib import Path

from ..errors import Location, SchemaError
from .messages import suggest
from .yaml import MAX_FILE_BYTES


def bundled_dir() -> Path:
    """The folder of bundled architectures: inside the installed package, or the checkout's."""
    package = Path(__file__).resolve().parent.parent
    inside = package / "architectures"  # an installed wheel carries them inside the package
    return inside if inside.is_dir() else package.parent / "architectures"


def bundled() -> dict[str, Path]:
    """Bundled architecture names (file stems) and their files."""
    folder = bundled_dir()
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))} if folder.is_dir() else {}


def find_bundled(name: str) -> Path | None:
    """The bundled architecture called ``name`` (VGG16 finds vgg16), or None."""
    zoo = bundled()
    return zoo.get(name) or zoo.get(name.lower())


def exists(path: Path) -> bool:
    """Whether ``path`` exists; False for names the system cannot even look up (too long)."""
    try:
        return path.exists()
    except (OSError, ValueError):
        return False


def read_text(path: Path) -> str:
    """A file's text, with a clear error for a missing file, a folder, a huge file or non-UTF-8 bytes."""
    where = Location(str(path))
    if not exists(path):
        raise SchemaError("no such file", location=where)
    if path.is_dir():
        raise SchemaError("is a folder, not a YAML file", location=where)
    if not path.is_file():
        # a FIFO would block and /dev/zero never ends; st_size says 0 for both
        raise SchemaError("is not a regular file (a pipe or a device?)", location=where)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SchemaError(f"the file has {size:,} bytes; the limit is {MAX_FILE_BYTES:,}", location=where)
        raw = path.read_bytes()
    except OSError as err:
        raise SchemaError(f"cannot read the file: {err.strerror}", location=where) from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise SchemaError(
            f"not UTF-8 text (byte 0x{raw[err.start]:02x} at offset {err.start})", location=where
        ) from None


def not_found(source: str) -> SchemaError:
    """The error for a name that is neither a file nor a bundled architecture."""
    return SchemaError(
        f"{source!r} is neither a file nor a bundled architecture{suggest(source, list(bundled()))}; "
        "`cnncalc list` shows the bundled ones"
    )


__all__ = ["bundled", "bundled_dir", "exists", "find_bundled", "not_found", "read_text"]
