"""Messages for people: pydantic's validation errors as one short sentence, and "did you mean" hints."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

#: Names from Keras, TensorFlow, Caffe and ONNX, and what cnncalc (PyTorch's names) calls them; a
#: sentence where there is no one name. Looked up case-insensitively.
FOREIGN: dict[str, str] = {
    # fields
    "filters": "out_channels",
    "num_output": "out_channels",
    "units": "out_features",
    "strides": "stride",
    "pool_size": "kernel_size",
    "dilation_rate": "dilation",
    "use_bias": "bias",
    "rate": "p",
    "epsilon": "eps",
    "in_channels": "in_channels is inferred from the input, never written",
    "in_features": "in_features is inferred from the input, never written",
    "activation": "an activation is a layer of its own: add `- relu` after it",
    # kinds
    "conv": "conv2d",
    "convolution": "conv2d",
    "conv2dtranspose": "convtranspose2d",
    "dense": "linear",
    "innerproduct": "linear",
    "gemm": "linear",
    "maxpool": "maxpool2d",
    "maxpooling2d": "maxpool2d",
    "avgpool": "avgpool2d",
    "averagepooling2d": "avgpool2d",
    "globalaveragepooling2d": "adaptiveavgpool2d with output_size: 1",
    "globalaveragepool": "adaptiveavgpool2d with output_size: 1",
    "batchnormalization": "batchnorm2d",
    "batchnorm": "batchnorm2d",
    "lrn": "localresponsenorm",
    "zeropadding2d": "zeropad2d",
    "concatenate": "concat",
    "multiply": "mul",
    "swish": "silu",
    "relu6_": "relu6",
}


def suggest(word: str, choices: list[str], foreign_names: bool = True) -> str:
    """ " (in cnncalc: 'out_channels')" for a name from another framework (unless the choices are
    the file's own, ``foreign_names`` False), " (did you mean 'x'?)" for the closest choice, or nothing."""
    import difflib  # only for a message: not on the start-up path

    if word != word.lower() and word.lower() in choices:
        return f" (names are lower case: {word.lower()!r})"
    foreign = FOREIGN.get(word.lower()) if foreign_names else None
    if foreign is not None and foreign.split()[0] in choices:  # a kind or field of the same place
        return f" (in cnncalc: {foreign!r})" if " " not in foreign else f" (in cnncalc: {foreign})"
    if foreign is not None and " " in foreign and foreign.split()[0] == word.lower():  # a sentence
        return f" ({foreign})"
    if foreign is not None and foreign.startswith("an activation"):
        return f" ({foreign})"
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


_TYPE_TAGS = {"int", "str", "float", "bool", "tuple", "list", "dict", "none", "literal", "union"}
_INT_ERRORS = {"int_type", "int_from_float", "int_parsing", "string_type", "tuple_type"}
_RANK = {"extra_forbidden": 0, "value_error": 1, "too_long": 2, "too_short": 2, "missing": 3, "literal_error": 4}


def _explain(err: Any, all_types: set[str]) -> str:
    """One pydantic error as a short sentence."""
    kind = err["type"]
    value = err.get("input")
    if kind == "extra_forbidden":
        return "is not a field"
    if kind == "missing":
        return "is required"
    if kind in _INT_ERRORS and err["loc"][:1] == ("symbols",):
        return f"must be a whole number, got {value!r} (or {{default: N, multiple_of: M}})"
    if kind in _INT_ERRORS and all_types <= _INT_ERRORS and "int_type" in all_types | {"int_from_float"}:
        return f"must be a whole number or an expression such as 64*k, got {value!r}"
    if kind == "bool_type":
        return f"must be true or false, got {value!r}"
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        return msg[len("Value error, ") :]
    text = f"{msg[0].lower()}{msg[1:]}"
    if value is not None and not isinstance(value, (dict, list, tuple)):
        return f"{text}, got {value!r}"
    return text


def _clean(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """A pydantic error location without the union-member tags it adds (``function-after[...]``)."""
    # The first item is the field's own name, whatever it is ("int" or "list[x]" included).
    return loc[:1] + tuple(
        p
        for p in loc[1:]
        if isinstance(p, int) or ("[" not in p and p not in _TYPE_TAGS and not p.startswith("function"))
    )


def first_error(exc: ValidationError, allowed: list[str]) -> tuple[tuple[Any, ...], str]:
    """The most telling of pydantic's errors as (location, sentence), with a suggestion for an unknown field."""
    errors = exc.errors()
    # A union reports one error per member; show the most specific one about the first field.
    errors.sort(key=lambda e: _RANK.get(e["type"], 5))
    err = errors[0]
    loc = _clean(err["loc"])
    same_field = {e["type"] for e in errors if _clean(e["loc"]) == loc}
    message = _explain(err, same_field)
    if err["type"] == "extra_forbidden" and loc:
        message += suggest(str(loc[-1]), allowed)
    return loc, message


__all__ = ["FOREIGN", "first_error", "suggest"]
