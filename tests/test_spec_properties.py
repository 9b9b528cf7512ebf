"""Property: any mutation of a valid spec either validates (and survives the round trip through config.yaml) or raises SpecError."""

from __future__ import annotations

import copy

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.config import dump_spec, spec_from_dict
from codesign.errors import SpecError
from conftest import TINY_SPEC

ANY_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.integers(-3, 40), max_size=3),
    st.dictionaries(st.text(max_size=6), st.integers(), max_size=2),
)


def _paths(node, prefix=()):
    """Every (container, key) pair in a nested spec, so any key can be mutated."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield prefix + (key,)
        yield from _paths(value, prefix + (key,))


def _parent(data, path):
    for key in path[:-1]:
        data = data[key]
    return data


SPEC_WITH_ALL_SECTIONS = {
    **copy.deepcopy(TINY_SPEC),
    "hls": {"precision": "bit-exact", "layers": {"fc1": {"reuse_factor": 2, "accum": "ap_fixed<20,8>"}}},
    "quantization": {"input": {"bits": 8, "integer": 0}, "layers": {"conv1": {"weights": {"bits": 4, "integer": 0}}}},
}
PATHS = list(_paths(SPEC_WITH_ALL_SECTIONS))


@settings(max_examples=400, deadline=None)
@given(path=st.sampled_from(PATHS), action=st.sampled_from(["replace", "delete", "add"]), value=ANY_VALUE, key=st.text(max_size=8))
def test_any_mutation_is_valid_or_a_spec_error(path, action, value, key):
    data = copy.deepcopy(SPEC_WITH_ALL_SECTIONS)
    parent = _parent(data, path)
    if action == "replace":
        parent[path[-1]] = value
    elif action == "delete":
        del parent[path[-1]]
    elif isinstance(parent[path[-1]], dict):
        parent[path[-1]][key] = value
    else:
        parent[path[-1]] = [value]
    try:
        spec = spec_from_dict(data)
    except SpecError as error:
        message = str(error)
        assert message.startswith("spec: ") and "\n" not in message
    else:  # a valid spec survives the round trip through the config.yaml a run saves
        assert spec_from_dict(yaml.safe_load(dump_spec(spec))).digest() == spec.digest()
