import ast
import json
import sys
from pathlib import Path

import pytest

from routeeval import scoring
from routeeval.errors import ConfigError
from routeeval.scoring import (
    JUDGE_RUBRIC,
    SCORERS,
    Scorer,
    choice,
    contains,
    exact,
    json_fields,
    judge,
    judge_messages,
    make_scorer,
    normalize_text,
    numeric,
    parse_judge_score,
    regex,
)

CASES = json.loads((Path(__file__).parent / "data" / "scorer_cases.json").read_text(encoding="utf-8"))


def test_case_table_is_broad():
    assert len(CASES) >= 60
    assert len({case["id"] for case in CASES}) == len(CASES)
    names = {make_scorer(case["scorer"]).name for case in CASES}
    assert names == {"exact", "contains", "regex", "numeric", "choice", "json"}


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_scorer_case(case):
    score = make_scorer(case["scorer"])(case["response"], case["reference"])
    if case["expected"] is None:
        assert score is None
    else:
        assert isinstance(score, float)
        assert score == pytest.approx(case["expected"])


# --- normalize_text ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  The PARIS!! ", "paris"),
        ("U.S.A.", "usa"),
        ("Don't   PANIC", "dont panic"),
        ("ﬁne Ｆｕｌｌ", "fine full"),
        ("Straße", "strasse"),
        ("well-known/path", "well known path"),
        ("“Quoted” — text", "quoted text"),
        ("An apple a day", "apple day"),
        ("Theater", "theater"),
        ("", ""),
    ],
)
def test_normalize_text(text, expected):
    assert normalize_text(text) == expected


# --- Scorer record and specs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "canonical"),
    [
        ("exact", "exact(normalize=True)"),
        ("exact(normalize=False)", "exact(normalize=False)"),
        ("contains", "contains(normalize=True)"),
        ("numeric", "numeric(abs_tol=1e-06, rel_tol=0.0)"),
        ("numeric(rel_tol=0.01)", "numeric(abs_tol=1e-06, rel_tol=0.01)"),
        ("numeric(abs_tol=0, rel_tol=1)", "numeric(abs_tol=0.0, rel_tol=1.0)"),
        ("regex", "regex(ignore_case=True, pattern=None)"),
        ("regex(pattern='^ok')", "regex(ignore_case=True, pattern='^ok')"),
        ("regex('^ok', ignore_case=False)", "regex(ignore_case=False, pattern='^ok')"),
        ("regex(pattern=r'\\d+')", "regex(ignore_case=True, pattern='\\\\d+')"),
        ("choice", "choice(letters='ABCDE')"),
        ("choice(letters='abcd')", "choice(letters='ABCD')"),
        ("json", "json(fields=None)"),
        ("json(fields=['a', 'b.c'])", "json(fields=['a', 'b.c'])"),
        ("judge(tier='large')", "judge(rubric='default', tier='large')"),
        ("  numeric( rel_tol = 0.5 )  ", "numeric(abs_tol=1e-06, rel_tol=0.5)"),
    ],
)
def test_spec_is_canonical_and_round_trips(spec, canonical):
    scorer = make_scorer(spec)
    assert scorer.spec == canonical
    again = make_scorer(scorer.spec)
    assert again == scorer
    assert again.spec == canonical


def test_dict_spec_equals_text_spec():
    from_table = make_scorer({"name": "numeric", "rel_tol": 0.01})
    assert from_table == make_scorer("numeric(rel_tol=0.01)")
    assert from_table.args == {"abs_tol": 1e-06, "rel_tol": 0.01}
    assert make_scorer({"name": "judge", "tier": "large"}).spec == "judge(rubric='default', tier='large')"


def test_regex_pattern_round_trips_through_spec():
    scorer = regex(pattern=r"\bcolou?r\b")
    again = make_scorer(scorer.spec)
    assert again.args["pattern"] == r"\bcolou?r\b"
    assert again("my colour", None) == 1.0
    assert again("colours", None) == 0.0


def test_scorers_are_equal_by_name_and_args_and_hashable():
    assert exact() == exact()
    assert exact() != exact(normalize=False)
    assert numeric(rel_tol=0.01) != numeric(rel_tol=0.02)
    assert exact() != contains()
    assert len({exact(), exact(), numeric(), make_scorer("numeric")}) == 2


def test_factories_record_name_and_args():
    assert (exact().name, exact().args) == ("exact", {"normalize": True})
    assert json_fields(["a"]).name == "json"
    assert numeric(rel_tol=0.1).args == {"abs_tol": 1e-06, "rel_tol": 0.1}
    assert choice("abc").args == {"letters": "ABC"}
    assert set(SCORERS) == {"choice", "contains", "exact", "json", "judge", "numeric", "regex"}


def test_list_reference_takes_best_answer():
    seen = []

    def half_if_b(response, reference):
        seen.append(reference)
        return 0.5 if reference == "b" else 0.0

    scorer = Scorer("probe", {}, half_if_b)
    assert scorer("x", ["a", "b", "c"]) == 0.5
    assert seen == ["a", "b", "c"]
    assert scorer("x", "a") == 0.0
    assert scorer(None, ["a"]) is None
    assert seen == ["a", "b", "c", "a"]  # a failed call never reaches the function


def test_needs_reference_false_scores_without_reference():
    scorer = regex(pattern="^ok")
    assert scorer.needs_reference is False
    assert exact().needs_reference is True
    assert scorer("ok", None) == 1.0
    assert scorer(None, None) is None


# --- errors people see -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("exct", "unknown scorer 'exct'; choose from: choice, contains, exact, json, judge, numeric, regex."),
        (
            {"name": "exct"},
            "unknown scorer 'exct'; choose from: choice, contains, exact, json, judge, numeric, regex.",
        ),
        (
            "numeric(rel_tl=0.1)",
            "unknown argument 'rel_tl' for scorer 'numeric'; choose from: abs_tol, rel_tol.",
        ),
        (
            {"name": "exact", "normalise": False},
            "unknown argument 'normalise' for scorer 'exact'; choose from: normalize.",
        ),
        ("numeric(rel_tol='x')", "scorer 'numeric' argument 'rel_tol' must be a number >= 0, got 'x'."),
        ("numeric(abs_tol=-1)", "scorer 'numeric' argument 'abs_tol' must be a number >= 0, got -1."),
        ("exact(normalize='yes')", "scorer 'exact' argument 'normalize' must be true or false, got 'yes'."),
        (
            "choice(letters='AAB')",
            "scorer 'choice' argument 'letters' must be distinct ASCII letters such as 'ABCDE', got 'AAB'.",
        ),
        (
            "json(fields='a.b')",
            "scorer 'json' argument 'fields' must be a list of field names or None, got 'a.b'.",
        ),
        ("judge", "scorer 'judge': missing a required argument: 'tier'; arguments are tier, rubric."),
        ("judge(tier='')", "scorer 'judge' argument 'tier' must be the name of a tier, got ''."),
        (
            "regex(pattern='(')",
            "scorer 'regex' argument 'pattern' is not a valid regular expression: '(' "
            "(missing ), unterminated subpattern at position 0).",
        ),
        (
            "numeric(rel_tol=tolerance)",
            "scorer 'numeric' argument 'rel_tol' must be a literal (a quoted string, number, True, False, "
            "None or a list), got tolerance.",
        ),
        (
            "numeric(rel_tol=__import__('os').getcwd())",
            "scorer 'numeric' argument 'rel_tol' must be a literal (a quoted string, number, True, False, "
            "None or a list), got __import__('os').getcwd().",
        ),
        (
            "numeric(rel_tol=)",
            "cannot read scorer spec 'numeric(rel_tol=)'; expected name or name(arg=value, ...), "
            "e.g. numeric(rel_tol=0.01).",
        ),
        (
            "os.system('ls')",
            "cannot read scorer spec \"os.system('ls')\"; expected name or name(arg=value, ...), "
            "e.g. numeric(rel_tol=0.01).",
        ),
        (
            "numeric(**opts)",
            "cannot read scorer spec 'numeric(**opts)'; expected name or name(arg=value, ...), "
            "e.g. numeric(rel_tol=0.01).",
        ),
        (
            {"rel_tol": 0.1},
            "scorer table {'rel_tol': 0.1} needs a 'name'; "
            "choose from: choice, contains, exact, json, judge, numeric, regex.",
        ),
        (
            "judge(tier='large', rubric='sha256:0123456789ab')",
            "scorer 'judge' argument 'rubric' is a recorded digest (sha256:0123456789ab), not a rubric; "
            "pass the rubric text itself.",
        ),
    ],
)
def test_bad_specs_raise_config_error(spec, message):
    with pytest.raises(ConfigError) as caught:
        make_scorer(spec)
    assert str(caught.value) == message
    assert caught.value.exit_code == 2


@pytest.mark.parametrize(
    ("spec", "reference", "message"),
    [
        (
            "numeric",
            "Paris",
            "scorer 'numeric': reference 'Paris' contains no number; "
            "give the row a reference with a number or another scorer.",
        ),
        (
            "choice",
            "Paris is nice",
            "scorer 'choice': reference 'Paris is nice' is not one of the letters ABCDE.",
        ),
        ("json", "not json", "scorer 'json': reference 'not json' is not a JSON object."),
        (
            "json(fields=['a.z'])",
            '{"a": {"b": 1}}',
            "scorer 'json': field 'a.z' is not in the reference '{\"a\": {\"b\": 1}}'.",
        ),
        (
            "regex",
            "[unclosed",
            "scorer 'regex': the reference pattern is not a valid regular expression: '[unclosed' "
            "(unterminated character set at position 0).",
        ),
    ],
)
def test_reference_that_does_not_suit_the_scorer(spec, reference, message):
    with pytest.raises(ConfigError) as caught:
        make_scorer(spec)("some response 1", reference)
    assert str(caught.value) == message


def test_spec_values_are_never_evaluated(monkeypatch):
    called = []
    monkeypatch.setattr(scoring, "exact", lambda **kw: called.append(kw))
    with pytest.raises(ConfigError):
        make_scorer("numeric(rel_tol=exact())")
    assert called == []


# --- LLM judge -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SCORE: 7", 0.7),
        ("The answer is right.\nSCORE: 10", 1.0),
        ("reasoning...\n  score:0  \n", 0.0),
        ("Score: 9\n", 0.9),
        ("no verdict at all", None),
        ("", None),
        (None, None),
        ("SCORE: 11", None),
        ("SCORE: -1", None),
        ("SCORE: 07", None),
        ("SCORE: 7.5", None),
        ("SCORE: 7/10", None),
        ("SCORE: 7 out of 10", None),
        ("SCORE: 4\nSCORE: 8", None),
        ("SCORE: 4\nSCORE: 4", None),
        ("SCORE: 8\nSCORE: 11", None),
        ("**SCORE: 8**", None),
        ("I would give it SCORE: 6", None),
        ("Final SCORE: 6", None),
    ],
)
def test_parse_judge_score_is_strict(text, expected):
    got = parse_judge_score(text)
    if expected is None:
        assert got is None
    else:
        assert got == pytest.approx(expected)


def test_judge_messages_default_rubric_with_reference():
    messages = judge_messages("What is the capital of France?", "Lyon.", "Paris")
    assert [m["role"] for m in messages] == ["system", "user"]
    system, user = messages[0]["content"], messages[1]["content"]
    assert system.startswith(JUDGE_RUBRIC)
    assert "correctly and helpfully" in system
    assert "SCORE: <integer 0-10>" in system
    assert "<question>\nWhat is the capital of France?\n</question>" in user
    assert "<reference>\nParis\n</reference>" in user
    assert "<response>\nLyon.\n</response>" in user
    assert user.rstrip().endswith("SCORE: <integer 0-10>")


def test_judge_messages_list_reference_and_no_reference():
    listed = judge_messages("Largest US city?", "NYC", ["New York City", "NYC"])[1]["content"]
    assert "Any of these answers is acceptable:\n- New York City\n- NYC" in listed
    single = judge_messages("q", "r", ["only"])[1]["content"]
    assert "<reference>\nonly\n</reference>" in single
    bare = judge_messages("q", "r")[1]["content"]
    assert "<reference>" not in bare
    assert "No reference answer is given." in bare


def test_judge_messages_custom_rubric_and_chat_input():
    chat = [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "2+2?"}]
    messages = judge_messages(chat, "4", rubric="Score arithmetic only.")
    assert messages[0]["content"].startswith("Score arithmetic only.")
    assert JUDGE_RUBRIC not in messages[0]["content"]
    assert "SCORE: <integer 0-10>" in messages[0]["content"]
    assert "<question>\nsystem: Be terse.\nuser: 2+2?\n</question>" in messages[1]["content"]


def test_judge_record():
    default = judge("large")
    assert default.name == "judge"
    assert default.args == {"rubric": "default", "tier": "large"}
    assert default.tier == "large"
    assert default.rubric == JUDGE_RUBRIC
    assert default.needs_reference is False
    assert judge("large", rubric="default") == default
    custom = judge("large", rubric="Be harsh.")
    assert custom.args["rubric"] != judge("large", rubric="Be kind.").args["rubric"]
    assert custom.rubric == "Be harsh."
    assert custom != default
    assert custom.messages("q", "r")[0]["content"].startswith("Be harsh.")
    assert make_scorer("judge(tier='large')") == default


def test_make_scorer_fills_judge_from_scoring_section():
    filled = make_scorer("judge", judge_tier="large", judge_rubric="Be harsh.")
    assert filled == judge("large", rubric="Be harsh.")
    assert filled.rubric == "Be harsh."
    assert make_scorer({"name": "judge"}, judge_tier="large") == judge("large")
    # a spec that names its own tier or rubric wins over the section's
    own = make_scorer("judge('medium', rubric='default')", judge_tier="large", judge_rubric="Be harsh.")
    assert own == judge("medium")
    # the judge defaults never leak into other scorers
    assert make_scorer("exact", judge_tier="large") == exact()


def test_judge_digest_is_sha256_prefix():
    import hashlib

    expected = "sha256:" + hashlib.sha256(b"Be harsh.").hexdigest()[:12]
    assert judge("large", rubric="Be harsh.").args["rubric"] == expected


def test_judge_refuses_to_score_directly():
    scorer = judge("large")
    assert scorer(None, "Paris") is None  # a failed call is still not a wrong answer
    with pytest.raises(RuntimeError, match=r"judge scorer \(tier 'large'\) cannot score by itself"):
        scorer("Paris", "Paris")
    with pytest.raises(RuntimeError, match="judge_messages"):
        scorer.fn("Paris", "Paris")


# --- module hygiene --------------------------------------------------------------------------


def test_scoring_imports_only_stdlib_and_routeeval():
    tree = ast.parse(Path(scoring.__file__).read_text(encoding="utf-8"))
    roots = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            roots.add(node.module.split(".")[0])
    outside = {root for root in roots if root not in sys.stdlib_module_names and root != "routeeval"}
    assert outside == set()


def test_direct_factory_calls_validate_too():
    with pytest.raises(ConfigError, match="'rel_tol' must be a number >= 0, got nan"):
        numeric(rel_tol=float("nan"))
    with pytest.raises(ConfigError, match="'abs_tol' must be a finite number >= 0, got inf"):
        numeric(abs_tol=float("inf"))
    with pytest.raises(ConfigError, match="'normalize' must be true or false, got 1"):
        contains(normalize=1)


def _normalize_text_char_by_char(s: str) -> str:
    """The normaliser as first written, one character at a time: the reference the translate table must match."""
    import string
    import unicodedata

    text = unicodedata.normalize("NFKC", s).casefold()
    chars = []
    for char in text:
        if char == "/" or unicodedata.category(char) == "Pd":
            chars.append(" ")
        elif not (char in string.punctuation or unicodedata.category(char).startswith("P")):
            chars.append(char)
    return " ".join(word for word in "".join(chars).split() if word not in {"a", "an", "the"})


def _tricky_texts() -> list[str]:
    import random

    rng = random.Random(16)
    texts = []
    # every code point, in runs, so each one is classified once (surrogates included: JSON can carry them)
    for start in range(0, 0x110000, 251):
        texts.append("".join(chr(code) for code in range(start, min(start + 251, 0x110000))))
    pieces = [
        "the",
        "The",
        "A",
        "an",
        "AN",
        "U.S.A.",
        "don't",
        "well-known",
        "a/b",
        "—",
        "–",
        "‐",
        "﹣",
        "－",
        "／",
        "⁄",
        "ﬁ",
        "Ｆｕｌｌ",
        "Straße",
        "İ",
        "ǅ",
        "ß",
        "ﬀ",
        "“",
        "”",
        "«",
        "»",
        "…",
        "・",
        "¿",
        "¡",
        "'",
        '"',
        "`",
        "$",
        "+",
        "<",
        "=",
        ">",
        "^",
        "|",
        "~",
        "€",
        "%",
        "@",
        "#",
        "_",
        "\u00a0",
        "\u2003",
        "\u3000",
        "\t",
        "\n",
        "\r",
        "\x0b",
        "\x0c",
        "\x1c",
        "\u2028",
        "\u200b",
        "\ufeff",
        "e\u0301",
        "ⅷ",
        "①",
        "㎏",
        "ｱ",
        " ",
        "  ",
        "x",
        "42",
        "3.14",
        "-",
        "(",
        ")",
        "[",
        "]",
        "{",
        "}",
        "\u0964",
        "\u3001",
        "\u00b7",
        "\U0001f600",
    ]
    for _ in range(5000):
        texts.append("".join(rng.choice(pieces) for _ in range(rng.randint(0, 12))))
    for _ in range(2000):
        texts.append("".join(chr(rng.randrange(0x110000)) for _ in range(rng.randint(0, 20))))
    return texts


def test_normalize_text_matches_the_char_by_char_normaliser():
    normalize_text.cache_clear()
    texts = _tricky_texts()
    for text in texts:
        assert normalize_text(text) == _normalize_text_char_by_char(text), repr(text)
    # and from the cache, the same again
    assert [normalize_text(text) for text in texts[-500:]] == [_normalize_text_char_by_char(t) for t in texts[-500:]]
