"""Fuzzing the config validation: any value of any key of a schema group is either accepted with
a value in range, or refused at composition (OmegaConf's type check) or by ``validate``
(``ConfigError`` naming the key); never another exception. Run under an address-space cap."""

import dataclasses
import math
import resource
import sys

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from omegaconf import OmegaConf
from omegaconf.errors import OmegaConfBaseException

from remots import config
from remots.errors import ConfigError

LIMIT_BYTES = 6 * 2**30
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
value = st.one_of(
    leaf, st.lists(leaf, max_size=4), st.dictionaries(st.text(max_size=4), leaf, max_size=3)
)
GROUPS = {k: v for k, v in config.SCHEMAS.items() if k not in ("model", "stage")}


def fields_of(schema) -> list[str]:
    return [f.name for f in dataclasses.fields(schema)]


@pytest.fixture(autouse=True, scope="module")
def address_space_cap():
    if sys.platform != "linux":
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (LIMIT_BYTES, hard))
    yield
    resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


@FUZZ
@given(
    group=st.sampled_from(sorted(GROUPS)),
    data=st.data(),
)
def test_any_value_is_accepted_in_range_or_refused_naming_its_key(group, data):
    schema = GROUPS[group]
    key = data.draw(st.sampled_from(fields_of(schema)))
    drawn = data.draw(value)
    node = OmegaConf.structured(schema)
    for name in fields_of(schema):  # what a group's YAML gives for its required keys
        if OmegaConf.is_missing(node, name):
            node[name] = "/some/where"
    try:
        node[key] = drawn  # composition: OmegaConf converts or refuses the type
    except OmegaConfBaseException:
        event("refused at composition")
        return
    try:
        typed = config.typed(node)
    except ConfigError as err:
        event("refused by validate")
        assert "\n" not in str(err)
        assert key in str(err)
        return
    event("accepted")
    got = getattr(typed, key)
    if isinstance(got, float):  # an accepted number is a real one
        assert math.isfinite(got), f"{group}.{key}={got} accepted"
