"""Templates: syntax, canonical order, comparison, negotiation check, union, select (ref §3-§4)."""

from __future__ import annotations

import copy
import pickle
import random

import pytest

from unirec import FIELD_TYPES, Field, Template, TemplateError

UPSTREAM_SPEC = ("uint32 FOO, uint32 BAR, ipaddr IP, string STR, int32* ARR1, ipaddr* IPs, "
                 "macaddr* MACs, uint64* ARR2, time* TIMEs")
UPSTREAM_CANONICAL = ("ipaddr IP,uint32 BAR,uint32 FOO,string STR,int32* ARR1,macaddr* MACs,"
                      "uint64* ARR2,time* TIMEs,ipaddr* IPs")
EXAMPLE_SPEC = ("uint16 SRC_PORT, ipaddr SRC_IP, string URL, uint8 PROTOCOL, time TIME_FIRST, "
                "uint16* LENS, bytes PAYLOAD")
EXAMPLE_CANONICAL = ("ipaddr SRC_IP,time TIME_FIRST,uint16 SRC_PORT,uint8 PROTOCOL,bytes PAYLOAD,"
                     "string URL,uint16* LENS")
BASIC_FLOW = ("ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 LINK_BIT_FIELD,time TIME_FIRST,"
              "time TIME_LAST,uint32 PACKETS,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,"
              "uint8 PROTOCOL,uint8 TCP_FLAGS,uint8 TOS,uint8 TTL")
BIFLOW = ("ipaddr DST_IP,ipaddr SRC_IP,uint64 BYTES,uint64 BYTES_REV,uint64 LINK_BIT_FIELD,"
          "time TIME_FIRST,time TIME_LAST,macaddr DST_MAC,macaddr SRC_MAC,uint32 PACKETS,"
          "uint32 PACKETS_REV,uint16 DST_PORT,uint16 SRC_PORT,uint8 DIR_BIT_FIELD,uint8 PROTOCOL,"
          "uint8 TCP_FLAGS,uint8 TCP_FLAGS_REV")


# --- canonical order ------------------------------------------------------------------------------

@pytest.mark.parametrize(("spec", "canonical"), [
    (UPSTREAM_SPEC, UPSTREAM_CANONICAL),
    (EXAMPLE_SPEC, EXAMPLE_CANONICAL),
])
def test_reference_canonical_order_vectors(spec, canonical):
    template = Template.parse(spec)
    assert template.spec == canonical
    assert str(template) == canonical
    assert Template.parse(canonical) == template
    assert Template.parse(canonical).spec == canonical


@pytest.mark.parametrize("canonical", [BASIC_FLOW, BIFLOW, UPSTREAM_CANONICAL])
def test_any_order_gives_the_canonical_form(canonical):
    items = canonical.split(",")
    rng = random.Random(len(items))
    for _ in range(10):
        rng.shuffle(items)
        assert Template.parse(", ".join(items)).spec == canonical


def test_names_sort_by_byte_value_and_prefix_first():
    template = Template.parse("uint8 Ab,uint8 A_B,uint8 AB,uint8 ab,uint8 A,ipaddr DST_IP2,"
                              "ipaddr DST_IP")
    assert template.names == ("DST_IP", "DST_IP2", "A", "AB", "A_B", "Ab", "ab")


def test_every_size_group_in_order():
    names = {name: "F" + name.replace("*", "_ARR").upper() for name in FIELD_TYPES}
    spec = ",".join(f"{name} {names[name]}" for name in sorted(FIELD_TYPES, reverse=True))
    template = Template.parse(spec)
    keys = [-t.order_size for t in template.types]
    assert keys == sorted(keys)
    groups = [t.order_size for t in template.types]
    assert groups == [16, 8, 8, 8, 8, 6, 4, 4, 4, 2, 2, 1, 1, 1,
                      -1, -1, -1, -1, -2, -2, -4, -4, -4, -6, -8, -8, -8, -8, -16]
    for size in set(groups):  # by name inside a group
        group = [n for n, t in zip(template.names, template.types, strict=True)
                 if t.order_size == size]
        assert group == sorted(group)


# --- syntax ---------------------------------------------------------------------------------------

def test_whitespace_is_tolerated_and_never_emitted():
    template = Template.parse("  uint32 FOO ,\tuint32   BAR  ,\nipaddr IP")
    assert template.spec == "ipaddr IP,uint32 BAR,uint32 FOO"
    assert template == Template.parse("uint32 FOO,uint32 BAR,ipaddr IP")


def test_duplicates_collapse():
    template = Template.parse("uint8 A,uint16 B,uint8 A, uint8  A")
    assert template.spec == "uint16 B,uint8 A"
    assert len(template) == 2


def test_conflicting_duplicate_is_an_error_naming_both_types():
    with pytest.raises(TemplateError) as info:
        Template.parse("uint8 CONFLICT_A,uint16 CONFLICT_A")
    message = str(info.value)
    assert "CONFLICT_A" in message and "uint8" in message and "uint16" in message


@pytest.mark.parametrize(("spec", "offending"), [
    ("uint8 A,uint33 B", "uint33"),
    ("uint8 A,uint16 * B", "uint16 * B"),
    ("uint8 A,string* S", "string*"),
    ("uint8 A,char* S", "char*"),
    ("uint8 A,UINT8 B", "UINT8"),
])
def test_bad_type_names_the_item(spec, offending):
    with pytest.raises(TemplateError) as info:
        Template.parse(spec)
    assert offending in str(info.value)
    assert "item 2" in str(info.value)


@pytest.mark.parametrize("name", ["1A", "_A", "A-B", "A.B", "FOO_T", "SRC_IP_T", "É", "A$"])
def test_bad_field_name_names_the_item(name):
    with pytest.raises(TemplateError) as info:
        Template.parse(f"uint8 OK,uint16 {name}")
    assert name in str(info.value)
    assert "item 2" in str(info.value)


def test_names_ending_in_other_t_are_fine():
    assert Template.parse("uint8 FOO_TT,uint8 FOO_t,uint8 FOOT,uint8 T").names == (
        "FOOT", "FOO_TT", "FOO_t", "T")


@pytest.mark.parametrize("spec", ["uint8 A,,uint8 B", "uint8 A,", ",uint8 A",
                                  "uint8 A B", "uint8", "<BASIC_FLOW>", "uint8 A;uint8 B"])
def test_malformed_items_are_errors(spec):
    with pytest.raises(TemplateError, match="bad template"):
        Template.parse(spec)


@pytest.mark.parametrize("spec", ["", "   ", "\t"])
def test_empty_spec_is_a_template_without_fields(spec):
    template = Template.parse(spec)
    assert len(template) == 0 and template.spec == "" and template.names == ()


@pytest.mark.parametrize("spec", [None, 5, ["uint8 A"], b"uint8 A"])
def test_non_string_spec_is_a_template_error(spec):
    with pytest.raises(TemplateError, match="expected a string"):
        Template.parse(spec)


def test_field_objects_check_their_names():
    with pytest.raises(TemplateError, match="FOO_T"):
        Field("FOO_T", FIELD_TYPES["uint8"])
    with pytest.raises(TemplateError):
        Template([Field("a b", FIELD_TYPES["uint8"])])


# --- name-only lists ------------------------------------------------------------------------------

def test_name_only_list_selects_standard_fields():
    template = Template.parse("SRC_IP,DST_PORT, PPI_PKT_LENGTHS")
    assert template.spec == "ipaddr SRC_IP,uint16 DST_PORT,uint16* PPI_PKT_LENGTHS"


def test_name_only_list_may_mix_with_typed_items():
    assert Template.parse("SRC_IP,uint32 MY_COUNTER").spec == "ipaddr SRC_IP,uint32 MY_COUNTER"


def test_fields_of_parsed_templates_become_known():
    with pytest.raises(TemplateError, match="UNIT_TEST_ONLY_FIELD"):
        Template.parse("UNIT_TEST_ONLY_FIELD")
    Template.parse("int64 UNIT_TEST_ONLY_FIELD")
    assert Template.parse("UNIT_TEST_ONLY_FIELD").spec == "int64 UNIT_TEST_ONLY_FIELD"


def test_unknown_name_is_an_error_naming_it():
    with pytest.raises(TemplateError) as info:
        Template.parse("SRC_IP,NO_SUCH_FIELD_XYZ")
    assert "NO_SUCH_FIELD_XYZ" in str(info.value) and "item 2" in str(info.value)


# --- comparison and access ------------------------------------------------------------------------

def test_equal_regardless_of_order():
    first = Template.parse("uint8 A,ipaddr B,string C")
    second = Template.parse("string C,uint8 A,ipaddr B")
    assert first == second and hash(first) == hash(second)
    assert first != Template.parse("uint16 A,ipaddr B,string C")
    assert first != Template.parse("uint8 A,ipaddr B")
    assert first != "uint8 A,ipaddr B,string C"


def test_of_accepts_templates_and_strings():
    template = Template.parse("uint8 A")
    assert Template.of(template) is template
    assert Template.of("uint8 A") == template


def test_access_by_name():
    template = Template.parse(EXAMPLE_SPEC)
    assert template.names[0] == "SRC_IP" and template.index["SRC_IP"] == 0
    assert template.field("URL") == Field("URL", FIELD_TYPES["string"])
    assert str(template.field("LENS")) == "uint16* LENS"
    assert "URL" in template and "NOPE" not in template
    assert [f.name for f in template] == list(template.names)
    assert [f.type for f in template.fixed_fields] == list(template.types[:4])
    assert [f.name for f in template.variable_fields] == ["PAYLOAD", "URL", "LENS"]
    assert template.fixed_size == 16 + 8 + 2 + 1
    assert repr(template) == f"Template({EXAMPLE_CANONICAL!r})"
    with pytest.raises(TemplateError, match="NOPE"):
        template.field("NOPE")


def test_templates_survive_copy_and_pickle():
    template = Template.parse(UPSTREAM_SPEC)
    for other in (copy.copy(template), copy.deepcopy(template),
                  pickle.loads(pickle.dumps(template))):
        assert other == template
        assert all(a is b for a, b in zip(other.types, template.types, strict=True))
    assert pickle.loads(pickle.dumps(Template.parse(""))) == Template.parse("")


# --- negotiation (interfaces.md §10 example) ------------------------------------------------

SENDER = Template.parse("ipaddr DST_IP,ipaddr SRC_IP,uint16 DST_PORT,uint16 SRC_PORT")


def test_sender_with_more_fields_provides_the_required_subset():
    required = Template.parse("ipaddr SRC_IP,uint16 DST_PORT")
    assert SENDER.provides(required)
    assert SENDER.mismatches(required) == []


def test_same_set_in_other_order_is_provided():
    assert SENDER.provides(Template.parse("uint16 SRC_PORT,uint16 DST_PORT,ipaddr SRC_IP,"
                                          "ipaddr DST_IP"))


def test_type_difference_is_a_mismatch_naming_the_field():
    required = Template.parse("uint32 DST_PORT")
    assert not SENDER.provides(required)
    problems = SENDER.mismatches(required)
    assert len(problems) == 1
    assert "DST_PORT" in problems[0] and "uint16" in problems[0] and "uint32" in problems[0]


def test_missing_field_is_a_mismatch_naming_it():
    problems = SENDER.mismatches(Template.parse("ipaddr SRC_IP,uint8 PROTOCOL,time TIME_FIRST"))
    assert problems == ["missing time TIME_FIRST", "missing uint8 PROTOCOL"]


def test_empty_requirement_is_always_provided():
    assert SENDER.provides(Template.parse(""))
    assert Template.parse("").provides(Template.parse(""))
    assert not Template.parse("").provides(SENDER)


# --- union and select -----------------------------------------------------------------------------

def test_union_is_canonical_and_merges_shared_fields():
    first = Template.parse("ipaddr SRC_IP,uint64 BYTES")
    second = Template.parse("ipaddr SRC_IP2,uint64 BYTES,ipaddr DST_IP")
    merged = first.union(second)
    assert merged.spec == "ipaddr DST_IP,ipaddr SRC_IP,ipaddr SRC_IP2,uint64 BYTES"
    assert merged == second.union(first)
    assert first.union() == first
    assert first.union(first) == first


def test_union_of_conflicting_types_names_field_and_types():
    with pytest.raises(TemplateError) as info:
        Template.parse("uint32 EVENT_ID").union(Template.parse("uint64 EVENT_ID"))
    message = str(info.value)
    assert "EVENT_ID" in message and "uint32" in message and "uint64" in message


def test_union_conflict_between_two_others_is_found():
    base = Template.parse("uint8 A")
    with pytest.raises(TemplateError, match="cannot merge templates: field B"):
        base.union(Template.parse("uint16 B"), Template.parse("uint32 B"))


def test_select():
    template = Template.parse(EXAMPLE_SPEC)
    assert template.select(["URL", "SRC_IP"]).spec == "ipaddr SRC_IP,string URL"
    assert template.select("URL, SRC_IP") == template.select(["SRC_IP", "URL"])
    assert template.select([]) == Template.parse("")
    with pytest.raises(TemplateError, match="NOPE"):
        template.select(["URL", "NOPE"])
